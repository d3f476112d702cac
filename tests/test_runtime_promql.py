"""Every query and alert we emit, proven on the metrics of the runtime each model runs on (issue 14).

- every expression parses (inferstack.promqlite) and reads only metrics its runtime's catalogue entry lists;
- KEDA queries on synthetic series give the replica count HPA would (desired = ceil(metric / target));
- injected errors and latency fire the expected alerts within their `for:` window, and healthy traffic fires none.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import pytest

from inferstack.blueprint import Blueprint, ModelDeployment
from inferstack.compiler import compile_blueprint
from inferstack.promqlite import PromQLError, SeriesStore, evaluate, metric_names, parse, parse_duration
from inferstack.render.autoscaling import keda_query, scaling_query
from inferstack.render.inference_service import isvc_name, render_inference_service
from inferstack.render.monitoring import (
    Alert,
    model_alerts,
    render_gateway_pod_monitor,
    render_platform_rules,
    render_team_dashboard,
    render_team_pod_monitor,
    render_team_rules,
)
from inferstack.render.promql import DRIFT_LAST_RUN, DRIFT_LEVEL, DRIFT_SAMPLES, DRIFT_STATISTIC, KUBE_STATE_METRICS, model_runtime
from inferstack.render.rollout import rollout_variants
from inferstack.render.rollout_alerts import rollout_alerts
from inferstack.runtimes import DCGM_METRICS, RUNTIMES, RuntimeEntry, available_signals, select_runtime
from inferstack.runtimes.catalogue import ISTIO_GATEWAY, error_sli_source
from inferstack.spec import ModelSpec, load_environment
from inferstack.spec.loader import LoadedSpec
from tests.runtime_series import STEP_SECONDS, Load, simulate
from tests.test_runtime_spec import check_against_crd
from tests.spec_factory import spec_document

GATEWAY_NAMESPACE = "gateway-system"
"""The stacks' serving.gateway_namespace (ServingConfig's default)."""
FORMATS = ("onnx", "pytorch", "tensorflow", "sklearn", "xgboost", "lightgbm", "triton", "huggingface")


def _combinations() -> list[tuple[str, str, RuntimeEntry]]:
    """Every (format, protocol) the catalogue serves, with the runtime it lands on."""
    found: list[tuple[str, str, RuntimeEntry]] = []
    for model_format in FORMATS:
        for protocol in ("v1", "v2"):
            try:
                found.append((model_format, protocol, select_runtime(model_format, protocol)))
            except ValueError:
                continue
    return found


COMBINATIONS = _combinations()


def _document(model_format: str, protocol: str, metric: str, target: float, **extra: Any) -> dict[str, Any]:
    name = f"m-{model_format}-{protocol}"
    document = spec_document(
        name=name,
        artifact={"format": model_format, "version": "2.0.0"},
        serving={"protocol": protocol, "deployment_mode": "standard"},
        scaling={"min_replicas": 1, "max_replicas": 20, "metric": metric, "target": target},
        monitoring={
            "runbook_url": "https://runbooks.example.com/demo",
            "alert_route": "slack:#demo",
            "latency_p95_ms": 500,
            "error_rate_percent": 1,
        },
    )
    document.update(extra)
    return document


def _blueprint(repo_root: Path, *documents: dict[str, Any]) -> Blueprint:
    config = load_environment(repo_root / "stacks", "prod")
    loaded = [LoadedSpec(ModelSpec.model_validate(document), "specs/test.yaml") for document in documents]
    return compile_blueprint(loaded, config)


def _allowed(entry: RuntimeEntry, deployment_mode: str) -> set[str]:
    """The runtime's catalogue metrics, DCGM, kube-state-metrics, drift gauges, and the Gateway's where it supplies the error SLI."""
    gateway = set(ISTIO_GATEWAY.names()) if error_sli_source(entry, deployment_mode) == "gateway" else set()
    return set(entry.metrics.names()) | gateway | set(DCGM_METRICS) | set(KUBE_STATE_METRICS) | {DRIFT_STATISTIC, DRIFT_LEVEL, DRIFT_SAMPLES, DRIFT_LAST_RUN}


DRIFT_SIGNATURE: dict[str, Any] = {
    "inputs": [
        {"name": "features", "dtype": "float32", "shape": [None, 2], "columns": ["amount", "hour"]},
        {"name": "country", "dtype": "string", "shape": [None]},
    ],
    "outputs": [{"name": "probability", "dtype": "float32", "shape": [None, 1]}],
}


def _fleet_documents() -> list[dict[str, Any]]:
    """One model per (format, protocol, scaling signal the runtime offers), with rollouts mixed in."""
    documents: list[dict[str, Any]] = []
    strategies = [
        {"strategy": "direct"},
        {"strategy": "canary", "stable_version": "1.0.0", "canary_percent": 10},
        {"strategy": "ab", "variants": [{"name": "a", "version": "1.0.0", "weight": 50}, {"name": "b", "version": "2.0.0", "weight": 50}]},
        {"strategy": "shadow", "stable_version": "1.0.0", "mirror_percent": 50},
    ]
    index = 0
    for model_format, protocol, entry in COMBINATIONS:
        for signal in available_signals(entry, has_gpu=True):
            document = _document(model_format, protocol, signal, 50, rollout=strategies[index % len(strategies)])
            document["name"] = f"m{index:02d}-{model_format}"[:40]
            if index % 3 == 0:
                # A valid drift watch (numeric columns and a categorical input of the tabular signature).
                document["signature"] = DRIFT_SIGNATURE
                document["monitoring"]["drift"] = {"window_minutes": 60}
            documents.append(document)
            index += 1
    for model_format, protocol, entry in COMBINATIONS:
        # Serverless canaries: one InferenceService, versions told apart by a kube_pod_labels join.
        if not entry.metrics.requests:
            continue
        document = _document(model_format, protocol, "rps", 50, rollout=strategies[1])
        document["name"] = f"k{index:02d}-{model_format}"[:40]
        document["serving"]["deployment_mode"] = "serverless"
        documents.append(document)
        index += 1
    return documents


def _drift_series(store: SeriesStore, model: str, end: float, level: float, last_run: float | None = None) -> None:
    """The drift detector's gauges (pushed through the Pushgateway) for two features, every STEP_SECONDS up to `end`."""
    time = STEP_SECONDS
    while time <= end:
        for feature, kind, statistic in (("amount", "numeric", "psi"), ("country", "categorical", "jensen-shannon")):
            labels = {"model": model, "feature": feature, "kind": kind, "statistic": statistic}
            store.add(DRIFT_LEVEL, labels, time, level)
            store.add(DRIFT_STATISTIC, labels, time, 0.3 * level)
        store.add(DRIFT_SAMPLES, {"model": model}, time, 5000.0)
        store.add(DRIFT_LAST_RUN, {"model": model}, time, time if last_run is None else last_run)
        time += STEP_SECONDS


