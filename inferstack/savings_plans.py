"""A Savings Plan recommendation for the steady on-demand base of a stack (issue #19: commitments).

The base is what runs on demand around the clock: every on-demand model pool at its min nodes
(spot pools and on-demand fallbacks, min 0, are not covered) plus the system node group. Each
option (Compute or EC2 Instance Savings Plan, 1 or 3 years, no upfront) saves the catalogue's
fraction per family on that base; its hourly commitment is the base's cost at the plan's rate,
so the commitment is fully used while the base runs.

The recommendation is the **1-year Compute Savings Plan**: the placement moves models between
instance families when specs or prices change, and a Compute plan follows them (across families
and regions), where an EC2 Instance plan binds one family in one region and a 3-year term outlives
most model generations. The other options are listed with their savings for comparison.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from inferstack.blueprint import Blueprint
from inferstack.pricing.catalog import SAVINGS_PLAN_KINDS, Catalog

RECOMMENDED_PLAN = "compute_1y"
"""The option recommended (see the module docstring)."""
TERM_YEARS = {"compute_1y": 1, "compute_3y": 3, "ec2_instance_1y": 1, "ec2_instance_3y": 3}


@dataclass(frozen=True, slots=True)
class SavingsPlanOption:
    """One Savings Plan covering the steady on-demand base: its hourly commitment and monthly saving."""

    kind: str
    term_years: int
    commitment_usd_hour: float
    monthly_saving_usd: float


@dataclass(frozen=True, slots=True)
class SavingsPlanAdvice:
    """The steady on-demand base per family, each option's saving, and the recommended option."""

    base_monthly_usd: float
    base_by_family: dict[str, float]
    options: dict[str, SavingsPlanOption]
    recommended: str | None
    source: str
    as_of: str

    @property
    def recommended_saving_usd(self) -> float:
        """Monthly saving of the recommended option (0 without an on-demand base)."""
        return self.options[self.recommended].monthly_saving_usd if self.recommended else 0.0

    def to_json(self) -> dict[str, Any]:
        """The `savings_plan` object of cost.json."""
        return {
            "base_on_demand_monthly_usd": round(self.base_monthly_usd, 2),
            "base_by_family": {family: round(value, 2) for family, value in self.base_by_family.items()},
            "recommended": self.recommended,
            "recommended_monthly_saving_usd": round(self.recommended_saving_usd, 2),
            "options": {
                kind: {
                    "term_years": option.term_years,
                    "payment": "no upfront",
                    "commitment_usd_hour": round(option.commitment_usd_hour, 4),
                    "monthly_saving_usd": round(option.monthly_saving_usd, 2),
                }
                for kind, option in self.options.items()
            },
            "source": self.source,
            "as_of": self.as_of,
        }


def on_demand_base(blueprint: Blueprint, catalog: Catalog) -> dict[str, float]:
    """USD/hour of on-demand capacity running 24/7, per instance family (min nodes of on-demand pools, system nodes)."""
    base: dict[str, float] = {}
    for pool in blueprint.node_pools:
        if pool.capacity_type != "ON_DEMAND" or pool.fallback_for is not None or pool.min_size == 0:
            continue
        family = pool.instance_types[0].split(".", 1)[0]
        base[family] = base.get(family, 0.0) + pool.min_size * pool.hourly_usd
    config = blueprint.config
    system = catalog.instances.get(config.cluster.system_instance_type)
    if system is not None:
        base[system.family] = base.get(system.family, 0.0) + config.cluster.system_nodes * system.on_demand_usd_hour
    return dict(sorted(base.items()))


def advise(blueprint: Blueprint, catalog: Catalog) -> SavingsPlanAdvice:
    """Each Savings Plan option on the steady on-demand base, and the recommendation."""
    hours = catalog.hours_per_month
    base = on_demand_base(blueprint, catalog)
    options: dict[str, SavingsPlanOption] = {}
    for kind in SAVINGS_PLAN_KINDS:
        saved_hourly = sum(hourly * catalog.savings_plan_discount(family, kind) for family, hourly in base.items())
        options[kind] = SavingsPlanOption(
            kind=kind,
            term_years=TERM_YEARS[kind],
            commitment_usd_hour=sum(base.values()) - saved_hourly,
            monthly_saving_usd=saved_hourly * hours,
        )
    source = catalog.sources.get(catalog.savings_plans_source)
    return SavingsPlanAdvice(
        base_monthly_usd=sum(base.values()) * hours,
        base_by_family={family: hourly * hours for family, hourly in base.items()},
        options=options,
        recommended=RECOMMENDED_PLAN if options[RECOMMENDED_PLAN].monthly_saving_usd > 0 else None,
        source=source.url if source else "",
        as_of=source.as_of if source else "",
    )
