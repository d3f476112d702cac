"""Per-environment platform configuration, read from `stacks/Pulumi.<env>.yaml`.

The stack file's `config:` block holds keys under the `inferstack:` namespace
(`inferstack:cluster`, `inferstack:budgets`, ...) and `aws:region`. The Pulumi
program reads them through `pulumi.Config`, the offline tools straight from the
file; both validate through `EnvironmentConfig`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from inferstack.accelerators import GpuType
from inferstack.constants import Environment
from inferstack.spec.drift import DriftPlatformConfig
from inferstack.spec.model import DNS_LABEL, DeploymentMode, StrictModel

Enforcement = Literal["mandatory", "advisory", "disabled"]
RoutingLayer = Literal["none", "istio", "gateway-api"]


class ClusterConfig(StrictModel):
    """The EKS cluster: created by the stack, or an existing one adopted."""

    create: bool = Field(default=True, description="Create the cluster (true) or adopt an existing one (false).")
    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z][A-Za-z0-9_-]*$", description="Cluster name.")
    version: str = Field(default="1.33", pattern=r"^1\.\d{2}$", description="Kubernetes minor version, e.g. 1.33.")
    endpoint_public_access: bool = Field(default=False, description="Expose the API endpoint publicly (off by default).")
    public_access_cidrs: list[str] = Field(
        default_factory=list, max_length=40, description="CIDRs allowed to reach a public endpoint."
    )
    log_types: list[Literal["api", "audit", "authenticator", "controllerManager", "scheduler"]] = Field(
        default_factory=lambda: ["api", "audit", "authenticator"], description="Control-plane log types sent to CloudWatch."
    )
    system_instance_type: str = Field(default="m7i.large", max_length=32, description="Instance type of the system node group.")
    system_nodes: int = Field(default=2, ge=1, le=20, description="Nodes in the system (CPU) node group.")
    node_autoscaler: Literal["cluster-autoscaler", "karpenter"] = Field(
        default="cluster-autoscaler", description="What adds and removes GPU nodes."
    )

    @model_validator(mode="after")
    def _public_needs_cidrs(self) -> ClusterConfig:
        if self.endpoint_public_access and not self.public_access_cidrs:
            raise ValueError("endpoint_public_access is true without public_access_cidrs; expected the CIDRs allowed in")
        if any(cidr == "0.0.0.0/0" for cidr in self.public_access_cidrs):
            raise ValueError("public_access_cidrs contains 0.0.0.0/0; expected specific CIDRs")
        return self


class NetworkConfig(StrictModel):
    """VPC and subnets: created, or existing ones used."""

    vpc_id: str | None = Field(default=None, pattern=r"^vpc-[0-9a-f]+$", description="Existing VPC; created when absent.")
    vpc_cidr: str = Field(default="10.40.0.0/16", pattern=r"^\d+\.\d+\.\d+\.\d+/\d+$", description="CIDR of a created VPC.")
    private_subnet_ids: list[Annotated[str, Field(pattern=r"^subnet-[0-9a-f]+$")]] = Field(
        default_factory=list, max_length=16, description="Existing private subnets (with vpc_id)."
    )
    availability_zones: list[Annotated[str, Field(pattern=r"^[a-z]{2}-[a-z]+-\d[a-z]$")]] = Field(
        min_length=1, max_length=6, description="Availability zones node pools spread over."
    )

    @model_validator(mode="after")
    def _existing_vpc_needs_subnets(self) -> NetworkConfig:
        if self.vpc_id and not self.private_subnet_ids:
            raise ValueError("vpc_id is set without private_subnet_ids; expected the private subnets to place nodes in")
        if self.private_subnet_ids and not self.vpc_id:
            raise ValueError("private_subnet_ids set without vpc_id; expected the VPC they belong to")
        return self


class GpuConfig(StrictModel):
    """Which accelerators this environment may use."""

    allowed_gpu_types: list[GpuType] = Field(min_length=1, description="GPU types models may request here ('none' = CPU).")
    allowed_families: list[Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]*$")]] = Field(
        default_factory=list, description="EC2 families allowed here; empty allows every family of the allowed GPU types."
    )
    time_slicing_replicas: int = Field(
        default=4, ge=2, le=16, description="Replicas per GPU on pools that share GPUs (NVIDIA time-slicing)."
    )
    max_gpus_per_model: int = Field(default=16, ge=1, le=512, description="Most GPUs one model may hold at max replicas.")
    max_replicas_per_model: int = Field(default=20, ge=1, le=1000, description="Most replicas one model may scale to.")


class SpotConfig(StrictModel):
    """How GPU capacity is bought in this environment."""

    policy: Literal["spot-only", "spot-preferred", "on-demand-base", "on-demand-only"] = Field(
        description="spot-only: every GPU node spot; spot-preferred: spot unless a spec says never; "
        "on-demand-base: on-demand for the minimum, spot above it; on-demand-only: no spot."
    )
    min_instance_types: int = Field(default=2, ge=1, le=20, description="Spot pools diversify over at least this many types.")
    min_capacity_pools: int | None = Field(
        default=None,
        ge=2,
        le=120,
        description="Where spot is only preferred: a spot pool listing fewer than min_instance_types types stays on spot "
        "when its capacity pools (instance types x availability zones) reach this many, paired with an on-demand "
        "fallback pool (min size 0, lowest autoscaler priority); unset: such replicas are bought on-demand.",
    )
    on_demand_base_replicas: int | None = Field(
        default=None,
        ge=1,
        le=1000,
        description="on-demand-base only: replicas per model kept on on-demand (the rest of min_replicas and the "
        "burst go to spot); unset: all min_replicas on on-demand.",
    )

    @model_validator(mode="after")
    def _options_fit_the_policy(self) -> SpotConfig:
        preferred = ("spot-preferred", "on-demand-base")
        if self.min_capacity_pools is not None and self.policy not in preferred:
            raise ValueError(
                f"min_capacity_pools is set with policy {self.policy}; it pairs thin spot pools with an on-demand "
                "fallback, so expected policy spot-preferred or on-demand-base (or no min_capacity_pools)"
            )
        if self.on_demand_base_replicas is not None and self.policy != "on-demand-base":
            raise ValueError(
                f"on_demand_base_replicas is set with policy {self.policy}; expected policy on-demand-base "
                "(or no on_demand_base_replicas)"
            )
        return self


class BudgetConfig(StrictModel):
    """Monthly budgets in USD."""

    monthly_usd: float = Field(gt=0, le=100_000_000, description="Budget for the whole environment per month.")
    teams: dict[Annotated[str, Field(pattern=DNS_LABEL)], Annotated[float, Field(gt=0)]] = Field(
        default_factory=dict, description="Per-team monthly budgets."
    )


class PolicyConfig(StrictModel):
    """Policy enforcement changes for this environment."""

    enforcement: dict[Annotated[str, Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")], Enforcement] = Field(
        default_factory=dict, description="Rule name -> mandatory, advisory or disabled, replacing the rule's default."
    )
    trusted_registries: list[str] = Field(
        default_factory=list, description="Extra storage URI prefixes models may load from, beside the model store."
    )


class ModelStoreConfig(StrictModel):
    """The S3 bucket holding model artifacts and registry metadata."""

    create: bool = Field(default=True, description="Create the bucket and its KMS key (true) or use an existing bucket.")
    bucket: str = Field(min_length=3, max_length=63, pattern=r"^[a-z0-9][a-z0-9.-]*[a-z0-9]$", description="Bucket name.")
    kms_key_arn: str | None = Field(
        default=None, pattern=r"^arn:aws[a-z-]*:kms:", description="KMS key of an existing bucket (with create: false)."
    )
    noncurrent_version_days: int = Field(default=90, ge=1, le=3650, description="Days old object versions are kept.")

    @model_validator(mode="after")
    def _existing_needs_key(self) -> ModelStoreConfig:
        if not self.create and not self.kms_key_arn:
            raise ValueError("create is false without kms_key_arn; expected the KMS key the existing bucket encrypts with")
        return self


class AlertConfig(StrictModel):
    """Where platform-level alerts go."""

    destination: str = Field(
        pattern=r"^(slack|pagerduty|email|opsgenie):[^\s]+$", description="Default route, e.g. pagerduty:ml-platform."
    )
    sns_email: str | None = Field(
        default=None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", description="E-mail subscribed to the SNS topic of cloud alarms."
    )


class MonitoringConfig(StrictModel):
    """The monitoring stack."""

    create: bool = Field(default=True, description="Install kube-prometheus-stack (true) or use an existing Prometheus.")
    namespace: str = Field(default="monitoring", pattern=DNS_LABEL, description="Namespace of the monitoring stack.")
    retention_days: int = Field(default=15, ge=1, le=365, description="Prometheus retention.")
    storage_gib: int = Field(default=50, ge=10, le=16_384, description="Prometheus volume size (encrypted gp3).")


class ServingConfig(StrictModel):
    """Serving defaults for the environment."""

    deployment_mode: DeploymentMode = Field(default="standard", description="Default KServe deployment mode.")
    routing: RoutingLayer = Field(
        default="none", description="Traffic layer for rollouts in standard mode: none, istio or gateway-api."
    )
    gateway_name: str = Field(default="inference-gateway", pattern=DNS_LABEL, description="Gateway API Gateway (or Istio gateway).")
    gateway_namespace: str = Field(default="gateway-system", pattern=DNS_LABEL, description="Namespace of that gateway.")
    domain: str = Field(default="models.internal", pattern=r"^[a-z0-9.-]+$", description="Hostname suffix of model endpoints.")


class EnvironmentConfig(StrictModel):
    """Everything a stack file says about one environment."""

    environment: Environment = Field(description="dev, staging or prod; must match the stack file name.")
    region: str = Field(pattern=r"^[a-z]{2}(-gov)?-[a-z]+-\d$", description="AWS region (from aws:region).")
    cost_center: str = Field(default="ml-platform", max_length=63, description="Cost centre of shared platform resources.")
    cluster: ClusterConfig
    network: NetworkConfig
    gpu: GpuConfig
    spot: SpotConfig
    budgets: BudgetConfig
    policy: PolicyConfig = Field(default_factory=PolicyConfig)
    model_store: ModelStoreConfig
    alerts: AlertConfig
    monitoring: MonitoringConfig = Field(default_factory=MonitoringConfig)
    serving: ServingConfig = Field(default_factory=ServingConfig)
    drift: DriftPlatformConfig = Field(
        default_factory=DriftPlatformConfig, description="Drift detectors: image, Pushgateway, resources (inferstack/spec/drift.py)."
    )
    price_overrides: dict[Annotated[str, Field(pattern=r"^[a-z0-9]+\.[a-z0-9]+$")], Annotated[float, Field(gt=0)]] = Field(
        default_factory=dict, description="Negotiated on-demand USD/hour per instance type, replacing the catalogue."
    )
    spot_discount_overrides: dict[
        Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]*$")], Annotated[float, Field(ge=0, lt=1)]
    ] = Field(
        default_factory=dict,
        description="Typical spot discount per instance family (fraction saved, e.g. 0.6), replacing the catalogue's estimate.",
    )

    @model_validator(mode="after")
    def _team_budgets_fit(self) -> EnvironmentConfig:
        total = sum(self.budgets.teams.values())
        if total > self.budgets.monthly_usd:
            raise ValueError(
                f"team budgets add up to {total:g} USD, above budgets.monthly_usd {self.budgets.monthly_usd:g}; "
                "expected team budgets within the environment budget"
            )
        return self
