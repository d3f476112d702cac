"""Right-sizing: what one replica of a model needs, and which instance types can carry it.

GPU memory per replica is the spec's `accelerator.gpu_memory_gib`, or the model
gate's measured peak when the registry supplies one, plus `GPU_MEMORY_HEADROOM`
(15%: allocator fragmentation, CUDA context and batch-size variation), capped at
the memory of the GPUs the replica holds — a replica that owns whole GPUs cannot
use more than they have, and headroom only matters where replicas share a GPU.
A measured peak above the replica's GPUs is an error.

Candidates are the instance types carrying the spec's GPU type, in the families
the environment (`gpu.allowed_families`, GPU models only) and the spec
(`capacity.instance_families`) allow, with enough GPUs on one node and enough
vCPU and memory left after the node's own overhead (kubelet, daemonsets, OS).
Pure and deterministic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from inferstack.accelerators import GPUS
from inferstack.pricing.catalog import Catalog, InstanceType
from inferstack.problems import InputError, Problem
from inferstack.spec.environment import EnvironmentConfig
from inferstack.spec.model import ModelSpec

GPU_MEMORY_HEADROOM = 0.15
"""Fraction added to a replica's GPU memory need (declared or measured)."""
NODE_OVERHEAD_CPU = 0.5
"""vCPU kept for kubelet, daemonsets and the OS on every node."""
NODE_OVERHEAD_MEMORY_GIB = 2.0
"""Memory kept for kubelet, daemonsets and the OS on every node."""
_EPSILON = 1e-9


def usable_cpu(instance: InstanceType) -> float:
    """vCPU a node of this type offers to replicas."""
    return instance.vcpu - NODE_OVERHEAD_CPU


def usable_memory_gib(instance: InstanceType) -> float:
    """Memory a node of this type offers to replicas, GiB."""
    return instance.memory_gib - NODE_OVERHEAD_MEMORY_GIB


@dataclass(frozen=True, slots=True)
class ReplicaSize:
    """What one replica of a model needs in one environment, and where it fits."""

    model: str
    gpu_type: str
    gpus: int
    """Whole GPUs the replica holds (1 for a shared replica, 0 on CPU)."""
    gpu_memory_gib: float
    """GPU memory sized for the replica: need plus headroom, capped at its GPUs' memory."""
    needed_gpu_memory_gib: float
    """The need before headroom: measured peak when given, else the spec's figure."""
    measured: bool
    cpu: float
    memory_gib: float
    shared: bool
    slots_per_gpu: int
    """Replicas one GPU can take: the time-slicing factor when shared, else 1."""
    candidates: tuple[InstanceType, ...]
    """Instance types one replica fits on, cheapest on-demand first."""

    @property
    def is_gpu(self) -> bool:
        """Whether the replica needs GPUs."""
        return self.gpus > 0

    def per_node(self, instance: InstanceType) -> int:
        """How many replicas of this size fit on one empty node of `instance`."""
        by_cpu = math.floor(usable_cpu(instance) / self.cpu + _EPSILON)
        by_memory = math.floor(usable_memory_gib(instance) / self.memory_gib + _EPSILON)
        if not self.is_gpu:
            return max(0, min(by_cpu, by_memory))
        if self.shared:
            per_gpu_memory = instance.gpu_memory_per_gpu_gib
            per_gpu = min(self.slots_per_gpu, math.floor(per_gpu_memory / self.gpu_memory_gib + _EPSILON))
            by_gpu = instance.gpus * per_gpu
        else:
            by_gpu = instance.gpus // self.gpus
        return max(0, min(by_gpu, by_cpu, by_memory))

    def reserved_gpu_memory_gib(self, instance: InstanceType) -> float:
        """GPU memory no other replica can use while this one runs on `instance`.

        An exclusive replica holds its whole GPUs; a shared replica holds its sized
        memory, but at least one time-slicing slot's share of the GPU.
        """
        per_gpu = instance.gpu_memory_per_gpu_gib
        if self.shared:
            return max(self.gpu_memory_gib, per_gpu / self.slots_per_gpu)
        return self.gpus * per_gpu


def resource_shares(size: ReplicaSize, instance: InstanceType) -> tuple[float, float, float, float]:
    """(GPU slots, GPU memory, vCPU, memory) share of one node of `instance` that one replica takes.

    An exclusive replica's GPU shares are its whole GPUs; a shared one takes one
    time-slicing slot and its sized GPU memory.
    """
    cpu = size.cpu / usable_cpu(instance)
    memory = size.memory_gib / usable_memory_gib(instance)
    if not size.is_gpu:
        return (0.0, 0.0, cpu, memory)
    if size.shared:
        return (1 / (size.slots_per_gpu * instance.gpus), size.gpu_memory_gib / instance.gpu_memory_gib, cpu, memory)
    whole = size.gpus / instance.gpus
    return (whole, whole, cpu, memory)


def allowed_families(spec: ModelSpec, config: EnvironmentConfig) -> set[str] | None:
    """Families the model may use here, or None for every family of its GPU type."""
    families: set[str] | None = None
    if config.gpu.allowed_families and spec.accelerator.gpu_type != "none":
        families = set(config.gpu.allowed_families)
    if spec.capacity.instance_families:
        wanted = set(spec.capacity.instance_families)
        families = wanted if families is None else families & wanted
    return families


