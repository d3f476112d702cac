"""Placement against the exact optimum: a MILP (scipy's HiGHS) over the same inputs, on small generated fleets.

For each fleet (benchmarks/fleet.py, 5-30 models, seeds 1-7, stacks dev / staging / prod)
`inferstack.placement.place` runs as the plan runs it, and an exact solver is given the
same problem placement solved:

- the same replica sizes (inferstack.sizing: GPUs, GPU memory with headroom, vCPU, memory);
- the same steady replicas per model and capacity type (placement's spot / on-demand
  split, taken as given);
- the same candidate node classes per replica: the environment's size classes of its GPU
  type (`inferstack.pool_identity.candidate_classes`: equal-capacity instance types, all
  allowed and fitting one replica), priced at the class's cheapest type for the capacity
  type, a spot replica only on classes whose spot pool passes spot diversification
  (`inferstack.placement.spot_class_allowed`);
- the same packing rules per node: exclusive replicas hold whole GPUs; shared replicas a
  time-slicing slot and their sized GPU memory on one GPU; vCPU and memory after the node
  overhead;
- the structure a cluster imposes: a node is one instance type of one class, carries one
  capacity type, and time-slices its GPUs or not (shared and exclusive replicas never share
  a node, as they never share a node group). It may mix any classes and any models
  otherwise: it is not bound by pool identity.

The MILP (per group of GPU type, sharing and capacity type; groups are independent):
binary y[c,j] (node j of class c is bought, j < an upper bound per class: the nodes all the
group's replicas that fit c would need there, and at most what placement's cost buys),
integer x[m,c,j(,g)] (replicas of model m on that node (on its GPU g, when shared)); minimise
the steady hourly price of the nodes bought. Placement / optimum is the steady cost ratio;
a group the solver could not close within `--time-limit` counts against its dual bound
(so the ratio is never flattered).

    uv run python benchmarks/placement_optimum.py [--sizes 5,10,15,20,25,30] [--seeds 1-7] [--stacks dev,staging,prod] [--record]

`--record` writes benchmarks/results/placement_optimum.json, which README.md's generated
placement-optimum section is rendered from (inferstack/docs_sections.py).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from scipy.optimize import Bounds, LinearConstraint, milp  # noqa: E402
from scipy.sparse import coo_array  # noqa: E402

from benchmarks.fleet import generate_fleet  # noqa: E402
from inferstack.blueprint import CapacityType  # noqa: E402
from inferstack.placement import (
    Placement,
    PlacementRequest,
    pack_nodes,
    place,
    spot_classes,
    spot_diversification_enforced,
)  # noqa: E402
from inferstack.pool_identity import SizeClass, candidate_classes, size_classes  # noqa: E402
from inferstack.pricing.catalog import Catalog, load_catalog  # noqa: E402
from inferstack.sizing import ReplicaSize, usable_cpu, usable_memory_gib  # noqa: E402
from inferstack.spec import ModelSpec, load_environment  # noqa: E402
from inferstack.spec.environment import EnvironmentConfig  # noqa: E402
from inferstack.spec.resolve import resolve_for_environment  # noqa: E402

GroupKey = tuple[str, bool, CapacityType]
_EPSILON = 1e-9


@dataclass(frozen=True, slots=True)
class GroupResult:
    """Placement's and the solver's steady hourly cost for one group (GPU type, sharing, capacity type)."""

    key: GroupKey
    placement_usd_hour: float
    optimum_usd_hour: float
    bound_usd_hour: float
    proven: bool


@dataclass(frozen=True, slots=True)
class FleetResult:
    """One fleet in one stack: placement's steady hourly cost and the exact optimum."""

    stack: str
    models: int
    seed: int
    placement_usd_hour: float
    optimum_usd_hour: float
    """Best solution found (the optimum where every group was proven)."""
    bound_usd_hour: float
    """Dual bound: no placement can cost less."""
    groups: tuple[GroupResult, ...]

    @property
    def ratio(self) -> float:
        """Placement / optimum, against the dual bound (1.0 for an empty fleet)."""
        return self.placement_usd_hour / self.bound_usd_hour if self.bound_usd_hour > _EPSILON else 1.0


