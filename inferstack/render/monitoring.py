"""Monitoring objects: PodMonitors, the DCGM ServiceMonitor, PrometheusRules and Grafana dashboard ConfigMaps.

Alerts and monitors are rendered per team (one PrometheusRule holds every
model's alerts), not per model, to keep the resource count small. Every alert
carries `summary` and `runbook_url` annotations.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

from inferstack.blueprint import Blueprint, ModelDeployment, TeamPlan
from inferstack.constants import (
    GRAFANA_DASHBOARD_LABEL,
    KSERVE_ISVC_POD_LABEL,
    LABEL_CAPACITY_TYPE,
    LABEL_MODEL,
    LABEL_NODE_POOL,
    LABEL_RUNTIME,
    LABEL_TEAM,
    PLATFORM_RUNBOOK_BASE_URL,
    PROMETHEUS_FULLNAME,
    PROMETHEUS_OPERATOR_API_VERSION,
)
from inferstack.render import promql
from inferstack.render.inference_service import isvc_name
from inferstack.render.labels import platform_labels, team_labels
from inferstack.render.team import team_models
from inferstack.runtimes import RUNTIMES, RuntimeEntry
from inferstack.runtimes.catalogue import ISTIO_GATEWAY
from inferstack.spec.drift import DriftSpec

TEMPLATES = Path(__file__).parent / "templates"
GPU_MEMORY_PRESSURE_RATIO = 0.9
IDLE_GPU_PERCENT = 5
DCGM_EXPORTER_NAMESPACE = "gpu-operator"
DCGM_EXPORTER_APP_LABEL = "dcgm-exporter"


@dataclass(frozen=True, slots=True)
class Alert:
    """One Prometheus alerting rule."""

    name: str
    expr: str
    duration: str
    severity: str
    summary: str
    runbook_url: str
    labels: tuple[tuple[str, str], ...] = ()

    def rule(self) -> dict[str, Any]:
        """The rule as PrometheusRule YAML expects it."""
        return {
            "alert": self.name,
            "expr": self.expr,
            "for": self.duration,
            "labels": {"severity": self.severity, **dict(self.labels)},
            "annotations": {"summary": self.summary, "runbook_url": self.runbook_url},
        }


def prometheus_url(blueprint: Blueprint) -> str:
    """In-cluster address of Prometheus (kube-prometheus-stack with fullnameOverride)."""
    return f"http://{PROMETHEUS_FULLNAME}-prometheus.{blueprint.config.monitoring.namespace}.svc:9090"


BURN_RATE_TIERS: tuple[tuple[str, str, float, str, bool], ...] = (
    ("1h", "5m", 14.4, "2m", True),
    ("6h", "30m", 6.0, "15m", True),
    ("3d", "6h", 1.0, "1h", False),
)
"""Multi-window, multi-burn-rate tiers (long window, short window, burn rate, for, pages) as the Google SRE
workbook recommends ("Alerting on SLOs", multiwindow multi-burn-rate): 2% of a 30-day budget spent in 1h or
5% in 6h pages; 10% in 3 days opens a ticket. The short window (1/12 of the long) stops the alert soon after
the burn stops; `for:` only smooths a scrape gap."""
LATENCY_SLO_QUANTILE = 0.95
"""The latency objective is a p95: 5% of requests may be slower than the threshold (the latency error budget)."""


def _slo_alerts(deployment: ModelDeployment, queries: promql.RuntimeQueries, labels: tuple[tuple[str, str], ...]) -> list[Alert]:
    """The p95 latency and error-rate SLO alerts (threshold form) of what the runtime exports."""
    spec = deployment.spec
    severity = "critical" if spec.registry.stage == "prod" else "warning"
    alerts: list[Alert] = []
    latency = queries.latency_p95_ms("5m")
    if latency is not None:
        alerts.append(
            Alert(
                name="ModelLatencySLOBreached",
                expr=f"{latency} > {spec.monitoring.latency_p95_ms:g}",
                duration="10m",
                severity=severity,
                summary=f"{spec.name}: p95 latency above {spec.monitoring.latency_p95_ms:g} ms for 10 minutes",
                runbook_url=spec.monitoring.runbook_url,
                labels=labels,
            )
        )
    errors = queries.error_ratio("5m")
    if errors is not None:
        alerts.append(
            Alert(
                name="ModelErrorRateSLOBreached",
                expr=f"{errors} > {spec.monitoring.error_rate_percent / 100:g}",
                duration="10m",
                severity=severity,
                summary=f"{spec.name}: error rate above {spec.monitoring.error_rate_percent:g}% for 10 minutes",
                runbook_url=spec.monitoring.runbook_url,
                labels=labels,
            )
        )
    return alerts


def burn_rate_alerts(
    deployment: ModelDeployment, queries: promql.RuntimeQueries, labels: tuple[tuple[str, str], ...]
) -> list[Alert]:
    """Multi-window burn-rate alerts of the error SLO and the latency SLO, where the runtime exports their SLI.

    Error SLI: failed / all requests, budget = error_rate_percent. Latency SLI: requests slower
    than the histogram bucket at the p95 objective, budget = 5%. An alert fires when both its
    long and its short window burn the budget faster than the tier's rate.
    """
    spec = deployment.spec
    page_severity = "critical" if spec.registry.stage == "prod" else "warning"
    alerts: list[Alert] = []
    error_budget = spec.monitoring.error_rate_percent / 100
    bound = queries.latency_bucket(spec.monitoring.latency_p95_ms)
    histogram = queries.entry.metrics.latency_histogram
    for long_window, short_window, rate, duration, pages in BURN_RATE_TIERS:
        severity = page_severity if pages else "info" if page_severity == "warning" else "warning"
        tier = (*labels, ("long_window", long_window), ("short_window", short_window))
        long_errors, short_errors = queries.error_ratio(long_window), queries.error_ratio(short_window)
        if long_errors is not None and short_errors is not None:
            threshold = rate * error_budget
            alerts.append(
                Alert(
                    name="ModelErrorBudgetBurn",
                    expr=f"{long_errors} > {threshold:g} and {short_errors} > {threshold:g}",
                    duration=duration,
                    severity=severity,
                    summary=f"{spec.name}: errors burn the {spec.monitoring.error_rate_percent:g}% budget {rate:g}x too fast "
                    f"over {long_window} and {short_window}",
                    runbook_url=spec.monitoring.runbook_url,
                    labels=tier,
                )
            )
        long_slow = queries.slow_ratio(spec.monitoring.latency_p95_ms, long_window)
        short_slow = queries.slow_ratio(spec.monitoring.latency_p95_ms, short_window)
        if long_slow is not None and short_slow is not None and bound is not None and histogram is not None:
            threshold = rate * (1 - LATENCY_SLO_QUANTILE)
            bucket_ms = bound * histogram.seconds_per_unit * 1000
            alerts.append(
                Alert(
                    name="ModelLatencyBudgetBurn",
                    expr=f"{long_slow} > {threshold:g} and {short_slow} > {threshold:g}",
                    duration=duration,
                    severity=severity,
                    summary=f"{spec.name}: requests slower than {bucket_ms:g} ms (the histogram bucket at the "
                    f"{spec.monitoring.latency_p95_ms:g} ms p95 objective) burn the 5% budget {rate:g}x too fast "
                    f"over {long_window} and {short_window}",
                    runbook_url=spec.monitoring.runbook_url,
                    labels=tier,
                )
            )
    return alerts


def model_queries(deployment: ModelDeployment, gateway_namespace: str) -> promql.RuntimeQueries:
    """The queries of the model's primary InferenceService: its runtime's metrics, and the Gateway's for a missing error SLI."""
    return promql.runtime_queries(
        promql.model_runtime(deployment.spec), deployment.namespace, isvc_name(deployment), gateway_namespace, deployment.deployment_mode
    )


