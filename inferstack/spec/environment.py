"""Per-environment platform configuration, read from `stacks/Pulumi.<env>.yaml`.

The stack file's `config:` block holds keys under the `inferstack:` namespace
(`inferstack:cluster`, `inferstack:budgets`, ...) and `aws:region`. The Pulumi
program reads them through `pulumi.Config`, the offline tools straight from the
file; both validate through `EnvironmentConfig`.
"""

from __future__ import annotations

import datetime
import ipaddress
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from inferstack.accelerators import GpuType
from inferstack.constants import STACK_NAME_MAX_LENGTH, STACK_NAME_PATTERN, Environment
from inferstack.spec.drift import DriftPlatformConfig
from inferstack.spec.model import DNS_LABEL, DeploymentMode, StrictModel

VPC_PRIVATE_BLOCKS = (
    ipaddress.IPv4Network("10.0.0.0/8"),
    ipaddress.IPv4Network("172.16.0.0/12"),
    ipaddress.IPv4Network("192.168.0.0/16"),
    ipaddress.IPv4Network("100.64.0.0/10"),
)
"""Where a VPC's primary CIDR may lie (RFC 1918 and the shared address space AWS allows)."""
DOCUMENTATION_NETWORKS = (
    ipaddress.IPv4Network("192.0.2.0/24"),
    ipaddress.IPv4Network("198.51.100.0/24"),
    ipaddress.IPv4Network("203.0.113.0/24"),
)
"""RFC 5737 example networks: no real client ever comes from them."""
NON_PUBLIC_NETWORKS = tuple(
    ipaddress.IPv4Network(block)
    for block in (
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.0.0.0/24",
        "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15", "224.0.0.0/4", "240.0.0.0/4",
    )
)
"""IANA special-purpose IPv4 blocks (RFC 6890) other than the example networks: never internet clients."""


def ipv4_network(cidr: str) -> ipaddress.IPv4Network:
    """`cidr` as an IPv4 network; ValueError saying what is wrong (not a CIDR, host bits set...)."""
    try:
        network = ipaddress.ip_network(cidr, strict=True)
    except ValueError as error:
        reason = str(error).replace("'", "")
        raise ValueError(f"'{cidr[:60]}' is not an IPv4 CIDR ({reason}); expected a network such as 20.30.40.0/24") from None
    if not isinstance(network, ipaddress.IPv4Network):
        raise ValueError(f"'{cidr}' is IPv6; expected an IPv4 CIDR")
    return network


def public_ipv4_network(cidr: str) -> ipaddress.IPv4Network:
    """`cidr` as a public (globally routed) IPv4 network; ValueError for private, reserved or example ranges."""
    network = ipv4_network(cidr)
    if network.prefixlen == 0:
        raise ValueError(f"'{cidr}' is the whole internet; expected the specific CIDRs of your offices or VPN")
    if any(network.subnet_of(example) for example in DOCUMENTATION_NETWORKS):
        raise ValueError(
            f"'{cidr}' is a documentation range (RFC 5737) no client comes from; expected your offices' or VPN's public CIDR"
        )
    if any(network.overlaps(block) for block in NON_PUBLIC_NETWORKS):
        raise ValueError(
            f"'{cidr}' is not a public range (private, loopback or reserved); expected public CIDRs, since the "
            "endpoint's allow-list only applies to internet traffic"
        )
    return network


Enforcement = Literal["mandatory", "advisory", "disabled"]
IAM_ROLE_ARN = r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$"
RoutingLayer = Literal["none", "istio", "gateway-api"]


