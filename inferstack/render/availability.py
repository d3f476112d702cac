"""PodDisruptionBudgets: models that keep two or more replicas lose at most one to voluntary disruption."""

from __future__ import annotations

from typing import Any

from kubernetes.client import V1LabelSelector, V1ObjectMeta, V1PodDisruptionBudget, V1PodDisruptionBudgetSpec

from inferstack.blueprint import Blueprint, ModelDeployment
from inferstack.constants import KSERVE_ISVC_POD_LABEL
from inferstack.render.inference_service import ServingVariant, isvc_name
from inferstack.render.labels import model_labels
from inferstack.render.serialize import to_manifest


def needs_disruption_budget(deployment: ModelDeployment) -> bool:
    """A PDB only makes sense with at least two replicas always running."""
    return deployment.spec.scaling.min_replicas >= 2


def render_disruption_budget(
    deployment: ModelDeployment, blueprint: Blueprint, variant: ServingVariant = ServingVariant()
) -> dict[str, Any]:
    """maxUnavailable 1 over the predictor pods of one variant."""
    name = isvc_name(deployment, variant)
    manifest = to_manifest(
        V1PodDisruptionBudget(
            api_version="policy/v1",
            kind="PodDisruptionBudget",
            metadata=V1ObjectMeta(name=name, namespace=deployment.namespace, labels=model_labels(deployment, blueprint.environment)),
            spec=V1PodDisruptionBudgetSpec(
                max_unavailable=1,
                selector=V1LabelSelector(match_labels={KSERVE_ISVC_POD_LABEL: name}),
            ),
        )
    )
    assert isinstance(manifest, dict)
    return manifest
