"""Audit trail of the model store, the EOL-Kubernetes rule on the cluster resource, and Grafana's admin password
(issue 15, items 3, 5 and 6 of engineer 15b), on the real program under Pulumi mocks."""

from __future__ import annotations

import dataclasses
import json
import shutil
from functools import cache
from pathlib import Path
from typing import Any, cast

import yaml

from components.model_store import audit_event_selectors
from inferstack.mocks import InferstackMocks, RecordedResource, run_under_mocks
from inferstack.plan.redact import SECRET_SIGNATURE_KEY, redact_inputs
from inferstack.policy import PolicyContext, PolicyResource, evaluate
from inferstack.policy.rules.oversight import trail_covers
from inferstack.spec.loader import load_environment

REPO = Path(__file__).resolve().parents[1]


@cache
def _graph(stack: str, changes: str = "") -> tuple[RecordedResource, ...]:
    """The stack's graph; `changes` is YAML `{section: {key: value}}` merged into its inferstack:<section> keys."""
    if not changes:
        return tuple(run_under_mocks(stack, REPO / "model_specs", REPO / "stacks", InferstackMocks(region="us-east-1")))
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="oversight-"))
    try:
        document = yaml.safe_load((REPO / "stacks" / f"Pulumi.{stack}.yaml").read_text())
        for section, values in yaml.safe_load(changes).items():
            document["config"].setdefault(f"inferstack:{section}", {}).update(values)
        (folder / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump(document))
        return tuple(run_under_mocks(stack, REPO / "model_specs", folder, InferstackMocks(region="us-east-1")))
    finally:
        shutil.rmtree(folder)


def _report(records: tuple[RecordedResource, ...], stack: str, **context: Any) -> Any:
    resources = [PolicyResource(r.urn, r.type, r.name, r.inputs, r.parent, tuple(r.dependencies)) for r in records]
    ctx = dataclasses.replace(PolicyContext.from_environment(load_environment(REPO / "stacks", stack)), **context)
    return evaluate(resources, ctx)


def _of_type(records: tuple[RecordedResource, ...], type_: str) -> list[RecordedResource]:
    return [record for record in records if record.type == type_]


# --- item 5: the model store's audit trail ----------------------------------------------------------------------


def test_prod_model_store_records_object_access_in_an_encrypted_trail_of_its_own() -> None:
    records = _graph("prod")
    (trail,) = _of_type(records, "aws:cloudtrail/trail:Trail")
    assert trail_covers(trail.inputs, "inferstack-models-prod")
    assert trail.inputs["enableLogFileValidation"] is True and trail.inputs["kmsKeyId"]
    assert trail.inputs["s3BucketName"] == "inferstack-models-prod-audit"
    (policy,) = [r for r in _of_type(records, "aws:s3/bucketPolicy:BucketPolicy") if r.inputs["bucket"] == "inferstack-models-prod-audit"]
    assert policy.urn in trail.dependencies  # CloudTrail checks it may write before it creates the trail
    statements = {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}
    trail_arn = f"arn:aws:cloudtrail:us-east-1:123456789012:trail/{trail.inputs['name']}"
    assert statements["CloudTrailWrite"]["Condition"]["StringEquals"]["aws:SourceArn"] == trail_arn
    assert statements["CloudTrailWrite"]["Resource"].endswith("/AWSLogs/123456789012/*")
    assert "DenyInsecureTransport" in statements
    (key,) = [r for r in _of_type(records, "aws:kms/key:Key") if r.name.endswith("audit-key")]
    for statement in json.loads(key.inputs["policy"])["Statement"]:
        if "Service" in statement["Principal"]:
            assert statement["Condition"]["StringEquals"]["aws:SourceArn"] == trail_arn
    assert not [v for v in _report(records, "prod").violations if v.rule_id in ("ISP-S3-007", "ISP-KMS-002", "ISP-S3-005")]


def test_selectors_record_every_read_and_artifact_writes_but_not_payload_log_writes() -> None:
    reads, writes = cast(list[dict[str, Any]], audit_event_selectors("store", "us-east-1"))  # plain dicts, not Inputs
    fields = {f["field"]: f for f in reads["field_selectors"]}
    assert fields["readOnly"]["equals"] == ["true"] and fields["resources.ARN"]["starts_withs"] == ["arn:aws:s3:::store/"]
    fields = {f["field"]: f for f in writes["field_selectors"]}
    assert fields["readOnly"]["equals"] == ["false"] and fields["resources.ARN"]["starts_withs"] == ["arn:aws:s3:::store/models/"]


def test_prod_without_access_audit_is_a_mandatory_violation() -> None:
    records = _graph("prod", "model_store: {access_audit: false}")
    assert not _of_type(records, "aws:cloudtrail/trail:Trail")
    violations = [v for v in _report(records, "prod").violations if v.rule_id == "ISP-S3-007"]
    assert [v.enforcement for v in violations] == ["mandatory"]


# --- item 6: an end-of-life Kubernetes version, judged on the cluster resource ----------------------------------


def test_the_pack_judges_the_cluster_resource_version_on_the_plan_date() -> None:
    records = _graph("prod")
    (cluster,) = _of_type(records, "aws:eks/cluster:Cluster")
    assert cluster.inputs["version"] == "1.35"
    assert not [v for v in _report(records, "prod").violations if v.rule_id == "ISP-EKS-006"]
    later = [v for v in _report(records, "prod", today="2028-03-27").violations if v.rule_id == "ISP-EKS-006"]
    assert [v.enforcement for v in later] == ["mandatory"] and "extended support" in later[0].message
    assert not [v for v in _report(records, "prod", today="2028-03-26").violations if v.rule_id == "ISP-EKS-006"]


# --- item 3: Grafana's admin password ---------------------------------------------------------------------------


def _grafana_password(records: tuple[RecordedResource, ...]) -> str:
    (secret,) = [r for r in _of_type(records, "kubernetes:core/v1:Secret") if r.inputs["metadata"]["name"] == "grafana-admin"]
    wrapped = secret.inputs["stringData"]
    assert SECRET_SIGNATURE_KEY in wrapped  # a Pulumi secret
    assert "[secret]" in json.dumps(redact_inputs(secret.type, secret.inputs))
    return str(wrapped["value"]["admin-password"])


def test_grafana_uses_the_stacks_secret_when_it_sets_one_and_a_generated_one_otherwise() -> None:
    generated = _grafana_password(_graph("prod"))
    assert len(generated) >= 40 and generated != "prom-operator"
    configured = _grafana_password(_graph("prod", "monitoring: {grafana_admin_password: {secure: v1:Z3JhZmFuYS1hZG1pbi1wYXNzd29yZA}}"))
    assert configured == "v1:Z3JhZmFuYS1hZG1pbi1wYXNzd29yZA"  # offline the plan holds the ciphertext; pulumi up decrypts it
