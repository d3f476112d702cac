"""Monthly cost of an environment's Blueprint: steady, peak, naive and a lower bound.

Definitions (USD per month = hourly price x `hours_per_month` of the catalogue, 730):

- **monthly_usd (steady)**: every node pool at `min_size` nodes (the nodes the
  min replicas need), priced at the pool's first instance type, spot-discounted
  on spot pools. **peak_monthly_usd**: every pool at the nodes its peak allocation
  needs (`NodePool.peak_nodes`: `max_size`, less EKS's floor of one node on a
  fit-class pool no replica was allocated to), except on-demand
  fallback pools (min size 0), which stand in for their spot pool rather than add
  to it. **spot_fallback_extra_monthly_usd**: what the steady figure would rise by
  if every thinly diversified spot pool ran its min nodes on its on-demand fallback
  (no spot capacity in any of its capacity pools).
- **by_model**: each pool's cost split over its models by replica count times
  the replica's dominant share of the pool's node (largest of GPU slots, GPU
  memory, vCPU, memory), so per-model figures add up to the pool and the total.
  **by_team** adds up its models; **by_pool** is per pool.
- **naive_monthly_usd** (the CLI contract's figure): every replica on its own
  on-demand node of the cheapest allowed instance type that fits one replica,
  no sharing, no spot, at min replicas (peak: at max replicas).
- **lower_bound_monthly_usd**: a true lower bound on the cost of ANY placement of
  the same replicas that respects the specs (GPU type, whole GPUs for exclusive
  replicas, time-slicing slots and GPU memory for shared ones, vCPU and memory
  after node overhead, allowed families) and the capacity split (spot / on-demand
  per policy). For weights lambda >= 0 summing to 1 over the resources (GPU
  slots, GPU memory, vCPU, memory), a replica r on node type T uses a share
  s_k(r, T) of resource k, and the replicas on one node use at most 1 of each, so
  sum_r sum_k lambda_k s_k(r, T) <= 1 and the node's price covers
  sum_r price_T * sum_k lambda_k s_k(r, T). Each replica therefore costs at least
  min over its allowed T of that amount; summing over replicas bounds any
  placement. Node classes (GPU type, time-sliced or not, spot or on-demand) never
  share a node, so each class takes its own best lambda from a grid and the class
  bounds add up. With
  lambda = GPU memory only, this is "total GPU-memory demand at the cheapest
  allowed price per GPU-GiB-hour" for GPU models, which is reported as well
  (`gpu_memory_bound_monthly_usd`, weaker, CPU models there priced at the
  cheapest per-vCPU or per-GiB rate, whichever bound is larger).
- **expected_monthly_usd**: what the node pools cost on average over a month when
  each model runs at its max replicas for its `cost.peak_hours_fraction` of the
  time (default 0.25) and at min replicas otherwise: per model, steady +
  fraction x (peak - steady) of its shares; per pool the sum over its models.
- **items** (inferstack/cost_items.py): everything else the stack pays: node root
  volumes (EBS, per node, size and type from the launch template), the EKS control
  plane by support window, the system nodes, NAT gateways and their data, VPC
  endpoints, the Gateway's load balancer, CloudWatch logs, Container Insights and
  cross-AZ traffic, each steady / expected / peak. **platform_monthly_usd** is
  their steady sum; **total_monthly_usd** adds it to the steady node pools,
  **total_expected_monthly_usd** and **total_peak_monthly_usd** likewise. Budget
  rules judge the expected total (mandatory) and the peak total (advisory).
- **savings_plan** (inferstack/savings_plans.py): Savings Plan options on the steady
  on-demand base and the recommended one's monthly saving.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from inferstack.blueprint import Blueprint, ModelDeployment, NodePool
from inferstack.cost_items import CostItem, NodeCounts, platform_items, root_volume_gib, root_volume_usd_month
from inferstack.placement import capacity_split, rollout_replica_bounds, spot_diversifiable
from inferstack.pool_identity import choose_size_class
from inferstack.pricing.catalog import Catalog, InstanceType, load_catalog
from inferstack.render.karpenter import CPU_ROOT_VOLUME_GIB, GPU_ROOT_VOLUME_GIB, ROOT_VOLUME_TYPE
from inferstack.savings_plans import SavingsPlanAdvice, advise
from inferstack.spec.environment import EnvironmentConfig
from inferstack.sizing import ReplicaSize, resource_shares, size_replica, usable_cpu, usable_memory_gib

_LAMBDA_STEPS = 4


@dataclass(frozen=True, slots=True)
class ModelCost:
    """One model's share of the environment's cost, with its naive figure and lower bound."""

    team: str
    monthly_usd: float
    peak_monthly_usd: float
    naive_monthly_usd: float
    lower_bound_monthly_usd: float
    expected_monthly_usd: float = 0.0
    peak_hours_fraction: float = 0.25


@dataclass(frozen=True, slots=True)
class PoolCost:
    """One node pool's cost at min and max size."""

    instance_type: str
    capacity_type: str
    hourly_usd: float
    min_nodes: int
    max_nodes: int
    monthly_usd: float
    peak_monthly_usd: float
    models: tuple[str, ...]
    fallback_for: str | None = None
    """The spot pool an on-demand fallback pool stands in for (its peak is not in the totals)."""
    expected_monthly_usd: float = 0.0
    root_volume_gib: int = 0
    root_volume_type: str = ROOT_VOLUME_TYPE
    root_volumes_monthly_usd: float = 0.0
    """Root volumes of the pool's nodes at min size (at max size: root_volumes_peak_monthly_usd)."""
    root_volumes_peak_monthly_usd: float = 0.0


