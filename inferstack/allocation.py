"""Allocation: how many nodes of which size class hold a group's replicas, and which replicas go where.

A group is the replicas placement puts on one accelerator class bought one way (GPU type,
shared or exclusive GPUs, capacity type). Each model lists the size classes it may run on
(its fit classes: chosen from its own replica shape, never from demand, so pool identity
stays stable); the allocation decides only how many nodes of each class to run and how
many replicas of each model each class takes. Demand drives nothing else.

Heuristic (pure, deterministic; ties broken by class shape and model name):

1. **Greedy by cost per packed value.** Every replica has a value: the cheapest price it
   could be carried at, `min over its classes of price x dominant share of the node`.
   Repeatedly fill one empty node of every class with the remaining replicas (largest
   dominant share first; slots, GPU memory per GPU, whole GPUs, vCPU and memory together)
   and buy the node with the lowest price per value packed, as many times as that same
   content repeats. This mixes classes: big nodes where they pack full, small ones for the
   remainder, and lets models share nodes across model boundaries.
2. **Empty nodes** (local search moving single replicas): the least efficient nodes try to
   hand every replica to free room on the other nodes; a node that empties is dropped.
3. **Merge pairs**: two poorly filled nodes are replaced by one node of a class that holds
   both and costs less.
4. **Downsize**: each node becomes the cheapest class all its replicas may use that holds them.
5. **Variants** (small groups): the greedy again with round-robin fills (one replica of each
   model per round, in dominant-share and in vCPU-share order), and each of the three with up
   to three fewer nodes of each class it bought, improved the same way; the cheapest wins.

`benchmarks/placement_optimum.py` measures the result against an exact MILP.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from inferstack.blueprint import CapacityType
from inferstack.pricing.catalog import InstanceType
from inferstack.sizing import ReplicaSize, resource_shares, usable_cpu, usable_memory_gib

__all__ = ["AllocationItem", "ClassAllocation", "NodeFill", "allocate", "node_holds"]

_EPSILON = 1e-9
_IMPROVE_WINDOW = 16
"""Least efficient nodes the local search tries to empty or merge (keeps large groups fast)."""
_VARIANT_NODES = 48
"""Groups of at most this many nodes also try greedy variants that buy fewer nodes of one class."""
_FEWER_NODES = 24
"""Variants with fewer nodes of one class run where the variant's greedy bought at most this many nodes."""
_VARIANT_STEPS = 3
"""How many fewer nodes of a class the variants try."""
_MERGE_WINDOW = 8
"""Least efficient nodes the local search tries to merge pairwise."""
_IMPROVE_ROUNDS = 64
"""Most improvements the local search makes in one group (each drops at least one node or cost)."""


@dataclass(frozen=True, slots=True)
class AllocationItem:
    """Replicas of one model to allocate, and the size classes (by shape) they may use."""

    size: ReplicaSize
    count: int
    shapes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ClassAllocation:
    """What one size class runs: nodes, and replicas per model."""

    nodes: int
    replicas: dict[str, int]


