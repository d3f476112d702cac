"""The pure drift detector: statistics, reference profiles, KServe payload-log parsing, request/response matching."""

from __future__ import annotations

import base64
import json
import math

import numpy as np
import pytest

from inferstack.drift import stats
from inferstack.drift.detector import PayloadMatcher, ProfileMismatch, WindowCounts, evaluate, grade
from inferstack.drift.payloads import REQUEST_TYPE, RESPONSE_TYPE, ParseStats, PayloadLayout, parse_object
from inferstack.drift.profile import build_profile, category_keys, factorize, numeric_counts, numeric_edges
from inferstack.spec.drift import DriftFeature, DriftSpec
from inferstack.spec.model import Signature, TensorSpec

SIGNATURE = Signature(
    inputs=[
        TensorSpec(name="features", dtype="float32", shape=[None, 2], columns=["amount", "merchant"]),
        TensorSpec(name="country", dtype="string", shape=[None]),
    ],
    outputs=[TensorSpec(name="probability", dtype="float32", shape=[None, 1])],
)
FEATURES = [
    DriftFeature(name="amount", type="numeric"),
    DriftFeature(name="merchant", type="categorical"),
    DriftFeature(name="country", type="categorical"),
]


def test_psi_matches_its_formula_and_is_zero_for_equal_distributions() -> None:
    assert stats.psi([10, 20, 70], [10, 20, 70]) == pytest.approx(0.0)
    expected = sum((c - r) * math.log(c / r) for r, c in ((0.5, 0.3), (0.5, 0.7)))
    assert stats.psi([50, 50], [30, 70]) == pytest.approx(expected, rel=1e-3)


def test_ks_is_the_largest_cumulative_gap() -> None:
    assert stats.ks([25, 25, 25, 25], [0, 50, 25, 25]) == pytest.approx(0.25)
    assert stats.ks([1, 0], [0, 1]) == pytest.approx(1.0)


def test_jensen_shannon_is_bounded_and_symmetric() -> None:
    assert stats.jensen_shannon([1, 0], [0, 1]) == pytest.approx(1.0)
    assert stats.jensen_shannon([3, 1], [1, 3]) == pytest.approx(stats.jensen_shannon([1, 3], [3, 1]))
    assert stats.jensen_shannon([5, 5], [5, 5]) == pytest.approx(0.0)


def test_chi_square_reports_cramers_v_independent_of_sample_size() -> None:
    small = stats.chi_square([50, 50], [40, 60])
    large = stats.chi_square([50, 50], [4000, 6000])
    assert small[0] == pytest.approx(4.0)  # (40-50)^2/50 + (60-50)^2/50
    assert small[1] == pytest.approx(large[1]) == pytest.approx(0.2)


def test_grade_thresholds_are_inclusive() -> None:
    assert [grade(value, 0.1, 0.2) for value in (0.05, 0.1, 0.19, 0.2, 3)] == ["ok", "warn", "warn", "page", "page"]


def test_numeric_bins_are_quantiles_with_a_missing_bin() -> None:
    values = np.arange(1000, dtype=np.float64)
    edges = numeric_edges(values, bins=4)
    assert edges.tolist() == pytest.approx([249.75, 499.5, 749.25])
    counts = numeric_counts(np.append(values, [np.nan, np.inf]), edges)
    assert counts.tolist() == [250, 250, 250, 250, 2]


def test_category_keys_agree_between_csv_text_and_logged_numbers() -> None:
    assert category_keys(np.asarray([3.0, 4.0])).tolist() == ["3", "4"]
    assert category_keys(np.asarray(["3", "4"])).tolist() == ["3", "4"]
    assert category_keys(np.asarray([True, False])).tolist() == ["true", "false"]
    assert category_keys(np.asarray([1.5, 2.0])).tolist() == ["1.5", "2"]


def test_factorize_matches_numpy_unique_on_large_inputs() -> None:
    keys = np.random.default_rng(0).choice(np.asarray(["a", "bb", "", "ccc", "é"]), 50_000)
    unique, inverse = factorize(keys)
    assert np.array_equal(unique[inverse], keys)
    assert sorted(unique.tolist()) == ["", "a", "bb", "ccc", "é"]


def _profile(rng: np.random.Generator, rows: int = 5000):  # noqa: ANN202 - test helper
    return build_profile(
        "demo",
        {
            "amount": ("numeric", rng.lognormal(3, 1, rows)),
            "merchant": ("categorical", rng.choice([1.0, 2.0, 3.0], rows)),
            "country": ("categorical", rng.choice(["de", "fr", "us"], rows, p=[0.2, 0.2, 0.6])),
        },
        ("numeric", rng.beta(2, 8, rows)),
        "reference.csv",
        "0" * 64,
    )


def _log(identifier: str, kind: str, body: object) -> dict[str, object]:
    """A LogRequest as KServe's blob store JSON marshaller writes it (Go marshals Bytes as base64)."""
    return {
        "id": identifier,
        "reqType": kind,
        "contentType": "application/json",
        "bytes": base64.b64encode(json.dumps(body).encode()).decode(),
        "inferenceService": "demo",
        "namespace": "risk",
        "component": "predictor",
        "occurrenceTime": "2026-12-06T10:00:00Z",
    }


