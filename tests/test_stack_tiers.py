"""Free stack names: a stack file names its tier (`inferstack:tier`), and the tier decides policy and promotion."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from inferstack.cli import app
from inferstack.compiler import compile_blueprint
from inferstack.policy.crossguard import PackContext
from inferstack.problems import InputError
from inferstack.registry.store import check_promotion_source
from inferstack.spec.loader import load_environment, load_specs


def _write_stack(stacks: Path, name: str, source: Path, **changes: object) -> None:
    document = yaml.safe_load(source.read_text())
    for key, value in changes.items():
        if value is None:
            document["config"].pop(key, None)
        else:
            document["config"][key] = value
    (stacks / f"Pulumi.{name}.yaml").write_text(yaml.safe_dump(document))


def test_a_free_stack_name_takes_its_tier_from_the_stack_file(repo_root: Path) -> None:
    config = load_environment(repo_root / "stacks", "prod-eu-west-1")
    assert (config.tier, config.stack_name, config.region) == ("prod", "prod-eu-west-1", "eu-west-1")
    assert load_environment(repo_root / "stacks", "prod").stack_name == "prod"


def test_a_free_stack_name_without_a_tier_is_one_clear_problem(tmp_path: Path, repo_root: Path) -> None:
    _write_stack(tmp_path, "loadtest", repo_root / "stacks" / "Pulumi.staging.yaml", **{"inferstack:tier": None})
    with pytest.raises(InputError) as error:
        load_environment(tmp_path, "loadtest")
    [problem] = error.value.problems
    assert problem.path == "config.inferstack:tier" and "expected the stack's tier: dev, staging, prod" in problem.message


def test_a_stack_named_after_a_tier_cannot_claim_another_tier(tmp_path: Path, repo_root: Path) -> None:
    _write_stack(tmp_path, "prod", repo_root / "stacks" / "Pulumi.prod.yaml", **{"inferstack:tier": "dev"})
    with pytest.raises(InputError) as error:
        load_environment(tmp_path, "prod")
    assert [problem.path for problem in error.value.problems] == ["config.inferstack:tier"]


def test_an_unknown_tier_and_a_bad_stack_name_are_refused(tmp_path: Path, repo_root: Path) -> None:
    _write_stack(tmp_path, "qa-1", repo_root / "stacks" / "Pulumi.staging.yaml", **{"inferstack:tier": "qa"})
    with pytest.raises(InputError) as error:
        load_environment(tmp_path, "qa-1")
    assert [problem.path for problem in error.value.problems] == ["config.inferstack:tier"]
    with pytest.raises(InputError) as error:
        load_environment(tmp_path, "Prod_EU")
    assert "not a lowercase name" in error.value.problems[0].message


def test_two_prod_regions_compile_from_one_set_of_specs(repo_root: Path) -> None:
    loaded = load_specs([repo_root / "model_specs"])
    us = compile_blueprint(loaded, load_environment(repo_root / "stacks", "prod"))
    eu = compile_blueprint(loaded, load_environment(repo_root / "stacks", "prod-eu-west-1"))
    # Tier overrides apply alike: the same models with the same replicas; the region prices them.
    assert [model.name for model in us.models] == [model.name for model in eu.models]
    assert [model.spec.scaling for model in us.models] == [model.spec.scaling for model in eu.models]
    assert us.environment == eu.environment == "prod"
    assert us.config.cluster.name != eu.config.cluster.name and us.config.model_store.bucket != eu.config.model_store.bucket


def test_the_second_prod_region_plans_with_no_mandatory_violation(tmp_path: Path, repo_root: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["plan", "--stack", "prod-eu-west-1", "--specs", str(repo_root / "model_specs"),
         "--stacks", str(repo_root / "stacks"), "--out", str(tmp_path / "out")],
    )
    assert result.exit_code == 0, result.output
    plan = json.loads((tmp_path / "out" / "plan.json").read_text())
    assert plan["stack"] == "prod-eu-west-1"
    clusters = [item for item in plan["resources"] if item["type"] == "aws:eks/cluster:Cluster"]
    assert [item["inputs"]["name"] for item in clusters] == ["inferstack-prod-euw1"]
    policy = json.loads((tmp_path / "out" / "policy.json").read_text())
    assert not [item for item in policy["violations"] if item["enforcement"] == "mandatory"]


def test_promotion_sources_follow_the_tier_order() -> None:
    check_promotion_source("staging", "prod")
    check_promotion_source("dev", "staging")
    with pytest.raises(InputError):
        check_promotion_source("dev", "prod")


def test_the_policy_pack_reads_a_free_stack_by_its_tier(tmp_path: Path, repo_root: Path) -> None:
    shutil.copytree(repo_root / "stacks", tmp_path / "stacks")
    pack = PackContext.from_process(tmp_path / "stacks", {"PULUMI_STACK": "org/inferstack/prod-eu-west-1"})
    assert pack.startup_environment == "prod"
    assert pack.context("prod").model_store_bucket == "inferstack-models-prod-eu-west-1"
    assert pack.context("staging").model_store_bucket == "inferstack-models-staging"
