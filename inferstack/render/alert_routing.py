"""Alert routing: the stack's destination and each model's `alert_route` as Alertmanager routes and receivers.

Every model alert carries the labels `team`, `model`, `severity` and `route` (the spec's
`monitoring.alert_route`, e.g. `pagerduty:risk-oncall`; render/monitoring.py model_alerts and
render/rollout_alerts.py). Alertmanager gets one child route per distinct `route` value that the stack
can deliver, matching `route="<value>"`; everything else (platform alerts, kube-prometheus-stack's own
rules, routes the stack holds no credential for) goes to the root route: the stack's
`alerts.destination`. The chart's Watchdog keeps its `null` receiver (it always fires, by design).

The configuration goes into kube-prometheus-stack's `alertmanager.config` values (75.15.1 values.yaml;
Helm merges maps and replaces lists, so `route` and `receivers` are given whole). No credential appears in
it: each receiver reads its key from a file of the `alertmanager-receivers` Secret, which
`alertmanager.alertmanagerSpec.secrets` mounts at /etc/alertmanager/secrets/<secret>/<key>. The `*_file`
fields are Alertmanager v0.28.1's (the image of chart 75.15.1; prometheus/alertmanager tag v0.28.1,
config/notifiers.go): PagerdutyConfig.routing_key_file, SlackConfig.api_url_file,
OpsGenieConfig.api_key_file. SNS receivers need no key: SNSConfig signs with sigv4 through the AWS default
credential chain, i.e. the IRSA role of Alertmanager's ServiceAccount, allowed `sns:Publish` on exactly
the topics the routes name (`sns:<topic>` = a topic of the stack's account and region).

The prometheus-operator `AlertmanagerConfig` CRD would be the other way in, but its schema is not in
../shared/reference/crds/prometheus-operator-v0.83.0, so nothing could check what we render offline.

Credentials come from the stack file, as Pulumi secrets only: `alerts.credentials.<route>` (`secure:`),
and `alerts.slack_webhook` for Slack routes without their own. Never from spec text: a spec names a
route, never a key. E-mail routes are not wired (Alertmanager needs an SMTP relay the stack does not
declare); their alerts reach the destination.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import SecretStr

from inferstack.blueprint import Blueprint
from inferstack.constants import PROMETHEUS_FULLNAME
from inferstack.spec.environment import AlertConfig

ALERT_RECEIVERS_SECRET = "alertmanager-receivers"
"""The Secret (monitoring namespace) holding one key per receiver credential."""
ALERTMANAGER_SECRETS_DIR = "/etc/alertmanager/secrets"
"""Where the operator mounts `alertmanagerSpec.secrets` (chart 75.15.1 values.yaml: mounted into /etc/alertmanager/secrets/)."""
ALERTMANAGER_SERVICE_ACCOUNT = f"{PROMETHEUS_FULLNAME}-alertmanager"
"""Alertmanager's ServiceAccount, named explicitly (`alertmanager.serviceAccount.name`) so its IRSA trust can pin it."""
NULL_RECEIVER = "null"
ROUTE_LABEL = "route"
"""The alert label holding the spec's alert_route (render/monitoring.py, render/rollout_alerts.py)."""
SILENCED_ALERTS = ("Watchdog", "InfoInhibitor")
"""kube-prometheus-stack's always-firing alerts, which its default configuration sends to the null receiver."""
SNS_TOPIC_NAME = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
"""An SNS topic name (CreateTopic: up to 256 letters, digits, hyphens and underscores)."""

ReceiverKind = Literal["slack", "pagerduty", "email", "opsgenie", "sns"]


@dataclass(frozen=True, slots=True)
class Receiver:
    """One Alertmanager receiver for one route (`kind:target`), with its credential (None for SNS: IRSA)."""

    route: str
    kind: ReceiverKind
    target: str
    name: str
    credential: SecretStr | None

    @property
    def secret_key(self) -> str | None:
        """The key of ALERT_RECEIVERS_SECRET that holds the credential (None when there is none to hold)."""
        return self.name if self.credential is not None else None


