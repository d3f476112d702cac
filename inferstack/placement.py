"""Placement: pack the replicas of all models onto as few, as cheap node pools as possible.

Steps (pure and deterministic; inputs are sorted, ties broken by name):

1. **Size** every model (inferstack.sizing): GPUs, GPU memory with headroom, vCPU,
   memory per replica, and the instance types one replica fits on.
2. **Split capacity** per the environment's spot policy and the spec's
   `capacity.spot` (`capacity_split`): spot-only / spot-preferred put every replica
   on spot, on-demand-base puts `min_replicas` (or at most
   `spot.on_demand_base_replicas` of them) on on-demand and the rest on spot,
   on-demand-only (or a spec saying `never`) puts everything on-demand; a spec
   saying `required` gets spot unless the environment is on-demand-only.
   Where spot is only preferred and a replica's spot pool cannot be diversified
   (`spot_diversifiable`: fewer than `spot.min_instance_types` types of one GPU
   count, and, where `spot.min_capacity_pools` is set, fewer capacity pools than
   that, a capacity pool being an instance type in one availability zone), its
   capacity is bought on-demand instead.
3. **Identify pools** (inferstack.pool_identity): each model picks a preferred size
   class of equal-capacity instance types from its own replica shape alone, and a few
   **fit classes** around it (`fit_classes`: up to `gpu.fit_classes.smaller` classes of
   smaller nodes, default 3, up to `gpu.fit_classes.larger` larger ones, default 2,
   within `FIT_LARGER_TOLERANCE` per replica),
   again from its shape alone. A pool is (GPU type, shared or exclusive GPUs, capacity
   type, size class) and exists while a model lists its class; the model's node
   affinity names the pools of all its fit classes. A node group either time-slices its
   GPUs or not, so shared and exclusive replicas never mix; CPU models form their own
   classes. Demand never decides a pool's name, types or members, so no edit of one
   model moves another model, changes its node affinity or a pool's types.
4. **Allocate** per (GPU type, sharing, capacity type) (inferstack.allocation): how many
   nodes of each class and which replicas on which, over every model's fit classes
   (mixing node sizes and models): exclusive replicas take whole GPUs; shared replicas
   take one time-slicing slot (`gpu.time_slicing_replicas` per GPU) and their sized GPU
   memory on one GPU; all take vCPU and memory after the node overhead. Steady replicas
   give `min_size`, peak replicas `max_size` (at least 1, EKS's floor; `peak_size` the
   nodes the peak allocation needs). This is the only step demand drives.
   Where spot diversification is mandatory, spot replicas use only classes whose spot
   pool passes it (`spot_classes`); a spec requiring spot with no such class is bad input.
5. **Fall back**: a spot pool whose class lists fewer than `spot.min_instance_types`
   types but reaches `spot.min_capacity_pools` (types x availability zones) gets an
   on-demand fallback pool (`spot_fallback_pool`): same types, labels and taints,
   the spot pool's node-pool label (so the same pods may run there), min size 0,
   and the lowest Cluster Autoscaler priority, so it only grows when the spot pool
   cannot (AWS reports no spot capacity). Where spot diversification is not mandatory,
   replicas whose spec says `capacity.spot: required` and whose pool would be thin get
   `-spot-only` pools without a fallback, so they never run on-demand and the rest
   still get one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from inferstack.blueprint import CapacityType, NodePool, Taint
from inferstack.constants import GPU_TAINT_EFFECT, GPU_TAINT_KEY, LABEL_CAPACITY_TYPE, LABEL_GPU_TYPE, LABEL_NODE_POOL
from inferstack.allocation import AllocationItem, ClassAllocation, NodeFill, allocate
from inferstack.pool_identity import (
    SIZE_CLASS_TOLERANCE,
    PoolIdentity,
    SizeClass,
    candidate_classes,
    choose_size_class,
    size_classes,
)
from inferstack.pricing.catalog import Catalog, InstanceType
from inferstack.problems import InputError, Problem
from inferstack.sizing import (
    NODE_OVERHEAD_CPU,
    NODE_OVERHEAD_MEMORY_GIB,
    ReplicaSize,
    resource_shares,
    size_replica,
)
from inferstack.spec.environment import EnvironmentConfig, FitClassesConfig
from inferstack.spec.model import ModelSpec

__all__ = [
    "NODE_OVERHEAD_CPU",
    "NODE_OVERHEAD_MEMORY_GIB",
    "Placement",
    "PlacementRequest",
    "FIT_LARGER",
    "FIT_LARGER_TOLERANCE",
    "FIT_SMALLER",
    "capacity_split",
    "fit_classes",
    "spot_classes",
    "spot_diversification_enforced",
    "capacity_types",
    "spot_capacity_pools",
    "spot_fallback_allowed",
    "spot_fallback_pool",
    "rollout_replica_bounds",
    "spot_diversifiable",
    "pack_nodes",
    "place",
]

SPOT_DIVERSIFICATION_RULE = "spot-diversification"
FIT_SMALLER = FitClassesConfig().smaller
"""Default number of size classes with smaller nodes than its preferred class a model may also use (gpu.fit_classes.smaller)."""
FIT_LARGER = FitClassesConfig().larger
"""Default number of size classes with larger nodes than its preferred class a model may also use (gpu.fit_classes.larger)."""
FIT_LARGER_TOLERANCE = 0.5
"""A larger fit class costs at most this fraction more per replica than the preferred class (room for other models)."""
_OPEN_NODE_WINDOW = 24
_EPSILON = 1e-9


@dataclass(frozen=True, slots=True)
class PlacementRequest:
    """A model to place, with where its spec came from (for error messages)."""

    spec: ModelSpec
    source: str
    measured_gpu_memory_gib: float | None = None
    """Peak GPU memory the model gate measured, replacing the spec's figure when given."""


