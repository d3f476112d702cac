"""Synthetic Prometheus series of a model's predictor pods, shaped by its runtime's catalogue entry.

Each pod serves `rps` requests per second, a share `error_ratio` of them failing, every
request taking `latency_s` seconds; gauges (queue, KV cache, GPU) hold the given values.
Counters, histograms and summaries follow the metric roles of the runtime's entry, so a
query over the wrong metric names finds nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from inferstack.promqlite import SeriesStore
from inferstack.runtimes import RuntimeEntry
from inferstack.runtimes.catalogue import DCGM_FB_FREE, DCGM_FB_USED, DCGM_GPU_UTILIZATION, ISTIO_GATEWAY

STEP_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class Load:
    """What every pod sees during one phase."""

    rps: float
    latency_s: float
    error_ratio: float = 0.0
    waiting: float = 0.0
    kv_cache: float = 0.0
    gpu_percent: float = 0.0


def pod_names(isvc: str, pods: int) -> list[str]:
    """Predictor pod names of an InferenceService (as KServe's Deployment names them)."""
    return [f"{isvc}-predictor-7d9f-{index:05d}" for index in range(pods)]


def simulate(
    store: SeriesStore,
    entry: RuntimeEntry,
    namespace: str,
    isvc: str,
    phases: list[tuple[float, Load]],
    pods: int = 1,
    start: float = 0.0,
    gateway: str | None = None,
) -> float:
    """Append samples every STEP_SECONDS for each (duration, load) phase; returns the end time.

    With `gateway` (its namespace), the shared Gateway's Envoy also reports the requests it sent to the
    predictor Service `<isvc>-predictor`: 200s, and the failed share as 503s (Istio standard metrics,
    reporter="source"), plus the other direction (reporter="destination") that the SLI must not count.
    """
    metrics = entry.metrics
    error_names = {series.name for series in metrics.errors}
    counters: dict[tuple[str, str, str], float] = {}
    time = start
    names = pod_names(isvc, pods)

    bumped: set[tuple[str, str, str, float]] = set()

    def bump(pod: str, name: str, value: float, extra: str = "") -> float:
        """The counter after this step's increment; a series two roles share counts once per step."""
        key = (pod, name, extra)
        if (*key, time) not in bumped:
            bumped.add((*key, time))
            counters[key] = counters.get(key, 0.0) + value
        return counters[key]

    for duration, load in phases:
        steps = int(duration // STEP_SECONDS)
        for _ in range(steps):
            time += STEP_SECONDS
            for pod in names:
                labels = {"namespace": namespace, "pod": pod}
                requests = load.rps * STEP_SECONDS
                failed = requests * load.error_ratio
                for series in metrics.requests:
                    if series.name in error_names:
                        value = bump(pod, series.name, failed)
                    elif error_names & {item.name for item in metrics.requests}:
                        value = bump(pod, series.name, requests - failed)
                    else:
                        value = bump(pod, series.name, requests)
                    store.add(series.name, labels, time, value)
                for series in metrics.errors:
                    if series.name not in {item.name for item in metrics.requests}:
                        store.add(series.name, labels, time, bump(pod, series.name, failed))
                histogram_names = {f"{metrics.latency_histogram.name}_sum"} if metrics.latency_histogram else set()
                if metrics.busy is not None and metrics.busy.name not in histogram_names:
                    busy = requests * load.latency_s / metrics.busy_seconds_per_unit
                    store.add(metrics.busy.name, labels, time, bump(pod, metrics.busy.name, busy))
                histogram = metrics.latency_histogram
                if histogram is not None:
                    latency = load.latency_s / histogram.seconds_per_unit
                    for bound in (*histogram.buckets, float("inf")):
                        text = "+Inf" if bound == float("inf") else repr(float(bound))
                        add = requests if latency <= bound else 0.0
                        store.add(f"{histogram.name}_bucket", {**labels, "le": text}, time, bump(pod, f"{histogram.name}_bucket", add, text))
                    store.add(f"{histogram.name}_count", labels, time, bump(pod, f"{histogram.name}_count", requests))
                    store.add(f"{histogram.name}_sum", labels, time, bump(pod, f"{histogram.name}_sum", requests * latency))
                summary = metrics.latency_summary
                if summary is not None:
                    for quantile in summary.quantiles:
                        store.add(summary.name, {**labels, "quantile": f"{quantile:g}"}, time, load.latency_s / summary.seconds_per_unit)
                for index, series in enumerate(metrics.in_flight):
                    if series in metrics.queue:
                        store.add(series.name, labels, time, load.waiting)
                    else:
                        store.add(series.name, labels, time, load.rps * load.latency_s if index == 0 else 0.0)
                for series in metrics.queue:
                    if series not in metrics.in_flight:
                        store.add(series.name, labels, time, load.waiting)
                if metrics.kv_cache is not None:
                    store.add(metrics.kv_cache.name, labels, time, load.kv_cache)
                store.add(DCGM_GPU_UTILIZATION, labels, time, load.gpu_percent)
                store.add(DCGM_FB_USED, labels, time, 1000.0)
                store.add(DCGM_FB_FREE, labels, time, 15000.0)
                store.add("kube_pod_status_ready", {**labels, "condition": "true"}, time, 1.0)
            if gateway is not None:
                requests = load.rps * STEP_SECONDS * pods
                failed = requests * load.error_ratio
                envoy = {"namespace": gateway, "pod": "inference-gateway-istio-5d8f7-abcde"}
                service = {
                    ISTIO_GATEWAY.service_namespace_label: namespace,
                    ISTIO_GATEWAY.service_label: f"{isvc}-predictor",
                }
                for reporter, code, value in (("source", "200", requests - failed), ("source", "503", failed), ("destination", "500", requests)):
                    series = {**envoy, **service, "reporter": reporter, "response_code": code}
                    store.add(ISTIO_GATEWAY.requests.name, series, time, bump(f"gateway-{reporter}", isvc, value, code))
    return time
