"""TeamNamespace: the policies of a team namespace (NetworkPolicy, ResourceQuota) and its monitoring objects."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from inferstack.blueprint import Blueprint, TeamPlan
from inferstack.constants import TYPE_TEAM_NAMESPACE
from inferstack.render.monitoring import render_team_pod_monitor, render_team_rules
from inferstack.render.rollout_alerts import render_rollout_rules
from inferstack.render.team import render_network_policy, render_resource_quota


@dataclass(frozen=True, slots=True)
class TeamNamespaceArgs:
    """The team, its namespace resource (to order after), and who may call its models."""

    team: TeamPlan
    blueprint: Blueprint
    namespace: pulumi.Resource
    provider: k8s.Provider
    ingress_namespaces: tuple[str, ...]
    monitoring: pulumi.Resource | None = None
    """The monitoring stack whose CRDs the PodMonitor and PrometheusRule need."""


def custom_resource(name: str, manifest: dict[str, Any], opts: pulumi.ResourceOptions) -> k8s.apiextensions.CustomResource:
    """A CustomResource from a rendered manifest (apiVersion, kind, metadata, spec)."""
    return k8s.apiextensions.CustomResource(
        name,
        api_version=manifest["apiVersion"],
        kind=manifest["kind"],
        metadata=manifest["metadata"],
        spec=manifest["spec"],
        opts=opts,
    )


class TeamNamespace(pulumi.ComponentResource):
    """Default-deny NetworkPolicy, ResourceQuota, PodMonitor and the team's PrometheusRule (every model's alerts).

    While a model of the team rolls out, a second PrometheusRule `<team>-rollouts` holds its rollout alerts.
    """

    def __init__(self, name: str, args: TeamNamespaceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TEAM_NAMESPACE, name, None, opts)
        team, blueprint = args.team, args.blueprint
        after_namespace = pulumi.ResourceOptions(parent=self, provider=args.provider, depends_on=[args.namespace])
        policy = render_network_policy(team, blueprint, args.ingress_namespaces)
        k8s.networking.v1.NetworkPolicy(f"{name}-network-policy", metadata=policy["metadata"], spec=policy["spec"], opts=after_namespace)
        quota = render_resource_quota(team, blueprint)
        k8s.core.v1.ResourceQuota(f"{name}-quota", metadata=quota["metadata"], spec=quota["spec"], opts=after_namespace)
        monitoring_deps: list[pulumi.Resource] = [args.namespace] + ([args.monitoring] if args.monitoring else [])
        after_monitoring = pulumi.ResourceOptions(parent=self, provider=args.provider, depends_on=monitoring_deps)
        custom_resource(f"{name}-pod-monitor", render_team_pod_monitor(team, blueprint), after_monitoring)
        custom_resource(f"{name}-alerts", render_team_rules(team, blueprint), after_monitoring)
        rollout_rules = render_rollout_rules(team, blueprint)
        if rollout_rules is not None:
            custom_resource(f"{name}-rollout-alerts", rollout_rules, after_monitoring)
        self.register_outputs({"namespace": team.namespace})