def _all_expressions(blueprint: Blueprint, deployment: ModelDeployment) -> list[str]:
    expressions = [alert.expr for alert in model_alerts(deployment, GATEWAY_NAMESPACE)]
    expressions += [alert.expr for alert in rollout_alerts(deployment, blueprint)]
    for variant in rollout_variants(deployment):
        predictor = render_inference_service(deployment, blueprint, variant.serving)["spec"]["predictor"]
        expressions += [metric["external"]["metric"]["query"] for metric in predictor.get("autoScaling", {}).get("metrics", [])]
    return expressions


def test_every_format_protocol_lands_on_a_cited_runtime() -> None:
    served = {(model_format, protocol) for model_format, protocol, _ in COMBINATIONS}
    # KServe v0.20.0: onnx and triton only run on Triton, which speaks v2 (config/runtimes/kserve-tritonserver.yaml).
    assert served == {(f, p) for f in FORMATS for p in ("v1", "v2")} - {("onnx", "v1"), ("triton", "v1")}
    for entry in RUNTIMES:
        assert any(
            source.repo == "kserve/kserve" and source.ref == "v0.20.0" and source.path == f"config/runtimes/{entry.name}.yaml"
            for source in entry.sources
        ), entry.name
        assert all(source.repo and source.ref and source.path for source in entry.sources)
    # v2 sklearn/xgboost/lightgbm: MLServer's priority 2 beats the KServe servers' 1 (highest wins).
    assert select_runtime("sklearn", "v2").name == "kserve-mlserver"
    assert select_runtime("sklearn", "v1").name == "kserve-sklearnserver"
    assert select_runtime("pytorch", "v2").name == "kserve-torchserve"  # Triton lists pytorch without autoSelect
    assert select_runtime("tensorflow", "v1").name == "kserve-tensorflow-serving"


