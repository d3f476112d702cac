"""Placement: which node pools the models need, with instance types and size bounds.

First version: one pool per (GPU type, GPU sharing, capacity type), sized by
whole-GPU demand of min and max replicas. Pure and deterministic.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from inferstack.blueprint import CapacityType, NodePool, Taint
from inferstack.constants import GPU_TAINT_EFFECT, GPU_TAINT_KEY, LABEL_CAPACITY_TYPE, LABEL_GPU_TYPE, LABEL_NODE_POOL
from inferstack.pricing.catalog import Catalog, InstanceType
from inferstack.problems import InputError, Problem
from inferstack.spec.environment import EnvironmentConfig
from inferstack.spec.model import ModelSpec

NODE_OVERHEAD_CPU = 0.5
"""vCPU kept for kubelet, daemonsets and the OS on every node."""
NODE_OVERHEAD_MEMORY_GIB = 2.0


@dataclass(frozen=True, slots=True)
class PlacementRequest:
    """A model to place, with where its spec came from (for error messages)."""

    spec: ModelSpec
    source: str


@dataclass(frozen=True, slots=True)
class Placement:
    """The node pools of an environment and which pools each model may use."""

    node_pools: tuple[NodePool, ...]
    pools_by_model: dict[str, tuple[str, ...]]
    replicas_per_gpu: dict[str, int]


def capacity_types(spec: ModelSpec, config: EnvironmentConfig) -> tuple[CapacityType, ...]:
    """How the model's capacity is bought here: base capacity first, burst capacity second."""
    policy = config.spot.policy
    preference = spec.capacity.spot
    if policy == "on-demand-only" or preference == "never":
        return ("ON_DEMAND",)
    if policy == "on-demand-base" and preference != "required":
        return ("ON_DEMAND", "SPOT")
    return ("SPOT",)


def _allowed_families(spec: ModelSpec, config: EnvironmentConfig) -> set[str] | None:
    families: set[str] | None = None
    if config.gpu.allowed_families:
        families = set(config.gpu.allowed_families)
    if spec.capacity.instance_families:
        wanted = set(spec.capacity.instance_families)
        families = wanted if families is None else families & wanted
    return families


def _fits(instance: InstanceType, spec: ModelSpec) -> bool:
    return (
        instance.gpus >= spec.accelerator.gpus_per_replica
        and instance.vcpu - NODE_OVERHEAD_CPU >= spec.serving.resources.cpu
        and instance.memory_gib - NODE_OVERHEAD_MEMORY_GIB >= spec.serving.resources.memory_gib
    )


def _candidates(spec: ModelSpec, config: EnvironmentConfig, catalog: Catalog, source: str) -> list[InstanceType]:
    gpu_type = spec.accelerator.gpu_type
    families = _allowed_families(spec, config)
    typed = [item for item in catalog.for_gpu(gpu_type) if families is None or item.family in families or gpu_type == "none"]
    fitting = [item for item in typed if _fits(item, spec)]
    if not fitting:
        largest = max(typed, key=lambda item: (item.gpus, item.vcpu, item.memory_gib), default=None)
        largest_text = (
            f"the largest allowed is {largest.name} ({largest.gpus} GPU, {largest.vcpu} vCPU, {largest.memory_gib:g} GiB)"
            if largest
            else f"no instance type with GPU {gpu_type} is allowed"
        )
        raise InputError(
            [
                Problem(
                    source,
                    "accelerator",
                    f"model '{spec.name}' needs {spec.accelerator.gpus_per_replica} x {gpu_type}, "
                    f"{spec.serving.resources.cpu:g} vCPU and {spec.serving.resources.memory_gib:g} GiB per replica; "
                    f"{largest_text}; expected a smaller replica or other allowed families",
                )
            ]
        )
    return fitting


def _pool_name(gpu_type: str, shared: bool, capacity_type: CapacityType) -> str:
    kind = "cpu" if gpu_type == "none" else gpu_type
    return f"{kind}{'-shared' if shared else ''}-{'spot' if capacity_type == 'SPOT' else 'ondemand'}"


