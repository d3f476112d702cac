"""What a drift watch provisions: the detector's role, CronJob and job file, trigger resources, alerts, panel, policy."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from typer.testing import CliRunner

from inferstack.cli import app
from inferstack.drift.job import DriftJob
from inferstack.policy import RULES_BY_NAME, PolicyResource
from inferstack.policy import props as p
from inferstack.policy.evaluate import run_rule
from tests.policy_corpus.baseline import context, patched, secure_stack

KUBERNETES_VERSION = "1.33.0"
PLATFORM = "inferstack-prod"
DETECTOR = f"{PLATFORM}-drift-fraud-scorer"


@pytest.fixture
def workspace(tmp_path: Path, repo_root: Path) -> Path:
    shutil.copytree(repo_root / "model_specs", tmp_path / "model_specs", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(repo_root / "stacks", tmp_path / "stacks")
    return tmp_path


def plan(workspace: Path, stack: str = "prod") -> tuple[int, str, dict[str, dict[str, Any]], dict[str, Any]]:
    out = workspace / f"out-{stack}"
    result = CliRunner().invoke(
        app, ["plan", "--stack", stack, "--specs", str(workspace / "model_specs"), "--stacks", str(workspace / "stacks"), "--out", str(out)]
    )
    if result.exit_code == 2:
        return result.exit_code, result.stderr, {}, {}
    resources = {resource["name"]: resource for resource in json.loads((out / "plan.json").read_text())["resources"]}
    return result.exit_code, result.stdout + result.stderr, resources, json.loads((out / "policy.json").read_text())


def set_trigger(workspace: Path, trigger: dict[str, Any]) -> None:
    path = workspace / "model_specs" / "fraud_scorer.yaml"
    document = yaml.safe_load(path.read_text())
    document["monitoring"]["drift"]["trigger"] = trigger
    path.write_text(yaml.safe_dump(document, sort_keys=False))


def test_prod_plan_provisions_a_locked_down_detector(workspace: Path) -> None:
    code, output, resources, policy = plan(workspace)
    assert code == 0, output
    children = {name for name, resource in resources.items() if (resource["parent"] or "").endswith(f"::{DETECTOR}")}
    assert children == {f"{DETECTOR}-{suffix}" for suffix in ("role", "policy", "service-account", "job", "cron-job", "egress")}

    cron_job = resources[f"{DETECTOR}-cron-job"]["inputs"]
    manifest = {"apiVersion": "batch/v1", "kind": "CronJob", **cron_job}
    kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)
    spec = cron_job["spec"]
    assert spec["schedule"] == "*/15 * * * *" and spec["concurrencyPolicy"] == "Forbid"
    pod = spec["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "drift-fraud-scorer" and pod["securityContext"]["runAsNonRoot"] is True
    (container,) = pod["containers"]
    stack = yaml.safe_load((workspace / "stacks" / "Pulumi.prod.yaml").read_text())["config"]["inferstack:drift"]
    assert container["image"] == stack["image"]
    context_ = container["securityContext"]
    assert context_["readOnlyRootFilesystem"] is True and context_["allowPrivilegeEscalation"] is False
    assert context_["capabilities"] == {"drop": ["ALL"]} and context_["runAsNonRoot"] is True
    assert container["resources"]["limits"] == container["resources"]["requests"] == {"cpu": "1", "memory": "2Gi"}
    token = next(item for item in container["env"] if item["name"] == "INFERSTACK_GITHUB_TOKEN")
    assert token["valueFrom"]["secretKeyRef"] == {"name": "github-dispatch", "key": "token"}
    assert {"name": "INFERSTACK_PUSHGATEWAY_URL", "value": stack["pushgateway_url"]} in container["env"]

    job = DriftJob.model_validate_json(resources[f"{DETECTOR}-job"]["inputs"]["data"]["job.json"])
    assert (job.model, job.team, job.version, job.environment, job.bucket) == ("fraud-scorer", "risk", "3.2.0", "prod", "inferstack-models-prod")
    assert "ghp_" not in json.dumps(resources[f"{DETECTOR}-job"]["inputs"])

    trust = json.loads(resources[f"{DETECTOR}-role"]["inputs"]["assumeRolePolicy"])
    (subject,) = [value for key, value in trust["Statement"][0]["Condition"]["StringEquals"].items() if key.endswith(":sub")]
    assert subject == "system:serviceaccount:risk:drift-fraud-scorer"
    statements = {item["Sid"]: item for item in json.loads(resources[f"{DETECTOR}-policy"]["inputs"]["policy"])["Statement"]}
    assert set(statements) == {
        "ReadTeamPayloadLogs", "ReadReferenceProfiles", "ListLogsAndProfiles", "WriteDriftReports", "ReleaseTriggerMarkers", "UseModelStoreKeyThroughS3",
    }
    assert statements["WriteDriftReports"]["Resource"][0].endswith("/drift-reports/risk/fraud-scorer/*")
    assert statements["ReadTeamPayloadLogs"]["Resource"][0].endswith("/payload-logs/risk/*")
    assert statements["ReleaseTriggerMarkers"]["Action"] == ["s3:DeleteObject"]

    # The detector's role and CronJob break no rule; the fraud scorer's predictor now logs payloads.
    drift_urns = {resource["urn"] for name, resource in resources.items() if name.startswith(DETECTOR)}
    assert [violation for violation in policy["violations"] if violation["urn"] in drift_urns] == []
    isvc = next(resource for resource in resources.values() if resource["type"] == p.K8S_INFERENCE_SERVICE and resource["name"].endswith("fraud-scorer-isvc"))
    assert isvc["inputs"]["spec"]["predictor"]["logger"]["url"] == "s3://inferstack-models-prod/payload-logs/risk"
    assert not [v for v in policy["violations"] if v["policy"] == "logged-model-watches-drift" and "fraud-scorer" in v["message"]]


def test_team_rule_and_dashboard_carry_warn_page_and_stale_alerts(workspace: Path) -> None:
    code, output, resources, _ = plan(workspace)
    assert code == 0, output
    rule = resources[f"{PLATFORM}-ns-risk-alerts"]["inputs"]
    alerts = {item["alert"]: item for group in rule["spec"]["groups"] for item in group["rules"]}
    assert alerts["ModelFeatureDrift"]["labels"]["severity"] == "warning"
    assert alerts["ModelFeatureDriftPage"]["labels"]["severity"] == "critical"
    assert 'inferstack_drift_level{model="fraud-scorer"}' in alerts["ModelFeatureDriftPage"]["expr"]
    assert alerts["ModelFeatureDriftPage"]["expr"].endswith(">= 2")
    assert alerts["ModelDriftDetectorStale"]["expr"].endswith("> 10800")
    assert all(alerts[name]["annotations"]["runbook_url"] == "https://runbooks.example.com/risk/fraud-scorer" for name in alerts if "Drift" in name)
    dashboards = [resource for resource in resources.values() if resource["type"] == "kubernetes:core/v1:ConfigMap" and "dashboard-risk" in resource["name"]]
    (dashboard,) = dashboards
    panels = json.loads(next(iter(dashboard["inputs"]["data"].values())))["panels"]
    assert any(panel["title"].startswith("fraud-scorer: drift (") for panel in panels)


@pytest.mark.parametrize(
    ("trigger", "resource", "sid"),
    [
        ({"kind": "sns"}, "retraining-topic", "PublishRetrainingTopic"),
        ({"kind": "eventbridge"}, "retraining-rule", "PutRetrainingEvents"),
    ],
)
def test_sns_and_eventbridge_triggers_get_their_resource_and_one_grant(workspace: Path, trigger: dict[str, Any], resource: str, sid: str) -> None:
    set_trigger(workspace, trigger)
    code, output, resources, policy = plan(workspace)
    assert code == 0, output
    created = resources[f"{DETECTOR}-{resource}"]["inputs"]
    statements = {item["Sid"]: item for item in json.loads(resources[f"{DETECTOR}-policy"]["inputs"]["policy"])["Statement"]}
    if trigger["kind"] == "sns":
        assert created["name"] == "inferstack-prod-fraud-scorer-retraining" and created["kmsMasterKeyId"] == "alias/aws/sns"
        assert statements[sid]["Resource"][0].endswith(":inferstack-prod-fraud-scorer-retraining")
    else:
        pattern = json.loads(created["eventPattern"])
        assert pattern["source"] == ["inferstack.drift"] and pattern["detail"] == {"model": ["fraud-scorer"]}
        assert statements[sid]["Condition"] == {"StringEquals": {"events:source": "inferstack.drift"}}
        assert statements[sid]["Resource"][0].endswith(":event-bus/default")
    assert "INFERSTACK_GITHUB_TOKEN" not in json.dumps(resources[f"{DETECTOR}-cron-job"]["inputs"])
    assert not [v for v in policy["violations"] if v["enforcement"] == "mandatory"]


def test_drift_without_a_detector_image_is_bad_input(workspace: Path) -> None:
    path = workspace / "stacks" / "Pulumi.prod.yaml"
    document = yaml.safe_load(path.read_text())
    del document["config"]["inferstack:drift"]
    path.write_text(yaml.safe_dump(document))
    code, stderr, _, _ = plan(workspace)
    assert code == 2
    assert "monitoring.drift: model fraud-scorer watches drift but stack prod sets no detector image" in stderr


def _drift_cron_job(model: str, namespace: str) -> dict[str, Any]:
    return {
        "type": p.K8S_CRON_JOB,
        "name": f"drift-{model}",
        "props": {"metadata": {"name": f"drift-{model}", "namespace": namespace, "labels": {"inferstack.io/model": model, "app.kubernetes.io/component": "drift-detector"}}},
    }


LOGGER = {"spec.predictor.logger": {"mode": "all", "url": "s3://inferstack-models-prod/payload-logs/vision"}}


def _violations(resources: list[PolicyResource]) -> list[str]:
    found, skipped = run_rule(RULES_BY_NAME["logged-model-watches-drift"], resources, context("prod"))
    assert skipped == []
    return [message for _, message in found]


def test_logged_model_rule_fails_without_a_detector_and_passes_with_one() -> None:
    logged = patched(secure_stack("prod"), [{"resource": "defect-detector", "set": LOGGER}], "prod")
    assert ["model defect-detector logs its payloads but nothing watches them for drift" in message for message in _violations(logged)] == [True]
    watched = patched(secure_stack("prod"), [{"resource": "defect-detector", "set": LOGGER}, {"add": _drift_cron_job("defect-detector", "vision")}], "prod")
    assert _violations(watched) == []
    elsewhere = patched(secure_stack("prod"), [{"resource": "defect-detector", "set": LOGGER}, {"add": _drift_cron_job("defect-detector", "risk")}], "prod")
    assert len(_violations(elsewhere)) == 1


def test_payload_log_keys_land_where_the_writer_and_the_detector_may_go(workspace: Path) -> None:
    """KServe v0.20.0 (pkg/logger/store.go) keys an object <url path>/<namespace>/<isvc>/<component>/<storage path>/<id>-<side>.json.

    The logger used to carry the team prefix in its storage path, which KServe puts after the namespace,
    so logs landed under <namespace>/..., outside the serving role's `payload-logs/<team>/*` grant.
    """
    from urllib.parse import urlparse

    from inferstack.render.payload_logging import payload_log_object_key

    code, output, resources, _ = plan(workspace)
    assert code == 0, output
    isvc = next(resource for resource in resources.values() if resource["type"] == p.K8S_INFERENCE_SERVICE and resource["name"].endswith("fraud-scorer-isvc"))
    logger = isvc["inputs"]["spec"]["predictor"]["logger"]
    url = urlparse(logger["url"])
    metadata = isvc["inputs"]["metadata"]
    parts = [url.path.strip("/"), metadata["namespace"], metadata["name"], "predictor", logger["storage"]["path"].strip("/")]
    key = "/".join(part for part in parts if part) + "/abc-request.json"
    assert key == payload_log_object_key("risk", metadata["namespace"], metadata["name"], "predictor", "fraud-scorer", "primary", "abc", "request")
    writer = json.loads(resources[f"{PLATFORM}-team-risk-write-payload-logs"]["inputs"]["policy"])
    (grant,) = [statement["Resource"][0] for statement in writer["Statement"] if statement["Action"] == ["s3:PutObject"]]
    assert key.startswith(grant.split(":::", 1)[1].split("/", 1)[1].removesuffix("*"))
    reader = {item["Sid"]: item for item in json.loads(resources[f"{DETECTOR}-policy"]["inputs"]["policy"])["Statement"]}
    assert key.startswith(reader["ReadTeamPayloadLogs"]["Resource"][0].split("/", 1)[1].removesuffix("*"))
