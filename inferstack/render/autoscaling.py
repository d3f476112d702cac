"""KEDA ScaledObjects: standard-mode models scale on a Prometheus query of their spec's metric.

Knative (serverless) models scale through the InferenceService's own
scaleMetric/scaleTarget instead and get no ScaledObject.
"""

from __future__ import annotations

from typing import Any

from inferstack.blueprint import Blueprint, ModelDeployment
from inferstack.constants import KEDA_API_VERSION, KSERVE_PREDICTOR_DEPLOYMENT_SUFFIX
from inferstack.render import promql
from inferstack.render.inference_service import ServingVariant, autoscaler_kind, isvc_name
from inferstack.render.labels import model_labels

POLLING_INTERVAL_S = 15
COOLDOWN_S = 300
"""Seconds without activity before KEDA scales a scale-to-zero model down to zero."""


def scaling_query(deployment: ModelDeployment, name: str) -> tuple[str, str]:
    """(PromQL, KEDA metricType) for the model's scaling metric.

    Additive signals (rps, concurrency) use AverageValue (target per replica);
    averages and quantiles (GPU utilisation, p95 latency) use Value.
    """
    metric = deployment.spec.scaling.metric
    namespace = deployment.namespace
    if metric == "rps":
        return promql.requests_per_second(namespace, name), "AverageValue"
    if metric == "concurrency":
        return promql.concurrency(namespace, name), "AverageValue"
    if metric == "gpu-utilization":
        return promql.gpu_utilization_percent(namespace, name), "Value"
    return promql.latency_p95_ms(namespace, name), "Value"


def needs_scaled_object(deployment: ModelDeployment) -> bool:
    """Whether the model scales through KEDA (standard mode)."""
    return autoscaler_kind(deployment) == "keda"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def render_scaled_object(
    deployment: ModelDeployment, blueprint: Blueprint, prometheus_url: str, variant: ServingVariant = ServingVariant()
) -> dict[str, Any]:
    """The ScaledObject that scales the predictor Deployment of one variant (standard mode only)."""
    if not needs_scaled_object(deployment):
        raise ValueError(f"{deployment.name} scales through Knative, not KEDA")
    scaling = deployment.spec.scaling
    name = isvc_name(deployment, variant)
    query, metric_type = scaling_query(deployment, name)
    minimum = scaling.min_replicas if scaling.scale_to_zero else max(1, scaling.min_replicas)
    trigger: dict[str, Any] = {
        "type": "prometheus",
        "metricType": metric_type,
        "metadata": {
            "serverAddress": prometheus_url,
            "query": query,
            "threshold": _number(scaling.target),
        },
    }
    if minimum == 0:
        # Wake from zero on any traffic (or GPU activity).
        trigger["metadata"]["activationThreshold"] = "0"
    spec: dict[str, Any] = {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": f"{name}{KSERVE_PREDICTOR_DEPLOYMENT_SUFFIX}"},
        "minReplicaCount": minimum,
        "maxReplicaCount": scaling.max_replicas,
        "pollingInterval": POLLING_INTERVAL_S,
        "cooldownPeriod": COOLDOWN_S,
        "triggers": [trigger],
        "advanced": {
            "horizontalPodAutoscalerConfig": {
                "behavior": {
                    # GPU replicas start slowly: scale down gently, at most one replica a minute.
                    "scaleDown": {
                        "stabilizationWindowSeconds": 300,
                        "policies": [{"type": "Pods", "value": 1, "periodSeconds": 60}],
                    }
                }
            }
        },
    }
    return {
        "apiVersion": KEDA_API_VERSION,
        "kind": "ScaledObject",
        "metadata": {
            "name": name,
            "namespace": deployment.namespace,
            "labels": model_labels(deployment, blueprint.environment),
        },
        "spec": spec,
    }

