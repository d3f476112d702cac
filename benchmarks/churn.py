"""Churn: what single-spec edits do to a running fleet's capacity and to the models nobody touched.

A 200-model fleet from benchmarks/fleet.py, then 100 random single-spec edits applied one
after another (a day of merges): scale up or down, add or remove a model, version bump,
start / finish / abort a canary, blue-green switch, shadow on or off. For each edit:

- **capacity hits**: node groups (or Karpenter NodePools / EC2NodeClasses) removed,
  replaced, or whose nodes are replaced (a new launch template version, Karpenter drift)
  while models are placed on them (inferstack.plan.disruption, the same function the
  report's Disruption section uses);
- **other models' objects**: Kubernetes objects added, changed or removed that belong to
  a model other than the edited one;
- **cost delta**: the steady monthly estimate after minus before.

Goal: 0 and 0 for every edit that needs no new pool (accelerator class, capacity type and
size class that did not exist yet).

Runs at the compile layer plus the rendered objects, without the Pulumi engine (100 engine
runs of a 200-model fleet take too long on this 2-core machine): models' objects come from
inferstack.render.model_objects (what TeamModelServices registers), Karpenter objects from
inferstack.render.karpenter, and node groups / launch templates from the inputs
components/node_pool.py gives them (mirrored in `_node_group_resources`).

    uv run python benchmarks/churn.py [--models 200] [--edits 100] [--seed 11] [--stack prod] [--mode both]
"""

from __future__ import annotations

import argparse
import copy
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.fleet import generate_fleet  # noqa: E402
from inferstack.blueprint import Blueprint  # noqa: E402
from inferstack.compiler import compile_blueprint  # noqa: E402
from inferstack.constants import DEVICE_PLUGIN_CONFIG_LABEL, LABEL_MODEL  # noqa: E402
from inferstack.cost import estimate  # noqa: E402
from inferstack.plan.diff import diff_plans  # noqa: E402
from inferstack.plan.disruption import Disruption, find_disruptions  # noqa: E402
from inferstack.plan.document import PlanDocument, PlanResource  # noqa: E402
from inferstack.pricing.catalog import load_catalog  # noqa: E402
from inferstack.problems import InputError  # noqa: E402
from inferstack.render.cluster_autoscaler import node_group_name  # noqa: E402
from inferstack.render.gpu_sharing import pool_device_plugin_config  # noqa: E402
from inferstack.render.karpenter import node_class_of, render_node_class, render_node_pool  # noqa: E402
from inferstack.render.labels import pool_tags  # noqa: E402
from inferstack.render.model_objects import render_model_objects  # noqa: E402
from inferstack.spec import ModelSpec, load_environment  # noqa: E402
from inferstack.spec.environment import EnvironmentConfig  # noqa: E402
from inferstack.spec.loader import LoadedSpec  # noqa: E402

CAPACITY_TYPES = frozenset(
    {
        "aws:eks/nodeGroup:NodeGroup",
        "aws:ec2/launchTemplate:LaunchTemplate",
        "kubernetes:karpenter.sh/v1:NodePool",
        "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass",
    }
)
EDITS = (
    "scale-up", "scale-down", "add-model", "remove-model", "version-bump", "start-canary",
    "finish-canary", "abort-canary", "blue-green-switch", "shadow-on", "shadow-off",
)


@dataclass(frozen=True, slots=True)
class EditResult:
    """What one edit did."""

    kind: str
    model: str
    new_pool: bool
    capacity_hits: tuple[Disruption, ...]
    other_models_changed: tuple[str, ...]
    cost_delta: float


def _node_group_resources(blueprint: Blueprint) -> list[PlanResource]:
    """Node groups and launch templates with the inputs components/node_pool.py gives them."""
    config = blueprint.config
    resources = []
    for pool in blueprint.node_pools:
        labels = dict(pool.labels)
        if pool.is_gpu:
            labels[DEVICE_PLUGIN_CONFIG_LABEL] = pool_device_plugin_config(pool)
        parent = f"pool::{pool.name}"
        resources.append(
            PlanResource(
                urn=f"{parent}::ng", type="aws:eks/nodeGroup:NodeGroup", name=pool.name, parent=parent,
                inputs={
                    "nodeGroupName": node_group_name(config.cluster.name, pool),
                    "instanceTypes": list(pool.instance_types),
                    "capacityType": pool.capacity_type,
                    "amiType": "AL2023_x86_64_NVIDIA" if pool.is_gpu else "AL2023_x86_64_STANDARD",
                    "labels": labels,
                    "taints": [{"key": taint.key, "value": taint.value, "effect": taint.effect} for taint in pool.taints],
                    "scalingConfig": {"minSize": pool.min_size, "maxSize": pool.max_size},
                },
            )
        )
        resources.append(
            PlanResource(
                urn=f"{parent}::lt", type="aws:ec2/launchTemplate:LaunchTemplate", name=pool.name, parent=parent,
                inputs={"tags": pool_tags(blueprint.environment, config.cost_center), "volume": 200 if pool.is_gpu else 50},
            )
        )
    return resources