def model_alerts(deployment: ModelDeployment, gateway_namespace: str) -> list[Alert]:
    """SLO (threshold and burn-rate), GPU and drift alerts of one model, on the metrics its runtime exports.

    Where the runtime exports no error counter, the error SLO reads the shared Gateway's 5xx
    (`gateway_namespace`: where its Envoy pods run and the Gateway PodMonitor scrapes them).
    """
    spec = deployment.spec
    name = isvc_name(deployment)
    namespace = deployment.namespace
    runbook = spec.monitoring.runbook_url
    route = spec.monitoring.alert_route
    labels = (("team", spec.team), ("model", spec.name), ("route", route))
    queries = model_queries(deployment, gateway_namespace)
    alerts = _slo_alerts(deployment, queries, labels) + burn_rate_alerts(deployment, queries, labels)
    if spec.accelerator.gpu_type != "none":
        alerts.append(
            Alert(
                name="ModelGpuMemoryPressure",
                expr=f"{promql.gpu_memory_ratio(namespace, name)} > {GPU_MEMORY_PRESSURE_RATIO}",
                duration="15m",
                severity="warning",
                summary=f"{spec.name}: a GPU is over {GPU_MEMORY_PRESSURE_RATIO:.0%} of its memory for 15 minutes",
                runbook_url=runbook,
                labels=labels,
            )
        )
        alerts.append(
            Alert(
                name="ModelGpuIdle",
                expr=f"{promql.gpu_utilization_percent(namespace, name)} < {IDLE_GPU_PERCENT}",
                duration="1h",
                severity="info",
                summary=f"{spec.name}: GPUs under {IDLE_GPU_PERCENT}% busy for an hour; consider fewer replicas or sharing",
                runbook_url=runbook,
                labels=labels,
            )
        )
    if spec.monitoring.drift is not None:
        alerts.extend(drift_alerts(spec.name, spec.monitoring.drift, runbook, labels))
    return alerts


