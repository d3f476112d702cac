"""Alerts of a rollout: the candidate compared against the stable version, and SLOs of every extra variant.

Every series comes from the model's runtime (runtime catalogue); a comparison
whose metric the runtime does not export (latency on TorchServe) is left out.
Errors of runtimes without an error counter (KServe's Python servers, vLLM) come
from the shared Gateway's 5xx per variant Service where the Gateway routes to
each variant's `<isvc>-predictor` (standard mode; not a shadow candidate, which
only receives mirrored copies whose responses the Gateway discards). Comparisons (canary and shadow:
candidate vs stable; A/B: every variant vs the first) fire when the candidate's error ratio exceeds the baseline's by more
than the model's whole error budget, or its p95 latency is more than
LATENCY_REGRESSION_RATIO times the baseline's, for 10 minutes while it takes
traffic. The remedy is a rollback: the spec change back is one pull request
(see docs/rollouts.md).

Each variant's pods are selected by their InferenceService's name. A
serverless canary has one InferenceService whose two Knative revisions carry
the version pod label instead; those alerts join on kube-state-metrics'
`kube_pod_labels`, which needs `inferstack.io/model-version` in its pod label
allowlist (`metricLabelsAllowlist: pods=[inferstack.io/model-version]`).
"""

from __future__ import annotations

from typing import Any

from inferstack.blueprint import Blueprint, ModelDeployment, TeamPlan
from inferstack.constants import LABEL_MODEL_VERSION, PROMETHEUS_OPERATOR_API_VERSION
from inferstack.render.inference_service import isvc_name
from inferstack.render.labels import team_labels
from inferstack.render.monitoring import Alert
from inferstack.render.promql import RuntimeQueries, model_runtime, predictor_selector, runtime_queries
from inferstack.render.rollout import RolloutVariant, rollout_variants, traffic_split
from inferstack.render.team import team_models

LATENCY_REGRESSION_RATIO = 1.2
"""A candidate whose p95 is 20% above the baseline's is a regression."""
WINDOW = "5m"


def _kube_pod_label(key: str) -> str:
    return "label_" + "".join(character if character.isalnum() else "_" for character in key)


def variant_series(deployment: ModelDeployment, blueprint: Blueprint, variant: RolloutVariant) -> RuntimeQueries:
    """The metric selection of one variant on the model's runtime (by InferenceService name, or by version within a Knative canary)."""
    name = isvc_name(deployment, variant.serving)
    selector = predictor_selector(deployment.namespace, name)
    entry = model_runtime(deployment.spec)
    if traffic_split(deployment, blueprint) != "knative":
        mirrored = variant.serving.role == "shadow"
        gateway = None if mirrored else blueprint.config.serving.gateway_namespace
        return runtime_queries(entry, deployment.namespace, name, gateway, deployment.deployment_mode)
    label = _kube_pod_label(LABEL_MODEL_VERSION)
    join = (
        f' * on (namespace, pod) group_left() max by (namespace, pod) '
        f'(kube_pod_labels{{namespace="{deployment.namespace}",{label}="{variant.version}"}})'
    )
    return RuntimeQueries(entry, selector, join)


def _comparisons(deployment: ModelDeployment) -> list[tuple[RolloutVariant, RolloutVariant]]:
    """(baseline, candidate) pairs the alerts compare."""
    rollout = deployment.spec.rollout
    variants = rollout_variants(deployment)
    if rollout.strategy in ("canary", "shadow"):
        if len(variants) == 2:
            return [(variants[0], variants[1])]
        # Serverless canary: one InferenceService, two versions told apart by their pod label.
        only = variants[0]
        stable = RolloutVariant(
            only.serving, rollout.stable_version or only.version, 100 - (rollout.canary_percent or 0),
            only.min_replicas, only.max_replicas, "stable",
        )
        candidate = RolloutVariant(
            only.serving, only.version, rollout.canary_percent or 0, only.min_replicas, only.max_replicas, "candidate"
        )
        return [(stable, candidate)]
    if rollout.strategy == "ab":
        return [(variants[0], variant) for variant in variants[1:]]
    return []


