"""How close does the cluster come to the planner's packing? Simulate a day's peak and the way back down.

The cost model prices every pool at the planner's node counts (`min_size` steady): replicas packed as
tightly as first-fit-decreasing packs them. The cluster decides for itself where pods go:

1. steady state: each pool's steady replicas are scheduled on its `min_size` nodes;
2. peak: every model scales to its max replicas at once; Cluster Autoscaler adds the nodes its
   binpacking estimate needs for the pods that fit nowhere, and kube-scheduler places the pending pods
   one by one on the best-scoring node that fits: **LeastAllocated** (EKS's default profile, which the
   managed control plane does not let us change: spreads) or **MostAllocated** (a bin-packing profile:
   what a secondary scheduler would do);
3. back to steady: each ReplicaSet deletes its extra pods, first from the node holding most of its
   pods, newest first (the ReplicaSet controller's ranking);
4. Cluster Autoscaler's scale-down: a node whose utilisation (GPU nodes: GPU slots; others: the
   larger of CPU and memory) is below the threshold is removed when all its pods fit on the other
   nodes, least used first, until nothing changes (never below the pool's `min_size`).

The nodes left at step 4 against the planner's `min_size` are what the steady estimate misses; the
script prints that gap in USD/month for the default (LeastAllocated, threshold 0.5), for our Cluster
Autoscaler setting (LeastAllocated, SCALE_DOWN_UTILIZATION_THRESHOLD) and for a bin-packing scheduler.
Karpenter's consolidation (WhenEmptyOrUnderutilized) replaces step 4 with a search that also swaps
nodes for cheaper ones, so it does at least as well as the threshold rule; it is not simulated.

Resources per replica are the planner's own shares of the pool's node (inferstack.sizing.resource_shares).
The simulation is deterministic (no randomness): same fleet, same figures.

    uv run python benchmarks/scheduler_spread.py [--models 60] [--seed 7] [--stack prod]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.fleet import generate_fleet  # noqa: E402
from inferstack.blueprint import Blueprint, NodePool  # noqa: E402
from inferstack.compiler import compile_blueprint  # noqa: E402
from inferstack.pricing.catalog import Catalog, load_catalog  # noqa: E402
from inferstack.render.cluster_autoscaler import SCALE_DOWN_UTILIZATION_THRESHOLD  # noqa: E402
from inferstack.sizing import resource_shares, size_replica  # noqa: E402
from inferstack.spec import ModelSpec, load_environment  # noqa: E402
from inferstack.spec.loader import LoadedSpec  # noqa: E402

Shares = tuple[float, float, float, float]
"""(GPU slots, GPU memory, vCPU, memory) share of one node."""
DEFAULT_THRESHOLD = 0.5
"""Cluster Autoscaler's default scale-down utilisation threshold (CPU and GPU)."""
EPSILON = 1e-9


@dataclass
class Node:
    """One simulated node: the replicas on it (model, shares, arrival order)."""

    pods: list[tuple[str, Shares, int]] = field(default_factory=list)

    def used(self) -> list[float]:
        totals = [0.0, 0.0, 0.0, 0.0]
        for _, shares, _ in self.pods:
            for index, value in enumerate(shares):
                totals[index] += value
        return totals

    def fits(self, shares: Shares) -> bool:
        return all(used + share <= 1 + EPSILON for used, share in zip(self.used(), shares))

    def utilisation(self, gpu: bool) -> float:
        used = self.used()
        return used[0] if gpu else max(used[2], used[3])


def _score(node: Node, scoring: str) -> float:
    """kube-scheduler's NodeResourcesFit score over CPU and memory (weights 1, 1): free share, or used share."""
    used = node.used()
    allocated = (used[2] + used[3]) / 2
    return 1 - allocated if scoring == "least" else allocated


def _schedule(nodes: list[Node], pod: tuple[str, Shares, int], scoring: str) -> bool:
    best = None
    for index, node in enumerate(nodes):
        if node.fits(pod[1]) and (best is None or _score(node, scoring) > _score(nodes[best], scoring) + EPSILON):
            best = index
    if best is None:
        return False
    nodes[best].pods.append(pod)
    return True


def _estimate_new_nodes(pending: list[tuple[str, Shares, int]]) -> int:
    """Cluster Autoscaler's binpacking estimate: first-fit of the pending pods (largest first) onto new nodes."""
    bins: list[Node] = []
    for pod in sorted(pending, key=lambda item: (-max(item[1]), item[2])):
        if not _first_fit(bins, pod):
            bins.append(Node([pod]))
    return len(bins)


