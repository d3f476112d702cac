"""spot-diversification and gpu-pool-spot with capacity pools and on-demand fallback node groups."""

from __future__ import annotations

import copy
from typing import Any

from inferstack.constants import LABEL_GPU_TYPE, LABEL_NODE_POOL
from inferstack.policy import PolicyResource
from inferstack.policy import props as p
from inferstack.policy.catalog import RULES_BY_NAME
from inferstack.policy.evaluate import run_rule
from tests.policy_corpus.baseline import context, patched, secure_stack, stack_config

THIN = {"instanceTypes": ["p5.48xlarge"], "labels": {LABEL_GPU_TYPE: "h100", LABEL_NODE_POOL: "h100-spot"}}


def _config(min_capacity_pools: int | None = 3, zones: int = 3) -> dict[str, Any]:
    config = stack_config("staging")
    config["inferstack:spot"] = {"policy": "spot-preferred", "min_instance_types": 2}
    if min_capacity_pools is not None:
        config["inferstack:spot"]["min_capacity_pools"] = min_capacity_pools
    config["inferstack:network"] = {"availability_zones": ["us-east-1a", "us-east-1b", "us-east-1c"][:zones]}
    return config


def _fallback(min_size: int = 0, label: str = "h100-spot", types: tuple[str, ...] = ("p5.48xlarge",)) -> dict[str, Any]:
    props = copy.deepcopy(dict(next(r for r in secure_stack("staging") if r.name == "gpu-a10g").props))
    props |= {
        "capacityType": "ON_DEMAND",
        "instanceTypes": list(types),
        "labels": {LABEL_GPU_TYPE: "h100", LABEL_NODE_POOL: label},
        "scalingConfig": {"minSize": min_size, "maxSize": 4, "desiredSize": min_size},
    }
    return {"add": {"type": p.AWS_EKS_NODE_GROUP, "name": "h100-fallback", "props": props}}


def _stack(*extra: dict[str, Any]) -> list[PolicyResource]:
    return patched(secure_stack("staging"), [{"resource": "gpu-a10g", "set": THIN}, *extra], "staging")


def _violations(rule: str, stack: list[PolicyResource], config: dict[str, Any]) -> list[str]:
    found, skipped = run_rule(RULES_BY_NAME[rule], stack, context("staging", config=config))
    assert skipped == []
    return [message for _, message in found]


def test_thin_spot_group_over_enough_capacity_pools_with_a_fallback_passes() -> None:
    assert _violations("spot-diversification", _stack(_fallback()), _config()) == []


def test_thin_spot_group_without_a_fallback_fails() -> None:
    (message,) = _violations("spot-diversification", _stack(), _config())
    assert "no on-demand fallback" in message and f"{LABEL_NODE_POOL}=h100-spot" in message


def test_a_fallback_for_another_pool_or_other_types_does_not_count() -> None:
    assert _violations("spot-diversification", _stack(_fallback(label="l4-spot")), _config())
    assert _violations("spot-diversification", _stack(_fallback(types=("g5.xlarge",))), _config())


def test_too_few_capacity_pools_fail_even_with_a_fallback() -> None:
    (message,) = _violations("spot-diversification", _stack(_fallback()), _config(min_capacity_pools=3, zones=2))
    assert "2 spot capacity pool(s)" in message
    subnets = patched(_stack(_fallback()), [{"resource": "gpu-a10g", "set": {"subnetIds": ["subnet-0a"]}}], "staging")
    assert _violations("spot-diversification", subnets, _config())  # one subnet: one zone, whatever the stack lists


def test_without_min_capacity_pools_only_instance_types_count() -> None:
    (message,) = _violations("spot-diversification", _stack(_fallback()), _config(min_capacity_pools=None))
    assert "expected at least 2 to ride out spot interruptions" in message


def test_gpu_pool_spot_exempts_a_fallback_at_min_size_zero_only() -> None:
    assert _violations("gpu-pool-spot", _stack(_fallback()), _config()) == []
    (message,) = _violations("gpu-pool-spot", _stack(_fallback(min_size=1)), _config())
    assert "expected SPOT in staging" in message
