"""ModelService: the Kubernetes objects of one model (InferenceService, and a PDB when needed).

A standard-mode InferenceService carries its own KEDA autoscaling
(`spec.predictor.autoScaling`); KServe creates and owns the ScaledObject.
With a rollout strategy other than `direct`, the objects come from the rollout
layer (inferstack.render.rollout): one InferenceService per variant, the route
(HTTPRoute / VirtualService) or InferenceGraph that splits the traffic, and a
PDB per variant where the model needs one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from components.team_namespace import custom_resource
from inferstack.blueprint import Blueprint, ModelDeployment
from inferstack.constants import TYPE_MODEL_SERVICE
from inferstack.render.autoscaling import uses_keda
from inferstack.render.availability import needs_disruption_budget, render_disruption_budget
from inferstack.render.inference_service import ServingVariant, render_inference_service
from inferstack.render.rollout import RolloutVariant, render_rollout


@dataclass(frozen=True, slots=True)
class ModelServiceArgs:
    """One model deployment and what must exist first (namespace, CRDs, identity, KEDA)."""

    deployment: ModelDeployment
    blueprint: Blueprint
    provider: k8s.Provider
    depends_on: tuple[pulumi.Resource, ...] = field(default=())
    """What the InferenceService waits for: the namespace and the KServe controller (its CRDs)."""
    keda_depends_on: tuple[pulumi.Resource, ...] = field(default=())
    """What a KEDA-scaled (standard-mode) InferenceService also waits for: KEDA, whose ScaledObject KServe creates."""
    variant: ServingVariant = field(default_factory=ServingVariant)
    """The variant a direct-strategy model serves; a rollout's variants come from the spec's rollout block."""


def variant_resource_name(base: str, variant: RolloutVariant) -> str:
    """Pulumi name of a variant's object: `<base>` for the unsuffixed (stable) InferenceService, else `<base>-<suffix>`.

    The stable version keeps its resource name, so starting, finishing or rolling back a
    rollout updates it in place instead of replacing it.
    """
    suffix = variant.serving.name_suffix
    return f"{base}-{suffix}" if suffix else base


TRAFFIC_RESOURCE_SUFFIX = {"InferenceGraph": "graph", "HTTPRoute": "route", "VirtualService": "route"}
"""Pulumi name suffix of the object that splits a model's traffic, by kind."""


class ModelService(pulumi.ComponentResource):
    """Serves one model: a KServe InferenceService (scaling itself through KEDA in standard mode), plus a PDB from two replicas.

    A direct-strategy model is kept to at most three resources (this component included)
    because the platform holds one per model and the offline plan must stay fast for a
    thousand models. A rollout adds, per extra variant, an InferenceService (and its
    PDB where the model has one), plus one route or InferenceGraph.
    """

    def __init__(self, name: str, args: ModelServiceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_MODEL_SERVICE, name, None, opts)
        if args.deployment.spec.rollout.strategy == "direct":
            self._direct(name, args)
        else:
            self._rollout(name, args)
        self.register_outputs({})

    def _depends_on(self, args: ModelServiceArgs) -> list[pulumi.Resource]:
        return [*args.depends_on, *(args.keda_depends_on if uses_keda(args.deployment) else ())]

    def _direct(self, name: str, args: ModelServiceArgs) -> None:
        deployment, blueprint = args.deployment, args.blueprint
        child = pulumi.ResourceOptions(parent=self, provider=args.provider, depends_on=self._depends_on(args))
        custom_resource(f"{name}-isvc", render_inference_service(deployment, blueprint, args.variant), child)
        if needs_disruption_budget(deployment):
            budget = render_disruption_budget(deployment, blueprint, args.variant)
            k8s.policy.v1.PodDisruptionBudget(f"{name}-pdb", metadata=budget["metadata"], spec=budget["spec"], opts=child)

    def _rollout(self, name: str, args: ModelServiceArgs) -> None:
        deployment, blueprint = args.deployment, args.blueprint
        objects = render_rollout(deployment, blueprint)
        depends_on = self._depends_on(args)
        child = pulumi.ResourceOptions(parent=self, provider=args.provider, depends_on=depends_on)
        services: list[pulumi.Resource] = [
            custom_resource(variant_resource_name(f"{name}-isvc", variant), manifest, child)
            for variant, manifest in zip(objects.variants, objects.inference_services, strict=True)
        ]
        # The route / graph names the variants' Services: create it after them, delete it before them.
        after_services = pulumi.ResourceOptions(
            parent=self, provider=args.provider, depends_on=[*depends_on, *services]
        )
        for manifest in objects.traffic:
            custom_resource(f"{name}-{TRAFFIC_RESOURCE_SUFFIX[manifest['kind']]}", manifest, after_services)
        if needs_disruption_budget(deployment):
            for variant in objects.variants:
                budget = render_disruption_budget(deployment, blueprint, variant.serving)
                k8s.policy.v1.PodDisruptionBudget(
                    variant_resource_name(f"{name}-pdb", variant), metadata=budget["metadata"], spec=budget["spec"], opts=child
                )
