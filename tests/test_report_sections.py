"""report.md pieces: old -> new values, checkov results, the change graph's neighbourhood, the size cap, cost figures."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import pytest

from inferstack.plan.diff import ABSENT, diff_plans
from inferstack.plan.document import PlanDocument, PlanResource, summarize
from inferstack.plan.report import (
    COMMENT_LIMIT,
    FULL_REPORT_FILE,
    REPORT_LIMIT,
    REPORT_MARKER,
    ModelRow,
    change_graph,
    fit_report,
    render_report,
    short_pair,
    short_value,
)
from inferstack.plan.report import main as report_main

STACK_URN = "urn:pulumi:dev::inferstack::"


def _resource(type_: str, name: str, inputs: dict[str, Any] | None = None, **extra: Any) -> PlanResource:
    return PlanResource(urn=f"{STACK_URN}{type_}::{name}", type=type_, name=name, inputs=inputs or {}, **extra)


def _plan(*resources: PlanResource) -> PlanDocument:
    return PlanDocument(stack="dev", resources=list(resources), summary=summarize(resources))


def test_diff_carries_old_and_new_values_into_lists_and_json_strings() -> None:
    route = "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"
    role = "aws:iam/rolePolicy:RolePolicy"
    rules = lambda a, b: {"spec": {"rules": [{"backendRefs": [{"name": "stable", "weight": a}, {"name": "canary", "weight": b}]}]}}  # noqa: E731
    before = _plan(_resource(route, "r", rules(90, 10)), _resource(role, "p", {"policy": '{"Statement": [{"Action": "s3:GetObject"}]}'}))
    after = _plan(_resource(route, "r", rules(50, 50)), _resource(role, "p", {"policy": '{"Statement": [{"Action": "s3:PutObject"}]}'}))
    changes = {change.urn.rsplit("::", 1)[-1]: change for change in diff_plans(before, after).changed}
    assert changes["r"].changed_inputs == ("spec.rules",)
    assert [(item.path, item.old, item.new) for item in changes["r"].changes] == [
        ("spec.rules[0].backendRefs[0].weight", 90, 50),
        ("spec.rules[0].backendRefs[1].weight", 10, 50),
    ]
    assert [(item.path, item.old, item.new) for item in changes["p"].changes] == [
        ("policy(json).Statement[0].Action", "s3:GetObject", "s3:PutObject")
    ]
    assert changes["p"].changed_inputs == ("policy",)


def test_long_values_are_shortened_around_the_difference() -> None:
    old = {"priorities": ["a" * 100 + "-a10g-" + "z" * 100]}
    new = {"priorities": ["a" * 100 + "-l4-" + "z" * 100]}
    old_text, new_text = short_pair(old, new)
    assert "a10g" in old_text and "l4" in new_text
    assert "chars)" in old_text and len(old_text) < 120
    assert short_value(ABSENT) == "(none)"
    assert short_value("a|b") == "`a\\|b`"


def test_change_graph_shows_what_changed_and_its_neighbours_only() -> None:
    component = _resource("inferstack:serving:TeamModelServices", "team", custom=False)
    service = _resource("kubernetes:serving.kserve.io/v1beta1:InferenceService", "isvc", {"spec": 1}, parent=component.urn)
    route = _resource("kubernetes:gateway.networking.k8s.io/v1:HTTPRoute", "route", {"w": 1}, parent=component.urn, dependencies=[service.urn])
    bystander = _resource("aws:s3/bucket:Bucket", "bucket", {"bucket": "b"})
    before = _plan(component, service, route, bystander)
    changed_route = route.model_copy(update={"inputs": {"w": 2}})
    after = _plan(component, service, changed_route, bystander)
    graph = change_graph(diff_plans(before, after), after.resources)
    assert "route" in graph and ":::update" in graph
    assert "isvc" in graph and "team" in graph  # its dependency and its parent component
    assert "bucket" not in graph
    assert graph == change_graph(diff_plans(before, after), after.resources)


def test_checkov_results_are_in_the_report() -> None:
    policy = {
        "checked": 3,
        "violations": [
            {"policy": "CKV_ISVC_3", "severity": "medium", "enforcement": "advisory", "urn": "isvc", "message": "no limits"}
        ],
        "checkov": {
            "version": "3.3.30",
            "objects": 12,
            "passed": 40,
            "failed": 1,
            "skipped": [{"check": "CKV_K8S_43", "resource": "InferenceService.vision.m", "reason": "digests pinned by the registry"}],
        },
    }
    report = render_report(stack="dev", summary={}, models=[], resources=[], policy=policy, policy_note=None, cost=None)
    assert "#### checkov" in report
    assert "checkov 3.3.30 over the rendered manifests (12 objects): 40 passed, 1 failed, 1 skipped" in report
    assert "| `CKV_K8S_43` | `InferenceService.vision.m` | digests pinned by the registry |" in report
    assert "`CKV_ISVC_3`" in report


def test_dev_cost_explains_zero_steady_state_and_shows_peak_and_budgets() -> None:
    # Every model scales to zero; 25% of the time at peak: expected pools 0.25 x 5,157.7 = 1,289.4; plus 220.2 other.
    cost = {
        "monthly_usd": 0.0,
        "expected_monthly_usd": 1289.4,
        "peak_monthly_usd": 5157.7,
        "platform_monthly_usd": 220.2,
        "total_monthly_usd": 220.2,
        "total_expected_monthly_usd": 1509.6,
        "total_peak_monthly_usd": 5377.9,
        "budget": {"monthly_usd": 25000.0, "teams": {"vision": {"budget_usd": 6000.0}}},
        "by_team": {"vision": {"monthly_usd": 0.0, "expected_monthly_usd": 249.05, "peak_monthly_usd": 996.2}},
        "by_model": {},
    }
    report = render_report(stack="dev", summary={}, models=[], resources=[], policy=None, policy_note="x", cost=cost)
    assert "scales to zero when idle" in report
    assert "| node pools, peak (every model at max replicas) | $5,158 |" in report
    assert "| node pools, expected (each model at peak for its peak-hours share) | $1,289 |" in report
    assert "| total, peak | $5,378 |" in report
    assert "| vision | $0 | $249 | $996 | $6,000 | 4% | 17% |" in report
    assert "$1,510 expected is 6% of its $25,000 budget, within budget; at peak $5,378 (22%)." in report


def test_cost_section_shows_the_savings_plan_and_flags_peak_over_budget() -> None:
    cost = {
        "monthly_usd": 9000.0,
        "expected_monthly_usd": 10000.0,
        "peak_monthly_usd": 20000.0,
        "platform_monthly_usd": 500.0,
        "total_monthly_usd": 9500.0,
        "total_expected_monthly_usd": 10600.0,
        "total_peak_monthly_usd": 20700.0,
        "savings_plan": {
            "base_on_demand_monthly_usd": 8000.0,
            "recommended": "compute_1y",
            "recommended_monthly_saving_usd": 2000.0,
            "options": {"compute_1y": {"commitment_usd_hour": 8.2192}},
            "as_of": "2026-11",
        },
        "budget": {"monthly_usd": 15000.0, "teams": {}},
        "by_team": {},
        "by_model": {},
    }
    report = render_report(stack="prod", summary={}, models=[], resources=[], policy=None, policy_note="x", cost=cost)
    assert "**total, expected** (budget $15,000) | **$10,600** |" in report
    assert "within budget; at peak $20,700 (138%) ⚠️ over budget at peak (advisory)." in report
    assert "compute 1y plan (no upfront) on the $8,000/month steady on-demand base commits 8.22 USD/hour and saves $2,000/month" in report


def test_a_thousand_model_diff_fits_a_comment_and_points_to_the_full_report() -> None:
    kind = "kubernetes:serving.kserve.io/v1beta1:InferenceService"
    before = _plan(*(_resource(kind, f"model-{index:04d}", {"spec": {"minReplicas": 1}}) for index in range(1000)))
    after = _plan(*(_resource(kind, f"model-{index:04d}", {"spec": {"minReplicas": 2}}) for index in range(1000)))
    rows = [ModelRow(f"model-{index:04d}", "team", "1 x l4", "2-4", "spot", "100% 1.0.0", 100.0, 400.0) for index in range(1000)]
    policy = {"checked": 1000, "violations": [{"policy": "p", "severity": "high", "enforcement": "mandatory", "urn": f"u{index}", "message": "m" * 80} for index in range(1000)]}
    render = partial(
        render_report,
        stack="prod",
        summary=after.summary,
        models=rows,
        resources=after.resources,
        policy=policy,
        policy_note=None,
        cost=None,
        diff=diff_plans(before, after),
    )
    report, full = fit_report(render)
    assert full is not None and len(full) > REPORT_LIMIT
    assert len(report) <= REPORT_LIMIT < COMMENT_LIMIT
    assert FULL_REPORT_FILE in report and "Shortened to fit" in report
    assert "1000 to change" in report  # the verdict line still counts everything
    small, none = fit_report(partial(render_report, stack="dev", summary={}, models=[], resources=[], policy=None, policy_note=None, cost=None))
    assert none is None and "Shortened" not in small


def test_bad_input_report_from_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """What preview.yml runs when the plan exits 2."""
    errors = tmp_path / "errors.txt"
    errors.write_text("model_specs/a.yaml: scaling.min_replica: unknown field; expected min_replicas\n", encoding="utf-8")
    assert report_main(["bad-input", "--stack", "dev", str(errors)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(REPORT_MARKER) and "bad input" in out and "model_specs/a.yaml: scaling.min_replica" in out