def requests_for(models: int, seed: int, config: EnvironmentConfig) -> list[PlacementRequest]:
    """The generated fleet's models that run in this environment, as the compiler hands them to placement."""
    requests = []
    for document in generate_fleet(models, seed):
        source = f"fleet/{document['name']}.yaml"
        spec = resolve_for_environment(ModelSpec.model_validate(document), config.environment, source)
        if spec is not None:
            requests.append(PlacementRequest(spec, source))
    return requests


def _demands(placement: Placement) -> tuple[dict[GroupKey, dict[str, int]], dict[GroupKey, float]]:
    """Steady replicas per group and model, and placement's steady hourly cost per group."""
    demand: dict[GroupKey, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    cost: dict[GroupKey, float] = defaultdict(float)
    for pool in placement.node_pools:
        models = [model for model, _, _ in pool.replicas]
        shared = bool(models) and placement.sizes[models[0]].shared
        key = (pool.gpu_type, shared, pool.capacity_type)
        cost[key] += pool.min_size * pool.hourly_usd
        for model, steady, _ in pool.replicas:
            if steady:
                demand[key][model] += steady
    return demand, cost


def _classes_for(
    size: ReplicaSize,
    capacity: CapacityType,
    required: bool,
    catalog: Catalog,
    config: EnvironmentConfig,
    cache: dict[str, list[SizeClass]],
) -> list[SizeClass]:
    if size.gpu_type not in cache:
        cache[size.gpu_type] = size_classes(catalog, config, size.gpu_type)
    found = candidate_classes(size, catalog, config, cache[size.gpu_type])
    if capacity == "SPOT":
        found = spot_classes(found, config, required, spot_diversification_enforced(config))
    return found


class _Model:
    """Variables and constraints of one group's MILP, built column by column."""

    def __init__(self) -> None:
        self.cost: list[float] = []
        self.upper: list[float] = []
        self.rows: list[int] = []
        self.cols: list[int] = []
        self.values: list[float] = []
        self.low: list[float] = []
        self.high: list[float] = []

    def variable(self, cost: float, upper: float) -> int:
        self.cost.append(cost)
        self.upper.append(upper)
        return len(self.cost) - 1

    def constraint(self, terms: list[tuple[int, float]], low: float, high: float) -> None:
        row = len(self.low)
        for column, value in terms:
            self.rows.append(row)
            self.cols.append(column)
            self.values.append(value)
        self.low.append(low)
        self.high.append(high)

    def solve(self, time_limit: float) -> tuple[float, float, bool]:
        """(best objective, dual bound, proven optimal)."""
        count = len(self.cost)
        matrix = coo_array((self.values, (self.rows, self.cols)), shape=(len(self.low), count)).tocsr()
        # scipy documents lb/ub as array_like; its inline annotations say float, hence Any.
        lower_bounds: Any = np.zeros(count)
        upper_bounds: Any = np.array(self.upper)
        row_low: Any = np.array(self.low)
        row_high: Any = np.array(self.high)
        result = milp(
            c=np.array(self.cost),
            integrality=np.ones(count),
            bounds=Bounds(lower_bounds, upper_bounds),
            constraints=LinearConstraint(matrix, row_low, row_high),
            options={"time_limit": time_limit, "mip_rel_gap": 1e-6, "disp": False},
        )
        if result.x is None:
            raise RuntimeError(f"the MILP found no solution: {result.message}")
        bound = getattr(result, "mip_dual_bound", None)
        bound = float(result.fun) if bound is None or not math.isfinite(bound) else float(bound)
        return float(result.fun), min(bound, float(result.fun)), result.status == 0


def solve_group(
    demand: dict[str, int],
    sizes: dict[str, ReplicaSize],
    classes: dict[str, list[SizeClass]],
    capacity: CapacityType,
    ceiling_usd_hour: float,
    time_limit: float = 30.0,
) -> tuple[float, float, bool]:
    """Cheapest steady hourly cost of nodes holding `demand` (model -> replicas); (best, dual bound, proven).

    `classes`: the candidate classes of each model; `ceiling_usd_hour`: a feasible cost
    (placement's), which bounds how many nodes of each class are worth considering.
    """
    models = sorted(model for model, count in demand.items() if count > 0)
    if not models:
        return 0.0, 0.0, True
    union: dict[str, SizeClass] = {}
    for model in models:
        for item in classes[model]:
            union.setdefault(item.shape, item)
    problem = _Model()
    placed: dict[str, list[int]] = defaultdict(list)
    for shape in sorted(union):
        size_class = union[shape]
        node = size_class.primary
        price = node.price(capacity)
        members = [model for model in models if any(item.shape == shape for item in classes[model])]
        useful = pack_nodes(node, [(sizes[model], demand[model]) for model in members])
        limit = min(useful, math.floor(ceiling_usd_hour / price + 1e-6)) if price > 0 else useful
        previous: int | None = None
        for _ in range(limit):
            opened = problem.variable(price, 1)
            if previous is not None:
                problem.constraint([(previous, 1), (opened, -1)], 0, np.inf)  # symmetry: node j+1 only after node j
            previous = opened
            cpu: list[tuple[int, float]] = []
            memory: list[tuple[int, float]] = []
            gpus: list[tuple[int, float]] = []
            per_gpu: dict[int, tuple[list[tuple[int, float]], list[tuple[int, float]]]] = defaultdict(lambda: ([], []))
            for model in members:
                size = sizes[model]
                if size.shared:
                    for gpu in range(node.gpus):
                        column = problem.variable(0.0, demand[model])
                        placed[model].append(column)
                        cpu.append((column, size.cpu))
                        memory.append((column, size.memory_gib))
                        per_gpu[gpu][0].append((column, 1.0))
                        per_gpu[gpu][1].append((column, size.gpu_memory_gib))
                else:
                    column = problem.variable(0.0, demand[model])
                    placed[model].append(column)
                    cpu.append((column, size.cpu))
                    memory.append((column, size.memory_gib))
                    if size.gpus:
                        gpus.append((column, size.gpus))
            problem.constraint([*cpu, (opened, -(usable_cpu(node) + _EPSILON))], -np.inf, 0)
            problem.constraint([*memory, (opened, -(usable_memory_gib(node) + _EPSILON))], -np.inf, 0)
            if gpus:
                problem.constraint([*gpus, (opened, -node.gpus)], -np.inf, 0)
            slots = sizes[members[0]].slots_per_gpu
            for slot_terms, memory_terms in per_gpu.values():
                problem.constraint([*slot_terms, (opened, -slots)], -np.inf, 0)
                problem.constraint([*memory_terms, (opened, -(node.gpu_memory_per_gpu_gib + _EPSILON))], -np.inf, 0)
    for model in models:
        problem.constraint([(column, 1.0) for column in placed[model]], demand[model], demand[model])
    return problem.solve(time_limit)


def compare(
    requests: list[PlacementRequest], config: EnvironmentConfig, catalog: Catalog, time_limit: float = 30.0
) -> tuple[float, float, float, tuple[GroupResult, ...]]:
    """(placement, best MILP solution, MILP dual bound) steady USD/hour for these requests, and per group."""
    placement = place(requests, config, catalog)
    demand, cost = _demands(placement)
    cache: dict[str, list[SizeClass]] = {}
    required = {request.spec.name for request in requests if request.spec.capacity.spot == "required"}
    results = []
    for key in sorted(set(demand) | set(cost)):
        gpu_type, shared, capacity = key
        members = demand.get(key, {})
        classes = {model: _classes_for(placement.sizes[model], capacity, model in required, catalog, config, cache) for model in members}
        best, bound, proven = solve_group(members, placement.sizes, classes, capacity, cost[key] + 1e-6, time_limit)
        results.append(GroupResult(key, cost[key], best, bound, proven))
    return (
        sum(item.placement_usd_hour for item in results),
        sum(item.optimum_usd_hour for item in results),
        sum(item.bound_usd_hour for item in results),
        tuple(results),
    )


def run(sizes: list[int], seeds: list[int], stacks: list[str], time_limit: float, verbose: bool) -> list[FleetResult]:
    """Compare placement with the optimum on every fleet; print one line per fleet when verbose."""
    results: list[FleetResult] = []
    for stack in stacks:
        config = load_environment(ROOT / "stacks", stack)
        catalog = load_catalog(config.region, config.price_overrides, config.spot_discount_overrides)
        for seed in seeds:
            for models in sizes:
                requests = requests_for(models, seed, config)
                placed, best, bound, groups = compare(requests, config, catalog, time_limit)
                result = FleetResult(stack, models, seed, placed, best, bound, groups)
                results.append(result)
                if verbose:
                    worst = max(groups, key=lambda item: item.placement_usd_hour - item.bound_usd_hour, default=None)
                    where = (
                        f"  worst group {worst.key[0]}{'-shared' if worst.key[1] else ''}-{worst.key[2].lower()} "
                        f"{worst.placement_usd_hour:.3f} vs {worst.bound_usd_hour:.3f} $/h"
                        if worst is not None and worst.placement_usd_hour > worst.bound_usd_hour + 1e-6
                        else ""
                    )
                    proven = "" if all(item.proven for item in groups) else "  (not all groups proven: dual bound)"
                    print(f"{stack:8} seed {seed} {models:3d} models  placement/optimum {result.ratio:.4f}{where}{proven}", flush=True)
    return results


def summary(results: list[FleetResult]) -> dict[str, float]:
    """Worst and median placement/optimum, count, and the total overspend share."""
    ratios = [item.ratio for item in results]
    placed = sum(item.placement_usd_hour for item in results)
    bound = sum(item.bound_usd_hour for item in results)
    return {
        "fleets": len(results),
        "worst": max(ratios),
        "median": statistics.median(ratios),
        "above_1_02": sum(1 for ratio in ratios if ratio > 1.02 + 1e-9),
        "total_ratio": placed / bound if bound else 1.0,
        "proven": sum(1 for item in results if all(group.proven for group in item.groups)),
    }


def _range(text: str) -> list[int]:
    if "-" in text:
        low, high = text.split("-", 1)
        return list(range(int(low), int(high) + 1))
    return [int(part) for part in text.split(",")]


def main() -> None:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", default="5,10,15,20,25,30", help="Fleet sizes (models), comma-separated.")
    parser.add_argument("--seeds", default="1-7", help="Seeds: a range (1-7) or a list (1,3).")
    parser.add_argument("--stacks", default="dev,staging,prod")
    parser.add_argument("--time-limit", type=float, default=30.0, help="Seconds per group for HiGHS.")
    parser.add_argument("--quiet", action="store_true")
    parser.add_argument("--record", action="store_true", help="write benchmarks/results/placement_optimum.json")
    arguments = parser.parse_args()
    start = time.perf_counter()
    results = run(
        [int(part) for part in arguments.sizes.split(",")],
        _range(arguments.seeds),
        arguments.stacks.split(","),
        arguments.time_limit,
        not arguments.quiet,
    )
    figures = summary(results)
    print(
        f"\n{figures['fleets']} fleets: placement/optimum worst {figures['worst']:.4f}, median {figures['median']:.4f}, "
        f"{figures['above_1_02']} above 1.02, all fleets together {figures['total_ratio']:.4f}; "
        f"{figures['proven']} fleets solved to proven optimality ({time.perf_counter() - start:.0f} s)"
    )
    if arguments.record:
        worst = max(results, key=lambda item: item.ratio)
        record = {
            "date": time.strftime("%Y-%m-%d"),
            "machine": f"a {os.cpu_count()}-core {platform.machine()} machine",
            "command": (
                f"uv run python benchmarks/placement_optimum.py --sizes {arguments.sizes} --seeds {arguments.seeds} "
                f"--stacks {arguments.stacks} --time-limit {arguments.time_limit:g} --record"
            ),
            "fleets": figures["fleets"],
            "worst": round(figures["worst"], 4),
            "median": round(figures["median"], 4),
            "above_1_02": figures["above_1_02"],
            "total_ratio": round(figures["total_ratio"], 4),
            "proven": figures["proven"],
            "worst_fleet": f"{worst.stack}, {worst.models} models, seed {worst.seed}",
        }
        path = ROOT / "benchmarks" / "results" / "placement_optimum.json"
        path.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