DRIFT_STALE_WINDOWS = 3
"""The detector-stale alert fires after this many windows without a finished run."""


def drift_alerts(model: str, drift: DriftSpec, runbook: str, labels: tuple[tuple[str, str], ...]) -> list[Alert]:
    """Warn and page on the detector's drift levels, and an alert when the detector stops reporting."""
    numeric_warn, numeric_page = drift.numeric.thresholds
    categorical_warn, categorical_page = drift.categorical.thresholds
    thresholds = (
        f"{drift.numeric.statistic} {numeric_warn:g}/{numeric_page:g} (numeric), "
        f"{drift.categorical.statistic} {categorical_warn:g}/{categorical_page:g} (categorical)"
    )
    window = drift.window_minutes
    return [
        Alert(
            name="ModelFeatureDrift",
            expr=f"{promql.drift_level(model)} >= 1",
            duration="0m",
            severity="warning",
            summary=f"{model}: a watched feature or the predictions drifted past the warn threshold over {window} minutes "
            f"(warn/page: {thresholds})",
            runbook_url=runbook,
            labels=labels,
        ),
        Alert(
            name="ModelFeatureDriftPage",
            expr=f"{promql.drift_level(model)} >= 2",
            duration="0m",
            severity="critical",
            summary=f"{model}: drift past the page threshold over {window} minutes; the retraining trigger "
            f"({drift.trigger.kind}) fires once per window",
            runbook_url=runbook,
            labels=labels,
        ),
        Alert(
            name="ModelDriftDetectorStale",
            expr=f"{promql.drift_staleness_seconds(model)} > {DRIFT_STALE_WINDOWS * window * 60}",
            duration="0m",
            severity="warning",
            summary=f"{model}: the drift detector has not finished a run for {DRIFT_STALE_WINDOWS} windows ({DRIFT_STALE_WINDOWS * window} minutes)",
            runbook_url=runbook,
            labels=labels,
        ),
    ]


