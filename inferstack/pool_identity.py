"""Pool identity: what a node pool is, decided without looking at demand.

A pool is named and shaped by its **accelerator class** (GPU type, and whether its
GPUs are time-sliced), its **capacity type** (spot or on-demand), and a **size class**:
the instance types of the catalogue with equal capacity (GPUs, GPU memory, vCPU,
memory) that the environment allows. Cluster Autoscaler simulates a scale-up from one
instance type of a group, so its AWS provider asks for groups of equal capacity
(kubernetes/autoscaler, tag cluster-autoscaler-1.34.5,
cluster-autoscaler/cloudprovider/aws/README.md: "Each Auto Scaling Group should be
composed of instance types that provide approximately equal capacity", and for mixed
instances policies "the instance types should have the same amount of RAM and number
of CPU cores, since this is fundamental to CA's scaling calculations").

Each model picks its size class from its own replica shape alone (`choose_size_class`):
never from replica counts and never from other models. So a scaling edit, a canary, a
version bump or another model's change never moves a model to another pool, never
changes a pool's instance types, and never changes a model's node affinity. Demand
only sets pool sizes (placement.py packs replicas to get them). A pool exists while at
least one model needs its class. A model may also use a few fit classes around its own
(placement.fit_classes, again from its shape alone): its affinity names their pools, and
the allocation (inferstack/allocation.py) decides how many nodes each runs.

Pure and deterministic; no Pulumi import. Packing (how many nodes) lives in placement.py.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from inferstack.blueprint import CapacityType
from inferstack.pricing.catalog import Catalog, InstanceType
from inferstack.sizing import ReplicaSize
from inferstack.spec.environment import EnvironmentConfig

SIZE_CLASS_TOLERANCE = 0.20
"""A model takes the smallest size class whose price per replica is within this fraction of the best class's."""

__all__ = [
    "SIZE_CLASS_TOLERANCE",
    "PoolIdentity",
    "SizeClass",
    "candidate_classes",
    "choose_size_class",
    "size_classes",
]


@dataclass(frozen=True, slots=True)
class SizeClass:
    """Instance types of equal capacity (GPUs, GPU memory, vCPU, memory), cheapest on-demand first."""

    gpu_type: str
    gpus: int
    gpu_memory_gib: float
    vcpu: int
    memory_gib: float
    instance_types: tuple[InstanceType, ...]
    families: tuple[str, ...] = ()
    """Set only on a class narrowed to a model's own `capacity.instance_families` (part of its name)."""

    @property
    def primary(self) -> InstanceType:
        """The cheapest type: the node template sizes are computed from (all types have its capacity)."""
        return self.instance_types[0]

    @property
    def shape(self) -> str:
        """Short shape name, e.g. `1x-8c-32g` (GPUs, vCPU, memory GiB) or `8c-32g` on CPU, plus narrowed families."""
        cpu = f"{self.vcpu}c-{self.memory_gib:g}g"
        base = f"{self.gpus}x-{cpu}" if self.gpus else cpu
        return f"{base}-{'-'.join(self.families)}" if self.families else base

    @property
    def names(self) -> tuple[str, ...]:
        """The instance type names."""
        return tuple(item.name for item in self.instance_types)


def _capacity_key(instance: InstanceType) -> tuple[int, float, int, float]:
    return (instance.gpus, instance.gpu_memory_gib, instance.vcpu, instance.memory_gib)


def _classes_of(gpu_type: str, instances: list[InstanceType], families: tuple[str, ...] = ()) -> list[SizeClass]:
    grouped: dict[tuple[int, float, int, float], list[InstanceType]] = defaultdict(list)
    for item in instances:
        grouped[_capacity_key(item)].append(item)
    classes = []
    for (gpus, gpu_memory, vcpu, memory), members in sorted(grouped.items()):
        members.sort(key=lambda item: (item.on_demand_usd_hour, item.name))
        classes.append(SizeClass(gpu_type, gpus, gpu_memory, vcpu, memory, tuple(members), families))
    return classes


