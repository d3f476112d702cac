"""`inferstack plan` end to end on real specs: outputs, determinism, baseline diff, exit codes, redaction."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from inferstack.cli import app
from inferstack.plan.runner import OUTPUT_FILES, run_plan


@pytest.fixture
def workspace(tmp_path: Path, repo_root: Path) -> Path:
    """A copy of the shipped specs and stacks that a test may change."""
    shutil.copytree(repo_root / "model_specs", tmp_path / "model_specs", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(repo_root / "stacks", tmp_path / "stacks")
    return tmp_path


def _plan(workspace: Path, out: str, *extra: str, stack: str = "dev") -> tuple[int, str, str]:
    result = CliRunner().invoke(
        app,
        ["plan", "--stack", stack, "--specs", str(workspace / "model_specs"), "--stacks", str(workspace / "stacks"),
         "--out", str(workspace / out), *extra],
    )
    return result.exit_code, result.stdout, result.stderr


def test_plan_writes_every_output_and_is_deterministic(workspace: Path) -> None:
    code, stdout, stderr = _plan(workspace, "first")
    assert code == 0, stdout + stderr
    first = workspace / "first"
    for name in OUTPUT_FILES:
        assert (first / name).is_file(), name
    manifests = sorted(path.name for path in (first / "manifests").iterdir())
    assert manifests and all(name.endswith(".yaml") for name in manifests)
    plan = json.loads((first / "plan.json").read_text())
    assert plan["stack"] == "dev"
    assert {"urn", "type", "name", "parent", "dependencies", "inputs"} <= set(plan["resources"][0])
    cost = json.loads((first / "cost.json").read_text())
    assert cost["currency"] == "USD" and cost["monthly_usd"] <= cost["naive_monthly_usd"]
    policy = json.loads((first / "policy.json").read_text())
    assert policy["checked"] > 0 and not [
        v for v in policy["violations"] if v["enforcement"] == "mandatory"
    ]
    assert _plan(workspace, "second")[0] == 0
    second = workspace / "second"
    for name in OUTPUT_FILES:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    for name in manifests:
        assert (first / "manifests" / name).read_bytes() == (second / "manifests" / name).read_bytes(), name


def test_plan_json_carries_no_secrets(workspace: Path) -> None:
    assert _plan(workspace, "out")[0] == 0
    resources = json.loads((workspace / "out" / "plan.json").read_text())["resources"]
    providers = [resource for resource in resources if resource["type"] == "pulumi:providers:kubernetes"]
    assert providers, "expected a Kubernetes provider built from the cluster's kubeconfig"
    for provider in providers:
        assert provider["inputs"]["kubeconfig"] == "[secret]"
    assert "certificate-authority-data" not in (workspace / "out" / "plan.json").read_text()


def test_baseline_diff_shows_added_changed_and_removed(workspace: Path) -> None:
    assert _plan(workspace, "base")[0] == 0
    fraud = workspace / "model_specs" / "fraud_scorer.yaml"
    document = yaml.safe_load(fraud.read_text())
    document["environments"]["dev"]["scaling"]["max_replicas"] = 3
    fraud.write_text(yaml.safe_dump(document))
    (workspace / "model_specs" / "defect_detector.yaml").unlink()
    extra = yaml.safe_load(fraud.read_text())
    extra["name"] = "fraud-scorer-v2"
    (workspace / "model_specs" / "fraud_scorer_v2.yaml").write_text(yaml.safe_dump(extra))
    code, stdout, stderr = _plan(workspace, "head", "--baseline", str(workspace / "base" / "plan.json"))
    assert code == 0, stdout + stderr
    summary = json.loads((workspace / "head" / "plan.json").read_text())["summary"]["diff"]
    assert any("fraud-scorer-v2" in urn for urn in summary["added"])
    assert any("defect-detector" in urn for urn in summary["removed"])
    assert any("fraud-scorer" in change["urn"] and "fraud-scorer-v2" not in change["urn"] for change in summary["changed"])
    report = (workspace / "head" / "report.md").read_text()
    assert "### Changes against the baseline" in report and "to add" in report
    assert "against baseline:" in stdout


def test_mandatory_violation_exits_1(workspace: Path) -> None:
    llm = workspace / "model_specs" / "llm_assistant.yaml"
    document = yaml.safe_load(llm.read_text())
    del document["environments"]["dev"]["accelerator"]  # h100 is not allowed in dev
    document["capacity"]["instance_families"] = ["p5"]
    llm.write_text(yaml.safe_dump(document))
    code, stdout, stderr = _plan(workspace, "out")
    assert code == 1, stdout + stderr
    assert "mandatory:" in stderr
    policy = json.loads((workspace / "out" / "policy.json").read_text())
    assert any(v["enforcement"] == "mandatory" for v in policy["violations"])


def test_many_mandatory_violations_are_summarised_on_the_terminal(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import inferstack.cli

    llm = workspace / "model_specs" / "llm_assistant.yaml"
    document = yaml.safe_load(llm.read_text())
    del document["environments"]["dev"]["accelerator"]
    document["capacity"]["instance_families"] = ["p5"]
    llm.write_text(yaml.safe_dump(document))
    monkeypatch.setattr(inferstack.cli, "MAX_VIOLATIONS_SHOWN", 0)
    code, stdout, stderr = _plan(workspace, "out")
    policy = json.loads((workspace / "out" / "policy.json").read_text())
    mandatory = [v for v in policy["violations"] if v["enforcement"] == "mandatory"]
    assert code == 1 and mandatory, stdout + stderr
    assert "mandatory: " not in stderr
    assert f"... and {len(mandatory)} more mandatory violations" in stderr
    assert "policy.json and report.md" in stderr


@pytest.mark.parametrize(
    ("args", "phrase"),
    [
        (["--specs", "nowhere"], "--specs: no such folder"),
        (["--baseline", "missing.json"], "--baseline: file not found"),
        (["--stack", "qa"], "unknown stack 'qa'"),
    ],
)
def test_bad_options_exit_2_and_write_nothing(workspace: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], phrase: str) -> None:
    monkeypatch.chdir(workspace)
    options = {"--stack": "dev", "--specs": "model_specs", "--stacks": "stacks", "--out": "out"}
    for index in range(0, len(args), 2):
        options[args[index]] = args[index + 1]
    result = CliRunner().invoke(app, ["plan", *[part for pair in options.items() for part in pair]])
    assert result.exit_code == 2, result.output
    assert phrase in result.stderr and "Traceback" not in result.output
    assert not (workspace / "out").exists()


def test_bad_spec_exits_2_and_keeps_the_previous_plan(workspace: Path) -> None:
    out = workspace / "out"
    assert run_plan("dev", specs_dir=workspace / "model_specs", stacks_dir=workspace / "stacks", out_dir=out).exit_code == 0
    before = (out / "plan.json").read_bytes()
    (workspace / "model_specs" / "broken.yaml").write_text("name: Broken\n")
    code, _, stderr = _plan(workspace, "out")
    assert code == 2
    assert "broken.yaml: name:" in stderr
    assert (out / "plan.json").read_bytes() == before


def _snapshot(workspace: Path, stages: dict[str, str], gpu_memory_mib: float | None = None) -> Path:
    """A registry snapshot of the prod store listing every served version (stable and candidate) of each named model."""
    from inferstack.compiler import compile_blueprint
    from inferstack.spec.loader import load_environment, load_specs

    blueprint = compile_blueprint(load_specs([workspace / "model_specs"]), load_environment(workspace / "stacks", "prod"))
    versions = []
    from inferstack.compiler import served_versions

    for deployment, version in [(d, v) for d in blueprint.models for v in served_versions(d.spec)]:
        if deployment.name not in stages:
            continue
        versions.append(
            {
                "model": deployment.name,
                "team": deployment.team,
                "version": version,
                "stage": stages[deployment.name],
                "sha256": "0" * 64,
                "size_bytes": 1,
                "storage_uri": deployment.storage_uri,
                "gate_passed": True,
                "gate_provider": "CUDAExecutionProvider" if gpu_memory_mib else "CPUExecutionProvider",
                "p95_ms_batch1": 1.0,
                "peak_memory_mib": gpu_memory_mib or 20.0,
            }
        )
    path = workspace / "snapshot.json"
    path.write_text(
        json.dumps({"environment": "prod", "bucket": "inferstack-models-prod", "taken_at": "2026-11-25T12:00:00+00:00", "versions": versions})
    )
    return path


def test_registry_snapshot_is_authoritative_for_approvals(workspace: Path) -> None:
    all_prod = {name: "prod" for name in ("fraud-scorer", "llm-assistant", "product-vision", "query-embedder")}
    approved = _snapshot(workspace, all_prod)
    code, stdout, stderr = _plan(workspace, "approved", "--registry-snapshot", str(approved), stack="prod")
    assert code == 0, stdout + stderr
    only_staging = _snapshot(workspace, {**all_prod, "fraud-scorer": "staging"})
    code, _, stderr = _plan(workspace, "unapproved", "--registry-snapshot", str(only_staging), stack="prod")
    assert code == 1
    assert "approved-stage" in stderr and "fraud-scorer" in stderr


def test_bad_registry_snapshot_exits_2(workspace: Path) -> None:
    (workspace / "snapshot.json").write_text('{"environment": "prod"}')
    code, _, stderr = _plan(workspace, "out", "--registry-snapshot", str(workspace / "snapshot.json"), stack="prod")
    assert code == 2
    assert "snapshot.json" in stderr and "Traceback" not in stderr
    assert not (workspace / "out").exists()


def test_checkov_findings_join_policy_json_and_block(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--checkov merges the scan into policy.json; a failed InferenceService check blocks (exit 1)."""
    import inferstack.plan.runner as runner
    from inferstack.policy.checkov import CheckovFinding, CheckovReport

    scanned: list[list[str]] = []

    def fake_run_checkov(directory: Path) -> CheckovReport:
        scanned.append(sorted(path.name for path in directory.iterdir()))
        finding = CheckovFinding("CKV_ISVC_1", "runs as non-root", "InferenceService.risk.fraud-scorer", "risk.yaml")
        return CheckovReport(passed=10, failed=(finding,), skipped=(), resources=11, checkov_version="3.3.30")

    monkeypatch.setattr(runner, "run_checkov", fake_run_checkov)
    code, stdout, _ = _plan(workspace, "out", "--checkov")
    assert code == 1
    assert scanned and "risk.yaml" in scanned[0]
    policy = json.loads((workspace / "out" / "policy.json").read_text())
    assert policy["checkov"]["failed"] == 1
    assert any(v["policy"] == "CKV_ISVC_1" and v["enforcement"] == "mandatory" for v in policy["violations"])
    assert "FAILED CKV_ISVC_1" in stdout


