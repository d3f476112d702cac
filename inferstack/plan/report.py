"""report.md: the pull-request comment of a plan, written for a reviewer.

Order, most consequential first: a verdict line; any leading sections the caller passes
(the place for a capacity-disruption section); replacements and node-capacity changes; the
other changes with old -> new values; cost now / after / delta, steady and peak, against the
environment's and each team's budget; policy results (with checkov's when it ran); the models;
a Mermaid graph of what changed and its neighbours; resource counts. A report longer than
GitHub's comment limit is shortened (fewer rows, no graph) and says where the full one is.
Deterministic: the same inputs give the same bytes.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from inferstack.plan.diff import ABSENT, ChangedResource, InputChange, PlanDiff
from inferstack.plan.disruption import Disruption
from inferstack.plan.document import PlanResource

REPORT_MARKER = "<!-- inferstack-plan-report -->"
"""First line of every report, so the preview workflow can find and update its own comment."""
COMMENT_LIMIT = 65_536
"""GitHub's limit on the body of an issue or pull-request comment, in characters."""
REPORT_LIMIT = 64_000
"""report.md's cap: the comment workflow adds a marker and a footer of its own."""
FULL_REPORT_FILE = "report-full.md"
"""Written next to report.md when report.md had to be shortened."""
MAX_LISTED = 40
MAX_CHANGES_PER_RESOURCE = 6
VALUE_WIDTH = 60
"""Longer old/new values are shortened to about this many characters."""
GRAPH_NODES = 40
"""The change graph names at most this many resources; more are drawn grouped by type."""

NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
CAPACITY_INPUTS = ("instanceTypes", "capacityType", "scalingConfig", "amiType", "diskSize")


@dataclass(frozen=True, slots=True)
class ModelRow:
    """One line of the per-model table."""

    name: str
    team: str
    gpu: str
    replicas: str
    capacity: str
    traffic: str
    monthly_usd: float | None
    peak_monthly_usd: float | None = None


@dataclass(frozen=True, slots=True)
class Limits:
    """How much of each list a report shows (smaller when the report must fit a comment)."""

    listed: int = MAX_LISTED
    models: int = 50
    changes_per_resource: int = MAX_CHANGES_PER_RESOURCE
    graph: bool = True
    resource_types: bool = True


FULL_LIMITS = Limits(listed=1_000_000, models=1_000_000, changes_per_resource=1_000)
"""Everything: report.md when it fits a comment, else FULL_REPORT_FILE."""
SHORT_LIMITS = Limits(listed=10, models=10, changes_per_resource=3, graph=False, resource_types=False)


# --- values -------------------------------------------------------------------------------------------


def _usd(value: float | None) -> str:
    return "n/a" if value is None else f"${value:,.0f}"


def _signed_usd(value: float) -> str:
    rounded = round(value)
    sign = "+" if rounded > 0 else "-" if rounded < 0 else "±"
    return f"{sign}${abs(rounded):,.0f}"


def _percent(part: float, whole: float | None) -> str:
    return "" if not whole else f"{part / whole:.0%}"


def _short_type(resource_type: str) -> str:
    return resource_type.rsplit(":", 1)[-1]


def _resource_name(urn: str) -> str:
    return urn.rsplit("::", 1)[-1]


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def _text(value: Any) -> str:
    if value is ABSENT:
        return "(none)"
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return text.replace("\n", "⏎").replace("`", "'")


def _window(text: str, start: int, width: int) -> str:
    shown = text[start : start + width]
    if start > 0:
        shown = "…" + shown
    if start + width < len(text):
        shown += "…"
    if len(text) > width:
        return f"`{shown}` ({len(text):,} chars)"
    return f"`{shown}`"


def short_value(value: Any, width: int = VALUE_WIDTH) -> str:
    """One input value as inline code; a long one shows its start and its length."""
    return _cell(_window(_text(value), 0, width) if value is not ABSENT else "(none)")


