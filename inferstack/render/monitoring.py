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
    LABEL_TEAM,
    PLATFORM_RUNBOOK_BASE_URL,
    PROMETHEUS_FULLNAME,
    PROMETHEUS_OPERATOR_API_VERSION,
)
from inferstack.render import promql
from inferstack.render.inference_service import isvc_name
from inferstack.render.labels import platform_labels, team_labels
from inferstack.render.team import team_models
from inferstack.spec.drift import DriftSpec

TEMPLATES = Path(__file__).parent / "templates"
PREDICTOR_METRICS_PORT = 8080
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


def model_alerts(deployment: ModelDeployment) -> list[Alert]:
    """SLO, GPU and drift alerts of one model."""
    spec = deployment.spec
    name = isvc_name(deployment)
    namespace = deployment.namespace
    runbook = spec.monitoring.runbook_url
    route = spec.monitoring.alert_route
    severity = "critical" if deployment.spec.registry.stage == "prod" else "warning"
    labels = (("team", spec.team), ("model", spec.name), ("route", route))
    alerts = [
        Alert(
            name="ModelLatencySLOBreached",
            expr=f"{promql.latency_p95_ms(namespace, name, '5m')} > {spec.monitoring.latency_p95_ms:g}",
            duration="10m",
            severity=severity,
            summary=f"{spec.name}: p95 latency above {spec.monitoring.latency_p95_ms:g} ms for 10 minutes",
            runbook_url=runbook,
            labels=labels,
        ),
        Alert(
            name="ModelErrorRateSLOBreached",
            expr=f"{promql.error_ratio(namespace, name)} > {spec.monitoring.error_rate_percent / 100:g}",
            duration="10m",
            severity=severity,
            summary=f"{spec.name}: error rate above {spec.monitoring.error_rate_percent:g}% for 10 minutes",
            runbook_url=runbook,
            labels=labels,
        ),
    ]
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
        {"name": f"{deployment.name}.rules", "rules": [alert.rule() for alert in model_alerts(deployment)]}
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


def render_team_pod_monitor(team: TeamPlan, blueprint: Blueprint) -> dict[str, Any]:
    """Scrape every predictor pod in the team namespace (KServe labels them with their InferenceService)."""
    return {
        "apiVersion": PROMETHEUS_OPERATOR_API_VERSION,
        "kind": "PodMonitor",
        "metadata": {"name": f"{team.name}-predictors", "namespace": team.namespace, "labels": team_labels(team, blueprint.environment)},
        "spec": {
            "selector": {"matchExpressions": [{"key": KSERVE_ISVC_POD_LABEL, "operator": "Exists"}]},
            "podMetricsEndpoints": [{"portNumber": PREDICTOR_METRICS_PORT, "path": "/metrics", "interval": "30s"}],
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


def drift_panel(deployment: ModelDeployment) -> dict[str, str | None]:
    """Template values of a model's drift panel (None queries when drift is off)."""
    drift = deployment.spec.monitoring.drift
    if drift is None:
        return {"drift_query": None, "drift_level_query": None, "drift_thresholds": ""}
    numeric_warn, numeric_page = drift.numeric.thresholds
    categorical_warn, categorical_page = drift.categorical.thresholds
    return {
        "drift_query": promql.drift_statistic(deployment.name),
        "drift_level_query": promql.drift_level(deployment.name),
        "drift_thresholds": f"{drift.numeric.statistic} warn {numeric_warn:g} page {numeric_page:g}; "
        f"{drift.categorical.statistic} warn {categorical_warn:g} page {categorical_page:g}",
    }


def render_team_dashboard(team: TeamPlan, blueprint: Blueprint) -> dict[str, Any]:
    """The team's Grafana dashboard (latency, errors, replicas, GPU use per model) as a ConfigMap."""
    models = [
        {
            "name": deployment.name,
            "namespace": deployment.namespace,
            "latency_query": promql.latency_p95_ms(deployment.namespace, isvc_name(deployment)),
            "rps_query": promql.requests_per_second(deployment.namespace, isvc_name(deployment)),
            "error_query": promql.error_ratio(deployment.namespace, isvc_name(deployment)),
            "gpu_query": promql.gpu_utilization_percent(deployment.namespace, isvc_name(deployment))
            if deployment.spec.accelerator.gpu_type != "none"
            else None,
            "latency_slo_ms": f"{deployment.spec.monitoring.latency_p95_ms:g}",
            **drift_panel(deployment),
        }
        for deployment in team_models(team, blueprint)
    ]
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