@dataclass(frozen=True, slots=True)
class AlertRouting:
    """What Alertmanager routes where: the default receiver, one receiver per other route, and routes left unwired."""

    default: Receiver | None
    routes: tuple[Receiver, ...]
    unwired: tuple[tuple[str, str], ...]
    """(route, why) for routes whose alerts fall back to the default receiver."""

    @property
    def receivers(self) -> tuple[Receiver, ...]:
        """Every wired receiver, the default first."""
        return ((self.default,) if self.default else ()) + self.routes

    @property
    def credentials(self) -> dict[str, SecretStr]:
        """Secret key -> credential, for ALERT_RECEIVERS_SECRET."""
        return {receiver.name: receiver.credential for receiver in self.receivers if receiver.credential is not None}

    @property
    def sns_topics(self) -> tuple[str, ...]:
        """Names of the SNS topics Alertmanager publishes to (its IRSA role may publish to exactly these)."""
        return tuple(sorted({receiver.target for receiver in self.receivers if receiver.kind == "sns"}))


def receiver_name(route: str) -> str:
    """A receiver (and Secret key) name for a route: lower-case letters, digits and dashes (`slack:#a` -> `slack-a`)."""
    return re.sub(r"-{2,}", "-", re.sub(r"[^a-z0-9]+", "-", route.lower())).strip("-")[:200]


def _receiver(route: str, alerts: AlertConfig, name: str) -> tuple[Receiver | None, str]:
    """The receiver of `route`, or None and why it cannot be delivered."""
    kind, _, target = route.partition(":")
    if kind == "email":
        return None, "e-mail needs an SMTP relay, which the stack does not declare"
    if kind == "sns":
        if not SNS_TOPIC_NAME.match(target):
            return None, f"'{target}' is not an SNS topic name (letters, digits, - and _, up to 256)"
        return Receiver(route, "sns", target, name, None), ""
    credential = alerts.credentials.get(route)
    if credential is None and kind == "slack":
        credential = alerts.slack_webhook
    if credential is None:
        return None, f"no credential: expected alerts.credentials.{route} as a Pulumi secret (secure:)"
    return Receiver(route, kind, target, name, credential), ""  # type: ignore[arg-type]


def alert_routing(blueprint: Blueprint) -> AlertRouting:
    """The stack's destination as the default receiver and every deployed model's alert_route as a child route."""
    alerts = blueprint.config.alerts
    names: dict[str, str] = {}

    def unique_name(route: str) -> str:
        base = receiver_name(route) or "route"
        name, index = base, 2
        while name in names.values() or name == NULL_RECEIVER:
            name, index = f"{base}-{index}", index + 1
        names[route] = name
        return name

    default, why_default = _receiver(alerts.destination, alerts, unique_name(alerts.destination))
    unwired: list[tuple[str, str]] = [] if default else [(alerts.destination, why_default)]
    routes: list[Receiver] = []
    for route in sorted({deployment.spec.monitoring.alert_route for deployment in blueprint.models}):
        if route == alerts.destination:
            continue  # the root route delivers it
        receiver, why = _receiver(route, alerts, unique_name(route))
        if receiver is None:
            unwired.append((route, why))
        else:
            routes.append(receiver)
    return AlertRouting(default, tuple(routes), tuple(unwired))


def sns_topic_arn(topic: str, region: str, account_id: str) -> str:
    """The ARN of an SNS topic of the stack's account and region."""
    partition = "aws-us-gov" if "-gov-" in region else "aws-cn" if region.startswith("cn-") else "aws"
    return f"arn:{partition}:sns:{region}:{account_id}:{topic}"


def _secret_file(key: str) -> str:
    return f"{ALERTMANAGER_SECRETS_DIR}/{ALERT_RECEIVERS_SECRET}/{key}"