def short_pair(old: Any, new: Any, width: int = VALUE_WIDTH) -> tuple[str, str]:
    """Old and new value as inline code; long ones are shown from just before where they first differ."""
    if old is ABSENT or new is ABSENT:
        return short_value(old, width), short_value(new, width)
    old_text, new_text = _text(old), _text(new)
    if len(old_text) <= width and len(new_text) <= width:
        return _cell(f"`{old_text}`"), _cell(f"`{new_text}`")
    common = next((index for index, (a, b) in enumerate(zip(old_text, new_text)) if a != b), min(len(old_text), len(new_text)))
    start = max(0, common - width // 4)
    return _cell(_window(old_text, start, width)), _cell(_window(new_text, start, width))


def _change_text(change: InputChange) -> str:
    old, new = short_pair(change.old, change.new)
    return f"`{_cell(change.path)}`: {old} → {new}"


def _change_lines(change: ChangedResource, limit: int) -> str:
    shown = [_change_text(item) for item in change.changes[:limit]]
    if len(change.changes) > limit:
        shown.append(f"… {len(change.changes) - limit} more")
    if not shown:  # a diff built without values (older callers)
        shown = [f"`{path}`" for path in change.changed_inputs[:limit]]
    return "<br>".join(shown)


# --- cost ---------------------------------------------------------------------------------------------


def cost_summary(cost: Mapping[str, Any]) -> dict[str, Any]:
    """The figures of cost.json a later plan compares against (plan.json's summary.cost)."""
    budget = cost.get("budget") or {}
    team_budgets = budget.get("teams") or {}
    return {
        "monthly_usd": cost.get("monthly_usd", 0.0),
        "peak_monthly_usd": cost.get("peak_monthly_usd", 0.0),
        "platform_monthly_usd": cost.get("platform_monthly_usd", 0.0),
        "total_monthly_usd": cost.get("total_monthly_usd", cost.get("monthly_usd", 0.0)),
        "expected_monthly_usd": cost.get("expected_monthly_usd"),
        "total_expected_monthly_usd": cost.get("total_expected_monthly_usd"),
        "total_peak_monthly_usd": cost.get("total_peak_monthly_usd"),
        "savings_plan_monthly_saving_usd": (cost.get("savings_plan") or {}).get("recommended_monthly_saving_usd"),
        "budget_usd": budget.get("monthly_usd"),
        "by_model": {name: item["monthly_usd"] for name, item in (cost.get("by_model") or {}).items()},
        "by_model_peak": {name: item.get("peak_monthly_usd", 0.0) for name, item in (cost.get("by_model") or {}).items()},
        "by_team": {
            team: {
                "monthly_usd": item.get("monthly_usd", 0.0),
                "expected_monthly_usd": item.get("expected_monthly_usd", item.get("monthly_usd", 0.0)),
                "peak_monthly_usd": item.get("peak_monthly_usd", 0.0),
                "budget_usd": (team_budgets.get(team) or {}).get("budget_usd"),
            }
            for team, item in (cost.get("by_team") or {}).items()
        },
    }


def _figure(summary: Mapping[str, Any] | None, key: str) -> float | None:
    if summary is None or summary.get(key) is None:
        return None
    return float(summary[key])


def _now_after_delta(before: float | None, after: float | None) -> list[str]:
    if before is None:
        return ["n/a", _usd(after), ""]
    return [_usd(before), _usd(after), _signed_usd((after or 0.0) - before)]


def _cost_section(cost: Mapping[str, Any] | None, baseline: Mapping[str, Any] | None, listed: int) -> list[str]:
    lines = ["### Cost", ""]
    if cost is None:
        return [*lines, "Cost estimate did not run.", ""]
    now = cost_summary(cost)
    compare = baseline is not None
    budget = _figure(now, "budget_usd")
    header = "| monthly | now | after | change |" if compare else "| monthly | estimate |"
    lines += [header, "|---|---:|---:|---:|" if compare else "|---|---:|"]
    rows = [
        ("node pools, steady", "monthly_usd"),
        ("node pools, expected (each model at peak for its peak-hours share)", "expected_monthly_usd"),
        ("node pools, peak (every model at max replicas)", "peak_monthly_usd"),
        ("other costs, steady (control plane, volumes, NAT, LB, logs, ...)", "platform_monthly_usd"),
        ("total, steady", "total_monthly_usd"),
    ]
    for label, key in rows:
        after = _figure(now, key)
        cells = _now_after_delta(_figure(baseline, key), after) if compare else [_usd(after)]
        lines.append(f"| {label} | {' | '.join(cells)} |")
    total = _figure(now, "total_expected_monthly_usd")
    if total is None:  # a cost.json from before expected spend: judge the steady total
        total = _figure(now, "total_monthly_usd") or 0.0
    total_label = "**total, expected**" + (f" (budget {_usd(budget)})" if budget else "")
    cells = _now_after_delta(_figure(baseline, "total_expected_monthly_usd"), total) if compare else [_usd(total)]
    cells[1 if compare else 0] = f"**{cells[1 if compare else 0]}**"
    lines.append(f"| {total_label} | {' | '.join(cells)} |")
    peak_total = _figure(now, "total_peak_monthly_usd")
    if peak_total is None:
        peak_total = (_figure(now, "peak_monthly_usd") or 0.0) + (_figure(now, "platform_monthly_usd") or 0.0)
    cells = _now_after_delta(_figure(baseline, "total_peak_monthly_usd"), peak_total) if compare else [_usd(peak_total)]
    lines.append(f"| total, peak | {' | '.join(cells)} |")
    lines.append("")
    if budget:
        verdict = "⚠️ **over budget**" if total > budget else "within budget"
        peak_verdict = " ⚠️ over budget at peak (advisory)" if peak_total > budget else ""
        lines.append(
            f"Environment: {_usd(total)} expected is {_percent(total, budget)} of its {_usd(budget)} budget, {verdict}; "
            f"at peak {_usd(peak_total)} ({_percent(peak_total, budget)}){peak_verdict}."
        )
    saving = _figure(now, "savings_plan_monthly_saving_usd")
    plan = cost.get("savings_plan") or {}
    if saving and plan.get("recommended"):
        option = (plan.get("options") or {}).get(plan["recommended"]) or {}
        lines.append(
            f"Savings Plan: a {str(plan['recommended']).replace('_', ' ')} plan (no upfront) on the "
            f"{_usd(plan.get('base_on_demand_monthly_usd'))}/month steady on-demand base commits "
            f"{float(option.get('commitment_usd_hour') or 0.0):.2f} USD/hour and saves {_usd(saving)}/month "
            f"(rates of {plan.get('as_of')}, unverified; cost.json lists the other options)."
        )
    steady_pools = _figure(now, "monthly_usd") or 0.0
    if steady_pools == 0 and (_figure(now, "peak_monthly_usd") or 0.0) > 0:
        lines.append(
            "Node pools cost $0 at steady state because every model scales to zero when idle (min replicas 0); "
            "the peak row is what they cost while every model runs at its max replicas."
        )
    lines.append("")
    lines += _team_table(now, baseline, compare)
    lines += _model_cost_changes(now, baseline, listed)
    return lines


def _team_table(now: Mapping[str, Any], baseline: Mapping[str, Any] | None, compare: bool) -> list[str]:
    teams: Mapping[str, Any] = now.get("by_team") or {}
    if not teams:
        return []
    before_teams: Mapping[str, Any] = (baseline or {}).get("by_team") or {}
    lines = ["| team | steady | expected | peak | budget | expected use | peak use |", "|---|---:|---:|---:|---:|---:|---:|"]
    for team in sorted(teams):
        item = teams[team]
        steady, peak, budget = float(item["monthly_usd"]), float(item["peak_monthly_usd"]), item.get("budget_usd")
        expected = float(item.get("expected_monthly_usd", steady))
        steady_text, peak_text = _usd(steady), _usd(peak)
        old = before_teams.get(team)
        if compare and old is not None and "peak_monthly_usd" in old:
            steady_text = f"{_usd(old['monthly_usd'])} → {steady_text}" if round(old["monthly_usd"]) != round(steady) else steady_text
            peak_text = f"{_usd(old['peak_monthly_usd'])} → {peak_text}" if round(old["peak_monthly_usd"]) != round(peak) else peak_text
        elif compare and old is None and before_teams:
            steady_text += " (new team)"
        over = budget is not None and expected > float(budget)
        use = _percent(expected, budget) + (" ⚠️ over" if over else "") if budget else "no budget"
        peak_use = _percent(peak, budget) if budget else ""
        lines.append(f"| {team} | {steady_text} | {_usd(expected)} | {peak_text} | {_usd(budget)} | {use} | {peak_use} |")
    return [*lines, ""]


def _model_cost_changes(now: Mapping[str, Any], baseline: Mapping[str, Any] | None, listed: int) -> list[str]:
    if baseline is None:
        return []
    before_steady: Mapping[str, float] = baseline.get("by_model") or {}
    before_peak: Mapping[str, float] = baseline.get("by_model_peak") or {}
    after_steady: Mapping[str, float] = now.get("by_model") or {}
    after_peak: Mapping[str, float] = now.get("by_model_peak") or {}
    rows = []
    for name in sorted(set(before_steady) | set(after_steady)):
        steady = float(after_steady.get(name, 0.0)) - float(before_steady.get(name, 0.0))
        peak = float(after_peak.get(name, 0.0)) - float(before_peak.get(name, 0.0)) if before_peak else None
        if abs(steady) >= 0.5 or (peak is not None and abs(peak) >= 0.5):
            rows.append((name, steady, peak))
    if not rows:
        return []
    rows.sort(key=lambda row: (-abs(row[1]), -abs(row[2] or 0.0), row[0]))
    lines = ["| model | steady change | peak change |", "|---|---:|---:|"]
    for name, steady, peak in rows[:listed]:
        lines.append(f"| {name} | {_signed_usd(steady)} | {'n/a' if peak is None else _signed_usd(peak)} |")
    if len(rows) > listed:
        lines.append(f"| … {len(rows) - listed} more | | |")
    return [*lines, ""]


# --- changes ------------------------------------------------------------------------------------------


def _capacity_changes(diff: PlanDiff) -> list[ChangedResource]:
    return [
        change
        for change in diff.changed
        if change.type == NODE_GROUP and not change.replaced and any(path.split(".")[0] in CAPACITY_INPUTS for path in change.changed_inputs)
    ]


def _node_group_text(resource: PlanResource) -> str:
    inputs = resource.inputs
    scaling = inputs.get("scalingConfig") or {}
    types = ", ".join(str(item) for item in inputs.get("instanceTypes") or []) or "?"
    capacity = str(inputs.get("capacityType") or "ON_DEMAND").lower().replace("_", "-")
    return f"{types} {capacity}, {scaling.get('minSize', '?')}-{scaling.get('maxSize', '?')} nodes"


def _changes_section(diff: PlanDiff, limits: Limits) -> list[str]:
    lines = ["### Changes against the baseline", ""]
    if diff.empty:
        return [*lines, "No resource changes.", ""]
    if diff.replaced:
        lines += ["#### ⚠️ Replacements (deleted and recreated)", ""]
        for change in diff.replaced[: limits.listed]:
            reasons = [item for item in change.changes if any(item.path == r or item.path.startswith((f"{r}.", f"{r}[")) for r in change.replace_reasons)]
            shown = "; ".join(_change_text(item) for item in reasons[: limits.changes_per_resource]) or ", ".join(
                f"`{path}`" for path in change.replace_reasons
            )
            lines.append(f"- `{_short_type(change.type)}` `{_resource_name(change.urn)}`: {shown}")
        if len(diff.replaced) > limits.listed:
            lines.append(f"- … {len(diff.replaced) - limits.listed} more")
        lines.append("")
    capacity = [
        f"- `{_resource_name(change.urn)}`: {_change_lines(change, limits.changes_per_resource).replace('<br>', '; ')}"
        for change in _capacity_changes(diff)
    ]
    capacity += [f"- added `{resource.name}`: {_node_group_text(resource)}" for resource in diff.added if resource.type == NODE_GROUP]
    capacity += [f"- **removed** `{resource.name}`: {_node_group_text(resource)}" for resource in diff.removed if resource.type == NODE_GROUP]
    if capacity:
        lines += ["#### Node capacity", ""]
        lines += capacity[: limits.listed]
        if len(capacity) > limits.listed:
            lines.append(f"- … {len(capacity) - limits.listed} more")
        lines.append("")
    table = [("add", resource.urn, resource.type, "") for resource in diff.added]
    table += [
        ("**replace**" if change.replaced else "update", change.urn, change.type, _change_lines(change, limits.changes_per_resource))
        for change in diff.changed
    ]
    table += [("remove", resource.urn, resource.type, "") for resource in diff.removed]
    lines += ["| action | resource | type | old → new |", "|---|---|---|---|"]
    for action, urn, resource_type, changes in table[: limits.listed]:
        lines.append(f"| {action} | `{_cell(_resource_name(urn))}` | `{_short_type(resource_type)}` | {changes} |")
    if len(table) > limits.listed:
        lines.append(f"| … {len(table) - limits.listed} more | | | |")
    return [*lines, ""]


def _headline(diff: PlanDiff | None, policy: Mapping[str, Any] | None, cost: Mapping[str, Any] | None, baseline_cost: Mapping[str, Any] | None) -> list[str]:
    parts: list[str] = []
    if policy is not None:
        mandatory = sum(1 for item in policy.get("violations", []) if item.get("enforcement") == "mandatory")
        parts.append(f"❌ {mandatory} mandatory policy violation{'s' if mandatory != 1 else ''}" if mandatory else "✅ policy passed")
    if diff is not None:
        parts.append(
            f"{len(diff.added)} to add, {len(diff.changed)} to change ({len(diff.replaced)} replaced), {len(diff.removed)} to remove"
        )
    if cost is not None:
        total = float(cost.get("total_monthly_usd", cost.get("monthly_usd", 0.0)))
        text = f"{_usd(total)}/month steady"
        if baseline_cost is not None and baseline_cost.get("total_monthly_usd") is not None:
            text += f" ({_signed_usd(total - float(baseline_cost['total_monthly_usd']))})"
        expected = cost.get("total_expected_monthly_usd")
        if expected is not None:
            text += f", {_usd(float(expected))} expected"
        judged = float(expected) if expected is not None else total
        budget = (cost.get("budget") or {}).get("monthly_usd")
        if budget and judged > float(budget):
            text += f", ⚠️ over the {_usd(float(budget))} budget"
        parts.append(text)
    return [f"**{' · '.join(parts)}**", ""] if parts else []


# --- policy -------------------------------------------------------------------------------------------


def _policy_section(policy: Mapping[str, Any] | None, policy_note: str | None, listed: int) -> list[str]:
    lines = ["### Policy", ""]
    if policy is None:
        return [*lines, f"Policy checks did not run: {policy_note or 'not available'}.", ""]
    violations = sorted(
        policy.get("violations", []),
        key=lambda item: (item.get("enforcement") != "mandatory", str(item.get("policy")), str(item.get("urn"))),
    )
    mandatory = [item for item in violations if item.get("enforcement") == "mandatory"]
    advisory = [item for item in violations if item.get("enforcement") == "advisory"]
    verdict = "❌" if mandatory else "✅"
    lines.append(
        f"{verdict} {policy.get('checked', 0)} resources checked: "
        f"{len(mandatory)} mandatory, {len(advisory)} advisory violations."
    )
    # Approvals no registry snapshot vouched for (policy.json's not_evaluated): the specs' claims only.
    unverified = [item for item in policy.get("not_evaluated", []) if str(item.get("reason", "")).startswith("approval unverified")]
    if unverified:
        lines.append(
            f"⚠️ {len(unverified)} approval(s) unverified: no registry snapshot of this stack's store was given "
            "(`--registry-snapshot`), so the approved stages are the specs' claims."
        )
    if violations:
        lines += ["", "| enforcement | policy | severity | resource | message |", "|---|---|---|---|---|"]
        for item in violations[:listed]:
            lines.append(
                f"| {item.get('enforcement')} | `{item.get('policy')}` | {item.get('severity')} | "
                f"{_violation_resource(item)} | {_cell(str(item.get('message', '')))} |"
            )
        if len(violations) > listed:
            lines.append(f"| … {len(violations) - listed} more (all in policy.json) | | | | |")
    lines.append("")
    checkov = policy.get("checkov")
    if checkov is not None:
        lines += _checkov_section(checkov, listed)
    return lines


def _violation_resource(item: Mapping[str, Any]) -> str:
    urn = str(item.get("urn") or "")
    return f"`{_cell(_resource_name(urn))}`" if urn else "(the stack)"


def _checkov_section(checkov: Mapping[str, Any], listed: int) -> list[str]:
    skipped: Sequence[Mapping[str, Any]] = checkov.get("skipped") or []
    failed = int(checkov.get("failed", 0))
    lines = [
        "#### checkov",
        "",
        f"{'❌' if failed else '✅'} checkov {checkov.get('version', '?')} over the rendered manifests "
        f"({checkov.get('objects', 0)} objects): {checkov.get('passed', 0)} passed, {failed} failed, {len(skipped)} skipped."
        + (" Failed checks are in the table above." if failed else ""),
    ]
    if skipped:
        lines += ["", "| skipped check | resource | reason |", "|---|---|---|"]
        for item in sorted(skipped, key=lambda item: (str(item.get("check")), str(item.get("resource"))))[:listed]:
            lines.append(f"| `{item.get('check')}` | `{_cell(str(item.get('resource')))}` | {_cell(str(item.get('reason') or 'no reason given'))} |")
        if len(skipped) > listed:
            lines.append(f"| … {len(skipped) - listed} more | | |")
    return [*lines, ""]


# --- models and counts --------------------------------------------------------------------------------


def _models_section(models: Sequence[ModelRow], limit: int) -> list[str]:
    lines = [
        "### Models",
        "",
        "| model | team | GPU | replicas | capacity | traffic | steady | peak |",
        "|---|---|---|---|---|---|---:|---:|",
    ]
    for row in models[:limit]:
        lines.append(
            f"| {row.name} | {row.team} | {row.gpu} | {row.replicas} | {row.capacity} | {_cell(row.traffic)} | "
            f"{_usd(row.monthly_usd)} | {_usd(row.peak_monthly_usd)} |"
        )
    if len(models) > limit:
        lines.append(f"| … {len(models) - limit} more | | | | | | | |")
    return [*lines, ""]


def _summary_lines(stack: str, summary: Mapping[str, Any], resource_types: bool) -> list[str]:
    lines = [
        f"{summary.get('resources', 0)} resources in {summary.get('components', 0)} components, "
        f"{summary.get('models', 0)} models, stack `{stack}`.",
        "",
    ]
    if resource_types:
        lines += ["<details><summary>Resources by type</summary>", "", "| type | count |", "|---|---:|"]
        lines += [f"| `{name}` | {count} |" for name, count in summary.get("by_type", {}).items()]
        lines += ["", "</details>", ""]
    return lines


# --- graphs -------------------------------------------------------------------------------------------


def mermaid_graph(resources: Sequence[PlanResource]) -> str:
    """Components as a Mermaid flowchart, aggregated by type (with counts) so large fleets stay readable."""
    by_urn = {resource.urn: resource for resource in resources}
    components = [resource for resource in resources if not resource.custom]
    counts = Counter(resource.type for resource in components)
    edges: Counter[tuple[str, str]] = Counter()
    children: Counter[str] = Counter()
    for resource in resources:
        parent = by_urn.get(resource.parent or "")
        if parent is None or parent.custom:
            continue
        if resource.custom:
            children[parent.type] += 1
        else:
            edges[(parent.type, resource.type)] += 1
    ids = {component_type: f"c{index}" for index, component_type in enumerate(sorted(counts))}
    lines = ["```mermaid", "flowchart LR"]
    for component_type in sorted(counts):
        label = f"{_short_type(component_type)} x{counts[component_type]}"
        if children[component_type]:
            label += f"<br/>{children[component_type]} resources"
        lines.append(f'  {ids[component_type]}["{label}"]')
    for (parent_type, child_type), count in sorted(edges.items()):
        lines.append(f"  {ids[parent_type]} -->|{count}| {ids[child_type]}")
    lines.append("```")
    return "\n".join(lines)


def _label(resource: PlanResource) -> str:
    return f"{_short_type(resource.type)}<br/>{resource.name}".replace('"', "'")


def change_graph(diff: PlanDiff, resources: Sequence[PlanResource], limit: int = GRAPH_NODES) -> str:
    """What changed and its neighbours (parent component, dependencies, dependents), as a Mermaid flowchart.

    Changed resources are coloured by action; neighbours are plain. Past `limit` resources the
    graph groups them by type and action instead.
    """
    action = {resource.urn: "add" for resource in diff.added}
    action |= {change.urn: "replace" if change.replaced else "update" for change in diff.changed}
    action |= {resource.urn: "remove" for resource in diff.removed}
    known = {resource.urn: resource for resource in resources} | {resource.urn: resource for resource in diff.removed}
    dependents: dict[str, set[str]] = {}
    for resource in known.values():
        for dependency in resource.dependencies:
            dependents.setdefault(dependency, set()).add(resource.urn)
    nodes = set(action)
    for urn in action:
        resource = known[urn]
        nodes |= {other for other in (resource.parent, *resource.dependencies) if other in known}
        nodes |= dependents.get(urn, set())
    lines = ["```mermaid", "flowchart LR"]
    styles = {
        "add": "fill:#dafbe1,stroke:#1a7f37",
        "update": "fill:#fff8c5,stroke:#9a6700",
        "replace": "fill:#ffebe9,stroke:#cf222e,stroke-width:2px",
        "remove": "fill:#eaeef2,stroke:#57606a,stroke-dasharray:4",
    }
    if len(nodes) > limit:
        groups = Counter((_short_type(known[urn].type), action[urn]) for urn in action)
        for index, ((type_name, kind), count) in enumerate(sorted(groups.items())):
            lines.append(f'  g{index}["{type_name} x{count}<br/>{kind}"]:::{kind}')
    else:
        ids = {urn: f"n{index}" for index, urn in enumerate(sorted(nodes))}
        for urn in sorted(nodes):
            style = f":::{action[urn]}" if urn in action else ""
            lines.append(f'  {ids[urn]}["{_label(known[urn])}"]{style}')
        edges: set[tuple[str, str, str]] = set()
        for urn in nodes:
            resource = known[urn]
            if resource.parent in nodes:
                edges.add((ids[resource.parent], "-->", ids[urn]))
            for dependency in resource.dependencies:
                if dependency in nodes and dependency != resource.parent:
                    edges.add((ids[dependency], "-.->", ids[urn]))
        lines += [f"  {source} {arrow} {target}" for source, arrow, target in sorted(edges)]
    lines += [f"  classDef {kind} {style}" for kind, style in styles.items()]
    lines.append("```")
    return "\n".join(lines)


# --- the report ---------------------------------------------------------------------------------------


def disruption_section(disruptions: Sequence[Disruption], listed: int = 20) -> str:
    """Every removal or replacement that drains pods, with the models it hits: the first thing a reviewer reads
    (passed to `render_report` as a leading section)."""
    if not disruptions:
        return "### Disruption\n\n✅ No capacity or serving object is removed or replaced: no running pod is drained.\n"
    models = sorted({model for item in disruptions for model in item.models})
    lines = [
        "### ⚠️ Disruption",
        "",
        f"**{len(disruptions)} change(s) drain running pods** of {len(models)} model(s): {', '.join(models) or 'none known'}.",
        "",
        "| action | resource | type | why | models |",
        "|---|---|---|---|---|",
    ]
    for item in disruptions[:listed]:
        lines.append(
            f"| {item.action} | `{item.urn.rsplit('::', 1)[-1]}` | `{_short_type(item.type)}` | "
            f"{item.reason.replace('|', '/')} | {', '.join(item.models) or '-'} |"
        )
    if len(disruptions) > listed:
        lines.append(f"| … {len(disruptions) - listed} more | | | | |")
    return "\n".join(lines) + "\n"


def _readiness_section(policy: Mapping[str, Any] | None) -> list[str]:
    """Deploy readiness: findings per check (the findings themselves are in the policy table)."""
    readiness = (policy or {}).get("readiness")
    if not readiness:
        return []
    counts: Mapping[str, int] = readiness.get("findings", {})
    enforced = "mandatory findings block the plan" if readiness.get("enforced") else "findings reported, not enforced"
    lines = ["### Deploy readiness", "", f"{sum(counts.values())} findings ({enforced}).", "", "| check | findings |", "|---|---|"]
    lines += [f"| `{check}` | {count} |" for check, count in counts.items()]
    return [*lines, ""]


def render_report(
    *,
    stack: str,
    summary: Mapping[str, Any],
    models: Sequence[ModelRow],
    resources: Sequence[PlanResource],
    policy: Mapping[str, Any] | None,
    policy_note: str | None,
    cost: Mapping[str, Any] | None,
    diff: PlanDiff | None = None,
    baseline_cost: Mapping[str, Any] | None = None,
    not_run: Sequence[str] = (),
    leading_sections: Sequence[str] = (),
    limits: Limits = FULL_LIMITS,
    shortened_note: str | None = None,
) -> str:
    """The Markdown report of one plan, in full (see `fit_report` for the comment-sized one).

    `leading_sections` are Markdown blocks placed right after the verdict line, before the
    changes: the place for what a reviewer must see first (capacity disruption).
    `baseline_cost` is the baseline plan's summary.cost (`cost_summary`).
    """
    lines = [REPORT_MARKER, f"## inferstack plan: `{stack}`", ""]
    lines += _headline(diff, policy, cost, baseline_cost)
    if shortened_note:
        lines += [shortened_note, ""]
    for section in leading_sections:
        lines += [section.rstrip(), ""]
    if diff is not None:
        lines += _changes_section(diff, limits)
    lines += _cost_section(cost, baseline_cost if diff is not None else None, limits.listed)
    lines += _policy_section(policy, policy_note, limits.listed)
    lines += _readiness_section(policy)
    lines += _models_section(models, limits.models)
    if limits.graph:
        if diff is not None and not diff.empty:
            lines += ["### What changed, with its neighbours", "", change_graph(diff, resources), ""]
        elif diff is None:
            lines += ["### Components", "", mermaid_graph(resources), ""]
    lines += ["### Resources", ""] + _summary_lines(stack, summary, limits.resource_types)
    if not_run:
        lines += ["### Not run", ""] + [f"- {item}" for item in not_run] + [""]
    return "\n".join(lines).rstrip() + "\n"


def fit_report(render: Any, limit: int = REPORT_LIMIT) -> tuple[str, str | None]:
    """(report.md, the full report or None): the full report when it fits `limit`, else a shortened one.

    `render(limits=..., shortened_note=...)` renders the report. The full report lists every
    row; a shortened one lists the first rows of each list (then fewer, with no graph), says so at
    the top, and points to FULL_REPORT_FILE in the plan artifact.
    """
    full = str(render(limits=FULL_LIMITS, shortened_note=None))
    if len(full) <= limit:
        return full, None
    short = full
    for limits in (Limits(), SHORT_LIMITS):
        note = (
            f"> ✂️ Shortened to fit GitHub's {COMMENT_LIMIT:,}-character comment limit (the full report has "
            f"{len(full):,} characters): the first {limits.listed} rows of each list"
            + ("" if limits.graph else ", no graph")
            + f". The full report is `{FULL_REPORT_FILE}` in this plan's artifact, next to plan.json and policy.json."
        )
        short = str(render(limits=limits, shortened_note=note))
        if len(short) <= limit:
            return short, full
    cut = short.rfind("\n", 0, limit - 200)
    return short[:cut] + f"\n\n… cut here; the full report is `{FULL_REPORT_FILE}` in this plan's artifact.\n", full


def render_bad_input(stack: str, problems: str) -> str:
    """The report of a plan that stopped on bad input: what is wrong, one line per problem."""
    listed = [line.rstrip() for line in problems.splitlines() if line.strip()]
    shown = listed[:200]
    body = "\n".join(shown).replace("~~~~", "~ ~ ~ ~")
    lines = [
        REPORT_MARKER,
        f"## inferstack plan: `{stack}`",
        "",
        f"**❌ bad input: the plan stopped before planning anything ({len(listed)} problem{'s' if len(listed) != 1 else ''}).**",
        "",
        "Each line is `file: field.path: what is wrong; what is expected`. Fix them and push again; "
        "`uv run inferstack validate` shows the same lines locally.",
        "",
        "~~~~text",
        body,
        "~~~~",
    ]
    if len(listed) > len(shown):
        lines += ["", f"… {len(listed) - len(shown)} more in the job log."]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m inferstack.plan.report bad-input --stack S ERRORS_FILE`: the bad-input report on stdout (for CI)."""
    import argparse
    import sys
    from pathlib import Path

    parser = argparse.ArgumentParser(prog="python -m inferstack.plan.report")
    commands = parser.add_subparsers(dest="command", required=True)
    bad = commands.add_parser("bad-input", help="render the report of a plan that exited 2 from its stderr")
    bad.add_argument("--stack", required=True)
    bad.add_argument("errors", type=Path)
    options = parser.parse_args(argv)
    sys.stdout.write(render_bad_input(options.stack, options.errors.read_text(encoding="utf-8", errors="replace")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