class ClusterConfig(StrictModel):
    """The EKS cluster: created by the stack, or an existing one adopted."""

    create: bool = Field(default=True, description="Create the cluster (true) or adopt an existing one (false).")
    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z][A-Za-z0-9_-]*$", description="Cluster name.")
    version: str = Field(
        default="1.35",
        pattern=r"^1\.\d{2}$",
        description="Kubernetes minor version, e.g. 1.35; must be in EKS standard support on the plan date "
        "(inferstack/spec/kubernetes_calendar.py).",
    )
    endpoint_public_access: bool = Field(default=False, description="Expose the API endpoint publicly (off by default).")
    public_access_cidrs: list[str] = Field(
        default_factory=list, max_length=40, description="Public IPv4 CIDRs allowed to reach a public endpoint."
    )
    public_access_widest_prefix: int = Field(
        default=8,
        ge=1,
        le=32,
        description="The public_access_cidrs together may cover at most as many addresses as one /N network (default /8).",
    )
    log_types: list[Literal["api", "audit", "authenticator", "controllerManager", "scheduler"]] = Field(
        default_factory=lambda: ["api", "audit", "authenticator"], description="Control-plane log types sent to CloudWatch."
    )
    system_instance_type: str = Field(default="m7i.large", max_length=32, description="Instance type of the system node group.")
    system_nodes: int = Field(default=2, ge=1, le=20, description="Nodes in the system (CPU) node group.")
    node_autoscaler: Literal["cluster-autoscaler", "karpenter"] = Field(
        default="cluster-autoscaler", description="What adds and removes GPU nodes."
    )
    managed_node_group_quota: int = Field(
        default=30,
        ge=1,
        le=10_000,
        description="The account's EKS quota of managed node groups per cluster (AWS default 30, adjustable in Service "
        "Quotas); the deploy-readiness check deploy-service-quotas fails a plan that needs more. Raise it here only once "
        "the account has the increase.",
    )
    preinstalled_crds: list[Annotated[str, Field(pattern=r"^([A-Za-z][A-Za-z0-9]*\.)?[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")]] = Field(
        default_factory=list,
        max_length=100,
        description="Custom kinds the cluster already has (not installed by this stack), as `Kind.group` "
        "(e.g. `Gateway.gateway.networking.k8s.io`) or a whole API group; the deploy-readiness CRD-order check accepts them.",
    )
    deploy_role_arn: str | None = Field(
        default=None,
        pattern=IAM_ROLE_ARN,
        description="IAM role the deploy job (pulumi up) assumes; it gets a cluster-admin EKS access entry. "
        "Unset: the role of the credentials running the deployment (its session's issuer).",
    )
    admin_role_arns: list[Annotated[str, Field(pattern=IAM_ROLE_ARN)]] = Field(
        default_factory=list,
        max_length=20,
        description="IAM roles of people who administer the cluster (e.g. an SSO admin role); each gets a cluster-admin EKS access entry.",
    )

    @field_validator("public_access_cidrs")
    @classmethod
    def _public_cidrs(cls, cidrs: list[str]) -> list[str]:
        for cidr in cidrs:
            public_ipv4_network(cidr)
        return cidrs

    @model_validator(mode="after")
    def _public_needs_cidrs(self) -> ClusterConfig:
        if self.endpoint_public_access and not self.public_access_cidrs:
            raise ValueError("endpoint_public_access is true without public_access_cidrs; expected the CIDRs allowed in")
        networks = list(ipaddress.collapse_addresses(public_ipv4_network(cidr) for cidr in self.public_access_cidrs))
        covered = sum(network.num_addresses for network in networks)
        limit = 2 ** (32 - self.public_access_widest_prefix)
        if covered > limit:
            raise ValueError(
                f"public_access_cidrs together cover {covered:,} addresses ({', '.join(map(str, networks[:4]))}"
                f"{', ...' if len(networks) > 4 else ''}), more than a /{self.public_access_widest_prefix} ({limit:,}); "
                "expected the specific networks of your offices or VPN (or a larger public_access_widest_prefix)"
            )
        return self


CLOUDWATCH_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)
"""The retention periods CloudWatch Logs accepts (PutRetentionPolicy, retentionInDays)."""