@dataclass(frozen=True, slots=True)
class TeamCost:
    """A team's models added up, against its budget when the stack sets one."""

    monthly_usd: float
    peak_monthly_usd: float
    budget_usd: float | None
    expected_monthly_usd: float = 0.0

    @property
    def over_budget(self) -> bool:
        """Whether the expected cost (steady when it is higher) exceeds the team's budget."""
        return self.budget_usd is not None and max(self.expected_monthly_usd, self.monthly_usd) > self.budget_usd


@dataclass(frozen=True, slots=True)
class CostEstimate:
    """The monthly cost of one environment, per model, team and pool, with reference figures."""

    environment: str
    region: str
    currency: str
    as_of: str
    source: str
    prices_exact_for_region: bool
    hours_per_month: float
    monthly_usd: float
    peak_monthly_usd: float
    naive_monthly_usd: float
    naive_peak_monthly_usd: float
    lower_bound_monthly_usd: float
    lower_bound_peak_monthly_usd: float
    gpu_memory_bound_monthly_usd: float
    platform_monthly_usd: float
    budget_usd: float
    spot_fallback_extra_monthly_usd: float
    by_model: dict[str, ModelCost]
    by_team: dict[str, TeamCost]
    by_pool: dict[str, PoolCost]
    expected_monthly_usd: float = 0.0
    items: dict[str, CostItem] | None = None
    savings_plan: SavingsPlanAdvice | None = None

    @property
    def total_monthly_usd(self) -> float:
        """Steady node pools plus every other item at steady state."""
        return self.monthly_usd + self.platform_monthly_usd

    @property
    def platform_expected_monthly_usd(self) -> float:
        """The items besides the node pools' instance hours, expected."""
        return sum(item.expected_monthly_usd for item in (self.items or {}).values())

    @property
    def platform_peak_monthly_usd(self) -> float:
        """The items besides the node pools' instance hours, at peak."""
        return sum(item.peak_monthly_usd for item in (self.items or {}).values())

    @property
    def total_expected_monthly_usd(self) -> float:
        """Expected node pools plus every other item, expected: the figure budgets are checked against."""
        return self.expected_monthly_usd + self.platform_expected_monthly_usd

    @property
    def total_peak_monthly_usd(self) -> float:
        """Peak node pools plus every other item at peak (judged by the advisory peak-budget rule)."""
        return self.peak_monthly_usd + self.platform_peak_monthly_usd

    @property
    def over_budget(self) -> bool:
        """Whether the expected total exceeds the environment's budget."""
        return max(self.total_expected_monthly_usd, self.total_monthly_usd) > self.budget_usd

    def to_json(self) -> dict[str, Any]:
        """The cost.json document of the CLI contract (plus by_team, peak, bounds, budget, as-of)."""
        return {
            "currency": self.currency,
            "environment": self.environment,
            "region": self.region,
            "as_of": self.as_of,
            "source": self.source,
            "prices_exact_for_region": self.prices_exact_for_region,
            "hours_per_month": self.hours_per_month,
            "monthly_usd": _usd(self.monthly_usd),
            "peak_monthly_usd": _usd(self.peak_monthly_usd),
            "naive_monthly_usd": _usd(self.naive_monthly_usd),
            "naive_peak_monthly_usd": _usd(self.naive_peak_monthly_usd),
            "lower_bound_monthly_usd": _usd(self.lower_bound_monthly_usd),
            "lower_bound_peak_monthly_usd": _usd(self.lower_bound_peak_monthly_usd),
            "gpu_memory_bound_monthly_usd": _usd(self.gpu_memory_bound_monthly_usd),
            "platform_monthly_usd": _usd(self.platform_monthly_usd),
            "spot_fallback_extra_monthly_usd": _usd(self.spot_fallback_extra_monthly_usd),
            "total_monthly_usd": _usd(self.total_monthly_usd),
            "expected_monthly_usd": _usd(self.expected_monthly_usd),
            "platform_expected_monthly_usd": _usd(self.platform_expected_monthly_usd),
            "platform_peak_monthly_usd": _usd(self.platform_peak_monthly_usd),
            "total_expected_monthly_usd": _usd(self.total_expected_monthly_usd),
            "total_peak_monthly_usd": _usd(self.total_peak_monthly_usd),
            "items": {name: item.to_json() for name, item in (self.items or {}).items()},
            "savings_plan": self.savings_plan.to_json() if self.savings_plan is not None else None,
            "budget": {
                "monthly_usd": _usd(self.budget_usd),
                "judged": "total_expected_monthly_usd",
                "over_budget": self.over_budget,
                "peak_over_budget": self.total_peak_monthly_usd > self.budget_usd,
                "teams": {
                    team: {
                        "budget_usd": None if cost.budget_usd is None else _usd(cost.budget_usd),
                        "monthly_usd": _usd(cost.monthly_usd),
                        "expected_monthly_usd": _usd(cost.expected_monthly_usd),
                        "over_budget": cost.over_budget,
                    }
                    for team, cost in self.by_team.items()
                },
            },
            "by_model": {
                name: {
                    "team": cost.team,
                    "monthly_usd": _usd(cost.monthly_usd),
                    "expected_monthly_usd": _usd(cost.expected_monthly_usd),
                    "peak_monthly_usd": _usd(cost.peak_monthly_usd),
                    "peak_hours_fraction": cost.peak_hours_fraction,
                    "naive_monthly_usd": _usd(cost.naive_monthly_usd),
                    "lower_bound_monthly_usd": _usd(cost.lower_bound_monthly_usd),
                }
                for name, cost in self.by_model.items()
            },
            "by_team": {
                team: {
                    "monthly_usd": _usd(cost.monthly_usd),
                    "expected_monthly_usd": _usd(cost.expected_monthly_usd),
                    "peak_monthly_usd": _usd(cost.peak_monthly_usd),
                }
                for team, cost in self.by_team.items()
            },
            "by_pool": {
                name: {
                    "instance_type": cost.instance_type,
                    "capacity_type": cost.capacity_type,
                    "hourly_usd": round(cost.hourly_usd, 5),
                    "min_nodes": cost.min_nodes,
                    "max_nodes": cost.max_nodes,
                    "monthly_usd": _usd(cost.monthly_usd),
                    "expected_monthly_usd": _usd(cost.expected_monthly_usd),
                    "peak_monthly_usd": _usd(cost.peak_monthly_usd),
                    "root_volume": f"{cost.root_volume_gib} GiB {cost.root_volume_type}",
                    "root_volumes_monthly_usd": _usd(cost.root_volumes_monthly_usd),
                    "root_volumes_peak_monthly_usd": _usd(cost.root_volumes_peak_monthly_usd),
                    "models": list(cost.models),
                    **({"fallback_for": cost.fallback_for} if cost.fallback_for else {}),
                }
                for name, cost in self.by_pool.items()
            },
        }