def test_every_emitted_expression_parses_and_reads_only_its_runtime_metrics(repo_root: Path) -> None:
    blueprint = _blueprint(repo_root, *_fleet_documents())
    checked = 0
    drift_rules = 0
    for deployment in blueprint.models:
        entry = model_runtime(deployment.spec)
        allowed = _allowed(entry, deployment.deployment_mode)
        store = SeriesStore()
        end = 0.0
        for variant in rollout_variants(deployment):
            isvc = isvc_name(deployment, variant.serving)
            end = simulate(store, entry, deployment.namespace, isvc, [(600, HEALTHY)], pods=2, gateway=GATEWAY_NAMESPACE)
        _drift_series(store, deployment.name, end, level=0.0)
        for expression in _all_expressions(blueprint, deployment):
            tree = parse(expression)
            names = metric_names(tree)
            assert names, expression
            assert names <= allowed, f"{deployment.name} on {entry.name}: {sorted(names - allowed)} in {expression}"
            # Evaluated too: every emitted expression runs on the synthetic series of its own runtime.
            value = evaluate(tree, store, end)
            assert isinstance(value, list), expression
            drift_rules += any(name.startswith("inferstack_drift_") for name in names)
            checked += 1
    # The drift watch's alert expressions are among them (a valid DriftSpec on every third model).
    assert drift_rules >= 3 * sum(deployment.spec.monitoring.drift is not None for deployment in blueprint.models) > 0
    for team in blueprint.teams:
        panels = render_team_dashboard(team, blueprint)["data"]
        for text in panels.values():
            for expression in re.findall(r'"expr":"((?:[^"\\]|\\.)*)"', text):
                parse(expression.encode().decode("unicode_escape"))
                checked += 1
    for group in render_platform_rules(blueprint)["spec"]["groups"]:
        for rule in group["rules"]:
            parse(rule["expr"])
    assert checked > 100


def test_parser_rejects_what_it_does_not_know() -> None:
    for bad in ("sum(rate(x[5m])", "rate(x[5m])[1m:]", "topk(3, x)", 'x{a="b"', "x > > 1", "label_replace(x, 'a', 'b', 'c', 'd')"):
        with pytest.raises(PromQLError):
            parse(bad)


def test_pod_monitor_scrapes_each_runtime_on_its_metrics_port(repo_root: Path) -> None:
    blueprint = _blueprint(repo_root, *_fleet_documents())
    team = blueprint.teams[0]
    endpoints = render_team_pod_monitor(team, blueprint)["spec"]["podMetricsEndpoints"]
    by_runtime = {endpoint["relabelings"][0]["regex"]: (endpoint["portNumber"], endpoint["path"]) for endpoint in endpoints}
    used = {model_runtime(deployment.spec).name for deployment in blueprint.models}
    assert set(by_runtime) == used
    check_against_crd(render_team_pod_monitor(team, blueprint), "prometheus-operator-v0.83.0/monitoring.coreos.com_podmonitors.yaml")
    check_against_crd(render_team_rules(team, blueprint), "prometheus-operator-v0.83.0/monitoring.coreos.com_prometheusrules.yaml")
    for name, endpoint in by_runtime.items():
        entry = next(item for item in RUNTIMES if item.name == name)
        assert endpoint == (entry.metrics_port, entry.metrics_path)
    assert by_runtime["kserve-tritonserver"] == (8002, "/metrics")
    assert by_runtime["kserve-torchserve"] == (8082, "/metrics")
    assert by_runtime["kserve-mlserver"] == (8082, "/metrics")  # MLServer's metrics server, not KServe's 8080 annotation
    assert by_runtime["kserve-huggingfaceserver"] == (8080, "/metrics")
    assert any("kube_pod_labels" in alert.expr for deployment in blueprint.models for alert in rollout_alerts(deployment, blueprint))
    for deployment in blueprint.models:
        labels = render_inference_service(deployment, blueprint)["metadata"]["labels"]
        assert labels["inferstack.io/runtime"] == model_runtime(deployment.spec).name