class NetworkConfig(StrictModel):
    """VPC and subnets: created, or existing ones used."""

    vpc_id: str | None = Field(default=None, pattern=r"^vpc-[0-9a-f]+$", description="Existing VPC; created when absent.")
    vpc_cidr: str = Field(
        default="10.40.0.0/16", pattern=r"^\d+\.\d+\.\d+\.\d+/\d+$", description="Private IPv4 CIDR (/16 to /28) of a created VPC."
    )
    private_subnet_ids: list[Annotated[str, Field(pattern=r"^subnet-[0-9a-f]+$")]] = Field(
        default_factory=list, max_length=16, description="Existing private subnets (with vpc_id)."
    )
    availability_zones: list[Annotated[str, Field(pattern=r"^[a-z]{2}-[a-z]+-\d[a-z]$")]] = Field(
        min_length=1, max_length=6, description="Availability zones node pools spread over."
    )
    nat_gateway_per_zone: bool = Field(
        default=False,
        description="One NAT gateway per zone (a zone outage keeps the others' egress); one shared NAT gateway when false.",
    )
    flow_log_retention_days: int = Field(
        default=90, ge=1, le=3653, description="Days VPC flow logs (and the control-plane log group) are kept."
    )

    @model_validator(mode="after")
    def _log_retention_is_a_cloudwatch_value(self) -> NetworkConfig:
        if self.flow_log_retention_days not in CLOUDWATCH_RETENTION_DAYS:
            raise ValueError(
                f"flow_log_retention_days {self.flow_log_retention_days} is not a CloudWatch Logs retention; expected one of "
                + ", ".join(str(days) for days in CLOUDWATCH_RETENTION_DAYS)
            )
        return self

    @field_validator("vpc_cidr")
    @classmethod
    def _private_vpc_cidr(cls, cidr: str) -> str:
        network = ipv4_network(cidr)
        if not any(network.subnet_of(block) for block in VPC_PRIVATE_BLOCKS):
            raise ValueError(
                f"{cidr} is not a private range; expected a CIDR inside {', '.join(map(str, VPC_PRIVATE_BLOCKS))}"
            )
        if not 16 <= network.prefixlen <= 28:
            raise ValueError(f"{cidr} is a /{network.prefixlen}; expected a VPC CIDR from /16 to /28 (an AWS limit)")
        return cidr

    @field_validator("availability_zones")
    @classmethod
    def _distinct_zones(cls, zones: list[str]) -> list[str]:
        repeated = sorted({zone for zone in zones if zones.count(zone) > 1})
        if repeated:
            raise ValueError(f"availability zones repeat ({', '.join(repeated)}); expected distinct zones")
        return zones

    @model_validator(mode="after")
    def _existing_vpc_needs_subnets(self) -> NetworkConfig:
        if self.vpc_id and not self.private_subnet_ids:
            raise ValueError("vpc_id is set without private_subnet_ids; expected the private subnets to place nodes in")
        if self.private_subnet_ids and not self.vpc_id:
            raise ValueError("private_subnet_ids set without vpc_id; expected the VPC they belong to")
        return self


class FitClassesConfig(StrictModel):
    """How many size classes around its own a model's replicas may also run on (inferstack/placement.py fit_classes).

    Each class a model lists is a node pool, which under cluster-autoscaler is one EKS managed node
    group (quota: 30 per cluster by default). Wider fit classes let placement mix node sizes and
    models; narrower ones need fewer node groups. Changing them re-plans every model's pools.
    """

    smaller: int = Field(default=3, ge=0, le=6, description="Classes of smaller, cheaper nodes a model may also use.")
    larger: int = Field(
        default=2, ge=0, le=4, description="Classes of larger nodes (within 50% per replica of its own) a model may also use."
    )


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
    fit_classes: FitClassesConfig = Field(
        default_factory=FitClassesConfig,
        description="Size classes around its own each model may also use: wider packs better, narrower needs fewer "
        "node groups (docs/cost-model.md, 'Fit classes and node groups').",
    )


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

    monthly_usd: float = Field(gt=0, le=100_000_000, allow_inf_nan=False, description="Budget for the whole environment per month.")
    teams: dict[Annotated[str, Field(pattern=DNS_LABEL)], Annotated[float, Field(gt=0, le=100_000_000, allow_inf_nan=False)]] = Field(
        default_factory=dict, description="Per-team monthly budgets."
    )


class PolicyWaiver(StrictModel):
    """A time-bounded, justified exception to one rule in one stack (recorded in policy.json and the report)."""

    reason: str = Field(min_length=20, max_length=500, description="Why the rule does not apply here, and who accepted it.")
    expires: str = Field(
        pattern=r"^\d{4}-\d{2}-\d{2}$", description="Last day the waiver holds (YYYY-MM-DD, quoted in YAML)."
    )

    @model_validator(mode="after")
    def _real_date(self) -> PolicyWaiver:
        try:
            datetime.date.fromisoformat(self.expires)
        except ValueError:
            raise ValueError(f"expires {self.expires!r} is not a calendar date; expected YYYY-MM-DD") from None
        return self