def _karpenter_resources(blueprint: Blueprint) -> list[PlanResource]:
    catalog = load_catalog(blueprint.config.region)
    resources = [
        PlanResource(urn=f"nodepool::{pool.name}", type="kubernetes:karpenter.sh/v1:NodePool", name=pool.name,
                     inputs=render_node_pool(pool, blueprint, catalog))
        for pool in blueprint.node_pools
    ]
    for name in sorted({node_class_of(pool) for pool in blueprint.node_pools}):
        resources.append(
            PlanResource(urn=f"nodeclass::{name}", type="kubernetes:karpenter.k8s.aws/v1:EC2NodeClass", name=name,
                         inputs=render_node_class(blueprint, name, "node-role", blueprint.config.cluster.name))
        )
    return resources


def _model_resources(blueprint: Blueprint) -> list[PlanResource]:
    resources = []
    for deployment in blueprint.models:
        for item in render_model_objects(deployment, blueprint):
            manifest = item.manifest
            resources.append(
                PlanResource(
                    urn=f"model::{deployment.name}{item.suffix}",
                    type=f"kubernetes:{manifest.get('apiVersion', 'policy/v1')}:{manifest['kind']}",
                    name=f"{deployment.name}{item.suffix}",
                    inputs=manifest,
                )
            )
    return resources


def resources_of(blueprint: Blueprint, mode: str) -> list[PlanResource]:
    """Capacity and model objects of a Blueprint, in the autoscaler mode given."""
    capacity = _karpenter_resources(blueprint) if mode == "karpenter" else _node_group_resources(blueprint)
    return capacity + _model_resources(blueprint)


def _owner(resource: PlanResource) -> str | None:
    labels = (resource.inputs.get("metadata") or {}).get("labels") or {}
    return labels.get(LABEL_MODEL)


def _edit(rng: random.Random, fleet: list[dict[str, Any]], serial: int) -> tuple[str, str, list[dict[str, Any]]] | None:
    """One random edit of one spec: (kind, model, new fleet), or None when the drawn edit does not apply."""
    kind = rng.choice(EDITS)
    fleet = copy.deepcopy(fleet)
    if kind == "add-model":
        document = generate_fleet(1, seed=10_000 + serial)[0]
        document["name"] = f"added-model-{serial:04d}"
        fleet.append(document)
        return kind, document["name"], fleet
    # Edits that apply to one rollout strategy draw among the models that have it.
    needs = {"start-canary": "direct", "shadow-on": "direct", "finish-canary": "canary", "abort-canary": "canary",
             "blue-green-switch": "blue-green", "shadow-off": "shadow"}.get(kind)
    eligible = [item for item in fleet if needs is None or item["rollout"]["strategy"] == needs]
    if not eligible:
        return None
    document = rng.choice(eligible)
    name = document["name"]
    rollout = document["rollout"]
    scaling = document["scaling"]
    version = document["artifact"]["version"]
    bumped = f"{version.rsplit('.', 1)[0]}.{int(version.rsplit('.', 1)[1]) + 1}"
    if kind == "remove-model":
        fleet.remove(document)
    elif kind == "scale-up":
        scaling["max_replicas"] = min(scaling["max_replicas"] + rng.randint(1, 4), 10)
    elif kind == "scale-down":
        if scaling["max_replicas"] <= scaling["min_replicas"]:
            return None
        scaling["max_replicas"] -= 1
    elif kind == "version-bump":
        document["artifact"]["version"] = bumped
        if rollout["strategy"] == "ab":
            rollout["variants"][-1]["version"] = bumped
    elif kind == "start-canary":
        if rollout["strategy"] != "direct":
            return None
        document["rollout"] = {"strategy": "canary", "stable_version": version, "canary_percent": 10}
        document["artifact"]["version"] = bumped
    elif kind in ("finish-canary", "abort-canary"):
        if rollout["strategy"] != "canary":
            return None
        if kind == "abort-canary":
            document["artifact"]["version"] = rollout["stable_version"]
        document["rollout"] = {"strategy": "direct"}
    elif kind == "blue-green-switch":
        if rollout["strategy"] != "blue-green":
            return None
        rollout["active_color"] = "green" if rollout["active_color"] == "blue" else "blue"
    elif kind == "shadow-on":
        if rollout["strategy"] != "direct":
            return None
        document["rollout"] = {"strategy": "shadow", "stable_version": version, "mirror_percent": 10}
        document["artifact"]["version"] = bumped
    elif kind == "shadow-off":
        if rollout["strategy"] != "shadow":
            return None
        document["rollout"] = {"strategy": "direct"}
    return kind, name, fleet


def _compile(fleet: list[dict[str, Any]], config: EnvironmentConfig) -> Blueprint:
    loaded = [LoadedSpec(ModelSpec.model_validate(document), f"fleet/{document['name']}.yaml") for document in fleet]
    return compile_blueprint(loaded, config)