@dataclass(frozen=True, slots=True)
class Placement:
    """The node pools of an environment and which pools each model may use."""

    node_pools: tuple[NodePool, ...]
    pools_by_model: dict[str, tuple[str, ...]]
    replicas_per_gpu: dict[str, int]
    sizes: dict[str, ReplicaSize] = field(default_factory=lambda: {})
    """Right-sized replica of each model."""


def spot_capacity_pools(instance_types: int, config: EnvironmentConfig) -> int:
    """Spot capacity pools a node group of `instance_types` types spans: AWS prices and reclaims
    spot per (instance type, availability zone), and node groups span every zone of the stack."""
    return instance_types * len(set(config.network.availability_zones))


def spot_fallback_allowed(instance_types: int, config: EnvironmentConfig) -> bool:
    """Whether a spot pool of fewer than `spot.min_instance_types` types may stay on spot with an on-demand fallback.

    Only where spot is preferred and `spot.min_capacity_pools` is set (the config
    validation refuses it elsewhere), and the pool spans at least that many capacity pools.
    """
    minimum = config.spot.min_capacity_pools
    return (
        minimum is not None
        and config.spot.policy in ("spot-preferred", "on-demand-base")
        and spot_capacity_pools(instance_types, config) >= minimum
    )


def spot_diversifiable(size_class: SizeClass, config: EnvironmentConfig) -> bool:
    """Whether a spot pool of this size class is diversified enough to buy replicas on spot.

    Enough: `spot.min_instance_types` types in the class, or (`spot_fallback_allowed`)
    fewer types over at least `spot.min_capacity_pools` capacity pools, with an on-demand
    fallback pool. An 8-GPU H100 replica, say, fits only p5.48xlarge: one type, which
    over three availability zones is three capacity pools.
    """
    types = len(size_class.instance_types)
    return types >= config.spot.min_instance_types or (types > 0 and spot_fallback_allowed(types, config))


def rollout_replica_bounds(spec: ModelSpec, config: EnvironmentConfig) -> tuple[int, int]:
    """(min, max) replicas of all the InferenceServices the model's rollout runs, added up.

    A standard-mode canary or a shadow runs stable and candidate side by side, each
    with the model's bounds; blue-green keeps the idle colour warm at its floor (at
    least one replica); A/B runs every variant; a serverless canary is one
    InferenceService whose revisions share the replicas. Mirrors
    `inferstack.render.rollout.rollout_variants` (a test keeps the two in step).
    """
    scaling = spec.scaling
    low = scaling.min_replicas if scaling.scale_to_zero else max(1, scaling.min_replicas)
    high = scaling.max_replicas
    strategy = spec.rollout.strategy
    mode = spec.serving.deployment_mode or config.serving.deployment_mode
    if strategy == "direct" or (strategy == "canary" and mode == "serverless"):
        return scaling.min_replicas, high
    if strategy in ("canary", "shadow"):
        return 2 * low, 2 * high
    if strategy == "blue-green":
        floor = max(1, scaling.min_replicas)
        return low + floor, high + floor
    return len(spec.rollout.variants) * low, len(spec.rollout.variants) * high


