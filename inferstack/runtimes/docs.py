"""docs/runtimes.md, generated from the runtime catalogue: `uv run python -m inferstack.runtimes.docs > docs/runtimes.md`."""

from __future__ import annotations

import sys

from inferstack.runtimes.catalogue import ISTIO_GATEWAY, KSERVE_VERSION, RUNTIMES, RuntimeEntry, Series, error_sli_source
from inferstack.runtimes.select import NoRuntime, available_signals, select_runtime

FORMATS = ("onnx", "pytorch", "tensorflow", "sklearn", "xgboost", "lightgbm", "triton", "huggingface")
"""The spec language's model formats (inferstack.spec.model.ModelFormat), in its order."""

HEADER = f"""# Serving runtimes (KServe {KSERVE_VERSION})

Generated from `inferstack/runtimes/` by `uv run python -m inferstack.runtimes.docs > docs/runtimes.md`;
a test fails when this file and the catalogue disagree.

Each model runs on the ClusterServingRuntime KServe {KSERVE_VERSION} selects for its format and
protocol (highest priority among runtimes that auto-select the format and speak the protocol),
and inferstack pins that runtime by name in the InferenceService. Scrape targets, KEDA
scaling queries, SLO and burn-rate alerts, candidate-vs-stable alerts and dashboards read
the metric names of that runtime only; GPU signals come from the DCGM exporter's default
counters (`DCGM_FI_DEV_GPU_UTIL`, `DCGM_FI_DEV_FB_USED`, `DCGM_FI_DEV_FB_FREE`).
A `scaling.metric` the runtime does not export is refused (exit 2) with the alternatives,
except concurrency and rps in serverless mode, which Knative measures itself.

LLMs (format huggingface) run as InferenceServices on `kserve-huggingfaceserver` with
`--backend=vllm` and tensor parallel = `gpus_per_replica`, scaling through KEDA on
`queue-depth` (`vllm:num_requests_waiting`), `kv-cache` (`vllm:kv_cache_usage_perc`) or
concurrency. KServe {KSERVE_VERSION} also has LLMInferenceService (v1alpha2), but its
`spec.scaling` offers only min/max replicas (minimum 1: no scale to zero) and the Workload
Variant Autoscaler's HPA, not KServe's KEDA `autoScaling` metrics, and it brings its own
router; our rollouts, scaling signals and alerts fit the InferenceService better, so it is
not used (checked against `crds/kserve-{KSERVE_VERSION}/serving.kserve.io_llminferenceservices.yaml`).
"""

MODEL_CACHING = f"""KServe {KSERVE_VERSION} (paths below are kserve/kserve at that tag) caches models on nodes through `LocalModelCache` (cluster-scoped: `sourceModelUri`,
`modelSize`, `nodeGroups`) and `LocalModelNodeGroup` (`storageLimit` per node, a PersistentVolume spec whose
node affinity picks the nodes, a PersistentVolumeClaim spec). Its ISVC defaulter marks an InferenceService as
cached when the storage URI equals the cache's `sourceModelUri` or lies below it and the `serving.kserve.io/nodegroup`
annotation (if any) names one of its node groups (`pkg/apis/serving/v1beta1/inference_service_defaults.go`,
`setLocalModelLabel`; `pkg/apis/serving/v1alpha1/storage_uri_utils.go`, `MatchStorageURI`); the pod webhook then
mounts the cache's PVC instead of downloading, without waiting for the download
(`pkg/webhook/admission/pod/storage_initializer_injector.go`). The download itself is a Job the node agent starts
per node with only a `kubernetes.io/hostname` node selector and no tolerations
(`pkg/controller/v1alpha1/localmodelnode/controller.go`; `platform_default.go` adds nothing), in the
`kserve-localmodel-jobs` namespace under its `default` ServiceAccount. Every inferstack GPU pool carries the
`nvidia.com/gpu=true:NoSchedule` taint, so on the nodes where LLMs run the download Job stays Pending while the
predictor already mounts the empty cache: **inferstack renders no model caches for KServe {KSERVE_VERSION}**, and
leaves `kserve.localmodel.enabled` (chart kserve-resources: it only writes `localModel.enabled` into the
inferenceservice-config ConfigMap; the controller, node agent and CRDs come from the separate charts
kserve-localmodel-resources and kserve-localmodel-crd) off. Tolerations for the download Job are kserve/kserve
issue #5348 (pull request #5653 adds them to `LocalModelNodeGroup`), not in {KSERVE_VERSION}; with them, a
`LocalModelNodeGroup` per GPU pool (PV node affinity on the pool label, the pool's taints tolerated) and a
`LocalModelCache` per LLM storage URI become possible.
"""


def _names(series: tuple[Series, ...]) -> str:
    return ", ".join(f"`{item.name}{'{' + ','.join(item.matchers) + '}' if item.matchers else ''}`" for item in series) or "-"


