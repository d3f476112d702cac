"""The instance price catalogue (catalog.yaml beside this module), with per-stack overrides."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

CATALOG_FILE = Path(__file__).with_name("catalog.yaml")


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

    def for_gpu(self, gpu_type: str) -> list[InstanceType]:
        """Instance types carrying that GPU (or none), cheapest per accelerator first."""
        matches = [item for item in self.instances.values() if item.gpu_type == gpu_type]
        return sorted(matches, key=lambda item: (item.on_demand_usd_hour / max(item.gpus, 1), item.name))


@cache
def _raw_catalog() -> dict[str, Any]:
    with CATALOG_FILE.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def load_catalog(region: str, price_overrides: Mapping[str, float] | None = None) -> Catalog:
    """The catalogue priced for `region`, with negotiated on-demand prices replacing list prices.

    Regions the file does not list keep us-east-1 prices (factor 1.0); spot prices
    apply the family's typical discount to the (possibly overridden) on-demand price.
    """
    raw = _raw_catalog()
    factor = float(raw["regions"].get(region, 1.0))
    discounts: dict[str, float] = raw["spot_discount"]
    overrides = dict(price_overrides or {})
    instances: dict[str, InstanceType] = {}
    for name, facts in raw["instances"].items():
        family = name.split(".", 1)[0]
        on_demand = overrides.get(name, float(facts["on_demand_usd_hour"]) * factor)
        instances[name] = InstanceType(
            name=name,
            family=family,
            gpu_type=str(facts["gpu_type"]),
            gpus=int(facts["gpus"]),
            vcpu=int(facts["vcpu"]),
            memory_gib=float(facts["memory_gib"]),
            on_demand_usd_hour=round(on_demand, 5),
            spot_usd_hour=round(on_demand * (1 - float(discounts.get(family, 0.0))), 5),
        )
    return Catalog(region=region, as_of=str(raw["as_of"]), hours_per_month=float(raw["hours_per_month"]), instances=instances)