# --- KEDA: a given load yields the replica count HPA computes ------------------------------------------

LOAD = Load(rps=47.0, latency_s=0.12, waiting=3.0, kv_cache=0.62, gpu_percent=71.0)
PODS = 3


def _expected_p95_ms(entry: RuntimeEntry, latency_s: float) -> float:
    """p95 as Prometheus reports it: a summary gives the latency; a histogram interpolates within the bucket."""
    histogram = entry.metrics.latency_histogram
    if histogram is None:
        return latency_s * 1000
    bounds = [bound * histogram.seconds_per_unit for bound in histogram.buckets]
    upper_index = next(index for index, bound in enumerate(bounds) if latency_s <= bound)
    lower = bounds[upper_index - 1] if upper_index else 0.0
    return (lower + (bounds[upper_index] - lower) * 0.95) * 1000


def _truth(entry: RuntimeEntry, signal: str) -> float:
    """What the scaling query must equal (AverageValue form), from the synthetic load itself."""
    in_flight = LOAD.rps * LOAD.latency_s + (LOAD.waiting if entry.metrics.queue and entry.metrics.in_flight else 0.0)
    return {
        "rps": PODS * LOAD.rps,
        "concurrency": PODS * in_flight,
        "queue-depth": PODS * LOAD.waiting,
        "latency": PODS * _expected_p95_ms(entry, LOAD.latency_s),
        "gpu-utilization": PODS * LOAD.gpu_percent,
        "kv-cache": PODS * LOAD.kv_cache * 100,
    }[signal]


SCALING_CASES = [
    (model_format, protocol, entry, signal)
    for model_format, protocol, entry in COMBINATIONS
    for signal in available_signals(entry, has_gpu=True)
]


@pytest.mark.parametrize(
    ("model_format", "protocol", "entry", "signal"),
    SCALING_CASES,
    ids=[f"{case[0]}-{case[1]}-{case[3]}" for case in SCALING_CASES],
)
def test_keda_query_gives_the_hpa_replica_count(
    repo_root: Path, model_format: str, protocol: str, entry: RuntimeEntry, signal: str
) -> None:
    target = 40.0
    blueprint = _blueprint(repo_root, _document(model_format, protocol, signal, target))
    deployment = blueprint.models[0]
    name = isvc_name(deployment)
    store = SeriesStore()
    end = simulate(store, entry, deployment.namespace, name, [(600, LOAD)], pods=PODS)
    value = evaluate(keda_query(deployment, name), store, end)
    assert isinstance(value, list) and len(value) == 1, value
    metric = value[0].value
    assert metric == pytest.approx(_truth(entry, signal), rel=1e-6)
    # KServe hands target.value to KEDA as the threshold; HPA compares per replica: ceil(metric / target).
    desired = min(20, max(1, math.ceil(metric / target - 1e-9)))
    assert desired == min(20, max(1, math.ceil(_truth(entry, signal) / target - 1e-9)))
    _, metric_type = scaling_query(deployment, name)
    assert metric_type == ("AverageValue" if signal in ("rps", "concurrency", "queue-depth") else "Value")


def test_a_request_rate_gives_the_expected_replicas_on_triton(repo_root: Path) -> None:
    """150 rps over 3 Triton pods with an rps target of 40 per replica: HPA wants ceil(150 / 40) = 4."""
    blueprint = _blueprint(repo_root, _document("onnx", "v2", "rps", 40))
    deployment = blueprint.models[0]
    store = SeriesStore()
    end = simulate(store, select_runtime("onnx", "v2"), deployment.namespace, deployment.name, [(600, Load(rps=50, latency_s=0.01))], pods=3)
    (sample,) = evaluate(keda_query(deployment, deployment.name), store, end)  # type: ignore[misc]
    assert math.ceil(sample.value / 40) == 4


