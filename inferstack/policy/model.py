"""The vocabulary of policy checks: rules, the resources they look at, and the context they judge by.

Rules are plain functions over Pulumi engine-level resource inputs (camelCase
property names, as CrossGuard and the mocks' `RegisterResource` see them), so the
same function runs inside `pulumi up --policy-pack policies` and in the offline
plan. Nothing here imports Pulumi.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from inferstack.constants import ENVIRONMENTS, Environment

Severity = Literal["critical", "high", "medium", "low"]
Category = Literal["security", "cost", "reliability"]
Enforcement = Literal["mandatory", "advisory", "disabled"]

SEVERITIES: tuple[Severity, ...] = ("critical", "high", "medium", "low")
ENFORCEMENTS: tuple[Enforcement, ...] = ("mandatory", "advisory", "disabled")


class NotEvaluated(Exception):
    """Raised by a rule that cannot judge honestly: a figure is missing or a value is unknown at preview."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class PolicyResource:
    """One registered resource as policies see it: engine type token, name, URN and its inputs."""

    urn: str
    type: str
    name: str
    props: Mapping[str, Any]
    parent: str | None = None
    dependencies: tuple[str, ...] = ()

    @classmethod
    def from_plan(cls, entry: Mapping[str, Any]) -> PolicyResource:
        """Build from one entry of plan.json's `resources` list (`urn, type, name, parent, dependencies, inputs`)."""
        return cls(
            urn=str(entry["urn"]),
            type=str(entry["type"]),
            name=str(entry.get("name") or ""),
            props=dict(entry.get("inputs") or {}),
            parent=entry.get("parent") or None,
            dependencies=tuple(str(urn) for urn in entry.get("dependencies") or ()),
        )


@dataclass(frozen=True, slots=True)
class CostFigures:
    """Monthly cost of a stack as the cost model estimates it, in USD; None where a figure was not supplied."""

    monthly_usd: float | None
    by_team: Mapping[str, float] | None = None
    expected_monthly_usd: float | None = None
    """All costs, each model at peak for its peak-hours share: what the environment budget judges (mandatory)."""
    peak_monthly_usd: float | None = None
    """All costs with every model at max replicas: judged by the advisory peak-budget rule."""
    by_team_expected: Mapping[str, float] | None = None
    by_team_peak: Mapping[str, float] | None = None
    price_overrides: Mapping[str, tuple[float, float]] | None = None
    """Stack price overrides: instance type -> (override USD/hour, catalogue list price in the region)."""


@dataclass(frozen=True, slots=True)
class Waiver:
    """A stack's dated, reasoned exception to one rule: its violations count as advisory until `expires` (inclusive)."""

    reason: str
    expires: str


