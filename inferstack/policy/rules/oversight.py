"""Oversight rules: alerts that reach a person, a supported Kubernetes version, an audit trail on the model store,
and payload logging that respects the data's classification.

Each judges what the plan (or `pulumi up`) registers, so CrossGuard catches the same stacks the offline plan does.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from inferstack.policy.model import NotEvaluated, PolicyContext, PolicyResource, Rule, enforcement_by_env
from inferstack.policy.props import (
    AWS_EKS_CLUSTER,
    AWS_METRIC_ALARM,
    K8S_HELM_RELEASE,
    K8S_PROMETHEUS_RULE,
    as_list,
    as_mapping,
    get,
    is_unknown,
)

AWS_SNS_SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
ALERTMANAGER_CHART = "kube-prometheus-stack"
SECRETS_MOUNT = "/etc/alertmanager/secrets/"
"""Where the operator mounts `alertmanagerSpec.secrets` (kube-prometheus-stack 75.15.1 values.yaml)."""
SILENCED_ALERTS = frozenset({"Watchdog", "InfoInhibitor"})
"""kube-prometheus-stack's always-firing alerts; only their routes may end in a receiver without integrations."""
# Alertmanager v0.28.1 integrations (prometheus/alertmanager config/notifiers.go): the credential each one takes
# inline (which the pack refuses: Helm values are plain text in the release) and the file form it accepts instead.
INLINE_CREDENTIALS: Mapping[str, tuple[str, ...]] = {
    "pagerduty_configs": ("routing_key", "service_key"),
    "slack_configs": ("api_url",),
    "opsgenie_configs": ("api_key",),
    "victorops_configs": ("api_key",),
    "pushover_configs": ("user_key", "token"),
    "webhook_configs": ("url",),
    "telegram_configs": ("bot_token",),
    "discord_configs": ("webhook_url",),
    "msteams_configs": ("webhook_url",),
    "email_configs": ("auth_password",),
}
"""Integration -> fields that hold a credential inline."""
INTEGRATIONS = (*INLINE_CREDENTIALS, "sns_configs", "wechat_configs", "webex_configs", "msteamsv2_configs", "jira_configs")


def _alertmanager_release(resources: Sequence[PolicyResource]) -> PolicyResource | None:
    for resource in resources:
        if resource.type == K8S_HELM_RELEASE and str(get(resource.props, "chart") or "").endswith(ALERTMANAGER_CHART):
            return resource
    return None


def _route_tree(route: Mapping[str, Any], silenced: bool = False) -> Iterator[tuple[str, bool]]:
    """(receiver, whether the route only catches the silenced always-firing alerts) for a route and its children."""
    matchers = [str(matcher) for matcher in as_list(route.get("matchers"))]
    only_silenced = silenced or (
        bool(matchers) and all(any(f'"{name}"' in m or m.endswith(f"={name}") for name in SILENCED_ALERTS) for m in matchers)
    )
    if route.get("receiver"):
        yield str(route["receiver"]), only_silenced
    for child in as_list(route.get("routes")):
        if isinstance(child, Mapping):
            yield from _route_tree(child, only_silenced)


ROUTE_LABEL = "route"
"""The alert label naming a spec's alert_route (inferstack/render/monitoring.py, render/alert_routing.py)."""


def _routed_labels(route: Mapping[str, Any], receivers: Mapping[str, Mapping[str, Any]]) -> set[str]:
    """Values of the `route` label that a child route sends to a receiver with an integration."""
    found: set[str] = set()
    for child in as_list(route.get("routes")):
        if not isinstance(child, Mapping):
            continue
        receiver = receivers.get(str(child.get("receiver")), {})
        if any(as_list(receiver.get(kind)) for kind in INTEGRATIONS):
            for matcher in as_list(child.get("matchers")):
                label, _, value = str(matcher).partition("=")
                if label.strip() == ROUTE_LABEL and not value.startswith("~"):
                    found.add(value.strip().strip('"'))
        found |= _routed_labels(child, receivers)
    return found


def alert_route_labels(resources: Sequence[PolicyResource]) -> dict[str, str]:
    """`route` label value -> URN of a PrometheusRule whose alerts carry it."""
    labels: dict[str, str] = {}
    for resource in resources:
        if resource.type != K8S_PROMETHEUS_RULE:
            continue
        for group in as_list(get(resource.props, "spec", "groups")):
            for rule in as_list(get(group, "rules")):
                value = get(rule, "labels", ROUTE_LABEL)
                if isinstance(value, str) and value:
                    labels.setdefault(value, resource.urn)
    return labels


