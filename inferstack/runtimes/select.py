"""Which runtime KServe v0.20.0 gives a model, what scaling signals it offers, and how its batching is set.

Selection follows KServe's own (pkg/apis/serving/v1beta1/predictor_model.go,
GetSupportingRuntimes): runtimes that auto-select the model format and support
its protocol, highest priority first. We then pin that runtime by name in the
InferenceService, so the runtime the monitoring assumes is the one that runs.
"""

from __future__ import annotations

from dataclasses import dataclass

from inferstack.runtimes.catalogue import RUNTIMES, SIGNALS, Batching, RuntimeEntry, ScalingSignal


class NoRuntime(ValueError):
    """No runtime of the catalogue serves the format with that protocol (or the named runtime is unknown)."""


def runtime_by_name(name: str) -> RuntimeEntry | None:
    """The catalogue entry of a ClusterServingRuntime name, if we know it."""
    for entry in RUNTIMES:
        if entry.name == name:
            return entry
    return None


def candidates(model_format: str, protocol: str) -> list[RuntimeEntry]:
    """Runtimes that auto-select the format and speak the protocol, best first (KServe's order)."""
    found = [entry for entry in RUNTIMES if entry.priority(model_format) is not None and protocol in entry.protocols]
    return sorted(found, key=lambda entry: -(entry.priority(model_format) or 0))


def protocols_for(model_format: str) -> list[str]:
    """Protocols some runtime serves the format with."""
    return [protocol for protocol in ("v1", "v2") if candidates(model_format, protocol)]


def select_runtime(model_format: str, protocol: str, runtime: str | None = None) -> RuntimeEntry:
    """The runtime a model of that format and protocol runs on. Raises NoRuntime with what would work."""
    if runtime is not None:
        entry = runtime_by_name(runtime)
        if entry is None:
            known = ", ".join(entry.name for entry in RUNTIMES)
            raise NoRuntime(
                f"runtime {runtime} is not in the runtime catalogue of KServe v0.20.0, so its metrics are unknown; "
                f"expected one of: {known}, or no runtime (KServe picks one for the format)"
            )
        if entry.priority(model_format) is None:
            raise NoRuntime(f"runtime {runtime} does not serve format {model_format}; expected a runtime that lists it")
        if protocol not in entry.protocols:
            raise NoRuntime(
                f"runtime {runtime} does not speak protocol {protocol}; expected protocol {' or '.join(entry.protocols)}"
            )
        return entry
    found = candidates(model_format, protocol)
    if not found:
        others = protocols_for(model_format)
        raise NoRuntime(
            f"no KServe v0.20.0 runtime serves format {model_format} with protocol {protocol}; expected protocol "
            f"{' or '.join(others) if others else '(none: the format has no runtime)'}"
        )
    return found[0]


def available_signals(entry: RuntimeEntry, has_gpu: bool) -> tuple[ScalingSignal, ...]:
    """Scaling signals the runtime (plus DCGM on a GPU) can provide, in the catalogue's order."""
    metrics = entry.metrics
    present: dict[ScalingSignal, bool] = {
        "concurrency": bool(metrics.in_flight) or metrics.busy is not None,
        "rps": bool(metrics.requests),
        "latency": metrics.latency_histogram is not None or metrics.latency_summary is not None,
        "gpu-utilization": has_gpu and entry.dcgm,
        "queue-depth": bool(metrics.queue),
        "kv-cache": metrics.kv_cache is not None,
    }
    return tuple(signal for signal in SIGNALS if present[signal])


@dataclass(frozen=True, slots=True)
class BatchingPlan:
    """How the spec's batching reaches the runtime: a KServe batcher, container args, or env."""

    kind: str
    kserve_batcher: bool = False
    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()


def batching_plan(entry: RuntimeEntry, model_format: str, protocol: str, max_batch_size: int, max_latency_ms: int) -> BatchingPlan:
    """The settings that make the spec's batching take effect on the runtime. Raises ValueError where it cannot batch."""
    batching: Batching = entry.batching_for(protocol)
    if batching.kind == "kserve-batcher":
        return BatchingPlan(batching.kind, kserve_batcher=True)
    if batching.kind == "triton-dynamic":
        if model_format == "triton":
            raise ValueError(
                "format triton brings its own model repository: batching is set by dynamic_batching in its config.pbtxt; "
                "expected no serving.batching"
            )
        # Triton's auto-completed dynamic batcher has max_queue_delay_microseconds 0: no request waits for a batch
        # to fill, which honours max_latency_ms as an upper bound.
        return BatchingPlan(batching.kind, args=(f"--backend-config=default-max-batch-size={max_batch_size}",))
    if batching.kind == "mlserver-adaptive":
        return BatchingPlan(
            batching.kind,
            env=(
                ("MLSERVER_MODEL_MAX_BATCH_SIZE", str(max_batch_size)),
                ("MLSERVER_MODEL_MAX_BATCH_TIME", f"{max_latency_ms / 1000:g}"),
            ),
        )
    if batching.kind == "continuous":
        raise ValueError(f"{entry.name} batches continuously (vLLM) on its own; expected no serving.batching")
    alternatives = [other for other in ("v1", "v2") if other in entry.protocols and entry.batching_for(other).kind != "none"]
    hint = f", or protocol {alternatives[0]}" if alternatives else ""
    raise ValueError(f"{entry.name} cannot batch {protocol} requests: {batching.how}; expected no serving.batching{hint}")


def scaling_problem(
    model_format: str, protocol: str, runtime: str | None, metric: str, has_gpu: bool, knative: bool
) -> str | None:
    """Why the model's runtime cannot provide its scaling metric (None when it can).

    Knative (serverless) scales concurrency and rps from its queue-proxy, whatever the runtime.
    """
    if knative and metric in ("concurrency", "rps"):
        return None
    try:
        entry = select_runtime(model_format, protocol, runtime)
    except NoRuntime as error:
        return str(error)
    signals = available_signals(entry, has_gpu)
    if metric in signals:
        return None
    return (
        f"metric {metric} is not exported by runtime {entry.name} ({model_format}, protocol {protocol}); "
        f"expected one of: {', '.join(signals) or 'none (this runtime exports no scaling signal)'}"
        + (", or protocol v2 (Triton)" if entry.name == "kserve-tensorflow-serving" else "")
    )
