"""Who scales a model, and the KServe-native KEDA autoscaling of standard-mode InferenceServices.

Standard-mode InferenceServices carry the annotation
`serving.kserve.io/autoscalerClass: keda` and their scaling metric in
`spec.predictor.autoScaling.metrics` (one External metric: a Prometheus query
and a target). KServe (0.16) then creates and owns the KEDA ScaledObject of the
predictor Deployment, bounded by the predictor's minReplicas / maxReplicas; we
render no ScaledObject of our own. Knative (serverless) models scale through
the InferenceService's scaleMetric / scaleTarget instead.

KServe copies an External metric's `target.value` into the Prometheus
trigger's threshold and sets no trigger metricType, so KEDA's HPA always
compares the query as an AverageValue (desired replicas = ceil(query / value)),
whatever `target.type` says. Additive signals (rps, concurrency) fit that as
they are. Averages and quantiles (GPU utilisation, p95 latency) are meant as a
Value (desired = ceil(replicas x signal / target)), so their query is
multiplied by the number of ready predictor replicas: the same desired count.
The target is therefore always declared as AverageValue, with `averageValue`
(which KServe's webhook requires for that type) equal to `value` (which KServe
reads).
"""

from __future__ import annotations

from typing import Literal

from inferstack.blueprint import Blueprint, ModelDeployment
from inferstack.problems import InputError, Problem
from inferstack.render import promql
from inferstack.render.kserve_models import (
    KSERVE_CONFIGURATION,
    V1beta1AutoScalingSpec,
    V1beta1ExternalMetrics,
    V1beta1ExternalMetricSource,
    V1beta1MetricsSpec,
    V1beta1MetricTarget,
)

AutoscalerKind = Literal["knative", "keda"]
MetricType = Literal["Value", "AverageValue"]

KEDA_AUTOSCALER_CLASS = "keda"
"""KServe autoscaler class (annotation serving.kserve.io/autoscalerClass): KServe creates a KEDA ScaledObject."""
EXTERNAL_METRIC = "External"
PROMETHEUS_BACKEND = "prometheus"
AVERAGE_VALUE = "AverageValue"


def autoscaler_kind(deployment: ModelDeployment) -> AutoscalerKind:
    """Who scales the model: Knative's KPA (serverless, concurrency/rps) or KEDA through KServe (standard mode).

    KServe's HPA in standard mode only follows CPU or memory, none of the spec's metrics,
    so every standard-mode model scales through KEDA on a Prometheus query (which also
    allows scale to zero). Knative cannot follow GPU utilisation or latency.
    """
    metric = deployment.spec.scaling.metric
    if deployment.deployment_mode == "serverless":
        if metric not in ("concurrency", "rps"):
            raise InputError(
                [
                    Problem(
                        deployment.source,
                        "scaling.metric",
                        f"metric {metric} needs deployment_mode standard (KEDA on Prometheus); "
                        "expected concurrency or rps in serverless mode, or serving.deployment_mode: standard",
                    )
                ]
            )
        return "knative"
    return "keda"


def uses_keda(deployment: ModelDeployment) -> bool:
    """Whether the model scales through KEDA (standard mode): its InferenceServices carry autoScaling metrics."""
    return autoscaler_kind(deployment) == "keda"


ADDITIVE_SIGNALS = frozenset({"rps", "concurrency", "queue-depth"})
"""Signals that add up over replicas (target per replica, AverageValue); the others are averages or quantiles."""


def scaling_query(deployment: ModelDeployment, name: str) -> tuple[str, MetricType]:
    """(PromQL, how the HPA should compare it) for the scaling metric of the InferenceService `name`.

    The query reads the metrics of the model's runtime (runtime catalogue). Additive signals
    (rps, concurrency, queue depth) are AverageValue (target per replica); averages and
    quantiles (GPU utilisation, p95 latency, KV-cache use) are Value.
    """
    metric = deployment.spec.scaling.metric
    namespace = deployment.namespace
    queries = promql.runtime_queries(promql.model_runtime(deployment.spec), namespace, name)
    query: str | None
    if metric == "gpu-utilization":
        query = promql.gpu_utilization_percent(namespace, name)
    else:
        query = {
            "rps": queries.requests_per_second,
            "concurrency": queries.concurrency,
            "latency": queries.latency_p95_ms,
            "queue-depth": queries.queue_depth,
            "kv-cache": queries.kv_cache_percent,
        }[metric]()
    if query is None:  # the compiler refuses such specs; reaching here is a bug, not bad input
        raise ValueError(f"runtime {queries.entry.name} exports no {metric} signal for {deployment.name}")
    return query, "AverageValue" if metric in ADDITIVE_SIGNALS else "Value"


def ready_predictor_replicas(namespace: str, name: str) -> str:
    """Ready predictor pods of one InferenceService (kube-state-metrics)."""
    return f'sum(kube_pod_status_ready{{{promql.predictor_selector(namespace, name)},condition="true"}})'


def keda_query(deployment: ModelDeployment, name: str) -> str:
    """The query KEDA compares as an AverageValue: the scaling query, times ready replicas for a Value signal."""
    query, metric_type = scaling_query(deployment, name)
    if metric_type == "AverageValue":
        return query
    return f"({query}) * scalar({ready_predictor_replicas(deployment.namespace, name)})"


def target_quantity(value: float) -> str:
    """A Kubernetes quantity string for the spec's target (integral targets without a decimal point)."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def build_auto_scaling(deployment: ModelDeployment, blueprint: Blueprint, name: str) -> V1beta1AutoScalingSpec:
    """The predictor's autoScaling block: one External Prometheus metric KServe turns into a KEDA trigger."""
    from inferstack.render.monitoring import prometheus_url  # monitoring imports the InferenceService renderer

    threshold = target_quantity(deployment.spec.scaling.target)
    return V1beta1AutoScalingSpec(
        local_vars_configuration=KSERVE_CONFIGURATION,
        metrics=[
            V1beta1MetricsSpec(
                local_vars_configuration=KSERVE_CONFIGURATION,
                type=EXTERNAL_METRIC,
                external=V1beta1ExternalMetricSource(
                    local_vars_configuration=KSERVE_CONFIGURATION,
                    metric=V1beta1ExternalMetrics(
                        local_vars_configuration=KSERVE_CONFIGURATION,
                        backend=PROMETHEUS_BACKEND,
                        server_address=prometheus_url(blueprint),
                        query=keda_query(deployment, name),
                    ),
                    target=V1beta1MetricTarget(
                        local_vars_configuration=KSERVE_CONFIGURATION,
                        type=AVERAGE_VALUE,
                        value=threshold,
                        average_value=threshold,
                    ),
                ),
            )
        ],
    )
