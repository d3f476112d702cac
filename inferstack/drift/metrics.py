"""Prometheus metrics of a drift run: the text exposition format, written as a textfile and/or pushed to a Pushgateway.

The names are the ones the PrometheusRules and the dashboard query
(inferstack/render/promql.py).
"""

from __future__ import annotations

import os
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from inferstack.drift.detector import LEVEL_VALUE, DriftReport
from inferstack.render.promql import DRIFT_LAST_RUN, DRIFT_LEVEL, DRIFT_SAMPLES, DRIFT_STATISTIC

MALFORMED = "inferstack_drift_malformed_records"
TRIGGER_FIRED = "inferstack_drift_trigger_fired"
PUSH_JOB = "inferstack-drift"
TIMEOUT_S = 10


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(**labels: str) -> str:
    return "{" + ",".join(f'{key}="{_escape(value)}"' for key, value in labels.items()) + "}"


def exposition(report: DriftReport, finished_at: float, fired: bool) -> str:
    """The report's figures in the Prometheus text format (one gauge family each)."""
    base = {"model": report.model, "environment": report.environment, "version": report.version}
    lines = [
        f"# HELP {DRIFT_STATISTIC} Drift statistic of a watched feature against the version's reference profile.",
        f"# TYPE {DRIFT_STATISTIC} gauge",
    ]
    for result in report.results:
        if result.value is not None:
            labels = _labels(**base, feature=result.name, kind=result.kind, statistic=result.statistic)
            lines.append(f"{DRIFT_STATISTIC}{labels} {result.value:.6g}")
    lines += [f"# HELP {DRIFT_LEVEL} Drift level of a watched feature: 0 ok (or too few rows), 1 warn, 2 page.", f"# TYPE {DRIFT_LEVEL} gauge"]
    for result in report.results:
        lines.append(f"{DRIFT_LEVEL}{_labels(**base, feature=result.name, kind=result.kind)} {LEVEL_VALUE[result.level]}")
    lines += [
        f"# HELP {DRIFT_SAMPLES} Logged rows the last drift run compared.",
        f"# TYPE {DRIFT_SAMPLES} gauge",
        f"{DRIFT_SAMPLES}{_labels(**base)} {report.rows}",
        f"# HELP {MALFORMED} Log lines, records or payloads the last drift run skipped as malformed.",
        f"# TYPE {MALFORMED} gauge",
        f"{MALFORMED}{_labels(**base)} {report.malformed_total}",
        f"# HELP {TRIGGER_FIRED} 1 when the last drift run fired the retraining trigger.",
        f"# TYPE {TRIGGER_FIRED} gauge",
        f"{TRIGGER_FIRED}{_labels(**base)} {1 if fired else 0}",
        f"# HELP {DRIFT_LAST_RUN} When the drift detector last finished (Unix seconds).",
        f"# TYPE {DRIFT_LAST_RUN} gauge",
        f"{DRIFT_LAST_RUN}{_labels(**base)} {finished_at:.3f}",
    ]
    return "\n".join(lines) + "\n"


def write_textfile(path: Path, text: str) -> None:
    """Write atomically (a temporary file renamed over the target), as node_exporter's textfile collector expects."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(temporary, path)


def push(gateway: str, model: str, environment: str, text: str) -> None:
    """PUT the metrics to a Pushgateway, replacing this model's group (job inferstack-drift, model, environment)."""
    url = (
        f"{gateway.rstrip('/')}/metrics/job/{PUSH_JOB}/model/{urllib.parse.quote(model, safe='')}"
        f"/environment/{urllib.parse.quote(environment, safe='')}"
    )
    request = urllib.request.Request(url, data=text.encode(), method="PUT", headers={"Content-Type": "text/plain; version=0.0.4"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:  # noqa: S310 - configured in-cluster URL
            response.read()
    except (urllib.error.URLError, OSError) as error:
        raise OSError(f"cannot push metrics to {url} ({error})") from None
