"""Karpenter mode: NodePools and EC2NodeClasses valid against the Karpenter v1.14.1 CRDs, chart values real, plans clean."""

from __future__ import annotations

import copy
import json
import os
import shutil
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from typer.testing import CliRunner

from inferstack.blueprint import Blueprint
from inferstack.cli import app
from inferstack.compiler import compile_blueprint
from inferstack.pricing.catalog import load_catalog
from inferstack.render.karpenter import (
    DISRUPTION_BY_TIER,
    controller_values,
    node_class_of,
    render_node_class,
    render_node_pool,
)
from inferstack.spec import load_environment, load_specs
from inferstack.readiness.reference import reference_location

REPO_ROOT = Path(__file__).resolve().parents[1]
KARPENTER_CRDS = "crds/karpenter-v1.14.1"
KARPENTER_CHART = "charts/karpenter-1.14.1"


def _reference() -> Path:
    """../shared/reference (or INFERSTACK_REFERENCE): fail in CI when missing, skip elsewhere."""
    root = reference_location()
    if not (root / KARPENTER_CRDS).is_dir():
        message = f"upstream reference data not found at {root / KARPENTER_CRDS}; set INFERSTACK_REFERENCE to its folder"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return root


def _closed(schema: Any) -> Any:
    """The CRD schema with unknown fields refused: the API server prunes undeclared fields silently."""
    if isinstance(schema, dict):
        schema = {key: _closed(value) for key, value in schema.items()}
        if (
            schema.get("type") == "object"
            and "properties" in schema
            and not schema.get("x-kubernetes-preserve-unknown-fields")
            and "additionalProperties" not in schema
        ):
            schema["additionalProperties"] = False
        return schema
    if isinstance(schema, list):
        return [_closed(item) for item in schema]
    return schema


@cache
def _crd_schema(file: str) -> dict[str, Any]:
    document = yaml.safe_load((_reference() / KARPENTER_CRDS / file).read_text())
    (version,) = [item for item in document["spec"]["versions"] if item["served"] and item.get("storage")]
    return _closed(version["schema"]["openAPIV3Schema"])


def _validate(manifest: dict[str, Any], file: str) -> None:
    validator = jsonschema.Draft7Validator(_crd_schema(file))
    problems = sorted(validator.iter_errors(manifest), key=lambda error: list(error.path))
    assert not problems, "; ".join(f"{'.'.join(map(str, error.path))}: {error.message}" for error in problems[:5])


@cache
def _blueprint(stack: str) -> Blueprint:
    config = load_environment(REPO_ROOT / "stacks", stack)
    config = config.model_copy(update={"cluster": config.cluster.model_copy(update={"node_autoscaler": "karpenter"})})
    return compile_blueprint(load_specs([REPO_ROOT / "model_specs"]), config)


@pytest.mark.parametrize("stack", ["dev", "staging", "prod", "prod-eu-west-1"])
def test_node_pools_and_node_classes_are_valid_against_the_crds(stack: str) -> None:
    blueprint = _blueprint(stack)
    catalog = load_catalog(blueprint.config.region)
    for pool in blueprint.node_pools:
        manifest = render_node_pool(pool, blueprint, catalog)
        _validate(manifest, "karpenter.sh_nodepools.yaml")
        _check_node_pool_rules(manifest)
    for name in sorted({node_class_of(pool) for pool in blueprint.node_pools}):
        node_class = render_node_class(blueprint, name, "inferstack-node-role", blueprint.config.cluster.name)
        _validate(node_class, "karpenter.k8s.aws_ec2nodeclasses.yaml")
        # CEL: exactly one of role and instanceProfile; the alias is family@version of a known family.
        assert ("role" in node_class["spec"]) != ("instanceProfile" in node_class["spec"])
        assert all(term["alias"].split("@")[0] == "al2023" for term in node_class["spec"]["amiSelectorTerms"])


