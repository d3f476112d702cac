"""report.md: the pull-request comment of a plan.

Summary counts, a per-model table, policy results, a Mermaid graph of the
components and, against a baseline, the diff and the cost delta. Deterministic.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from inferstack.plan.diff import PlanDiff
from inferstack.plan.disruption import Disruption
from inferstack.plan.document import PlanResource

REPORT_MARKER = "<!-- inferstack-plan-report -->"
"""First line of every report, so the preview workflow can find and update its own comment."""
MAX_LISTED = 40


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


def _usd(value: float | None) -> str:
    return "n/a" if value is None else f"${value:,.0f}"


def _signed_usd(value: float) -> str:
    sign = "+" if value > 0 else "-" if value < 0 else "±"
    return f"{sign}${abs(value):,.0f}"


def _short_type(resource_type: str) -> str:
    return resource_type.rsplit(":", 1)[-1]


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


def _summary_section(stack: str, summary: Mapping[str, Any]) -> list[str]:
    lines = [
        f"**{summary.get('resources', 0)} resources** in {summary.get('components', 0)} components, "
        f"{summary.get('models', 0)} models, stack `{stack}`.",
        "",
        "<details><summary>Resources by type</summary>",
        "",
        "| type | count |",
        "|---|---:|",
    ]
    lines += [f"| `{name}` | {count} |" for name, count in summary.get("by_type", {}).items()]
    lines += ["", "</details>", ""]
    return lines


def _models_section(models: Sequence[ModelRow], limit: int) -> list[str]:
    lines = [
        "### Models",
        "",
        "| model | team | GPU | replicas | capacity | traffic | monthly |",
        "|---|---|---|---|---|---|---:|",
    ]
    for row in models[:limit]:
        lines.append(
            f"| {row.name} | {row.team} | {row.gpu} | {row.replicas} | {row.capacity} | {row.traffic} | {_usd(row.monthly_usd)} |"
        )
    if len(models) > limit:
        lines.append(f"| … {len(models) - limit} more | | | | | | |")
    return [*lines, ""]


def _policy_section(policy: Mapping[str, Any] | None, policy_note: str | None) -> list[str]:
    lines = ["### Policy", ""]
    if policy is None:
        return [*lines, f"Policy checks did not run: {policy_note or 'not available'}.", ""]
    violations = policy.get("violations", [])
    mandatory = [item for item in violations if item.get("enforcement") == "mandatory"]
    advisory = [item for item in violations if item.get("enforcement") == "advisory"]
    verdict = "❌" if mandatory else "✅"
    lines.append(
        f"{verdict} {policy.get('checked', 0)} resources checked: "
        f"{len(mandatory)} mandatory, {len(advisory)} advisory violations."
    )
    unverified = [item for item in policy.get("not_evaluated", []) if str(item.get("reason", "")).startswith("approval unverified")]
    if unverified:
        lines.append(
            f"⚠️ {len(unverified)} approval(s) unverified: no registry snapshot of this stack's store was given "
            "(`--registry-snapshot`), so the approved stages are the specs' claims."
        )
    if violations:
        lines += ["", "| enforcement | policy | severity | resource | message |", "|---|---|---|---|---|"]
        for item in violations[:MAX_LISTED]:
            urn = str(item.get("urn") or "")
            lines.append(
                f"| {item.get('enforcement')} | `{item.get('policy')}` | {item.get('severity')} | "
                f"`{urn.rsplit('::', 1)[-1]}` | {str(item.get('message', '')).replace('|', '/')} |"
            )
        if len(violations) > MAX_LISTED:
            lines.append(f"| … {len(violations) - MAX_LISTED} more | | | | |")
    return [*lines, ""]


def _readiness_section(policy: Mapping[str, Any] | None) -> list[str]:
    """Deploy readiness: findings per check (the findings themselves are in the violations table)."""
    readiness = (policy or {}).get("readiness")
    if not readiness:
        return []
    counts: Mapping[str, int] = readiness.get("findings", {})
    enforced = "mandatory findings block the plan" if readiness.get("enforced") else "findings reported, not enforced"
    lines = ["### Deploy readiness", "", f"{sum(counts.values())} findings ({enforced}).", "", "| check | findings |", "|---|---|"]
    lines += [f"| `{check}` | {count} |" for check, count in counts.items()]
    return [*lines, ""]


def _cost_section(cost: Mapping[str, Any] | None) -> list[str]:
    if cost is None:
        return ["### Cost", "", "Cost estimate did not run.", ""]
    monthly = float(cost.get("monthly_usd", 0.0))
    naive = float(cost.get("naive_monthly_usd", 0.0))
    saving = f" ({(1 - monthly / naive) * 100:.0f}% below one on-demand node per replica, {_usd(naive)})" if naive else ""
    return ["### Cost", "", f"Estimated **{_usd(monthly)}/month** at steady state{saving}.", ""]


def _diff_section(diff: PlanDiff, cost_delta: Mapping[str, float], total_delta: float | None) -> list[str]:
    lines = ["### Changes against the baseline", ""]
    if diff.empty and not any(cost_delta.values()):
        return [*lines, "No changes.", ""]
    lines.append(
        f"**{len(diff.added)} to add, {len(diff.changed)} to change "
        f"({len(diff.replaced)} replaced), {len(diff.removed)} to remove.**"
    )
    if total_delta is not None:
        lines.append(f"Monthly cost {_signed_usd(total_delta)}.")
    lines.append("")
    if diff.replaced:
        lines += ["⚠️ **Replacements** (deleted and recreated):", ""]
        for change in diff.replaced[:MAX_LISTED]:
            lines.append(f"- `{change.urn}` because of {', '.join(f'`{path}`' for path in change.replace_reasons)}")
        lines.append("")
    table = [("add", resource.urn, resource.type, "") for resource in diff.added]
    table += [
        ("replace" if change.replaced else "update", change.urn, change.type, ", ".join(change.changed_inputs[:6]))
        for change in diff.changed
    ]
    table += [("remove", resource.urn, resource.type, "") for resource in diff.removed]
    if table:
        lines += ["| action | resource | type | inputs |", "|---|---|---|---|"]
        for action, urn, resource_type, inputs in table[:MAX_LISTED]:
            lines.append(f"| {action} | `{urn.rsplit('::', 1)[-1]}` | `{_short_type(resource_type)}` | {inputs} |")
        if len(table) > MAX_LISTED:
            lines.append(f"| … {len(table) - MAX_LISTED} more | | | |")
        lines.append("")
    deltas = {name: delta for name, delta in cost_delta.items() if abs(delta) >= 0.5}
    if deltas:
        lines += ["| model | monthly cost change |", "|---|---:|"]
        for name, delta in sorted(deltas.items(), key=lambda item: (-abs(item[1]), item[0]))[:MAX_LISTED]:
            lines.append(f"| {name} | {_signed_usd(delta)} |")
        lines.append("")
    return lines


def _disruption_section(disruptions: Sequence[Disruption]) -> list[str]:
    """Every removal or replacement that drains pods, with the models it hits: the first thing a reviewer reads."""
    if not disruptions:
        return ["### Disruption", "", "✅ No capacity or serving object is removed or replaced: no running pod is drained.", ""]
    models = sorted({model for item in disruptions for model in item.models})
    lines = [
        "### ⚠️ Disruption",
        "",
        f"**{len(disruptions)} change(s) drain running pods** of {len(models)} model(s): {', '.join(models) or 'none known'}.",
        "",
        "| action | resource | type | why | models |",
        "|---|---|---|---|---|",
    ]
    for item in disruptions[:MAX_LISTED]:
        lines.append(
            f"| {item.action} | `{item.urn.rsplit('::', 1)[-1]}` | `{_short_type(item.type)}` | "
            f"{item.reason.replace('|', '/')} | {', '.join(item.models) or '-'} |"
        )
    if len(disruptions) > MAX_LISTED:
        lines.append(f"| … {len(disruptions) - MAX_LISTED} more | | | | |")
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
    disruptions: Sequence[Disruption] | None = None,
    cost_delta: Mapping[str, float] | None = None,
    total_cost_delta: float | None = None,
    not_run: Sequence[str] = (),
    model_limit: int = 50,
) -> str:
    """The Markdown report of one plan."""
    lines = [REPORT_MARKER, f"## inferstack plan: `{stack}`", ""]
    if disruptions is not None:
        lines += _disruption_section(disruptions)
    lines += _summary_section(stack, summary)
    if diff is not None:
        lines += _diff_section(diff, cost_delta or {}, total_cost_delta)
    lines += _models_section(models, model_limit)
    lines += _policy_section(policy, policy_note)
    lines += _readiness_section(policy)
    lines += _cost_section(cost)
    lines += ["### Components", "", mermaid_graph(resources), ""]
    if not_run:
        lines += ["### Not run", ""] + [f"- {item}" for item in not_run] + [""]
    return "\n".join(lines).rstrip() + "\n"
