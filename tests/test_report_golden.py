"""Golden report.md files for the changes a reviewer sees most, from real plans of the shipped specs.

Each case copies model_specs/ and stacks/, plans a baseline, makes one change, plans again
against the baseline, and compares report.md with tests/golden/report/<case>.md byte for byte.

Regenerate after an intended change (then review the diff like code):

    INFERSTACK_UPDATE_GOLDEN=1 uv run pytest tests/test_report_golden.py
"""

from __future__ import annotations

import difflib
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from inferstack.cli import app
from inferstack.plan.report import render_bad_input
from inferstack.plan.runner import EXIT_OK, EXIT_POLICY, run_plan

GOLDEN = Path(__file__).resolve().parent / "golden" / "report"
UPDATE = os.environ.get("INFERSTACK_UPDATE_GOLDEN") == "1"
REGENERATE = "INFERSTACK_UPDATE_GOLDEN=1 uv run pytest tests/test_report_golden.py"


def check_golden(name: str, text: str) -> None:
    """Compare `text` with the golden file `name` (or write it when regenerating)."""
    path = GOLDEN / f"{name}.md"
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return
    assert path.is_file(), f"no golden file {path.name}; create it with `{REGENERATE}`"
    expected = path.read_text(encoding="utf-8")
    if text != expected:
        diff = "".join(difflib.unified_diff(expected.splitlines(True), text.splitlines(True), "golden", "now", n=2))
        pytest.fail(f"report.md differs from {path.name} (regenerate with `{REGENERATE}` if intended):\n{diff[:6000]}")


def _copy_inputs(repo_root: Path, folder: Path) -> Path:
    shutil.copytree(repo_root / "model_specs", folder / "model_specs", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(repo_root / "stacks", folder / "stacks")
    return folder


def _edit_yaml(path: Path, change: Callable[[dict[str, Any]], None]) -> None:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(document)
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")


def _plan(folder: Path, stack: str, out: str, baseline: Path | None = None) -> tuple[int, str]:
    result = run_plan(
        stack,
        specs_dir=folder / "model_specs",
        stacks_dir=folder / "stacks",
        out_dir=folder / out,
        baseline_path=baseline,
    )
    return result.exit_code, (folder / out / "report.md").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def baselines(repo_root_module: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """plan.json of the shipped dev and staging stacks, planned once per module."""
    folder = _copy_inputs(repo_root_module, tmp_path_factory.mktemp("baseline"))
    plans = {}
    for stack in ("dev", "staging"):
        code, _ = _plan(folder, stack, f"base-{stack}")
        assert code == EXIT_OK
        plans[stack] = folder / f"base-{stack}" / "plan.json"
    return plans


@pytest.fixture(scope="module")
def repo_root_module() -> Path:
    return Path(__file__).resolve().parents[1]


def _change_and_plan(
    repo_root: Path, tmp_path: Path, baselines: dict[str, Path], stack: str, change: Callable[[Path], None]
) -> tuple[int, str]:
    folder = _copy_inputs(repo_root, tmp_path)
    change(folder)
    return _plan(folder, stack, "head", baselines[stack])


def test_canary_step(repo_root: Path, tmp_path: Path, baselines: dict[str, Path]) -> None:
    def step(folder: Path) -> None:
        _edit_yaml(folder / "model_specs" / "llm_assistant.yaml", lambda doc: doc["rollout"].update(canary_percent=50))

    code, report = _change_and_plan(repo_root, tmp_path, baselines, "staging", step)
    assert code == EXIT_OK
    assert "`spec.rules[0].backendRefs[0].weight`: `90` → `50`" in report
    assert "`spec.rules[0].backendRefs[1].weight`: `10` → `50`" in report
    check_golden("canary-step", report)


def test_new_model(repo_root: Path, tmp_path: Path, baselines: dict[str, Path]) -> None:
    def add(folder: Path) -> None:
        specs = folder / "model_specs"
        shutil.copy(specs / "fraud_scorer.yaml", specs / "fraud_scorer_v2.yaml")
        _edit_yaml(specs / "fraud_scorer_v2.yaml", lambda doc: doc.update(name="fraud-scorer-v2"))

    code, report = _change_and_plan(repo_root, tmp_path, baselines, "dev", add)
    assert code == EXIT_OK
    assert "| add | `inferstack-dev-model-fraud-scorer-v2" in report and ":::add" in report
    check_golden("new-model", report)


def test_gpu_type_change(repo_root: Path, tmp_path: Path, baselines: dict[str, Path]) -> None:
    def change(folder: Path) -> None:
        _edit_yaml(folder / "model_specs" / "defect_detector.yaml", lambda doc: doc["accelerator"].update(gpu_type="l4"))

    code, report = _change_and_plan(repo_root, tmp_path, baselines, "dev", change)
    assert code == EXIT_OK
    assert "### ⚠️ Disruption" in report.split("### Changes against the baseline")[0]
    assert "#### Node capacity" in report and "**removed** `inferstack-dev-pool-a10g-spot-1x-8c-32g-ng`" in report
    assert "matchExpressions[0].values[0]`: `a10g-spot-1x-8c-32g` → `l4-spot-1x-8c-32g`" in report
    check_golden("gpu-type-change", report)


def test_budget_overrun(repo_root: Path, tmp_path: Path, baselines: dict[str, Path]) -> None:
    def grow(folder: Path) -> None:
        """The LLM doubles its replicas while its budgets are lower than the shipped ones."""
        _edit_yaml(folder / "model_specs" / "llm_assistant.yaml", lambda doc: doc["environments"]["staging"]["scaling"].update(min_replicas=4, max_replicas=4))

        def lower(doc: dict[str, Any]) -> None:
            doc["config"]["inferstack:budgets"]["monthly_usd"] = 45_000
            doc["config"]["inferstack:budgets"]["teams"]["genai"] = 22_000  # team budgets add up to 44,000

        _edit_yaml(folder / "stacks" / "Pulumi.staging.yaml", lower)

    code, report = _change_and_plan(repo_root, tmp_path, baselines, "staging", grow)
    assert code == EXIT_POLICY
    assert "over budget" in report and "⚠️ over" in report and "environment-budget" in report
    check_golden("budget-overrun", report)


def test_policy_failure(repo_root: Path, tmp_path: Path, baselines: dict[str, Path]) -> None:
    def too_many(folder: Path) -> None:
        _edit_yaml(folder / "model_specs" / "llm_assistant.yaml", lambda doc: doc["environments"]["dev"]["scaling"].update(max_replicas=9))

    code, report = _change_and_plan(repo_root, tmp_path, baselines, "dev", too_many)
    assert code == EXIT_POLICY
    assert "❌" in report and "`max-replicas-per-model`" in report
    check_golden("policy-failure", report)


def test_bad_input(repo_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The report preview.yml writes for a plan that exits 2 (python -m inferstack.plan.report bad-input)."""
    folder = _copy_inputs(repo_root, tmp_path)
    shutil.copy(repo_root / "examples" / "broken.yaml", folder / "model_specs" / "broken.yaml")
    monkeypatch.chdir(folder)
    result = CliRunner().invoke(app, ["plan", "--stack", "dev", "--out", "plan"])
    assert result.exit_code == 2
    assert not (folder / "plan").exists()
    report = render_bad_input("dev", result.stderr)
    assert "model_specs/broken.yaml: scaling.min_replica: unknown field" in report
    check_golden("bad-input", report)