def alert_delivery_problems(alertmanager: Mapping[str, Any], route_labels: Iterable[str] = ()) -> list[str]:
    """What keeps alerts from reaching a person, judged on kube-prometheus-stack's `alertmanager` values.

    `route_labels` are the `route` label values the stack's alerts carry: each must have a child route to a
    receiver with an integration, or its alerts reach the default receiver instead of whom the spec names.
    """
    config = as_mapping(alertmanager.get("config"))
    if not config.get("route") or not config.get("receivers"):
        return ["alertmanager.config sets no route and receivers, so the chart's default sends every alert to its "
                "'null' receiver; expected the stack's alerts.destination wired as the root receiver"]
    problems: list[str] = []
    receivers = {str(get(r, "name")): as_mapping(r) for r in as_list(config.get("receivers"))}
    mounted = {str(name) for name in as_list(get(alertmanager, "alertmanagerSpec", "secrets"))}
    root = as_mapping(config.get("route"))
    for index, (name, silenced) in enumerate(_route_tree(root)):
        receiver = receivers.get(name)
        where = "the root route" if index == 0 else f"a route to '{name}'"
        if receiver is None:
            problems.append(f"{where} names receiver '{name}', which alertmanager.config does not define")
            continue
        if silenced:
            continue
        if not any(as_list(receiver.get(kind)) for kind in INTEGRATIONS):
            problems.append(
                f"{where} delivers to receiver '{name}', which has no integration (a null receiver); expected "
                "PagerDuty, Slack, Opsgenie or SNS with credentials from a Secret (alerts.destination, alerts.credentials)"
            )
    routed = _routed_labels(root, receivers)
    for label in sorted(set(route_labels) - routed):
        problems.append(
            f"alerts labelled route={label} have no route to a {label.split(':', 1)[0]} receiver, so they reach the "
            f"default receiver instead; expected alerts.credentials.{label} (a Pulumi secret) in the stack"
        )
    for name, receiver in sorted(receivers.items()):
        for kind, fields in INLINE_CREDENTIALS.items():
            for integration in as_list(receiver.get(kind)):
                for field in fields:
                    if get(integration, field):
                        problems.append(
                            f"receiver '{name}' holds its {kind[:-8]} {field} inline in the Helm values; expected "
                            f"{field}_file reading a mounted Secret"
                        )
                    path = str(get(integration, f"{field}_file") or "")
                    if path.startswith(SECRETS_MOUNT):
                        secret = path[len(SECRETS_MOUNT) :].split("/", 1)[0]
                        if secret not in mounted:
                            problems.append(
                                f"receiver '{name}' reads {field}_file from Secret '{secret}', which "
                                "alertmanager.alertmanagerSpec.secrets does not mount"
                            )
                    elif path:
                        problems.append(
                            f"receiver '{name}' reads {field}_file from {path}, outside {SECRETS_MOUNT}; expected a "
                            "Secret mounted through alertmanager.alertmanagerSpec.secrets"
                        )
    return problems


def check_alerts_have_subscriber(resources: Sequence[PolicyResource], ctx: PolicyContext) -> Iterable[tuple[str, str]]:
    """Alerts reach a person: Alertmanager's routes end in receivers with credentials, and alarm topics have subscribers."""
    release = _alertmanager_release(resources)
    if release is None:
        if "monitoring" in ctx.adopted:
            raise NotEvaluated("monitoring.create is false: the existing Alertmanager's routes are not in the plan")
        yield "", "no kube-prometheus-stack release: nothing routes the platform's alerts to a person"
    else:
        alertmanager = as_mapping(get(release.props, "values", "alertmanager"))
        if alertmanager.get("enabled") is False:
            yield release.urn, "alertmanager.enabled is false: alerts fire into nothing"
        else:
            for problem in alert_delivery_problems(alertmanager, alert_route_labels(resources)):
                yield release.urn, problem
    alarms = [r for r in resources if r.type == AWS_METRIC_ALARM and as_list(get(r.props, "alarmActions"))]
    subscriptions = [r for r in resources if r.type == AWS_SNS_SUBSCRIPTION]
    if alarms and not subscriptions:
        yield alarms[0].urn, (
            f"{len(alarms)} CloudWatch alarm(s) notify an SNS topic that nobody subscribes to; expected alerts.sns_email "
            "(or another subscription) on the alert topic"
        )


