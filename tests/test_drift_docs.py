"""docs/drift.md's worked example, run command by command: gate -> publish -> plan -> drift run (steady) -> drift run (shifted)."""

from __future__ import annotations

import json
import shlex
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from inferstack.cli import app
from tests.aws_fixtures import ModelStores
from tests.onnx_models import FEATURES, save, scorer_model
from tests.test_drift_cli import GithubStandIn, _log_request, github  # noqa: F401 - github is a fixture
from inferstack.drift.payloads import REQUEST_TYPE, RESPONSE_TYPE
from inferstack.render.payload_logging import payload_log_object_key

DOC = Path(__file__).resolve().parents[1] / "docs" / "drift.md"
TEAM, MODEL = "risk", "fraud-scorer"


def doc_commands() -> list[list[str]]:
    """The `$ inferstack ...` lines of the worked example, in order, as argument lists."""
    return [shlex.split(line.strip()[len("$ inferstack ") :]) for line in DOC.read_text().splitlines() if line.strip().startswith("$ inferstack ")]


def traffic(rng: np.random.Generator, count: int, shift: float) -> dict[str, np.ndarray]:
    merchants = np.asarray([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    weights = np.asarray([0.3, 0.2, 0.2, 0.1, 0.1, 0.1]) + np.asarray([0, 0, 0, 0, 0, 1.5]) * shift
    return {
        "amount": rng.lognormal(3.5 + shift, 1, count),
        "hour_of_day": np.clip(rng.normal(14 + 5 * shift, 4, count), 0, 23).round(),
        "distance_km": rng.gamma(2 + 2 * shift, 5, count),
        "merchant_category": rng.choice(merchants, count, p=weights / weights.sum()),
        "probability": rng.beta(2 + 4 * shift, 10, count),
    }


def column_index(workspace: Path) -> dict[str, int]:
    spec = yaml.safe_load((workspace / "model_specs" / "fraud_scorer.yaml").read_text())
    return {name: index for index, name in enumerate(spec["signature"]["inputs"][0]["columns"])}


def put_logs(stores: ModelStores, data: dict[str, np.ndarray], columns: dict[str, int], prefix: str) -> None:
    s3, bucket = stores.s3("dev"), stores.buckets["dev"]
    count = len(data["amount"])
    for index, start in enumerate(range(0, count, 100)):
        stop = min(count, start + 100)
        matrix = np.zeros((stop - start, FEATURES))
        for name in ("amount", "hour_of_day", "distance_km", "merchant_category"):
            matrix[:, columns[name]] = data[name][start:stop]
        request = {"inputs": [{"name": "features", "shape": [stop - start, FEATURES], "datatype": "FP32", "data": matrix.ravel().tolist()}]}
        response = {"outputs": [{"name": "probability", "shape": [stop - start, 1], "datatype": "FP32", "data": data["probability"][start:stop].tolist()}]}
        for side, kind, body in (("request", REQUEST_TYPE, request), ("response", RESPONSE_TYPE, response)):
            key = payload_log_object_key(TEAM, TEAM, MODEL, "predictor", MODEL, "primary", f"{prefix}-{index}", side)
            s3.put_object(Bucket=bucket, Key=key, Body=_log_request(f"{prefix}-{index}", kind, body))


def clear_logs(stores: ModelStores) -> None:
    s3, bucket = stores.s3("dev"), stores.buckets["dev"]
    for item in s3.list_objects_v2(Bucket=bucket, Prefix=f"payload-logs/{TEAM}/").get("Contents", []):
        s3.delete_object(Bucket=bucket, Key=item["Key"])


def run(arguments: list[str]) -> tuple[int, str]:
    result = CliRunner().invoke(app, arguments)
    assert "Traceback" not in result.output, result.output
    return result.exit_code, (result.stdout + result.stderr).replace("\n", " ")


def test_worked_example_runs_as_documented(
    model_stores: ModelStores, github: GithubStandIn, tmp_path: Path, repo_root: Path, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    shutil.copytree(repo_root / "model_specs", tmp_path / "model_specs", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(repo_root / "stacks", tmp_path / "stacks")
    monkeypatch.chdir(tmp_path)
    save(scorer_model(), tmp_path / "fraud_scorer.onnx")
    rng = np.random.default_rng(21)
    reference = traffic(rng, 5000, 0.0)
    names = ["amount", "hour_of_day", "distance_km", "merchant_category", "probability"]
    lines = [",".join(names)] + [",".join(f"{reference[name][row]:.5g}" for name in names) for row in range(5000)]
    (tmp_path / "reference.csv").write_text("\n".join(lines) + "\n")
    columns = column_index(tmp_path)

    gate, publish, plan, steady, shifted = doc_commands()
    assert gate[:2] == ["gate", "fraud_scorer.onnx"] and plan[:1] == ["plan"] and steady == shifted

    code, output = run(gate)
    assert code == 0, output
    assert "reference profile: 5,000 rows, 4 distribution(s) from reference.csv -> fraud_scorer.reference-profile.json" in output

    code, output = run(publish)
    assert code == 0, output
    assert "reference profile stored at s3://inferstack-models-dev/models/risk/fraud-scorer/3.2.0/reference-profile.json" in output

    code, output = run(plan)
    assert code == 0, output
    resources = {item["name"] for item in json.loads((tmp_path / "out" / "dev" / "plan.json").read_text())["resources"]}
    assert {"inferstack-dev-drift-fraud-scorer-cron-job", "inferstack-dev-drift-fraud-scorer-role"} <= resources

    put_logs(model_stores, traffic(rng, 1200, 0.0), columns, "steady")
    code, output = run(steady)
    assert code == 0, output
    assert "level ok; 1,200 rows, 0 malformed skipped; trigger: not needed" in output
    assert github.calls == []

    clear_logs(model_stores)
    put_logs(model_stores, traffic(rng, 1200, 1.0), columns, "shifted")
    code, output = run(shifted)
    assert code == 0, output
    assert "level page" in output and "trigger: fired: github repository_dispatch retrain-fraud-scorer to example-org/risk-models" in output
    assert 'feature="amount",kind="input"} 2' in (tmp_path / "drift.prom").read_text()
    code, output = run(shifted)
    assert code == 0 and "already fired this window" in output
    assert len(github.calls) == 1