def _check_node_pool_rules(manifest: dict[str, Any]) -> None:
    """The NodePool CRD's CEL rules (x-kubernetes-validations), which jsonschema does not run, for what we set."""
    spec = manifest["spec"]
    labels = spec["template"]["metadata"]["labels"]
    keys = [*labels, *(item["key"] for item in spec["template"]["spec"]["requirements"])]
    for key in keys:
        domain = key.split("/")[0]
        assert key in ("karpenter.sh/capacity-type",) or not domain.endswith("karpenter.sh"), key
        assert key not in ("karpenter.sh/nodepool", "kubernetes.io/hostname"), key
    assert not any(key.split("/")[0].endswith("karpenter.sh") for key in labels)
    for budget in spec["disruption"]["budgets"]:
        assert ("schedule" in budget) == ("duration" in budget)
    assert all(item["values"] for item in spec["template"]["spec"]["requirements"] if item["operator"] == "In")


def test_the_crd_check_refuses_what_a_cluster_would_not_keep() -> None:
    blueprint = _blueprint("staging")
    manifest = render_node_pool(blueprint.node_pools[0], blueprint, load_catalog(blueprint.config.region))
    wrong = copy.deepcopy(manifest)
    wrong["spec"]["disruption"]["consolidationPolicy"] = "Always"
    with pytest.raises(AssertionError, match="consolidationPolicy"):
        _validate(wrong, "karpenter.sh_nodepools.yaml")
    unknown = copy.deepcopy(manifest)
    unknown["spec"]["template"]["spec"]["maxPods"] = 10
    with pytest.raises(AssertionError, match="maxPods"):
        _validate(unknown, "karpenter.sh_nodepools.yaml")


def test_node_pools_follow_the_pool_identity_and_tier() -> None:
    blueprint = _blueprint("prod")
    catalog = load_catalog(blueprint.config.region)
    for pool in blueprint.node_pools:
        manifest = render_node_pool(pool, blueprint, catalog)
        spec = manifest["spec"]
        requirements = {item["key"]: item["values"] for item in spec["template"]["spec"]["requirements"]}
        assert requirements["node.kubernetes.io/instance-type"] == list(pool.instance_types)
        assert requirements["karpenter.sh/capacity-type"] == ["spot" if pool.capacity_type == "SPOT" else "on-demand"]
        assert spec["template"]["metadata"]["labels"]["inferstack.io/node-pool"] == dict(pool.labels)["inferstack.io/node-pool"]
        assert ("taints" in spec["template"]["spec"]) == pool.is_gpu
        assert spec["disruption"] == DISRUPTION_BY_TIER["prod"]
        if pool.is_gpu:
            assert int(spec["limits"]["nvidia.com/gpu"]) == pool.max_size * pool.gpus_per_node
    node_class = render_node_class(blueprint, "gpu", "role", "inferstack-prod")["spec"]
    assert node_class["metadataOptions"]["httpPutResponseHopLimit"] == 1 and node_class["metadataOptions"]["httpTokens"] == "required"
    assert node_class["blockDeviceMappings"][0]["ebs"]["encrypted"] is True
    assert node_class["amiSelectorTerms"][0]["alias"].startswith("al2023@v")  # pinned, not latest


def _key_paths(values: Any, prefix: str = "") -> set[str]:
    if not isinstance(values, dict) or not values:
        return {prefix}
    paths = set()
    for key, value in values.items():
        paths |= _key_paths(value, f"{prefix}.{key}" if prefix else key)
    return paths


def test_controller_values_exist_in_the_chart() -> None:
    chart_values = yaml.safe_load((_reference() / KARPENTER_CHART / "values.yaml").read_text())
    ours = controller_values("inferstack-prod", "queue", "arn:aws:iam::123456789012:role/karpenter")
    for path in _key_paths(ours):
        node: Any = chart_values
        for part in path.split(".")[:2]:  # chart maps (annotations, resources) take any key below
            assert isinstance(node, dict) and part in node, f"{path} is not a value of the karpenter chart"
            node = node[part]