def _nodes_for(specs: Sequence[ModelSpec], replicas: dict[str, int], node: InstanceType, sharing: int) -> int:
    if node.gpus == 0:
        cpu = sum(spec.serving.resources.cpu * replicas[spec.name] for spec in specs)
        memory = sum(spec.serving.resources.memory_gib * replicas[spec.name] for spec in specs)
        return max(
            math.ceil(cpu / (node.vcpu - NODE_OVERHEAD_CPU)),
            math.ceil(memory / (node.memory_gib - NODE_OVERHEAD_MEMORY_GIB)),
        )
    nodes = 0
    for spec in specs:
        per_node = (node.gpus // spec.accelerator.gpus_per_replica) * (sharing if spec.accelerator.shareable else 1)
        per_node = min(
            per_node,
            int((node.vcpu - NODE_OVERHEAD_CPU) // spec.serving.resources.cpu),
            int((node.memory_gib - NODE_OVERHEAD_MEMORY_GIB) // spec.serving.resources.memory_gib),
        )
        nodes += math.ceil(replicas[spec.name] / max(per_node, 1))
    return nodes


def place(requests: Sequence[PlacementRequest], config: EnvironmentConfig, catalog: Catalog) -> Placement:
    """Group models into pools and size each pool for min (desired) and max replicas."""
    problems: list[Problem] = []
    groups: dict[tuple[str, bool, CapacityType], list[tuple[ModelSpec, list[InstanceType]]]] = defaultdict(list)
    pools_by_model: dict[str, tuple[str, ...]] = {}
    replicas_per_gpu: dict[str, int] = {}
    base_share: dict[tuple[str, str], tuple[int, int]] = {}
    for request in requests:
        spec = request.spec
        try:
            candidates = _candidates(spec, config, catalog, request.source)
        except InputError as error:
            problems.extend(error.problems)
            continue
        shared = spec.accelerator.shareable
        types = capacity_types(spec, config)
        replicas_per_gpu[spec.name] = config.gpu.time_slicing_replicas if shared else 1
        names: list[str] = []
        for index, capacity_type in enumerate(types):
            groups[(spec.accelerator.gpu_type, shared, capacity_type)].append((spec, candidates))
            names.append(_pool_name(spec.accelerator.gpu_type, shared, capacity_type))
            if len(types) == 2:
                # On-demand base carries min replicas; spot burst carries the rest.
                minimum, maximum = spec.scaling.min_replicas, spec.scaling.max_replicas
                base_share[(spec.name, capacity_type)] = (
                    (minimum, minimum) if index == 0 else (0, maximum - minimum)
                )
        pools_by_model[spec.name] = tuple(names)
    if problems:
        raise InputError(problems)

    pools: list[NodePool] = []
    for (gpu_type, shared, capacity_type), members in sorted(groups.items()):
        specs = [spec for spec, _ in members]
        common = set.intersection(*(set(item.name for item in candidates) for _, candidates in members))
        ranked = [item for item in members[0][1] if item.name in common] or members[0][1]
        primary = ranked[0]
        same_shape = [item for item in ranked if item.gpus == primary.gpus]
        wanted = config.spot.min_instance_types if capacity_type == "SPOT" else 1
        instance_types = tuple(item.name for item in same_shape[: max(wanted, 3 if capacity_type == "SPOT" else 1)])
        sharing = config.gpu.time_slicing_replicas if shared else 1
        low = {spec.name: base_share.get((spec.name, capacity_type), (spec.scaling.min_replicas, 0))[0] for spec in specs}
        high = {
            spec.name: base_share.get((spec.name, capacity_type), (0, spec.scaling.max_replicas))[1] for spec in specs
        }
        min_size = _nodes_for(specs, low, primary, sharing)
        max_size = max(_nodes_for(specs, high, primary, sharing), min_size, 1)
        name = _pool_name(gpu_type, shared, capacity_type)
        taints = (Taint(GPU_TAINT_KEY, "true", GPU_TAINT_EFFECT),) if gpu_type != "none" else ()
        pools.append(
            NodePool(
                name=name,
                gpu_type=gpu_type,
                capacity_type=capacity_type,
                instance_types=instance_types,
                gpus_per_node=primary.gpus,
                min_size=min_size,
                max_size=max_size,
                desired_size=min_size,
                time_slicing_replicas=sharing,
                labels=(
                    (LABEL_CAPACITY_TYPE, capacity_type.lower().replace("_", "-")),
                    (LABEL_GPU_TYPE, gpu_type),
                    (LABEL_NODE_POOL, name),
                ),
                taints=taints,
                models=tuple(sorted(spec.name for spec in specs)),
                hourly_usd=primary.price(capacity_type),
            )
        )
    return Placement(tuple(pools), pools_by_model, replicas_per_gpu)
