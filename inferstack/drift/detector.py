"""The pure detector: bin a window's logged rows on the reference's bins, compute the statistics, grade them.

`WindowCounts` accumulates bin counts chunk by chunk (memory stays bounded by
`FLUSH_ROWS` rows, whatever the window holds); `PayloadMatcher` pairs logged
requests and responses by id and feeds it; `evaluate` turns the counts into a
`DriftReport` with one result per feature and for the predictions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from inferstack.drift import stats
from inferstack.drift.payloads import LogRecord, Malformed, ParseStats, PayloadLayout, request_columns, response_predictions
from inferstack.drift.profile import FeatureProfile, IntArray, ReferenceProfile
from inferstack.spec.drift import DriftSpec

Level = Literal["ok", "warn", "page", "insufficient"]
LEVEL_VALUE: dict[str, int] = {"insufficient": 0, "ok": 0, "warn": 1, "page": 2}
FLUSH_ROWS = 65_536
REPORT_FORMAT = "inferstack.drift.report/v1"


class ProfileMismatch(ValueError):
    """The profile does not cover a watched feature (it was gated for another spec)."""


@dataclass
class WindowCounts:
    """Bin counts of the window so far, per watched feature and for the prediction."""

    profile: ReferenceProfile
    feature_names: tuple[str, ...]
    watch_predictions: bool
    features: dict[str, IntArray] = field(default_factory=dict)
    prediction: IntArray | None = None
    _buffers: dict[str, list[npt.NDArray[Any]]] = field(default_factory=dict)
    _prediction_buffer: list[npt.NDArray[Any]] = field(default_factory=list)
    _buffered: int = 0
    rows: int = 0
    prediction_rows: int = 0

    def __post_init__(self) -> None:
        for name in self.feature_names:
            reference = self.profile.feature(name)
            if reference is None:
                raise ProfileMismatch(
                    f"the reference profile has no feature '{name}'; expected a profile gated for the spec's drift features "
                    "(gate again with --reference-data)"
                )
            self.features[name] = np.zeros(len(reference.counts), dtype=np.int64)
            self._buffers[name] = []
        if self.watch_predictions:
            if self.profile.prediction is None:
                raise ProfileMismatch(
                    "monitoring.drift.predictions is true but the reference profile has no prediction distribution; "
                    "expected reference data with the prediction column (gate again with --reference-data)"
                )
            self.prediction = np.zeros(len(self.profile.prediction.counts), dtype=np.int64)

    def add_rows(self, columns: dict[str, npt.NDArray[Any]], rows: int) -> None:
        """Buffer one request's columns (feature name -> values)."""
        for name in self.feature_names:
            self._buffers[name].append(columns[name])
        self.rows += rows
        self._buffered += rows
        if self._buffered >= FLUSH_ROWS:
            self.flush()

    def add_predictions(self, values: npt.NDArray[Any]) -> None:
        """Buffer one response's predictions."""
        if self.prediction is None:
            return
        self._prediction_buffer.append(values)
        self.prediction_rows += len(values)
        self._buffered += len(values)
        if self._buffered >= FLUSH_ROWS:
            self.flush()

    def add_matrix(self, matrix: npt.NDArray[np.float64], names: tuple[str, ...]) -> None:
        """Count a whole (rows x features) block at once (the fast path of benchmarks and reference checks)."""
        for index, name in enumerate(names):
            reference = self.profile.feature(name)
            assert reference is not None
            self.features[name] += reference.bin_counts(matrix[:, index])
        self.rows += matrix.shape[0]

    def flush(self) -> None:
        """Bin the buffered values on the reference's bins and drop them."""
        for name, chunks in self._buffers.items():
            if chunks:
                reference = self.profile.feature(name)
                assert reference is not None
                self.features[name] += reference.bin_counts(np.concatenate(chunks))
                chunks.clear()
        if self._prediction_buffer and self.prediction is not None and self.profile.prediction is not None:
            self.prediction += self.profile.prediction.bin_counts(np.concatenate(self._prediction_buffer))
            self._prediction_buffer.clear()
        self._buffered = 0


@dataclass
class PayloadMatcher:
    """Pairs requests and responses by id (KServe's ce-id) and feeds their rows to the window counts."""

    layout: PayloadLayout
    counts: WindowCounts
    stats: ParseStats = field(default_factory=ParseStats)
    _requests: dict[str, bytes] = field(default_factory=dict)
    _responses: dict[str, bytes] = field(default_factory=dict)

    def add(self, records: list[LogRecord]) -> None:
        """Take the records of one object; a pair is processed as soon as both sides are in."""
        for record in records:
            mine, other = (self._requests, self._responses) if record.side == "request" else (self._responses, self._requests)
            if record.side == "request":
                self.stats.requests += 1
            else:
                self.stats.responses += 1
            if record.id in mine:
                self.stats.malformed[f"duplicate {record.side} id"] += 1
                continue
            if record.id in other:
                partner = other.pop(record.id)
                request, response = (record.body, partner) if record.side == "request" else (partner, record.body)
                self.stats.matched += 1
                self._process(request, response)
            else:
                mine[record.id] = record.body

    def finish(self) -> ParseStats:
        """Process what never found its partner (requests whose predictor failed, pairs split by the window edge)."""
        self.stats.unmatched_requests = len(self._requests)
        self.stats.unmatched_responses = len(self._responses)
        for body in self._requests.values():
            self._process(body, None)
        for body in self._responses.values():
            self._process(None, body)
        self._requests.clear()
        self._responses.clear()
        self.counts.flush()
        self.stats.rows = self.counts.rows
        self.stats.prediction_rows = self.counts.prediction_rows
        return self.stats

    def _process(self, request: bytes | None, response: bytes | None) -> None:
        rows: int | None = None
        columns: dict[str, npt.NDArray[Any]] | None = None
        predictions: npt.NDArray[Any] | None = None
        if request is not None and self.layout.features:
            try:
                rows, columns = request_columns(request, self.layout)
            except Malformed as reason:
                self.stats.malformed[f"request: {reason}"] += 1
        if response is not None and self.layout.output is not None:
            try:
                predictions = response_predictions(response, self.layout)
            except Malformed as reason:
                self.stats.malformed[f"response: {reason}"] += 1
        if columns is not None and predictions is not None and rows != len(predictions):
            self.stats.malformed["pair: response rows differ from request rows"] += 1
            return
        if columns is not None and rows is not None:
            self.counts.add_rows(columns, rows)
        if predictions is not None:
            self.counts.add_predictions(predictions)


