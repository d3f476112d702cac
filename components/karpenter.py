"""KarpenterCapacity: the Karpenter controller and the capacity it manages, for `cluster.node_autoscaler: karpenter`.

The controller (helm chart, IRSA role scoped to this cluster), its SQS interruption
queue with the EventBridge rules that feed it, one EC2NodeClass per root-volume size,
and one NodePool per Blueprint pool (inferstack.render.karpenter). Replaces the GPU
node groups and Cluster Autoscaler of the default mode; the system node group stays.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.irsa_role import irsa_role
from components.team_namespace import custom_resource
from inferstack.blueprint import Blueprint
from inferstack.constants import KARPENTER_AWS_API_VERSION, KARPENTER_NAMESPACE, KARPENTER_SERVICE_ACCOUNT, TYPE_KARPENTER
from inferstack.pricing.catalog import load_catalog
from inferstack.render.karpenter import (
    INTERRUPTION_EVENTS,
    controller_policy,
    controller_values,
    interruption_queue_policy,
    node_class_of,
    render_node_class,
    render_node_pool,
)
from inferstack.render.labels import platform_tags

KARPENTER_CHART = "oci://public.ecr.aws/karpenter/karpenter"
KARPENTER_CHART_VERSION = "1.14.1"


@dataclass(frozen=True, slots=True)
class KarpenterCapacityArgs:
    """The Blueprint and the cluster facts the controller and its nodes need."""

    blueprint: Blueprint
    cluster_name: pulumi.Input[str]
    node_role_arn: pulumi.Input[str]
    node_role_name: pulumi.Input[str]
    oidc_provider_arn: pulumi.Input[str]
    oidc_issuer_url: pulumi.Input[str]
    account_id: pulumi.Input[str]
    provider: k8s.Provider
    nodes_ready: Sequence[pulumi.Resource] = ()
    """The system node group: the atomic controller release waits for nodes it can run on."""


class KarpenterCapacity(pulumi.ComponentResource):
    """Karpenter controller, interruption handling, EC2NodeClasses and one NodePool per accelerator class and capacity type."""

    def __init__(self, name: str, args: KarpenterCapacityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_KARPENTER, name, None, opts)
        blueprint = args.blueprint
        config = blueprint.config
        tags = platform_tags(blueprint.environment, config.cost_center)
        child = pulumi.ResourceOptions(parent=self)
        queue = aws.sqs.Queue(
            f"{name}-interruptions", message_retention_seconds=300, sqs_managed_sse_enabled=True, tags=tags, opts=child
        )
        aws.sqs.QueuePolicy(
            f"{name}-interruptions-policy",
            queue_url=queue.url,
            policy=queue.arn.apply(lambda arn: json.dumps(interruption_queue_policy(arn))),
            opts=child,
        )
        for event, pattern in INTERRUPTION_EVENTS.items():
            rule = aws.cloudwatch.EventRule(f"{name}-{event}", event_pattern=json.dumps(pattern), tags=tags, opts=child)
            aws.cloudwatch.EventTarget(f"{name}-{event}-target", rule=rule.name, arn=queue.arn, opts=child)
        role = irsa_role(
            f"{name}-controller-role",
            oidc_provider_arn=args.oidc_provider_arn,
            oidc_issuer_url=args.oidc_issuer_url,
            namespace=KARPENTER_NAMESPACE,
            service_account=KARPENTER_SERVICE_ACCOUNT,
            tags=tags,
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-controller-policy",
            role=role.id,
            policy=pulumi.Output.all(args.cluster_name, args.account_id, args.node_role_arn, queue.arn).apply(
                lambda values: json.dumps(controller_policy(values[0], config.region, values[1], values[2], values[3]))
            ),
            opts=child,
        )
        release = k8s.helm.v3.Release(
            f"{name}-controller",
            name="karpenter",
            chart=KARPENTER_CHART,
            version=KARPENTER_CHART_VERSION,
            namespace=KARPENTER_NAMESPACE,
            values=pulumi.Output.all(args.cluster_name, queue.name, role.arn).apply(
                lambda values: controller_values(values[0], values[1], values[2])
            ),
            atomic=True,
            cleanup_on_fail=True,
            opts=pulumi.ResourceOptions(parent=self, provider=args.provider, depends_on=list(args.nodes_ready)),
        )
        after_controller = pulumi.ResourceOptions(parent=self, provider=args.provider, depends_on=[release])
        catalog = load_catalog(config.region, config.price_overrides, config.spot_discount_overrides)
        classes = sorted({node_class_of(pool) for pool in blueprint.node_pools})
        node_classes = []
        for class_name in classes:
            manifest = pulumi.Output.all(args.node_role_name, args.cluster_name).apply(
                lambda values, class_name=class_name: render_node_class(blueprint, class_name, values[0], values[1])
            )
            node_classes.append(
                k8s.apiextensions.CustomResource(
                    f"{name}-nodeclass-{class_name}",
                    api_version=KARPENTER_AWS_API_VERSION,
                    kind="EC2NodeClass",
                    metadata=manifest.apply(lambda item: item["metadata"]),
                    spec=manifest.apply(lambda item: item["spec"]),
                    opts=after_controller,
                )
            )
        after_classes = pulumi.ResourceOptions(parent=self, provider=args.provider, depends_on=[release, *node_classes])
        for pool in blueprint.node_pools:
            custom_resource(f"{name}-nodepool-{pool.name}", render_node_pool(pool, blueprint, catalog), after_classes)
        self.register_outputs({"queue_arn": queue.arn, "role_arn": role.arn})
