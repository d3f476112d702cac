"""Alerts reach people: the stack's destination and each spec's alert_route become Alertmanager routes and
receivers, with credentials from Pulumi secrets through a mounted Secret (issue 15, item 1 of engineer 15b)."""

from __future__ import annotations

import copy
import json
import shutil
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from inferstack.compiler import compile_blueprint
from inferstack.mocks import InferstackMocks, RecordedResource, run_under_mocks
from inferstack.plan.redact import redact_inputs
from inferstack.policy.rules.oversight import alert_delivery_problems
from inferstack.problems import InputError
from inferstack.render.alert_routing import (
    ALERT_RECEIVERS_SECRET,
    ALERTMANAGER_SERVICE_ACCOUNT,
    alert_routing,
    alertmanager_values,
)
from inferstack.render.monitoring import model_alerts
from inferstack.spec.loader import environment_from_config, load_environment, load_specs
from inferstack.spec.stack_checks import plain_secret_problems, secret_values

REPO = Path(__file__).resolve().parents[1]
RELEASE = "kubernetes:helm.sh/v3:Release"


def _stack_document(stack: str) -> dict[str, Any]:
    return yaml.safe_load((REPO / "stacks" / f"Pulumi.{stack}.yaml").read_text())


def _config(stack: str, alerts: dict[str, Any]) -> Any:
    document = _stack_document(stack)
    document["config"]["inferstack:alerts"] = alerts
    return environment_from_config(document["config"], stack, f"stacks/Pulumi.{stack}.yaml")


def _blueprint(stack: str, alerts: dict[str, Any] | None = None) -> Any:
    config = load_environment(REPO / "stacks", stack) if alerts is None else _config(stack, alerts)
    return compile_blueprint(load_specs([REPO / "model_specs"]), config)


def test_every_model_alert_carries_the_route_label_alertmanager_matches() -> None:
    blueprint = _blueprint("prod")
    for deployment in blueprint.models:
        for alert in model_alerts(deployment, blueprint.config.serving.gateway_namespace):
            assert dict(alert.labels)["route"] == deployment.spec.monitoring.alert_route, alert.name


def test_without_credentials_the_destination_is_the_null_receiver_and_the_rule_says_so() -> None:
    """The old behaviour (chart default: null receiver) and a destination without a credential both fail."""
    assert alert_delivery_problems({}) and "null" in alert_delivery_problems({})[0]
    blueprint = _blueprint("prod", {"destination": "pagerduty:ml-platform"})
    routing = alert_routing(blueprint)
    assert routing.default is None
    assert ("pagerduty:ml-platform", "no credential: expected alerts.credentials.pagerduty:ml-platform as a Pulumi secret (secure:)") in routing.unwired
    labels = {d.spec.monitoring.alert_route for d in blueprint.models}
    problems = alert_delivery_problems(alertmanager_values(blueprint, "123456789012", None), labels)
    assert any("root route delivers to receiver 'null'" in problem for problem in problems), problems
    assert any("route=pagerduty:risk-oncall have no route" in problem for problem in problems), problems


def test_a_model_route_without_credential_is_flagged_though_the_destination_delivers() -> None:
    blueprint = _blueprint("prod", {"destination": "pagerduty:ml-platform", "credentials": {"pagerduty:ml-platform": {"secure": "v1:a2V5"}}})
    labels = {d.spec.monitoring.alert_route for d in blueprint.models}
    problems = alert_delivery_problems(alertmanager_values(blueprint, "123456789012", None), labels)
    assert sorted(p.split(" have no route")[0] for p in problems) == sorted(
        f"alerts labelled route={label}" for label in labels - {"pagerduty:ml-platform"}
    )


def test_shipped_prod_routes_each_model_route_to_its_receiver_with_credentials_as_files() -> None:
    blueprint = _blueprint("prod")
    routing = alert_routing(blueprint)
    assert routing.default is not None and routing.default.route == "pagerduty:ml-platform"
    routed = {receiver.route for receiver in routing.routes}
    assert routed == {d.spec.monitoring.alert_route for d in blueprint.models} - {"pagerduty:ml-platform"}
    values = alertmanager_values(blueprint, "123456789012", None)
    assert alert_delivery_problems(values, {d.spec.monitoring.alert_route for d in blueprint.models}) == []
    config = values["config"]
    assert config["route"]["receiver"] == "pagerduty-ml-platform"
    matchers = {m for route in config["route"]["routes"] for m in route["matchers"]}
    assert 'route = "slack:#vision-alerts"' in matchers and 'alertname = "Watchdog"' in matchers
    assert values["alertmanagerSpec"]["secrets"] == [ALERT_RECEIVERS_SECRET]
    text = json.dumps(values)
    for secret in secret_values(blueprint.config):
        assert secret not in text  # credentials never reach Helm values
    (pagerduty,) = [r for r in config["receivers"] if r["name"] == "pagerduty-risk-oncall"]
    assert pagerduty["pagerduty_configs"][0]["routing_key_file"] == f"/etc/alertmanager/secrets/{ALERT_RECEIVERS_SECRET}/pagerduty-risk-oncall"