def run(models: int, edits: int, seed: int, config: EnvironmentConfig, mode: str) -> list[EditResult]:
    """Apply `edits` random edits one after another; what each one did."""
    rng = random.Random(seed)
    fleet = generate_fleet(models, seed)
    blueprint = _compile(fleet, config)
    before = resources_of(blueprint, mode)
    cost = estimate(blueprint).monthly_usd
    results: list[EditResult] = []
    serial = 0
    while len(results) < edits:
        serial += 1
        drawn = _edit(rng, fleet, serial)
        if drawn is None:
            continue
        kind, name, edited = drawn
        try:
            after_blueprint = _compile(edited, config)
        except (InputError, ValueError):
            continue  # the drawn edit makes an invalid spec (e.g. a rollout rule): draw again
        after = resources_of(after_blueprint, mode)
        diff = diff_plans(PlanDocument(stack="churn", resources=before), PlanDocument(stack="churn", resources=after))
        # Capacity that goes while models other than the edited one run there (the edited model's own
        # last pool going with it, e.g. on removal, drains nothing that was meant to stay).
        hits = tuple(
            item for item in find_disruptions(before, after, diff)
            if item.type in CAPACITY_TYPES and set(item.models) - {name}
        )
        owners = {resource.urn: _owner(resource) for resource in (*before, *after)}
        touched = {owners.get(resource.urn) for resource in (*diff.added, *diff.removed)}
        touched |= {owners.get(change.urn) for change in diff.changed}
        others = tuple(sorted(model for model in touched if model and model != name))
        new_pool = bool({pool.name for pool in after_blueprint.node_pools} - {pool.name for pool in blueprint.node_pools})
        after_cost = estimate(after_blueprint).monthly_usd
        results.append(EditResult(kind, name, new_pool, hits, others, after_cost - cost))
        fleet, blueprint, before, cost = edited, after_blueprint, after, after_cost
    return results


def report(results: list[EditResult], mode: str, seconds: float) -> dict[str, Any]:
    """Print the per-kind table and the totals; return the totals."""
    print(f"\n{mode}: {len(results)} edits in {seconds:.1f} s")
    print(f"{'edit':<18} {'n':>3} {'new pool':>8} {'capacity hits':>13} {'other models':>12} {'cost delta $/mo (mean)':>22}")
    for kind in EDITS:
        rows = [item for item in results if item.kind == kind]
        if not rows:
            continue
        print(
            f"{kind:<18} {len(rows):>3} {sum(item.new_pool for item in rows):>8} "
            f"{sum(len(item.capacity_hits) for item in rows):>13} {sum(len(item.other_models_changed) for item in rows):>12} "
            f"{sum(item.cost_delta for item in rows) / len(rows):>22,.0f}"
        )
    plain = [item for item in results if not item.new_pool]
    totals = {
        "edits": len(results),
        "edits_without_new_pool": len(plain),
        "capacity_hits": sum(len(item.capacity_hits) for item in plain),
        "other_models_changed": sum(len(item.other_models_changed) for item in plain),
        "capacity_hits_all_edits": sum(len(item.capacity_hits) for item in results),
    }
    print(
        f"edits needing no new pool: {totals['edits_without_new_pool']}; capacity removed/replaced with live models: "
        f"{totals['capacity_hits']}; objects of other models changed: {totals['other_models_changed']} "
        f"(all edits: {totals['capacity_hits_all_edits']} capacity hits)"
    )
    for item in results:
        for hit in item.capacity_hits:
            print(f"  {item.kind} {item.model}: {hit.action} {hit.urn} ({hit.reason}) hits {', '.join(hit.models)}")
        if item.other_models_changed and not item.new_pool:
            print(f"  {item.kind} {item.model}: changed objects of {', '.join(item.other_models_changed[:5])}")
    return totals


def main() -> None:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--models", type=int, default=200)
    parser.add_argument("--edits", type=int, default=100)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--stack", default="prod", help="Stack whose config (tier, policy, zones) to compile for.")
    parser.add_argument("--mode", choices=["cluster-autoscaler", "karpenter", "both"], default="both")
    arguments = parser.parse_args()
    config = load_environment(ROOT / "stacks", arguments.stack)
    modes = ["cluster-autoscaler", "karpenter"] if arguments.mode == "both" else [arguments.mode]
    print(f"churn: {arguments.models}-model fleet (seed {arguments.seed}), {arguments.edits} edits, stack {arguments.stack}")
    for mode in modes:
        mode_config = config.model_copy(update={"cluster": config.cluster.model_copy(update={"node_autoscaler": mode})})
        start = time.perf_counter()
        results = run(arguments.models, arguments.edits, arguments.seed, mode_config, mode)
        report(results, mode, time.perf_counter() - start)


if __name__ == "__main__":
    main()