EOL_MESSAGE = "past EKS extended support"


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split(".") if part.isdigit())


def kubernetes_version_status(version: str, today: datetime.date) -> str | None:
    """Why `version` must not run on `today` (it left EKS extended support, or is older than every listed version)."""
    from inferstack.spec.kubernetes_calendar import EKS_CALENDAR

    window = EKS_CALENDAR.get(version)
    if window is not None:
        if today >= window.extended_until:
            return f"Kubernetes {version} is {EOL_MESSAGE} since {window.extended_until}: EKS upgrades it on its own schedule"
        return None
    oldest = min(EKS_CALENDAR.values(), key=lambda w: _version_key(w.version))
    if _version_key(version) < _version_key(oldest.version):
        return f"Kubernetes {version} is older than {oldest.version}, which is {EOL_MESSAGE} since {oldest.extended_until}"
    raise NotEvaluated(f"Kubernetes {version} is not in the EKS calendar (inferstack/spec/kubernetes_calendar.py)")


def check_kubernetes_supported(resource: PolicyResource, ctx: PolicyContext) -> Iterable[str]:
    """The cluster's Kubernetes version has not left EKS extended support on the plan date."""
    version = get(resource.props, "version")
    if not version or is_unknown(version):
        return
    from inferstack.spec.kubernetes_calendar import EKS_CALENDAR

    reason = kubernetes_version_status(str(version), datetime.date.fromisoformat(ctx.today))
    if reason:
        current = sorted(
            (w.version for w in EKS_CALENDAR.values() if w.released <= datetime.date.fromisoformat(ctx.today) < w.standard_until),
            key=_version_key,
        )
        yield f"{reason}; expected a version in standard support ({', '.join(current) or 'see the calendar'})"


AWS_CLOUDTRAIL = "aws:cloudtrail/trail:Trail"
AWS_S3_LOGGING = ("aws:s3/bucketLogging:BucketLogging", "aws:s3/bucketLoggingV2:BucketLoggingV2")


def _selector_covers(selector: Mapping[str, Any], bucket: str) -> bool:
    """Whether one advanced event selector records S3 object events of `bucket` (reads and writes, or either)."""
    fields = {str(get(field, "field")): as_mapping(field) for field in as_list(get(selector, "fieldSelectors"))}
    if as_list(get(fields.get("eventCategory", {}), "equals")) != ["Data"]:
        return False
    if "AWS::S3::Object" not in as_list(get(fields.get("resources.type", {}), "equals")):
        return False
    arn = fields.get("resources.ARN")
    if arn is None:
        return True  # every bucket
    wanted = f":s3:::{bucket}/"
    prefixes = [str(v) for key in ("startsWiths", "equals") for v in as_list(arn.get(key))]
    return any(wanted in prefix or prefix.endswith(":s3:::") for prefix in prefixes)


def trail_covers(trail: Mapping[str, Any], bucket: str) -> bool:
    """Whether a CloudTrail trail records object-level (data) events of `bucket`, by advanced or basic selectors."""
    if trail.get("enableLogging") is False:
        return False
    if any(_selector_covers(as_mapping(s), bucket) for s in as_list(trail.get("advancedEventSelectors"))):
        return True
    for selector in as_list(trail.get("eventSelectors")):
        for resource in as_list(get(selector, "dataResources")):
            if get(resource, "type") == "AWS::S3::Object":
                values = [str(v) for v in as_list(get(resource, "values"))]
                if any(v.endswith(":s3:::") or f":s3:::{bucket}/" in v or v.endswith(f":s3:::{bucket}") for v in values):
                    return True
    return False


def check_model_store_audited(resources: Sequence[PolicyResource], ctx: PolicyContext) -> Iterable[tuple[str, str]]:
    """The model store's object access is recorded: CloudTrail data events or S3 server access logs."""
    bucket = ctx.model_store_bucket
    if not bucket:
        return
    if "model_store" in ctx.adopted:
        raise NotEvaluated("model_store.create is false: the adopted bucket's trail or access logging is not in the plan")
    for resource in resources:
        if resource.type in AWS_S3_LOGGING and get(resource.props, "bucket") == bucket and get(resource.props, "targetBucket"):
            return
        if resource.type == AWS_CLOUDTRAIL and trail_covers(resource.props, bucket):
            return
    store = next((r for r in resources if r.type == "aws:s3/bucket:Bucket" and get(r.props, "bucket") == bucket), None)
    yield (store.urn if store else ""), (
        f"nothing records who reads or writes objects of the model store {bucket}: no CloudTrail trail with S3 data "
        "events for it and no server access logging; expected model_store.access_audit (on by default)"
    )


