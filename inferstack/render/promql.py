"""PromQL used by autoscaling and alerts, in one place.

Predictor metrics are KServe model-server metrics (`request_predict_seconds`
histogram, scraped by the team PodMonitor); GPU metrics come from the DCGM
exporter (ServiceMonitor with honorLabels, so `namespace`/`pod` are the
workload's). Queries select one InferenceService's predictor pods by name.
"""

from __future__ import annotations

from inferstack.constants import KSERVE_PREDICTOR_DEPLOYMENT_SUFFIX

PREDICT_HISTOGRAM = "request_predict_seconds"
GPU_UTILIZATION = "DCGM_FI_DEV_GPU_UTIL"
GPU_MEMORY_USED = "DCGM_FI_DEV_FB_USED"
GPU_MEMORY_FREE = "DCGM_FI_DEV_FB_FREE"
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


def requests_per_second(namespace: str, isvc_name: str) -> str:
    """Total predict requests per second."""
    return f"sum(rate({PREDICT_HISTOGRAM}_count{{{predictor_selector(namespace, isvc_name)}}}[1m]))"


def concurrency(namespace: str, isvc_name: str) -> str:
    """Requests in flight, by Little's law: seconds spent predicting per second."""
    return f"sum(rate({PREDICT_HISTOGRAM}_sum{{{predictor_selector(namespace, isvc_name)}}}[1m]))"


def latency_p95_ms(namespace: str, isvc_name: str, window: str = "2m") -> str:
    """95th-percentile predict latency in milliseconds."""
    return (
        f"histogram_quantile(0.95, sum by (le) (rate({PREDICT_HISTOGRAM}_bucket"
        f"{{{predictor_selector(namespace, isvc_name)}}}[{window}]))) * 1000"
    )


def error_ratio(namespace: str, isvc_name: str, window: str = "5m") -> str:
    """Share of predict requests that failed (HTTP 5xx), 0..1."""
    selector = predictor_selector(namespace, isvc_name)
    return (
        f'sum(rate({PREDICT_HISTOGRAM}_count{{{selector},code=~"5.."}}[{window}])) '
        f"/ clamp_min(sum(rate({PREDICT_HISTOGRAM}_count{{{selector}}}[{window}])), 1e-9)"
    )


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
