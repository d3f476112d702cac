"""Deploy readiness inside `inferstack plan`: the shipped plans, the report, policy.json, the exit-code switch, the docs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import inferstack.readiness
from inferstack.plan.runner import run_plan
from inferstack.policy.model import PolicyResource
from inferstack.readiness import CHECKS, CATEGORY, context_for, run_readiness
from inferstack.readiness.catalog import RULE_METADATA
from inferstack.readiness.docs import readiness_markdown
from inferstack.readiness.reference import MISSING_REFERENCE, reference_root


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_shipped_plans_have_no_deploy_readiness_errors(stack: str, repo_root: Path, reference: Path) -> None:
    from inferstack.compiler import compile_blueprint
    from inferstack.mocks import run_under_mocks
    from inferstack.spec.loader import load_environment, load_specs

    config = load_environment(repo_root / "stacks", stack)
    blueprint = compile_blueprint(load_specs([repo_root / "model_specs"]), config)
    records = run_under_mocks(stack, repo_root / "model_specs", repo_root / "stacks", blueprint=blueprint)
    resources = [
        PolicyResource(r.urn, r.type, r.name, dict(r.inputs), r.parent or None, tuple(r.dependencies)) for r in records
    ]
    report = run_readiness(resources, context_for(config))
    assert report.not_run == () and len(report.ran) == len(CHECKS)
    mandatory = [v for v in report.violations() if v["enforcement"] == "mandatory"]
    assert not mandatory, "\n".join(f"{v['rule_id']}: {v['urn']}: {v['message']}" for v in mandatory)


def test_findings_reach_policy_json_report_md_and_the_exit_code(tmp_path: Path, repo_root: Path, reference: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(repo_root / "model_specs", tmp_path / "model_specs", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(repo_root / "stacks", tmp_path / "stacks")
    monkeypatch.setattr(inferstack.readiness, "ENFORCE_READINESS", True)
    result = run_plan("dev", specs_dir=tmp_path / "model_specs", stacks_dir=tmp_path / "stacks", out_dir=tmp_path / "out")
    policy = json.loads((tmp_path / "out" / "policy.json").read_text())
    readiness = [v for v in policy["violations"] if v["category"] == CATEGORY]
    assert policy["readiness"]["ran"] and policy["readiness"]["enforced"] is True
    assert {v["rule_id"] for v in readiness} <= set(RULE_METADATA)
    assert all(v["urn"].startswith("urn:pulumi:dev::") and v["message"] for v in readiness)
    assert sum(policy["readiness"]["findings"].values()) == len(readiness)
    assert "### Deploy readiness" in (tmp_path / "out" / "report.md").read_text()
    assert result.readiness is not None
    policy_blocks = result.policy.has_mandatory_violations
    assert result.exit_code == (1 if result.readiness.mandatory or policy_blocks else 0)
    # The switch off: the same findings are reported, and only policy violations decide the exit code.
    monkeypatch.setattr(inferstack.readiness, "ENFORCE_READINESS", False)
    again = run_plan("dev", specs_dir=tmp_path / "model_specs", stacks_dir=tmp_path / "stacks", out_dir=tmp_path / "again")
    assert again.exit_code == (1 if policy_blocks else 0)
    assert json.loads((tmp_path / "again" / "policy.json").read_text())["readiness"]["enforced"] is False


def test_checks_that_need_reference_data_say_so_when_it_is_missing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from inferstack.readiness.model import ReadinessContext

    report = run_readiness([], ReadinessContext("dev", "1.33", reference=None))
    assert {item.split(":", 1)[0] for item in report.not_run} == {"deploy-crd-schema", "deploy-helm-values"}
    assert all(MISSING_REFERENCE in item for item in report.not_run)
    monkeypatch.setenv("INFERSTACK_REFERENCE", str(tmp_path / "nowhere"))
    assert reference_root() is None


def test_docs_deploy_readiness_md_is_current(repo_root: Path) -> None:
    text = readiness_markdown()
    for rule_id in RULE_METADATA:
        assert f"`{rule_id}`" in text
    assert (repo_root / "docs" / "deploy-readiness.md").read_text(encoding="utf-8") == text, (
        "regenerate with: uv run python -m inferstack.readiness.docs > docs/deploy-readiness.md"
    )


def test_stack_declares_preinstalled_crds(tmp_path: Path, repo_root: Path) -> None:
    import yaml

    from inferstack.problems import InputError
    from inferstack.spec.loader import load_environment

    shutil.copytree(repo_root / "stacks", tmp_path / "stacks")
    path = tmp_path / "stacks" / "Pulumi.dev.yaml"
    document = yaml.safe_load(path.read_text())
    document["config"]["inferstack:cluster"]["preinstalled_crds"] = ["HTTPRoute.gateway.networking.k8s.io", "monitoring.coreos.com"]
    path.write_text(yaml.safe_dump(document))
    config = load_environment(tmp_path / "stacks", "dev")
    assert context_for(config).preinstalled_crds == {"HTTPRoute.gateway.networking.k8s.io", "monitoring.coreos.com"}
    document["config"]["inferstack:cluster"]["preinstalled_crds"] = ["not a kind!"]
    path.write_text(yaml.safe_dump(document))
    with pytest.raises(InputError) as caught:
        load_environment(tmp_path / "stacks", "dev")
    assert "preinstalled_crds" in str(caught.value)