def _usd(value: float) -> float:
    return round(value, 2)


def _lambdas() -> list[tuple[float, float, float, float]]:
    steps = _LAMBDA_STEPS
    grid: list[tuple[float, float, float, float]] = []
    for a, b, c in itertools.product(range(steps + 1), repeat=3):
        if a + b + c <= steps:
            grid.append((a / steps, b / steps, c / steps, (steps - a - b - c) / steps))
    return grid


def _sizes(blueprint: Blueprint, catalog: Catalog) -> dict[str, ReplicaSize]:
    return {
        deployment.name: size_replica(
            deployment.spec, blueprint.config, catalog, deployment.source, deployment.measured_gpu_memory_gib
        )
        for deployment in blueprint.models
    }


def _replica_parts(
    deployment: ModelDeployment, blueprint: Blueprint, size: ReplicaSize, catalog: Catalog
) -> list[tuple[str, int, int]]:
    diversifiable = spot_diversifiable(choose_size_class(size, catalog, blueprint.config), blueprint.config)
    return list(capacity_split(deployment.spec, blueprint.config, diversifiable))


def _lower_bounds(
    blueprint: Blueprint, sizes: dict[str, ReplicaSize], catalog: Catalog
) -> tuple[dict[str, float], float, float]:
    """Per-model steady lower bound, total steady bound and total peak bound (USD/hour).

    Node classes (GPU type, time-sliced or not, capacity type) never share a node, so
    each class takes its own best weights and the class bounds add up.
    """
    # class -> [(model, steady, peak, {lambda index: cheapest weighted price})]
    grid = _lambdas()
    classes: dict[tuple[str, bool, str], list[tuple[str, int, int, list[float]]]] = {}
    # Many models have the same size: price each distinct (price, shares) candidate list once.
    cheapest_by_costs: dict[tuple[tuple[float, float, float, float, float], ...], list[float]] = {}
    for deployment in blueprint.models:
        size = sizes[deployment.name]
        shares = [(item, resource_shares(size, item)) for item in size.candidates]
        for capacity, steady, peak in _replica_parts(deployment, blueprint, size, catalog):
            costs = tuple((item.price(capacity), *share) for item, share in shares)
            cheapest = cheapest_by_costs.get(costs)
            if cheapest is None:
                cheapest = [
                    min(price * (w0 * s0 + w1 * s1 + w2 * s2 + w3 * s3) for price, s0, s1, s2, s3 in costs)
                    for w0, w1, w2, w3 in grid
                ]
                cheapest_by_costs[costs] = cheapest
            classes.setdefault((size.gpu_type, size.shared, capacity), []).append((deployment.name, steady, peak, cheapest))
    per_model = {deployment.name: 0.0 for deployment in blueprint.models}
    steady_total = peak_total = 0.0
    for key in sorted(classes):
        members = classes[key]
        steady_by_lambda = [sum(steady * cheapest[index] for _, steady, _, cheapest in members) for index in range(len(grid))]
        best = max(range(len(grid)), key=lambda index: (steady_by_lambda[index], -index))
        steady_total += steady_by_lambda[best]
        peak_total += max(sum(peak * cheapest[index] for _, _, peak, cheapest in members) for index in range(len(grid)))
        for model, steady, _, cheapest in members:
            per_model[model] += steady * cheapest[best]
    return per_model, steady_total, peak_total


