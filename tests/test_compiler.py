"""Compile: specs + environment -> Blueprint."""

from __future__ import annotations

from pathlib import Path

import pytest

from inferstack.compiler import compile_blueprint
from inferstack.problems import InputError
from inferstack.spec import ModelSpec, load_environment
from inferstack.spec.environment import EnvironmentConfig
from inferstack.spec.loader import LoadedSpec, load_specs
from tests.spec_factory import spec_document


def _loaded(**changes: object) -> LoadedSpec:
    return LoadedSpec(ModelSpec.model_validate(spec_document(**changes)), "specs/test.yaml")


@pytest.fixture
def dev(repo_root: Path) -> EnvironmentConfig:
    return load_environment(repo_root / "stacks", "dev")


@pytest.fixture
def prod(repo_root: Path) -> EnvironmentConfig:
    return load_environment(repo_root / "stacks", "prod")


def test_overrides_apply_per_environment(dev: EnvironmentConfig, prod: EnvironmentConfig) -> None:
    item = _loaded(
        scaling={"min_replicas": 2, "max_replicas": 4},
        environments={"dev": {"scaling": {"min_replicas": 1}, "artifact_version": "0.9.0"}},
    )
    in_dev = compile_blueprint([item], dev).model("demo-model")
    in_prod = compile_blueprint([item], prod).model("demo-model")
    assert (in_dev.spec.scaling.min_replicas, in_dev.spec.scaling.max_replicas) == (1, 4)
    assert in_dev.spec.artifact.version == "0.9.0"
    assert in_dev.storage_uri == "s3://inferstack-models-dev/models/demo/demo-model/0.9.0/"
    assert in_prod.spec.scaling.min_replicas == 2
    assert in_prod.spec.artifact.version == "1.0.0"


def test_disabled_model_is_left_out(dev: EnvironmentConfig) -> None:
    blueprint = compile_blueprint(
        [_loaded(environments={"dev": {"enabled": False}}), _loaded(name="kept")], dev
    )
    assert [model.name for model in blueprint.models] == ["kept"]
    assert blueprint.disabled_models == ("demo-model",)


def test_defaults_come_from_the_environment(dev: EnvironmentConfig) -> None:
    deployment = compile_blueprint([_loaded()], dev).model("demo-model")
    assert deployment.deployment_mode == dev.serving.deployment_mode
    assert deployment.namespace == "demo"
    team = compile_blueprint([_loaded()], dev).teams[0]
    assert (team.name, team.namespace, team.model_prefix, team.models) == ("demo", "demo", "models/demo/", ("demo-model",))


def test_dev_is_spot_and_prod_has_an_on_demand_base(dev: EnvironmentConfig, prod: EnvironmentConfig) -> None:
    dev_pools = compile_blueprint([_loaded()], dev).node_pools
    prod_pools = compile_blueprint([_loaded()], prod).node_pools
    assert {pool.capacity_type for pool in dev_pools} == {"SPOT"}
    assert {pool.capacity_type for pool in prod_pools} == {"SPOT", "ON_DEMAND"}
    assert all(pool.taints and pool.taints[0].key == "nvidia.com/gpu" for pool in dev_pools if pool.is_gpu)


def test_compile_is_deterministic(repo_root: Path, prod: EnvironmentConfig) -> None:
    loaded = load_specs([repo_root / "model_specs"])
    assert compile_blueprint(loaded, prod) == compile_blueprint(list(reversed(loaded)), prod)


def test_override_that_breaks_a_rule_names_the_environment(dev: EnvironmentConfig) -> None:
    item = _loaded(environments={"dev": {"scaling": {"min_replicas": 9}}})
    with pytest.raises(InputError) as error:
        compile_blueprint([item], dev)
    assert "specs/test.yaml: environments.dev.scaling.min_replicas: min_replicas 9 is above max_replicas 3" in str(error.value)
    assert "after applying environments.dev" in str(error.value)


def test_duplicate_names_are_errors(dev: EnvironmentConfig) -> None:
    with pytest.raises(InputError, match="model name 'demo-model' is also used"):
        compile_blueprint([_loaded(), _loaded()], dev)


def test_model_too_large_for_allowed_types_names_model_and_largest_type(dev: EnvironmentConfig) -> None:
    item = _loaded(
        accelerator={"gpu_type": "t4", "gpus_per_replica": 8, "gpu_memory_gib": 100},
        capacity={"instance_families": ["g4dn"]},
        serving={"resources": {"cpu": 190, "memory_gib": 64}},
    )
    with pytest.raises(InputError) as error:
        compile_blueprint([item], dev)
    message = str(error.value)
    assert "model 'demo-model'" in message
    assert "the largest allowed is g4dn.metal" in message


class _FakeRegistry:
    """Registry facts for one approved, CUDA-measured version."""

    def stage_of(self, model: str, version: str) -> str:
        return "prod" if (model, version) == ("demo-model", "1.0.0") else "none"

    def measured_gpu_memory_gib(self, model: str, version: str) -> float | None:
        return 3.0 if model == "demo-model" else None


def test_registry_facts_replace_the_specs_claims(prod: EnvironmentConfig) -> None:
    claimed = _loaded(registry={"stage": "staging"})
    other = _loaded(name="other-model", registry={"stage": "prod"})
    blueprint = compile_blueprint([claimed, other], prod, registry=_FakeRegistry())  # type: ignore[arg-type]
    demo = blueprint.model("demo-model")
    assert demo.spec.registry.stage == "prod"
    assert demo.measured_gpu_memory_gib == 3.0
    assert demo.sized_gpu_memory_gib < 8  # sized from the measured 3 GiB plus headroom, not the spec's 8
    assert blueprint.model("other-model").spec.registry.stage == "none"


def test_each_served_version_carries_its_own_registry_stage(prod: EnvironmentConfig) -> None:
    from inferstack.render.rollout import render_rollout

    canary = _loaded(rollout={"strategy": "canary", "stable_version": "0.9.0", "canary_percent": 10})
    blueprint = compile_blueprint([canary], prod, registry=_FakeRegistry())  # type: ignore[arg-type]
    deployment = blueprint.model("demo-model")
    assert dict(deployment.registry_stages) == {"1.0.0": "prod", "0.9.0": "none"}
    stages = {
        isvc["metadata"]["annotations"]["inferstack.io/model-version"]: isvc["metadata"]["annotations"]["inferstack.io/approved-stage"]
        for isvc in render_rollout(deployment, blueprint).inference_services
    }
    assert stages == {"1.0.0": "prod", "0.9.0": "none"}
