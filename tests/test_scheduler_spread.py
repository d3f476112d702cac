"""benchmarks/scheduler_spread.py on a hand-computed pool: what Cluster Autoscaler's threshold leaves after a peak."""

from __future__ import annotations

from benchmarks.scheduler_spread import simulate_pool

# One model, 0.3 of a node's CPU per replica: 6 steady (the planner packs 3 a node: 2 nodes), 9 at peak (3 nodes).
# Steady: 3 replicas on each of the 2 min nodes (0.9). Peak: 3 more fit nowhere, the autoscaler adds 1 node, 0.9.
# Back to steady, the ReplicaSet deletes the newest pod from a node holding most of its pods: one from each node,
# leaving 2 pods (0.6) on each of 3 nodes.
REPLICAS = [("m", (0.0, 0.0, 0.3, 0.05), 6, 9)]


def test_the_default_threshold_keeps_three_nodes_at_60_percent() -> None:
    # 0.6 is not below 0.5: no node is a candidate, 3 nodes stay where the planner counts 2 (+50%).
    assert simulate_pool(REPLICAS, min_nodes=2, scoring="least", threshold=0.5, gpu=False) == 3


def test_our_threshold_drains_one_node_into_the_others() -> None:
    # 0.6 < 0.7: the first node's 2 pods go to the other two (0.9 each) and it is removed: the planner's 2.
    assert simulate_pool(REPLICAS, min_nodes=2, scoring="least", threshold=0.7, gpu=False) == 2
    assert simulate_pool(REPLICAS, min_nodes=2, scoring="most", threshold=0.7, gpu=False) == 2


def test_gpu_nodes_are_judged_by_gpu_share() -> None:
    # Exclusive 1-of-4-GPU replicas, 4 steady (1 node), 8 at peak (2 nodes). Back to steady, 2 pods stay on each node:
    # 2 of 4 GPUs is 0.5, not below the default 0.5 (2 nodes kept), below our 0.7 (drained into the other: 1 node).
    replicas = [("g", (0.25, 0.25, 0.05, 0.05), 4, 8)]
    assert simulate_pool(replicas, min_nodes=1, scoring="least", threshold=0.5, gpu=True) == 2
    assert simulate_pool(replicas, min_nodes=1, scoring="least", threshold=0.7, gpu=True) == 1
