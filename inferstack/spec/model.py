"""The model spec language: what a model team states about one model.

Every model forbids unknown fields, every field carries a description and
bounds, and cross-field rules say what was given and what is expected.
Python specs and YAML specs both end up here.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from inferstack.accelerators import GPUS, GpuType, gpu_memory_gib
from inferstack.constants import Environment
from inferstack.runtimes import NoRuntime, batching_plan, select_runtime
from inferstack.spec.drift import DriftSpec, check_drift_features

DNS_LABEL = r"^[a-z]([-a-z0-9]*[a-z0-9])?$"
"""A Kubernetes DNS-1035 label: lowercase letters, digits and '-', starting with a letter."""

ModelName = Annotated[
    str,
    Field(
        min_length=2,
        max_length=40,
        pattern=DNS_LABEL,
        description="Kubernetes-safe name (DNS-1035 label, at most 40 characters so derived names fit in 63).",
    ),
]
TeamName = Annotated[
    str,
    Field(min_length=2, max_length=30, pattern=DNS_LABEL, description="Team name, a DNS-1035 label."),
]
Version = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
        description="Artifact version, e.g. 1.4.0 or 2024-06-01 (letters, digits, '.', '_', '-').",
    ),
]

ModelFormat = Literal[
    "onnx", "pytorch", "tensorflow", "sklearn", "xgboost", "lightgbm", "triton", "huggingface"
]
TensorDType = Literal[
    "float32", "float16", "bfloat16", "float64", "int8", "uint8", "int32", "int64", "bool", "string"
]
ScalingMetric = Literal["concurrency", "rps", "gpu-utilization", "latency", "queue-depth", "kv-cache"]
SpotPreference = Literal["required", "preferred", "never"]
RolloutStrategy = Literal["direct", "canary", "blue-green", "shadow", "ab"]
ApprovalStage = Literal["none", "staging", "prod", "archived"]
DeploymentMode = Literal["standard", "serverless"]


class StrictModel(BaseModel):
    """Base for every spec model: unknown fields are errors."""

    model_config = ConfigDict(extra="forbid")


class Artifact(StrictModel):
    """Where the model's files live and what they are."""

    storage_uri: str | None = Field(
        default=None,
        pattern=r"^(s3|gs|pvc|hf|https)://[^\s]+$",
        max_length=1024,
        description="Location of the model files (s3://, gs://, pvc://, hf://, https://). Default: the environment's "
        "model store, s3://<bucket>/models/<team>/<name>/<version>/, where `inferstack publish` puts it.",
    )
    format: ModelFormat = Field(description="Serialization format; onnx is gated by `inferstack gate`.")
    version: Version
    sha256: str | None = Field(
        default=None,
        pattern=r"^[0-9a-f]{64}$",
        description="Optional SHA-256 of the artifact (64 lowercase hex digits), checked on publish.",
    )


class TensorSpec(StrictModel):
    """One named input or output tensor of the model's signature."""

    name: str = Field(min_length=1, max_length=128, description="Tensor name as the model declares it.")
    dtype: TensorDType = Field(description="Element type.")
    shape: list[int | None] = Field(
        min_length=0,
        max_length=8,
        description="Dimensions; null (or -1) for a dynamic dimension such as the batch.",
    )
    columns: list[Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z_][A-Za-z0-9_.:-]*$")]] | None = Field(
        default=None,
        max_length=4096,
        description="Tabular inputs of shape [batch, N]: the names of the N columns, in order (drift watches them by name).",
    )

    @field_validator("shape")
    @classmethod
    def _dims_positive(cls, shape: list[int | None]) -> list[int | None]:
        for index, dim in enumerate(shape):
            if dim is not None and dim != -1 and dim < 1:
                raise ValueError(f"shape[{index}] is {dim}; expected a positive size, or null/-1 for a dynamic dimension")
        return [None if dim == -1 else dim for dim in shape]

    @model_validator(mode="after")
    def _columns_fit_shape(self) -> TensorSpec:
        if self.columns is None:
            return self
        if len(self.shape) != 2 or self.shape[1] is None:
            raise ValueError(
                f"columns given for shape {self.shape}; expected a tabular shape [batch, N] with a fixed N"
            )
        if len(self.columns) != self.shape[1]:
            raise ValueError(f"columns has {len(self.columns)} names for shape[1] {self.shape[1]}; expected {self.shape[1]}")
        if len(set(self.columns)) != len(self.columns):
            raise ValueError("columns repeat a name; expected distinct column names")
        return self


