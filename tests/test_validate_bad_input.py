"""Bad input gets one clear line per problem and exit 2, never a traceback.

Each corpus entry is a spec file content, the field path the message must name,
and a phrase the message must contain.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from inferstack.cli import app
from tests.spec_factory import spec_document


def _yaml(**changes: object) -> str:
    return yaml.safe_dump(spec_document(**changes), sort_keys=False)


def _without(key: str) -> str:
    document = spec_document()
    del document[key]
    return yaml.safe_dump(document)


# (case id, file name, file content, expected field path, expected phrase)
CORPUS: list[tuple[str, str, str, str, str]] = [
    ("yaml-syntax", "s.yaml", "name: [unclosed\nteam: x\n", "line 2, column 5", "invalid YAML"),
    ("empty-file", "s.yaml", "", "(top level)", "the file is empty"),
    ("only-comments", "s.yaml", "# nothing here\n", "(top level)", "the file is empty"),
    ("not-a-mapping", "s.yaml", "- a\n- b\n", "(top level)", "expected a mapping"),
    ("unknown-top-field", "s.yaml", _yaml(replicas=3), "replicas", "unknown field"),
    (
        "unknown-nested-field-with-hint",
        "s.yaml",
        _yaml(scaling={"min_replica": 1, "max_replicas": 2}),
        "scaling.min_replica",
        "did you mean 'min_replicas'",
    ),
    ("missing-name", "s.yaml", _without("name"), "name", "required field is missing"),
    ("missing-monitoring", "s.yaml", _without("monitoring"), "monitoring", "required field is missing"),
    ("name-uppercase", "s.yaml", _yaml(name="MyModel"), "name", "should match pattern"),
    ("name-underscore", "s.yaml", _yaml(name="my_model"), "name", "should match pattern"),
    ("name-too-long", "s.yaml", _yaml(name="m" * 41), "name", "at most 40 characters"),
    ("team-starts-with-digit", "s.yaml", _yaml(team="9team"), "team", "should match pattern"),
    ("bad-owner-email", "s.yaml", _yaml(owner="nobody"), "owner", "should match pattern"),
    ("wrong-type-replicas", "s.yaml", _yaml(scaling={"min_replicas": "two"}), "scaling.min_replicas", "valid integer"),
    ("negative-replicas", "s.yaml", _yaml(scaling={"min_replicas": -1}), "scaling.min_replicas", "greater than or equal to 0"),
    (
        "min-above-max",
        "s.yaml",
        _yaml(scaling={"min_replicas": 4, "max_replicas": 2}),
        "scaling.min_replicas",
        "min_replicas 4 is above max_replicas 2",
    ),
    (
        "zero-min-without-scale-to-zero",
        "s.yaml",
        _yaml(scaling={"min_replicas": 0, "max_replicas": 2}),
        "scaling.min_replicas",
        "scale_to_zero",
    ),
    (
        "gpu-memory-above-gpu",
        "s.yaml",
        _yaml(accelerator={"gpu_type": "a10g", "gpus_per_replica": 1, "gpu_memory_gib": 30}),
        "accelerator.gpu_memory_gib",
        "has 24 GiB",
    ),
    ("unknown-gpu-type", "s.yaml", _yaml(accelerator={"gpu_type": "v100"}), "accelerator.gpu_type", "Input should be"),
    (
        "gpus-without-type",
        "s.yaml",
        _yaml(accelerator={"gpu_type": "none", "gpus_per_replica": 2}),
        "accelerator.gpus_per_replica",
        "gpus_per_replica is 2 with gpu_type none",
    ),
    (
        "shared-multi-gpu",
        "s.yaml",
        _yaml(accelerator={"gpu_type": "l4", "gpus_per_replica": 2, "gpu_memory_gib": 8, "shareable": True}),
        "accelerator.shareable",
        "expected gpus_per_replica 1 to share",
    ),
    (
        "gpu-utilization-on-cpu",
        "s.yaml",
        _yaml(accelerator={"gpu_type": "none"}, scaling={"metric": "gpu-utilization", "target": 70}),
        "scaling.metric",
        "gpu-utilization but accelerator.gpu_type is none",
    ),
    ("bad-format", "s.yaml", _yaml(artifact={"format": "pickle", "version": "1"}), "artifact.format", "Input should be"),
    ("bad-sha", "s.yaml", _yaml(artifact={"format": "onnx", "version": "1", "sha256": "abc"}), "artifact.sha256", "pattern"),
    (
        "bad-storage-scheme",
        "s.yaml",
        _yaml(artifact={"format": "onnx", "version": "1", "storage_uri": "ftp://x/y"}),
        "artifact.storage_uri",
        "pattern",
    ),
    (
        "canary-missing-percent",
        "s.yaml",
        _yaml(rollout={"strategy": "canary", "stable_version": "0.9.0"}),
        "rollout.strategy",
        "strategy canary needs canary_percent",
    ),
    ("canary-percent-over-100", "s.yaml", _yaml(rollout={"strategy": "canary", "stable_version": "0.9.0", "canary_percent": 150}), "rollout.canary_percent", "less than or equal to 100"),
    (
        "ab-weights-not-100",
        "s.yaml",
        _yaml(
            rollout={
                "strategy": "ab",
                "variants": [{"name": "a", "version": "1", "weight": 50}, {"name": "b", "version": "2", "weight": 20}],
            }
        ),
        "rollout",
        "weights add up to 70",
    ),
    (
        "stable-equals-candidate",
        "s.yaml",
        _yaml(rollout={"strategy": "canary", "stable_version": "1.0.0", "canary_percent": 10}),
        "rollout.stable_version",
        "stable_version equals artifact.version",
    ),
    ("runbook-not-https", "s.yaml", _yaml(monitoring={"runbook_url": "http://x", "alert_route": "slack:#a"}), "monitoring.runbook_url", "pattern"),
    ("bad-alert-route", "s.yaml", _yaml(monitoring={"runbook_url": "https://x", "alert_route": "carrier-pigeon"}), "monitoring.alert_route", "pattern"),
    ("unknown-environment", "s.yaml", _yaml(environments={"qa": {"enabled": False}}), "environments.qa", "Input should be"),
    (
        "override-breaks-cross-field-rule",
        "s.yaml",
        _yaml(environments={"dev": {"scaling": {"min_replicas": 9}}}),
        "environments.dev.scaling.min_replicas",
        "after applying environments.dev",
    ),
    (
        "reserved-namespace",
        "s.yaml",
        _yaml(namespace="kube-system"),
        "namespace",
        "is reserved",
    ),
    ("python-raises", "s.py", "raise RuntimeError('boom')\n", "line 1", "the module raised RuntimeError: boom"),
    ("python-syntax", "s.py", "def broken(:\n", "line 1", "Python syntax error"),
    (
        "python-invalid-spec",
        "s.py",
        "from inferstack.spec import Scaling\nscaling = Scaling(min_replicas=3, max_replicas=1)\n",
        "line 2, Scaling.min_replicas",
        "min_replicas 3 is above max_replicas 1",
    ),
    ("python-no-specs", "s.py", "x = 1\n", "(top level)", "defines no ModelSpec objects"),
    ("wrong-suffix", "s.json", "{}", "(top level)", "not a spec file"),
]


def test_corpus_is_large_and_distinct() -> None:
    assert len(CORPUS) >= 25
    assert len({case[0] for case in CORPUS}) == len(CORPUS)


@pytest.mark.parametrize(("case", "file_name", "content", "path", "phrase"), CORPUS, ids=[case[0] for case in CORPUS])
def test_bad_spec_gets_one_clear_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str, file_name: str, content: str, path: str, phrase: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / file_name).write_text(content)
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1]))
    result = CliRunner().invoke(app, ["validate", file_name])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines, "expected a message on stderr"
    assert any(line.startswith(f"{file_name}: {path}: ") and phrase in line for line in lines), lines


def test_stack_file_problems_name_the_config_key(tmp_path: Path, repo_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    stack = yaml.safe_load((repo_root / "stacks" / "Pulumi.dev.yaml").read_text())
    stack["config"]["inferstack:spot"] = {"policy": "sometimes"}
    del stack["config"]["aws:region"]
    (tmp_path / "Pulumi.dev.yaml").write_text(yaml.safe_dump(stack))
    result = CliRunner().invoke(app, ["validate", "Pulumi.dev.yaml"])
    assert result.exit_code == 2
    assert "Pulumi.dev.yaml: config.aws:region: required setting is missing" in result.stderr
    assert "Pulumi.dev.yaml: config.inferstack:spot.policy: Input should be" in result.stderr


def test_shipped_specs_and_stacks_validate(repo_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(repo_root)
    result = CliRunner().invoke(app, ["validate"])
    assert result.exit_code == 0, result.output
    assert "compiled for dev, prod-eu-west-1, prod, staging" in result.output.replace("\n", " ")


def test_real_process_prints_no_traceback(tmp_path: Path, repo_root: Path) -> None:
    (tmp_path / "bad.yaml").write_text(_yaml(scaling={"min_replicas": 4, "max_replicas": 2}, replicas=1))
    result = subprocess.run(
        [sys.executable, "-m", "inferstack", "validate", str(tmp_path / "bad.yaml")],
        capture_output=True,
        text=True,
        cwd=repo_root,
        check=False,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2, lines
    assert all(line.startswith(str(tmp_path / "bad.yaml")) for line in lines)
