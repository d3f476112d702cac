"""The drift detector of one model, rendered: its IAM policy, ServiceAccount, job ConfigMap, CronJob and egress rule.

The detector runs `inferstack drift run --job /etc/inferstack/drift/job.json`
on the spec's schedule with its own IRSA role, which may only read the team's
payload logs and the model's reference profiles, write the model's reports and
release its trigger markers, use the store's key through S3, and deliver the
model's trigger (publish to its SNS topic, or put events on the default bus
with source inferstack.drift). Pods run non-root with a read-only root
filesystem, no privilege escalation, every capability dropped, and requests
equal to limits.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from inferstack.blueprint import Blueprint, ModelDeployment
from inferstack.constants import IRSA_ROLE_ARN_ANNOTATION, LABEL_MODEL
from inferstack.drift.job import DriftJob
from inferstack.drift.keys import EVENT_SOURCE, GITHUB_TOKEN_ENV, model_prefix, reports_prefix, retraining_topic_name, triggers_prefix
from inferstack.render.iam import POLICY_VERSION, PolicyDocument
from inferstack.render.labels import model_labels
from inferstack.render.payload_logging import payload_log_prefix
from inferstack.render.resources import cpu_quantity, memory_quantity
from inferstack.spec.drift import GithubDispatchTrigger

DRIFT_COMPONENT_LABEL = "app.kubernetes.io/component"
DRIFT_COMPONENT = "drift-detector"
JOB_MOUNT = "/etc/inferstack/drift"
JOB_FILE = "job.json"
SCRATCH_MOUNT = "/tmp"
RUN_AS_USER = 65532
"""The distroless `nonroot` user the detector image runs as (docker/drift/Dockerfile)."""
HTTPS_PORT = 443


def detector_name(deployment: ModelDeployment) -> str:
    """Name of the model's detector objects: drift-<model> (model names are at most 40 characters)."""
    return f"drift-{deployment.name}"


def needs_detector(deployment: ModelDeployment) -> bool:
    """Whether the model watches drift."""
    return deployment.spec.monitoring.drift is not None and deployment.spec.signature is not None


def drift_job(deployment: ModelDeployment, blueprint: Blueprint) -> DriftJob:
    """The job file the CronJob mounts."""
    return DriftJob.for_spec(deployment.spec, blueprint.config)


def drift_detector_policy(
    bucket_arn: str, team: str, model: str, kms_key_arn: str, region: str, account_id: str, trigger_kind: str, environment: str
) -> PolicyDocument:
    """Least privilege of one model's detector (see the module docstring); no wildcard action, no bucket-wide resource."""
    logs = payload_log_prefix(team)
    profiles = model_prefix(team, model)
    reports = reports_prefix(team, model)
    markers = triggers_prefix(team, model)
    statements: list[dict[str, Any]] = [
        {"Sid": "ReadTeamPayloadLogs", "Effect": "Allow", "Action": ["s3:GetObject"], "Resource": [f"{bucket_arn}/{logs}*"]},
        {
            "Sid": "ReadReferenceProfiles",
            "Effect": "Allow",
            "Action": ["s3:GetObject"],
            "Resource": [f"{bucket_arn}/{profiles}*/reference-profile.json"],
        },
        {
            "Sid": "ListLogsAndProfiles",
            "Effect": "Allow",
            "Action": ["s3:ListBucket"],
            "Resource": [bucket_arn],
            "Condition": {"StringLike": {"s3:prefix": [logs, f"{logs}*", profiles, f"{profiles}*"]}},
        },
        {"Sid": "WriteDriftReports", "Effect": "Allow", "Action": ["s3:PutObject"], "Resource": [f"{bucket_arn}/{reports}*"]},
        {"Sid": "ReleaseTriggerMarkers", "Effect": "Allow", "Action": ["s3:DeleteObject"], "Resource": [f"{bucket_arn}/{markers}*"]},
        {
            "Sid": "UseModelStoreKeyThroughS3",
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": [kms_key_arn],
            "Condition": {"StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"}},
        },
    ]
    if trigger_kind == "sns":
        statements.append(
            {
                "Sid": "PublishRetrainingTopic",
                "Effect": "Allow",
                "Action": ["sns:Publish"],
                "Resource": [f"arn:aws:sns:{region}:{account_id}:{retraining_topic_name(environment, model)}"],
            }
        )
    if trigger_kind == "eventbridge":
        statements.append(
            {
                "Sid": "PutRetrainingEvents",
                "Effect": "Allow",
                "Action": ["events:PutEvents"],
                "Resource": [f"arn:aws:events:{region}:{account_id}:event-bus/default"],
                "Condition": {"StringEquals": {"events:source": EVENT_SOURCE}},
            }
        )
    return {"Version": POLICY_VERSION, "Statement": statements}


def _labels(deployment: ModelDeployment, blueprint: Blueprint) -> dict[str, str]:
    return {**model_labels(deployment, blueprint.environment), DRIFT_COMPONENT_LABEL: DRIFT_COMPONENT}


def render_service_account(deployment: ModelDeployment, blueprint: Blueprint, role_arn: str) -> dict[str, Any]:
    """The detector's own ServiceAccount, bound to its IRSA role."""
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {
            "name": detector_name(deployment),
            "namespace": deployment.namespace,
            "labels": _labels(deployment, blueprint),
            "annotations": {IRSA_ROLE_ARN_ANNOTATION: role_arn},
        },
        "automountServiceAccountToken": False,
    }