def test_old_kserve_metric_names_find_nothing_on_triton(repo_root: Path) -> None:
    """The defect: request_predict_seconds is not exported by Triton, so the old query read an empty series."""
    store = SeriesStore()
    end = simulate(store, select_runtime("onnx", "v2"), "demo", "m", [(600, LOAD)], pods=2)
    old = 'sum(rate(request_predict_seconds_count{namespace="demo",pod=~"m-predictor-.*"}[1m]))'
    assert evaluate(old, store, end) == []


# --- Alerts fire within their `for:` on injected faults, and not on healthy traffic ---------------------


def _firing_times(alert: Alert, store: SeriesStore, start: float, end: float, step: float = STEP_SECONDS) -> list[float]:
    """Evaluation times (every `step` seconds) at which the alert is firing (true continuously for its `for:`)."""
    hold = parse_duration(alert.duration) if alert.duration != "0m" else 0.0
    tree = parse(alert.expr)
    pending_since: float | None = None
    firing: list[float] = []
    time = start
    while time <= end:
        value = evaluate(tree, store, time)
        active = bool(value) if isinstance(value, list) else False
        if active:
            pending_since = time if pending_since is None else pending_since
            if time - pending_since >= hold:
                firing.append(time)
        else:
            pending_since = None
        time += step
    return firing


def _alert(alerts: list[Alert], name: str, **labels: str) -> Alert:
    for alert in alerts:
        if alert.name == name and all(dict(alert.labels).get(key) == value for key, value in labels.items()):
            return alert
    raise AssertionError(f"no {name} {labels} among {[alert.name for alert in alerts]}")


HEALTHY = Load(rps=20, latency_s=0.12, error_ratio=0.002, gpu_percent=55)
ERROR_RUNTIMES = COMBINATIONS
"""Every runtime has an error SLI in standard mode: its own error counter, or the Gateway's 5xx (issue 14)."""
LATENCY_RUNTIMES = [(f, p, e) for f, p, e in COMBINATIONS if e.metrics.latency_histogram or e.metrics.latency_summary]


@pytest.mark.parametrize(("model_format", "protocol", "entry"), ERROR_RUNTIMES, ids=[f"{c[0]}-{c[1]}" for c in ERROR_RUNTIMES])
def test_injected_errors_fire_the_error_alerts(repo_root: Path, model_format: str, protocol: str, entry: RuntimeEntry) -> None:
    blueprint = _blueprint(repo_root, _document(model_format, protocol, available_signals(entry, has_gpu=True)[0], 10))
    deployment = blueprint.models[0]
    alerts = model_alerts(deployment, GATEWAY_NAMESPACE)
    source = error_sli_source(entry, deployment.deployment_mode)
    reads_gateway = {ISTIO_GATEWAY.requests.name} <= metric_names(parse(_alert(alerts, "ModelErrorBudgetBurn", long_window="1h").expr))
    assert reads_gateway == (source == "gateway") and source != "none", (entry.name, source)
    store = SeriesStore()
    healthy_end = simulate(store, entry, deployment.namespace, deployment.name, [(7200, HEALTHY)], gateway=GATEWAY_NAMESPACE)
    for alert in alerts:
        assert not _firing_times(alert, store, 3600, healthy_end), f"{alert.name} fires on healthy traffic"
    # 20% of requests fail from healthy_end on (budget 1%).
    end = simulate(store, entry, deployment.namespace, deployment.name, [(3600, Load(rps=20, latency_s=0.12, error_ratio=0.2, gpu_percent=55))], start=healthy_end, gateway=GATEWAY_NAMESPACE)
    threshold = _alert(alerts, "ModelErrorRateSLOBreached")
    fired = _firing_times(threshold, store, healthy_end, end)
    # The 5m ratio crosses 1% within a minute of the fault; `for: 10m` then holds it.
    assert fired and healthy_end + 600 <= fired[0] <= healthy_end + 600 + 120
    fast_burn = _alert(alerts, "ModelErrorBudgetBurn", long_window="1h")
    fired = _firing_times(fast_burn, store, healthy_end, end)
    # 1h ratio passes 14.4 x 1% = 14.4% after 0.144 / 0.2 x 60 = ~43 min of 20% errors, plus `for: 2m`.
    assert fired and healthy_end + 2400 <= fired[0] <= healthy_end + 2700 + 120