def _matcher(label: str, value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'{label} = "{escaped}"'


def receiver_config(receiver: Receiver, region: str, account_id: str) -> dict[str, Any]:
    """One entry of Alertmanager's `receivers` (credentials as files of the mounted Secret, never inline)."""
    config: dict[str, Any] = {"name": receiver.name}
    key = receiver.secret_key
    if receiver.kind == "pagerduty" and key:
        config["pagerduty_configs"] = [
            {
                "routing_key_file": _secret_file(key),
                "send_resolved": True,
                # PagerDuty Events v2 severities are critical/error/warning/info; ours are critical/warning/info.
                "severity": '{{ if .CommonLabels.severity }}{{ .CommonLabels.severity }}{{ else }}error{{ end }}',
                "description": '{{ .CommonLabels.alertname }}: {{ .CommonAnnotations.summary }}',
            }
        ]
    elif receiver.kind == "slack" and key:
        config["slack_configs"] = [
            {
                "api_url_file": _secret_file(key),
                "channel": receiver.target,
                "send_resolved": True,
                "title": '[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }}',
                "text": '{{ .CommonAnnotations.summary }} (runbook: {{ .CommonAnnotations.runbook_url }})',
            }
        ]
    elif receiver.kind == "opsgenie" and key:
        config["opsgenie_configs"] = [
            {
                "api_key_file": _secret_file(key),
                "send_resolved": True,
                "responders": [{"name": receiver.target, "type": "team"}],
                "message": '{{ .CommonLabels.alertname }}: {{ .CommonAnnotations.summary }}',
            }
        ]
    elif receiver.kind == "sns":
        config["sns_configs"] = [
            {
                "topic_arn": sns_topic_arn(receiver.target, region, account_id),
                "sigv4": {"region": region},
                "send_resolved": True,
                "subject": '[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }}',
            }
        ]
    return config


def alertmanager_config(blueprint: Blueprint, account_id: str) -> dict[str, Any]:
    """kube-prometheus-stack's `alertmanager.config`: the route tree and receivers of `alert_routing`."""
    routing = alert_routing(blueprint)
    region = blueprint.config.region
    silenced = [{"receiver": NULL_RECEIVER, "matchers": [_matcher("alertname", name)]} for name in SILENCED_ALERTS]
    # The destination's own route label gets an explicit child route too, so every route label that is delivered
    # as addressed has a matching route (what alerts-have-subscriber checks); unwired labels fall to the root.
    model_routes = [
        {"receiver": receiver.name, "matchers": [_matcher(ROUTE_LABEL, receiver.route)], "continue": False}
        for receiver in ((routing.default,) if routing.default else ()) + routing.routes
    ]
    return {
        "route": {
            "receiver": routing.default.name if routing.default else NULL_RECEIVER,
            "group_by": ["alertname", "team", "model"],
            "group_wait": "30s",
            "group_interval": "5m",
            "repeat_interval": "4h" if blueprint.environment == "prod" else "12h",
            "routes": silenced + model_routes,
        },
        "receivers": [{"name": NULL_RECEIVER}] + [receiver_config(r, region, account_id) for r in routing.receivers],
    }


def alertmanager_values(blueprint: Blueprint, account_id: str, sns_role_arn: str | None) -> dict[str, Any]:
    """kube-prometheus-stack's `alertmanager` values: config, the credentials Secret mounted, the IRSA ServiceAccount."""
    routing = alert_routing(blueprint)
    service_account: dict[str, Any] = {"create": True, "name": ALERTMANAGER_SERVICE_ACCOUNT}
    if sns_role_arn:
        service_account["annotations"] = {"eks.amazonaws.com/role-arn": sns_role_arn}
    return {
        "config": alertmanager_config(blueprint, account_id),
        "serviceAccount": service_account,
        "alertmanagerSpec": {"secrets": [ALERT_RECEIVERS_SECRET] if routing.credentials else []},
    }


def sns_publish_policy(topic_arns: list[str]) -> dict[str, Any]:
    """Alertmanager's IRSA policy: publish to exactly the routed topics, nothing else."""
    return {
        "Version": "2012-10-17",
        "Statement": [{"Sid": "PublishAlerts", "Effect": "Allow", "Action": "sns:Publish", "Resource": sorted(topic_arns)}],
    }