def platform_alerts(blueprint: Blueprint) -> list[Alert]:
    """Alerts on the GPU fleet itself: spot interruptions and GPU nodes that are not ready."""
    pool_label = f"label_{LABEL_NODE_POOL.replace('.', '_').replace('/', '_').replace('-', '_')}"
    capacity_label = f"label_{LABEL_CAPACITY_TYPE.replace('.', '_').replace('/', '_').replace('-', '_')}"
    now = f'count by ({pool_label}) (kube_node_labels{{{capacity_label}="spot"}})'
    before = f'count by ({pool_label}) (kube_node_labels{{{capacity_label}="spot"}} offset 10m)'
    return [
        Alert(
            name="SpotNodeInterrupted",
            expr=f"({before} - {now}) > 0 or ({before} unless {now})",
            duration="0m",
            severity="warning",
            summary="Spot GPU nodes of a pool disappeared in the last 10 minutes (likely a spot interruption)",
            runbook_url=f"{PLATFORM_RUNBOOK_BASE_URL}/spot-interruption.md",
        ),
        Alert(
            name="SpotInterruptionNotice",
            expr='sum(kube_node_spec_taint{key="aws-node-termination-handler/spot-itn"}) > 0',
            duration="0m",
            severity="warning",
            summary="A spot node received a two-minute interruption notice and is draining",
            runbook_url=f"{PLATFORM_RUNBOOK_BASE_URL}/spot-interruption.md",
        ),
        Alert(
            name="GpuNodeNotReady",
            expr=f'sum by (node) (kube_node_status_condition{{condition="Ready",status!="true"}} * on (node) group_left({pool_label}) kube_node_labels{{{pool_label}!=""}}) > 0',
            duration="10m",
            severity="critical" if blueprint.environment == "prod" else "warning",
            summary="A node of an inferstack node pool has not been Ready for 10 minutes",
            runbook_url=f"{PLATFORM_RUNBOOK_BASE_URL}/node-not-ready.md",
        ),
    ]


def render_team_rules(team: TeamPlan, blueprint: Blueprint) -> dict[str, Any]:
    """One PrometheusRule with every alert of the team's models."""
    groups = [
        {"name": f"{deployment.name}.rules", "rules": [alert.rule() for alert in model_alerts(deployment, blueprint.config.serving.gateway_namespace)]}
        for deployment in team_models(team, blueprint)
    ]
    return {
        "apiVersion": PROMETHEUS_OPERATOR_API_VERSION,
        "kind": "PrometheusRule",
        "metadata": {"name": f"{team.name}-models", "namespace": team.namespace, "labels": team_labels(team, blueprint.environment)},
        "spec": {"groups": groups},
    }


def render_platform_rules(blueprint: Blueprint) -> dict[str, Any]:
    """The platform's PrometheusRule (GPU fleet alerts)."""
    return {
        "apiVersion": PROMETHEUS_OPERATOR_API_VERSION,
        "kind": "PrometheusRule",
        "metadata": {
            "name": "inferstack-platform",
            "namespace": blueprint.config.monitoring.namespace,
            "labels": platform_labels(blueprint.environment, blueprint.config.cost_center),
        },
        "spec": {"groups": [{"name": "inferstack-platform.rules", "rules": [alert.rule() for alert in platform_alerts(blueprint)]}]},
    }


def _pod_label_source(key: str) -> str:
    """The relabeling source label of a pod label (Prometheus sanitises '.', '/', '-' to '_')."""
    return "__meta_kubernetes_pod_label_" + "".join(character if character.isalnum() else "_" for character in key)


def team_runtimes(team: TeamPlan, blueprint: Blueprint) -> list[RuntimeEntry]:
    """The runtimes the team's models run on, in catalogue order."""
    used = {promql.model_runtime(deployment.spec).name for deployment in team_models(team, blueprint)}
    return [entry for entry in RUNTIMES if entry.name in used]