def rollout_alerts(deployment: ModelDeployment, blueprint: Blueprint) -> list[Alert]:
    """Candidate-vs-stable alerts and the SLO alerts of variants the model's own alerts do not watch."""
    spec = deployment.spec
    if spec.rollout.strategy == "direct":
        return []
    runbook = spec.monitoring.runbook_url
    severity = "critical" if spec.registry.stage == "prod" else "warning"
    budget = spec.monitoring.error_rate_percent / 100
    alerts: list[Alert] = []
    for baseline, candidate in _comparisons(deployment):
        base = variant_series(deployment, blueprint, baseline)
        cand = variant_series(deployment, blueprint, candidate)
        labels = (
            ("team", spec.team),
            ("model", spec.name),
            ("route", spec.monitoring.alert_route),
            ("candidate_version", candidate.version),
            ("baseline_version", baseline.version),
        )
        cand_rps = cand.requests_per_second(WINDOW)
        taking_traffic = f"{cand_rps} > 0" if cand_rps else None
        cand_errors, base_errors = cand.error_ratio(WINDOW), base.error_ratio(WINDOW)
        if cand_errors and base_errors and taking_traffic:
            alerts.append(
                Alert(
                    name="RolloutCandidateErrorRateRegression",
                    expr=f"({cand_errors} - {base_errors}) > {budget:g} and {taking_traffic}",
                    duration="10m",
                    severity=severity,
                    summary=f"{spec.name}: {candidate.label} {candidate.version} fails more than {baseline.label} "
                    f"{baseline.version} by over {spec.monitoring.error_rate_percent:g} points; roll back the rollout in the spec",
                    runbook_url=runbook,
                    labels=labels,
                )
            )
        cand_latency, base_latency = cand.latency_p95_ms(WINDOW), base.latency_p95_ms(WINDOW)
        if cand_latency and base_latency and taking_traffic:
            alerts.append(
                Alert(
                    name="RolloutCandidateLatencyRegression",
                    expr=f"({cand_latency}) > {LATENCY_REGRESSION_RATIO:g} * ({base_latency}) and {taking_traffic}",
                    duration="10m",
                    severity=severity,
                    summary=f"{spec.name}: {candidate.label} {candidate.version} p95 latency is over "
                    f"{LATENCY_REGRESSION_RATIO:g}x that of {baseline.label} {baseline.version}; roll back the rollout in the spec",
                    runbook_url=runbook,
                    labels=labels,
                )
            )
    primary = isvc_name(deployment)
    for variant in rollout_variants(deployment):
        name = isvc_name(deployment, variant.serving)
        if name == primary:
            continue  # the model's own SLO alerts watch <model>
        series = variant_series(deployment, blueprint, variant)
        labels = (("team", spec.team), ("model", spec.name), ("route", spec.monitoring.alert_route), ("variant", variant.label))
        latency, errors = series.latency_p95_ms(WINDOW), series.error_ratio(WINDOW)
        if latency:
            alerts.append(
                Alert(
                    name="RolloutVariantLatencySLOBreached",
                    expr=f"{latency} > {spec.monitoring.latency_p95_ms:g}",
                    duration="10m",
                    severity=severity,
                    summary=f"{spec.name} {variant.label} {variant.version}: p95 latency above "
                    f"{spec.monitoring.latency_p95_ms:g} ms for 10 minutes",
                    runbook_url=runbook,
                    labels=labels,
                )
            )
        if errors:
            alerts.append(
                Alert(
                    name="RolloutVariantErrorRateSLOBreached",
                    expr=f"{errors} > {budget:g}",
                    duration="10m",
                    severity=severity,
                    summary=f"{spec.name} {variant.label} {variant.version}: error rate above "
                    f"{spec.monitoring.error_rate_percent:g}% for 10 minutes",
                    runbook_url=runbook,
                    labels=labels,
                )
            )
    return alerts


def render_rollout_rules(team: TeamPlan, blueprint: Blueprint) -> dict[str, Any] | None:
    """One PrometheusRule with the rollout alerts of the team's models; None when no model is rolling out."""
    groups = [
        {"name": f"{deployment.name}.rollout.rules", "rules": [alert.rule() for alert in alerts]}
        for deployment in team_models(team, blueprint)
        if (alerts := rollout_alerts(deployment, blueprint))
    ]
    if not groups:
        return None
    return {
        "apiVersion": PROMETHEUS_OPERATOR_API_VERSION,
        "kind": "PrometheusRule",
        "metadata": {
            "name": f"{team.name}-rollouts",
            "namespace": team.namespace,
            "labels": team_labels(team, blueprint.environment),
        },
        "spec": {"groups": groups},
    }