def test_checkov_that_cannot_run_is_reported_not_hidden(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import inferstack.plan.runner as runner
    from inferstack.policy.checkov import CheckovUnavailable

    def unavailable(directory: Path) -> None:
        raise CheckovUnavailable("uvx is not on PATH; install uv to run checkov isolated")

    monkeypatch.setattr(runner, "run_checkov", unavailable)
    code, _, stderr = _plan(workspace, "out", "--checkov")
    assert code == 0
    assert "warning: checkov: uvx is not on PATH" in stderr
    assert "checkov: uvx is not on PATH" in (workspace / "out" / "report.md").read_text()


def test_unwritable_out_is_one_clear_line(workspace: Path) -> None:
    (workspace / "a-file").write_text("not a folder")
    code, _, stderr = _plan(workspace, "a-file/out")
    assert code == 2
    assert "--out: cannot write the plan" in stderr and "Traceback" not in stderr


def test_schema_to_unwritable_path_is_one_clear_line(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    result = CliRunner().invoke(app, ["schema", "--out", str(tmp_path / "a-file" / "schema.json")])
    assert result.exit_code == 2
    assert "--out: cannot write the schema" in result.stderr


def test_registry_snapshot_of_another_store_is_bad_input(workspace: Path) -> None:
    """A snapshot vouches only for its own store: another environment's or bucket's is refused (exit 2)."""
    all_prod = {name: "prod" for name in ("fraud-scorer", "llm-assistant", "product-vision", "query-embedder")}
    snapshot = _snapshot(workspace, all_prod)
    document = json.loads(snapshot.read_text())
    snapshot.write_text(json.dumps(document | {"environment": "staging", "bucket": "inferstack-models-staging"}))
    code, _, stderr = _plan(workspace, "out", "--registry-snapshot", str(snapshot), stack="prod")
    assert code == 2, stderr
    assert "snapshot.json: environment: snapshot is of the staging store, the stack is prod" in stderr
    assert "snapshot.json: bucket: snapshot is of bucket inferstack-models-staging" in stderr
    assert not (workspace / "out").exists()


def test_approvals_without_a_snapshot_are_unverified(workspace: Path) -> None:
    """Without --registry-snapshot the specs' approval claims are listed as unverified, not believed as passed."""
    code, stdout, stderr = _plan(workspace, "out", stack="prod")
    assert code == 0, stdout + stderr
    policy = json.loads((workspace / "out" / "policy.json").read_text())
    unverified = [item for item in policy["not_evaluated"] if item["policy"] == "approved-stage"]
    assert unverified and all(item["reason"].startswith("approval unverified") for item in unverified)
    assert "approval(s) unverified" in (workspace / "out" / "report.md").read_text()
    all_prod = {name: "prod" for name in ("fraud-scorer", "llm-assistant", "product-vision", "query-embedder")}
    code, stdout, stderr = _plan(workspace, "verified", "--registry-snapshot", str(_snapshot(workspace, all_prod)), stack="prod")
    assert code == 0, stdout + stderr
    verified = json.loads((workspace / "verified" / "policy.json").read_text())
    assert [item for item in verified["not_evaluated"] if item["policy"] == "approved-stage"] == []
