"""ModelService: the Kubernetes objects of one model (InferenceService, and a KEDA ScaledObject / PDB when needed).

With a rollout strategy other than `direct`, the objects come from the rollout
layer (inferstack.render.rollout): one InferenceService per variant, the route
(HTTPRoute / VirtualService) or InferenceGraph that splits the traffic, and a
ScaledObject and PDB per variant where the model needs them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from components.team_namespace import custom_resource
from inferstack.blueprint import Blueprint, ModelDeployment
from inferstack.constants import TYPE_MODEL_SERVICE
from inferstack.render.autoscaling import needs_scaled_object, render_scaled_object
from inferstack.render.availability import needs_disruption_budget, render_disruption_budget
from inferstack.render.inference_service import ServingVariant, render_inference_service
from inferstack.render.rollout import RolloutVariant, render_rollout, render_rollout_scaled_objects


@dataclass(frozen=True, slots=True)
class ModelServiceArgs:
    """One model deployment, where Prometheus is, and what must exist first (namespace, CRDs, identity)."""

    deployment: ModelDeployment
    blueprint: Blueprint
    provider: k8s.Provider
    prometheus_url: str
    depends_on: tuple[pulumi.Resource, ...] = field(default=())
    """What the InferenceService waits for: the namespace and the KServe controller (its CRDs)."""
    scaler_depends_on: tuple[pulumi.Resource, ...] = field(default=())
    """What the ScaledObject waits for: the namespace and KEDA."""
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
    """Serves one model: a KServe InferenceService, plus a ScaledObject in standard mode and a PDB from two replicas.

    A direct-strategy model is kept to at most four resources (this component included)
    because the platform holds one per model and the offline plan must stay fast for a
    thousand models. A rollout adds, per extra variant, an InferenceService (and its
    ScaledObject / PDB where the model has them), plus one route or InferenceGraph.
    """

    def __init__(self, name: str, args: ModelServiceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_MODEL_SERVICE, name, None, opts)
        if args.deployment.spec.rollout.strategy == "direct":
            self._direct(name, args)
        else:
            self._rollout(name, args)
        self.register_outputs({})

    def _direct(self, name: str, args: ModelServiceArgs) -> None:
        deployment, blueprint = args.deployment, args.blueprint
        child = pulumi.ResourceOptions(parent=self, provider=args.provider, depends_on=list(args.depends_on))
        custom_resource(f"{name}-isvc", render_inference_service(deployment, blueprint, args.variant), child)
        if needs_scaled_object(deployment):
            scaler = pulumi.ResourceOptions(parent=self, provider=args.provider, depends_on=list(args.scaler_depends_on))
            custom_resource(
                f"{name}-scaler", render_scaled_object(deployment, blueprint, args.prometheus_url, args.variant), scaler
            )
        if needs_disruption_budget(deployment):
            budget = render_disruption_budget(deployment, blueprint, args.variant)
            k8s.policy.v1.PodDisruptionBudget(f"{name}-pdb", metadata=budget["metadata"], spec=budget["spec"], opts=child)

    def _rollout(self, name: str, args: ModelServiceArgs) -> None:
        deployment, blueprint = args.deployment, args.blueprint
        objects = render_rollout(deployment, blueprint)
        child = pulumi.ResourceOptions(parent=self, provider=args.provider, depends_on=list(args.depends_on))
        services: list[pulumi.Resource] = [
            custom_resource(variant_resource_name(f"{name}-isvc", variant), manifest, child)
            for variant, manifest in zip(objects.variants, objects.inference_services, strict=True)
        ]
        # The route / graph names the variants' Services: create it after them, delete it before them.
        after_services = pulumi.ResourceOptions(
            parent=self, provider=args.provider, depends_on=[*args.depends_on, *services]
        )
        for manifest in objects.traffic:
            custom_resource(f"{name}-{TRAFFIC_RESOURCE_SUFFIX[manifest['kind']]}", manifest, after_services)
        if needs_scaled_object(deployment):
            scaler = pulumi.ResourceOptions(parent=self, provider=args.provider, depends_on=list(args.scaler_depends_on))
            scaled_objects = render_rollout_scaled_objects(deployment, blueprint, args.prometheus_url)
            for variant, manifest in zip(objects.variants, scaled_objects, strict=True):
                custom_resource(variant_resource_name(f"{name}-scaler", variant), manifest, scaler)
        if needs_disruption_budget(deployment):
            for variant in objects.variants:
                budget = render_disruption_budget(deployment, blueprint, variant.serving)
                k8s.policy.v1.PodDisruptionBudget(
                    variant_resource_name(f"{name}-pdb", variant), metadata=budget["metadata"], spec=budget["spec"], opts=child
                )
