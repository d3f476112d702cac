"""Aliases: a stack deployed by the first releases (a ModelService component per model) updates in place."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from inferstack.cli import app
from inferstack.constants import LEGACY_TYPE_MODEL_SERVICE, TYPE_PLATFORM, TYPE_TEAM_MODEL_SERVICES

# The plan's URNs qualify a type with its parent's own type (like the SDK's MockMonitor); the engine
# uses the whole chain (Platform$TeamModelServices$...), and the aliases are given in that form.
NEW_CHAIN = f"::{TYPE_TEAM_MODEL_SERVICES}$"
OLD_CHAIN = f"::{LEGACY_TYPE_MODEL_SERVICE}$"


def _plan(repo_root: Path, out: Path, stack: str, *extra: str) -> dict[str, Any]:
    result = CliRunner().invoke(
        app,
        ["plan", "--stack", stack, "--specs", str(repo_root / "model_specs"), "--stacks", str(repo_root / "stacks"),
         "--out", str(out), *extra],
    )
    assert result.exit_code == 0, result.output
    return json.loads((out / "plan.json").read_text())


def _first_release_plan(plan: dict[str, Any]) -> dict[str, Any]:
    """The same stack as the first releases recorded it: model objects under a per-model ModelService."""
    resources = []
    for resource in plan["resources"]:
        if resource["type"] == TYPE_TEAM_MODEL_SERVICES:
            continue
        resource = dict(resource)
        resource.pop("aliases", None)
        if NEW_CHAIN in resource["urn"]:
            resource["urn"] = resource["urn"].replace(NEW_CHAIN, OLD_CHAIN)
            stack_project = resource["urn"].split(OLD_CHAIN)[0]
            model_service = resource["name"].rsplit("-isvc", 1)[0].rsplit("-pdb", 1)[0]
            resource["parent"] = f"{stack_project}::{TYPE_PLATFORM}${LEGACY_TYPE_MODEL_SERVICE}::{model_service}"
            if resource["type"].endswith(":InferenceService"):
                resource["inputs"] = json.loads(json.dumps(resource["inputs"]))
                resource["inputs"]["metadata"].setdefault("annotations", {})["first-release"] = "true"
        resources.append(resource)
    return {**plan, "resources": resources}


def test_a_first_release_baseline_shows_updates_not_replacements(tmp_path: Path, repo_root: Path) -> None:
    current = _plan(repo_root, tmp_path / "current", "staging")
    moved = [resource for resource in current["resources"] if NEW_CHAIN in resource["urn"]]
    assert moved and all(
        resource["aliases"] == [resource["urn"].replace(NEW_CHAIN, OLD_CHAIN)] for resource in moved
    )
    baseline = tmp_path / "baseline.json"
    baseline.write_text(json.dumps(_first_release_plan(current)))
    diff = _plan(repo_root, tmp_path / "against", "staging", "--baseline", str(baseline))["summary"]["diff"]
    moved_urns = {resource["urn"] for resource in moved}
    old_urns = {urn.replace(NEW_CHAIN, OLD_CHAIN) for urn in moved_urns}
    assert not moved_urns & set(diff["added"]) and not old_urns & set(diff["removed"])
    changed = {change["urn"]: change for change in diff["changed"]}
    services = [urn for urn in moved_urns if ":InferenceService::" in urn]
    assert services and all(changed[urn]["replaced"] is False for urn in services)
    assert all(changed[urn]["inputs"] == ["metadata.annotations.first-release"] for urn in services)


def test_aliases_are_given_as_the_engine_names_the_first_release_objects(monkeypatch: pytest.MonkeyPatch) -> None:
    import components.model_service as module

    monkeypatch.setattr(module.pulumi, "get_stack", lambda: "prod-eu-west-1")
    monkeypatch.setattr(module.pulumi, "get_project", lambda: "inferstack")
    legacy_urn = module.legacy_urn
    assert legacy_urn("kubernetes:policy/v1:PodDisruptionBudget", "inferstack-prod-model-x-pdb") == (
        f"urn:pulumi:prod-eu-west-1::inferstack::{TYPE_PLATFORM}${LEGACY_TYPE_MODEL_SERVICE}$"
        "kubernetes:policy/v1:PodDisruptionBudget::inferstack-prod-model-x-pdb"
    )