def capacity_split(
    spec: ModelSpec, config: EnvironmentConfig, diversifiable: bool = True
) -> list[tuple[CapacityType, int, int]]:
    """(capacity type, steady replicas, peak replicas) per capacity type, base capacity first.

    Where spot is only preferred (spot-preferred, on-demand-base) and the replica's
    spot pool could not be diversified (`diversifiable` false), the capacity is bought
    on-demand instead. spot-only environments and specs with `capacity.spot: required`
    keep spot. Under on-demand-base, `spot.on_demand_base_replicas` (when set) caps the
    on-demand part at that many replicas of the model; the rest of its minimum is spot.
    """
    policy = config.spot.policy
    preference = spec.capacity.spot
    low, high = rollout_replica_bounds(spec, config)
    if policy == "on-demand-only" or preference == "never":
        return [("ON_DEMAND", low, high)]
    if not diversifiable and preference != "required" and policy in ("spot-preferred", "on-demand-base"):
        return [("ON_DEMAND", low, high)]
    if policy == "on-demand-base" and preference != "required":
        cap = config.spot.on_demand_base_replicas
        base = low if cap is None else min(low, cap)
        parts: list[tuple[CapacityType, int, int]] = []
        if base > 0:
            parts.append(("ON_DEMAND", base, base))
        if high > base:
            parts.append(("SPOT", low - base, high - base))
        return parts
    return [("SPOT", low, high)]


def capacity_types(spec: ModelSpec, config: EnvironmentConfig) -> tuple[CapacityType, ...]:
    """How the model's capacity is bought here: base capacity first, burst capacity second."""
    return tuple(capacity for capacity, _, _ in capacity_split(spec, config))


def _dominant_share(size: ReplicaSize, instance: InstanceType) -> float:
    return max(resource_shares(size, instance))


def pack_nodes(instance: InstanceType, items: Sequence[tuple[ReplicaSize, int]]) -> int:
    """Nodes of `instance` that first-fit-decreasing packing needs for `items` (size, replicas)."""
    wanted = [(size, count) for size, count in items if count > 0]
    if not wanted:
        return 0
    wanted.sort(key=lambda item: (-_dominant_share(item[0], instance), item[0].model))
    shared = wanted[0][0].shared
    has_gpus = wanted[0][0].is_gpu
    slots = wanted[0][0].slots_per_gpu
    min_cpu = min(size.cpu for size, _ in wanted)
    min_memory = min(size.memory_gib for size, _ in wanted)
    open_nodes: list[NodeFill] = []
    total = 0
    for size, count in wanted:
        remaining = count
        window = open_nodes[-_OPEN_NODE_WINDOW:]
        del open_nodes[-_OPEN_NODE_WINDOW:]
        for node in window:
            if remaining:
                placed = node.place(size, remaining)
                if placed:
                    remaining -= placed
                    if node.full(shared, has_gpus, min_cpu, min_memory):
                        continue
            # A node nothing was placed on is as open as it was (fullness depends only on its own state).
            open_nodes.append(node)
        while remaining:
            node = NodeFill(instance.name, instance, slots, shared)
            placed = node.place(size, remaining)
            if placed == 0:
                raise ValueError(f"{size.model} does not fit on {instance.name}")  # sizing guarantees it does
            remaining -= placed
            total += 1
            if not node.full(shared, has_gpus, min_cpu, min_memory):
                open_nodes.append(node)
    return total


