"""Placement: spot / on-demand split per environment policy and spec preference; spot diversification."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from inferstack.placement import PlacementRequest, place
from inferstack.pricing.catalog import load_catalog
from inferstack.spec import ModelSpec, load_environment
from inferstack.spec.environment import EnvironmentConfig, SpotConfig
from tests.spec_factory import spec_document


def _config(repo_root: Path, environment: str, policy: str | None = None) -> EnvironmentConfig:
    config = load_environment(repo_root / "stacks", environment)
    if policy is None:
        return config
    # Where spot is only preferred, thin spot pools (one equal-capacity type) stay on spot over 3 capacity pools.
    pools = 3 if policy in ("spot-preferred", "on-demand-base") else None
    return config.model_copy(update={"spot": SpotConfig(policy=policy, min_instance_types=2, min_capacity_pools=pools)})  # type: ignore[arg-type]


def _request(**changes: Any) -> PlacementRequest:
    document = spec_document(scaling={"min_replicas": 2, "max_replicas": 5}, **changes)
    return PlacementRequest(ModelSpec.model_validate(document), "specs/demo.yaml")


def _split(config: EnvironmentConfig, request: PlacementRequest) -> dict[str, tuple[int, int]]:
    """capacity type -> (steady, peak) replicas of the model, added up over its pools of that capacity type."""
    placement = place([request], config, load_catalog(config.region))
    result: dict[str, tuple[int, int]] = {}
    pools = [pool for pool in placement.node_pools if pool.fallback_for is None]  # fallbacks stand in for a spot pool
    for pool in pools:
        for _, steady, peak in pool.replicas:
            low, high = result.get(pool.capacity_type, (0, 0))
            result[pool.capacity_type] = (low + steady, high + peak)
    # The model may use every pool of its fit classes, base capacity (on-demand) first.
    names = placement.pools_by_model[request.spec.name]
    assert set(names) == {pool.name for pool in pools}
    kinds = [("-ondemand-" in name) for name in names]
    assert kinds == sorted(kinds, reverse=True), names
    return result


def test_dev_is_spot_only(repo_root: Path) -> None:
    assert _split(_config(repo_root, "dev"), _request()) == {"SPOT": (2, 5)}


def test_prod_puts_min_replicas_on_demand_and_the_burst_on_spot(repo_root: Path) -> None:
    assert _split(_config(repo_root, "prod"), _request()) == {"ON_DEMAND": (2, 2), "SPOT": (0, 3)}


def test_spec_never_stays_on_demand_even_in_spot_only(repo_root: Path) -> None:
    assert _split(_config(repo_root, "dev"), _request(capacity={"spot": "never"})) == {"ON_DEMAND": (2, 5)}


def test_spec_required_is_all_spot_under_an_on_demand_base(repo_root: Path) -> None:
    # A CPU replica: its classes of m6i/m7i types pass spot diversification without a fallback.
    cpu = {"gpu_type": "none", "gpus_per_replica": 0, "gpu_memory_gib": 0}
    request = _request(capacity={"spot": "required"}, accelerator=cpu, serving={"resources": {"cpu": 3, "memory_gib": 12}})
    assert _split(_config(repo_root, "prod"), request) == {"SPOT": (2, 5)}


@pytest.mark.parametrize(("policy", "expected"), [("spot-preferred", "SPOT"), ("on-demand-only", "ON_DEMAND")])
def test_other_policies(repo_root: Path, policy: str, expected: str) -> None:
    assert _split(_config(repo_root, "staging", policy), _request(capacity={"spot": "required"} if expected == "ON_DEMAND" else {})) == {
        expected: (2, 5)
    }


def test_pools_list_only_equal_capacity_types(repo_root: Path) -> None:
    # Cluster Autoscaler sizes a group from one of its types: every listed type has the same GPUs, vCPU and memory.
    config = _config(repo_root, "dev")
    cpu = {"gpu_type": "none", "gpus_per_replica": 0, "gpu_memory_gib": 0}
    catalog = load_catalog(config.region)
    for request in (_request(), _request(accelerator=cpu, serving={"resources": {"cpu": 3, "memory_gib": 12}})):
        pools = place([request], config, catalog).node_pools
        for pool in pools:
            types = [catalog.instances[name] for name in pool.instance_types]
            shapes = {(item.gpu_type, item.gpus, item.gpu_memory_gib, item.vcpu, item.memory_gib) for item in types}
            assert len(shapes) == 1, pool.instance_types
            assert pool.hourly_usd == types[0].spot_usd_hour
    # 3 vCPU / 12 GiB replicas: 5 per 16-vCPU node (0.15 USD/h each) beat 2 per 8-vCPU node (0.19) by over 20%;
    # m6i.4xlarge and m7i.4xlarge both offer 16 vCPU and 64 GiB: one class, two spot types (the preferred class, listed
    # first). The 2 steady replicas need less: 2 x m6i.xlarge (3.5 vCPU each, one replica a node) cost as much as one
    # m6i.2xlarge (7.5 vCPU, two), half the 4xlarge; the model may use those smaller classes too.
    assert {"m6i.4xlarge", "m7i.4xlarge"} in [set(pool.instance_types) for pool in pools]
    steady = sum(pool.min_size * pool.hourly_usd for pool in pools)
    assert steady == pytest.approx(catalog.instances["m6i.2xlarge"].spot_usd_hour) == pytest.approx(2 * catalog.instances["m6i.xlarge"].spot_usd_hour)


def test_on_demand_and_spot_parts_of_a_model_share_its_size_classes(repo_root: Path) -> None:
    config = _config(repo_root, "prod")
    placement = place([_request()], config, load_catalog(config.region))
    by_capacity = {
        kind: {pool.instance_types for pool in placement.node_pools if pool.capacity_type == kind and pool.fallback_for is None}
        for kind in ("ON_DEMAND", "SPOT")
    }
    assert by_capacity["ON_DEMAND"] == by_capacity["SPOT"] and by_capacity["SPOT"]