class PolicyConfig(StrictModel):
    """Policy enforcement changes for this environment."""

    enforcement: dict[Annotated[str, Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")], Enforcement] = Field(
        default_factory=dict, description="Rule name -> mandatory, advisory or disabled, replacing the rule's default."
    )
    trusted_registries: list[str] = Field(
        default_factory=list, description="Extra storage URI prefixes models may load from, beside the model store."
    )
    waivers: dict[Annotated[str, Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*(@[a-z0-9]+(-[a-z0-9]+)*)?$")], PolicyWaiver] = Field(
        default_factory=dict,
        description="Rule name (or rule@model, for rules that judge one model) -> a dated, reasoned waiver: the rule's "
        "violations are reported as advisory until it expires.",
    )
    allowed_managed_policies: list[Annotated[str, Field(pattern=r"^arn:aws[a-z-]*:iam::(aws|\d{12}):policy/")]] = Field(
        default_factory=list,
        description="Managed policy ARNs that may be attached although their name marks them broad (e.g. *FullAccess).",
    )
    allowed_external_accounts: list[Annotated[str, Field(pattern=r"^\d{12}$")]] = Field(
        default_factory=list, description="Other AWS accounts that bucket and key policies may grant access to."
    )


class ModelStoreConfig(StrictModel):
    """The S3 bucket holding model artifacts and registry metadata."""

    create: bool = Field(default=True, description="Create the bucket and its KMS key (true) or use an existing bucket.")
    bucket: str = Field(min_length=3, max_length=63, pattern=r"^[a-z0-9][a-z0-9.-]*[a-z0-9]$", description="Bucket name.")
    kms_key_arn: str | None = Field(
        default=None, pattern=r"^arn:aws[a-z-]*:kms:", description="KMS key of an existing bucket (with create: false)."
    )
    noncurrent_version_days: int = Field(default=90, ge=1, le=3650, description="Days old object versions are kept.")
    payload_log_retention_days: int = Field(
        default=30,
        ge=1,
        le=3650,
        description="Days payload logs (payload-logs/, every logged request and response) are kept before they are "
        "deleted, old versions included.",
    )
    access_audit: bool = Field(
        default=True,
        description="Record object-level access to the store (every read; writes under models/) in a CloudTrail trail "
        "of its own, into a KMS-encrypted audit bucket (components/model_store.py).",
    )
    audit_log_retention_days: int = Field(
        default=365, ge=90, le=3650, description="Days the access audit logs are kept (at least 90)."
    )

    @model_validator(mode="after")
    def _existing_needs_key(self) -> ModelStoreConfig:
        if not self.create and not self.kms_key_arn:
            raise ValueError("create is false without kms_key_arn; expected the KMS key the existing bucket encrypts with")
        return self


ALERT_ROUTE_PATTERN = r"^(slack|pagerduty|email|opsgenie|sns):[^\s]+$"
"""A route: slack:#channel, pagerduty:service, email:address, opsgenie:team or sns:topic-name."""


class AlertConfig(StrictModel):
    """Where platform-level alerts go."""

    destination: str = Field(
        pattern=ALERT_ROUTE_PATTERN,
        description="Default route, e.g. pagerduty:ml-platform: where platform alerts and every alert whose route the "
        "stack cannot deliver go (render/alert_routing.py).",
    )
    sns_email: str | None = Field(
        default=None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", description="E-mail subscribed to the SNS topic of cloud alarms."
    )
    slack_webhook: SecretStr | None = Field(
        default=None,
        description="Slack incoming-webhook URL for platform alerts; a secret: set it with "
        "`pulumi config set --secret --path inferstack:alerts.slack_webhook ...` (`secure:` in the stack file).",
    )
    credentials: dict[Annotated[str, Field(pattern=ALERT_ROUTE_PATTERN, max_length=256)], SecretStr] = Field(
        default_factory=dict,
        max_length=100,
        description="Route (the destination or a spec's monitoring.alert_route) -> its receiver credential: a PagerDuty "
        "Events v2 routing key, a Slack incoming-webhook URL or an Opsgenie API key. Pulumi secrets only "
        "(`pulumi config set --secret --path 'inferstack:alerts.credentials[\"pagerduty:ml-platform\"]' ...`); "
        "written into a Kubernetes Secret Alertmanager mounts. SNS routes need none (IRSA).",
    )


class MonitoringConfig(StrictModel):
    """The monitoring stack."""

    create: bool = Field(default=True, description="Install kube-prometheus-stack (true) or use an existing Prometheus.")
    namespace: str = Field(default="monitoring", pattern=DNS_LABEL, description="Namespace of the monitoring stack.")
    retention_days: int = Field(default=15, ge=1, le=365, description="Prometheus retention.")
    storage_gib: int = Field(default=50, ge=10, le=16_384, description="Prometheus volume size (encrypted gp3).")
    grafana_admin_password: SecretStr | None = Field(
        default=None,
        description="Grafana's admin password; a secret (`pulumi config set --secret --path "
        "inferstack:monitoring.grafana_admin_password ...`, `secure:` in the stack file).",
    )


# --- Gateway security (issue 15): the JWT issuer, per-endpoint defaults and the gateway's certificate -------------


class GatewayJwtIssuer(StrictModel):
    """The OIDC issuer whose JWTs the gateway validates (Istio RequestAuthentication on the shared Gateway)."""

    issuer: str = Field(pattern=r"^https://[^\s]+$", max_length=512, description="The token issuer (iss), an https:// URL.")
    jwks_uri: str = Field(
        pattern=r"^https://[^\s]+$", max_length=512, description="Where the issuer publishes its signing keys (JWKS), https://."
    )
    audiences: list[Annotated[str, Field(min_length=1, max_length=256, pattern=r"^[^\s]+$")]] = Field(
        min_length=1, max_length=16, description="Audiences (aud) a token must carry unless a model names its own."
    )


class EndpointDefaults(StrictModel):
    """What a model's endpoint gets when its spec says nothing (endpoint.auth.mode, rate_limit, max_request_kib)."""

    auth: Literal["jwt", "none"] | None = Field(
        default=None, description="Default authentication of exposed models; unset: jwt in staging and prod, none in dev."
    )
    requests_per_second: int | None = Field(
        default=100,
        ge=1,
        le=100_000,
        description="Default rate limit of an exposed model, requests per second per gateway replica; null: no default limit.",
    )
    burst: int | None = Field(default=None, ge=1, le=1_000_000, description="Default burst; unset: requests_per_second.")
    max_request_kib: int = Field(
        default=4096, ge=1, le=1_048_576, description="Largest request body the gateway accepts for any host, in KiB (413 above)."
    )

    def resolved_auth(self, tier: str) -> Literal["jwt", "none"]:
        """The default authentication of the tier."""
        if self.auth is not None:
            return self.auth
        return "none" if tier == "dev" else "jwt"


class GatewayTlsConfig(StrictModel):
    """Who issues the gateway's certificate for *.<domain> (cert-manager), into serving.gateway_tls_secret."""

    issuer: Literal["private-ca", "acme", "none"] = Field(
        default="private-ca",
        description="private-ca: a cert-manager CA (self-signed root, clients trust its certificate); acme: an ACME "
        "ClusterIssuer with Route 53 DNS-01 (a public zone); none: the Secret is provided outside the stack.",
    )
    acme_server: str = Field(
        default="https://acme-v02.api.letsencrypt.org/directory",
        pattern=r"^https://[^\s]+$",
        max_length=512,
        description="ACME directory URL (issuer acme).",
    )
    acme_email: str | None = Field(
        default=None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254, description="ACME account e-mail (issuer acme)."
    )
    route53_hosted_zone_id: str | None = Field(
        default=None, pattern=r"^Z[A-Z0-9]{1,32}$", description="Public Route 53 zone of the domain, for DNS-01 (issuer acme)."
    )
    route53_role_arn: str | None = Field(
        default=None,
        pattern=IAM_ROLE_ARN,
        description="IAM role cert-manager's ServiceAccount assumes (IRSA) to answer DNS-01 in that zone (issuer acme).",
    )

    @model_validator(mode="after")
    def _acme_needs_its_fields(self) -> GatewayTlsConfig:
        if self.issuer == "acme":
            missing = [name for name in ("acme_email", "route53_hosted_zone_id", "route53_role_arn") if getattr(self, name) is None]
            if missing:
                raise ValueError(f"issuer acme without {', '.join(missing)}; expected them (DNS-01 through Route 53)")
        return self


class ServingConfig(StrictModel):
    """Serving defaults for the environment."""

    deployment_mode: DeploymentMode = Field(default="standard", description="Default KServe deployment mode.")
    routing: RoutingLayer = Field(
        default="none", description="Traffic layer for rollouts in standard mode: none, istio or gateway-api."
    )
    gateway_name: str = Field(default="inference-gateway", pattern=DNS_LABEL, description="Gateway API Gateway (or Istio gateway).")
    gateway_namespace: str = Field(default="gateway-system", pattern=DNS_LABEL, description="Namespace of that gateway.")
    domain: str = Field(
        default="models.internal",
        pattern=r"^[a-z0-9.-]+$",
        description="Hostname suffix of model endpoints (<model>-<namespace>.<domain>): a DNS zone the platform team owns; "
        "KServe's ingress domain and the Gateway's listener hostnames.",
    )
    gateway_create: bool = Field(
        default=True,
        description="Install the Gateway: Gateway API CRDs, Istio (its implementation) and the Gateway itself; false: "
        "gateway_namespace/gateway_name already exists on the cluster, with its CRDs and controller.",
    )
    gateway_tls_secret: str = Field(
        default="inference-gateway-tls",
        pattern=DNS_LABEL,
        description="Secret (in gateway_namespace, type kubernetes.io/tls) holding the HTTPS listener's certificate for *.<domain>.",
    )
    jwt: GatewayJwtIssuer | None = Field(
        default=None, description="The OIDC issuer of client tokens; needed where any exposed model requires jwt."
    )
    endpoints: EndpointDefaults = Field(
        default_factory=EndpointDefaults, description="Authentication, rate and request-size defaults of exposed models."
    )
    tls: GatewayTlsConfig = Field(default_factory=GatewayTlsConfig, description="Who issues the gateway's certificate.")


class EnvironmentConfig(StrictModel):
    """Everything a stack file says about one environment."""

    environment: Environment = Field(
        description="The stack's tier, dev, staging or prod (stack config `inferstack:tier`): it decides policy defaults, "
        "the promotion order and which per-environment spec overrides apply."
    )
    stack: str = Field(
        default="",
        max_length=STACK_NAME_MAX_LENGTH,
        pattern=rf"{STACK_NAME_PATTERN}|^$",
        description="The stack's name (stacks/Pulumi.<stack>.yaml), e.g. prod-eu-west-1; empty means the tier's name.",
    )
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
    price_overrides: dict[
        Annotated[str, Field(pattern=r"^[a-z0-9]+\.[a-z0-9]+$")], Annotated[float, Field(gt=0, allow_inf_nan=False)]
    ] = Field(
        default_factory=dict,
        description="Negotiated on-demand USD/hour per instance type, replacing the catalogue "
        "(finite, within PRICE_OVERRIDE_RANGE times the catalogue's list price).",
    )
    spot_discount_overrides: dict[
        Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]*$")], Annotated[float, Field(ge=0, lt=1, allow_inf_nan=False)]
    ] = Field(
        default_factory=dict,
        description="Typical spot discount per instance family (fraction saved, e.g. 0.6), replacing the catalogue's estimate.",
    )

    @property
    def tier(self) -> Environment:
        """The environment tier (dev, staging or prod)."""
        return self.environment

    @property
    def stack_name(self) -> str:
        """The stack's name: several stacks may share one tier (regions, clusters)."""
        return self.stack or self.environment

    def with_fit_classes(self, smaller: int, larger: int) -> EnvironmentConfig:
        """This config with gpu.fit_classes set to (smaller, larger): for comparing breadths (docs, benchmarks)."""
        breadth = self.gpu.fit_classes.model_copy(update={"smaller": smaller, "larger": larger})
        return self.model_copy(update={"gpu": self.gpu.model_copy(update={"fit_classes": breadth})})

    @model_validator(mode="after")
    def _adopted_cluster_needs_vpc(self) -> EnvironmentConfig:
        if not self.cluster.create and not self.network.vpc_id:
            raise ValueError(
                "cluster.create is false without network.vpc_id; expected the VPC (network.vpc_id and "
                "network.private_subnet_ids) of the existing cluster"
            )
        return self

    @model_validator(mode="after")
    def _team_budgets_fit(self) -> EnvironmentConfig:
        total = sum(self.budgets.teams.values())
        if total > self.budgets.monthly_usd:
            raise ValueError(
                f"budgets.teams add up to {total:g} USD, above budgets.monthly_usd {self.budgets.monthly_usd:g}; "
                "expected team budgets within the environment budget"
            )
        return self