def spot_fallback_pool(spot: NodePool, catalog: Catalog, name: str) -> NodePool:
    """The on-demand stand-in of a thinly diversified spot pool.

    Same instance types, GPU labels and taints, and the spot pool's node-pool label (the
    label the models' node affinity selects on), so the spot pool's pods may run on its
    nodes; capacity-type label on-demand. Min and desired size 0, max the spot pool's max:
    it costs nothing until Cluster Autoscaler, whose priority expander ranks it below
    every spot and on-demand pool, grows it because the spot pool could not grow.
    """
    primary = catalog.instances[spot.instance_types[0]]
    labels = tuple(
        (key, "on-demand" if key == LABEL_CAPACITY_TYPE else value) for key, value in spot.labels
    )
    return NodePool(
        name=name,
        gpu_type=spot.gpu_type,
        capacity_type="ON_DEMAND",
        instance_types=spot.instance_types,
        gpus_per_node=spot.gpus_per_node,
        min_size=0,
        max_size=spot.max_size,
        desired_size=0,
        time_slicing_replicas=spot.time_slicing_replicas,
        labels=labels,
        taints=spot.taints,
        models=spot.models,
        hourly_usd=primary.on_demand_usd_hour,
        replicas=tuple((model, 0, 0) for model in spot.models),
        fallback_for=spot.name,
    )


def spot_diversification_enforced(config: EnvironmentConfig) -> bool:
    """Whether the spot-diversification rule is mandatory in this stack (its tier's default, override and waivers)."""
    from inferstack.policy.catalog import RULES_BY_NAME
    from inferstack.policy.model import PolicyContext

    return RULES_BY_NAME[SPOT_DIVERSIFICATION_RULE].enforcement(PolicyContext.from_environment(config)) == "mandatory"


def spot_classes(
    candidates: Sequence[SizeClass], config: EnvironmentConfig, required: bool, enforced: bool
) -> list[SizeClass]:
    """The candidate classes whose spot pools pass spot diversification, where that rule is mandatory.

    A class passes with `spot.min_instance_types` types, or (not for a replica whose spec
    requires spot: its pods must never land on the on-demand fallback) with an on-demand
    fallback (`spot_fallback_allowed`). Where the rule is not mandatory, every candidate.
    """
    if not enforced:
        return list(candidates)
    return [
        item
        for item in candidates
        if len(item.instance_types) >= config.spot.min_instance_types
        or (not required and spot_fallback_allowed(len(item.instance_types), config))
    ]


def fit_classes(
    size: ReplicaSize,
    preferred: SizeClass,
    candidates: Sequence[SizeClass],
    smaller_count: int = FIT_SMALLER,
    larger_count: int = FIT_LARGER,
) -> tuple[SizeClass, ...]:
    """The classes a model's replicas may run on: its preferred class first, then smaller and larger neighbours.

    Up to `smaller_count` (the stack's gpu.fit_classes.smaller) candidate classes with cheaper
    nodes than the preferred class (the cheapest per replica first: they take the remainder a
    full node of the preferred class would leave half empty, and pack beside other models'
    replicas), and up to `larger_count` (gpu.fit_classes.larger) larger classes
    whose price per replica is within `FIT_LARGER_TOLERANCE` of the preferred class's, cheapest
    per replica first (big demand, and room beside other models' replicas). From the
    replica's shape alone (never demand), so a model's pools and node affinity never
    follow other models.
    """
    def per_replica(item: SizeClass) -> float:
        return item.primary.on_demand_usd_hour / size.per_node(item.primary)

    price = preferred.primary.on_demand_usd_hour
    smaller = sorted(
        (item for item in candidates if item.primary.on_demand_usd_hour < price),
        key=lambda item: (per_replica(item), -item.primary.on_demand_usd_hour, item.shape),
    )[:smaller_count]
    larger = sorted(
        (
            item
            for item in candidates
            if item.primary.on_demand_usd_hour > price
            and per_replica(item) <= per_replica(preferred) * (1 + FIT_LARGER_TOLERANCE) + 1e-12
        ),
        key=lambda item: (per_replica(item), item.primary.on_demand_usd_hour, item.shape),
    )[:larger_count]
    return (preferred, *smaller, *larger)


@dataclass(slots=True)
class _Part:
    """Replicas of one model on one capacity type, and the classes they may use."""

    size: ReplicaSize
    steady: int
    peak: int
    classes: tuple[SizeClass, ...]


