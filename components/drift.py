"""DriftDetector: one model's drift detection (inferstack/render/drift.py renders every object).

An IRSA role of its own with one inline policy (read the team's payload logs
and the model's reference profiles, write its reports, deliver its trigger),
a ServiceAccount bound to it, the job ConfigMap, the CronJob, an egress rule
to the Pushgateway, and what the trigger needs: an SNS topic (encrypted with
the AWS-managed SNS key) or an EventBridge rule on the default bus matching the
model's retraining events. Its alerts live in the team's PrometheusRule and its
panel in the team dashboard (inferstack/render/monitoring.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.irsa_role import irsa_role
from inferstack.blueprint import Blueprint, ModelDeployment
from inferstack.constants import TAG_MODEL, TYPE_DRIFT_DETECTOR
from inferstack.drift.keys import retraining_topic_name
from inferstack.render.drift import (
    detector_name,
    drift_detector_policy,
    eventbridge_rule_pattern,
    render_cron_job,
    render_egress_policy,
    render_job_config_map,
    render_service_account,
)
from inferstack.render.labels import team_tags

SNS_MANAGED_KEY = "alias/aws/sns"


@dataclass(frozen=True, slots=True)
class DriftDetectorArgs:
    """The model, the store it reads and writes, the cluster's OIDC provider, the account, the Kubernetes provider."""

    deployment: ModelDeployment
    blueprint: Blueprint
    bucket_arn: pulumi.Input[str]
    kms_key_arn: pulumi.Input[str]
    oidc_provider_arn: pulumi.Input[str]
    oidc_issuer_url: pulumi.Input[str]
    account_id: pulumi.Input[str]
    provider: k8s.Provider
    namespace: pulumi.Resource
    """The team namespace (created by ServingIdentity), to order after."""


class DriftDetector(pulumi.ComponentResource):
    """The drift detector of one model: role, ServiceAccount, job ConfigMap, CronJob, egress rule, trigger resources."""

    role_arn: pulumi.Output[str]

    def __init__(self, name: str, args: DriftDetectorArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_DRIFT_DETECTOR, name, None, opts)
        deployment, blueprint = args.deployment, args.blueprint
        drift = deployment.spec.monitoring.drift
        assert drift is not None
        team = next(plan for plan in blueprint.teams if plan.name == deployment.team)
        tags = {**team_tags(team, blueprint.environment), TAG_MODEL: deployment.name}
        region = blueprint.config.region
        account = detector_name(deployment)
        child = pulumi.ResourceOptions(parent=self)
        role = irsa_role(
            f"{name}-role",
            description=f"Drift detector of {deployment.name} ({blueprint.environment})",
            oidc_provider_arn=args.oidc_provider_arn,
            oidc_issuer_url=args.oidc_issuer_url,
            namespace=deployment.namespace,
            service_account=account,
            max_session_duration=3600,
            tags=tags,
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-policy",
            role=role.id,
            policy=pulumi.Output.all(args.bucket_arn, args.kms_key_arn, args.account_id).apply(
                lambda values: json.dumps(
                    drift_detector_policy(
                        values[0], deployment.team, deployment.name, values[1], region, values[2], drift.trigger.kind, blueprint.environment
                    )
                )
            ),
            opts=child,
        )
        if drift.trigger.kind == "sns":
            aws.sns.Topic(
                f"{name}-retraining-topic",
                name=retraining_topic_name(blueprint.environment, deployment.name),
                kms_master_key_id=SNS_MANAGED_KEY,
                tags=tags,
                opts=child,
            )
        if drift.trigger.kind == "eventbridge":
            aws.cloudwatch.EventRule(
                f"{name}-retraining-rule",
                description=f"Retraining requests of {deployment.name} from its drift detector ({blueprint.environment})",
                event_bus_name="default",
                event_pattern=json.dumps(eventbridge_rule_pattern(deployment), sort_keys=True),
                tags=tags,
                opts=child,
            )
        k8s_child = pulumi.ResourceOptions(parent=self, provider=args.provider, depends_on=[args.namespace])
        service_account = role.arn.apply(lambda arn: render_service_account(deployment, blueprint, arn))
        k8s.core.v1.ServiceAccount(
            f"{name}-service-account",
            metadata=service_account.apply(lambda manifest: manifest["metadata"]),
            automount_service_account_token=False,
            opts=k8s_child,
        )
        config_map = render_job_config_map(deployment, blueprint)
        k8s.core.v1.ConfigMap(f"{name}-job", metadata=config_map["metadata"], data=config_map["data"], opts=k8s_child)
        cron_job = render_cron_job(deployment, blueprint)
        k8s.batch.v1.CronJob(f"{name}-cron-job", metadata=cron_job["metadata"], spec=cron_job["spec"], opts=k8s_child)
        egress = render_egress_policy(deployment, blueprint)
        if egress is not None:
            k8s.networking.v1.NetworkPolicy(f"{name}-egress", metadata=egress["metadata"], spec=egress["spec"], opts=k8s_child)
        self.role_arn = role.arn
        self.register_outputs({"role_arn": self.role_arn, "model": deployment.name})
