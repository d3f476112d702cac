"""TeamModelServices: a team's served models, as the Kubernetes objects of each of them.

One component per team (not per model): a component costs the engine a
registration and a register_outputs of its own, which for a thousand models
was a fifth of the offline plan. Resource names stay per model
(`<prefix>-<model>-isvc`, `-isvc-<suffix>`, `-route` / `-graph`, `-pdb`), so
the plan diff of one model's change reads as before.

Per model: its InferenceService (a standard-mode one carries its own KEDA
autoscaling, `spec.predictor.autoScaling`; KServe creates and owns the
ScaledObject) and a PDB when it needs one. With a rollout strategy other than
`direct`, the objects come from the rollout layer (inferstack.render.rollout):
one InferenceService per variant, the route (HTTPRoute / VirtualService) or
InferenceGraph that splits the traffic, and a PDB per variant where the model
needs one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from components.team_namespace import custom_resource
from inferstack.blueprint import Blueprint, ModelDeployment, TeamPlan
from inferstack.constants import TYPE_TEAM_MODEL_SERVICES
from inferstack.render.availability import needs_disruption_budget, render_disruption_budget
from inferstack.render.inference_service import render_inference_service
from inferstack.render.rollout import RolloutVariant, render_rollout


@dataclass(frozen=True, slots=True)
class TeamModelServicesArgs:
    """A team's models, how their resources are named, and what must exist first (namespace, KServe and KEDA)."""

    team: TeamPlan
    blueprint: Blueprint
    provider: k8s.Provider
    resource_prefix: str
    """Pulumi names of a model's objects start `<resource_prefix>-<model>`."""
    depends_on: tuple[pulumi.Resource, ...] = field(default=())
    """What the InferenceServices wait for: the namespace and the KServe controller (which waits for its CRDs and KEDA)."""


def variant_resource_name(base: str, variant: RolloutVariant) -> str:
    """Pulumi name of a variant's object: `<base>` for the unsuffixed (stable) InferenceService, else `<base>-<suffix>`.

    The stable version keeps its resource name, so starting, finishing or rolling back a
    rollout updates it in place instead of replacing it.
    """
    suffix = variant.serving.name_suffix
    return f"{base}-{suffix}" if suffix else base


TRAFFIC_RESOURCE_SUFFIX = {"InferenceGraph": "graph", "HTTPRoute": "route", "VirtualService": "route"}
"""Pulumi name suffix of the object that splits a model's traffic, by kind."""


class TeamModelServices(pulumi.ComponentResource):
    """Serves a team's models: per model an InferenceService (scaling itself through KEDA in standard mode)
    and a PDB from two replicas; per rollout variant another pair, plus one route or InferenceGraph.

    A direct-strategy model is kept to at most two resources because the platform
    renders every model and the offline plan must stay fast for a thousand models.
    """

    models: tuple[str, ...]

    def __init__(self, name: str, args: TeamModelServicesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TEAM_MODEL_SERVICES, name, None, opts)
        self.models = args.team.models
        blueprint = args.blueprint
        child = pulumi.ResourceOptions(parent=self, provider=args.provider, depends_on=list(args.depends_on))
        for model_name in args.team.models:
            deployment = blueprint.model(model_name)
            base = f"{args.resource_prefix}-{model_name}"
            if deployment.spec.rollout.strategy == "direct":
                self._direct(base, deployment, blueprint, child)
            else:
                self._rollout(base, deployment, blueprint, child)
        self.register_outputs({})

    def _direct(self, base: str, deployment: ModelDeployment, blueprint: Blueprint, child: pulumi.ResourceOptions) -> None:
        custom_resource(f"{base}-isvc", render_inference_service(deployment, blueprint), child)
        if needs_disruption_budget(deployment):
            budget = render_disruption_budget(deployment, blueprint)
            k8s.policy.v1.PodDisruptionBudget(f"{base}-pdb", metadata=budget["metadata"], spec=budget["spec"], opts=child)

    def _rollout(self, base: str, deployment: ModelDeployment, blueprint: Blueprint, child: pulumi.ResourceOptions) -> None:
        objects = render_rollout(deployment, blueprint)
        services: list[pulumi.Resource] = [
            custom_resource(variant_resource_name(f"{base}-isvc", variant), manifest, child)
            for variant, manifest in zip(objects.variants, objects.inference_services, strict=True)
        ]
        # The route / graph names the variants' Services: create it after them, delete it before them.
        after_services = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=services))
        for manifest in objects.traffic:
            custom_resource(f"{base}-{TRAFFIC_RESOURCE_SUFFIX[manifest['kind']]}", manifest, after_services)
        if needs_disruption_budget(deployment):
            for variant in objects.variants:
                budget = render_disruption_budget(deployment, blueprint, variant.serving)
                k8s.policy.v1.PodDisruptionBudget(
                    variant_resource_name(f"{base}-pdb", variant), metadata=budget["metadata"], spec=budget["spec"], opts=child
                )