class Signature(StrictModel):
    """The model's declared inputs and outputs, checked by the model gate."""

    inputs: list[TensorSpec] = Field(min_length=1, max_length=64, description="Input tensors.")
    outputs: list[TensorSpec] = Field(min_length=1, max_length=64, description="Output tensors.")


class Batching(StrictModel):
    """Server-side request batching, applied the way the model's runtime batches (see docs/runtimes.md).

    v1: KServe's batcher; v2 on Triton: dynamic batching; v2 on MLServer: adaptive batching.
    Runtimes that cannot batch through KServe (TorchServe v2) or batch on their own (vLLM) refuse it.
    """

    max_batch_size: int = Field(ge=1, le=1024, description="Largest batch the server assembles.")
    max_latency_ms: int = Field(ge=1, le=10_000, description="Longest a request waits for a batch to fill, in ms.")


class Resources(StrictModel):
    """CPU and memory of one serving container (requests = limits, for predictable scheduling)."""

    cpu: float = Field(default=1.0, ge=0.1, le=192, description="CPU cores per replica.")
    memory_gib: float = Field(default=2.0, ge=0.25, le=2048, description="Memory per replica in GiB.")


class Serving(StrictModel):
    """How the model is served."""

    protocol: Literal["v1", "v2"] = Field(default="v2", description="KServe v1 or v2 (open inference) protocol.")
    deployment_mode: DeploymentMode | None = Field(
        default=None,
        description="KServe deployment mode: standard (raw Deployment) or serverless (Knative). Default: the environment's.",
    )
    runtime: str | None = Field(
        default=None,
        max_length=63,
        pattern=DNS_LABEL,
        description="Explicit KServe ServingRuntime name; default: KServe picks one for the format.",
    )
    batching: Batching | None = Field(default=None, description="Request batching; off when absent.")
    resources: Resources = Field(default_factory=Resources, description="Container CPU and memory.")


class Accelerator(StrictModel):
    """The GPU a replica needs."""

    gpu_type: GpuType = Field(default="none", description="GPU model, or none for CPU-only serving.")
    gpus_per_replica: int = Field(default=0, ge=0, le=8, description="Whole GPUs per replica (0 with gpu_type none).")
    gpu_memory_gib: float = Field(
        default=0.0, ge=0, le=1128, description="GPU memory one replica needs in total (across its GPUs), in GiB."
    )
    shareable: bool = Field(
        default=False, description="Replica may share one GPU with others (time-slicing); needs gpus_per_replica 1."
    )

    @model_validator(mode="after")
    def _consistent(self) -> Accelerator:
        if self.gpu_type == "none":
            if self.gpus_per_replica != 0:
                raise ValueError(
                    f"gpus_per_replica is {self.gpus_per_replica} with gpu_type none; expected 0, or set a gpu_type"
                )
            if self.gpu_memory_gib > 0:
                raise ValueError(f"gpu_memory_gib is {self.gpu_memory_gib} with gpu_type none; expected 0, or set a gpu_type")
            if self.shareable:
                raise ValueError("shareable is true with gpu_type none; expected false, or set a gpu_type")
            return self
        if self.gpus_per_replica == 0:
            raise ValueError(f"gpus_per_replica is 0 with gpu_type {self.gpu_type}; expected 1 to 8")
        if self.gpu_memory_gib <= 0:
            raise ValueError(f"gpu_memory_gib is not set for gpu_type {self.gpu_type}; expected the GiB one replica needs")
        capacity = gpu_memory_gib(self.gpu_type) * self.gpus_per_replica
        if self.gpu_memory_gib > capacity:
            raise ValueError(
                f"gpu_memory_gib is {self.gpu_memory_gib:g} but {self.gpus_per_replica} x {GPUS[self.gpu_type].name} "
                f"has {capacity:g} GiB; expected at most {capacity:g}, or more GPUs, or a larger GPU type"
            )
        if self.shareable and self.gpus_per_replica != 1:
            raise ValueError(
                f"shareable is true with gpus_per_replica {self.gpus_per_replica}; expected gpus_per_replica 1 to share a GPU"
            )
        return self


