"""The serving runtimes KServe v0.20.0 runs, as data: container, ports, metrics and batching.

One `RuntimeEntry` per ClusterServingRuntime we deploy models on. Every fact
cites where it was read (`Source`): KServe's runtime definitions
(kserve/kserve v0.20.0 `config/runtimes/`, and the `kserve-runtime-configs`
chart that installs them), and each server's own source at the version those
runtimes ship. Where a server's source contradicts KServe's prometheus
annotations, the catalogue follows the server and says so in `notes`.

Pure data: no Pulumi, no spec import (the spec validator imports this).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

KSERVE_VERSION = "v0.20.0"
"""The KServe release whose runtimes this catalogue describes (the platform installs its chart)."""

Protocol = Literal["v1", "v2"]
BatchingKind = Literal["kserve-batcher", "triton-dynamic", "mlserver-adaptive", "continuous", "none"]
ScalingSignal = Literal["concurrency", "rps", "latency", "gpu-utilization", "queue-depth", "kv-cache"]
SIGNALS: tuple[ScalingSignal, ...] = ("concurrency", "rps", "latency", "gpu-utilization", "queue-depth", "kv-cache")


@dataclass(frozen=True, slots=True)
class Source:
    """Where a fact was read: repository, tag (or commit) and path."""

    repo: str
    ref: str
    path: str

    def __str__(self) -> str:
        return f"{self.repo}@{self.ref}:{self.path}"


@dataclass(frozen=True, slots=True)
class Series:
    """One exported time series family, with label matchers that narrow it (e.g. `code=~"5.."`)."""

    name: str
    matchers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class LatencyHistogram:
    """A request-latency histogram: `<name>_bucket` with `le`, `<name>_count`, `<name>_sum`.

    `seconds_per_unit` converts its unit to seconds; `buckets` are its upper bounds in that unit.
    """

    name: str
    seconds_per_unit: float
    buckets: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class LatencySummary:
    """A request-latency summary with a `quantile` label (per pod; quantiles of pods cannot be summed)."""

    name: str
    seconds_per_unit: float
    quantiles: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class RuntimeMetrics:
    """What the runtime exports on its metrics endpoint, by role. Empty roles: the runtime does not export it.

    - requests: counters whose rates add up to finished requests per second;
    - errors: counters of failed requests (a subset of `requests`);
    - busy: a counter of request time (in `busy_seconds_per_unit`): its rate is the mean number in flight (Little's law);
    - in_flight: gauges that add up to requests in flight (queued + running);
    - queue: gauges of requests waiting;
    - kv_cache: a gauge of KV-cache use, 0..1.
    """

    requests: tuple[Series, ...] = ()
    errors: tuple[Series, ...] = ()
    latency_histogram: LatencyHistogram | None = None
    latency_summary: LatencySummary | None = None
    busy: Series | None = None
    busy_seconds_per_unit: float = 1.0
    in_flight: tuple[Series, ...] = ()
    queue: tuple[Series, ...] = ()
    kv_cache: Series | None = None

    def names(self) -> frozenset[str]:
        """Every metric name these roles use, as PromQL sees them (histogram/summary suffixes included)."""
        names: set[str] = {series.name for series in (*self.requests, *self.errors, *self.in_flight, *self.queue)}
        if self.busy is not None:
            names.add(self.busy.name)
        if self.kv_cache is not None:
            names.add(self.kv_cache.name)
        if self.latency_histogram is not None:
            base = self.latency_histogram.name
            names.update({f"{base}_bucket", f"{base}_count", f"{base}_sum"})
        if self.latency_summary is not None:
            base = self.latency_summary.name
            names.update({base, f"{base}_count", f"{base}_sum"})
        return frozenset(names)


@dataclass(frozen=True, slots=True)
class Batching:
    """How the runtime batches requests for one protocol, and how the spec's settings reach it."""

    kind: BatchingKind
    how: str


@dataclass(frozen=True, slots=True)
class RuntimeEntry:
    """One ClusterServingRuntime of KServe v0.20.0 and the truth about serving a model on it."""

    name: str
    server: str
    image: str
    formats: tuple[tuple[str, int], ...]
    """(model format, priority) pairs with autoSelect: true (KServe picks the highest priority)."""
    protocols: tuple[Protocol, ...]
    http_port: int
    grpc_port: int | None
    args: tuple[str, ...]
    metrics_port: int
    metrics_path: str
    annotated_metrics_port: int
    """What KServe's `prometheus.kserve.io/port` annotation says (may differ from the server's truth)."""
    metrics: RuntimeMetrics
    batching: tuple[tuple[Protocol, Batching], ...]
    sources: tuple[Source, ...]
    notes: tuple[str, ...] = ()
    extra_args: tuple[str, ...] = ()
    """Arguments we append to the runtime's (KServe concatenates runtime args + InferenceService args)."""
    extra_env: tuple[tuple[str, str], ...] = ()
    """Environment we add (KServe merges InferenceService env into the runtime container by name)."""
    dcgm: bool = field(default=True)
    """GPU metrics come from the DCGM exporter for every runtime on a GPU."""

    def batching_for(self, protocol: str) -> Batching:
        """How a model of that protocol batches on this runtime."""
        for candidate, batching in self.batching:
            if candidate == protocol:
                return batching
        return Batching("none", f"{self.name} does not batch {protocol} requests")

    def priority(self, model_format: str) -> int | None:
        """The runtime's priority for the format (None: it does not auto-select the format)."""
        for name, priority in self.formats:
            if name == model_format:
                return priority
        return None


# --- Sources ---------------------------------------------------------------------------------------

KSERVE = "kserve/kserve"
KSERVE_RUNTIMES = "config/runtimes"
KSERVE_PY_METRICS = Source(KSERVE, KSERVE_VERSION, "python/kserve/kserve/metrics.py")
KSERVE_PY_MODEL = Source(KSERVE, KSERVE_VERSION, "python/kserve/kserve/model.py")
KSERVE_BATCHER = Source(KSERVE, KSERVE_VERSION, "pkg/batcher/handler.go")
KSERVE_MERGE = Source(KSERVE, KSERVE_VERSION, "pkg/controller/v1beta1/inferenceservice/utils/utils.go")
KSERVE_SELECTION = Source(KSERVE, KSERVE_VERSION, "pkg/apis/serving/v1beta1/predictor_model.go")
KSERVE_CHART = Source(KSERVE, KSERVE_VERSION, "charts/kserve-runtime-configs/values.yaml")
DCGM_COUNTERS = Source("NVIDIA/dcgm-exporter", "4.2.3-4.1.1", "etc/default-counters.csv (deployment/values.yaml lists it)")

PROMETHEUS_CLIENT_DEFAULT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
"""prometheus_client's Histogram.DEFAULT_BUCKETS (KServe's request_predict_seconds and starlette_exporter use them)."""
VLLM_REQUEST_LATENCY_BUCKETS = (
    0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0,
)

KSERVE_BATCHER_V1 = Batching(
    "kserve-batcher",
    "KServe's batcher sidecar (predictor.batcher): merges v1 `instances` of :predict calls (pkg/batcher/handler.go)",
)

# --- KServe's own Python model server (sklearn, xgboost, lightgbm on v1) ------------------------------

KSERVE_PYTHON_METRICS = RuntimeMetrics(
    # request_predict_seconds{model_name}: observed around predict() for v1 and v2 (model.py __call__).
    # The histogram times failures too and KServe exports no error counter, so errors are not observable here.
    requests=(Series("request_predict_seconds_count"),),
    latency_histogram=LatencyHistogram("request_predict_seconds", 1.0, PROMETHEUS_CLIENT_DEFAULT_BUCKETS),
    busy=Series("request_predict_seconds_sum"),
)


def _kserve_python(name: str, server: str, model_format: str, image: str, args: tuple[str, ...]) -> RuntimeEntry:
    return RuntimeEntry(
        name=name,
        server=server,
        image=image,
        formats=((model_format, 1),),
        protocols=("v1", "v2"),
        http_port=8080,
        grpc_port=None,
        args=args,
        metrics_port=8080,
        metrics_path="/metrics",
        annotated_metrics_port=8080,
        metrics=KSERVE_PYTHON_METRICS,
        batching=(("v1", KSERVE_BATCHER_V1),),
        sources=(
            Source(KSERVE, KSERVE_VERSION, f"{KSERVE_RUNTIMES}/{name}.yaml"),
            KSERVE_CHART,
            KSERVE_PY_METRICS,
            KSERVE_PY_MODEL,
            KSERVE_BATCHER,
        ),
        notes=("No error counter: request_predict_seconds times failed requests too; the error SLO reads the Gateway's 5xx (ISTIO_GATEWAY).",),
    )


SKLEARN = _kserve_python(
    "kserve-sklearnserver", "kserve sklearnserver", "sklearn", "kserve/sklearnserver:v0.20.0",
    ("--model_name={{.Name}}", "--model_dir=/mnt/models", "--http_port=8080"),
)
XGBOOST = _kserve_python(
    "kserve-xgbserver", "kserve xgbserver", "xgboost", "kserve/xgbserver:v0.20.0",
    ("--model_name={{.Name}}", "--model_dir=/mnt/models", "--http_port=8080", "--nthread=1"),
)
LIGHTGBM = _kserve_python(
    "kserve-lgbserver", "kserve lgbserver", "lightgbm", "kserve/lgbserver:v0.20.0",
    ("--model_name={{.Name}}", "--model_dir=/mnt/models", "--http_port=8080", "--nthread=1"),
)

# --- MLServer (sklearn, xgboost, lightgbm on v2: priority 2 beats the KServe servers' 1) --------------

MLSERVER_SOURCE_TAG = "1.7.1"
MLSERVER = RuntimeEntry(
    name="kserve-mlserver",
    server="Seldon MLServer",
    image=f"docker.io/seldonio/mlserver:{MLSERVER_SOURCE_TAG}",
    formats=(("sklearn", 2), ("xgboost", 2), ("lightgbm", 2)),
    protocols=("v2",),
    http_port=8080,
    grpc_port=9000,
    args=(),
    metrics_port=8082,
    metrics_path="/metrics",
    annotated_metrics_port=8080,
    metrics=RuntimeMetrics(
        # mlserver/handlers/dataplane.py: Counters model_infer_request_success / _failure {model, version}.
        requests=(Series("model_infer_request_success_total"), Series("model_infer_request_failure_total")),
        errors=(Series("model_infer_request_failure_total"),),
        # mlserver/rest/app.py: starlette_exporter PrometheusMiddleware(prefix="rest_server").
        latency_histogram=LatencyHistogram("rest_server_request_duration_seconds", 1.0, PROMETHEUS_CLIENT_DEFAULT_BUCKETS),
        busy=Series("rest_server_request_duration_seconds_sum"),
        in_flight=(Series("rest_server_requests_in_progress"),),
        # mlserver/parallel/dispatcher.py: parallel_request_queue is a Histogram of queue sizes, not a gauge: no queue depth.
    ),
    batching=(
        (
            "v2",
            Batching(
                "mlserver-adaptive",
                "MLServer adaptive batching: env MLSERVER_MODEL_MAX_BATCH_SIZE / MLSERVER_MODEL_MAX_BATCH_TIME "
                "(seconds) on the predictor container (ModelSettings env prefix MLSERVER_MODEL_)",
            ),
        ),
    ),
    sources=(
        Source(KSERVE, KSERVE_VERSION, f"{KSERVE_RUNTIMES}/kserve-mlserver.yaml"),
        KSERVE_CHART,
        Source("SeldonIO/MLServer", MLSERVER_SOURCE_TAG, "mlserver/settings.py"),
        Source("SeldonIO/MLServer", MLSERVER_SOURCE_TAG, "mlserver/handlers/dataplane.py"),
        Source("SeldonIO/MLServer", MLSERVER_SOURCE_TAG, "mlserver/rest/app.py"),
        Source("SeldonIO/MLServer", MLSERVER_SOURCE_TAG, "mlserver/metrics/server.py"),
        # MLServer depends on starlette-exporter "*": metric names read at this commit.
        Source("stephenhillier/starlette_exporter", "00c9dc8a81d8da910a42982a6259cf45c45041e9", "starlette_exporter/middleware.py"),
    ),
    notes=(
        "KServe annotates port 8080, but MLServer serves /metrics on its own metrics server, "
        "settings.metrics_port = 8082 (mlserver/settings.py, 1.5.0 and 1.7.1); we scrape 8082.",
        "The kserve-runtime-configs chart (values.yaml) pins mlserver 1.5.0, config/runtimes 1.7.1: the metric names are the same in both.",
        "rest_server_* (starlette_exporter) cover every REST path but health and /metrics; model_infer_request_* count inferences only.",
        "Batching env applies when the artifact has no model-settings.json setting max_batch_size/max_batch_time (the file wins).",
    ),
)

# --- Triton (onnx, tensorflow, triton on v2) -------------------------------------------------------

TRITON_TAG = "r23.05"
TRITON = RuntimeEntry(
    name="kserve-tritonserver",
    server="NVIDIA Triton Inference Server 23.05 (2.34.0)",
    image="nvcr.io/nvidia/tritonserver:23.05-py3",
    formats=(("onnx", 1), ("tensorflow", 1), ("triton", 1)),
    protocols=("v2",),
    http_port=8080,
    grpc_port=9000,
    args=("tritonserver", "--model-store=/mnt/models", "--grpc-port=9000", "--http-port=8080", "--allow-grpc=true", "--allow-http=true"),
    metrics_port=8002,
    metrics_path="/metrics",
    annotated_metrics_port=8002,
    metrics=RuntimeMetrics(
        # src/metrics.cc: per-model counters {model, version}; latencies are cumulative microsecond counters.
        requests=(Series("nv_inference_request_success"), Series("nv_inference_request_failure")),
        errors=(Series("nv_inference_request_failure"),),
        busy=Series("nv_inference_request_duration_us"),
        busy_seconds_per_unit=1e-6,
        # Summaries exist only with --metrics-config summary_latencies=true (default quantiles include 0.95).
        latency_summary=LatencySummary("nv_inference_request_summary_us", 1e-6, (0.5, 0.9, 0.95, 0.99, 0.999)),
    ),
    batching=(
        (
            "v2",
            Batching(
                "triton-dynamic",
                "Triton dynamic batching: arg --backend-config=default-max-batch-size=N; the ONNX Runtime and "
                "TensorFlow backends then auto-complete the model config with max_batch_size N and dynamic_batching "
                "(no config.pbtxt needed in KServe's /mnt/models layout)",
            ),
        ),
    ),
    sources=(
        Source(KSERVE, KSERVE_VERSION, f"{KSERVE_RUNTIMES}/kserve-tritonserver.yaml"),
        KSERVE_CHART,
        Source("triton-inference-server/core", TRITON_TAG, "src/metrics.cc"),
        Source("triton-inference-server/core", TRITON_TAG, "src/metric_model_reporter.h"),
        Source("triton-inference-server/server", TRITON_TAG, "docs/user_guide/metrics.md"),
        Source("triton-inference-server/server", TRITON_TAG, "docs/user_guide/model_configuration.md"),
        Source("triton-inference-server/server", TRITON_TAG, "src/command_line_parser.cc"),
        KSERVE_MERGE,
    ),
    notes=(
        "23.05 has no latency histogram and no pending-request gauge: p95 comes from the summary (worst pod), "
        "in-flight requests from the request-duration counter (Little's law).",
        "A format `triton` repository brings its own config.pbtxt: batching is set there, not in the spec.",
    ),
    extra_args=("--metrics-config=summary_latencies=true",),
)

# --- TorchServe (pytorch on v1 and v2: priority 2; Triton lists pytorch without autoSelect) -----------

TORCHSERVE_TAG = "v0.9.0"
TORCHSERVE = RuntimeEntry(
    name="kserve-torchserve",
    server="TorchServe 0.9.0 (pytorch/torchserve-kfs)",
    image="pytorch/torchserve-kfs:0.9.0",
    formats=(("pytorch", 2),),
    protocols=("v1", "v2"),
    http_port=8080,
    grpc_port=None,
    args=("torchserve", "--start", "--model-store=/mnt/models/model-store", "--ts-config=/mnt/models/config/config.properties"),
    metrics_port=8082,
    metrics_path="/metrics",
    annotated_metrics_port=8082,
    metrics=RuntimeMetrics(
        # ts/configs/metrics.yaml: frontend counters {model_name, model_version, hostname}; Requests5XX {Level, Hostname}.
        requests=(Series("ts_inference_requests_total"),),
        errors=(Series("Requests5XX"),),
        busy=Series("ts_inference_latency_microseconds"),
        busy_seconds_per_unit=1e-6,
    ),
    batching=(
        ("v1", KSERVE_BATCHER_V1),
        (
            "v2",
            Batching(
                "none",
                "TorchServe batches v2 requests by batchSize/maxBatchDelay in the artifact's config.properties "
                "(model_snapshot), which KServe does not set",
            ),
        ),
    ),
    sources=(
        Source(KSERVE, KSERVE_VERSION, f"{KSERVE_RUNTIMES}/kserve-torchserve.yaml"),
        KSERVE_CHART,
        Source("pytorch/serve", TORCHSERVE_TAG, "ts/configs/metrics.yaml"),
        Source("pytorch/serve", TORCHSERVE_TAG, "docs/metrics.md"),
        Source("pytorch/serve", TORCHSERVE_TAG, "kubernetes/kserve/config.properties"),
    ),
    notes=(
        "Prometheus format needs metrics_mode=prometheus: we set TS_METRICS_MODE, which TorchServe reads when the "
        "artifact's config.properties has enable_envvars_config=true (KServe's sample does) and metrics_address on 0.0.0.0:8082.",
        "No latency histogram: scaling on latency is not available. v2 batching lives in config.properties (batchSize, maxBatchDelay).",
    ),
    extra_env=(("TS_METRICS_MODE", "prometheus"),),
)

# --- TensorFlow Serving (tensorflow on v1) ---------------------------------------------------------

TFSERVING = RuntimeEntry(
    name="kserve-tensorflow-serving",
    server="TensorFlow Serving 2.6.2",
    image="tensorflow/serving:2.6.2",
    formats=(("tensorflow", 2),),
    protocols=("v1",),
    http_port=8080,
    grpc_port=9000,
    args=("--model_name={{.Name}}", "--port=9000", "--rest_api_port=8080", "--model_base_path=/mnt/models", "--rest_api_timeout_in_ms=60000"),
    metrics_port=8080,
    metrics_path="/metrics",
    annotated_metrics_port=8080,
    metrics=RuntimeMetrics(),
    batching=(("v1", KSERVE_BATCHER_V1),),
    sources=(Source(KSERVE, KSERVE_VERSION, f"{KSERVE_RUNTIMES}/kserve-tensorflow-serving.yaml"), KSERVE_CHART, KSERVE_BATCHER),
    notes=(
        "KServe annotates 8080 /metrics, but TensorFlow Serving exports Prometheus metrics only with "
        "--monitoring_config_file, which the runtime does not pass: no request metrics (serve tensorflow on v2/Triton for them).",
    ),
)

# --- Hugging Face server with the vLLM backend (huggingface on v1 and v2) -----------------------------

VLLM_VERSION = "0.24.0"
HUGGINGFACE = RuntimeEntry(
    name="kserve-huggingfaceserver",
    server=f"KServe huggingfaceserver (vLLM {VLLM_VERSION} backend)",
    image="kserve/huggingfaceserver:v0.20.0",
    formats=(("huggingface", 1),),
    protocols=("v1", "v2"),
    http_port=8080,
    grpc_port=None,
    args=("--model_name={{.Name}}",),
    metrics_port=8080,
    metrics_path="/metrics",
    annotated_metrics_port=8080,
    metrics=RuntimeMetrics(
        # vllm/v1/metrics/loggers.py PrometheusStatLogger registers in prometheus_client's REGISTRY, in the
        # KServe process; KServe's /metrics (protocol/rest/server.py) exposes that REGISTRY.
        requests=(Series("vllm:request_success_total"),),
        latency_histogram=LatencyHistogram("vllm:e2e_request_latency_seconds", 1.0, VLLM_REQUEST_LATENCY_BUCKETS),
        in_flight=(Series("vllm:num_requests_running"), Series("vllm:num_requests_waiting")),
        queue=(Series("vllm:num_requests_waiting"),),
        kv_cache=Series("vllm:kv_cache_usage_perc"),
    ),
    batching=(
        ("v1", Batching("continuous", "vLLM continuous batching (always on; the spec's batching settings do not apply)")),
        ("v2", Batching("continuous", "vLLM continuous batching (always on; the spec's batching settings do not apply)")),
    ),
    sources=(
        Source(KSERVE, KSERVE_VERSION, f"{KSERVE_RUNTIMES}/kserve-huggingfaceserver.yaml"),
        KSERVE_CHART,
        Source(KSERVE, KSERVE_VERSION, "python/kserve/pyproject.toml (llm extra: vllm==0.24.0)"),
        Source(KSERVE, KSERVE_VERSION, "python/huggingfaceserver/huggingfaceserver/vllm/vllm_model.py"),
        Source(KSERVE, KSERVE_VERSION, "python/kserve/kserve/protocol/rest/server.py"),
        Source("vllm-project/vllm", "005a810bc40faa25b8870fbc8559c3462581eee3", "vllm/v1/metrics/loggers.py"),
    ),
    notes=(
        "--backend=vllm is passed so the vLLM metrics exist (the huggingface backend would export only request_predict_seconds).",
        "Tensor parallel: vllm_model.py sets tensor_parallel_size to torch.cuda.device_count(), i.e. gpus_per_replica; "
        "we also pass --tensor-parallel-size explicitly.",
        "vLLM metric names read at vllm commit 005a810 (the v0.24.0 tag could not be mirrored): "
        "num_requests_running/waiting, kv_cache_usage_perc, request_success, e2e_request_latency_seconds.",
        "No error counter (request_success counts finished requests by finish reason): the error SLO reads the Gateway's 5xx (ISTIO_GATEWAY).",
    ),
    extra_args=("--backend=vllm",),
)

RUNTIMES: tuple[RuntimeEntry, ...] = (SKLEARN, XGBOOST, LIGHTGBM, MLSERVER, TRITON, TORCHSERVE, TFSERVING, HUGGINGFACE)
"""Every runtime of KServe v0.20.0 that a format of the spec language can land on."""

DCGM_GPU_UTILIZATION = "DCGM_FI_DEV_GPU_UTIL"
DCGM_FB_USED = "DCGM_FI_DEV_FB_USED"
DCGM_FB_FREE = "DCGM_FI_DEV_FB_FREE"
DCGM_METRICS = frozenset({DCGM_GPU_UTILIZATION, DCGM_FB_USED, DCGM_FB_FREE})
"""DCGM exporter default counters we use (gauges with the workload's namespace/pod labels)."""

# --- The serving Gateway's Envoy (Istio 1.30.3): the error SLI of runtimes without an error counter -----

ISTIO_TAG = "1.30.3"
ErrorSliSource = Literal["runtime", "gateway", "none"]


@dataclass(frozen=True, slots=True)
class GatewayMetrics:
    """Request metrics the shared Gateway's Envoy reports per backend Service (Istio standard metrics).

    The Gateway is the client of a predictor Service, so its Envoy reports with reporter="source" and
    names the Service (`destination_service_name`, `destination_service_namespace`) from the endpoint
    metadata, also when the predictor pod runs outside the mesh. `response_code` is the HTTP status the
    Gateway returned, so 5xx counts the runtime's own failures and the Gateway's (no ready endpoint: 503).
    """

    requests: Series
    errors: Series
    service_label: str
    service_namespace_label: str
    pod_label: str
    """Label of the Gateway's Envoy pods naming their Gateway (Istio's automated deployment sets it)."""
    port_name: str
    port: int
    path: str
    sources: tuple[Source, ...]
    notes: tuple[str, ...]

    def names(self) -> frozenset[str]:
        """Every metric name of the gateway SLI."""
        return frozenset({self.requests.name, self.errors.name})


ISTIO_GATEWAY = GatewayMetrics(
    requests=Series("istio_requests_total", ('reporter="source"',)),
    errors=Series("istio_requests_total", ('reporter="source"', 'response_code=~"5.."')),
    service_label="destination_service_name",
    service_namespace_label="destination_service_namespace",
    pod_label="gateway.networking.k8s.io/gateway-name",
    port_name="http-envoy-prom",
    port=15090,
    path="/stats/prometheus",
    sources=(
        # REQUEST_COUNT -> istio_requests_total (metricToPrometheusMetric, the stats filter's Prometheus names).
        Source("istio/istio", ISTIO_TAG, "pilot/pkg/model/telemetry.go"),
        # Gateway pods: label gateway.networking.k8s.io/gateway-name, container istio-proxy, port 15090 http-envoy-prom.
        Source("istio/istio", ISTIO_TAG, "manifests/charts/istio-control/istio-discovery/files/kube-gateway.yaml"),
        # A gateway's requests: istio_requests_total{source_workload="istio-ingressgateway", reporter="source"}.
        Source("istio/istio", ISTIO_TAG, "manifests/addons/dashboards/istio-performance-dashboard.json"),
        # Error share: istio_requests_total{reporter=~"source|waypoint",response_code=~"5.."}.
        Source("istio/istio", ISTIO_TAG, "manifests/addons/dashboards/istio-mesh-dashboard.gen.json"),
        # Labels destination_service_name / destination_service_namespace / response_code, also for an out-of-mesh server.
        Source("istio/istio", ISTIO_TAG, "tests/integration/telemetry/api/stats_test.go"),
        # KServe's HTTPRoute (standard mode) sends a model's traffic to the Service <isvc>-predictor.
        Source(KSERVE, KSERVE_VERSION, "pkg/controller/v1beta1/inferenceservice/reconcilers/ingress/httproute_reconciler.go"),
    ),
    notes=(
        "Used for the error SLO of runtimes that export no error counter (KServe's Python servers, vLLM, TensorFlow Serving), "
        "in standard mode, where a model's traffic enters through the shared Gateway and reaches the Service <isvc>-predictor.",
        "Requests that never pass the Gateway (in-cluster callers of the predictor Service) are not counted.",
    ),
)
"""The shared Gateway (Gateway API, Istio 1.30.3) as a metrics source; the Gateway's PodMonitor scrapes it."""


def error_sli_source(entry: RuntimeEntry, deployment_mode: str) -> ErrorSliSource:
    """Where a model's error SLI comes from: its runtime's error counter, else the Gateway (standard mode only).

    Serverless (Knative) traffic enters through Knative's own ingress and reaches revision Services, not the shared
    Gateway's route to `<isvc>-predictor`, so the Gateway's per-Service counts do not cover the model there.
    """
    if entry.metrics.errors and entry.metrics.requests:
        return "runtime"
    return "gateway" if deployment_mode == "standard" else "none"