class FeatureResult(BaseModel):
    """The drift of one feature (or of the predictions) in the window."""

    model_config = ConfigDict(extra="forbid")

    name: str
    kind: Literal["input", "prediction"]
    type: Literal["numeric", "categorical"]
    statistic: str
    value: float | None = Field(description="The statistic; None when the window had too few rows.")
    warn: float
    page: float
    level: Level
    samples: int
    bins: list[str] = Field(description="Bin labels (ranges or categories), then other/missing.")
    reference_shares: list[float]
    current_shares: list[float]


class DriftReport(BaseModel):
    """What one detector run found: per-feature results, the overall level, and what was read."""

    model_config = ConfigDict(extra="forbid")

    format: Literal["inferstack.drift.report/v1"] = REPORT_FORMAT
    model: str
    version: str
    environment: str
    window_start: str
    window_end: str
    min_samples: int
    rows: int
    prediction_rows: int
    level: Level
    results: list[FeatureResult]
    objects: int
    records: int
    matched: int
    unmatched_requests: int
    unmatched_responses: int
    malformed: dict[str, int]
    malformed_total: int
    trigger: str = "none"
    trigger_outcome: str = Field(default="not needed", description="not needed, fired, already fired this window, failed: ...")

    @property
    def breaches(self) -> list[FeatureResult]:
        """Results at warn or page."""
        return [result for result in self.results if result.level in ("warn", "page")]


def _labels(reference: FeatureProfile) -> list[str]:
    if reference.type == "numeric":
        edges = reference.edges
        if not edges:
            return ["all values", "missing"]
        labels = [f"< {edges[0]:.4g}"]
        labels += [f"[{low:.4g}, {high:.4g})" for low, high in zip(edges, edges[1:], strict=False)]
        return [*labels, f">= {edges[-1]:.4g}", "missing"]
    return [*reference.categories, "(other)", "(missing)"]


def _shares(counts: npt.NDArray[Any] | list[int]) -> list[float]:
    values = np.asarray(counts, dtype=np.float64)
    total = values.sum()
    return (values / total).round(6).tolist() if total > 0 else [0.0] * len(values)


def grade(value: float, warn: float, page: float) -> Level:
    """ok, warn or page for a statistic against its thresholds (at or above the threshold breaches it)."""
    if value >= page:
        return "page"
    if value >= warn:
        return "warn"
    return "ok"


def _result(
    name: str, kind: Literal["input", "prediction"], reference: FeatureProfile, current: IntArray, drift: DriftSpec, samples: int
) -> FeatureResult:
    choice = drift.statistic_for(reference.type)
    warn, page = choice.thresholds
    value: float | None = None
    level: Level = "insufficient"
    if samples >= drift.min_samples and int(current.sum()) > 0:
        value = round(stats.compute(choice.statistic, np.asarray(reference.counts), current), 6)
        level = grade(value, warn, page)
    return FeatureResult(
        name=name,
        kind=kind,
        type=reference.type,
        statistic=choice.statistic,
        value=value,
        warn=warn,
        page=page,
        level=level,
        samples=samples,
        bins=_labels(reference),
        reference_shares=_shares(reference.counts),
        current_shares=_shares(current),
    )


def evaluate(
    counts: WindowCounts,
    drift: DriftSpec,
    parse: ParseStats,
    *,
    model: str,
    version: str,
    environment: str,
    window: tuple[str, str],
) -> DriftReport:
    """Grade every watched feature and the predictions; the report's level is the worst of them."""
    results = [
        _result(name, "input", reference, counts.features[name], drift, counts.rows)
        for name in counts.feature_names
        if (reference := counts.profile.feature(name)) is not None
    ]
    if counts.prediction is not None and counts.profile.prediction is not None:
        results.append(_result("prediction", "prediction", counts.profile.prediction, counts.prediction, drift, counts.prediction_rows))
    graded: list[Level] = [result.level for result in results if result.level != "insufficient"]
    level: Level = "insufficient"
    for candidate in graded:
        if level == "insufficient" or LEVEL_VALUE[candidate] > LEVEL_VALUE[level]:
            level = candidate
    return DriftReport(
        model=model,
        version=version,
        environment=environment,
        window_start=window[0],
        window_end=window[1],
        min_samples=drift.min_samples,
        rows=counts.rows,
        prediction_rows=counts.prediction_rows,
        level=level,
        results=results,
        objects=parse.objects,
        records=parse.records,
        matched=parse.matched,
        unmatched_requests=parse.unmatched_requests,
        unmatched_responses=parse.unmatched_responses,
        malformed=dict(sorted(parse.malformed.items())),
        malformed_total=parse.malformed_total,
        trigger=drift.trigger.kind,
    )