class Scaling(StrictModel):
    """Replica bounds and the autoscaling signal."""

    min_replicas: int = Field(default=1, ge=0, le=1000, description="Fewest replicas (0 only with scale_to_zero).")
    max_replicas: int = Field(default=1, ge=1, le=1000, description="Most replicas.")
    scale_to_zero: bool = Field(default=False, description="Allow scaling to zero replicas when idle.")
    metric: ScalingMetric = Field(
        default="concurrency",
        description="Signal the autoscaler follows; the model's runtime must export it (docs/runtimes.md lists each runtime's).",
    )
    target: float = Field(
        default=10,
        gt=0,
        le=100_000,
        description="Target per replica: in-flight requests (concurrency), requests/s (rps), percent (gpu-utilization), "
        "p95 ms (latency), waiting requests (queue-depth) or percent of KV cache in use (kv-cache).",
    )

    @model_validator(mode="after")
    def _bounds(self) -> Scaling:
        if self.min_replicas > self.max_replicas:
            raise ValueError(
                f"min_replicas {self.min_replicas} is above max_replicas {self.max_replicas}; expected min_replicas <= max_replicas"
            )
        if self.min_replicas == 0 and not self.scale_to_zero:
            raise ValueError("min_replicas is 0 but scale_to_zero is false; expected min_replicas >= 1, or scale_to_zero: true")
        if self.metric in ("gpu-utilization", "kv-cache") and self.target > 100:
            raise ValueError(f"target is {self.target:g} for metric {self.metric}; expected a percentage from 1 to 100")
        return self


class Capacity(StrictModel):
    """Which EC2 capacity the model may run on."""

    spot: SpotPreference = Field(
        default="preferred", description="required: spot only; preferred: spot where the environment allows; never: on-demand only."
    )
    instance_families: list[Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]*$", max_length=16)]] = Field(
        default_factory=list,
        max_length=16,
        description="Allowed EC2 instance families (e.g. g5, g6); empty allows every family for the GPU type.",
    )


class AbVariant(StrictModel):
    """One arm of an A/B test."""

    name: str = Field(min_length=1, max_length=20, pattern=DNS_LABEL, description="Variant name (DNS label).")
    version: Version
    weight: int = Field(ge=0, le=100, description="Share of traffic in percent.")
    header: str | None = Field(
        default=None,
        max_length=128,
        pattern=r"^[A-Za-z0-9-]+=[^\s]+$",
        description="Optional header match NAME=VALUE that routes to this variant regardless of weight.",
    )


class Rollout(StrictModel):
    """How a new version reaches traffic. Only the fields of the chosen strategy may be set."""

    strategy: RolloutStrategy = Field(default="direct", description="direct, canary, blue-green, shadow or ab.")
    stable_version: Version | None = Field(
        default=None,
        description="Version currently taking traffic (canary, blue-green, shadow); artifact.version is the candidate.",
    )
    canary_percent: int | None = Field(default=None, ge=1, le=100, description="Canary: percent of traffic to the candidate.")
    mirror_percent: int | None = Field(
        default=None, ge=1, le=100, description="Shadow: percent of live traffic mirrored to the candidate."
    )
    active_color: Literal["blue", "green"] | None = Field(
        default=None, description="Blue-green: the colour that takes traffic (blue = stable_version, green = artifact.version)."
    )
    variants: list[AbVariant] = Field(default_factory=list, max_length=8, description="A/B: the variants and their weights.")

    @model_validator(mode="after")
    def _fields_match_strategy(self) -> Rollout:
        allowed: dict[str, set[str]] = {
            "direct": set(),
            "canary": {"stable_version", "canary_percent"},
            "blue-green": {"stable_version", "active_color"},
            "shadow": {"stable_version", "mirror_percent"},
            "ab": {"variants"},
        }
        required: dict[str, set[str]] = {
            "direct": set(),
            "canary": {"stable_version", "canary_percent"},
            "blue-green": {"stable_version", "active_color"},
            "shadow": {"stable_version", "mirror_percent"},
            "ab": {"variants"},
        }
        given = {
            name
            for name in ("stable_version", "canary_percent", "mirror_percent", "active_color", "variants")
            if getattr(self, name)
        }
        extra = given - allowed[self.strategy]
        if extra:
            raise ValueError(
                f"{', '.join(sorted(extra))} set with strategy {self.strategy}; expected only: "
                f"{', '.join(sorted(allowed[self.strategy])) or 'no strategy fields'}"
            )
        missing = required[self.strategy] - given
        if missing:
            raise ValueError(f"strategy {self.strategy} needs {', '.join(sorted(missing))}")
        if self.strategy == "ab":
            if len(self.variants) < 2:
                raise ValueError(f"strategy ab has {len(self.variants)} variant(s); expected at least 2")
            names = [variant.name for variant in self.variants]
            if len(set(names)) != len(names):
                raise ValueError(f"variant names repeat ({', '.join(names)}); expected distinct names")
            total = sum(variant.weight for variant in self.variants)
            if total != 100:
                raise ValueError(f"variant weights add up to {total}; expected 100")
        return self