def test_gateway_error_sli_counts_only_the_models_predictor_service(repo_root: Path) -> None:
    """5xx the Gateway returns for another model's Service, or reports as the destination side, do not fire this model's alerts."""
    blueprint = _blueprint(repo_root, _document("huggingface", "v2", "queue-depth", 10))
    deployment = blueprint.models[0]
    entry = model_runtime(deployment.spec)
    assert not entry.metrics.errors  # vLLM exports no error counter: the Gateway supplies the SLI
    alerts = model_alerts(deployment, GATEWAY_NAMESPACE)
    store = SeriesStore()
    end = simulate(store, entry, deployment.namespace, deployment.name, [(3 * 3600, HEALTHY)], gateway=GATEWAY_NAMESPACE)
    # A neighbour behind the same Gateway fails half its requests; its predictor pods are not this model's.
    simulate(store, entry, deployment.namespace, "neighbour", [(3 * 3600, Load(rps=50, latency_s=0.1, error_ratio=0.5))], gateway=GATEWAY_NAMESPACE)
    for alert in alerts:
        assert not _firing_times(alert, store, 3600, end, step=120), alert.name
    # Without the Gateway's series (no PodMonitor on its Envoy) the error SLI is empty: the ratio is no sample, never a 0.
    bare = SeriesStore()
    end = simulate(bare, entry, deployment.namespace, deployment.name, [(1800, Load(rps=20, latency_s=0.1, error_ratio=0.5))])
    assert evaluate(_alert(alerts, "ModelErrorRateSLOBreached").expr, bare, end) == []


def test_serverless_models_without_an_error_counter_get_no_gateway_sli(repo_root: Path) -> None:
    document = _document("sklearn", "v1", "rps", 10)
    document["serving"]["deployment_mode"] = "serverless"
    deployment = _blueprint(repo_root, document).models[0]
    names = {alert.name for alert in model_alerts(deployment, GATEWAY_NAMESPACE)}
    assert "ModelErrorRateSLOBreached" not in names and "ModelErrorBudgetBurn" not in names
    assert error_sli_source(model_runtime(deployment.spec), "serverless") == "none"


@pytest.mark.parametrize(("model_format", "protocol", "entry"), LATENCY_RUNTIMES, ids=[f"{c[0]}-{c[1]}" for c in LATENCY_RUNTIMES])
def test_injected_latency_fires_the_latency_alerts(repo_root: Path, model_format: str, protocol: str, entry: RuntimeEntry) -> None:
    blueprint = _blueprint(repo_root, _document(model_format, protocol, "concurrency", 10))
    deployment = blueprint.models[0]
    alerts = model_alerts(deployment, GATEWAY_NAMESPACE)
    store = SeriesStore()
    healthy = Load(rps=20, latency_s=0.12, gpu_percent=55)
    healthy_end = simulate(store, entry, deployment.namespace, deployment.name, [(3600, healthy)])
    for alert in alerts:
        assert not _firing_times(alert, store, 1800, healthy_end), f"{alert.name} fires on healthy traffic"
    slow = Load(rps=20, latency_s=2.0, gpu_percent=55)  # every request 2 s against a 500 ms p95 objective
    end = simulate(store, entry, deployment.namespace, deployment.name, [(3600, slow)], start=healthy_end)
    fired = _firing_times(_alert(alerts, "ModelLatencySLOBreached"), store, healthy_end, end)
    assert fired and healthy_end + 600 <= fired[0] <= healthy_end + 600 + 180
    if entry.metrics.latency_histogram is not None:
        burn = _alert(alerts, "ModelLatencyBudgetBurn", long_window="1h")
        fired = _firing_times(burn, store, healthy_end, end)
        # 100% slow: the 1h slow ratio passes 14.4 x 5% = 72% after ~43 min, plus `for: 2m`.
        assert fired and healthy_end + 2400 <= fired[0] <= healthy_end + 2700 + 120


