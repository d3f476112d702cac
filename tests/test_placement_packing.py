"""Placement: right-sizing and bin-packing on small hand-checked cases."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from inferstack.placement import PlacementRequest, place
from inferstack.pricing.catalog import load_catalog
from inferstack.problems import InputError
from inferstack.sizing import GPU_MEMORY_HEADROOM
from inferstack.spec import ModelSpec, load_environment
from inferstack.spec.environment import EnvironmentConfig
from tests.spec_factory import spec_document


@pytest.fixture
def dev(repo_root: Path) -> EnvironmentConfig:
    return load_environment(repo_root / "stacks", "dev")


def _request(name: str, replicas: int, **changes: Any) -> PlacementRequest:
    document = spec_document(name=name, scaling={"min_replicas": replicas, "max_replicas": replicas}, **changes)
    return PlacementRequest(ModelSpec.model_validate(document), f"specs/{name}.yaml")


def _steady_hourly(requests: list[PlacementRequest], config: EnvironmentConfig) -> float:
    placement = place(requests, config, load_catalog(config.region))
    return sum(pool.min_size * pool.hourly_usd for pool in placement.node_pools)


def test_four_small_shared_replicas_fill_one_time_sliced_gpu(dev: EnvironmentConfig) -> None:
    request = _request(
        "embedder",
        4,
        accelerator={"gpu_type": "t4", "gpus_per_replica": 1, "gpu_memory_gib": 3, "shareable": True},
        serving={"resources": {"cpu": 0.5, "memory_gib": 1}},
    )
    placement = place([request], dev, load_catalog("us-east-1"))
    (pool,) = [pool for pool in placement.node_pools if pool.min_size]  # the other pools are its larger fit classes, empty
    # 4 slots per GPU; 4 x 3.45 GiB <= 16 GiB; 2 vCPU <= 3.5; one g4dn.xlarge.
    assert (pool.name, pool.instance_types[0], pool.min_size, pool.time_slicing_replicas) == (
        "t4-shared-spot-1x-4c-16g",
        "g4dn.xlarge",
        1,
        4,
    )
    assert placement.replicas_per_gpu["embedder"] == 4
    assert placement.sizes["embedder"].gpu_memory_gib == pytest.approx(3 * (1 + GPU_MEMORY_HEADROOM))


def test_shared_replicas_are_packed_by_gpu_memory(dev: EnvironmentConfig) -> None:
    # 7 GiB + 15% = 8.05 GiB: only one fits on a 16 GiB T4 although it has 4 slots.
    request = _request(
        "ranker",
        2,
        accelerator={"gpu_type": "t4", "gpus_per_replica": 1, "gpu_memory_gib": 7, "shareable": True},
        serving={"resources": {"cpu": 0.5, "memory_gib": 1}},
    )
    (pool,) = [pool for pool in place([request], dev, load_catalog("us-east-1")).node_pools if pool.min_size]
    assert (pool.instance_types[0], pool.min_size) == ("g4dn.xlarge", 2)


def test_replicas_of_other_shapes_get_pools_of_their_own_size_class(dev: EnvironmentConfig) -> None:
    l40s = {"gpu_type": "l40s", "gpus_per_replica": 2, "gpu_memory_gib": 80}
    requests = [
        _request("big", 1, accelerator=l40s, serving={"resources": {"cpu": 8, "memory_gib": 64}}),
        _request("small-a", 1, accelerator={"gpu_type": "l40s", "gpus_per_replica": 1, "gpu_memory_gib": 30}),
        _request("small-b", 1, accelerator={"gpu_type": "l40s", "gpus_per_replica": 1, "gpu_memory_gib": 30}),
    ]
    placement = place(requests, dev, load_catalog("us-east-1"))
    # A model's pools follow from its own replica shape (stable identity), not from who else is placed: the
    # 2-GPU replica prefers the 4-GPU class, the 1-GPU replicas the cheapest 1-GPU class (first in their node affinity).
    pools = {pool.name: pool for pool in placement.node_pools}
    assert placement.pools_by_model["big"][0] == "l40s-spot-4x-48c-384g"
    assert placement.pools_by_model["small-a"][0] == placement.pools_by_model["small-b"][0] == "l40s-spot-1x-4c-32g"
    assert placement.pools_by_model["small-a"] == placement.pools_by_model["small-b"]
    assert (pools["l40s-spot-4x-48c-384g"].instance_types, pools["l40s-spot-4x-48c-384g"].min_size) == (("g6e.12xlarge",), 1)
    # The 1-GPU replicas may also use the 4-GPU class (within 50% per replica): they fill the big model's idle GPUs
    # there instead of buying 2 x g6e.xlarge.
    assert pools["l40s-spot-4x-48c-384g"].replicas == (("big", 1, 1), ("small-a", 1, 1), ("small-b", 1, 1))
    assert sum(pool.min_size for pool in placement.node_pools) == 1
    assert place(requests[:1], dev, load_catalog("us-east-1")).pools_by_model["big"] == placement.pools_by_model["big"]


def test_three_two_gpu_replicas_need_two_four_gpu_nodes(dev: EnvironmentConfig) -> None:
    request = _request(
        "llm",
        3,
        accelerator={"gpu_type": "l40s", "gpus_per_replica": 2, "gpu_memory_gib": 80},
        serving={"resources": {"cpu": 8, "memory_gib": 32}},
    )
    (pool,) = [pool for pool in place([request], dev, load_catalog("us-east-1")).node_pools if pool.min_size]
    assert (pool.instance_types[0], pool.min_size) == ("g6e.12xlarge", 2)


def test_cpu_replicas_are_packed_onto_the_cheapest_nodes(dev: EnvironmentConfig) -> None:
    cpu_only = {"gpu_type": "none", "gpus_per_replica": 0, "gpu_memory_gib": 0}
    requests = [
        _request(f"scorer-{index}", 2, accelerator=cpu_only, serving={"resources": {"cpu": 1, "memory_gib": 2}})
        for index in range(5)
    ]
    catalog = load_catalog("us-east-1")
    # 1 vCPU / 2 GiB replicas: c7i.4xlarge is cheapest per replica (15 a node, 0.048 USD/h each); c7i.2xlarge
    # (7 a node, 0.051) is within 20% of it and the smaller node, so it is the preferred class. Its smaller
    # neighbours are fit classes too: 10 replicas = 7 on one c7i.2xlarge + 3 on one m6i.xlarge (3.5 vCPU left),
    # 0.2375 USD/h spot, where two c7i.2xlarge (the old one-class packing) cost 0.3213.
    placement = place(requests, dev, catalog)
    assert placement.pools_by_model["scorer-0"][0] == "cpu-spot-8c-16g"
    used = {pool.instance_types[0]: pool.min_size for pool in placement.node_pools if pool.min_size}
    assert used == {"c7i.2xlarge": 1, "m6i.xlarge": 1}
    assert _steady_hourly(requests, dev) == pytest.approx(
        catalog.instances["c7i.2xlarge"].spot_usd_hour + catalog.instances["m6i.xlarge"].spot_usd_hour
    )


def test_model_too_large_names_model_and_largest_allowed_type(dev: EnvironmentConfig) -> None:
    request = _request(
        "giant",
        1,
        accelerator={"gpu_type": "h100", "gpus_per_replica": 8, "gpu_memory_gib": 600},
        serving={"resources": {"cpu": 192, "memory_gib": 64}},
    )
    with pytest.raises(InputError) as error:
        place([request], dev, load_catalog("us-east-1"))
    message = str(error.value)
    # 8 x H100 fit a p5.48xlarge; 192 vCPU do not: the problem is reported under the CPU request.
    assert message.startswith("specs/giant.yaml: serving.resources.cpu: model 'giant' needs 8 x NVIDIA H100")
    assert "the largest allowed is p5.48xlarge (8 x NVIDIA H100 80 GiB, 192 vCPU" in message


def test_families_that_offer_no_such_gpu_are_named(dev: EnvironmentConfig) -> None:
    request = _request("pinned", 1, capacity={"instance_families": ["g5"]})  # base spec asks for an L4
    with pytest.raises(InputError, match="model 'pinned' .*no instance type with GPU l4 in families g5"):
        place([request], dev, load_catalog("us-east-1"))


def test_measured_memory_replaces_the_spec_figure(dev: EnvironmentConfig) -> None:
    request = _request(
        "embedder",
        4,
        accelerator={"gpu_type": "t4", "gpus_per_replica": 1, "gpu_memory_gib": 3, "shareable": True},
        serving={"resources": {"cpu": 0.5, "memory_gib": 1}},
    )
    placement = place([request], dev, load_catalog("us-east-1"), measured_gpu_memory_gib={"embedder": 7})
    assert placement.sizes["embedder"].measured
    assert placement.node_pools[0].min_size == 4  # 8.05 GiB each: one per T4
    with pytest.raises(InputError, match="measured at 20 GiB peak GPU memory"):
        place([request], dev, load_catalog("us-east-1"), measured_gpu_memory_gib={"embedder": 20})


def test_placement_is_deterministic(dev: EnvironmentConfig) -> None:
    requests = [
        _request(f"model-{index}", 1 + index % 3, accelerator={"gpu_type": "l4", "gpus_per_replica": 1, "gpu_memory_gib": 8, "shareable": index % 2 == 0})
        for index in range(12)
    ]
    catalog = load_catalog("us-east-1")
    assert place(requests, dev, catalog) == place(list(reversed(requests)), dev, catalog)