def place(
    requests: Sequence[PlacementRequest],
    config: EnvironmentConfig,
    catalog: Catalog,
    measured_gpu_memory_gib: Mapping[str, float] | None = None,
) -> Placement:
    """Size every model, pick its fit classes, split its replicas by capacity type, and allocate them to node pools.

    `measured_gpu_memory_gib` (model name -> GiB, e.g. from the registry) overrides
    the spec's GPU memory, as does a request's own measured figure. Raises InputError
    listing every model that fits no allowed instance type, and every model whose only
    capacity here would fail a mandatory rule (a spec requiring spot where no class of its
    GPU type has enough instance types for spot diversification).
    """
    measured = dict(measured_gpu_memory_gib or {})
    problems: list[Problem] = []
    sizes: dict[str, ReplicaSize] = {}
    # (GPU type, shared, capacity type, spot-only) -> parts
    groups: dict[tuple[str, bool, CapacityType, bool], list[_Part]] = defaultdict(list)
    parts_by_model: dict[str, list[tuple[tuple[str, bool, CapacityType, bool], tuple[SizeClass, ...]]]] = {}
    classes_by_gpu: dict[str, list[SizeClass]] = {}
    enforced: bool | None = None
    # Replica shape -> (candidate classes, preferred class): many models share a shape.
    shapes: dict[tuple[object, ...], tuple[list[SizeClass], SizeClass]] = {}
    fits_cache: dict[tuple[object, ...], tuple[SizeClass, ...]] = {}
    for request in sorted(requests, key=lambda item: item.spec.name):
        spec = request.spec
        figure = request.measured_gpu_memory_gib if request.measured_gpu_memory_gib is not None else measured.get(spec.name)
        try:
            size = size_replica(spec, config, catalog, request.source, figure)
        except InputError as error:
            problems.extend(error.problems)
            continue
        sizes[spec.name] = size
        if size.gpu_type not in classes_by_gpu:
            classes_by_gpu[size.gpu_type] = size_classes(catalog, config, size.gpu_type)
        shape_key = (size.gpu_type, size.gpus, size.gpu_memory_gib, size.cpu, size.memory_gib, size.shared, size.candidates)
        if shape_key not in shapes:
            found = candidate_classes(size, catalog, config, classes_by_gpu[size.gpu_type])
            shapes[shape_key] = (found, _choose_among(size, found))
        candidates, preferred = shapes[shape_key]
        required = spec.capacity.spot == "required"
        keys: list[tuple[tuple[str, bool, CapacityType, bool], tuple[SizeClass, ...]]] = []
        for capacity, steady, peak in capacity_split(spec, config, spot_diversifiable(preferred, config)):
            spot_only = False
            own = candidates
            if capacity == "SPOT":
                if enforced is None:
                    enforced = spot_diversification_enforced(config)
                own = spot_classes(candidates, config, required, enforced)
                if not own:
                    problems.append(_spot_problem(request.source, size, config))
                    continue
                if required and config.spot.min_capacity_pools is not None and len(preferred.instance_types) < config.spot.min_instance_types:
                    if enforced:
                        preferred = _choose_among(size, own)
                    else:
                        # Replicas whose spec requires spot and whose pool would be thin get pools of their own,
                        # so the others' thin pools may have a fallback (the rule is not mandatory here).
                        spot_only, own = True, [preferred]
            first = preferred if any(item.shape == preferred.shape for item in own) else _choose_among(size, own)
            if capacity == "SPOT" and len(first.instance_types) >= config.spot.min_instance_types:
                # A well diversified spot pool keeps well diversified company: no thin pools, no fallbacks.
                own = [item for item in own if len(item.instance_types) >= config.spot.min_instance_types]
            fits_key = (*shape_key, first.shape, tuple(item.shape for item in own))
            if fits_key not in fits_cache:
                fits_cache[fits_key] = fit_classes(
                    size, first, own, config.gpu.fit_classes.smaller, config.gpu.fit_classes.larger
                )
            fits = fits_cache[fits_key]
            key = (size.gpu_type, size.shared, capacity, spot_only)
            groups[key].append(_Part(size, steady, peak, fits))
            keys.append((key, fits))
        parts_by_model[spec.name] = keys
    if problems:
        raise InputError(problems)

    pools: list[NodePool] = []
    for key in sorted(groups):
        gpu_type, shared, capacity, spot_only = key
        parts = sorted(groups[key], key=lambda item: item.size.model)
        union: dict[str, SizeClass] = {}
        for part in parts:
            for item in part.classes:
                union.setdefault(item.shape, item)
        instances = {shape: item.primary for shape, item in union.items()}
        steady = allocate([AllocationItem(part.size, part.steady, tuple(item.shape for item in part.classes)) for part in parts], instances, capacity)
        peak = allocate([AllocationItem(part.size, part.peak, tuple(item.shape for item in part.classes)) for part in parts], instances, capacity)
        for shape in sorted(union):
            size_class = union[shape]
            identity = PoolIdentity(gpu_type, shared, capacity, shape, spot_only)
            name = identity.name()
            members = [part for part in parts if any(item.shape == shape for item in part.classes)]
            held = steady.get(shape, ClassAllocation(0, {}))
            burst = peak.get(shape, ClassAllocation(0, {}))
            primary = size_class.primary
            pool = NodePool(
                name=name,
                gpu_type=gpu_type,
                capacity_type=capacity,
                instance_types=size_class.names,
                gpus_per_node=primary.gpus,
                min_size=held.nodes,
                max_size=max(burst.nodes, held.nodes, 1),
                peak_size=max(burst.nodes, held.nodes),
                desired_size=held.nodes,
                time_slicing_replicas=config.gpu.time_slicing_replicas if shared else 1,
                labels=(
                    (LABEL_CAPACITY_TYPE, capacity.lower().replace("_", "-")),
                    (LABEL_GPU_TYPE, gpu_type),
                    (LABEL_NODE_POOL, name),
                ),
                taints=(Taint(GPU_TAINT_KEY, "true", GPU_TAINT_EFFECT),) if gpu_type != "none" else (),
                models=tuple(part.size.model for part in members),
                hourly_usd=primary.price(capacity),
                replicas=tuple(
                    (part.size.model, held.replicas.get(part.size.model, 0), burst.replicas.get(part.size.model, 0))
                    for part in members
                ),
            )
            pools.append(pool)
            if (
                capacity == "SPOT"
                and len(size_class.instance_types) < config.spot.min_instance_types
                and spot_fallback_allowed(len(size_class.instance_types), config)
                and not spot_only
            ):
                pools.append(spot_fallback_pool(pool, catalog, identity.name(fallback=True)))
    pools.sort(key=lambda pool: pool.name)
    pools_by_model = {
        model: tuple(
            PoolIdentity(key[0], key[1], key[2], item.shape, key[3]).name() for key, fits in keys for item in fits
        )
        for model, keys in parts_by_model.items()
    }
    replicas_per_gpu = {model: size.slots_per_gpu if size.is_gpu else 1 for model, size in sizes.items()}
    return Placement(tuple(pools), pools_by_model, replicas_per_gpu, sizes)