def test_slow_burn_opens_a_ticket_and_pages_nobody(repo_root: Path) -> None:
    """1.5% errors against a 1% budget: only the 3d/6h tier (burn rate 1) fires; 14.4x and 6x stay quiet."""
    blueprint = _blueprint(repo_root, _document("onnx", "v2", "concurrency", 10))
    deployment = blueprint.models[0]
    alerts = model_alerts(deployment, GATEWAY_NAMESPACE)
    store = SeriesStore()
    end = simulate(store, select_runtime("onnx", "v2"), deployment.namespace, deployment.name, [(8 * 3600, Load(rps=20, latency_s=0.05, error_ratio=0.015, gpu_percent=55))])
    ticket = _alert(alerts, "ModelErrorBudgetBurn", long_window="3d")
    assert ticket.severity == "info" and ticket.duration == "1h"  # a ticket; pages are "warning" below stage prod
    fired = _firing_times(ticket, store, 0, end, step=300)
    assert fired and fired[0] <= 6 * 3600
    for window in ("1h", "6h"):
        assert not _firing_times(_alert(alerts, "ModelErrorBudgetBurn", long_window=window), store, 0, end, step=300), window


def test_candidate_regression_fires_against_stable(repo_root: Path) -> None:
    canary = {"strategy": "canary", "stable_version": "1.0.0", "canary_percent": 10}
    blueprint = _blueprint(repo_root, _document("sklearn", "v2", "rps", 10, rollout=canary))
    deployment = blueprint.models[0]
    entry = model_runtime(deployment.spec)
    alerts = rollout_alerts(deployment, blueprint)
    stable, candidate = rollout_variants(deployment)
    store = SeriesStore()
    simulate(store, entry, deployment.namespace, isvc_name(deployment, stable.serving), [(3600, HEALTHY)])
    end = simulate(store, entry, deployment.namespace, isvc_name(deployment, candidate.serving), [(1800, HEALTHY), (1800, Load(rps=2, latency_s=0.6, error_ratio=0.1, gpu_percent=55))])
    for name in ("RolloutCandidateErrorRateRegression", "RolloutCandidateLatencyRegression"):
        fired = _firing_times(_alert(alerts, name), store, 600, end)
        assert fired and 1800 + 600 <= fired[0] <= 1800 + 600 + 180, name


def test_candidate_errors_on_vllm_fire_against_stable_through_the_gateway(repo_root: Path) -> None:
    """vLLM exports no error counter: a canary's 5xx at the Gateway (per variant Service) fire the regression alert."""
    canary = {"strategy": "canary", "stable_version": "1.0.0", "canary_percent": 10}
    blueprint = _blueprint(repo_root, _document("huggingface", "v2", "queue-depth", 10, rollout=canary))
    deployment = blueprint.models[0]
    entry = model_runtime(deployment.spec)
    assert not entry.metrics.errors
    alerts = rollout_alerts(deployment, blueprint)
    regression = _alert(alerts, "RolloutCandidateErrorRateRegression")
    assert 'destination_service_name="m-huggingface-v2-canary-predictor"' in regression.expr
    stable, candidate = rollout_variants(deployment)
    store = SeriesStore()
    simulate(store, entry, deployment.namespace, isvc_name(deployment, stable.serving), [(3600, HEALTHY)], gateway=GATEWAY_NAMESPACE)
    end = simulate(
        store, entry, deployment.namespace, isvc_name(deployment, candidate.serving),
        [(1800, HEALTHY), (1800, Load(rps=2, latency_s=0.6, error_ratio=0.1, gpu_percent=55))], gateway=GATEWAY_NAMESPACE,
    )
    for name in ("RolloutCandidateErrorRateRegression", "RolloutVariantErrorRateSLOBreached"):
        fired = _firing_times(_alert(alerts, name), store, 600, end)
        assert fired and 1800 + 600 <= fired[0] <= 1800 + 600 + 180, name
    # A shadow candidate answers mirrored copies only: no Gateway-based error comparison for it.
    shadow = {"strategy": "shadow", "stable_version": "1.0.0", "mirror_percent": 50}
    shadowed = _blueprint(repo_root, _document("huggingface", "v2", "queue-depth", 10, rollout=shadow)).models[0]
    names = {alert.name for alert in rollout_alerts(shadowed, blueprint)}
    assert "RolloutCandidateErrorRateRegression" not in names and "RolloutVariantErrorRateSLOBreached" not in names