def _describe(instance: InstanceType) -> str:
    if instance.gpus:
        gpu = GPUS[instance.gpu_type]
        return (
            f"{instance.name} ({instance.gpus} x {gpu.name} {instance.gpu_memory_per_gpu_gib:g} GiB, "
            f"{instance.vcpu} vCPU, {instance.memory_gib:g} GiB)"
        )
    return f"{instance.name} ({instance.vcpu} vCPU, {instance.memory_gib:g} GiB)"


def size_replica(
    spec: ModelSpec,
    config: EnvironmentConfig,
    catalog: Catalog,
    source: str,
    measured_gpu_memory_gib: float | None = None,
) -> ReplicaSize:
    """Size one replica of `spec` for `config`'s environment; InputError when nothing allowed fits it."""
    accelerator = accelerator_of(spec)
    gpu_type, gpus = accelerator
    shared = spec.accelerator.shareable
    per_gpu_memory = GPUS[gpu_type].memory_gib if gpu_type in GPUS else 0.0
    capacity = per_gpu_memory * gpus
    needed = measured_gpu_memory_gib if measured_gpu_memory_gib is not None else spec.accelerator.gpu_memory_gib
    if gpus and needed > capacity + _EPSILON:
        raise InputError(
            [
                Problem(
                    source,
                    "accelerator.gpu_memory_gib",
                    f"model '{spec.name}' was measured at {needed:g} GiB peak GPU memory, more than its "
                    f"{gpus} x {GPUS[gpu_type].name} hold ({capacity:g} GiB); expected more GPUs per replica or a larger GPU type",
                )
            ]
        )
    sized = min(needed * (1 + GPU_MEMORY_HEADROOM), capacity) if gpus else 0.0
    size = ReplicaSize(
        model=spec.name,
        gpu_type=gpu_type,
        gpus=gpus,
        gpu_memory_gib=round(sized, 4),
        needed_gpu_memory_gib=needed if gpus else 0.0,
        measured=measured_gpu_memory_gib is not None,
        cpu=spec.serving.resources.cpu,
        memory_gib=spec.serving.resources.memory_gib,
        shared=shared,
        slots_per_gpu=config.gpu.time_slicing_replicas if shared else 1,
        candidates=(),
    )
    families = allowed_families(spec, config)
    typed = [item for item in catalog.for_gpu(gpu_type) if families is None or item.family in families]
    fitting = sorted(
        (item for item in typed if size.per_node(item) >= 1), key=lambda item: (item.on_demand_usd_hour, item.name)
    )
    if not fitting:
        raise InputError([Problem(source, _too_large_field(size, typed), _too_large_message(spec, size, typed, families))])
    return replace(size, candidates=tuple(fitting))


def accelerator_of(spec: ModelSpec) -> tuple[str, int]:
    """(GPU type, whole GPUs per replica) of a spec."""
    return spec.accelerator.gpu_type, spec.accelerator.gpus_per_replica


def _too_large_field(size: ReplicaSize, typed: list[InstanceType]) -> str:
    """The section that makes the replica too large: the accelerator, unless it fits and CPU or memory does not."""
    if not typed:
        return "accelerator.gpu_type"
    fits_accelerator = any(size.gpus <= item.gpus for item in typed) if size.is_gpu else True
    if not fits_accelerator:
        return "accelerator.gpus_per_replica"
    if all(size.cpu > usable_cpu(item) for item in typed):
        return "serving.resources.cpu"
    if all(size.memory_gib > usable_memory_gib(item) for item in typed):
        return "serving.resources.memory_gib"
    return "accelerator" if size.is_gpu else "serving.resources"


def _too_large_message(spec: ModelSpec, size: ReplicaSize, typed: list[InstanceType], families: set[str] | None) -> str:
    if size.is_gpu:
        need = (
            f"{size.gpus} x {GPUS[size.gpu_type].name} on one node ({size.gpu_memory_gib:g} GiB GPU memory with headroom), "
            f"{size.cpu:g} vCPU and {size.memory_gib:g} GiB memory per replica"
        )
    else:
        need = f"{size.cpu:g} vCPU and {size.memory_gib:g} GiB memory per replica (CPU only)"
    where = f" in families {', '.join(sorted(families))}" if families is not None else ""
    if not typed:
        return (
            f"model '{spec.name}' needs {need}; no instance type with GPU {size.gpu_type}{where} is allowed here; "
            "expected a GPU type and instance families the environment offers"
        )
    largest = max(typed, key=lambda item: (item.gpus, item.gpu_memory_gib, item.vcpu, item.memory_gib, item.name))
    return (
        f"model '{spec.name}' needs {need}; the largest allowed is {_describe(largest)} "
        f"with {usable_cpu(largest):g} vCPU and {usable_memory_gib(largest):g} GiB left for replicas; "
        "expected a smaller replica (fewer GPUs, vCPU or memory) or larger allowed instance families"
    )