K8S_INFERENCE_SERVICE = "kubernetes:serving.kserve.io/v1beta1:InferenceService"
DATA_CLASSIFICATION_ANNOTATION = "inferstack.io/data-classification"
"""inferstack.constants.ANNOTATION_DATA_CLASSIFICATION (the spec's data.classification)."""


def check_pii_payload_logging(resource: PolicyResource, ctx: PolicyContext) -> Iterable[str]:
    """A model serving personal data never logs whole exchanges (KServe logger mode all, the default when unset)."""
    annotations = as_mapping(get(resource.props, "metadata", "annotations"))
    if annotations.get(DATA_CLASSIFICATION_ANNOTATION) != "pii":
        return
    for component in ("predictor", "transformer", "explainer"):
        logger = get(resource.props, "spec", component, "logger")
        if isinstance(logger, Mapping):
            mode = logger.get("mode") or "all"
            if mode == "all":
                yield (
                    f"{component}.logger mode {mode} keeps every request and response of a model classified pii; expected "
                    "mode request or response (data.payload_logging), or no logger"
                )


OVERSIGHT_RULES: tuple[Rule, ...] = (
    Rule(
        id="ISP-MON-001",
        name="alerts-have-subscriber",
        category="reliability",
        severity="high",
        description="Alerts reach a person: Alertmanager's root route and every other route end in a receiver with an "
        "integration (not the chart's null receiver), every `route` label the alert rules carry (a spec's alert_route) "
        "has a route to such a receiver, credentials come from a mounted Secret (`*_file`), never inline in Helm "
        "values, and CloudWatch alarms notify a topic with at least one subscription.",
        remediation="Set alerts.destination and its credential (alerts.credentials.<route> or alerts.slack_webhook, "
        "`secure:`) in the stack, and alerts.sns_email for the cloud-alarm topic.",
        docs_url="https://prometheus.io/docs/alerting/latest/configuration/#receiver",
        default_enforcement=enforcement_by_env("disabled", "advisory", "mandatory"),
        stack_check=check_alerts_have_subscriber,
    ),
    Rule(
        id="ISP-EKS-006",
        name="kubernetes-version-supported",
        category="security",
        severity="high",
        description="The EKS cluster's Kubernetes version has not left extended support on the plan date "
        "(inferstack/spec/kubernetes_calendar.py): an end-of-life control plane gets no security fixes.",
        remediation="Upgrade cluster.version to a version in standard support.",
        docs_url="https://docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html",
        default_enforcement=enforcement_by_env("mandatory", "mandatory", "mandatory"),
        resource_types=frozenset({AWS_EKS_CLUSTER}),
        resource_check=check_kubernetes_supported,
    ),
    Rule(
        id="ISP-S3-007",
        name="model-store-audited",
        category="security",
        severity="high",
        description="The model store's object access leaves an audit trail: a CloudTrail trail recording S3 data events "
        "for the bucket (advanced or basic event selectors), or S3 server access logging.",
        remediation="Keep model_store.access_audit on (the default); it adds a trail of the store's object reads and "
        "artifact writes into a KMS-encrypted audit bucket.",
        docs_url="https://docs.aws.amazon.com/AmazonS3/latest/userguide/cloudtrail-logging-s3-info.html",
        default_enforcement=enforcement_by_env("advisory", "advisory", "mandatory"),
        stack_check=check_model_store_audited,
    ),
    Rule(
        id="ISP-DATA-003",
        name="pii-payloads-not-logged-whole",
        category="security",
        severity="high",
        description="An InferenceService classified pii (annotation inferstack.io/data-classification, from the spec's "
        "data.classification) never logs whole exchanges: its payload logger is mode request or response, or absent "
        "(KServe v0.20.0 logger modes are all, request and response; all is the default).",
        remediation="Set data.payload_logging to request, response or none in the spec (spec validation refuses pii "
        "with all).",
        docs_url="https://kserve.github.io/website/latest/modelserving/logger/logger/",
        default_enforcement=enforcement_by_env("mandatory", "mandatory", "mandatory"),
        resource_types=frozenset({K8S_INFERENCE_SERVICE}),
        resource_check=check_pii_payload_logging,
    ),
)