def render_team_pod_monitor(team: TeamPlan, blueprint: Blueprint) -> dict[str, Any]:
    """Scrape every predictor pod of the team on its runtime's metrics port and path (runtime catalogue).

    One endpoint per runtime the team uses; each keeps only pods labelled with that runtime
    (the InferenceService carries LABEL_RUNTIME and KServe copies it onto the predictor pods).
    """
    endpoints = [
        {
            "portNumber": entry.metrics_port,
            "path": entry.metrics_path,
            "interval": "30s",
            "relabelings": [
                {"action": "keep", "sourceLabels": [_pod_label_source(LABEL_RUNTIME)], "regex": entry.name},
            ],
        }
        for entry in team_runtimes(team, blueprint)
    ]
    return {
        "apiVersion": PROMETHEUS_OPERATOR_API_VERSION,
        "kind": "PodMonitor",
        "metadata": {"name": f"{team.name}-predictors", "namespace": team.namespace, "labels": team_labels(team, blueprint.environment)},
        "spec": {
            "selector": {"matchExpressions": [{"key": KSERVE_ISVC_POD_LABEL, "operator": "Exists"}]},
            "podMetricsEndpoints": endpoints,
        },
    }


def render_gateway_pod_monitor(blueprint: Blueprint) -> dict[str, Any]:
    """Scrape the shared Gateway's Envoy pods (Istio standard metrics): the error SLI of runtimes without an error counter.

    Pods and port from the runtime catalogue's `ISTIO_GATEWAY` (istio/istio 1.30.3
    manifests/charts/istio-control/istio-discovery/files/kube-gateway.yaml: Istio's automated Gateway
    deployment labels its pods with the Gateway's name and serves Envoy's stats on 15090 http-envoy-prom).
    """
    serving = blueprint.config.serving
    return {
        "apiVersion": PROMETHEUS_OPERATOR_API_VERSION,
        "kind": "PodMonitor",
        "metadata": {
            "name": f"{serving.gateway_name}-envoy",
            "namespace": serving.gateway_namespace,
            "labels": platform_labels(blueprint.environment, blueprint.config.cost_center),
        },
        "spec": {
            "selector": {"matchLabels": {ISTIO_GATEWAY.pod_label: serving.gateway_name}},
            "podMetricsEndpoints": [
                {
                    "port": ISTIO_GATEWAY.port_name,
                    "path": ISTIO_GATEWAY.path,
                    "interval": "30s",
                    # Only the standard request metrics: Envoy's own stats are many and unused here.
                    "metricRelabelings": [
                        {"action": "keep", "sourceLabels": ["__name__"], "regex": "|".join(sorted(ISTIO_GATEWAY.names()))}
                    ],
                }
            ],
        },
    }


def render_dcgm_service_monitor(blueprint: Blueprint) -> dict[str, Any]:
    """Scrape the DCGM exporter, keeping the workload's namespace/pod labels (honorLabels)."""
    return {
        "apiVersion": PROMETHEUS_OPERATOR_API_VERSION,
        "kind": "ServiceMonitor",
        "metadata": {
            "name": "dcgm-exporter",
            "namespace": blueprint.config.monitoring.namespace,
            "labels": platform_labels(blueprint.environment, blueprint.config.cost_center),
        },
        "spec": {
            "namespaceSelector": {"matchNames": [DCGM_EXPORTER_NAMESPACE]},
            "selector": {"matchLabels": {"app.kubernetes.io/name": DCGM_EXPORTER_APP_LABEL}},
            "endpoints": [{"port": "metrics", "path": "/metrics", "interval": "15s", "honorLabels": True}],
        },
    }


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
    )


def render_dashboard_json(template: str, **context: Any) -> str:
    """A Grafana dashboard from a jinja2 template, checked to be valid JSON and returned compactly."""
    text = _environment().get_template(template).render(**context)
    return json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"))


def _dashboard_configmap(name: str, file_name: str, dashboard: str, labels: dict[str, str], namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace, "labels": {**labels, GRAFANA_DASHBOARD_LABEL: "1"}},
        "data": {file_name: dashboard},
    }


