"""ModelService: the Kubernetes objects of one model (InferenceService, and a KEDA ScaledObject / PDB when needed)."""

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


class ModelService(pulumi.ComponentResource):
    """Serves one model: a KServe InferenceService, plus a ScaledObject in standard mode and a PDB from two replicas.

    Kept to at most four resources (this component included) because the platform
    holds one per model and the offline plan must stay fast for a thousand models.
    """

    def __init__(self, name: str, args: ModelServiceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_MODEL_SERVICE, name, None, opts)
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
        self.register_outputs({})
