"""The drift report as short Markdown, with a PNG plot per feature when matplotlib (the `drift-plots` extra) is installed."""

from __future__ import annotations

import importlib
import io
import re

from inferstack.drift.detector import DriftReport, FeatureResult

PLOTS_EXTRA = "drift-plots"
NO_PLOTS = (
    f"Plots were not drawn: matplotlib is not installed (install the `{PLOTS_EXTRA}` extra, "
    f"`pip install 'inferstack[{PLOTS_EXTRA}]'`, to get one PNG per feature)."
)


def plot_name(result: FeatureResult) -> str:
    """File name of a feature's plot (safe characters only)."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", result.name) + ".png"


def plots(report: DriftReport) -> dict[str, bytes] | None:
    """PNG bytes per plot file name (reference vs window shares per bin), or None without matplotlib."""
    try:
        # The optional `drift-plots` extra; imported by name so the base install type-checks without it.
        matplotlib = importlib.import_module("matplotlib")
        matplotlib.use("Agg")
        pyplot = importlib.import_module("matplotlib.pyplot")
    except ImportError:
        return None
    drawn: dict[str, bytes] = {}
    for result in report.results:
        figure, axes = pyplot.subplots(figsize=(7, 3.2))
        positions = list(range(len(result.bins)))
        axes.bar([p - 0.2 for p in positions], result.reference_shares, width=0.4, label="reference")
        axes.bar([p + 0.2 for p in positions], result.current_shares, width=0.4, label="window")
        axes.set_xticks(positions, result.bins, rotation=60, ha="right", fontsize=6)
        value = "n/a" if result.value is None else f"{result.value:.4g}"
        axes.set_title(f"{report.model} {result.name}: {result.statistic} {value} ({result.level})", fontsize=9)
        axes.set_ylabel("share of rows")
        axes.legend(fontsize=7)
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=90)
        pyplot.close(figure)
        drawn[plot_name(result)] = buffer.getvalue()
    return drawn


def markdown(report: DriftReport, plotted: bool) -> str:
    """A short Markdown summary: verdict, per-feature table, what was skipped, the trigger, the plots."""
    lines = [
        f"# Drift report: {report.model} {report.version} ({report.environment})",
        "",
        f"- window: {report.window_start} to {report.window_end}",
        f"- level: **{report.level}**",
        f"- rows compared: {report.rows:,} inputs, {report.prediction_rows:,} predictions (at least {report.min_samples:,} needed)",
        f"- log objects read: {report.objects:,}; records: {report.records:,}; request/response pairs matched by id: {report.matched:,} "
        f"(unmatched: {report.unmatched_requests:,} requests, {report.unmatched_responses:,} responses)",
        f"- malformed and skipped: {report.malformed_total:,}"
        + (" (" + ", ".join(f"{reason}: {count}" for reason, count in report.malformed.items()) + ")" if report.malformed else ""),
        f"- retraining trigger ({report.trigger}): {report.trigger_outcome}",
        "",
        "| feature | kind | statistic | value | warn | page | level | rows |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for result in report.results:
        value = "n/a" if result.value is None else f"{result.value:.4g}"
        lines.append(
            f"| {result.name} | {result.kind} ({result.type}) | {result.statistic} | {value} | {result.warn:g} | {result.page:g} "
            f"| {result.level} | {result.samples:,} |"
        )
    lines.append("")
    if plotted:
        lines += [f"![{result.name}](plots/{plot_name(result)})" for result in report.results]
    else:
        lines.append(NO_PLOTS)
    return "\n".join(lines) + "\n"