@dataclass(frozen=True, slots=True)
class PolicyContext:
    """What the rules judge by: the environment, its thresholds, enforcement overrides and cost figures.

    Budget rules report "not evaluated" when `monthly_cost_usd` / `team_monthly_cost_usd`
    are None (no cost model ran), instead of passing silently.
    """

    environment: Environment
    allowed_gpu_types: frozenset[str] = frozenset({"none", "t4", "a10g", "l4", "l40s", "a100", "a100-80gb", "h100", "h200"})
    allowed_families: frozenset[str] = frozenset()
    max_gpus_per_model: int = 16
    max_replicas_per_model: int = 20
    spot_policy: str = "spot-preferred"
    spot_min_instance_types: int = 2
    spot_min_capacity_pools: int | None = None
    budget_monthly_usd: float | None = None
    team_budgets_usd: Mapping[str, float] = field(default_factory=dict)
    enforcement_overrides: Mapping[str, Enforcement] = field(default_factory=dict)
    trusted_registries: tuple[str, ...] = ()
    model_store_bucket: str | None = None
    endpoint_public_access: bool = False
    public_access_cidrs: tuple[str, ...] = ()
    cluster_log_types: tuple[str, ...] = ("api", "audit", "authenticator")
    availability_zones: tuple[str, ...] = ()
    monthly_cost_usd: float | None = None
    team_monthly_cost_usd: Mapping[str, float] | None = None
    expected_monthly_cost_usd: float | None = None
    peak_monthly_cost_usd: float | None = None
    team_expected_monthly_cost_usd: Mapping[str, float] | None = None
    team_peak_monthly_cost_usd: Mapping[str, float] | None = None
    price_overrides: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    """Instance type -> (the stack's override USD/hour, the catalogue's list price in the stack's region)."""
    max_override_discount: Mapping[str, float] = field(default_factory=dict)
    """Instance family -> the deepest public no-upfront commitment discount (the bound below which an override is flagged)."""
    waivers: Mapping[str, Waiver] = field(default_factory=dict)
    today: str = field(default_factory=lambda: datetime.date.today().isoformat())
    allowed_managed_policies: tuple[str, ...] = ()
    allowed_external_accounts: tuple[str, ...] = ()
    max_public_cidr_prefix: int = 8
    """cluster.public_access_widest_prefix: the one setting that bounds the allow-list, in validation and in the pack."""
    adopted: frozenset[str] = frozenset()
    """What the stack adopts instead of creating: "cluster", "model_store", "monitoring", "gateway"."""
    approvals_verified: bool = False
    """Whether approval stages come from a registry snapshot of this stack's store (else they are the specs' claims)."""
    gateway_namespace: str = "gateway-system"
    gateway_name: str = "inference-gateway"
    """The shared Gateway KServe's routes attach to (serving.gateway_namespace / gateway_name)."""
    serving_domain: str = "models.internal"
    """serving.domain: KServe exposes an InferenceService at <name>-<namespace>.<domain> unless it is cluster-local."""

    def active_waiver(self, rule_name: str) -> Waiver | None:
        """The stack's waiver of a rule when it has one that has not expired."""
        waiver = self.waivers.get(rule_name)
        return waiver if waiver is not None and waiver.expires >= self.today else None

    @classmethod
    def from_environment(cls, config: Any, cost: CostFigures | None = None, *, approvals_verified: bool = False) -> PolicyContext:
        """The context of one stack, from its validated `EnvironmentConfig` and (optionally) the cost model's figures.

        `approvals_verified` says the plan read approval stages from a registry snapshot of this stack's store.

        Unknown rule names in `policy.enforcement` are bad input (InputError), not silently ignored.
        """
        from inferstack.policy.catalog import check_override_names

        overrides: dict[str, Enforcement] = dict(config.policy.enforcement)
        stack_file = f"stacks/Pulumi.{getattr(config, 'stack_name', config.environment)}.yaml"
        check_override_names(overrides, stack_file)
        waivers = dict(getattr(config.policy, "waivers", {}))
        check_override_names({name.split("@", 1)[0]: name for name in waivers}, stack_file, "waivers")
        return cls(
            environment=config.environment,
            allowed_gpu_types=frozenset(config.gpu.allowed_gpu_types),
            allowed_families=frozenset(config.gpu.allowed_families),
            max_gpus_per_model=config.gpu.max_gpus_per_model,
            max_replicas_per_model=config.gpu.max_replicas_per_model,
            spot_policy=config.spot.policy,
            spot_min_instance_types=config.spot.min_instance_types,
            spot_min_capacity_pools=config.spot.min_capacity_pools,
            budget_monthly_usd=config.budgets.monthly_usd,
            team_budgets_usd=dict(config.budgets.teams),
            enforcement_overrides=overrides,
            trusted_registries=tuple(config.policy.trusted_registries),
            model_store_bucket=config.model_store.bucket,
            endpoint_public_access=config.cluster.endpoint_public_access,
            public_access_cidrs=tuple(config.cluster.public_access_cidrs),
            cluster_log_types=tuple(config.cluster.log_types),
            availability_zones=tuple(config.network.availability_zones),
            monthly_cost_usd=cost.monthly_usd if cost is not None else None,
            team_monthly_cost_usd=dict(cost.by_team) if cost is not None and cost.by_team is not None else None,
            expected_monthly_cost_usd=cost.expected_monthly_usd if cost is not None else None,
            peak_monthly_cost_usd=cost.peak_monthly_usd if cost is not None else None,
            team_expected_monthly_cost_usd=dict(cost.by_team_expected)
            if cost is not None and cost.by_team_expected is not None
            else None,
            team_peak_monthly_cost_usd=dict(cost.by_team_peak) if cost is not None and cost.by_team_peak is not None else None,
            price_overrides=_price_overrides(config),
            max_override_discount=_max_override_discounts(),
            waivers={
                name: Waiver(waiver.reason, waiver.expires) for name, waiver in waivers.items()
            },
            allowed_managed_policies=tuple(getattr(config.policy, "allowed_managed_policies", ())),
            allowed_external_accounts=tuple(getattr(config.policy, "allowed_external_accounts", ())),
            max_public_cidr_prefix=config.cluster.public_access_widest_prefix,
            adopted=frozenset(
                kind
                for kind, created in (
                    ("cluster", config.cluster.create),
                    ("model_store", config.model_store.create),
                    ("monitoring", config.monitoring.create),
                    ("gateway", config.serving.gateway_create),
                )
                if not created
            ),
            approvals_verified=approvals_verified,
            gateway_namespace=config.serving.gateway_namespace,
            gateway_name=config.serving.gateway_name,
            serving_domain=config.serving.domain,
        )