def test_alerts_a_runtime_cannot_feed_are_left_out(repo_root: Path) -> None:
    """KServe's Python servers export no error counter (the Gateway supplies it); TorchServe no latency distribution."""
    blueprint = _blueprint(
        repo_root,
        _document("sklearn", "v1", "rps", 10),
        _document("pytorch", "v2", "rps", 10),
    )
    sklearn, torch = (blueprint.model(f"m-{f}") for f in ("sklearn-v1", "pytorch-v2"))
    alerts = model_alerts(sklearn, GATEWAY_NAMESPACE)
    names = {alert.name for alert in alerts}
    assert "ModelErrorRateSLOBreached" in names and "ModelLatencySLOBreached" in names
    assert "istio_requests_total" in _alert(alerts, "ModelErrorRateSLOBreached").expr
    names = {alert.name for alert in model_alerts(torch, GATEWAY_NAMESPACE)}
    assert "ModelErrorRateSLOBreached" in names and "ModelLatencySLOBreached" not in names


def test_drift_alerts_fire_on_drift_and_on_a_silent_detector(repo_root: Path) -> None:
    """The drift rules (a valid DriftSpec, 60-minute window) evaluated on the detector's gauges."""
    document = _document("sklearn", "v2", "rps", 10, signature=DRIFT_SIGNATURE)
    document["monitoring"]["drift"] = {"window_minutes": 60}
    deployment = _blueprint(repo_root, document).models[0]
    alerts = [alert for alert in model_alerts(deployment, GATEWAY_NAMESPACE) if alert.name.startswith(("ModelFeatureDrift", "ModelDriftDetector"))]
    assert {alert.name for alert in alerts} == {"ModelFeatureDrift", "ModelFeatureDriftPage", "ModelDriftDetectorStale"}
    end = 4 * 3600.0
    for level, firing in ((0.0, set()), (1.0, {"ModelFeatureDrift"}), (2.0, {"ModelFeatureDrift", "ModelFeatureDriftPage"})):
        store = SeriesStore()
        _drift_series(store, deployment.name, end, level)
        fired = {alert.name for alert in alerts if _firing_times(alert, store, end - 600, end)}
        assert fired == firing, level
    # The detector stops finishing runs at 1h: three 60-minute windows later (4h) the staleness alert fires, not before.
    store = SeriesStore()
    _drift_series(store, deployment.name, 5 * 3600.0, 0.0, last_run=3600.0)
    stale = _alert(alerts, "ModelDriftDetectorStale")
    fired = _firing_times(stale, store, 3600, 5 * 3600.0, step=60)
    assert fired and 4 * 3600 < fired[0] <= 4 * 3600 + 60


def test_the_gateways_envoy_is_scraped_for_the_error_sli(repo_root: Path) -> None:
    """The Gateway's PodMonitor: Istio's automated Gateway pods, Envoy's stats port, only the standard request metric."""
    blueprint = _blueprint(repo_root, _document("sklearn", "v1", "rps", 10))
    serving = blueprint.config.serving
    monitor = render_gateway_pod_monitor(blueprint)
    check_against_crd(monitor, "prometheus-operator-v0.83.0/monitoring.coreos.com_podmonitors.yaml")
    assert monitor["metadata"]["namespace"] == serving.gateway_namespace == GATEWAY_NAMESPACE
    # istio/istio 1.30.3 kube-gateway.yaml: pods labelled gateway.networking.k8s.io/gateway-name: <Gateway>, port 15090 http-envoy-prom.
    assert monitor["spec"]["selector"] == {"matchLabels": {"gateway.networking.k8s.io/gateway-name": serving.gateway_name}}
    (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
    assert (endpoint["port"], endpoint["path"]) == ("http-envoy-prom", "/stats/prometheus")
    assert re.fullmatch(endpoint["metricRelabelings"][0]["regex"], "istio_requests_total")
    # The alerts select the scrape target's namespace: the Gateway's, where this PodMonitor lives.
    expr = _alert(model_alerts(blueprint.models[0], serving.gateway_namespace), "ModelErrorRateSLOBreached").expr
    assert f'namespace="{monitor["metadata"]["namespace"]}"' in expr and 'destination_service_name="m-sklearn-v1-predictor"' in expr
