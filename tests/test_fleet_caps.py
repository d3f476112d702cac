"""benchmarks/fleet.py respects each environment's caps: generated fleets plan with 0 mandatory violations."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from benchmarks.fleet import TEAMS, TIER_CAPS, generate_fleet, write_fleet
from inferstack.placement import rollout_replica_bounds
from inferstack.spec import ModelSpec, load_environment
from inferstack.spec.resolve import resolve_for_environment


def test_the_generators_caps_are_the_shipped_stacks(repo_root: Path) -> None:
    for tier, (replicas, gpus) in TIER_CAPS.items():
        config = load_environment(repo_root / "stacks", tier)
        assert (config.gpu.max_replicas_per_model, config.gpu.max_gpus_per_model) == (replicas, gpus), tier


@pytest.mark.parametrize("seed", range(1, 8))
def test_every_generated_model_fits_every_tiers_caps(repo_root: Path, seed: int) -> None:
    # The issue: a 200-model fleet broke staging's max-replicas-per-model and max-gpus-per-model.
    for tier in TIER_CAPS:
        config = load_environment(repo_root / "stacks", tier)
        for document in generate_fleet(200, seed):
            spec = resolve_for_environment(ModelSpec.model_validate(document), tier, document["name"])
            if spec is None:
                continue
            assert spec.scaling.max_replicas <= config.gpu.max_replicas_per_model, (tier, spec.name)
            _, high = rollout_replica_bounds(spec, config)
            assert spec.accelerator.gpus_per_replica * max(high, spec.scaling.min_replicas) <= config.gpu.max_gpus_per_model, (tier, spec.name)
            if tier == "prod":
                assert spec.scaling.min_replicas >= 2 and spec.capacity.spot != "required", spec.name
            if spec.capacity.spot == "required":
                assert spec.accelerator.gpu_type == "none", (tier, spec.name)  # GPU classes have one type: no spot-only pool passes


def _stacks_with_room(repo_root: Path, folder: Path) -> Path:
    """The shipped stacks with budgets and the node-group quota raised: both fit the shipped specs, not a synthetic fleet.

    The quota stands for an account granted 150 managed node groups per cluster: fit classes make the node groups
    grow with the classes a fleet touches (a 14-model prod fleet needs 65, bounded by the catalogue's classes), which
    deploy-service-quotas checks against the stack's declared quota.
    """
    stacks = folder / "stacks"
    shutil.copytree(repo_root / "stacks", stacks)
    for path in stacks.glob("Pulumi.*.yaml"):
        document = yaml.safe_load(path.read_text())
        budgets = document["config"].get("inferstack:budgets")
        if budgets:
            budgets["monthly_usd"] = 10_000_000
            budgets["teams"] = {team: 1_000_000 for team in TEAMS}
        document["config"].setdefault("inferstack:cluster", {})["managed_node_group_quota"] = 150
        path.write_text(yaml.safe_dump(document))
    return stacks


@pytest.mark.parametrize(("stack", "seed"), [("dev", 2), ("staging", 3), ("prod", 5)])
def test_a_generated_fleet_plans_with_no_mandatory_violation(repo_root: Path, tmp_path: Path, stack: str, seed: int) -> None:
    from inferstack.plan.runner import run_plan

    specs = tmp_path / "specs"
    write_fleet(generate_fleet(14, seed), specs)
    result = run_plan(stack, specs_dir=specs, stacks_dir=_stacks_with_room(repo_root, tmp_path), out_dir=tmp_path / "out")
    policy = json.loads((tmp_path / "out" / "policy.json").read_text())
    mandatory = [f"{item['policy']}: {item['message']}" for item in policy["violations"] if item["enforcement"] == "mandatory"]
    assert mandatory == [] and result.exit_code == 0