@pytest.mark.parametrize("stack", ["dev", "staging", "prod", "prod-eu-west-1"])
def test_karpenter_mode_plans_with_no_mandatory_violation(stack: str, tmp_path: Path) -> None:
    stacks = tmp_path / "stacks"
    shutil.copytree(REPO_ROOT / "stacks", stacks)
    path = stacks / f"Pulumi.{stack}.yaml"
    document = yaml.safe_load(path.read_text())
    document["config"]["inferstack:cluster"]["node_autoscaler"] = "karpenter"
    path.write_text(yaml.safe_dump(document))
    result = CliRunner().invoke(
        app, ["plan", "--stack", stack, "--specs", str(REPO_ROOT / "model_specs"), "--stacks", str(stacks), "--out", str(tmp_path / "out")]
    )
    assert result.exit_code == 0, result.output
    plan = json.loads((tmp_path / "out" / "plan.json").read_text())
    types = {resource["type"] for resource in plan["resources"]}
    assert "kubernetes:karpenter.sh/v1:NodePool" in types and "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass" in types
    assert "aws:sqs/queue:Queue" in types and "aws:cloudwatch/eventRule:EventRule" in types
    groups = [resource for resource in plan["resources"] if resource["type"] == "aws:eks/nodeGroup:NodeGroup"]
    assert [group["name"] for group in groups] == [f"inferstack-{document['config']['inferstack:tier']}-cluster-system-nodes"]
    policy = json.loads((tmp_path / "out" / "policy.json").read_text())
    assert not [item for item in policy["violations"] if item["enforcement"] == "mandatory"]
    releases = {resource["inputs"].get("name") for resource in plan["resources"] if resource["type"] == "kubernetes:helm.sh/v3:Release"}
    assert "karpenter" in releases and "cluster-autoscaler" not in releases


def _policy_resources(blueprint: Blueprint, keep: Any = lambda pool: True) -> list[Any]:
    from inferstack.policy.model import PolicyResource

    catalog = load_catalog(blueprint.config.region)
    return [
        PolicyResource(urn=f"urn:nodepool::{pool.name}", type="kubernetes:karpenter.sh/v1:NodePool", name=pool.name,
                       props=render_node_pool(pool, blueprint, catalog))
        for pool in blueprint.node_pools
        if keep(pool)
    ]


def test_spot_diversification_judges_node_pools_like_node_groups() -> None:
    from inferstack.policy.model import PolicyContext
    from inferstack.policy.rules.cost import check_spot_diversification

    blueprint = _blueprint("staging")
    ctx = PolicyContext.from_environment(blueprint.config)
    assert list(check_spot_diversification(_policy_resources(blueprint), ctx)) == []
    # Without their on-demand fallbacks, the thin spot NodePools (one type x 3 zones) fail.
    thin = list(check_spot_diversification(_policy_resources(blueprint, lambda pool: pool.fallback_for is None), ctx))
    assert thin and all("no on-demand fallback" in message for _, message in thin)


def test_gpu_pool_spot_and_gpu_type_rules_cover_node_pools() -> None:
    from inferstack.policy.model import PolicyContext
    from inferstack.policy.rules.cost import check_gpu_pool_spot, check_gpu_type_allowed

    prod = _blueprint("prod")
    dev_ctx = PolicyContext.from_environment(load_environment(REPO_ROOT / "stacks", "dev"))
    on_demand = _policy_resources(prod, lambda pool: pool.is_gpu and pool.capacity_type == "ON_DEMAND" and pool.fallback_for is None)
    assert on_demand and len(list(check_gpu_pool_spot(on_demand, dev_ctx))) == len(on_demand)
    assert list(check_gpu_pool_spot(_policy_resources(_blueprint("dev")), dev_ctx)) == []
    h100 = _policy_resources(prod, lambda pool: pool.gpu_type == "h100")
    # gpu-type-allowed is a stack rule: every H100 NodePool is flagged in dev (which offers no H100), none of dev's own.
    flagged = {urn for urn, _ in check_gpu_type_allowed(h100, dev_ctx)}
    assert h100 and flagged == {item.urn for item in h100}
    assert list(check_gpu_type_allowed(_policy_resources(_blueprint("dev")), dev_ctx)) == []


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_every_tier_repacks_under_used_nodes(stack: str) -> None:
    # Issue #19: the cost model assumes the cluster packs as tightly as the planner; Karpenter does that by
    # consolidating under-used nodes. Prod does it one node at a time, outside business hours only.
    blueprint = _blueprint(stack)
    disruption = render_node_pool(blueprint.node_pools[0], blueprint, load_catalog(blueprint.config.region))["spec"]["disruption"]
    assert disruption["consolidationPolicy"] == "WhenEmptyOrUnderutilized"
    if stack == "prod":
        assert {"nodes": "1"} in disruption["budgets"]
        (quiet,) = [budget for budget in disruption["budgets"] if "schedule" in budget]
        assert quiet["nodes"] == "0" and "Underutilized" in quiet["reasons"] and "Empty" not in quiet["reasons"]