def _gpu_memory_bound(blueprint: Blueprint, sizes: dict[str, ReplicaSize], catalog: Catalog) -> float:
    """The issue's literal bound: GPU GiB demand x cheapest allowed USD per GPU-GiB-hour (+ CPU models)."""
    gpu_total = 0.0
    cpu_by_vcpu = 0.0
    cpu_by_memory = 0.0
    for deployment in blueprint.models:
        size = sizes[deployment.name]
        for capacity, steady, _ in _replica_parts(deployment, blueprint, size, catalog):
            if size.is_gpu:
                per_gib = min(item.price(capacity) / item.gpu_memory_gib for item in size.candidates)
                gpu_total += steady * size.gpu_memory_gib * per_gib
            else:
                cpu_by_vcpu += steady * size.cpu * min(item.price(capacity) / usable_cpu(item) for item in size.candidates)
                cpu_by_memory += steady * size.memory_gib * min(
                    item.price(capacity) / usable_memory_gib(item) for item in size.candidates
                )
    return gpu_total + max(cpu_by_vcpu, cpu_by_memory)


def _naive(deployment: ModelDeployment, size: ReplicaSize, config: EnvironmentConfig) -> tuple[float, float]:
    """Every replica (of every InferenceService its rollout runs) on its own cheapest on-demand node."""
    cheapest = min(item.on_demand_usd_hour for item in size.candidates)
    low, high = rollout_replica_bounds(deployment.spec, config)
    return low * cheapest, high * cheapest