def test_sns_routes_need_no_credential_and_email_routes_fall_back_to_the_destination() -> None:
    base = _blueprint("staging", {"destination": "sns:ml-platform-alerts"})
    assert base.config.alerts.destination == "sns:ml-platform-alerts"
    routing = alert_routing(base)
    assert routing.default is not None and routing.default.kind == "sns" and routing.default.credential is None
    assert routing.sns_topics == ("ml-platform-alerts",)
    (sns,) = [r for r in alertmanager_values(base, "123456789012", "arn:aws:iam::123456789012:role/am")["config"]["receivers"] if r.get("sns_configs")]
    region = base.config.region
    assert sns["sns_configs"][0]["topic_arn"] == f"arn:aws:sns:{region}:123456789012:ml-platform-alerts"
    assert sns["sns_configs"][0]["sigv4"] == {"region": region}
    email = _blueprint("staging", {"destination": "email:oncall@example.com"})
    assert alert_routing(email).default is None
    assert "SMTP" in alert_routing(email).unwired[0][1]


def test_receiver_credentials_are_accepted_only_as_pulumi_secrets(tmp_path: Path) -> None:
    document = _stack_document("prod")
    alerts = document["config"]["inferstack:alerts"]
    alerts["credentials"] = {"pagerduty:ml-platform": "plain-routing-key"}
    problems = plain_secret_problems(document["config"], "stacks/Pulumi.prod.yaml")
    assert [problem.path for problem in problems] == ["config.inferstack:alerts.credentials.pagerduty:ml-platform"]
    stacks = tmp_path / "stacks"
    stacks.mkdir()
    (stacks / "Pulumi.prod.yaml").write_text(yaml.safe_dump(document))
    with pytest.raises(InputError) as error:
        load_environment(stacks, "prod")
    assert "plain text" in str(error.value)
    alerts["credentials"] = {"pagerduty:ml-platform": {"secure": "v1:c2VjcmV0a2V5"}, "slack:#x": {"secure": "v1:x"}}
    alerts["credentials"]["slack:#x"] = {"secure": {"nested": 1}}
    with pytest.raises(InputError):
        environment_from_config(copy.deepcopy(document["config"]), "prod", "stacks/Pulumi.prod.yaml")
    alerts["credentials"] = {"pagerduty:ml-platform": {"secure": "v1:c2VjcmV0a2V5"}}
    config = environment_from_config(copy.deepcopy(document["config"]), "prod", "stacks/Pulumi.prod.yaml")
    assert "v1:c2VjcmV0a2V5" in secret_values(config)  # redacted wherever it reaches a plan


@cache
def _graph(stack: str, alerts_yaml: str = "") -> tuple[RecordedResource, ...]:
    root = Path(__file__).resolve().parents[1]
    if not alerts_yaml:
        return tuple(run_under_mocks(stack, root / "model_specs", root / "stacks", InferstackMocks(region="us-east-1")))
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="alert-routing-"))
    try:
        stacks = folder / "stacks"
        stacks.mkdir()
        document = _stack_document(stack)
        document["config"]["inferstack:alerts"] = yaml.safe_load(alerts_yaml)
        (stacks / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump(document))
        return tuple(run_under_mocks(stack, root / "model_specs", stacks, InferstackMocks(region="us-east-1")))
    finally:
        shutil.rmtree(folder)


def test_prod_plan_mounts_a_secret_of_pulumi_secrets_and_the_release_waits_for_it() -> None:
    records = _graph("prod")
    (release,) = [r for r in records if r.type == RELEASE and r.inputs["name"] == "kube-prometheus-stack"]
    (secret,) = [r for r in records if r.type == "kubernetes:core/v1:Secret" and r.inputs["metadata"]["name"] == ALERT_RECEIVERS_SECRET]
    assert secret.urn in release.dependencies
    assert release.inputs["values"]["alertmanager"]["alertmanagerSpec"]["secrets"] == [ALERT_RECEIVERS_SECRET]
    assert release.inputs["values"]["alertmanager"]["alertmanagerSpec"]["storage"]  # the encrypted volume stays
    written = json.dumps(redact_inputs(secret.type, secret.inputs))
    assert "REPLACE-WITH" not in written and "[secret]" in written
    assert not [r for r in records if r.type == "aws:iam/role:Role" and "alertmanager" in r.name]  # no SNS route: no role


def test_sns_route_gets_an_irsa_role_that_publishes_to_that_topic_only() -> None:
    records = _graph("staging", "destination: sns:ml-platform-alerts\nsns_email: oncall@example.com\n")
    (role,) = [r for r in records if r.type == "aws:iam/role:Role" and r.name.endswith("alertmanager-sns")]
    trust = json.loads(role.inputs["assumeRolePolicy"])
    condition = trust["Statement"][0]["Condition"]["StringEquals"]
    assert f"system:serviceaccount:monitoring:{ALERTMANAGER_SERVICE_ACCOUNT}" in condition.values()
    (policy,) = [r for r in records if r.type == "aws:iam/rolePolicy:RolePolicy" and r.name.endswith("alertmanager-sns-publish")]
    statement = json.loads(policy.inputs["policy"])["Statement"]
    assert statement == [
        {"Sid": "PublishAlerts", "Effect": "Allow", "Action": "sns:Publish", "Resource": [statement[0]["Resource"][0]]}
    ]
    assert statement[0]["Resource"][0].endswith(":ml-platform-alerts") and "*" not in statement[0]["Resource"][0]
    (release,) = [r for r in records if r.type == RELEASE and r.inputs["name"] == "kube-prometheus-stack"]
    account = release.inputs["values"]["alertmanager"]["serviceAccount"]
    assert account["name"] == ALERTMANAGER_SERVICE_ACCOUNT and "eks.amazonaws.com/role-arn" in account["annotations"]
    assert alert_delivery_problems(release.inputs["values"]["alertmanager"]) == []
