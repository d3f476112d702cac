"""Disruption: the changes of a plan that drain running pods, and the models each one hits.

Against a baseline, a change disrupts running models when it:

- removes or replaces **capacity**: an EKS node group (removed, or replaced because a
  force-new input changed), a change of its launch template (a new template version,
  which makes the managed node group replace every node), a Karpenter NodePool or
  EC2NodeClass removed or changed in what its nodes are (Karpenter drifts and replaces
  them); the models hit are those whose node affinity selects the pool's
  `inferstack.io/node-pool` label in the baseline;
- removes or replaces a **serving object** whose pods then go: an InferenceService,
  Deployment or StatefulSet; the model hit is its `inferstack.io/model` label.

Pure: works on plan.json documents only (the report, and benchmarks/churn.py through
the same function on resources it renders without the engine).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from inferstack.constants import LABEL_MODEL, LABEL_NODE_POOL
from inferstack.plan.diff import PlanDiff
from inferstack.plan.document import PlanResource

NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
KARPENTER_NODE_POOL = "kubernetes:karpenter.sh/v1:NodePool"
KARPENTER_NODE_CLASS = "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"
SERVING_TYPES = frozenset(
    {
        "kubernetes:serving.kserve.io/v1beta1:InferenceService",
        "kubernetes:apps/v1:Deployment",
        "kubernetes:apps/v1:StatefulSet",
    }
)
KARPENTER_DRIFT_PATHS = ("spec.template", "spec.amiSelectorTerms", "spec.subnetSelectorTerms",
                         "spec.securityGroupSelectorTerms", "spec.blockDeviceMappings", "spec.metadataOptions",
                         "spec.role", "spec.userData", "spec.amiFamily", "spec.tags", "spec.kubelet")
"""Inputs whose change makes Karpenter replace the nodes it launched (drift), from Karpenter's disruption docs."""


@dataclass(frozen=True, slots=True)
class Disruption:
    """One change that drains pods: what, how, why, and which models run there."""

    urn: str
    type: str
    action: str
    """removed, replaced, or nodes replaced (an in-place change that rolls the nodes)."""
    reason: str
    models: tuple[str, ...]


def _pool_label(resource: PlanResource) -> str | None:
    inputs = resource.inputs
    if resource.type == NODE_GROUP:
        value = (inputs.get("labels") or {}).get(LABEL_NODE_POOL)
    else:
        value = (((inputs.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("labels", {}).get(LABEL_NODE_POOL)
    return str(value) if value else None


def _selected_pools(value: Any) -> Iterator[str]:
    """Every value a node selector requirement on the node-pool label lists, anywhere in the inputs."""
    if isinstance(value, dict):
        if value.get("key") == LABEL_NODE_POOL and isinstance(value.get("values"), list):
            yield from (str(item) for item in value["values"])
        for item in value.values():
            yield from _selected_pools(item)
    elif isinstance(value, list):
        for item in value:
            yield from _selected_pools(item)


def _model_of(resource: PlanResource) -> str | None:
    labels = (resource.inputs.get("metadata") or {}).get("labels") or {}
    value = labels.get(LABEL_MODEL)
    return str(value) if value else None


def models_by_pool(resources: Sequence[PlanResource]) -> dict[str, tuple[str, ...]]:
    """Node-pool label -> models whose serving objects select it."""
    found: dict[str, set[str]] = defaultdict(set)
    for resource in resources:
        if resource.type not in SERVING_TYPES:
            continue
        model = _model_of(resource)
        if model is None:
            continue
        for pool in _selected_pools(resource.inputs.get("spec")):
            found[pool].add(model)
    return {pool: tuple(sorted(models)) for pool, models in found.items()}


def _drifted(paths: Sequence[str]) -> tuple[str, ...]:
    return tuple(path for path in paths if any(path == key or path.startswith(f"{key}.") for key in KARPENTER_DRIFT_PATHS))


def find_disruptions(baseline: Sequence[PlanResource], current: Sequence[PlanResource], diff: PlanDiff) -> list[Disruption]:
    """Every removal or replacement of capacity or serving objects in `diff`, with the baseline models it hits."""
    before = {resource.urn: resource for resource in baseline}
    after = {resource.urn: resource for resource in current}
    by_pool = models_by_pool(baseline)
    all_pool_models = tuple(sorted({model for models in by_pool.values() for model in models}))
    # A launch template rolls the node group beside it (same parent component).
    group_of_parent: Mapping[str | None, PlanResource] = {
        resource.parent: resource for resource in baseline if resource.type == NODE_GROUP
    }

    def pool_models(resource: PlanResource) -> tuple[str, ...]:
        label = _pool_label(resource)
        return by_pool.get(label, ()) if label else ()

    found: list[Disruption] = []
    for resource in diff.removed:
        if resource.type in (NODE_GROUP, KARPENTER_NODE_POOL):
            found.append(Disruption(resource.urn, resource.type, "removed", "capacity removed", pool_models(resource)))
        elif resource.type == KARPENTER_NODE_CLASS:
            found.append(Disruption(resource.urn, resource.type, "removed", "node class removed", all_pool_models))
        elif resource.type in SERVING_TYPES:
            model = _model_of(resource)
            found.append(Disruption(resource.urn, resource.type, "removed", "serving object removed", (model,) if model else ()))
    for change in diff.changed:
        old = before.get(change.urn) or after[change.urn]
        reasons = ", ".join(change.replace_reasons)
        if change.type == NODE_GROUP and change.replaced:
            found.append(Disruption(change.urn, change.type, "replaced", reasons, pool_models(old)))
        elif change.type == LAUNCH_TEMPLATE:
            group = group_of_parent.get(old.parent)
            found.append(
                Disruption(
                    change.urn, change.type, "nodes replaced",
                    f"new launch template version ({', '.join(change.changed_inputs[:4])})",
                    pool_models(group) if group else (),
                )
            )
        elif change.type in (KARPENTER_NODE_POOL, KARPENTER_NODE_CLASS):
            drift = _drifted(change.changed_inputs)
            if change.replaced or drift:
                models = pool_models(old) if change.type == KARPENTER_NODE_POOL else all_pool_models
                why = reasons if change.replaced else f"drift: {', '.join(drift[:4])}"
                found.append(Disruption(change.urn, change.type, "replaced" if change.replaced else "nodes replaced", why, models))
        elif change.type in SERVING_TYPES and change.replaced:
            model = _model_of(old)
            found.append(Disruption(change.urn, change.type, "replaced", reasons, (model,) if model else ()))
    return sorted(found, key=lambda item: (item.action, item.urn))