Drift = DriftSpec
"""The drift watch (`monitoring.drift`), defined in inferstack/spec/drift.py."""


class Monitoring(StrictModel):
    """Service-level objectives and where alerts go."""

    latency_p95_ms: float = Field(default=500, gt=0, le=600_000, description="p95 latency objective in ms.")
    error_rate_percent: float = Field(default=1.0, gt=0, le=100, description="Highest acceptable error rate in percent.")
    drift: DriftSpec | None = Field(
        default=None, description="Drift detection against the version's reference profile, alerts and retraining trigger; off when absent."
    )
    runbook_url: str = Field(
        pattern=r"^https://[^\s]+$", max_length=512, description="https:// runbook linked from every alert of this model."
    )
    alert_route: str = Field(
        pattern=r"^(slack|pagerduty|email|opsgenie|sns):[^\s]+$",
        max_length=256,
        description="Where alerts go: slack:#channel, pagerduty:service, email:address, opsgenie:team or sns:topic-name "
        "(a topic of the stack's account); the stack holds the credential (alerts.credentials), never the spec.",
    )


class Lineage(StrictModel):
    """Where the model came from."""

    dataset: str = Field(min_length=1, max_length=256, description="Training dataset name or URI.")
    dataset_version: str | None = Field(default=None, max_length=128, description="Dataset version or snapshot id.")
    training_run: str | None = Field(default=None, max_length=256, description="Training run id or URL.")
    code_ref: str | None = Field(default=None, max_length=256, description="Commit or tag of the training code.")


