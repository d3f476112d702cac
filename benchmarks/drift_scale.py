"""Drift detector at scale: 1,000,000 logged rows x 50 features (40 numeric, 10 categorical) plus the prediction.

Three timings, each the best of `--repeat` runs:

1. profile: the reference profile of 1,000,000 reference rows (what `gate --reference-data` computes);
2. detect: binning a window of 1,000,000 rows on the reference's bins and computing every statistic
   (the detector's computation; the issue's budget is 10 s on 2 cores);
3. end to end: the same window as KServe v2 payload logs (LogRequest JSON, base64 bodies, 100 rows per
   request, request and response objects matched by id) parsed and detected, with `--payload-rows` rows
   (default 200,000, to keep the run short; the figure is scaled to 1,000,000 rows and printed as a rate).

Usage: uv run python -m benchmarks.drift_scale [--rows N] [--features N] [--payload-rows N] [--repeat N]
"""

from __future__ import annotations

import argparse
import base64
import json
import time
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from inferstack.drift.detector import PayloadMatcher, WindowCounts, evaluate
from inferstack.drift.payloads import REQUEST_TYPE, RESPONSE_TYPE, ParseStats, PayloadLayout, parse_object
from inferstack.drift.profile import build_profile
from inferstack.spec.drift import DriftFeature, DriftSpec, FeatureType
from inferstack.spec.model import Signature, TensorSpec

BUDGET_S = 10.0
CATEGORIES = np.asarray([f"c{index:02d}" for index in range(30)])


def columns(rows: int, numeric: int, categorical: int, seed: int, shift: float) -> dict[str, npt.NDArray[np.generic]]:
    """Synthetic feature columns; `shift` moves the numeric means and skews the categories."""
    rng = np.random.default_rng(seed)
    data: dict[str, npt.NDArray[np.generic]] = {}
    for index in range(numeric):
        data[f"n{index:02d}"] = rng.normal(shift, 1.0 + index / numeric, rows)
    weights = np.linspace(1.0, 1.0 + shift * 5, len(CATEGORIES))
    for index in range(categorical):
        data[f"c{index:02d}"] = rng.choice(CATEGORIES, rows, p=weights / weights.sum())
    return data


def best(function: Callable[[], object], repeat: int) -> float:
    """Best wall time of `repeat` calls."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return min(times)


def payload_objects(data: dict[str, npt.NDArray[np.generic]], predictions: npt.NDArray[np.float64], batch: int) -> list[bytes]:
    """LogRequest JSON objects (as KServe's blob store writes them) for v2 requests of `batch` rows and their responses."""
    names = list(data)
    numeric = [name for name in names if name.startswith("n")]
    categorical = [name for name in names if name.startswith("c")]
    matrix = np.column_stack([data[name] for name in numeric]).astype(np.float32)
    rows = matrix.shape[0]
    objects: list[bytes] = []
    for start in range(0, rows, batch):
        stop = min(rows, start + batch)
        request = {
            "inputs": [
                {"name": "numeric", "shape": [stop - start, len(numeric)], "datatype": "FP32", "data": matrix[start:stop].ravel().tolist()},
                *[
                    {"name": name, "shape": [stop - start], "datatype": "BYTES", "data": data[name][start:stop].tolist()}
                    for name in categorical
                ],
            ]
        }
        response = {"outputs": [{"name": "score", "shape": [stop - start, 1], "datatype": "FP32", "data": predictions[start:stop].tolist()}]}
        for kind, body in ((REQUEST_TYPE, request), (RESPONSE_TYPE, response)):
            objects.append(
                json.dumps(
                    {"id": f"req-{start}", "reqType": kind, "contentType": "application/json", "bytes": base64.b64encode(json.dumps(body).encode()).decode()}
                ).encode()
            )
    return objects


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--features", type=int, default=50)
    parser.add_argument("--payload-rows", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    categorical = args.features // 5
    numeric = args.features - categorical
    reference = columns(args.rows, numeric, categorical, seed=1, shift=0.0)
    current = columns(args.rows, numeric, categorical, seed=2, shift=0.2)
    rng = np.random.default_rng(3)
    features = [DriftFeature(name=name, type="numeric" if name.startswith("n") else "categorical") for name in reference]
    spec = DriftSpec(features=features, min_samples=1000)
    kinds: dict[str, FeatureType] = {feature.name: feature.type for feature in features}

    profile_time = best(
        lambda: build_profile(
            "bench", {name: (kinds[name], values) for name, values in reference.items()}, ("numeric", rng.uniform(0, 1, args.rows)), "bench", "0" * 64
        ),
        args.repeat,
    )
    profile = build_profile(
        "bench", {name: (kinds[name], values) for name, values in reference.items()}, ("numeric", rng.uniform(0, 1, args.rows)), "bench", "0" * 64
    )
    current_predictions = rng.beta(2, 5, args.rows)

    def detect() -> str:
        counts = WindowCounts(profile, tuple(reference), True)
        counts.add_rows(dict(current), args.rows)
        counts.add_predictions(current_predictions)
        counts.flush()
        return evaluate(counts, spec, ParseStats(), model="bench", version="1", environment="dev", window=("", "")).level

    detect_time = best(detect, args.repeat)
    level = detect()

    subset = {name: values[: args.payload_rows] for name, values in current.items()}
    objects = payload_objects(subset, current_predictions[: args.payload_rows], batch=100)
    signature = Signature(
        inputs=[
            TensorSpec(name="numeric", dtype="float32", shape=[None, numeric], columns=[name for name in reference if name.startswith("n")]),
            *[TensorSpec(name=name, dtype="string", shape=[None]) for name in reference if name.startswith("c")],
        ],
        outputs=[TensorSpec(name="score", dtype="float32", shape=[None, 1])],
    )
    layout = PayloadLayout.of(signature, features, predictions=True)

    def end_to_end() -> int:
        counts = WindowCounts(profile, tuple(reference), True)
        matcher = PayloadMatcher(layout, counts)
        for body in objects:
            matcher.add(parse_object(body, matcher.stats))
        parsed = matcher.finish()
        evaluate(counts, spec, parsed, model="bench", version="1", environment="dev", window=("", ""))
        return parsed.rows

    e2e_time = best(end_to_end, max(1, args.repeat - 2))
    scaled = e2e_time * args.rows / args.payload_rows
    print(f"rows {args.rows:,} x {args.features} features ({numeric} numeric, {categorical} categorical) + prediction")
    print(f"profile (reference of {args.rows:,} rows):   {profile_time:6.2f} s")
    print(f"detect (bin + statistics, level {level}):    {detect_time:6.2f} s   budget {BUDGET_S:.0f} s, ratio {detect_time / BUDGET_S:.2f}")
    print(
        f"end to end from payload logs ({args.payload_rows:,} rows, {len(objects):,} objects): {e2e_time:6.2f} s "
        f"({args.payload_rows / e2e_time:,.0f} rows/s; {scaled:.1f} s scaled to {args.rows:,} rows)"
    )


if __name__ == "__main__":
    main()