def size_classes(catalog: Catalog, config: EnvironmentConfig, gpu_type: str) -> list[SizeClass]:
    """The size classes of a GPU type ('none': CPU) the environment allows (`gpu.allowed_families` on GPU types)."""
    allowed = set(config.gpu.allowed_families) if config.gpu.allowed_families and gpu_type != "none" else None
    instances = [item for item in catalog.for_gpu(gpu_type) if allowed is None or item.family in allowed]
    return _classes_of(gpu_type, instances)


def _per_replica_price(size: ReplicaSize, size_class: SizeClass) -> float:
    return size_class.primary.on_demand_usd_hour / size.per_node(size_class.primary)


def candidate_classes(
    size: ReplicaSize, catalog: Catalog, config: EnvironmentConfig, classes: list[SizeClass] | None = None
) -> list[SizeClass]:
    """The size classes one replica of `size` may run on, from its shape alone.

    The environment's classes of the replica's GPU type whose every type the model allows
    (its `capacity.instance_families`) and fits one replica on; when the model's families
    leave no whole class, the classes of its own allowed types (named after those families).
    """
    allowed = {item.name for item in size.candidates}
    candidates = [
        item
        for item in (classes if classes is not None else size_classes(catalog, config, size.gpu_type))
        if all(name in allowed for name in item.names) and size.per_node(item.primary) >= 1
    ]
    if not candidates:
        families = tuple(sorted({item.family for item in size.candidates}))
        candidates = [item for item in _classes_of(size.gpu_type, list(size.candidates), families) if size.per_node(item.primary) >= 1]
    return candidates


def choose_size_class(
    size: ReplicaSize, catalog: Catalog, config: EnvironmentConfig, classes: list[SizeClass] | None = None
) -> SizeClass:
    """The size class of a model's pools, from its replica shape alone.

    Candidates are the environment's classes of the model's GPU type whose every type
    the model allows (its `capacity.instance_families`) and fits one replica on. When
    the model's families leave no whole class, the classes are narrowed to its own
    allowed types (and named after those families). Among candidates: the smallest
    (cheapest node) class whose on-demand price per replica is within
    `SIZE_CLASS_TOLERANCE` of the best, so large nodes are taken only when they are
    clearly cheaper per replica. `size.candidates` is never empty (sizing raises first).
    `classes`: `size_classes(catalog, config, size.gpu_type)` when the caller has them already.
    """
    candidates = candidate_classes(size, catalog, config, classes)
    best = min(_per_replica_price(size, item) for item in candidates)
    near = [item for item in candidates if _per_replica_price(size, item) <= best * (1 + SIZE_CLASS_TOLERANCE) + 1e-12]
    return min(near, key=lambda item: (item.primary.on_demand_usd_hour, item.shape))


@dataclass(frozen=True, slots=True, order=True)
class PoolIdentity:
    """What a pool is: accelerator class, capacity type, size class (and whether it may never fall back to on-demand)."""

    gpu_type: str
    shared: bool
    capacity_type: CapacityType
    shape: str
    spot_only: bool = False

    def name(self, fallback: bool = False) -> str:
        """The pool's name, e.g. `l4-shared-spot-1x-8c-32g`, `cpu-ondemand-8c-32g`, `h100-fallback-8x-192c-2048g`.

        "fallback" alone (not "ondemand-fallback"): EKS node group names (cluster name + pool name) stop at 63 characters.
        """
        kind = "cpu" if self.gpu_type == "none" else self.gpu_type
        if fallback:
            purchase = "fallback"
        elif self.capacity_type == "SPOT":
            purchase = "spot-only" if self.spot_only else "spot"
        else:
            purchase = "ondemand"
        return f"{kind}{'-shared' if self.shared else ''}-{purchase}-{self.shape}"