def _split_pool(pool: NodePool, catalog: Catalog, sizes: dict[str, ReplicaSize], peak: bool) -> dict[str, float]:
    """Each member model's share of the pool's nodes (fractions adding up to 1, or all 0)."""
    instance = catalog.instances[pool.instance_types[0]]
    weights = {
        model: (peak_count if peak else steady_count) * max(resource_shares(sizes[model], instance))
        for model, steady_count, peak_count in pool.replicas
    }
    total = sum(weights.values())
    if peak and not total:
        # A pool that runs nodes at peak only for its steady replicas (the peak allocation put the burst elsewhere).
        return _split_pool(pool, catalog, sizes, peak=False)
    return {model: weight / total if total else 0.0 for model, weight in weights.items()}


def estimate(blueprint: Blueprint, catalog: Catalog | None = None) -> CostEstimate:
    """Price the Blueprint: steady and peak cost per model, team and pool, naive figure and lower bound."""
    config = blueprint.config
    catalog = catalog or load_catalog(config.region, config.price_overrides, config.spot_discount_overrides)
    hours = catalog.hours_per_month
    sizes = _sizes(blueprint, catalog)

    fractions = {deployment.name: deployment.spec.cost.peak_hours_fraction for deployment in blueprint.models}
    by_pool: dict[str, PoolCost] = {}
    model_steady = {deployment.name: 0.0 for deployment in blueprint.models}
    model_peak = dict(model_steady)
    fallback_extra = 0.0
    nodes_steady = nodes_expected = nodes_peak = 0.0
    volumes_steady = volumes_expected = volumes_peak = 0.0
    for pool in blueprint.node_pools:
        steady = pool.min_size * pool.hourly_usd * hours
        peak = pool.peak_nodes * pool.hourly_usd * hours
        volume_gib = root_volume_gib(pool)
        per_node_volume = root_volume_usd_month(volume_gib, catalog)
        expected = steady
        expected_nodes = float(pool.min_size)
        if pool.fallback_for is not None:
            spot = blueprint.pool(pool.fallback_for)
            fallback_extra += spot.min_size * max(pool.hourly_usd - spot.hourly_usd, 0.0) * hours
        else:
            steady_split = _split_pool(pool, catalog, sizes, peak=False)
            peak_split = _split_pool(pool, catalog, sizes, peak=True)
            for model, share in steady_split.items():
                model_steady[model] += share * steady
            for model, share in peak_split.items():
                model_peak[model] += share * peak
            expected = steady + sum(
                fractions[model] * (peak_split[model] * peak - steady_split[model] * steady) for model in steady_split
            )
            expected_nodes = expected / (pool.hourly_usd * hours) if pool.hourly_usd > 0 else float(pool.min_size)
            nodes_peak += pool.peak_nodes
            volumes_peak += pool.peak_nodes * per_node_volume
        nodes_steady += pool.min_size
        nodes_expected += expected_nodes
        volumes_steady += pool.min_size * per_node_volume
        volumes_expected += expected_nodes * per_node_volume
        by_pool[pool.name] = PoolCost(
            instance_type=pool.instance_types[0],
            capacity_type=pool.capacity_type,
            hourly_usd=pool.hourly_usd,
            min_nodes=pool.min_size,
            max_nodes=pool.max_size,
            monthly_usd=steady,
            peak_monthly_usd=peak,
            models=pool.models,
            fallback_for=pool.fallback_for,
            expected_monthly_usd=expected,
            root_volume_gib=volume_gib,
            root_volumes_monthly_usd=pool.min_size * per_node_volume,
            root_volumes_peak_monthly_usd=pool.peak_nodes * per_node_volume,
        )
    system_volumes = config.cluster.system_nodes * root_volume_usd_month(CPU_ROOT_VOLUME_GIB, catalog)
    root_volumes = CostItem(
        volumes_steady + system_volumes,
        volumes_expected + system_volumes,
        volumes_peak + system_volumes,
        f"{ROOT_VOLUME_TYPE} root volume per node ({GPU_ROOT_VOLUME_GIB} GiB on GPU nodes, {CPU_ROOT_VOLUME_GIB} GiB on CPU "
        f"and system nodes) at {catalog.service(f'ebs_{ROOT_VOLUME_TYPE}_usd_gb_month'):g} USD/GB-month",
    )
    items = platform_items(blueprint, catalog, NodeCounts(nodes_steady, nodes_expected, nodes_peak), root_volumes)

    lower, lower_total, lower_peak = _lower_bounds(blueprint, sizes, catalog)
    by_model: dict[str, ModelCost] = {}
    naive_total = naive_peak_total = 0.0
    for deployment in blueprint.models:
        naive, naive_peak = _naive(deployment, sizes[deployment.name], blueprint.config)
        naive_total += naive
        naive_peak_total += naive_peak
        fraction = fractions[deployment.name]
        by_model[deployment.name] = ModelCost(
            team=deployment.team,
            monthly_usd=model_steady[deployment.name],
            peak_monthly_usd=model_peak[deployment.name],
            naive_monthly_usd=naive * hours,
            lower_bound_monthly_usd=lower.get(deployment.name, 0.0) * hours,
            expected_monthly_usd=model_steady[deployment.name]
            + fraction * (model_peak[deployment.name] - model_steady[deployment.name]),
            peak_hours_fraction=fraction,
        )

    by_team: dict[str, TeamCost] = {}
    for team in sorted({cost.team for cost in by_model.values()}):
        members = [cost for cost in by_model.values() if cost.team == team]
        by_team[team] = TeamCost(
            monthly_usd=sum(cost.monthly_usd for cost in members),
            peak_monthly_usd=sum(cost.peak_monthly_usd for cost in members),
            budget_usd=config.budgets.teams.get(team),
            expected_monthly_usd=sum(cost.expected_monthly_usd for cost in members),
        )

    platform = sum(item.monthly_usd for item in items.values())
    return CostEstimate(
        environment=blueprint.environment,
        region=catalog.region,
        currency=catalog.currency,
        as_of=catalog.as_of,
        source=catalog.source,
        prices_exact_for_region=catalog.region_factor_exact,
        hours_per_month=hours,
        monthly_usd=sum(cost.monthly_usd for cost in by_pool.values()),
        peak_monthly_usd=sum(cost.peak_monthly_usd for cost in by_pool.values() if cost.fallback_for is None),
        naive_monthly_usd=naive_total * hours,
        naive_peak_monthly_usd=naive_peak_total * hours,
        lower_bound_monthly_usd=lower_total * hours,
        lower_bound_peak_monthly_usd=lower_peak * hours,
        gpu_memory_bound_monthly_usd=_gpu_memory_bound(blueprint, sizes, catalog) * hours,
        platform_monthly_usd=platform,
        budget_usd=config.budgets.monthly_usd,
        spot_fallback_extra_monthly_usd=fallback_extra,
        by_model=dict(sorted(by_model.items())),
        by_team=by_team,
        by_pool=dict(sorted(by_pool.items())),
        expected_monthly_usd=sum(cost.expected_monthly_usd for cost in by_pool.values()),
        items=items,
        savings_plan=advise(blueprint, catalog),
    )
