"""Placement sizes pools for every InferenceService a rollout runs, in step with the rollout renderer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from inferstack.compiler import compile_blueprint
from inferstack.cost import estimate
from inferstack.placement import rollout_replica_bounds
from inferstack.problems import InputError
from inferstack.render.rollout import rollout_variants
from inferstack.spec import ModelSpec, load_environment
from inferstack.spec.loader import LoadedSpec
from tests.spec_factory import spec_document

ROLLOUTS: list[dict[str, Any]] = [
    {"strategy": "direct"},
    {"strategy": "canary", "stable_version": "0.9.0", "canary_percent": 10},
    {"strategy": "blue-green", "stable_version": "0.9.0", "active_color": "green"},
    {"strategy": "shadow", "stable_version": "0.9.0", "mirror_percent": 20},
    {
        "strategy": "ab",
        "variants": [
            {"name": "a", "version": "0.9.0", "weight": 50},
            {"name": "b", "version": "1.0.0", "weight": 30},
            {"name": "c", "version": "1.1.0", "weight": 20},
        ],
    },
]


@pytest.mark.parametrize("rollout", ROLLOUTS, ids=[item["strategy"] for item in ROLLOUTS])
@pytest.mark.parametrize("mode", ["standard", "serverless"])
@pytest.mark.parametrize("scaling", [{"min_replicas": 2, "max_replicas": 5}, {"min_replicas": 0, "max_replicas": 3, "scale_to_zero": True}])
def test_bounds_match_the_rendered_variants(
    repo_root: Path, rollout: dict[str, Any], mode: str, scaling: dict[str, Any]
) -> None:
    config = load_environment(repo_root / "stacks", "staging")
    document = spec_document(rollout=rollout, scaling=scaling, serving={"deployment_mode": mode})
    if mode == "serverless":
        document["scaling"] = {**scaling, "metric": "concurrency"}
    spec = ModelSpec.model_validate(document)
    if mode == "standard" and spec.scaling.scale_to_zero:
        with pytest.raises(InputError):  # no wake-up path in standard mode
            compile_blueprint([LoadedSpec(spec, "test.yaml")], config)
        return
    deployment = compile_blueprint([LoadedSpec(spec, "test.yaml")], config).model(spec.name)
    variants = rollout_variants(deployment)
    expected = (sum(v.min_replicas for v in variants), sum(v.max_replicas for v in variants))
    if rollout["strategy"] == "direct" or (rollout["strategy"] == "canary" and mode == "serverless"):
        expected = (spec.scaling.min_replicas, spec.scaling.max_replicas)
    assert rollout_replica_bounds(spec, config) == expected


def test_a_canary_costs_its_second_set_of_replicas(repo_root: Path) -> None:
    config = load_environment(repo_root / "stacks", "staging")
    direct = ModelSpec.model_validate(spec_document(scaling={"min_replicas": 2, "max_replicas": 4}))
    canary = ModelSpec.model_validate(
        spec_document(scaling={"min_replicas": 2, "max_replicas": 4}, rollout=ROLLOUTS[1])
    )
    cost_direct = estimate(compile_blueprint([LoadedSpec(direct, "a.yaml")], config)).monthly_usd
    cost_canary = estimate(compile_blueprint([LoadedSpec(canary, "a.yaml")], config)).monthly_usd
    assert cost_canary == pytest.approx(2 * cost_direct, rel=0.01)
