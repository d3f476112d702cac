"""`inferstack drift run`: read a window of payload logs and the version's profile, grade the drift, write the report
and metrics, and fire the retraining trigger once per window on a page.

The job (which model, version, store, drift watch) comes from the spec and the
stack file on a workstation, or from the JSON file the CronJob mounts
(`DriftJob`, rendered by the platform), so the detector image needs neither.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from inferstack.drift.job import JOB_FORMAT

__all__ = ["JOB_FORMAT", "DriftJob", "RunResult", "parse_since", "run_drift", "window_start"]

from inferstack.extras import require_extra

require_extra("drift")  # one clear line, not an ImportError, in a lean install

from inferstack.drift import metrics  # noqa: E402
from inferstack.drift import report as markdown_report
from inferstack.drift import store
from inferstack.drift.detector import DriftReport, PayloadMatcher, ProfileMismatch, WindowCounts, evaluate
from inferstack.drift.job import DriftJob
from inferstack.drift.payloads import PayloadLayout, parse_object
from inferstack.drift.triggers import TriggerFailed, fire
from inferstack.problems import InputError, Problem
from inferstack.registry.store import ModelRegistry

@dataclass
class RunResult:
    """What a run did."""

    report: DriftReport
    report_uri: str
    markdown_uri: str
    plot_uris: list[str] = field(default_factory=list)
    fired: bool = False
    trigger_failed: bool = False
    metrics_text: str = ""


DURATION = re.compile(r"^(\d+)([mhd])$")


def parse_since(text: str, now: datetime) -> datetime:
    """--since: an ISO 8601 time (UTC when no offset) or a duration back from now (90m, 6h, 2d)."""
    match = DURATION.match(text)
    if match:
        amount, unit = int(match.group(1)), match.group(2)
        return now - timedelta(**{{"m": "minutes", "h": "hours", "d": "days"}[unit]: amount})
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InputError([Problem("--since", "since", f"'{text}' is not a time; expected ISO 8601 (2026-12-06T10:00:00Z) or a duration (90m, 6h, 2d)")]) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def window_start(moment: datetime, minutes: int) -> datetime:
    """Start of the fixed window (aligned to multiples of `minutes` since the epoch) that holds `moment`: the trigger's once-per-window key."""
    seconds = minutes * 60
    return datetime.fromtimestamp(int(moment.timestamp()) // seconds * seconds, tz=UTC)


def run_drift(
    job: DriftJob,
    registry: ModelRegistry,
    session: Any,
    *,
    now: datetime | None = None,
    since: datetime | None = None,
    textfile: Path | None = None,
    pushgateway: str | None = None,
) -> RunResult:
    """One detector run (see the module docstring). InputError: no profile, or a profile for another watch."""
    end = now or datetime.now(UTC)
    start = since or end - timedelta(minutes=job.drift.window_minutes)
    if start >= end:
        raise InputError([Problem("--since", "since", f"{start.isoformat()} is not before the window end {end.isoformat()}; expected an earlier time")])
    profile = store.load_profile(registry, job.team, job.model, job.version)
    features = job.drift.resolved_features(job.signature)
    layout = PayloadLayout.of(job.signature, features, predictions=job.drift.predictions)
    try:
        counts = WindowCounts(profile, tuple(source.name for source in layout.features), job.drift.predictions)
    except ProfileMismatch as error:
        raise InputError([Problem(registry.uri(store.profile_key(job.team, job.model, job.version)), "--reference-data", str(error))]) from None
    matcher = PayloadMatcher(layout, counts)
    with registry.store_call(f"read the payload logs under {registry.uri(f'payload-logs/{job.team}/')}"):
        for key in store.list_log_objects(registry, job.team, job.model, start, end):
            matcher.add(parse_object(store.read_object(registry, key), matcher.stats))
    parsed = matcher.finish()
    report = evaluate(
        counts,
        job.drift,
        parsed,
        model=job.model,
        version=job.version,
        environment=job.environment,
        window=(start.isoformat(timespec="seconds"), end.isoformat(timespec="seconds")),
    )
    run_prefix = f"{store.reports_prefix(job.team, job.model)}{_stamp(end)}/"
    report_uri = registry.uri(run_prefix + "report.json")
    fired = failed = False
    if report.level == "page" and job.drift.trigger.kind != "none":
        window = window_start(end, job.drift.window_minutes)
        marker = store.trigger_marker_key(job.team, job.model, _stamp(window))
        payload = {
            "model": job.model,
            "version": job.version,
            "environment": job.environment,
            "window_start": window.isoformat(timespec="seconds"),
            "level": report.level,
            "features": [f"{result.name}={result.value}" for result in report.results if result.level == "page"],
            "report": report_uri,
        }
        with registry.store_call(f"claim the trigger of window {window.isoformat()} at {registry.uri(marker)}"):
            claimed = store.claim_window(registry, marker, json.dumps({**payload, "claimed_at": end.isoformat()}).encode())
        if not claimed:
            report.trigger_outcome = f"already fired this window (marker {registry.uri(marker)})"
        else:
            try:
                report.trigger_outcome = "fired: " + fire(job.drift.trigger, payload, session, job.environment, job.model)
                fired = True
            except TriggerFailed as error:
                failed = True
                report.trigger_outcome = f"failed: {error}"
                with registry.store_call(f"release {registry.uri(marker)}"):
                    store.release_window(registry, marker)
    elif report.level == "page":
        report.trigger_outcome = "none configured"
    drawn = markdown_report.plots(report)
    with registry.store_call(f"write the drift report under {registry.uri(run_prefix)}"):
        report_uri = store.put_report_object(registry, run_prefix + "report.json", report.model_dump_json(indent=2).encode(), "application/json")
        plot_uris = [store.put_report_object(registry, f"{run_prefix}plots/{name}", data, "image/png") for name, data in (drawn or {}).items()]
        markdown_uri = store.put_report_object(
            registry, run_prefix + "report.md", markdown_report.markdown(report, drawn is not None).encode(), "text/markdown"
        )
    text = metrics.exposition(report, time.time(), fired)
    if textfile is not None:
        metrics.write_textfile(textfile, text)
    if pushgateway:
        metrics.push(pushgateway, job.model, job.environment, text)
    return RunResult(report, report_uri, markdown_uri, plot_uris, fired, failed, text)