def _choose_among(size: ReplicaSize, candidates: Sequence[SizeClass]) -> SizeClass:
    """`choose_size_class`'s rule over a narrowed list of candidates."""
    def per_replica(item: SizeClass) -> float:
        return item.primary.on_demand_usd_hour / size.per_node(item.primary)

    best = min(per_replica(item) for item in candidates)
    near = [item for item in candidates if per_replica(item) <= best * (1 + SIZE_CLASS_TOLERANCE) + 1e-12]
    return min(near, key=lambda item: (item.primary.on_demand_usd_hour, item.shape))


def _spot_problem(source: str, size: ReplicaSize, config: EnvironmentConfig) -> Problem:
    """A spec requiring spot where every class of its GPU type would fail the mandatory spot-diversification rule."""
    kind = "CPU" if size.gpu_type == "none" else size.gpu_type
    return Problem(
        source,
        "capacity.spot",
        f"model '{size.model}' requires spot, but no {kind} size class it fits here has {config.spot.min_instance_types} "
        f"instance types, so its spot node group would fail the mandatory {SPOT_DIVERSIFICATION_RULE} rule of stack "
        f"{config.stack_name} (a spot-only pool may not fall back to on-demand); expected capacity.spot: preferred "
        f"(or an environments.{config.environment} override), or instance families that give a class of "
        f"{config.spot.min_instance_types} types",
    )
