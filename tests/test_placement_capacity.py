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
    return config.model_copy(update={"spot": SpotConfig(policy=policy, min_instance_types=2)})  # type: ignore[arg-type]


def _request(**changes: Any) -> PlacementRequest:
    document = spec_document(scaling={"min_replicas": 2, "max_replicas": 5}, **changes)
    return PlacementRequest(ModelSpec.model_validate(document), "specs/demo.yaml")


def _split(config: EnvironmentConfig, request: PlacementRequest) -> dict[str, tuple[int, int]]:
    """capacity type -> (steady, peak) replicas of the model."""
    placement = place([request], config, load_catalog(config.region))
    result: dict[str, tuple[int, int]] = {}
    for pool in placement.node_pools:
        for _, steady, peak in pool.replicas:
            result[pool.capacity_type] = (steady, peak)
    assert placement.pools_by_model[request.spec.name] == tuple(pool.name for pool in sorted(
        placement.node_pools, key=lambda pool: pool.capacity_type != "ON_DEMAND"
    ))
    return result


def test_dev_is_spot_only(repo_root: Path) -> None:
    assert _split(_config(repo_root, "dev"), _request()) == {"SPOT": (2, 5)}


def test_prod_puts_min_replicas_on_demand_and_the_burst_on_spot(repo_root: Path) -> None:
    assert _split(_config(repo_root, "prod"), _request()) == {"ON_DEMAND": (2, 2), "SPOT": (0, 3)}


def test_spec_never_stays_on_demand_even_in_spot_only(repo_root: Path) -> None:
    assert _split(_config(repo_root, "dev"), _request(capacity={"spot": "never"})) == {"ON_DEMAND": (2, 5)}


def test_spec_required_is_all_spot_under_an_on_demand_base(repo_root: Path) -> None:
    assert _split(_config(repo_root, "prod"), _request(capacity={"spot": "required"})) == {"SPOT": (2, 5)}


@pytest.mark.parametrize(("policy", "expected"), [("spot-preferred", "SPOT"), ("on-demand-only", "ON_DEMAND")])
def test_other_policies(repo_root: Path, policy: str, expected: str) -> None:
    assert _split(_config(repo_root, "staging", policy), _request(capacity={"spot": "required"} if expected == "ON_DEMAND" else {})) == {
        expected: (2, 5)
    }


def test_spot_pools_diversify_over_types_with_the_same_gpu_count(repo_root: Path) -> None:
    config = _config(repo_root, "dev")
    placement = place([_request()], config, load_catalog(config.region))
    (pool,) = placement.node_pools
    catalog = load_catalog(config.region)
    types = [catalog.instances[name] for name in pool.instance_types]
    assert len(types) >= config.spot.min_instance_types
    template = types[0]
    assert all(item.gpus == template.gpus and item.gpu_type == "l4" for item in types)
    assert all(item.vcpu >= template.vcpu and item.memory_gib >= template.memory_gib for item in types)
    assert pool.hourly_usd == template.spot_usd_hour


def test_on_demand_pools_have_one_type(repo_root: Path) -> None:
    config = _config(repo_root, "prod")
    placement = place([_request()], config, load_catalog(config.region))
    on_demand = [pool for pool in placement.node_pools if pool.capacity_type == "ON_DEMAND"]
    assert len(on_demand) == 1 and len(on_demand[0].instance_types) == 1