def _latency(entry: RuntimeEntry) -> str:
    metrics = entry.metrics
    if metrics.latency_histogram is not None:
        return f"`{metrics.latency_histogram.name}` (histogram)"
    if metrics.latency_summary is not None:
        return f"`{metrics.latency_summary.name}` (summary, quantile 0.95)"
    return "-"


def _in_flight(entry: RuntimeEntry) -> str:
    metrics = entry.metrics
    if metrics.in_flight:
        return _names(metrics.in_flight)
    if metrics.busy is not None:
        return f"rate(`{metrics.busy.name}`) (Little's law)"
    return "-"


def _errors(entry: RuntimeEntry) -> str:
    if error_sli_source(entry, "standard") == "runtime":
        return _names(entry.metrics.errors)
    return f"none; the Gateway's {_names((ISTIO_GATEWAY.errors,))} (standard mode)"


def gateway_section() -> str:
    """Where the error SLI of runtimes without an error counter comes from: the shared Gateway's Envoy."""
    parts = [
        "Runtimes without an error counter get their error SLO (threshold and burn-rate alerts) from the shared "
        f"Gateway: `{ISTIO_GATEWAY.errors.name}` with `{ISTIO_GATEWAY.service_namespace_label}` and "
        f"`{ISTIO_GATEWAY.service_label}` naming the model's `<isvc>-predictor` Service, scraped by a PodMonitor on "
        f"the Gateway's Envoy pods (label `{ISTIO_GATEWAY.pod_label}`, port {ISTIO_GATEWAY.port} "
        f"`{ISTIO_GATEWAY.port_name}`, `{ISTIO_GATEWAY.path}`). Serverless models on such runtimes have no error SLI.\n",
    ]
    parts.extend(f"- {note}" for note in ISTIO_GATEWAY.notes)
    parts.extend(f"- source: `{source}`" for source in ISTIO_GATEWAY.sources)
    return "\n".join(parts) + "\n"


def formats_table() -> str:
    """Format x protocol -> runtime, metrics endpoint, scaling signals, batching."""
    lines = [
        "| format | protocol | runtime | metrics endpoint | scaling signals (standard mode) | batching |",
        "|---|---|---|---|---|---|",
    ]
    for model_format in FORMATS:
        for protocol in ("v1", "v2"):
            try:
                entry = select_runtime(model_format, protocol)
            except NoRuntime:
                lines.append(f"| {model_format} | {protocol} | none (refused) | - | - | - |")
                continue
            signals = ", ".join([*available_signals(entry, has_gpu=False), "gpu-utilization (GPU models)"])
            batching = entry.batching_for(protocol)
            lines.append(
                f"| {model_format} | {protocol} | `{entry.name}` | :{entry.metrics_port}{entry.metrics_path} | "
                f"{signals} | {batching.kind}: {batching.how} |"
            )
    return "\n".join(lines) + "\n"


def metrics_table() -> str:
    """Runtime -> the metric names behind each role."""
    lines = [
        "| runtime | server | requests | errors | latency | in flight | queue | KV cache |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for entry in RUNTIMES:
        metrics = entry.metrics
        lines.append(
            f"| `{entry.name}` | {entry.server} (`{entry.image}`) | {_names(metrics.requests)} | {_errors(entry)} | "
            f"{_latency(entry)} | {_in_flight(entry)} | {_names(metrics.queue)} | "
            f"{_names((metrics.kv_cache,)) if metrics.kv_cache else '-'} |"
        )
    return "\n".join(lines) + "\n"


def sources_section() -> str:
    """Per runtime: its sources and notes (where upstream contradicts KServe's annotations, and why)."""
    parts: list[str] = []
    for entry in RUNTIMES:
        parts.append(f"### `{entry.name}`\n")
        if entry.extra_args or entry.extra_env:
            added = [f"`{arg}`" for arg in entry.extra_args] + [f"`{key}={value}`" for key, value in entry.extra_env]
            parts.append(f"Added to the runtime container: {', '.join(added)}.\n")
        parts.extend(f"- {note}" for note in entry.notes)
        parts.extend(f"- source: `{source}`" for source in entry.sources)
        parts.append("")
    return "\n".join(parts)


def runtimes_markdown() -> str:
    """The whole of docs/runtimes.md."""
    return (
        f"{HEADER}\n## Runtime per format and protocol\n\n{formats_table()}\n"
        f"## Metric names per runtime\n\n{metrics_table()}\n## Error SLI from the Gateway\n\n{gateway_section()}\n"
        f"## Model caching (LocalModelCache)\n\n{MODEL_CACHING}\n## Sources and notes\n\n{sources_section()}"
    )


if __name__ == "__main__":
    sys.stdout.write(runtimes_markdown())