def _price_overrides(config: Any) -> dict[str, tuple[float, float]]:
    """The stack's price overrides with the catalogue's list price in its region (unknown types are left out)."""
    overrides = dict(getattr(config, "price_overrides", {}) or {})
    if not overrides:
        return {}
    from inferstack.pricing.catalog import load_catalog

    listed = load_catalog(config.region)
    return {
        name: (float(price), listed.instances[name].on_demand_usd_hour)
        for name, price in sorted(overrides.items())
        if name in listed.instances
    }


def _max_override_discounts() -> dict[str, float]:
    """Instance family -> the deepest no-upfront Savings Plan discount the catalogue lists for it."""
    from inferstack.pricing.catalog import load_catalog

    return {family: max(rates.values(), default=0.0) for family, rates in load_catalog("us-east-1").savings_plans.items()}


ResourceCheck = Callable[[PolicyResource, PolicyContext], Iterable[str]]
"""A resource rule: yields one message per violation of one resource."""

StackCheck = Callable[[Sequence[PolicyResource], PolicyContext], Iterable[tuple[str, str]]]
"""A stack rule: yields (urn, message) per violation; urn "" means the stack as a whole."""


@dataclass(frozen=True, slots=True)
class Rule:
    """One policy: identity, documentation, default enforcement per environment, and its check.

    Exactly one of `resource_check` (with the `resource_types` it applies to) and
    `stack_check` is set.
    """

    id: str
    name: str
    category: Category
    severity: Severity
    description: str
    remediation: str
    docs_url: str
    default_enforcement: Mapping[Environment, Enforcement]
    resource_types: frozenset[str] = frozenset()
    resource_check: ResourceCheck | None = None
    stack_check: StackCheck | None = None

    def __post_init__(self) -> None:
        if (self.resource_check is None) == (self.stack_check is None):
            raise ValueError(f"rule {self.id} needs exactly one of resource_check and stack_check")
        if self.resource_check is not None and not self.resource_types:
            raise ValueError(f"rule {self.id} is a resource rule without resource_types")
        missing = [env for env in ENVIRONMENTS if env not in self.default_enforcement]
        if missing:
            raise ValueError(f"rule {self.id} has no default enforcement for {', '.join(missing)}")

    @property
    def is_stack_rule(self) -> bool:
        """Whether the rule judges the whole stack rather than one resource at a time."""
        return self.stack_check is not None

    def enforcement(self, ctx: PolicyContext) -> Enforcement:
        """The rule's default for the environment, replaced by the stack's override keyed by the rule's name.

        An active waiver turns a mandatory rule advisory (the waiver is listed in policy.json).
        """
        enforcement = ctx.enforcement_overrides.get(self.name, self.default_enforcement[ctx.environment])
        if enforcement == "mandatory" and ctx.active_waiver(self.name) is not None:
            return "advisory"
        return enforcement


def enforcement_by_env(dev: Enforcement, staging: Enforcement, prod: Enforcement) -> dict[Environment, Enforcement]:
    """Default enforcement per environment, spelled out positionally for compact rule tables."""
    return {"dev": dev, "staging": staging, "prod": prod}
