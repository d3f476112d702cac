"""Cluster Autoscaler settings derived from the Blueprint: node group names and the priority expander's ranking.

The priority expander matches regular expressions against the Auto Scaling group
behind each node group; for an EKS managed node group that is
`eks-<node group name>-<node group UUID>`. Each pool gets an exact pattern, so a
cluster or pool name that happens to contain "spot" cannot promote the wrong group.
"""

from __future__ import annotations

import re

from inferstack.blueprint import Blueprint, NodePool

SPOT_PRIORITY = 30
"""Spot pools grow first."""
ON_DEMAND_PRIORITY = 20
"""Then on-demand pools (base capacity, and models that may not use spot)."""
FALLBACK_PRIORITY = 10
"""On-demand fallback pools grow only when their spot pool cannot (backed off after AWS reported no capacity)."""
UNLISTED_PRIORITY = 1
"""Node groups the Blueprint does not know (e.g. the system group) stay eligible, last."""
SCALE_DOWN_UTILIZATION_THRESHOLD = 0.7
"""A node whose requested share (GPU nodes: GPUs; others: the larger of CPU and memory) is below this is a scale-down
candidate; Cluster Autoscaler removes it when its pods fit on the other nodes. The default, 0.5 for both
(kubernetes/autoscaler cluster-autoscaler/main.go flags `scale-down-utilization-threshold`,
`scale-down-gpu-utilization-threshold`; chart 9.59.0 values.yaml comments the first at 0.5), keeps a 4-GPU node
with 2 GPUs in use; at 0.7 a node with at most 70% in use is drained into the others when they have room, which is
how the node groups approach the planner's packing after a peak (benchmarks/scheduler_spread.py measures it)."""
_ASG_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def node_group_name(cluster_name: str, pool: NodePool) -> str:
    """The EKS node group name of a Blueprint pool (also the middle of its Auto Scaling group's name)."""
    return f"{cluster_name}-{pool.name}"


def asg_pattern(cluster_name: str, pool: NodePool) -> str:
    """A regular expression matching exactly the Auto Scaling group EKS creates for the pool's node group."""
    name = re.escape(node_group_name(cluster_name, pool)).replace("\\-", "-")  # names are [A-Za-z0-9_-]
    return f"^eks-{name}-{_ASG_UUID}$"


def pool_priority(pool: NodePool) -> int:
    """The priority expander's rank of a pool: spot, then on-demand, then on-demand fallback."""
    if pool.fallback_for is not None:
        return FALLBACK_PRIORITY
    return SPOT_PRIORITY if pool.capacity_type == "SPOT" else ON_DEMAND_PRIORITY


def expander_priorities(blueprint: Blueprint) -> dict[str, list[str]]:
    """The chart's `expanderPriorities` value: priority (as text) -> Auto Scaling group patterns."""
    cluster_name = blueprint.config.cluster.name
    ranked: dict[int, list[str]] = {UNLISTED_PRIORITY: [".*"]}
    for pool in blueprint.node_pools:
        ranked.setdefault(pool_priority(pool), []).append(asg_pattern(cluster_name, pool))
    return {str(priority): sorted(patterns) for priority, patterns in sorted(ranked.items(), reverse=True)}


def scale_down_args() -> dict[str, float]:
    """The chart's `extraArgs` that make Cluster Autoscaler repack under-used nodes (GPU and CPU nodes alike).

    kube-scheduler's scoring cannot be changed on EKS (the managed control plane runs it with the default
    profile, NodeResourcesFit LeastAllocated, which spreads pods); the autoscaler's scale-down is the lever
    the platform has in node-group mode (docs/cost-model.md, "Packing the cluster achieves").
    """
    return {
        "scale-down-utilization-threshold": SCALE_DOWN_UTILIZATION_THRESHOLD,
        "scale-down-gpu-utilization-threshold": SCALE_DOWN_UTILIZATION_THRESHOLD,
    }