def _model_panels(deployment: ModelDeployment, gateway_namespace: str) -> list[dict[str, Any]]:
    """The dashboard panels of one model: what its runtime exports, and why a panel is empty where it does not."""
    name = isvc_name(deployment)
    entry = promql.model_runtime(deployment.spec)
    queries = model_queries(deployment, gateway_namespace)
    slo = f"{deployment.spec.monitoring.latency_p95_ms:g}"
    latency = queries.latency_p95_ms()
    traffic = [query for query in (queries.requests_per_second(), queries.error_ratio()) if query]
    load = [query for query in (queries.concurrency(), queries.queue_depth(), queries.kv_cache_percent()) if query]
    gpu = promql.gpu_utilization_percent(deployment.namespace, name) if deployment.spec.accelerator.gpu_type != "none" else None
    missing = f" (not exported by {entry.name})"
    return [
        {"title": f"{deployment.name}: p95 latency (ms), SLO {slo}" + ("" if latency else missing), "unit": "ms",
         "threshold": slo, "exprs": [latency] if latency else []},
        {"title": f"{deployment.name}: requests/s and error ratio" + ("" if traffic else missing), "unit": "short",
         "threshold": None, "exprs": traffic},
        {"title": f"{deployment.name}: in flight, queued, KV cache %" + ("" if load else missing), "unit": "short",
         "threshold": None, "exprs": load},
        {"title": f"{deployment.name}: " + ("GPU utilisation (%)" if gpu else "CPU model (no GPU)"), "unit": "percent",
         "threshold": None, "exprs": [gpu] if gpu else []},
        *_drift_panels(deployment),
    ]


def _drift_panels(deployment: ModelDeployment) -> list[dict[str, Any]]:
    """A model's drift panel when it watches drift: the statistic per feature and its level (0 ok, 1 warn, 2 page)."""
    drift = deployment.spec.monitoring.drift
    if drift is None:
        return []
    numeric_warn, numeric_page = drift.numeric.thresholds
    categorical_warn, categorical_page = drift.categorical.thresholds
    thresholds = (
        f"{drift.numeric.statistic} warn {numeric_warn:g} page {numeric_page:g}; "
        f"{drift.categorical.statistic} warn {categorical_warn:g} page {categorical_page:g}"
    )
    return [
        {"title": f"{deployment.name}: drift ({thresholds})", "unit": "short", "threshold": None,
         "exprs": [promql.drift_statistic(deployment.name), promql.drift_level(deployment.name)]},
    ]


def render_team_dashboard(team: TeamPlan, blueprint: Blueprint) -> dict[str, Any]:
    """The team's Grafana dashboard (latency, traffic and errors, load, GPU use per model) as a ConfigMap."""
    models = [{"name": deployment.name, "panels": _model_panels(deployment, blueprint.config.serving.gateway_namespace)} for deployment in team_models(team, blueprint)]
    dashboard = render_dashboard_json(
        "team-dashboard.json.j2", team=team.name, environment=blueprint.environment, models=models
    )
    return _dashboard_configmap(
        f"dashboard-{team.name}",
        f"inferstack-{team.name}.json",
        dashboard,
        team_labels(team, blueprint.environment),
        blueprint.config.monitoring.namespace,
    )


def render_gpu_fleet_dashboard(blueprint: Blueprint) -> dict[str, Any]:
    """The platform dashboard of GPU pools (nodes, utilisation, memory) as a ConfigMap."""
    pools = [{"name": pool.name, "gpu_type": pool.gpu_type, "capacity_type": pool.capacity_type} for pool in blueprint.node_pools if pool.is_gpu]
    dashboard = render_dashboard_json("gpu-fleet-dashboard.json.j2", environment=blueprint.environment, pools=pools)
    return _dashboard_configmap(
        "dashboard-gpu-fleet",
        "inferstack-gpu-fleet.json",
        dashboard,
        platform_labels(blueprint.environment, blueprint.config.cost_center),
        blueprint.config.monitoring.namespace,
    )
