"""Data classification: a spec's data.classification and data.payload_logging decide what KServe's payload
logger keeps; pii never logs whole exchanges (issue 15, item 4 of engineer 15b)."""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from inferstack.compiler import compile_blueprint
from inferstack.policy import PolicyResource
from inferstack.policy.rules.oversight import check_pii_payload_logging
from inferstack.render.inference_service import render_inference_service
from inferstack.render.rollout import logs_payloads
from inferstack.spec.loader import load_environment, load_specs
from inferstack.spec.model import ModelSpec
from tests.policy_corpus.baseline import context
from tests.spec_factory import spec_document

REPO = Path(__file__).resolve().parents[1]
DRIFT = {
    "features": [{"name": "amount", "type": "numeric"}],
    "predictions": True,
    "trigger": {"kind": "none"},
}
SIGNATURE = {
    "inputs": [{"name": "features", "dtype": "float32", "shape": [None, 2], "columns": ["amount", "hour"]}],
    "outputs": [{"name": "probability", "dtype": "float32", "shape": [None, 1]}],
}


def _spec(data: dict[str, Any] | None = None, drift: dict[str, Any] | None = None) -> ModelSpec:
    document = spec_document(accelerator={"gpu_type": "none"}, signature=SIGNATURE)
    if data is not None:
        document["data"] = data
    if drift is not None:
        document["monitoring"] = {**document["monitoring"], "drift": drift}
    return ModelSpec.model_validate(document)


@pytest.mark.parametrize("logging", [None, "all"])
def test_pii_refuses_logging_whole_exchanges(logging: str | None) -> None:
    data = {"classification": "pii"} | ({"payload_logging": logging} if logging else {})
    with pytest.raises(ValidationError) as error:
        _spec(data)
    assert "expected payload_logging request, response or none" in str(error.value)


@pytest.mark.parametrize("logging", ["request", "response", "none"])
def test_pii_accepts_one_side_or_none(logging: str) -> None:
    assert _spec({"classification": "pii", "payload_logging": logging}).data.logger_mode == logging


def test_default_keeps_logging_everything_for_internal_data() -> None:
    assert _spec().data.classification == "internal" and _spec().data.logger_mode == "all"


@pytest.mark.parametrize(
    ("logging", "drift", "expected"),
    [
        ("none", DRIFT, "payload_logging is none"),
        ("response", DRIFT, "features are read from logged requests"),
        ("request", DRIFT, "predictions are read from logged responses"),
    ],
)
def test_the_drift_watch_must_be_fed_by_the_logged_side(logging: str, drift: dict[str, Any], expected: str) -> None:
    with pytest.raises(ValidationError) as error:
        _spec({"classification": "pii", "payload_logging": logging}, drift)
    assert expected in str(error.value)
    assert _spec({"classification": "pii", "payload_logging": "request"}, {**drift, "predictions": False})


def test_shipped_fraud_scorer_is_pii_and_logs_requests_only() -> None:
    """The defect: card-transaction data was logged in mode all. Now the logger records requests only."""
    config = load_environment(REPO / "stacks", "prod")
    blueprint = compile_blueprint(load_specs([REPO / "model_specs"]), config)
    fraud = blueprint.model("fraud-scorer")
    assert fraud.spec.data.classification == "pii"
    manifest = render_inference_service(fraud, blueprint)
    assert manifest["spec"]["predictor"]["logger"]["mode"] == "request"
    assert manifest["metadata"]["annotations"]["inferstack.io/data-classification"] == "pii"
    resource = PolicyResource("urn:x", "kubernetes:serving.kserve.io/v1beta1:InferenceService", "fraud-scorer", manifest)
    assert list(check_pii_payload_logging(resource, context("prod"))) == []
    whole = copy.deepcopy(manifest)
    whole["spec"]["predictor"]["logger"]["mode"] = "all"
    assert list(check_pii_payload_logging(PolicyResource("urn:x", resource.type, "fraud-scorer", whole), context("prod")))


def test_no_logging_means_no_logger_and_no_write_permission() -> None:
    config = load_environment(REPO / "stacks", "prod")
    loaded = load_specs([REPO / "model_specs"])
    document = yaml.safe_load((REPO / "model_specs" / "fraud_scorer.yaml").read_text())
    document["data"] = {"classification": "pii", "payload_logging": "none"}
    del document["monitoring"]["drift"]
    spec = ModelSpec.model_validate(document)
    loaded = [dataclasses.replace(item, spec=spec) if item.spec.name == "fraud-scorer" else item for item in loaded]
    blueprint = compile_blueprint(loaded, config)
    fraud = blueprint.model("fraud-scorer")
    assert not logs_payloads(fraud)
    assert "logger" not in render_inference_service(fraud, blueprint)["spec"]["predictor"]


def test_validate_refuses_a_pii_spec_that_logs_everything_with_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from inferstack.cli import app

    monkeypatch.chdir(tmp_path)
    document = spec_document(accelerator={"gpu_type": "none"}, data={"classification": "pii"})
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(document))
    result = CliRunner().invoke(app, ["validate", "s.yaml"])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert any(line.startswith("s.yaml: data.") and "payload_logging request, response or none" in line for line in lines), lines