class RegistryMetadata(StrictModel):
    """What the model registry records for this model."""

    lineage: Lineage | None = Field(default=None, description="Training lineage.")
    metrics: dict[Annotated[str, Field(max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")], float] = Field(
        default_factory=dict, max_length=64, description="Offline evaluation metrics, e.g. {auc: 0.91}."
    )
    stage: ApprovalStage = Field(default="none", description="Approval stage the team claims; the registry is authoritative.")


# --- The model's endpoint on the shared gateway (issue 15: exposure, authentication, rate and size limits) ---------

EndpointExposure = Literal["gateway", "cluster-local"]
EndpointAuthMode = Literal["jwt", "none"]
CLAIM_NAME = r"^[A-Za-z0-9_.:/-]+$"


class EndpointAuth(StrictModel):
    """Who may call the model through the gateway: a valid JWT of the stack's issuer (with audiences and claims), or anyone."""

    mode: EndpointAuthMode | None = Field(
        default=None,
        description="jwt: a valid token of the stack's issuer (inferstack:serving.jwt) is required; none: no authentication "
        "(a violation in prod unless waived). Default: the stack's serving.endpoints.auth (jwt in staging and prod, none in dev).",
    )
    audiences: list[Annotated[str, Field(min_length=1, max_length=256, pattern=r"^[^\s]+$")]] = Field(
        default_factory=list,
        max_length=16,
        description="Token audiences (aud) this model accepts; empty: the issuer's default audiences (serving.jwt.audiences).",
    )
    required_claims: dict[
        Annotated[str, Field(max_length=64, pattern=CLAIM_NAME)],
        Annotated[list[Annotated[str, Field(min_length=1, max_length=256, pattern=r"^[^\s]+$")]], Field(min_length=1, max_length=32)],
    ] = Field(
        default_factory=dict,
        max_length=8,
        description="Claims the token must carry, claim -> accepted values (any of them), e.g. {groups: [risk-clients]}.",
    )


class EndpointRateLimit(StrictModel):
    """A token bucket per gateway replica: `requests_per_second` refill, `burst` tokens at most (Envoy local rate limit)."""

    requests_per_second: int = Field(ge=1, le=100_000, description="Requests per second each gateway replica lets through.")
    burst: int | None = Field(
        default=None, ge=1, le=1_000_000, description="Largest burst (bucket size); default: requests_per_second."
    )

    @model_validator(mode="after")
    def _burst_covers_rate(self) -> EndpointRateLimit:
        if self.burst is not None and self.burst < self.requests_per_second:
            raise ValueError(
                f"burst {self.burst} is below requests_per_second {self.requests_per_second}; expected burst >= "
                "requests_per_second (the bucket refills that many tokens a second)"
            )
        return self


class Endpoint(StrictModel):
    """Whether the model is reachable through the shared gateway, and on what terms (authentication, rate, request size)."""

    exposure: EndpointExposure | None = Field(
        default=None,
        description="gateway: reachable at https://<model>-<namespace>.<domain> through the shared Gateway; cluster-local: "
        "only from inside the cluster (KServe label networking.kserve.io/visibility: cluster-local, no route on the gateway). "
        "Default: gateway where the model's rollout splits traffic with a route on the gateway (which exposes it), "
        "otherwise cluster-local.",
    )
    auth: EndpointAuth = Field(default_factory=EndpointAuth, description="Authentication at the gateway.")
    rate_limit: EndpointRateLimit | None = Field(
        default=None, description="Rate limit at the gateway; default: the stack's serving.endpoints rate limit."
    )
    max_request_kib: int | None = Field(
        default=None,
        ge=1,
        le=1_048_576,
        description="Largest request body the gateway accepts, in KiB (larger ones get 413); default: the stack's "
        "serving.endpoints.max_request_kib.",
    )


class ScalingOverride(StrictModel):
    """Per-environment changes to scaling; unset fields keep the base value."""

    min_replicas: int | None = Field(default=None, ge=0, le=1000, description="Override of scaling.min_replicas.")
    max_replicas: int | None = Field(default=None, ge=1, le=1000, description="Override of scaling.max_replicas.")
    scale_to_zero: bool | None = Field(default=None, description="Override of scaling.scale_to_zero.")
    metric: ScalingMetric | None = Field(default=None, description="Override of scaling.metric.")
    target: float | None = Field(default=None, gt=0, le=100_000, description="Override of scaling.target.")


class AcceleratorOverride(StrictModel):
    """Per-environment changes to the accelerator; unset fields keep the base value."""

    gpu_type: GpuType | None = Field(default=None, description="Override of accelerator.gpu_type.")
    gpus_per_replica: int | None = Field(default=None, ge=0, le=8, description="Override of accelerator.gpus_per_replica.")
    gpu_memory_gib: float | None = Field(default=None, ge=0, le=1128, description="Override of accelerator.gpu_memory_gib.")
    shareable: bool | None = Field(default=None, description="Override of accelerator.shareable.")


class CapacityOverride(StrictModel):
    """Per-environment changes to capacity; unset fields keep the base value."""

    spot: SpotPreference | None = Field(default=None, description="Override of capacity.spot.")
    instance_families: list[Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]*$", max_length=16)]] | None = Field(
        default=None, max_length=16, description="Override of capacity.instance_families."
    )


class ResourcesOverride(StrictModel):
    """Per-environment changes to container resources."""

    cpu: float | None = Field(default=None, ge=0.1, le=192, description="Override of serving.resources.cpu.")
    memory_gib: float | None = Field(default=None, ge=0.25, le=2048, description="Override of serving.resources.memory_gib.")


class ServingOverride(StrictModel):
    """Per-environment changes to serving."""

    deployment_mode: DeploymentMode | None = Field(default=None, description="Override of serving.deployment_mode.")
    resources: ResourcesOverride | None = Field(default=None, description="Override of serving.resources.")


class EnvironmentOverride(StrictModel):
    """What changes for one environment. Unset fields keep the base spec's value."""

    enabled: bool = Field(default=True, description="Deploy the model in this environment at all.")
    artifact_version: Version | None = Field(default=None, description="Serve another artifact version here.")
    scaling: ScalingOverride | None = Field(default=None, description="Scaling changes.")
    accelerator: AcceleratorOverride | None = Field(default=None, description="Accelerator changes.")
    capacity: CapacityOverride | None = Field(default=None, description="Capacity changes.")
    serving: ServingOverride | None = Field(default=None, description="Serving changes.")
    rollout: Rollout | None = Field(default=None, description="Replaces the rollout for this environment.")
    endpoint: Endpoint | None = Field(
        default=None, description="Endpoint changes (exposure, auth, rate_limit, max_request_kib); unset fields keep the base's."
    )


class CostAssumptions(StrictModel):
    """What the cost model assumes about a model's traffic and load, where nothing measures it yet (issue #19).

    `peak_hours_fraction` turns steady (min replicas) and peak (max replicas) into the
    expected monthly spend: steady + fraction x (peak - steady). The transfer figures price
    the traffic the model causes: S3 downloads of its artifact on each replica start plus its
    payload logs (through the VPC's S3 interface endpoint in a created VPC, else a NAT gateway),
    and request/response bytes through the gateway (the cross-AZ share of them).
    """

    peak_hours_fraction: float = Field(
        default=0.25,
        ge=0,
        le=1,
        description="Share of the month the model runs at its max replicas (the rest at min replicas); expected "
        "spend = steady + fraction x (peak - steady). Default 0.25, the planner's peak-time assumption.",
    )
    monthly_transfer_gib: float = Field(
        default=50.0,
        ge=0,
        le=1_000_000,
        description="GiB a month the model moves to or from outside the nodes: artifact downloads on replica starts "
        "plus payload logs. Priced at NAT data processing (or the S3 interface endpoint's rate in a created VPC).",
    )
    monthly_request_gib: float = Field(
        default=10.0,
        ge=0,
        le=1_000_000,
        description="GiB a month of requests and responses through the gateway; the cross-AZ share of it "
        "(gateway and replica in different zones) is priced as inter-AZ traffic.",
    )


DataClassification = Literal["public", "internal", "confidential", "pii"]
PayloadLogging = Literal["all", "request", "response", "none"]
"""What the payload logger records: KServe v0.20.0's logger modes (kserve/kserve v0.20.0,
pkg/apis/serving/v1beta1/inference_service.go, LoggerType: all, request, response; the webhook refuses any
other, component.go validateLogger; there is no sampling mode), or none: no logger at all."""


class DataHandling(StrictModel):
    """What the model's requests and responses carry, and how much of them the payload logger may keep."""

    classification: DataClassification = Field(
        default="internal",
        description="The most sensitive data in a request or response: public, internal, confidential, or pii "
        "(personal data such as card transactions); pii forbids logging whole exchanges.",
    )
    payload_logging: PayloadLogging | None = Field(
        default=None,
        description="What the payload logger records where the model logs (compared rollouts, drift watch): all, request, "
        "response or none. Unset: all, except for pii, which must choose request, response or none.",
    )

    @model_validator(mode="after")
    def _pii_is_never_logged_whole(self) -> DataHandling:
        if self.classification == "pii" and self.payload_logging in (None, "all"):
            raise ValueError(
                f"classification pii with payload_logging {self.payload_logging or 'unset (all)'} would keep every "
                "request and response of personal data; expected payload_logging request, response or none"
            )
        return self

    @property
    def logger_mode(self) -> PayloadLogging:
        """The logger mode the model gets (all unless restricted)."""
        return self.payload_logging or "all"


class ModelSpec(StrictModel):
    """One model as its team declares it: identity, artifact, serving, GPU, scaling, capacity, rollout, monitoring, registry, per-environment overrides."""

    name: ModelName
    team: TeamName
    owner: str = Field(
        pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254, description="Owner's e-mail address (who is paged and who approves)."
    )
    description: str = Field(min_length=1, max_length=1000, description="What the model does, in a sentence or two.")
    cost_center: str | None = Field(
        default=None, max_length=63, pattern=r"^[A-Za-z0-9_.-]+$", description="Cost centre tag; default: the team name."
    )
    namespace: str | None = Field(
        default=None,
        min_length=2,
        max_length=50,
        pattern=DNS_LABEL,
        description="Kubernetes namespace; default: the team name. One team per namespace.",
    )
    artifact: Artifact
    signature: Signature | None = Field(default=None, description="Declared inputs and outputs, checked by the model gate.")
    serving: Serving = Field(default_factory=Serving, description="Protocol, batching and container resources.")
    accelerator: Accelerator = Field(default_factory=Accelerator, description="GPU needs; CPU-only by default.")
    scaling: Scaling = Field(default_factory=Scaling, description="Replica bounds and autoscaling.")
    capacity: Capacity = Field(default_factory=Capacity, description="Spot preference and instance families.")
    rollout: Rollout = Field(default_factory=Rollout, description="Rollout strategy.")
    monitoring: Monitoring = Field(description="SLOs, drift thresholds, runbook and alert route.")
    registry: RegistryMetadata = Field(default_factory=RegistryMetadata, description="Lineage, metrics and approval stage.")
    cost: CostAssumptions = Field(
        default_factory=CostAssumptions, description="Peak-hours and traffic assumptions behind the expected monthly spend."
    )
    endpoint: Endpoint = Field(
        default_factory=Endpoint, description="Exposure on the shared gateway, authentication, rate and request-size limits."
    )
    data: DataHandling = Field(
        default_factory=DataHandling, description="Data classification and how much of each payload may be logged."
    )
    environments: dict[Environment, EnvironmentOverride] = Field(
        default_factory=dict, description="Per-environment overrides keyed by tier (dev, staging, prod); every stack of a tier applies its tier's override."
    )

    @property
    def effective_namespace(self) -> str:
        """The namespace the model is deployed to."""
        return self.namespace or self.team

    @property
    def effective_cost_center(self) -> str:
        """The cost centre used in tags and cost reports."""
        return self.cost_center or self.team

    @model_validator(mode="after")
    def _cross_section_rules(self) -> ModelSpec:
        if self.accelerator.shareable and self.accelerator.gpu_memory_gib > gpu_memory_gib(self.accelerator.gpu_type) / 2:
            raise ValueError(
                f"accelerator.shareable is true but the replica needs {self.accelerator.gpu_memory_gib:g} GiB of a "
                f"{gpu_memory_gib(self.accelerator.gpu_type):g} GiB GPU; expected at most half of the GPU's memory to share it"
            )
        if self.scaling.metric == "gpu-utilization" and self.accelerator.gpu_type == "none":
            raise ValueError("scaling.metric is gpu-utilization but accelerator.gpu_type is none; expected a GPU or another metric")
        runtime_problem = _runtime_problem(self)
        if runtime_problem:
            raise ValueError(runtime_problem)
        if self.monitoring.drift is not None:
            check_drift_features(self.monitoring.drift, self.signature)
        logging_problem = _logging_feeds_drift(self)
        if logging_problem:
            raise ValueError(logging_problem)
        if self.rollout.strategy != "direct" and self.rollout.stable_version == self.artifact.version:
            raise ValueError(
                f"rollout.stable_version equals artifact.version ({self.artifact.version}); expected the candidate to differ"
            )
        return self


def _logging_feeds_drift(spec: ModelSpec) -> str | None:
    """What the drift watch needs from the payload logs that data.payload_logging does not record."""
    drift, mode = spec.monitoring.drift, spec.data.logger_mode
    if drift is None or mode == "all":
        return None
    if mode == "none":
        return "monitoring.drift reads the payload logs but data.payload_logging is none; expected request or response logging, or no drift watch"
    if mode == "response" and drift.features:
        return (
            "monitoring.drift.features are read from logged requests but data.payload_logging is response; expected "
            "features: [] (watch predictions only) or payload_logging request"
        )
    if mode == "request" and drift.predictions:
        return (
            "monitoring.drift.predictions are read from logged responses but data.payload_logging is request; expected "
            "predictions: false or payload_logging response"
        )
    return None


def _runtime_problem(spec: ModelSpec) -> str | None:
    """What the runtime catalogue refuses about the spec: no runtime for format + protocol, or batching it cannot do.

    Whether the runtime exports the scaling metric depends on the deployment mode (Knative scales
    concurrency and rps itself), so the compiler checks that once the mode is known
    (`inferstack.runtimes.scaling_problem`).
    """
    serving = spec.serving
    try:
        entry = select_runtime(spec.artifact.format, serving.protocol, serving.runtime)
    except NoRuntime as error:
        return f"serving.{'runtime' if serving.runtime else 'protocol'}: {error}"
    if entry.batching_for(serving.protocol).kind == "continuous" and spec.accelerator.gpu_type == "none":
        return (
            f"artifact.format {spec.artifact.format} runs on vLLM ({entry.name} --backend=vllm, whose metrics the "
            "scaling and alerts read), which needs a GPU; expected accelerator.gpu_type and gpus_per_replica"
        )
    if serving.batching is not None:
        try:
            batching_plan(entry, spec.artifact.format, serving.protocol, serving.batching.max_batch_size, serving.batching.max_latency_ms)
        except ValueError as error:
            return f"serving.batching: {error}"
    return None