def render_job_config_map(deployment: ModelDeployment, blueprint: Blueprint) -> dict[str, Any]:
    """The job file (model, version, store, signature, drift watch) as a ConfigMap."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": f"{detector_name(deployment)}-job", "namespace": deployment.namespace, "labels": _labels(deployment, blueprint)},
        "data": {JOB_FILE: drift_job(deployment, blueprint).model_dump_json(indent=2)},
    }


def render_cron_job(deployment: ModelDeployment, blueprint: Blueprint) -> dict[str, Any]:
    """The CronJob: the spec's schedule, one run at a time, non-root, read-only root filesystem, requests = limits."""
    drift = deployment.spec.monitoring.drift
    config = blueprint.config.drift
    assert drift is not None and config.image is not None, "compile checks that a drift model has a detector image"
    name = detector_name(deployment)
    labels = _labels(deployment, blueprint)
    resources = {"cpu": cpu_quantity(config.cpu), "memory": memory_quantity(config.memory_gib)}
    env: list[dict[str, Any]] = [{"name": "AWS_REGION", "value": blueprint.config.region}, {"name": "MPLCONFIGDIR", "value": SCRATCH_MOUNT}]
    if config.pushgateway_url:
        env.append({"name": "INFERSTACK_PUSHGATEWAY_URL", "value": config.pushgateway_url})
    if isinstance(drift.trigger, GithubDispatchTrigger):
        env.append(
            {"name": GITHUB_TOKEN_ENV, "valueFrom": {"secretKeyRef": {"name": drift.trigger.token_secret, "key": drift.trigger.token_key}}}
        )
    container = {
        "name": "detector",
        "image": config.image,
        "imagePullPolicy": "IfNotPresent",
        "args": ["drift", "run", "--job", f"{JOB_MOUNT}/{JOB_FILE}"],
        "env": env,
        "resources": {"requests": resources, "limits": resources},
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": RUN_AS_USER,
            "runAsGroup": RUN_AS_USER,
            "allowPrivilegeEscalation": False,
            "privileged": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "volumeMounts": [{"name": "job", "mountPath": JOB_MOUNT, "readOnly": True}, {"name": "scratch", "mountPath": SCRATCH_MOUNT}],
    }
    pod = {
        "metadata": {"labels": labels},
        "spec": {
            "serviceAccountName": name,
            "restartPolicy": "Never",
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": RUN_AS_USER,
                "runAsGroup": RUN_AS_USER,
                "fsGroup": RUN_AS_USER,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "containers": [container],
            "volumes": [
                {"name": "job", "configMap": {"name": f"{name}-job"}},
                {"name": "scratch", "emptyDir": {"sizeLimit": "256Mi"}},
            ],
        },
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": name, "namespace": deployment.namespace, "labels": labels},
        "spec": {
            "schedule": drift.schedule,
            "timeZone": "Etc/UTC",
            "concurrencyPolicy": "Forbid",
            "startingDeadlineSeconds": 300,
            "successfulJobsHistoryLimit": 3,
            "failedJobsHistoryLimit": 3,
            "jobTemplate": {
                "metadata": {"labels": labels},
                "spec": {"backoffLimit": 1, "activeDeadlineSeconds": config.deadline_minutes * 60, "ttlSecondsAfterFinished": 86_400, "template": pod},
            },
        },
    }


def render_egress_policy(deployment: ModelDeployment, blueprint: Blueprint) -> dict[str, Any] | None:
    """Lets the detector reach the Pushgateway (the team's default-deny policy only lets out DNS and HTTPS); None when not needed."""
    url = blueprint.config.drift.pushgateway_url
    if not url:
        return None
    parsed = urlparse(url)
    port = parsed.port or (HTTPS_PORT if parsed.scheme == "https" else 80)
    if port == HTTPS_PORT:
        return None
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": f"{detector_name(deployment)}-egress", "namespace": deployment.namespace, "labels": _labels(deployment, blueprint)},
        "spec": {
            "podSelector": {"matchLabels": {LABEL_MODEL: deployment.name, DRIFT_COMPONENT_LABEL: DRIFT_COMPONENT}},
            "policyTypes": ["Egress"],
            "egress": [{"to": [pushgateway_peer(parsed.hostname or "", blueprint)], "ports": [{"protocol": "TCP", "port": port}]}],
        },
    }


def pushgateway_peer(host: str, blueprint: Blueprint) -> dict[str, Any]:
    """Who the detector may reach on the Pushgateway's port: the namespace of an in-cluster Service
    (`<service>.<namespace>.svc[.cluster.local]`), else the VPC (egress never opens to the internet)."""
    parts = host.split(".")
    if len(parts) >= 3 and parts[2] == "svc":
        return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": parts[1]}}}
    return {"ipBlock": {"cidr": blueprint.config.network.vpc_cidr}}


def eventbridge_rule_pattern(deployment: ModelDeployment) -> dict[str, Any]:
    """The event pattern matching this model's retraining events on the default bus."""
    drift = deployment.spec.monitoring.drift
    detail_type = getattr(drift.trigger, "detail_type", "") if drift is not None else ""
    return {"source": [EVENT_SOURCE], "detail-type": [detail_type], "detail": {"model": [deployment.name]}}
