"""The price catalogue: facts consistent with the GPU table, overrides, regions."""

from __future__ import annotations

import pytest

from inferstack.accelerators import GPUS
from inferstack.pricing.catalog import load_catalog
from inferstack.problems import InputError


def test_instances_agree_with_the_gpu_table() -> None:
    catalog = load_catalog("us-east-1")
    for instance in catalog.instances.values():
        if instance.gpu_type == "none":
            assert (instance.gpus, instance.gpu_memory_gib) == (0, 0)
            continue
        facts = GPUS[instance.gpu_type]
        assert instance.family in facts.families, instance.name
        assert instance.gpu_memory_per_gpu_gib == facts.memory_gib, instance.name
        assert instance.spot_usd_hour < instance.on_demand_usd_hour


def test_post_june_2025_p_family_prices_and_p5_4xlarge() -> None:
    catalog = load_catalog("us-east-1")
    assert catalog.instances["p5.48xlarge"].on_demand_usd_hour == 55.04
    assert catalog.instances["p5.4xlarge"].gpus == 1
    assert "p5e.48xlarge" not in catalog.instances  # no us-east-1 on-demand listing
    assert catalog.as_of and catalog.source


def test_price_override_replaces_on_demand_and_spot_follows_the_discount() -> None:
    base = load_catalog("us-east-1").instances["g6.xlarge"]
    negotiated = load_catalog("us-east-1", {"g6.xlarge": 0.5}).instances["g6.xlarge"]
    assert negotiated.on_demand_usd_hour == 0.5
    assert negotiated.spot_usd_hour == pytest.approx(0.5 * base.spot_usd_hour / base.on_demand_usd_hour, rel=1e-3)
    assert load_catalog("us-east-1", {"g6.xlarge": 0.5}).overridden == ("g6.xlarge",)


def test_spot_discount_override() -> None:
    instance = load_catalog("us-east-1", spot_discount_overrides={"g6": 0.7}).instances["g6.xlarge"]
    assert instance.spot_usd_hour == pytest.approx(instance.on_demand_usd_hour * 0.3, rel=1e-4)


def test_unknown_override_names_are_input_errors() -> None:
    with pytest.raises(InputError, match="unknown instance type 'g9.xlarge'"):
        load_catalog("us-east-1", {"g9.xlarge": 1.0})
    with pytest.raises(InputError, match="unknown instance family 'zz9'"):
        load_catalog("us-east-1", spot_discount_overrides={"zz9": 0.5})


def test_regions_are_labelled_exact_or_approximate() -> None:
    assert load_catalog("us-west-2").region_factor_exact
    europe = load_catalog("eu-west-1")
    assert not europe.region_factor_exact
    assert europe.instances["g5.xlarge"].on_demand_usd_hour > load_catalog("us-east-1").instances["g5.xlarge"].on_demand_usd_hour
    assert not load_catalog("ap-south-1").region_factor_exact


def test_every_price_names_a_source_with_a_url_and_a_date() -> None:
    from inferstack.pricing.catalog import _raw_catalog

    raw = _raw_catalog()
    sources = raw["sources"]
    for name, source in sources.items():
        assert str(source["url"]).startswith(("https://", "inferstack/")), name
        assert len(str(source["as_of"])) >= 7 and isinstance(source["verified"], bool), name
    for name, facts in raw["instances"].items():
        assert facts["source"] in sources, name
        assert ("derived_from" in facts) == (facts["source"] == "derived"), name
    for name, item in raw["services"].items():
        assert item["source"] in sources and item["price"] > 0, name
    for name, item in raw["spot_discount_by_type"].items():
        assert item["source"] in sources and 0 < item["discount"] < 1, name
    assert raw["spot_discount_source"] in sources and raw["savings_plans_source"] in sources


def test_derived_prices_are_marked_and_computed_as_they_say() -> None:
    catalog = load_catalog("us-east-1")
    small = catalog.instances["p5.4xlarge"]
    assert (small.source, small.derived_from) == ("derived", "p5.48xlarge / 8")
    assert small.on_demand_usd_hour == catalog.instances["p5.48xlarge"].on_demand_usd_hour / 8
    assert catalog.instances["p5.48xlarge"].source == "ec2-on-demand"


def test_spot_discount_per_type_before_the_family_fallback() -> None:
    catalog = load_catalog("us-east-1")
    observed = catalog.instances["p5en.48xlarge"]
    assert observed.spot_discount_basis == "type"
    assert observed.spot_usd_hour == pytest.approx(63.296 * (1 - 0.5703), abs=1e-4)  # 27.20, the observed price
    assert catalog.instances["g5.xlarge"].spot_discount_basis == "family"
    overridden = load_catalog("us-east-1", spot_discount_overrides={"p5en": 0.4}).instances["p5en.48xlarge"]
    assert (overridden.spot_discount, overridden.spot_discount_basis) == (0.4, "stack config")


def test_every_family_has_spot_and_savings_plan_rates() -> None:
    from inferstack.pricing.catalog import SAVINGS_PLAN_KINDS

    catalog = load_catalog("us-east-1")
    for family in {item.family for item in catalog.instances.values()}:
        rates = catalog.savings_plans[family]
        assert set(rates) == set(SAVINGS_PLAN_KINDS), family
        # Longer terms and narrower plans save more.
        assert rates["compute_1y"] < rates["compute_3y"] and rates["ec2_instance_1y"] < rates["ec2_instance_3y"], family
        assert rates["compute_1y"] < rates["ec2_instance_1y"] and rates["compute_3y"] < rates["ec2_instance_3y"], family


def test_service_prices_take_the_region_factor() -> None:
    assert load_catalog("us-east-1").service("ebs_gp3_usd_gb_month") == 0.08
    assert load_catalog("eu-west-1").service("ebs_gp3_usd_gb_month") == pytest.approx(0.08 * 1.12)
    assert load_catalog("eu-west-1").service("eks_standard_usd_hour") == 0.10  # the same in every commercial region
