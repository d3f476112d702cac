"""Every Kubernetes object of one served model, with the suffix of its Pulumi resource name.

TeamModelServices registers exactly these (as `<prefix>-<model><suffix>`); the churn
benchmark compares them between two Blueprints without running the Pulumi engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from inferstack.blueprint import Blueprint, ModelDeployment
from inferstack.render.availability import needs_disruption_budget, render_disruption_budget
from inferstack.render.gateway_security import render_model_gateway_objects
from inferstack.render.inference_service import render_inference_service
from inferstack.render.rollout import RolloutVariant, render_rollout

TRAFFIC_RESOURCE_SUFFIX = {"InferenceGraph": "graph", "HTTPRoute": "route", "VirtualService": "route"}
"""Pulumi name suffix of the object that splits a model's traffic, by kind."""
GATEWAY_RESOURCE_SUFFIX = {"AuthorizationPolicy": "-access", "EnvoyFilter": "-limits"}
"""Pulumi name suffix of an exposed model's objects on the gateway (in the gateway namespace), by kind."""


def variant_resource_name(base: str, variant: RolloutVariant) -> str:
    """Pulumi name of a variant's object: `<base>` for the unsuffixed (stable) InferenceService, else `<base>-<suffix>`.

    The stable version keeps its resource name, so starting, finishing or rolling back a
    rollout updates it in place instead of replacing it.
    """
    suffix = variant.serving.name_suffix
    return f"{base}-{suffix}" if suffix else base


@dataclass(frozen=True, slots=True)
class ModelObject:
    """One Kubernetes object of a model: its Pulumi name suffix, the names it must wait for, and its manifest."""

    suffix: str
    """Appended to `<prefix>-<model>` to give the Pulumi resource name, e.g. `-isvc`, `-isvc-canary`, `-route`."""
    manifest: dict[str, Any]
    after_services: bool = False
    """Created after the model's InferenceServices (a route or graph names their Services)."""


def render_model_objects(deployment: ModelDeployment, blueprint: Blueprint) -> list[ModelObject]:
    """The model's InferenceServices, its route or InferenceGraph, its PDBs and its gateway objects, in registration order."""
    gateway = [
        ModelObject(GATEWAY_RESOURCE_SUFFIX[manifest["kind"]], manifest)
        for manifest in render_model_gateway_objects(deployment, blueprint)
    ]
    if deployment.spec.rollout.strategy == "direct":
        objects = [ModelObject("-isvc", render_inference_service(deployment, blueprint))]
        if needs_disruption_budget(deployment):
            objects.append(ModelObject("-pdb", render_disruption_budget(deployment, blueprint)))
        return objects + gateway
    rollout = render_rollout(deployment, blueprint)
    objects = [
        ModelObject(variant_resource_name("-isvc", variant), manifest)
        for variant, manifest in zip(rollout.variants, rollout.inference_services, strict=True)
    ]
    objects += [ModelObject(f"-{TRAFFIC_RESOURCE_SUFFIX[manifest['kind']]}", manifest, True) for manifest in rollout.traffic]
    if needs_disruption_budget(deployment):
        objects += [
            ModelObject(variant_resource_name("-pdb", variant), render_disruption_budget(deployment, blueprint, variant.serving))
            for variant in rollout.variants
        ]
    return objects + gateway
