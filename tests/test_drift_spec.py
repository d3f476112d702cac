"""`monitoring.drift`: the spec language of drift detection, validated like the rest (one line per problem, exit 2)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from inferstack.cli import app
from inferstack.spec.model import ModelSpec
from tests.spec_factory import spec_document

TABULAR_SIGNATURE: dict[str, Any] = {
    "inputs": [
        {"name": "features", "dtype": "float32", "shape": [None, 3], "columns": ["amount", "hour", "merchant"]},
        {"name": "country", "dtype": "string", "shape": [None]},
    ],
    "outputs": [{"name": "probability", "dtype": "float32", "shape": [None, 1]}],
}


def drift_document(drift: dict[str, Any], signature: dict[str, Any] | None = TABULAR_SIGNATURE) -> dict[str, Any]:
    """A spec document with a drift watch (and, unless None, the tabular signature)."""
    monitoring = {**spec_document()["monitoring"], "drift": drift}
    changes: dict[str, Any] = {"monitoring": monitoring}
    if signature is not None:
        changes["signature"] = signature
    return spec_document(**changes)


def test_full_drift_watch_loads_with_defaults_filled() -> None:
    spec = ModelSpec.model_validate(
        drift_document(
            {
                "features": [{"name": "amount", "type": "numeric"}, {"name": "country", "type": "categorical"}],
                "numeric": {"statistic": "ks"},
                "categorical": {"statistic": "chi-square", "warn": 0.2, "page": 0.4},
                "schedule": "5,35 * * * 1-5",
                "trigger": {"kind": "github", "repository": "acme/train", "event_type": "retrain", "token_secret": "gh-token"},
            }
        )
    )
    drift = spec.monitoring.drift
    assert drift is not None
    assert drift.numeric.thresholds == (0.1, 0.2)
    assert drift.categorical.thresholds == (0.2, 0.4)
    assert drift.trigger.kind == "github"
    assert [feature.name for feature in drift.resolved_features(spec.signature)] == ["amount", "country"]


def test_all_inputs_expand_columns_and_per_row_tensors_with_types() -> None:
    spec = ModelSpec.model_validate(drift_document({}))
    assert spec.monitoring.drift is not None
    features = spec.monitoring.drift.resolved_features(spec.signature)
    assert [(feature.name, feature.type) for feature in features] == [
        ("amount", "numeric"),
        ("hour", "numeric"),
        ("merchant", "numeric"),
        ("country", "categorical"),
    ]


# (case id, drift block, signature or None, field path the line names, phrase)
BAD: list[tuple[str, dict[str, Any], dict[str, Any] | None, str, str]] = [
    ("unknown-feature", {"features": [{"name": "amout", "type": "numeric"}]}, TABULAR_SIGNATURE, "monitoring.drift.features", "amout, not a watchable input"),
    ("no-signature", {}, None, "monitoring.drift", "declares no signature"),
    ("numeric-string", {"features": [{"name": "country", "type": "numeric"}]}, TABULAR_SIGNATURE, "monitoring.drift.features", "expected type categorical"),
    ("warn-above-page", {"numeric": {"statistic": "psi", "warn": 0.3, "page": 0.2}}, TABULAR_SIGNATURE, "monitoring.drift.numeric", "warn 0.3 is not below page 0.2"),
    ("ks-over-one", {"numeric": {"statistic": "ks", "page": 1.5}}, TABULAR_SIGNATURE, "monitoring.drift.numeric", "ranges 0..1"),
    ("categorical-psi", {"categorical": {"statistic": "psi"}}, TABULAR_SIGNATURE, "monitoring.drift", "expected chi-square or jensen-shannon"),
    ("numeric-js", {"numeric": {"statistic": "jensen-shannon"}}, TABULAR_SIGNATURE, "monitoring.drift", "expected psi or ks"),
    ("bad-cron", {"schedule": "every hour"}, TABULAR_SIGNATURE, "monitoring.drift.schedule", "expected 5"),
    ("cron-out-of-range", {"schedule": "61 * * * *"}, TABULAR_SIGNATURE, "monitoring.drift.schedule", "expected 0..59"),
    ("few-samples", {"min_samples": 3}, TABULAR_SIGNATURE, "monitoring.drift.min_samples", "greater than or equal to 30"),
    ("repeated-feature", {"features": [{"name": "amount", "type": "numeric"}] * 2}, TABULAR_SIGNATURE, "monitoring.drift", "features repeat amount"),
    (
        "token-in-spec",
        {"trigger": {"kind": "github", "repository": "a/b", "event_type": "e", "token_secret": "s", "token": "ghp_x"}},
        TABULAR_SIGNATURE,
        "monitoring.drift.trigger.github.token",
        "unknown field",
    ),
    ("bad-repository", {"trigger": {"kind": "github", "repository": "no-slash", "event_type": "e", "token_secret": "s"}}, TABULAR_SIGNATURE, "monitoring.drift.trigger.github.repository", "should match pattern"),
    ("unknown-trigger", {"trigger": {"kind": "webhook"}}, TABULAR_SIGNATURE, "monitoring.drift.trigger", "kind"),
    ("nothing-watched", {"features": [], "predictions": False}, TABULAR_SIGNATURE, "monitoring.drift", "expected something to watch"),
    (
        "columns-mismatch",
        {},
        {"inputs": [{"name": "x", "dtype": "float32", "shape": [None, 2], "columns": ["a"]}], "outputs": TABULAR_SIGNATURE["outputs"]},
        "signature.inputs[0]",
        "columns has 1 names for shape[1] 2",
    ),
]


@pytest.mark.parametrize(("case", "drift", "signature", "path", "phrase"), BAD, ids=[case[0] for case in BAD])
def test_bad_drift_watch_gets_one_clear_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str, drift: dict[str, Any], signature: dict[str, Any] | None, path: str, phrase: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(drift_document(drift, signature), sort_keys=False))
    result = CliRunner().invoke(app, ["validate", "s.yaml"])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert any(line.startswith(f"s.yaml: {path}") and phrase in line for line in lines), lines


def test_schema_documents_every_drift_field() -> None:
    from inferstack.spec.schema import spec_json_schema

    schema = spec_json_schema()
    drift = schema["$defs"]["DriftSpec"]
    assert set(drift["properties"]) == {
        "features", "predictions", "numeric", "categorical", "window_minutes", "schedule", "min_samples", "trigger",
    }
    assert all(field.get("description") for field in drift["properties"].values())
    assert drift["additionalProperties"] is False
