"""gpu.fit_classes: how many size classes around its own a model may use, traded against EKS managed node groups."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from benchmarks.fit_classes import RESULT, measure
from inferstack.cli import app
from inferstack.blueprint import Blueprint, NodePool
from inferstack.compiler import compile_blueprint
from inferstack.readiness import service_quotas
from inferstack.spec import load_environment, load_specs

EKS_DEFAULT_NODE_GROUP_QUOTA = 30


def _node_groups(blueprint: Blueprint) -> int:
    """Managed node groups of a plan: one per node pool, plus the system node group."""
    return len(blueprint.node_pools) + 1


def test_the_default_breadth_is_three_smaller_and_two_larger(repo_root: Path) -> None:
    config = load_environment(repo_root / "stacks", "prod")
    assert (config.gpu.fit_classes.smaller, config.gpu.fit_classes.larger) == (3, 2)


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_narrower_fit_classes_need_fewer_node_groups(repo_root: Path, stack: str) -> None:
    config = load_environment(repo_root / "stacks", stack)
    specs = load_specs([repo_root / "model_specs"])
    default_groups = _node_groups(compile_blueprint(specs, config))
    narrow_groups = _node_groups(compile_blueprint(specs, config.with_fit_classes(1, 1)))
    only = compile_blueprint(specs, config.with_fit_classes(0, 0))
    assert _node_groups(only) < narrow_groups < default_groups
    # docs/first-deploy.md: one class each way keeps the shipped plans under EKS's default quota.
    assert narrow_groups <= EKS_DEFAULT_NODE_GROUP_QUOTA, (stack, narrow_groups)
    # With no fit classes a model's replicas run on its preferred class only: one pool per capacity type
    # (and a spot pool's on-demand fallback, which carries the spot pool's node-pool label).
    pools_by_model: dict[str, list[NodePool]] = {}
    for pool in only.node_pools:
        for model, _steady, _peak in pool.replicas:
            pools_by_model.setdefault(model, []).append(pool)
    for model, pools in pools_by_model.items():
        kinds = {(pool.capacity_type, pool.fallback_for is not None) for pool in pools}
        assert len(pools) == len(kinds), (model, sorted(pool.name for pool in pools))


def test_a_narrow_stack_plans_under_the_default_quota(tmp_path: Path, repo_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The prod stack without its raised quota fails deploy-service-quotas; with fit classes (1, 1) it plans clean."""
    monkeypatch.chdir(tmp_path)
    shutil.copytree(repo_root / "model_specs", tmp_path / "model_specs", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(repo_root / "stacks", tmp_path / "stacks")
    path = tmp_path / "stacks" / "Pulumi.prod.yaml"
    document = yaml.safe_load(path.read_text())
    del document["config"]["inferstack:cluster"]["managed_node_group_quota"]
    path.write_text(yaml.safe_dump(document))
    wide = CliRunner().invoke(app, ["plan", "--stack", "prod", "--out", "wide"])
    assert wide.exit_code == 1, wide.output
    assert f"| `{service_quotas.CHECK_ID}` | 1 |" in (tmp_path / "wide" / "report.md").read_text()
    assert "narrow inferstack:gpu.fit_classes" in (tmp_path / "wide" / "report.md").read_text()
    document["config"]["inferstack:gpu"]["fit_classes"] = {"smaller": 1, "larger": 1}
    path.write_text(yaml.safe_dump(document))
    narrow = CliRunner().invoke(app, ["plan", "--stack", "prod", "--out", "narrow"])
    assert narrow.exit_code == 0, narrow.output
    plan = json.loads((tmp_path / "narrow" / "plan.json").read_text())
    groups = [item for item in plan["resources"] if item["type"] == service_quotas.NODE_GROUP]
    assert len(groups) <= EKS_DEFAULT_NODE_GROUP_QUOTA
    assert f"| `{service_quotas.CHECK_ID}` | 0 |" in (tmp_path / "narrow" / "report.md").read_text()


def test_out_of_range_fit_classes_are_bad_input(tmp_path: Path, repo_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    stack = yaml.safe_load((repo_root / "stacks" / "Pulumi.dev.yaml").read_text())
    stack["config"]["inferstack:gpu"]["fit_classes"] = {"smaller": 7, "larger": -1, "wider": 2}
    (tmp_path / "Pulumi.dev.yaml").write_text(yaml.safe_dump(stack))
    result = CliRunner().invoke(app, ["validate", "Pulumi.dev.yaml"])
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert any(line.startswith("Pulumi.dev.yaml: config.inferstack:gpu.fit_classes.smaller: ") and "6" in line for line in lines), lines
    assert any(line.startswith("Pulumi.dev.yaml: config.inferstack:gpu.fit_classes.larger: ") and "0" in line for line in lines), lines
    assert any(line.startswith("Pulumi.dev.yaml: config.inferstack:gpu.fit_classes.wider: ") for line in lines), lines
    assert "Traceback" not in result.output


def test_the_recorded_benchmark_matches_a_fresh_run() -> None:
    """docs/cost-model.md's fleet table comes from benchmarks/results/fit_classes.json: one fleet recomputed."""
    recorded = json.loads(RESULT.read_text(encoding="utf-8"))
    fleet = next(item for item in recorded["fleets"] if (item["stack"], item["models"], item["seed"]) == ("dev", 50, 7))
    assert measure("dev", 50, 7) == fleet
