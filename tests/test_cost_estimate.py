"""Cost estimate: cost.json shape, totals that add up, naive figure, lower bound, budgets, CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from benchmarks.fleet import generate_fleet
from inferstack.cli import app
from inferstack.compiler import compile_blueprint
from inferstack.cost import estimate
from inferstack.pricing.catalog import load_catalog
from inferstack.spec import ModelSpec, load_environment
from inferstack.spec.environment import BudgetConfig, EnvironmentConfig
from inferstack.spec.loader import LoadedSpec
from tests.spec_factory import spec_document


def _loaded(name: str = "demo-model", **changes: Any) -> LoadedSpec:
    return LoadedSpec(ModelSpec.model_validate(spec_document(name=name, **changes)), f"specs/{name}.yaml")


def _config(repo_root: Path, environment: str) -> EnvironmentConfig:
    return load_environment(repo_root / "stacks", environment)


def test_cost_json_has_the_contract_shape(repo_root: Path) -> None:
    document = estimate(compile_blueprint([_loaded()], _config(repo_root, "prod"))).to_json()
    assert document["currency"] == "USD"
    for key in ("monthly_usd", "naive_monthly_usd", "peak_monthly_usd", "lower_bound_monthly_usd", "total_monthly_usd"):
        assert isinstance(document[key], float)
    assert set(document["by_model"]) == {"demo-model"}
    assert set(document["by_team"]) == {"demo"}
    assert document["by_pool"] and document["as_of"]
    assert json.loads(json.dumps(document)) == document


def test_single_exclusive_model_hand_checked(repo_root: Path) -> None:
    # 2 replicas of 1 x L4 (8 GiB), 1 vCPU, 2 GiB in prod: both on on-demand g6.xlarge (0.8048 USD/h).
    config = _config(repo_root, "prod")
    item = _loaded(scaling={"min_replicas": 2, "max_replicas": 2})
    cost = estimate(compile_blueprint([item], config))
    hourly = load_catalog("us-east-1").instances["g6.xlarge"].on_demand_usd_hour
    assert cost.monthly_usd == pytest.approx(2 * hourly * 730)
    assert cost.naive_monthly_usd == pytest.approx(2 * hourly * 730)
    assert cost.lower_bound_monthly_usd == pytest.approx(2 * hourly * 730)
    assert cost.by_model["demo-model"].monthly_usd == pytest.approx(cost.monthly_usd)


@pytest.mark.parametrize("environment", ["dev", "staging", "prod"])
def test_parts_add_up_and_bounds_hold_on_a_generated_fleet(repo_root: Path, environment: str) -> None:
    loaded = [LoadedSpec(ModelSpec.model_validate(document), "fleet.yaml") for document in generate_fleet(60, seed=3)]
    cost = estimate(compile_blueprint(loaded, _config(repo_root, environment)))
    assert sum(item.monthly_usd for item in cost.by_model.values()) == pytest.approx(cost.monthly_usd)
    assert sum(item.peak_monthly_usd for item in cost.by_model.values()) == pytest.approx(cost.peak_monthly_usd)
    assert sum(item.monthly_usd for item in cost.by_team.values()) == pytest.approx(cost.monthly_usd)
    assert sum(item.monthly_usd for item in cost.by_pool.values()) == pytest.approx(cost.monthly_usd)
    assert cost.gpu_memory_bound_monthly_usd <= cost.lower_bound_monthly_usd + 1e-6
    assert cost.lower_bound_monthly_usd <= cost.monthly_usd + 1e-6
    assert cost.lower_bound_peak_monthly_usd <= cost.peak_monthly_usd + 1e-6
    assert cost.monthly_usd < cost.naive_monthly_usd


def test_budgets_are_compared_with_the_total(repo_root: Path) -> None:
    config = _config(repo_root, "prod")
    tight = config.model_copy(update={"budgets": BudgetConfig(monthly_usd=100, teams={"demo": 50})})
    cost = estimate(compile_blueprint([_loaded()], tight))
    assert cost.over_budget and cost.by_team["demo"].over_budget
    document = cost.to_json()["budget"]
    assert document["over_budget"] is True and document["teams"]["demo"]["budget_usd"] == 50.0
    assert not estimate(compile_blueprint([_loaded()], config)).over_budget


def test_price_overrides_flow_into_the_estimate(repo_root: Path) -> None:
    config = _config(repo_root, "prod")
    item = _loaded(scaling={"min_replicas": 1, "max_replicas": 1})
    negotiated = config.model_copy(update={"price_overrides": {"g6.xlarge": 0.5}})
    assert estimate(compile_blueprint([item], negotiated)).monthly_usd == pytest.approx(0.5 * 730)


def test_estimate_is_deterministic(repo_root: Path) -> None:
    loaded = [LoadedSpec(ModelSpec.model_validate(document), "fleet.yaml") for document in generate_fleet(30, seed=5)]
    config = _config(repo_root, "staging")
    first = estimate(compile_blueprint(loaded, config)).to_json()
    assert first == estimate(compile_blueprint(list(reversed(loaded)), config)).to_json()


def test_cli_cost_json_and_bad_stack(repo_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(repo_root)
    runner = CliRunner()
    result = runner.invoke(app, ["cost", "--stack", "staging", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["currency"] == "USD"
    table = runner.invoke(app, ["cost", "--stack", "prod"])
    assert table.exit_code == 0 and "naive" in table.output
    bad = runner.invoke(app, ["cost", "--stack", "qa"])
    assert bad.exit_code == 2
