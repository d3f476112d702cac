"""The instance price catalogue (catalog.yaml beside this module), with per-stack overrides.

The file lists on-demand list prices in its base region (us-east-1) and a regional
factor per region; a stack may replace on-demand prices with negotiated rates
(`inferstack:price_overrides`) and the typical spot discount of a family
(`inferstack:spot_discount_overrides`).

Every price names its source (`sources:`, a URL and the date it is asserted for, and whether
it was verified against the page); a price computed from another one is marked `derived`.
Besides instances the file prices the other things a stack pays for (`services:`: EBS, NAT,
endpoints, load balancer, CloudWatch, the EKS control plane, cross-AZ traffic) and the
no-upfront Savings Plan discounts per family (`savings_plans:`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from inferstack.problems import InputError, Problem
from inferstack.yaml_loader import safe_load

CATALOG_FILE = Path(__file__).with_name("catalog.yaml")
OVERRIDE_SOURCE = "stack config"
SAVINGS_PLAN_KINDS = ("compute_1y", "compute_3y", "ec2_instance_1y", "ec2_instance_3y")
"""Savings Plan options the catalogue rates per family: Compute or EC2 Instance, 1 or 3 years, no upfront."""


@dataclass(frozen=True, slots=True)
class PriceSource:
    """Where a price comes from: the AWS pricing page, the date it is asserted for, whether it was checked there."""

    name: str
    url: str
    as_of: str
    verified: bool


@dataclass(frozen=True, slots=True)
class ServicePrice:
    """One non-instance price (USD per its unit, in the catalogue's region), with its source."""

    name: str
    usd: float
    source: str
    note: str = ""


@dataclass(frozen=True, slots=True)
class InstanceType:
    """One EC2 instance type: its accelerators, size and hourly prices in one region."""

    name: str
    family: str
    gpu_type: str
    gpus: int
    vcpu: int
    memory_gib: float
    on_demand_usd_hour: float
    spot_usd_hour: float
    gpu_memory_gib: float = 0.0
    """Total GPU memory of the instance (all its GPUs), GiB."""
    source: str = "ec2-on-demand"
    """Source of the on-demand price (a `sources:` entry; "derived" when computed, "stack config" when overridden)."""
    derived_from: str | None = None
    """How a derived price was computed (e.g. "p5.48xlarge / 8")."""
    spot_discount: float = 0.0
    """Fraction saved on spot."""
    spot_discount_basis: str = "family"
    """"type" (an observed figure for this type), "family" (the family's estimate) or "stack config"."""

    @property
    def gpu_memory_per_gpu_gib(self) -> float:
        """Memory of one of its GPUs, GiB (0 without GPUs)."""
        return self.gpu_memory_gib / self.gpus if self.gpus else 0.0

    def price(self, capacity_type: str) -> float:
        """USD per hour for SPOT or ON_DEMAND capacity."""
        return self.spot_usd_hour if capacity_type == "SPOT" else self.on_demand_usd_hour


@dataclass(frozen=True, slots=True)
class Catalog:
    """Instance types priced for one region."""

    region: str
    as_of: str
    hours_per_month: float
    instances: Mapping[str, InstanceType]
    source: str = ""
    currency: str = "USD"
    region_factor: float = 1.0
    region_factor_exact: bool = True
    """False when the region's prices are the base region's times an approximate factor."""
    overridden: tuple[str, ...] = ()
    """Instance types whose on-demand price came from the stack's price_overrides."""
    services: Mapping[str, ServicePrice] = field(default_factory=dict)
    """Non-instance prices (EBS, NAT, endpoints, load balancer, CloudWatch, EKS, cross-AZ), region factor applied."""
    savings_plans: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    """Family -> Savings Plan kind (SAVINGS_PLAN_KINDS) -> fraction saved against on-demand, no upfront."""
    savings_plans_source: str = ""
    sources: Mapping[str, PriceSource] = field(default_factory=dict)

    def service(self, name: str) -> float:
        """A non-instance price in USD per its unit (KeyError for a name the catalogue lacks)."""
        return self.services[name].usd

    def savings_plan_discount(self, family: str, kind: str) -> float:
        """Fraction a Savings Plan of `kind` saves on `family` (0 where the catalogue has no rate)."""
        return float(self.savings_plans.get(family, {}).get(kind, 0.0))

    def for_gpu(self, gpu_type: str) -> list[InstanceType]:
        """Instance types carrying that GPU (or none), cheapest per accelerator first."""
        matches = [item for item in self.instances.values() if item.gpu_type == gpu_type]
        return sorted(matches, key=lambda item: (item.on_demand_usd_hour / max(item.gpus, 1), item.name))


@cache
def _raw_catalog() -> dict[str, Any]:
    with CATALOG_FILE.open(encoding="utf-8") as handle:
        return safe_load(handle)


def raw_catalog_instances() -> dict[str, float]:
    """Instance type -> base-region on-demand list price (USD/hour), for judging price overrides."""
    return {name: float(item["on_demand_usd_hour"]) for name, item in _raw_catalog()["instances"].items()}


def _override_problems(
    raw: dict[str, Any], price_overrides: Mapping[str, float], spot_discount_overrides: Mapping[str, float]
) -> list[Problem]:
    problems: list[Problem] = []
    known = raw["instances"]
    for name in sorted(price_overrides):
        if name not in known:
            problems.append(
                Problem(
                    OVERRIDE_SOURCE,
                    f"inferstack:price_overrides.{name}",
                    f"unknown instance type '{name}'; expected one of the catalogue's types ({', '.join(sorted(known))})",
                )
            )
    families = {name.split(".", 1)[0] for name in known}
    for family in sorted(spot_discount_overrides):
        if family not in families:
            problems.append(
                Problem(
                    OVERRIDE_SOURCE,
                    f"inferstack:spot_discount_overrides.{family}",
                    f"unknown instance family '{family}'; expected one of: {', '.join(sorted(families))}",
                )
            )
    return problems


def load_catalog(
    region: str,
    price_overrides: Mapping[str, float] | None = None,
    spot_discount_overrides: Mapping[str, float] | None = None,
) -> Catalog:
    """The catalogue priced for `region`, with negotiated on-demand prices replacing list prices.

    Regions the file does not list keep base-region prices (factor 1.0, marked inexact);
    an override is taken as the region's own price (no factor applied). Spot prices
    apply the family's typical discount (or its override) to the final on-demand price.
    Unknown instance types or families in the overrides raise InputError.
    """
    raw = _raw_catalog()
    overrides = dict(price_overrides or {})
    discount_overrides = dict(spot_discount_overrides or {})
    problems = _override_problems(raw, overrides, discount_overrides)
    if problems:
        raise InputError(problems)
    region_facts = raw["regions"].get(region)
    factor = float(region_facts["factor"]) if region_facts else 1.0
    exact = bool(region_facts["exact"]) if region_facts else region == raw["base_region"]
    discounts: dict[str, float] = {**raw["spot_discount"], **discount_overrides}
    by_type: dict[str, Any] = raw.get("spot_discount_by_type") or {}
    instances: dict[str, InstanceType] = {}
    for name, facts in raw["instances"].items():
        family = name.split(".", 1)[0]
        on_demand = overrides[name] if name in overrides else float(facts["on_demand_usd_hour"]) * factor
        if family in discount_overrides:
            discount, basis = float(discount_overrides[family]), OVERRIDE_SOURCE
        elif name in by_type:
            discount, basis = float(by_type[name]["discount"]), "type"
        else:
            discount, basis = float(discounts.get(family, 0.0)), "family"
        instances[name] = InstanceType(
            name=name,
            family=family,
            gpu_type=str(facts["gpu_type"]),
            gpus=int(facts["gpus"]),
            vcpu=int(facts["vcpu"]),
            memory_gib=float(facts["memory_gib"]),
            on_demand_usd_hour=round(on_demand, 5),
            spot_usd_hour=round(on_demand * (1 - discount), 5),
            gpu_memory_gib=float(facts["gpu_memory_gib"]),
            source=OVERRIDE_SOURCE if name in overrides else str(facts["source"]),
            derived_from=None if name in overrides else facts.get("derived_from"),
            spot_discount=discount,
            spot_discount_basis=basis,
        )
    services = {
        name: ServicePrice(
            name,
            round(float(item["price"]) * (factor if item.get("regional", True) else 1.0), 6),
            str(item["source"]),
            str(item.get("note") or ""),
        )
        for name, item in raw["services"].items()
    }
    sources = {
        name: PriceSource(name, str(item["url"]), str(item["as_of"]), bool(item["verified"]))
        for name, item in raw["sources"].items()
    }
    return Catalog(
        region=region,
        as_of=str(raw["as_of"]),
        hours_per_month=float(raw["hours_per_month"]),
        instances=instances,
        source=str(raw["source"]),
        currency=str(raw["currency"]),
        region_factor=factor,
        region_factor_exact=exact,
        overridden=tuple(sorted(overrides)),
        services=services,
        savings_plans={family: {kind: float(rate) for kind, rate in rates.items()} for family, rates in raw["savings_plans"].items()},
        savings_plans_source=str(raw["savings_plans_source"]),
        sources=sources,
    )
