"""The Prometheus Pushgateway drift detectors push their figures to, and the ServiceMonitor that scrapes it.

Installed when a model watches drift and `inferstack:drift.pushgateway_url` names an in-cluster
Service (`http://<service>.<namespace>.svc[.cluster.local]:<port>`); its name and namespace come
from that URL, so the detectors and Prometheus meet at the same address. Facts from
prometheus/pushgateway v1.11.3 (Dockerfile: USER 65534, EXPOSE 9091; main.go: `--web.listen-address`
default :9091, `--web.telemetry-path` default /metrics, `--persistence.file` default "" = in memory,
so the root filesystem can stay read-only). Scraped with honorLabels, so each pushed series keeps its
own `model`/`feature` labels instead of the Pushgateway pod's.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from inferstack.blueprint import Blueprint
from inferstack.constants import LABEL_NODE_POOL, PROMETHEUS_OPERATOR_API_VERSION
from inferstack.render.labels import platform_labels

PUSHGATEWAY_IMAGE = "quay.io/prometheus/pushgateway:v1.11.3"
PUSHGATEWAY_PORT = 9091
APP_LABEL = "app.kubernetes.io/name"
APP = "pushgateway"
SYSTEM_POOL = "system"
"""The always-on node group (components/cluster.py) the Pushgateway runs on."""


def pushgateway_service(blueprint: Blueprint) -> tuple[str, str, int] | None:
    """(service, namespace, port) of the Pushgateway to install, or None when no model watches drift or the URL is not
    an in-cluster Service (then the stack runs its own)."""
    url = blueprint.config.drift.pushgateway_url
    if not url or not any(deployment.spec.monitoring.drift is not None for deployment in blueprint.models):
        return None
    parsed = urlparse(url)
    parts = (parsed.hostname or "").split(".")
    if len(parts) < 3 or parts[2] != "svc":
        return None
    return parts[0], parts[1], parsed.port or 80


def render_pushgateway(blueprint: Blueprint) -> list[dict[str, Any]]:
    """Deployment, Service and ServiceMonitor of the Pushgateway (empty when none is installed)."""
    found = pushgateway_service(blueprint)
    if found is None:
        return []
    service, namespace, port = found
    labels = platform_labels(blueprint.environment, blueprint.config.cost_center)
    selector = {APP_LABEL: APP, "app.kubernetes.io/instance": service}
    metadata = {"name": service, "namespace": namespace, "labels": {**labels, **selector}}
    container = {
        "name": APP,
        "image": PUSHGATEWAY_IMAGE,
        "args": [f"--web.listen-address=:{PUSHGATEWAY_PORT}"],
        "ports": [{"name": "http", "containerPort": PUSHGATEWAY_PORT, "protocol": "TCP"}],
        "readinessProbe": {"httpGet": {"path": "/-/ready", "port": PUSHGATEWAY_PORT}},
        "livenessProbe": {"httpGet": {"path": "/-/healthy", "port": PUSHGATEWAY_PORT}},
        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}},
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": 65534,
            "readOnlyRootFilesystem": True,
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
        },
    }
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata,
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": selector},
            "template": {
                "metadata": {"labels": {**labels, **selector}},
                "spec": {
                    "containers": [container],
                    "nodeSelector": {LABEL_NODE_POOL: SYSTEM_POOL},
                    "automountServiceAccountToken": False,
                    "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
                },
            },
        },
    }
    service_object = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata,
        "spec": {
            "selector": selector,
            "ports": [{"name": "http", "port": port, "targetPort": PUSHGATEWAY_PORT, "protocol": "TCP"}],
        },
    }
    monitor = {
        "apiVersion": PROMETHEUS_OPERATOR_API_VERSION,
        "kind": "ServiceMonitor",
        "metadata": {"name": service, "namespace": blueprint.config.monitoring.namespace, "labels": labels},
        "spec": {
            "namespaceSelector": {"matchNames": [namespace]},
            "selector": {"matchLabels": selector},
            "endpoints": [{"port": "http", "path": "/metrics", "interval": "30s", "honorLabels": True}],
        },
    }
    return [deployment, service_object, monitor]