def _v2_pair(identifier: str, amounts: list[float], merchants: list[float], countries: list[str], scores: list[float]) -> list[bytes]:
    rows = len(amounts)
    request = {
        "inputs": [
            {"name": "features", "shape": [rows, 2], "datatype": "FP32", "data": [v for pair in zip(amounts, merchants, strict=True) for v in pair]},
            {"name": "country", "shape": [rows], "datatype": "BYTES", "data": countries},
        ]
    }
    response = {"outputs": [{"name": "probability", "shape": [rows, 1], "datatype": "FP32", "data": scores}]}
    return [json.dumps(_log(identifier, REQUEST_TYPE, request)).encode(), json.dumps(_log(identifier, RESPONSE_TYPE, response)).encode()]


def test_v1_and_v2_payloads_and_cloudevents_parse_to_the_same_rows() -> None:
    layout = PayloadLayout.of(SIGNATURE, FEATURES, predictions=True)
    profile = _profile(np.random.default_rng(1))
    counts = WindowCounts(profile, ("amount", "merchant", "country"), True)
    matcher = PayloadMatcher(layout, counts)
    for body in _v2_pair("a", [10.0, 20.0], [1.0, 2.0], ["de", "us"], [0.1, 0.2]):
        matcher.add(parse_object(body, matcher.stats))
    v1_request = {"instances": [{"features": [30.0, 3.0], "country": "fr"}]}
    v1_response = {"predictions": [[0.3]]}
    # A structured CloudEvent (HTTP sink saved as JSON) and a response in a JSON array (a batch of one).
    event = {"specversion": "1.0", "id": "b", "type": REQUEST_TYPE, "source": "pod", "datacontenttype": "application/json", "data": v1_request}
    matcher.add(parse_object(json.dumps(event).encode(), matcher.stats))
    matcher.add(parse_object(json.dumps([_log("b", RESPONSE_TYPE, v1_response)]).encode(), matcher.stats))
    parsed = matcher.finish()
    assert (parsed.matched, parsed.rows, parsed.prediction_rows, parsed.malformed_total) == (2, 3, 3, 0)
    assert int(counts.features["amount"].sum()) == 3
    merchant = profile.feature("merchant")
    assert merchant is not None
    slot = {name: index for index, name in enumerate(merchant.categories)}
    assert counts.features["merchant"][slot["1"]] == 1 and counts.features["merchant"][slot["3"]] == 1


def test_malformed_lines_and_records_are_counted_and_skipped() -> None:
    layout = PayloadLayout.of(SIGNATURE, FEATURES, predictions=True)
    counts = WindowCounts(_profile(np.random.default_rng(2)), ("amount", "merchant", "country"), True)
    matcher = PayloadMatcher(layout, counts)
    good_request, good_response = _v2_pair("ok", [1.0], [1.0], ["de"], [0.5])
    lines = b"\n".join(
        [
            good_request,
            b"{not json",
            json.dumps({"id": "x", "reqType": "something.else", "bytes": ""}).encode(),
            json.dumps({"id": "y", "reqType": REQUEST_TYPE, "bytes": "@@@"}).encode(),
            json.dumps(_log("z", REQUEST_TYPE, {"neither": 1})).encode(),
            json.dumps(_log("w", REQUEST_TYPE, {"inputs": [{"name": "features", "shape": [2, 2], "datatype": "FP32", "data": [1]}]})).encode(),
            good_response,
        ]
    )
    matcher.add(parse_object(lines, matcher.stats))
    parsed = matcher.finish()
    assert parsed.rows == 1 and parsed.matched == 1
    assert parsed.malformed == {
        "malformed JSON line": 1,
        "record: unknown type": 1,
        "record: bad base64": 1,
        "request: request has neither inputs (v2) nor instances (v1)": 1,
        "request: tensor data does not fit its shape": 1,
    }


def test_shift_raises_the_level_and_no_shift_stays_ok() -> None:
    rng = np.random.default_rng(3)
    profile = _profile(rng)
    spec = DriftSpec(features=FEATURES, min_samples=100)
    results = {}
    for shift in (0.0, 0.35, 2.0):
        counts = WindowCounts(profile, ("amount", "merchant", "country"), True)
        counts.add_rows(
            {
                "amount": rng.lognormal(3 + shift, 1, 3000),
                "merchant": rng.choice([1.0, 2.0, 3.0], 3000),
                "country": rng.choice(["de", "fr", "us"], 3000, p=[0.2, 0.2, 0.6]),
            },
            3000,
        )
        counts.add_predictions(rng.beta(2, 8, 3000))
        counts.flush()
        report = evaluate(counts, spec, ParseStats(), model="demo", version="1", environment="prod", window=("s", "e"))
        results[shift] = {result.name: result.level for result in report.results}
    assert results[0.0] == {"amount": "ok", "merchant": "ok", "country": "ok", "prediction": "ok"}
    assert results[0.35]["amount"] == "warn"
    assert results[2.0]["amount"] == "page"


def test_too_few_rows_give_no_verdict() -> None:
    rng = np.random.default_rng(4)
    profile = _profile(rng)
    counts = WindowCounts(profile, ("amount",), False)
    counts.add_rows({"amount": rng.lognormal(9, 1, 50)}, 50)
    counts.flush()
    report = evaluate(counts, DriftSpec(features=FEATURES[:1], predictions=False, min_samples=500), ParseStats(), model="d", version="1", environment="dev", window=("", ""))
    assert report.level == "insufficient" and report.results[0].value is None


def test_profile_without_a_watched_feature_is_a_clear_error() -> None:
    profile = _profile(np.random.default_rng(5))
    with pytest.raises(ProfileMismatch, match="no feature 'income'.*--reference-data"):
        WindowCounts(profile, ("income",), False)
