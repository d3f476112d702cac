"""Thin spot pools: diversity counted in capacity pools (type x AZ), on-demand fallback pools, and an on-demand base count."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from inferstack.blueprint import Blueprint
from inferstack.compiler import compile_blueprint
from inferstack.constants import LABEL_CAPACITY_TYPE, LABEL_NODE_POOL
from inferstack.cost import estimate
from inferstack.placement import PlacementRequest, place
from inferstack.pricing.catalog import load_catalog
from inferstack.problems import InputError
from inferstack.render.cluster_autoscaler import (
    FALLBACK_PRIORITY,
    SPOT_PRIORITY,
    expander_priorities,
)
from inferstack.spec import ModelSpec, load_environment
from inferstack.spec.environment import EnvironmentConfig
from inferstack.spec.loader import LoadedSpec
from tests.policy_corpus.baseline import environment_config, stack_config
from tests.spec_factory import spec_document

ASG_UUID = "40bbb26b-8679-eb64-d33a-4ba475413529"


def _staging(repo_root: Path, **spot: Any) -> EnvironmentConfig:
    config = load_environment(repo_root / "stacks", "staging")
    return config.model_copy(update={"spot": config.spot.model_copy(update=spot)})


def _h100x8(name: str = "big-llm", **changes: Any) -> ModelSpec:
    """An 8-GPU H100 replica: fits p5.48xlarge only, one instance type."""
    document = spec_document(
        name=name,
        accelerator={"gpu_type": "h100", "gpus_per_replica": 8, "gpu_memory_gib": 600},
        scaling={"min_replicas": 2, "max_replicas": 3},
        **changes,
    )
    return ModelSpec.model_validate(document)


def _place(config: EnvironmentConfig, *specs: ModelSpec):
    return place([PlacementRequest(spec, f"specs/{spec.name}.yaml") for spec in specs], config, load_catalog(config.region))


def test_thin_spot_pool_over_three_zones_gets_an_on_demand_fallback(repo_root: Path) -> None:
    config = _staging(repo_root)
    assert config.spot.min_capacity_pools == 3 and len(config.network.availability_zones) == 3
    placement = _place(config, _h100x8())
    pools = {pool.name: pool for pool in placement.node_pools}
    spot, fallback = pools["h100-spot-8x-192c-2048g"], pools["h100-fallback-8x-192c-2048g"]
    assert spot.capacity_type == "SPOT" and spot.instance_types == ("p5.48xlarge",) and spot.min_size == 2
    assert fallback.capacity_type == "ON_DEMAND" and fallback.fallback_for == "h100-spot-8x-192c-2048g"
    assert (fallback.min_size, fallback.desired_size, fallback.max_size) == (0, 0, spot.max_size)
    assert fallback.instance_types == spot.instance_types and fallback.taints == spot.taints
    labels = dict(fallback.labels)
    assert labels[LABEL_NODE_POOL] == "h100-spot-8x-192c-2048g" and labels[LABEL_CAPACITY_TYPE] == "on-demand"
    assert placement.pools_by_model["big-llm"] == ("h100-spot-8x-192c-2048g",)  # pods select the spot pool's label, which both carry


def test_without_min_capacity_pools_a_thin_replica_is_bought_on_demand(repo_root: Path) -> None:
    placement = _place(_staging(repo_root, min_capacity_pools=None), _h100x8())
    assert [(pool.name, pool.capacity_type) for pool in placement.node_pools] == [("h100-ondemand-8x-192c-2048g", "ON_DEMAND")]


def test_too_few_capacity_pools_stay_on_demand(repo_root: Path) -> None:
    placement = _place(_staging(repo_root, min_capacity_pools=4), _h100x8())  # 1 type x 3 zones = 3 < 4
    assert [pool.capacity_type for pool in placement.node_pools] == ["ON_DEMAND"]


def test_spot_required_on_a_thin_class_is_bad_input_where_diversification_is_mandatory(repo_root: Path) -> None:
    # The case: `capacity.spot: required` on H100 gave a one-type h100-spot-only pool with no fallback, and
    # staging and prod plans then exited 1 on spot-diversification. No H100 class has two types: exit 2, naming both.
    with pytest.raises(InputError) as error:
        _place(_staging(repo_root), _h100x8(), _h100x8("spot-llm", capacity={"spot": "required"}))
    (problem,) = error.value.problems
    assert (problem.file, problem.path) == ("specs/spot-llm.yaml", "capacity.spot")
    assert "mandatory spot-diversification rule" in problem.message and "requires spot" in problem.message


def test_spot_required_gets_a_spot_only_pool_where_diversification_is_advisory(repo_root: Path) -> None:
    config = _staging(repo_root)
    config = config.model_copy(update={"policy": config.policy.model_copy(update={"enforcement": {"spot-diversification": "advisory"}})})
    placement = _place(config, _h100x8(), _h100x8("spot-llm", capacity={"spot": "required"}))
    pools = {pool.name: pool for pool in placement.node_pools if pool.min_size}
    assert set(pools) == {"h100-spot-8x-192c-2048g", "h100-spot-only-8x-192c-2048g"}
    assert pools["h100-spot-only-8x-192c-2048g"].models == ("spot-llm",)
    assert placement.pools_by_model["spot-llm"] == ("h100-spot-only-8x-192c-2048g",)
    fallbacks = [pool for pool in placement.node_pools if pool.fallback_for is not None]
    assert fallbacks and all("spot-llm" not in pool.models for pool in fallbacks)


def test_well_diversified_pools_get_no_fallback(repo_root: Path) -> None:
    cpu = {"gpu_type": "none", "gpus_per_replica": 0, "gpu_memory_gib": 0}
    spec = spec_document(accelerator=cpu, serving={"resources": {"cpu": 3, "memory_gib": 12}})  # m6i/m7i.4xlarge class
    placement = _place(_staging(repo_root), ModelSpec.model_validate(spec))
    assert all(pool.fallback_for is None for pool in placement.node_pools)
    assert all(len(pool.instance_types) >= 2 for pool in placement.node_pools if pool.capacity_type == "SPOT")


def _blueprint(config: EnvironmentConfig, *specs: ModelSpec) -> Blueprint:
    return compile_blueprint([LoadedSpec(spec, f"specs/{spec.name}.yaml") for spec in specs], config)


def test_fallback_costs_nothing_steady_is_not_added_to_peak_and_prices_the_spot_outage(repo_root: Path) -> None:
    blueprint = _blueprint(_staging(repo_root), _h100x8())
    cost = estimate(blueprint)
    spot, fallback = blueprint.pool("h100-spot-8x-192c-2048g"), blueprint.pool("h100-fallback-8x-192c-2048g")
    hours = cost.hours_per_month
    assert cost.by_pool["h100-fallback-8x-192c-2048g"].monthly_usd == 0.0
    assert cost.peak_monthly_usd == pytest.approx(spot.max_size * spot.hourly_usd * hours)
    assert cost.spot_fallback_extra_monthly_usd == pytest.approx(spot.min_size * (fallback.hourly_usd - spot.hourly_usd) * hours)
    assert fallback.hourly_usd > spot.hourly_usd
    assert cost.to_json()["by_pool"]["h100-fallback-8x-192c-2048g"]["fallback_for"] == "h100-spot-8x-192c-2048g"


def test_on_demand_base_replicas_caps_the_on_demand_part(repo_root: Path) -> None:
    config = load_environment(repo_root / "stacks", "prod")
    config = config.model_copy(update={"spot": config.spot.model_copy(update={"on_demand_base_replicas": 1})})
    spec = ModelSpec.model_validate(spec_document(scaling={"min_replicas": 3, "max_replicas": 5}))
    placement = _place(config, spec)
    split: dict[str, tuple[int, int]] = {}
    for pool in placement.node_pools:
        if pool.fallback_for is None:
            low, high = split.get(pool.capacity_type, (0, 0))
            split[pool.capacity_type] = (low + pool.replicas[0][1], high + pool.replicas[0][2])
    assert split == {"ON_DEMAND": (1, 1), "SPOT": (2, 4)}
    assert "-ondemand-" in placement.pools_by_model[spec.name][0]  # base pool first


@pytest.mark.parametrize(
    ("spot", "message"),
    [
        ({"policy": "spot-only", "min_capacity_pools": 3}, "min_capacity_pools is set with policy spot-only"),
        ({"policy": "spot-preferred", "on_demand_base_replicas": 1}, "on_demand_base_replicas is set with policy spot-preferred"),
        ({"policy": "spot-preferred", "min_capacity_pools": 1}, "greater than or equal to 2"),
    ],
)
def test_spot_options_that_do_not_fit_the_policy_are_input_errors(spot: dict[str, Any], message: str) -> None:
    config = stack_config("staging")
    config["inferstack:spot"] = spot
    with pytest.raises(InputError) as error:
        environment_config("staging", config)
    (problem,) = error.value.problems
    assert problem.path.startswith("config.inferstack:spot") and message in problem.message


def test_expander_ranks_spot_then_on_demand_then_fallback_by_exact_asg_names(repo_root: Path) -> None:
    spec = _h100x8()
    blueprint = _blueprint(_staging(repo_root), spec, _h100x8("other-llm", capacity={"spot": "never"}))
    priorities = expander_priorities(blueprint)

    def rank(asg: str) -> int:
        return max(int(priority) for priority, patterns in priorities.items() if any(re.search(p, asg) for p in patterns))

    cluster = blueprint.config.cluster.name
    assert rank(f"eks-{cluster}-h100-spot-8x-192c-2048g-{ASG_UUID}") == SPOT_PRIORITY
    assert rank(f"eks-{cluster}-h100-ondemand-8x-192c-2048g-{ASG_UUID}") > FALLBACK_PRIORITY
    assert rank(f"eks-{cluster}-h100-fallback-8x-192c-2048g-{ASG_UUID}") == FALLBACK_PRIORITY
    assert rank(f"eks-{cluster}-system-{ASG_UUID}") == 1  # unknown groups stay usable, last
    assert rank(f"eks-spotty-{cluster}-h100-ondemand-8x-192c-2048g-{ASG_UUID}") == 1  # no substring promotion


def test_spot_required_h100_exits_2_in_validate_and_plan_naming_the_spec_and_the_rule(
    repo_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Before: plan exited 1 on its own spot-diversification rule (a one-type h100-spot-only pool, no fallback).
    import yaml
    from typer.testing import CliRunner

    from inferstack.cli import app

    specs = tmp_path / "specs"
    specs.mkdir()
    document = spec_document(
        name="spot-llm",
        accelerator={"gpu_type": "h100", "gpus_per_replica": 8, "gpu_memory_gib": 600},
        scaling={"min_replicas": 2, "max_replicas": 2},
        capacity={"spot": "required"},
    )
    (specs / "spot-llm.yaml").write_text(yaml.safe_dump(document), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    for arguments in (
        ["validate", "specs", str(repo_root / "stacks" / "Pulumi.staging.yaml")],
        ["plan", "--stack", "staging", "--specs", "specs", "--stacks", str(repo_root / "stacks"), "--out", "out"],
    ):
        result = runner.invoke(app, arguments)
        assert result.exit_code == 2, result.output
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert any(
            line.startswith("specs/spot-llm.yaml: capacity.spot: ") and "spot-diversification" in line for line in lines
        ), lines
        assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists()
