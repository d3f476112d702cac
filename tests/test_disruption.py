"""report.md calls disruption out first: removed or replaced capacity and serving objects, with the models they hit."""

from __future__ import annotations

from typing import Any

from inferstack.constants import LABEL_MODEL, LABEL_NODE_POOL
from inferstack.plan.diff import diff_plans
from inferstack.plan.disruption import find_disruptions
from inferstack.plan.document import PlanDocument, PlanResource
from inferstack.plan.report import REPORT_MARKER, disruption_section, render_report

GROUP = "aws:eks/nodeGroup:NodeGroup"
TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
ISVC = "kubernetes:serving.kserve.io/v1beta1:InferenceService"


def _group(pool: str, parent: str, **inputs: Any) -> PlanResource:
    return PlanResource(
        urn=f"urn:pulumi:prod::inferstack::GpuNodePool$aws:eks/nodeGroup:NodeGroup::{pool}-ng",
        type=GROUP,
        name=f"{pool}-ng",
        parent=parent,
        inputs={"instanceTypes": ["g6.2xlarge"], "capacityType": "SPOT", "labels": {LABEL_NODE_POOL: pool}, **inputs},
    )


def _template(pool: str, parent: str, tags: dict[str, str]) -> PlanResource:
    return PlanResource(
        urn=f"urn:pulumi:prod::inferstack::GpuNodePool$aws:ec2/launchTemplate:LaunchTemplate::{pool}-lt",
        type=TEMPLATE, name=f"{pool}-lt", parent=parent, inputs={"tags": tags},
    )


def _service(model: str, pool: str, name: str | None = None) -> PlanResource:
    affinity = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": LABEL_NODE_POOL, "operator": "In", "values": [pool]}]}
    ]}}}
    name = name or model
    return PlanResource(
        urn=f"urn:pulumi:prod::inferstack::TeamModelServices${ISVC}::{name}-isvc",
        type=ISVC,
        name=f"{name}-isvc",
        inputs={"metadata": {"name": name, "namespace": "team", "labels": {LABEL_MODEL: model}},
                "spec": {"predictor": {"affinity": affinity}}},
    )


def _disruptions(before: list[PlanResource], after: list[PlanResource]):
    baseline, current = PlanDocument(stack="prod", resources=before), PlanDocument(stack="prod", resources=after)
    return find_disruptions(before, after, diff_plans(baseline, current))


def test_a_removed_node_group_names_every_model_placed_on_it() -> None:
    before = [_group("l4-spot", "a"), _service("m1", "l4-spot"), _service("m2", "l4-spot"), _service("m3", "cpu-spot")]
    (item,) = _disruptions(before, before[1:])
    assert (item.action, item.models) == ("removed", ("m1", "m2"))


def test_a_replaced_node_group_and_a_new_template_version_are_disruptions() -> None:
    before = [_group("l4-spot", "a"), _template("l4-spot", "a", {"team": "platform"}), _service("m1", "l4-spot")]
    after = [_group("l4-spot", "a", instanceTypes=["g6.xlarge", "g6.2xlarge"]),
             _template("l4-spot", "a", {"team": "platform", "inferstack:model": "m1 m2"}), _service("m1", "l4-spot")]
    found = {(item.type, item.action): item for item in _disruptions(before, after)}
    assert found[(GROUP, "replaced")].models == ("m1",) and "instanceTypes" in found[(GROUP, "replaced")].reason
    assert found[(TEMPLATE, "nodes replaced")].models == ("m1",)


def test_a_removed_inference_service_is_a_disruption_and_a_scaling_update_is_not() -> None:
    before = [_group("l4-spot", "a", scalingConfig={"maxSize": 2}), _service("m1", "l4-spot"), _service("m2", "l4-spot")]
    after = [_group("l4-spot", "a", scalingConfig={"maxSize": 6}), _service("m1", "l4-spot")]
    (item,) = _disruptions(before, after)
    assert (item.type, item.action, item.models) == (ISVC, "removed", ("m2",))


def test_report_md_opens_with_the_disruption_section() -> None:
    before = [_group("l4-spot", "a"), _service("m1", "l4-spot")]
    disruptions = _disruptions(before, before[1:])
    diff = diff_plans(PlanDocument(stack="prod", resources=before), PlanDocument(stack="prod", resources=before[1:]))
    report = render_report(
        stack="prod", summary={}, models=[], resources=before[1:], policy=None, policy_note=None, cost=None,
        diff=diff, leading_sections=(disruption_section(disruptions),),
    )
    lines = report.splitlines()
    assert lines[0] == REPORT_MARKER
    first_section = next(line for line in lines if line.startswith("### "))
    assert first_section == "### ⚠️ Disruption"
    assert "| removed | `l4-spot-ng` | `NodeGroup` | capacity removed | m1 |" in report
    quiet = render_report(stack="prod", summary={}, models=[], resources=[], policy=None, policy_note=None, cost=None,
                          diff=diff_plans(PlanDocument(stack="prod", resources=[]), PlanDocument(stack="prod", resources=[])),
                          leading_sections=(disruption_section([]),))
    assert next(line for line in quiet.splitlines() if line.startswith("### ")) == "### Disruption"


def test_a_scaling_edit_plans_with_no_disruption_and_a_removed_model_is_called_out(tmp_path, repo_root) -> None:  # noqa: ANN001
    import json
    import shutil

    from typer.testing import CliRunner

    from inferstack.cli import app

    specs = tmp_path / "model_specs"
    shutil.copytree(repo_root / "model_specs", specs, ignore=shutil.ignore_patterns("__pycache__"))

    def plan(out: str, *extra: str) -> str:
        result = CliRunner().invoke(
            app, ["plan", "--stack", "staging", "--specs", str(specs), "--stacks", str(repo_root / "stacks"),
                  "--out", str(tmp_path / out), *extra],
        )
        assert result.exit_code == 0, result.output
        return (tmp_path / out / "report.md").read_text()

    plan("base")
    baseline = str(tmp_path / "base" / "plan.json")
    path = specs / "defect_detector.yaml"
    path.write_text(path.read_text().replace("  max_replicas: 4", "  max_replicas: 6", 1))
    report = plan("scaled", "--baseline", baseline)
    assert next(line for line in report.splitlines() if line.startswith("### ")) == "### Disruption"
    assert json.loads((tmp_path / "scaled" / "plan.json").read_text())["summary"]["disruption"] == []
    (specs / "fraud_scorer.yaml").unlink()
    report = plan("removed", "--baseline", baseline)
    assert next(line for line in report.splitlines() if line.startswith("### ")) == "### ⚠️ Disruption"
    disruption = json.loads((tmp_path / "removed" / "plan.json").read_text())["summary"]["disruption"]
    assert disruption and {model for item in disruption for model in item["models"]} == {"fraud-scorer"}
