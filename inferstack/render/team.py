"""A team's namespace-level objects: Namespace, ServiceAccount (IRSA), NetworkPolicy, ResourceQuota."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from kubernetes.client import (
    V1IPBlock,
    V1LabelSelector,
    V1Namespace,
    V1NamespaceSpec,
    V1NetworkPolicy,
    V1NetworkPolicyEgressRule,
    V1NetworkPolicyIngressRule,
    V1NetworkPolicyPeer,
    V1NetworkPolicyPort,
    V1NetworkPolicySpec,
    V1ObjectMeta,
    V1ResourceQuota,
    V1ResourceQuotaSpec,
    V1ServiceAccount,
)

from inferstack.blueprint import Blueprint, ModelDeployment, TeamPlan
from inferstack.constants import (
    GPU_RESOURCE,
    IRSA_ROLE_ARN_ANNOTATION,
    POD_SECURITY_ENFORCE_LABEL,
    POD_SECURITY_WARN_LABEL,
    SERVING_SERVICE_ACCOUNT,
)
from inferstack.render.labels import team_labels
from inferstack.render.resources import cpu_quantity, memory_quantity
from inferstack.render.serialize import to_manifest

NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
KNATIVE_NAMESPACES = ("knative-serving", "istio-system")
"""Namespaces whose activator / ingress reach serverless predictors."""
QUOTA_NAME = "model-serving"
NETWORK_POLICY_NAME = "model-serving"
HTTPS_PORT = 443
DNS_PORT = 53


def _as_dict(model: object) -> dict[str, Any]:
    manifest = to_manifest(model)
    assert isinstance(manifest, dict)
    return manifest


def team_models(team: TeamPlan, blueprint: Blueprint) -> list[ModelDeployment]:
    """The team's model deployments in this environment."""
    return [blueprint.model(name) for name in team.models]


def render_namespace(team: TeamPlan, blueprint: Blueprint) -> dict[str, Any]:
    """The team namespace: baseline Pod Security enforced, restricted warned."""
    labels = team_labels(team, blueprint.environment)
    labels[POD_SECURITY_ENFORCE_LABEL] = "baseline"
    labels[POD_SECURITY_WARN_LABEL] = "restricted"
    return _as_dict(V1Namespace(api_version="v1", kind="Namespace", metadata=V1ObjectMeta(name=team.namespace, labels=labels)))


def render_service_account(team: TeamPlan, blueprint: Blueprint, role_arn: str) -> dict[str, Any]:
    """The ServiceAccount the team's predictors run as; IRSA maps it to `role_arn`."""
    return _as_dict(
        V1ServiceAccount(
            api_version="v1",
            kind="ServiceAccount",
            metadata=V1ObjectMeta(
                name=SERVING_SERVICE_ACCOUNT,
                namespace=team.namespace,
                labels=team_labels(team, blueprint.environment),
                annotations={IRSA_ROLE_ARN_ANNOTATION: role_arn},
            ),
            automount_service_account_token=False,
        )
    )


def _namespace_peer(name: str) -> V1NetworkPolicyPeer:
    return V1NetworkPolicyPeer(namespace_selector=V1LabelSelector(match_labels={NAMESPACE_NAME_LABEL: name}))


def render_network_policy(team: TeamPlan, blueprint: Blueprint, ingress_namespaces: Sequence[str]) -> dict[str, Any]:
    """Deny by default; let in the namespace itself, the gateway and monitoring; let out DNS, and HTTPS to the VPC only.

    S3, STS and CloudWatch Logs answer at VPC addresses through the cluster's interface endpoints (private DNS), so
    model downloads, payload logs and IRSA work while nothing in the namespace can reach the internet. With an
    adopted VPC, network.vpc_cidr must be its CIDR, and it needs the same endpoints.
    """
    allowed = list(dict.fromkeys([*ingress_namespaces, blueprint.config.monitoring.namespace]))
    if any(blueprint.model(name).deployment_mode == "serverless" for name in team.models):
        allowed.extend(name for name in KNATIVE_NAMESPACES if name not in allowed)
    same_namespace = V1NetworkPolicyPeer(pod_selector=V1LabelSelector())
    return _as_dict(
        V1NetworkPolicy(
            api_version="networking.k8s.io/v1",
            kind="NetworkPolicy",
            metadata=V1ObjectMeta(
                name=NETWORK_POLICY_NAME, namespace=team.namespace, labels=team_labels(team, blueprint.environment)
            ),
            spec=V1NetworkPolicySpec(
                pod_selector=V1LabelSelector(),
                policy_types=["Ingress", "Egress"],
                ingress=[V1NetworkPolicyIngressRule(_from=[same_namespace, *(_namespace_peer(name) for name in allowed)])],
                egress=[
                    V1NetworkPolicyEgressRule(to=[same_namespace]),
                    V1NetworkPolicyEgressRule(
                        to=[_namespace_peer("kube-system")],
                        ports=[
                            V1NetworkPolicyPort(protocol="UDP", port=DNS_PORT),
                            V1NetworkPolicyPort(protocol="TCP", port=DNS_PORT),
                        ],
                    ),
                    V1NetworkPolicyEgressRule(
                        to=[V1NetworkPolicyPeer(ip_block=V1IPBlock(cidr=blueprint.config.network.vpc_cidr))],
                        ports=[V1NetworkPolicyPort(protocol="TCP", port=HTTPS_PORT)],
                    ),
                ],
            ),
        )
    )


def quota_totals(models: Sequence[ModelDeployment]) -> dict[str, str]:
    """Hard limits covering every model at max replicas plus one surge replica, twice over for two-version rollouts."""
    cpu = 0.0
    memory_gib = 0.0
    gpus = 0
    pods = 0
    for deployment in models:
        spec = deployment.spec
        versions = 1 if spec.rollout.strategy == "direct" else max(2, len(spec.rollout.variants))
        replicas = (spec.scaling.max_replicas + 1) * versions
        cpu += spec.serving.resources.cpu * replicas
        memory_gib += spec.serving.resources.memory_gib * replicas
        gpus += spec.accelerator.gpus_per_replica * replicas
        pods += replicas
    hard = {
        "requests.cpu": cpu_quantity(math.ceil(cpu)),
        "limits.cpu": cpu_quantity(math.ceil(cpu)),
        "requests.memory": memory_quantity(math.ceil(memory_gib)),
        "limits.memory": memory_quantity(math.ceil(memory_gib)),
        "pods": str(pods),
    }
    hard[f"requests.{GPU_RESOURCE}"] = str(gpus)
    return hard


def render_resource_quota(team: TeamPlan, blueprint: Blueprint) -> dict[str, Any]:
    """The team's ResourceQuota (CPU, memory, GPUs, pods)."""
    return _as_dict(
        V1ResourceQuota(
            api_version="v1",
            kind="ResourceQuota",
            metadata=V1ObjectMeta(name=QUOTA_NAME, namespace=team.namespace, labels=team_labels(team, blueprint.environment)),
            spec=V1ResourceQuotaSpec(hard=quota_totals(team_models(team, blueprint))),
        )
    )
