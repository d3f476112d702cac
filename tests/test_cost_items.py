"""Every cost counted (issue #19): root volumes, control plane by support window, NAT, endpoints, load balancer,
logs, cross-AZ; expected spend; the Savings Plan line. Figures are checked against hand computations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from inferstack.compiler import compile_blueprint
from inferstack.cost import estimate
from inferstack.cost_items import (
    CONTROL_PLANE_LOG_RETENTION_DAYS,
    GIB_TO_GB,
    INTERFACE_ENDPOINT_COUNT,
)
from inferstack.mocks import InferstackMocks, run_under_mocks
from inferstack.spec import ModelSpec, load_environment
from inferstack.spec.environment import EnvironmentConfig
from inferstack.spec.kubernetes_calendar import TODAY_ENV
from inferstack.spec.loader import LoadedSpec
from tests.spec_factory import spec_document

HOURS = 730


def _loaded(name: str = "demo-model", **changes: Any) -> LoadedSpec:
    return LoadedSpec(ModelSpec.model_validate(spec_document(name=name, **changes)), f"specs/{name}.yaml")


def _prod(repo_root: Path) -> EnvironmentConfig:
    return load_environment(repo_root / "stacks", "prod")


def test_a_two_node_pool_pays_two_root_volumes(repo_root: Path) -> None:
    # 2 replicas of 1 x L4 in prod: 2 on-demand g6.xlarge nodes, each with a 200 GiB gp3 root at 0.08 USD/GB-month.
    cost = estimate(compile_blueprint([_loaded(scaling={"min_replicas": 2, "max_replicas": 2})], _prod(repo_root)))
    (pool,) = [item for item in cost.by_pool.values() if item.min_nodes == 2]
    assert (pool.root_volume_gib, pool.root_volume_type) == (200, "gp3")
    assert pool.root_volumes_monthly_usd == pytest.approx(2 * 200 * 0.08)  # 32.00
    # The item adds the 3 system nodes' 50 GiB roots: 32 + 3 x 50 x 0.08 = 44.
    assert cost.items is not None
    assert cost.items["node-root-volumes"].monthly_usd == pytest.approx(44.0)
    assert cost.total_monthly_usd == pytest.approx(cost.monthly_usd + sum(item.monthly_usd for item in cost.items.values()))


def test_root_volumes_match_the_launch_templates_the_program_renders(repo_root: Path) -> None:
    records = run_under_mocks("prod", repo_root / "model_specs", repo_root / "stacks", InferstackMocks(region="us-east-1"))
    templates = {record.name: record.inputs["blockDeviceMappings"][0]["ebs"] for record in records if record.type.endswith(":LaunchTemplate")}
    gib_steady = 0.0
    for group in (record for record in records if record.type == "aws:eks/nodeGroup:NodeGroup"):
        template = group.name.removesuffix("-nodes") + "-lt" if group.name.endswith("-system-nodes") else group.name.removesuffix("-ng") + "-lt"
        assert templates[template]["volumeType"] == "gp3"
        gib_steady += group.inputs["scalingConfig"]["minSize"] * templates[template]["volumeSize"]
    from inferstack.spec.loader import load_specs

    config = _prod(repo_root)
    cost = estimate(compile_blueprint(load_specs([repo_root / "model_specs"]), config))
    assert cost.items is not None
    assert cost.items["node-root-volumes"].monthly_usd == pytest.approx(gib_steady * 0.08)


def test_expected_spend_uses_each_models_peak_hours(repo_root: Path) -> None:
    # 1 to 3 replicas of 1 x L4 on demand (prod), half the time at peak: 1 + 0.5 x (3 - 1) = 2 nodes on average.
    item = _loaded(scaling={"min_replicas": 1, "max_replicas": 3}, cost={"peak_hours_fraction": 0.5})
    config = _prod(repo_root).model_copy(update={"spot": _prod(repo_root).spot.model_copy(update={"policy": "on-demand-only"})})
    cost = estimate(compile_blueprint([item], config))
    hourly = 0.8048
    assert cost.monthly_usd == pytest.approx(1 * hourly * HOURS)
    assert cost.peak_monthly_usd == pytest.approx(3 * hourly * HOURS)
    assert cost.expected_monthly_usd == pytest.approx(2 * hourly * HOURS)  # 1,175.01
    assert cost.by_model["demo-model"].expected_monthly_usd == pytest.approx(2 * hourly * HOURS)
    assert cost.by_team["demo"].expected_monthly_usd == pytest.approx(2 * hourly * HOURS)
    # Root volumes follow the expected node count: 2 x 200 GiB + 3 system x 50 GiB.
    assert cost.items is not None
    assert cost.items["node-root-volumes"].expected_monthly_usd == pytest.approx((2 * 200 + 3 * 50) * 0.08)
    document = cost.to_json()
    assert document["by_model"]["demo-model"]["peak_hours_fraction"] == 0.5
    assert document["total_expected_monthly_usd"] == pytest.approx(cost.total_expected_monthly_usd, abs=0.01)


def test_the_default_peak_hours_share_is_a_quarter() -> None:
    assert ModelSpec.model_validate(spec_document(name="some-model")).cost.peak_hours_fraction == 0.25


def test_control_plane_is_priced_by_support_window(repo_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blueprint = compile_blueprint([_loaded()], _prod(repo_root))  # Kubernetes 1.35: standard support until 2027-03-27
    monkeypatch.setenv(TODAY_ENV, "2026-12-06")
    standard = estimate(blueprint).items
    monkeypatch.setenv(TODAY_ENV, "2027-06-01")
    extended = estimate(blueprint).items
    assert standard is not None and extended is not None
    assert standard["eks-control-plane"].monthly_usd == pytest.approx(0.10 * HOURS)  # 73
    assert extended["eks-control-plane"].monthly_usd == pytest.approx(0.60 * HOURS)  # 438
    assert "extended support" in extended["eks-control-plane"].basis


def test_network_items_of_a_created_vpc(repo_root: Path) -> None:
    # Prod: 3 zones, a NAT gateway per zone; one model from S3 (through the S3 endpoint), one from Hugging Face (NAT).
    config = _prod(repo_root)
    assert config.network.nat_gateway_per_zone and len(config.network.availability_zones) == 3
    models = [
        _loaded("from-s3", cost={"monthly_transfer_gib": 100, "monthly_request_gib": 30}),
        _loaded("from-hf", artifact={"format": "onnx", "version": "1.0.0", "storage_uri": "hf://org/model"}, cost={"monthly_transfer_gib": 40, "monthly_request_gib": 0}),
    ]
    items = estimate(compile_blueprint(models, config)).items
    assert items is not None
    assert items["nat-gateways"].monthly_usd == pytest.approx(3 * (0.045 + 0.005) * HOURS)  # 109.50
    assert items["vpc-interface-endpoints"].monthly_usd == pytest.approx(INTERFACE_ENDPOINT_COUNT * 3 * 0.01 * HOURS)  # 109.50
    assert items["nat-data-processing"].monthly_usd == pytest.approx(40 * GIB_TO_GB * 0.045)  # 1.93
    assert items["vpc-endpoint-data"].monthly_usd == pytest.approx(100 * GIB_TO_GB * 0.01)  # 1.07
    assert items["cross-az-traffic"].monthly_usd == pytest.approx(30 * GIB_TO_GB * 2 / 3 * 2 * 0.01)  # 0.43
    lcus = 30 * GIB_TO_GB / HOURS
    assert items["gateway-load-balancer"].monthly_usd == pytest.approx((0.0225 + lcus * 0.006) * HOURS)  # 16.45
    # 5 control-plane log types x 5 GiB, ingested at 0.50 and kept 90 days at 0.03 per GB-month.
    assert items["control-plane-logs"].monthly_usd == pytest.approx(25 * GIB_TO_GB * (0.50 + 3 * 0.03))


def test_an_adopted_vpc_has_no_nat_of_ours_and_sends_s3_through_nat(repo_root: Path) -> None:
    config = _prod(repo_root)
    adopted = config.model_copy(
        update={"network": config.network.model_copy(update={"vpc_id": "vpc-0abc", "private_subnet_ids": ["subnet-0a", "subnet-0b"]})}
    )
    items = estimate(compile_blueprint([_loaded(cost={"monthly_transfer_gib": 10})], adopted)).items
    assert items is not None
    assert "nat-gateways" not in items and "vpc-interface-endpoints" not in items and "vpc-flow-logs" not in items
    assert items["nat-data-processing"].monthly_usd == pytest.approx(10 * GIB_TO_GB * 0.045)


def test_savings_plan_saving_hand_checked(repo_root: Path) -> None:
    # Prod keeps 2 x g6.xlarge (0.8048/h) on demand 24/7, plus 3 system m7i.large (0.1008/h).
    # Compute SP 1 year, no upfront: g6 saves 25%, m7i 28%: (2 x 0.8048 x 0.25 + 3 x 0.1008 x 0.28) x 730 = 355.56.
    config = _prod(repo_root)
    cost = estimate(compile_blueprint([_loaded(scaling={"min_replicas": 2, "max_replicas": 2})], config))
    plan = cost.savings_plan
    assert plan is not None and plan.recommended == "compute_1y"
    assert plan.base_monthly_usd == pytest.approx((2 * 0.8048 + 3 * 0.1008) * HOURS)
    assert plan.options["compute_1y"].monthly_saving_usd == pytest.approx((2 * 0.8048 * 0.25 + 3 * 0.1008 * 0.28) * HOURS)
    assert plan.options["compute_1y"].commitment_usd_hour == pytest.approx(2 * 0.8048 * 0.75 + 3 * 0.1008 * 0.72)
    # EC2 Instance SP 3 years: 55% and 57%.
    assert plan.options["ec2_instance_3y"].monthly_saving_usd == pytest.approx((2 * 0.8048 * 0.55 + 3 * 0.1008 * 0.57) * HOURS)
    assert cost.to_json()["savings_plan"]["recommended_monthly_saving_usd"] == pytest.approx(355.56, abs=0.01)


def test_spot_pools_are_not_in_the_savings_plan_base(repo_root: Path) -> None:
    dev = load_environment(repo_root / "stacks", "dev")  # spot-only GPUs
    cost = estimate(compile_blueprint([_loaded(scaling={"min_replicas": 1, "max_replicas": 1})], dev))
    assert cost.savings_plan is not None
    assert set(cost.savings_plan.base_by_family) == {"m7i"}  # the system nodes only


def test_constants_agree_with_the_platform_components() -> None:
    from components.cluster import CONTROL_PLANE_LOG_RETENTION_DAYS as RENDERED_RETENTION
    from components.cluster import INTERFACE_ENDPOINT_SERVICES

    assert INTERFACE_ENDPOINT_COUNT == len(INTERFACE_ENDPOINT_SERVICES)
    assert CONTROL_PLANE_LOG_RETENTION_DAYS == RENDERED_RETENTION


def test_kms_keys_and_monitoring_volumes_match_the_rendered_graph(repo_root: Path) -> None:
    import re

    from inferstack.spec.loader import load_specs

    records = run_under_mocks("prod", repo_root / "model_specs", repo_root / "stacks", InferstackMocks(region="us-east-1"))
    keys = sum(1 for record in records if record.type == "aws:kms/key:Key")
    (release,) = [r for r in records if r.type == "kubernetes:helm.sh/v3:Release" and r.inputs.get("name") == "kube-prometheus-stack"]
    claimed = sum(int(size) for size in re.findall(r"'storage': '(\d+)Gi'", str(release.inputs["values"])))
    cost = estimate(compile_blueprint(load_specs([repo_root / "model_specs"]), _prod(repo_root)))
    assert cost.items is not None
    assert cost.items["kms-keys"].monthly_usd == pytest.approx(keys * 1.0)  # 1 USD per key-month
    assert cost.items["monitoring-volumes"].monthly_usd == pytest.approx(claimed * 0.08)
