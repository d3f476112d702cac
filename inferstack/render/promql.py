"""PromQL used by autoscaling, alerts and dashboards, generated from the runtime catalogue.

Each model's predictor metrics come from the runtime it runs on
(`inferstack.runtimes`): Triton's `nv_inference_*`, TorchServe's `ts_*`,
MLServer's counters and `rest_server_*`, vLLM's `vllm:*`, KServe's own
`request_predict_seconds`. `RuntimeQueries` turns the catalogue entry's metric
roles into expressions; a role the runtime does not export gives None, and the
caller leaves that alert or signal out (the spec validator refuses a scaling
metric the runtime cannot provide). GPU metrics come from the DCGM exporter
(ServiceMonitor with honorLabels, so `namespace`/`pod` are the workload's).
Queries select one InferenceService's predictor pods by name.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from inferstack.constants import KSERVE_PREDICTOR_DEPLOYMENT_SUFFIX
from inferstack.runtimes import RuntimeEntry, Series, select_runtime
from inferstack.runtimes.catalogue import DCGM_FB_FREE, DCGM_FB_USED, DCGM_GPU_UTILIZATION, ISTIO_GATEWAY, error_sli_source

if TYPE_CHECKING:
    from inferstack.spec.model import ModelSpec

GPU_UTILIZATION = DCGM_GPU_UTILIZATION
GPU_MEMORY_USED = DCGM_FB_USED
GPU_MEMORY_FREE = DCGM_FB_FREE
KUBE_STATE_METRICS = frozenset({"kube_pod_status_ready", "kube_pod_labels"})
"""kube-state-metrics series the queries use besides the runtime's and DCGM's."""
DRIFT_STATISTIC = "inferstack_drift_statistic"
"""Gauge the drift detector exports per model and feature (labels model, feature, kind, statistic): the drift figure."""
DRIFT_LEVEL = "inferstack_drift_level"
"""Gauge per model and feature: 0 within thresholds, 1 warn, 2 page (the detector compares with the spec's thresholds)."""
DRIFT_SAMPLES = "inferstack_drift_samples"
"""Gauge per model: logged rows the last run compared."""
DRIFT_LAST_RUN = "inferstack_drift_last_run_timestamp_seconds"
"""Gauge per model: when the detector last finished (Unix seconds)."""


def predictor_selector(namespace: str, isvc_name: str) -> str:
    """Label matcher for the predictor pods of one InferenceService."""
    return f'namespace="{namespace}",pod=~"{isvc_name}{KSERVE_PREDICTOR_DEPLOYMENT_SUFFIX}-.*"'


def le_label(bound: float) -> str:
    """How prometheus_client writes a bucket bound in `le` (floatToGoString: 1.0 -> "1.0", 0.25 -> "0.25")."""
    return repr(float(bound))


def _number(value: float) -> str:
    return f"{value:g}"


@cache
def _selection(series: tuple[Series, ...], selector: str, extra: str) -> str:
    """`name{selector,...}`, or `{__name__=~"a|b",selector,...}` for several series (cached: alerts repeat them)."""
    names = sorted({item.name for item in series})
    own = sorted({matcher for item in series for matcher in item.matchers})
    parts = [f'__name__=~"{"|".join(names)}"' if len(names) > 1 else "", selector, *own, extra]
    body = ",".join(part for part in parts if part)
    return f"{names[0]}{{{body}}}" if len(names) == 1 else f"{{{body}}}"


@dataclass(frozen=True, slots=True)
class RuntimeQueries:
    """Expressions over one runtime's metrics for pods matching `selector`.

    `join` is appended to every instant/range selection (e.g. a `* on (namespace, pod) group_left ...`
    join on kube_pod_labels that keeps one version's pods of a Knative canary). `gateway_selector`
    (set where the error SLI comes from the Gateway, `error_sli_source`) selects the shared Gateway's
    series of the model's predictor Service.
    """

    entry: RuntimeEntry
    selector: str
    join: str = ""
    gateway_selector: str | None = None

    def _matchers(self, series: tuple[Series, ...], extra: str = "") -> str:
        return _selection(series, self.selector, extra)

    def _rate(self, series: tuple[Series, ...], window: str, extra: str = "") -> str:
        return f"sum(rate({self._matchers(series, extra)}[{window}]){self.join})"

    def _gauge(self, series: tuple[Series, ...], aggregation: str = "sum") -> str:
        return f"{aggregation}({self._matchers(series)}{self.join})"

    def requests_per_second(self, window: str = "1m") -> str | None:
        """Finished requests per second."""
        metrics = self.entry.metrics
        return self._rate(metrics.requests, window) if metrics.requests else None

    def concurrency(self, window: str = "1m") -> str | None:
        """Requests in flight: the runtime's gauges, or by Little's law from its request-time counter."""
        metrics = self.entry.metrics
        if metrics.in_flight:
            return self._gauge(metrics.in_flight)
        if metrics.busy is not None:
            scale = metrics.busy_seconds_per_unit
            rate = self._rate((metrics.busy,), window)
            return rate if scale == 1 else f"{rate} * {_number(scale)}"
        return None

    def queue_depth(self) -> str | None:
        """Requests waiting to be scheduled."""
        metrics = self.entry.metrics
        return self._gauge(metrics.queue) if metrics.queue else None

    def kv_cache_percent(self) -> str | None:
        """Average KV-cache use of the pods, in percent."""
        metrics = self.entry.metrics
        return f"{self._gauge((metrics.kv_cache,), 'avg')} * 100" if metrics.kv_cache is not None else None

    def latency_p95_ms(self, window: str = "2m") -> str | None:
        """95th-percentile request latency in ms (histogram; else the worst pod's summary quantile)."""
        metrics = self.entry.metrics
        if metrics.latency_histogram is not None:
            histogram = metrics.latency_histogram
            buckets = self._matchers((Series(f"{histogram.name}_bucket"),))
            return (
                f"histogram_quantile(0.95, sum by (le) (rate({buckets}[{window}]){self.join})) "
                f"* {_number(1000 * histogram.seconds_per_unit)}"
            )
        if metrics.latency_summary is not None:
            summary = metrics.latency_summary
            quantile = self._gauge((Series(summary.name, ('quantile="0.95"',)),), "max")
            return f"{quantile} * {_number(1000 * summary.seconds_per_unit)}"
        return None

    def error_ratio(self, window: str = "5m") -> str | None:
        """Share of requests that failed, 0..1 (NaN without traffic, so comparisons stay false)."""
        metrics = self.entry.metrics
        if not metrics.errors or not metrics.requests:
            return self.gateway_error_ratio(window)
        return f"({self._rate(metrics.errors, window)} / {self._rate(metrics.requests, window)})"

    def gateway_error_ratio(self, window: str = "5m") -> str | None:
        """Share of the predictor Service's requests the Gateway answered with a 5xx (None without a gateway selector)."""
        if self.gateway_selector is None:
            return None
        errors = f"sum(rate({_selection((ISTIO_GATEWAY.errors,), self.gateway_selector, '')}[{window}]))"
        requests = f"sum(rate({_selection((ISTIO_GATEWAY.requests,), self.gateway_selector, '')}[{window}]))"
        return f"({errors} / {requests})"

    def latency_bucket(self, threshold_ms: float) -> float | None:
        """The histogram bound (in its unit) the latency SLI counts as fast: the smallest bound >= the threshold."""
        histogram = self.entry.metrics.latency_histogram
        if histogram is None:
            return None
        threshold = threshold_ms / 1000 / histogram.seconds_per_unit
        for bound in histogram.buckets:
            if bound >= threshold - 1e-12:
                return bound
        return None

    def slow_ratio(self, threshold_ms: float, window: str) -> str | None:
        """Share of requests slower than the latency bucket at the threshold, 0..1 (histogram runtimes only)."""
        histogram = self.entry.metrics.latency_histogram
        bound = self.latency_bucket(threshold_ms)
        if histogram is None or bound is None:
            return None
        total = self._rate((Series(f"{histogram.name}_count"),), window)
        fast = self._rate((Series(f"{histogram.name}_bucket"),), window, f'le="{le_label(bound)}"')
        return f"(({total} - {fast}) / {total})"


def model_runtime(spec: ModelSpec) -> RuntimeEntry:
    """The catalogue entry of the runtime the model runs on (the spec validator has refused models without one)."""
    return select_runtime(spec.artifact.format, spec.serving.protocol, spec.serving.runtime)


def gateway_selector(gateway_namespace: str, namespace: str, isvc_name: str) -> str:
    """Label matcher for the shared Gateway's series about one InferenceService's predictor Service.

    `namespace` is the scrape target's (the Gateway's PodMonitor), so only the Gateway's Envoy counts.
    """
    return (
        f'namespace="{gateway_namespace}",{ISTIO_GATEWAY.service_namespace_label}="{namespace}",'
        f'{ISTIO_GATEWAY.service_label}="{isvc_name}{KSERVE_PREDICTOR_DEPLOYMENT_SUFFIX}"'
    )


def runtime_queries(
    entry: RuntimeEntry, namespace: str, isvc_name: str, gateway_namespace: str | None = None, deployment_mode: str = "standard"
) -> RuntimeQueries:
    """Queries over one InferenceService's predictor pods on its runtime.

    With `gateway_namespace`, a runtime without an error counter gets its error SLI from the Gateway
    (`error_sli_source`: standard mode only).
    """
    gateway = None
    if gateway_namespace is not None and error_sli_source(entry, deployment_mode) == "gateway":
        gateway = gateway_selector(gateway_namespace, namespace, isvc_name)
    return RuntimeQueries(entry, predictor_selector(namespace, isvc_name), gateway_selector=gateway)


def gpu_utilization_percent(namespace: str, isvc_name: str) -> str:
    """Average GPU utilisation of the predictor pods, in percent."""
    return f"avg({GPU_UTILIZATION}{{{predictor_selector(namespace, isvc_name)}}})"


def gpu_memory_ratio(namespace: str, isvc_name: str) -> str:
    """Highest framebuffer use among the predictor's GPUs, 0..1."""
    selector = predictor_selector(namespace, isvc_name)
    return (
        f"max({GPU_MEMORY_USED}{{{selector}}} / clamp_min({GPU_MEMORY_USED}{{{selector}}} + "
        f"{GPU_MEMORY_FREE}{{{selector}}}, 1))"
    )


def drift_level(model: str) -> str:
    """Drift level of each watched feature of the model (0 ok, 1 warn, 2 page)."""
    return f'max by (feature) ({DRIFT_LEVEL}{{model="{model}"}})'


def drift_statistic(model: str) -> str:
    """The drift figure of each watched feature of the model."""
    return f'max by (feature, statistic) ({DRIFT_STATISTIC}{{model="{model}"}})'


def drift_staleness_seconds(model: str) -> str:
    """Seconds since the model's drift detector last finished."""
    return f'time() - max({DRIFT_LAST_RUN}{{model="{model}"}})'