def simulate_pool(
    replicas: Sequence[tuple[str, Shares, int, int]], min_nodes: int, scoring: str, threshold: float, gpu: bool
) -> int:
    """Nodes a pool keeps after steady -> peak -> steady, for (model, shares, steady, peak) replicas."""
    order = 0
    nodes = [Node() for _ in range(min_nodes)]
    steady_pods: list[tuple[str, Shares, int]] = []
    for step in range(max((steady for _, _, steady, _ in replicas), default=0)):
        for model, shares, steady, _ in replicas:
            if step < steady:
                steady_pods.append((model, shares, order))
                order += 1
    pending = [pod for pod in steady_pods if not _schedule(nodes, pod, scoring)]
    peak_pods: list[tuple[str, Shares, int]] = []
    for step in range(max((peak - steady for _, _, steady, peak in replicas), default=0)):
        for model, shares, steady, peak in replicas:
            if step < peak - steady:
                peak_pods.append((model, shares, order))
                order += 1
    pending += peak_pods
    # Pods that fit nowhere make the autoscaler add nodes (its estimate), then the scheduler places them all.
    unplaced = [pod for pod in pending if not any(node.fits(pod[1]) for node in nodes)]
    nodes += [Node() for _ in range(_estimate_new_nodes(unplaced))]
    for pod in pending:
        while not _schedule(nodes, pod, scoring):
            nodes.append(Node())
    # Back to steady: each model deletes its extra pods from the node with most of its pods, newest first.
    for model, _, steady, peak in replicas:
        for _ in range(peak - steady):
            where = max(
                (index for index, node in enumerate(nodes) if any(pod[0] == model for pod in node.pods)),
                key=lambda index: (
                    sum(pod[0] == model for pod in nodes[index].pods),
                    max(pod[2] for pod in nodes[index].pods if pod[0] == model),
                ),
            )
            newest = max((pod for pod in nodes[where].pods if pod[0] == model), key=lambda pod: pod[2])
            nodes[where].pods.remove(newest)
    # Scale-down: least-used candidate first; a node goes when its pods fit on the others.
    changed = True
    while changed and len(nodes) > min_nodes:
        changed = False
        candidates = sorted(
            (index for index, node in enumerate(nodes) if node.utilisation(gpu) < threshold - EPSILON),
            key=lambda index: (nodes[index].utilisation(gpu), index),
        )
        for index in candidates:
            others = [Node(list(node.pods)) for position, node in enumerate(nodes) if position != index]
            if all(_first_fit(others, pod) for pod in nodes[index].pods):
                nodes = others
                changed = True
                break
    return len(nodes)


def _first_fit(nodes: list[Node], pod: tuple[str, Shares, int]) -> bool:
    for node in nodes:
        if node.fits(pod[1]):
            node.pods.append(pod)
            return True
    return False


def pool_replicas(blueprint: Blueprint, pool: NodePool, catalog: Catalog) -> list[tuple[str, Shares, int, int]]:
    """(model, shares of the pool's node, steady, peak) per member model, as the planner sized them."""
    instance = catalog.instances[pool.instance_types[0]]
    deployments = {deployment.name: deployment for deployment in blueprint.models}
    rows = []
    for model, steady, peak in pool.replicas:
        deployment = deployments[model]
        size = size_replica(deployment.spec, blueprint.config, catalog, deployment.source, deployment.measured_gpu_memory_gib)
        rows.append((model, resource_shares(size, instance), steady, peak))
    return rows


@dataclass(frozen=True, slots=True)
class SpreadResult:
    """Steady node-pool cost the planner assumes, and what each scheduler/threshold setting keeps after a peak."""

    planned_usd: float
    kept_usd: dict[str, float]


SETTINGS = {
    "default (LeastAllocated, threshold 0.5)": ("least", DEFAULT_THRESHOLD),
    f"ours (LeastAllocated, threshold {SCALE_DOWN_UTILIZATION_THRESHOLD:g})": ("least", SCALE_DOWN_UTILIZATION_THRESHOLD),
    f"bin-packing scheduler (MostAllocated, threshold {SCALE_DOWN_UTILIZATION_THRESHOLD:g})": (
        "most",
        SCALE_DOWN_UTILIZATION_THRESHOLD,
    ),
}


def measure(blueprint: Blueprint, catalog: Catalog) -> SpreadResult:
    """Planner steady cost of the fleet's pools and, per setting, the steady cost of the nodes the cluster keeps."""
    hours = catalog.hours_per_month
    planned = 0.0
    kept = {name: 0.0 for name in SETTINGS}
    for pool in blueprint.node_pools:
        if pool.fallback_for is not None:
            continue
        replicas = pool_replicas(blueprint, pool, catalog)
        planned += pool.min_size * pool.hourly_usd * hours
        for name, (scoring, threshold) in SETTINGS.items():
            kept[name] += simulate_pool(replicas, pool.min_size, scoring, threshold, pool.is_gpu) * pool.hourly_usd * hours
    return SpreadResult(planned, kept)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--models", type=int, default=60)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--stack", action="append", help="stacks to run (default: dev, staging, prod)")
    args = parser.parse_args(argv)
    loaded = [LoadedSpec(ModelSpec.model_validate(document), "fleet.yaml") for document in generate_fleet(args.models, seed=args.seed)]
    print(f"{args.models} generated models, seed {args.seed}: steady node-pool cost after a peak, against the planner's packing")
    for stack in args.stack or ["dev", "staging", "prod"]:
        config = load_environment(ROOT / "stacks", stack)
        blueprint = compile_blueprint(loaded, config)
        result = measure(blueprint, load_catalog(config.region, config.price_overrides, config.spot_discount_overrides))
        print(f"{stack}: planner steady ${result.planned_usd:,.0f}/month")
        for name, usd in result.kept_usd.items():
            ratio = usd / result.planned_usd if result.planned_usd else 1.0
            print(f"  {name:<58} ${usd:>10,.0f}/month  {ratio:.3f}x  (+${usd - result.planned_usd:,.0f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
