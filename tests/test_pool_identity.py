"""Stable pool identity: no edit of one model moves another model, removes a pool in use or changes a pool's types."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from benchmarks.fleet import generate_fleet
from inferstack.blueprint import Blueprint
from inferstack.compiler import compile_blueprint
from inferstack.pool_identity import choose_size_class, size_classes
from inferstack.pricing.catalog import load_catalog
from inferstack.spec import ModelSpec, load_environment
from inferstack.spec.loader import LoadedSpec


def _compile(documents: list[dict[str, Any]], repo_root: Path, stack: str) -> Blueprint:
    loaded = [LoadedSpec(ModelSpec.model_validate(document), f"fleet/{document['name']}.yaml") for document in documents]
    return compile_blueprint(loaded, load_environment(repo_root / "stacks", stack))


def _assert_stable(before: Blueprint, after: Blueprint, edited: str) -> None:
    pools_before = {pool.name: pool for pool in before.node_pools}
    pools_after = {pool.name: pool for pool in after.node_pools}
    in_use = {name for deployment in before.models if deployment.name != edited for name in deployment.node_pools}
    for name in in_use:
        assert name in pools_after, f"pool {name} removed while other models use it"
        assert pools_after[name].instance_types == pools_before[name].instance_types, name
    for deployment in before.models:
        if deployment.name != edited:
            assert after.model(deployment.name).node_pools == deployment.node_pools, deployment.name


def test_raising_one_models_max_replicas_changes_no_other_pool_or_affinity(repo_root: Path) -> None:
    # The case: a 40-model prod fleet (seed 3), one model's max_replicas from 2 to 6.
    fleet = generate_fleet(40, seed=3)
    target = next(document for document in fleet if document["scaling"]["max_replicas"] == 2)
    edited = copy.deepcopy(fleet)
    next(document for document in edited if document["name"] == target["name"])["scaling"]["max_replicas"] = 6
    before, after = _compile(fleet, repo_root, "prod"), _compile(edited, repo_root, "prod")
    _assert_stable(before, after, target["name"])
    # The edited model keeps its pools (its burst may add a spot pool of the same class beside them).
    assert set(before.model(target["name"]).node_pools) <= set(after.model(target["name"]).node_pools)


def test_a_cpu_canary_keeps_the_shared_staging_pools(repo_root: Path) -> None:
    fleet = generate_fleet(40, seed=3)
    target = next(document for document in fleet if "accelerator" not in document and document["rollout"]["strategy"] == "direct")
    edited = copy.deepcopy(fleet)
    next(document for document in edited if document["name"] == target["name"])["rollout"] = {
        "strategy": "canary", "stable_version": "0.9.0", "canary_percent": 10,
    }
    _assert_stable(_compile(fleet, repo_root, "staging"), _compile(edited, repo_root, "staging"), target["name"])


def test_adding_and_removing_models_keeps_the_others_where_they_are(repo_root: Path) -> None:
    fleet = generate_fleet(41, seed=5)
    before, after = _compile(fleet[:40], repo_root, "prod"), _compile(fleet, repo_root, "prod")
    _assert_stable(before, after, fleet[40]["name"])
    _assert_stable(after, before, fleet[40]["name"])


def test_size_classes_hold_equal_capacity_types_only(repo_root: Path) -> None:
    config = load_environment(repo_root / "stacks", "prod")
    catalog = load_catalog(config.region)
    for gpu_type in ("none", "t4", "l4", "a10g", "l40s", "h100"):
        for size_class in size_classes(catalog, config, gpu_type):
            shapes = {(item.gpus, item.gpu_memory_gib, item.vcpu, item.memory_gib) for item in size_class.instance_types}
            assert len(shapes) == 1, size_class.names
    # The class depends on the replica's shape only: the same shape always picks the same class.
    fleet = generate_fleet(20, seed=2)
    blueprint = _compile(fleet, repo_root, "prod")
    for deployment in blueprint.models:
        alone = _compile([next(item for item in fleet if item["name"] == deployment.name)], repo_root, "prod")
        assert alone.model(deployment.name).node_pools == deployment.node_pools
        size = blueprint_size(alone, deployment.name)
        assert choose_size_class(size, catalog, config).shape in deployment.node_pools[0]


def blueprint_size(blueprint: Blueprint, model: str):  # noqa: ANN201 - a ReplicaSize
    from inferstack.sizing import size_replica

    deployment = blueprint.model(model)
    return size_replica(deployment.spec, blueprint.config, load_catalog(blueprint.config.region), deployment.source)