class NodeFill:
    """One node while packing: its class (`shape`), free capacity and content (replicas per model)."""

    __slots__ = ("shape", "instance", "cpu", "memory", "gpus", "slots", "gpu_memory", "content")

    def __init__(self, shape: str, instance: InstanceType, slots_per_gpu: int, shared: bool) -> None:
        self.shape = shape
        self.instance = instance
        self.cpu = usable_cpu(instance)
        self.memory = usable_memory_gib(instance)
        self.gpus = instance.gpus
        self.slots = [slots_per_gpu] * instance.gpus if shared else []
        self.gpu_memory = [instance.gpu_memory_per_gpu_gib] * instance.gpus if shared else []
        self.content: dict[str, int] = {}

    def clone(self) -> NodeFill:
        other = NodeFill.__new__(NodeFill)
        other.shape, other.instance = self.shape, self.instance
        other.cpu, other.memory, other.gpus = self.cpu, self.memory, self.gpus
        other.slots, other.gpu_memory = list(self.slots), list(self.gpu_memory)
        other.content = dict(self.content)
        return other

    def room_for(self, size: ReplicaSize) -> bool:
        """Whether one more replica might fit (vCPU, memory, GPUs, a free slot): a quick test before `place`."""
        if self.cpu + _EPSILON < size.cpu or self.memory + _EPSILON < size.memory_gib or self.gpus < size.gpus:
            return False
        return not size.shared or any(self.slots)

    def place(self, size: ReplicaSize, count: int) -> int:
        """Put up to `count` replicas here; how many fitted."""
        if count <= 0 or self.cpu + _EPSILON < size.cpu or self.memory + _EPSILON < size.memory_gib or self.gpus < size.gpus:
            return 0
        fit = min(count, math.floor(self.cpu / size.cpu + _EPSILON), math.floor(self.memory / size.memory_gib + _EPSILON))
        if fit <= 0:
            return 0
        if size.shared:
            placed = 0
            for index, slots in enumerate(self.slots):
                if placed == fit:
                    break
                here = min(fit - placed, slots, math.floor(self.gpu_memory[index] / size.gpu_memory_gib + _EPSILON))
                if here > 0:
                    self.slots[index] -= here
                    self.gpu_memory[index] -= here * size.gpu_memory_gib
                    placed += here
            fit = placed
        elif size.gpus:
            fit = min(fit, self.gpus // size.gpus)
            self.gpus -= fit * size.gpus
        if fit:
            self.cpu -= fit * size.cpu
            self.memory -= fit * size.memory_gib
            self.content[size.model] = self.content.get(size.model, 0) + fit
        return fit

    def full(self, shared: bool, has_gpus: bool, min_cpu: float, min_memory: float) -> bool:
        """Whether no replica of a pool whose smallest replica needs `min_cpu` and `min_memory` fits any more."""
        if self.cpu + _EPSILON < min_cpu or self.memory + _EPSILON < min_memory:
            return True
        if shared:
            return not any(self.slots)
        return has_gpus and self.gpus == 0


def _dominant(size: ReplicaSize, instance: InstanceType) -> float:
    return max(resource_shares(size, instance))


def node_holds(instance: InstanceType, content: Sequence[tuple[ReplicaSize, int]]) -> bool:
    """Whether one empty node of `instance` holds all of `content` (size, replicas), packed largest first."""
    wanted = [(size, count) for size, count in content if count > 0]
    if not wanted:
        return True
    first = wanted[0][0]
    node = NodeFill("", instance, first.slots_per_gpu, first.shared)
    wanted.sort(key=lambda item: (-_dominant(item[0], instance), item[0].model))
    return all(node.place(size, count) == count for size, count in wanted)


class _Group:
    """One group's allocation problem."""

    def __init__(self, items: Sequence[AllocationItem], instances: Mapping[str, InstanceType], capacity: CapacityType) -> None:
        self.sizes = {item.size.model: item.size for item in items}
        self.allowed = {item.size.model: frozenset(item.shapes) for item in items}
        self.instances = dict(instances)
        self.price = {shape: instance.price(capacity) for shape, instance in self.instances.items()}
        first = items[0].size
        self.shared, self.slots = first.shared, first.slots_per_gpu
        self.exclusive_gpu = first.is_gpu and not first.shared
        self.min_cpu = min(item.size.cpu for item in items)
        self.min_memory = min(item.size.memory_gib for item in items)
        self.fills: dict[str, tuple[NodeFill, dict[str, int]]] = {}
        self.holds: dict[tuple[str, tuple[tuple[str, int], ...]], bool] = {}
        self.value = {
            model: min(self.price[shape] * _dominant(size, self.instances[shape]) for shape in self.allowed[model])
            for model, size in self.sizes.items()
        }
        # Per class: the models that may use it, largest dominant share first.
        self.order = {
            shape: sorted(
                (model for model in self.sizes if shape in self.allowed[model]),
                key=lambda model: (-_dominant(self.sizes[model], instance), model),
            )
            for shape, instance in self.instances.items()
        }
        self.initial_order = {shape: list(order) for shape, order in self.order.items()}
        self.cpu_order = {
            shape: sorted(order, key=lambda model: (-self.sizes[model].cpu / usable_cpu(self.instances[shape]), model))
            for shape, order in self.order.items()
        }
        self.round_robin = False
        self.by_price = sorted(self.instances, key=lambda shape: (self.price[shape], shape))

    def empty(self, shape: str) -> NodeFill:
        return NodeFill(shape, self.instances[shape], self.slots, self.shared)

    def worth(self, node: NodeFill) -> float:
        return sum(self.value[model] * count for model, count in node.content.items())

    def fill(self, shape: str, remaining: Mapping[str, int]) -> NodeFill:
        """One node of `shape` filled with the remaining replicas, largest dominant share first.

        In round-robin mode one replica of each model per round, so models with different
        resource profiles share the node (two GPU-heavy replicas beside CPU-heavy ones).
        """
        if self.round_robin:
            return self.fill_round_robin(shape, remaining)
        node = self.empty(shape)
        for model in self.order[shape]:
            left = remaining.get(model, 0)
            if left:
                node.place(self.sizes[model], left)
                if node.cpu + _EPSILON < self.min_cpu or node.memory + _EPSILON < self.min_memory:
                    break
                if self.shared and not any(node.slots):
                    break
                if self.exclusive_gpu and node.gpus == 0:
                    break
        return node

    def fill_round_robin(self, shape: str, remaining: Mapping[str, int]) -> NodeFill:
        node = self.empty(shape)
        left = {model: remaining.get(model, 0) for model in self.order[shape] if remaining.get(model, 0)}
        progress = True
        while progress and left:
            progress = False
            for model in list(left):
                if node.place(self.sizes[model], 1):
                    progress = True
                    left[model] -= 1
                    if not left[model]:
                        del left[model]
                else:
                    del left[model]  # it did not fit now, and the node only fills up
        return node

    def cached_fill(self, shape: str, remaining: Mapping[str, int]) -> NodeFill:
        """`fill`, reusing the last fill of `shape` while the replicas it took are still there to take.

        A fill depends on the remaining counts only of the models it placed: one that took
        fewer than were left took all that fitted, and still does while at least that many
        remain; one that took all that were left needs exactly that count again.
        """
        cached = self.fills.get(shape)
        if cached is not None:
            node, seen = cached
            if all(
                remaining.get(model, 0) == seen[model] or (count < seen[model] and remaining.get(model, 0) >= count)
                for model, count in node.content.items()
            ):
                return node
        node = self.fill(shape, remaining)
        self.fills[shape] = (node, {model: remaining[model] for model in node.content})
        return node

    def greedy(self, demand: Mapping[str, int], caps: Mapping[str, int] | None = None) -> list[NodeFill]:
        """Buy the node of lowest price per packed value until every replica is placed (at most `caps[shape]` of a shape)."""
        remaining = {model: count for model, count in demand.items() if count > 0}
        nodes: list[NodeFill] = []
        bought: dict[str, int] = defaultdict(int)
        caps = caps or {}
        shapes = sorted(self.instances, key=lambda shape: (self.price[shape], shape))
        while remaining:
            best: tuple[float, NodeFill] | None = None
            for shape in shapes:
                if shape in caps and bought[shape] >= caps[shape]:
                    continue
                node = self.cached_fill(shape, remaining)
                worth = self.worth(node)
                if worth <= 0:
                    continue
                score = self.price[shape] / worth
                if best is None or score < best[0] - _EPSILON:
                    best = (score, node)
            if best is None:
                raise ValueError(f"no class holds {sorted(remaining)}")  # sizing guarantees every replica fits one
            node = best[1]
            repeat = min(remaining[model] // count for model, count in node.content.items())
            if node.shape in caps:
                repeat = max(1, min(repeat, caps[node.shape] - bought[node.shape]))
            bought[node.shape] += repeat
            nodes.extend(node.clone() for _ in range(repeat))
            for model, count in node.content.items():
                remaining[model] -= count * repeat
                if remaining[model] == 0:
                    del remaining[model]
                    for order in self.order.values():
                        if model in order:
                            order.remove(model)
        return nodes

    def try_empty(self, nodes: list[NodeFill], index: int) -> list[NodeFill] | None:
        """The nodes without nodes[index], its replicas moved to the others' free room; None when they do not fit."""
        source = nodes[index]
        changed: dict[int, NodeFill] = {}
        items = sorted(source.content.items(), key=lambda item: (-_dominant(self.sizes[item[0]], source.instance), item[0]))
        for model, count in items:
            size = self.sizes[model]
            left = count
            for position, node in enumerate(nodes):
                if position == index or node.shape not in self.allowed[model]:
                    continue
                current = changed.get(position, node)
                if not current.room_for(size):
                    continue
                target = changed.get(position) or node.clone()
                placed = target.place(size, left)
                if placed:
                    changed[position] = target
                    left -= placed
                    if not left:
                        break
            if left:
                return None
        return [changed.get(position, node) for position, node in enumerate(nodes) if position != index]

    def cheapest_holding(self, content: Mapping[str, int]) -> str | None:
        allowed = frozenset.intersection(*(self.allowed[model] for model in content))
        ordered = tuple(sorted(content.items()))
        pairs = [(self.sizes[model], count) for model, count in ordered]
        for shape in self.by_price:
            if shape not in allowed:
                continue
            key = (shape, ordered)
            holds = self.holds.get(key)
            if holds is None:
                holds = self.holds[key] = node_holds(self.instances[shape], pairs)
            if holds:
                return shape
        return None

    def rebuilt(self, shape: str, content: Mapping[str, int]) -> NodeFill:
        node = self.empty(shape)
        for model in sorted(content, key=lambda model: (-_dominant(self.sizes[model], node.instance), model)):
            node.place(self.sizes[model], content[model])
        return node

    def improve(self, nodes: list[NodeFill]) -> list[NodeFill]:
        improved = True
        rounds = 0
        while improved and rounds < _IMPROVE_ROUNDS:
            improved = False
            rounds += 1
            ranked = sorted(range(len(nodes)), key=lambda index: (self.worth(nodes[index]) / self.price[nodes[index].shape], index))
            for index in ranked[:_IMPROVE_WINDOW]:
                emptied = self.try_empty(nodes, index)
                if emptied is not None:
                    nodes, improved = emptied, True
                    break
            if improved:
                continue
            window = ranked[:_MERGE_WINDOW]
            for first_position, first in enumerate(window):
                for second in window[first_position + 1 :]:
                    content: dict[str, int] = defaultdict(int)
                    for node in (nodes[first], nodes[second]):
                        for model, count in node.content.items():
                            content[model] += count
                    shape = self.cheapest_holding(content)
                    if shape is not None and self.price[shape] + _EPSILON < self.price[nodes[first].shape] + self.price[nodes[second].shape]:
                        merged = self.rebuilt(shape, content)
                        nodes = [node for position, node in enumerate(nodes) if position not in (first, second)] + [merged]
                        improved = True
                        break
                if improved:
                    break
        result = []
        for node in nodes:
            shape = self.cheapest_holding(node.content)
            if shape is not None and self.price[shape] + _EPSILON < self.price[node.shape]:
                node = self.rebuilt(shape, node.content)
            result.append(node)
        return result


def _cost(group: _Group, nodes: Sequence[NodeFill]) -> float:
    return sum(group.price[node.shape] for node in nodes)


def allocate(
    items: Sequence[AllocationItem], instances: Mapping[str, InstanceType], capacity: CapacityType
) -> dict[str, ClassAllocation]:
    """Nodes and replicas per size class (shape -> allocation) for one group's replicas.

    `instances`: the node template (cheapest type) of every class by shape; `capacity`:
    which price applies. Every item's shapes must be keys of `instances`, and one replica
    must fit one node of each (sizing and the fit classes guarantee it). Classes that get
    no node are absent from the result.
    """
    wanted = [item for item in items if item.count > 0]
    if not wanted:
        return {}
    group = _Group(wanted, instances, capacity)
    demand = {item.size.model: item.count for item in wanted}
    nodes = group.improve(group.greedy(demand))
    if len(nodes) <= _VARIANT_NODES:
        # The greedy buys the most efficient full nodes first, which can leave an awkward remainder (13 replicas as
        # 4 + 4 + 4 + 1 where 4 + 3 + 3 + 3 is cheaper). Small groups also try buying fewer of each class it chose.
        # Round-robin fills (one replica of each model per round, by dominant share and by vCPU share) pair models
        # of different profiles on one node where filling model by model stacks alike replicas together.
        best = nodes
        for round_robin, order in ((False, group.initial_order), (True, group.initial_order), (True, group.cpu_order)):
            group.round_robin = round_robin
            group.fills.clear()
            group.order = {key: list(value) for key, value in order.items()}
            base = group.improve(group.greedy(demand))
            if _cost(group, base) + _EPSILON < _cost(group, best):
                best = base
            if len(base) > _FEWER_NODES:
                continue
            for shape in sorted({node.shape for node in base}):
                count = sum(1 for node in base if node.shape == shape)
                for fewer in range(1, min(_VARIANT_STEPS, count) + 1):
                    group.fills.clear()
                    group.order = {key: list(value) for key, value in order.items()}
                    try:
                        variant = group.improve(group.greedy(demand, {shape: count - fewer}))
                    except ValueError:
                        break
                    if _cost(group, variant) + _EPSILON < _cost(group, best):
                        best = variant
        nodes = best
    result: dict[str, ClassAllocation] = {}
    for node in nodes:
        entry = result.setdefault(node.shape, ClassAllocation(0, {}))
        replicas = entry.replicas
        for model, count in node.content.items():
            replicas[model] = replicas.get(model, 0) + count
        result[node.shape] = ClassAllocation(entry.nodes + 1, replicas)
    return result
