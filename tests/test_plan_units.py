"""Plan building blocks on hand-built resources: diff, redaction, manifests, report, baseline loading."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from inferstack.plan.diff import diff_plans
from inferstack.plan.document import PlanDocument, PlanResource, dumps, load_plan, summarize
from inferstack.plan.manifests import CLUSTER_FILE, render_manifest_files
from inferstack.plan.redact import REDACTED, SECRET_SIGNATURE_KEY, SECRET_SIGNATURE_VALUE, redact, redact_inputs
from inferstack.plan.report import REPORT_MARKER, ModelRow, mermaid_graph, render_report
from inferstack.problems import InputError

STACK_URN = "urn:pulumi:dev::inferstack"


def _resource(type_: str, name: str, inputs: dict[str, Any] | None = None, parent: str | None = None, custom: bool = True) -> PlanResource:
    return PlanResource(
        urn=f"{STACK_URN}::{type_}::{name}", type=type_, name=name, parent=parent, inputs=inputs or {}, custom=custom
    )


def _plan(*resources: PlanResource) -> PlanDocument:
    return PlanDocument(stack="dev", resources=list(resources), summary=summarize(resources))


NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"


def test_diff_reports_add_change_remove_and_replace() -> None:
    before = _plan(
        _resource("aws:s3/bucket:Bucket", "store", {"bucket": "a"}),
        _resource(NODE_GROUP, "l4", {"instanceTypes": ["g6.xlarge"], "scalingConfig": {"maxSize": 2}}),
        _resource(NODE_GROUP, "t4", {"instanceTypes": ["g4dn.xlarge"], "scalingConfig": {"maxSize": 2}}),
        _resource("aws:kms/key:Key", "old-key"),
    )
    after = _plan(
        _resource("aws:s3/bucket:Bucket", "store", {"bucket": "a"}),
        _resource(NODE_GROUP, "l4", {"instanceTypes": ["g6.xlarge"], "scalingConfig": {"maxSize": 4}}),
        _resource(NODE_GROUP, "t4", {"instanceTypes": ["g4dn.2xlarge"], "scalingConfig": {"maxSize": 2}}),
        _resource("aws:sns/topic:Topic", "alerts"),
    )
    diff = diff_plans(before, after)
    assert [resource.name for resource in diff.added] == ["alerts"]
    assert [resource.name for resource in diff.removed] == ["old-key"]
    changes = {change.urn.rsplit("::", 1)[-1]: change for change in diff.changed}
    assert set(changes) == {"l4", "t4"}
    assert changes["l4"].changed_inputs == ("scalingConfig.maxSize",)
    assert not changes["l4"].replaced
    assert changes["t4"].replaced and changes["t4"].replace_reasons == ("instanceTypes",)
    assert [change.urn for change in diff.replaced] == [changes["t4"].urn]
    assert not diff_plans(after, after).changed and diff_plans(after, after).empty


def test_kubernetes_rename_within_inputs_is_a_replacement() -> None:
    kind = "kubernetes:core/v1:ConfigMap"
    before = _plan(_resource(kind, "dash", {"metadata": {"name": "a", "namespace": "x"}}))
    after = _plan(_resource(kind, "dash", {"metadata": {"name": "b", "namespace": "x"}}))
    (change,) = diff_plans(before, after).changed
    assert change.replaced and change.replace_reasons == ("metadata.name",)


def test_secrets_are_redacted_wherever_they_are() -> None:
    secret = {SECRET_SIGNATURE_KEY: SECRET_SIGNATURE_VALUE, "value": "hunter2"}
    inputs = {
        "kubeconfig": "apiVersion: v1 ...",
        "nested": [{"password": "p"}, {"value": secret}],
        "spec": {"serviceAccountName": "sa", "automountServiceAccountToken": False},
    }
    cleaned = redact(inputs)
    assert cleaned["kubeconfig"] == REDACTED
    assert cleaned["nested"] == [{"password": REDACTED}, {"value": REDACTED}]
    assert cleaned["spec"] == {"serviceAccountName": "sa", "automountServiceAccountToken": False}
    assert "hunter2" not in json.dumps(cleaned)
    secret_object = redact_inputs("kubernetes:core/v1:Secret", {"metadata": {"name": "s"}, "stringData": {"k": "v"}})
    assert secret_object["stringData"] == {"k": REDACTED}


def test_plan_json_is_canonical(tmp_path: Path) -> None:
    first = _plan(_resource("aws:kms/key:Key", "b"), _resource("aws:kms/key:Key", "a"))
    second = _plan(_resource("aws:kms/key:Key", "a"), _resource("aws:kms/key:Key", "b"))
    assert dumps(first) == dumps(second)
    path = tmp_path / "plan.json"
    path.write_text(dumps(first))
    assert load_plan(path).by_urn().keys() == first.by_urn().keys()


@pytest.mark.parametrize(
    ("content", "phrase"),
    [
        (None, "file not found"),
        ("{not json", "invalid JSON"),
        ("[1, 2]", "got a JSON list"),
        ('{"stack": "dev"}', "resources: required field is missing"),
        ('{"stack": "dev", "resources": [{"urn": "u"}]}', "resources[0].type: required field is missing"),
    ],
)
def test_bad_baseline_is_one_clear_error(tmp_path: Path, content: str | None, phrase: str) -> None:
    path = tmp_path / "plan.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(InputError) as error:
        load_plan(path)
    assert phrase in str(error.value)
    assert all(problem.file == str(path) for problem in error.value.problems)


def test_manifests_group_by_namespace_and_skip_non_kubernetes() -> None:
    resources = [
        _resource("kubernetes:core/v1:Namespace", "ns-vision", {"metadata": {"name": "vision"}}),
        _resource(
            "kubernetes:serving.kserve.io/v1beta1:InferenceService",
            "isvc",
            {"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService", "metadata": {"name": "m", "namespace": "vision"}, "spec": {}},
        ),
        _resource("kubernetes:policy/v1:PodDisruptionBudget", "pdb", {"metadata": {"name": "m", "namespace": "vision"}, "spec": {}}),
        _resource("kubernetes:helm.sh/v3:Release", "dcgm", {"chart": "dcgm-exporter", "namespace": "gpu", "values": {"a": 1}}),
        _resource("aws:s3/bucket:Bucket", "store"),
        _resource("inferstack:serving:ModelService", "m", custom=False),
    ]
    files = render_manifest_files(resources)
    assert sorted(files) == [CLUSTER_FILE, "_helm-releases.yaml", "vision.yaml"]
    documents = list(yaml.safe_load_all(files["vision.yaml"]))
    assert [(doc["apiVersion"], doc["kind"]) for doc in documents] == [
        ("serving.kserve.io/v1beta1", "InferenceService"),
        ("policy/v1", "PodDisruptionBudget"),
    ]
    (namespace,) = yaml.safe_load_all(files[CLUSTER_FILE])
    assert namespace["apiVersion"] == "v1" and namespace["kind"] == "Namespace"


def test_report_has_every_section_and_the_diff() -> None:
    parent = _resource("inferstack:platform:Platform", "platform", custom=False)
    child = _resource("inferstack:serving:ModelService", "m", parent=parent.urn, custom=False)
    leaf = _resource("kubernetes:serving.kserve.io/v1beta1:InferenceService", "isvc", parent=child.urn)
    before = _plan(parent, child)
    after = _plan(parent, child, leaf)
    report = render_report(
        stack="dev",
        summary={**after.summary, "models": 1},
        models=[ModelRow("m", "vision", "1 x l4", "1-3", "spot", "100% stable", 812.4)],
        resources=after.resources,
        policy={"violations": [{"policy": "s3-kms", "severity": "high", "enforcement": "mandatory", "urn": "u", "message": "x"}], "checked": 3},
        policy_note=None,
        cost={"monthly_usd": 812.4, "peak_monthly_usd": 1200.0, "total_monthly_usd": 812.4, "by_model": {"m": {"monthly_usd": 812.4}}},
        diff=diff_plans(before, after),
        baseline_cost={"monthly_usd": 692.4, "peak_monthly_usd": 1000.0, "total_monthly_usd": 692.4, "by_model": {"m": 692.4}},
        not_run=["checkov (not requested)"],
    )
    assert report.startswith(REPORT_MARKER)
    for phrase in ("### Models", "| m | vision | 1 x l4 |", "❌", "1 mandatory", "$812/month", "1 to add", "+$120", "```mermaid", "checkov"):
        assert phrase in report, phrase
    graph = mermaid_graph(after.resources)
    assert "Platform x1" in graph and "-->|1|" in graph


def test_yaml_text_round_trips_awkward_values() -> None:
    from inferstack.plan.yaml_text import dump, dump_all

    document = {
        "apiVersion": "v1",
        "metadata": {"labels": {"inferstack.io/team": "risk", "yes": "no", "on": True, "null": None}},
        "spec": {
            "ports": [{"port": 80, "name": "http"}],
            "empty": {},
            "none": [],
            "text": "multi\nline: with # and 'quotes' and \"double\" and ünïcode",
            "numbers": [1, 2.5, -3, 1e-9, 3e20, float("inf"), -0.5],
            "nested": [[1, 2], [{"a": [{}]}]],
            "0leading": "x",
        },
    }
    assert yaml.safe_load(dump(document)) == document
    assert list(yaml.safe_load_all(dump_all([document, {"kind": "Namespace"}]))) == [document, {"kind": "Namespace"}]
    assert "inferstack.io/team" in dump(document) and "yes" in dump(document)


def test_integral_floats_from_the_engine_become_ints() -> None:
    assert redact({"port": 80.0, "weight": 12.5, "flag": True}) == {"port": 80, "weight": 12.5, "flag": True}
