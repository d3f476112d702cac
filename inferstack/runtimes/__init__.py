"""The runtime catalogue of the KServe version we install, and model -> runtime selection."""

from inferstack.runtimes.catalogue import (
    DCGM_METRICS,
    KSERVE_VERSION,
    RUNTIMES,
    SIGNALS,
    Batching,
    LatencyHistogram,
    LatencySummary,
    RuntimeEntry,
    RuntimeMetrics,
    ScalingSignal,
    Series,
    Source,
)
from inferstack.runtimes.select import (
    BatchingPlan,
    NoRuntime,
    available_signals,
    batching_plan,
    candidates,
    runtime_by_name,
    scaling_problem,
    select_runtime,
)

__all__ = [
    "DCGM_METRICS",
    "KSERVE_VERSION",
    "RUNTIMES",
    "SIGNALS",
    "Batching",
    "BatchingPlan",
    "LatencyHistogram",
    "LatencySummary",
    "NoRuntime",
    "RuntimeEntry",
    "RuntimeMetrics",
    "ScalingSignal",
    "Series",
    "Source",
    "available_signals",
    "batching_plan",
    "candidates",
    "runtime_by_name",
    "scaling_problem",
    "select_runtime",
]
