"""The Pulumi program: stack config -> EnvironmentConfig, model_specs/ -> specs, compile, build the Platform.

`pulumi up -s <env>` runs `program()` through the root `__main__.py`; the
offline plan runs the very same function under mocks (inferstack.mocks).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pulumi

from components.platform import Platform, PlatformArgs
from inferstack.blueprint import Blueprint
from inferstack.compiler import RegistryFacts, compile_blueprint
from inferstack.spec.environment import EnvironmentConfig
from inferstack.spec.loader import environment_from_config, load_specs

PROJECT_ROOT = Path(__file__).resolve().parents[1]
"""Where Pulumi.yaml, model_specs/ and stacks/ live."""
CONFIG_NAMESPACE = "inferstack"


def _decode(raw: str) -> Any:
    """Structured config values arrive as JSON text; plain strings stay strings."""
    if raw[:1] in ("{", "["):
        try:
            return json.loads(raw)
        except ValueError:
            return raw
    return raw


def read_environment(stack: str) -> EnvironmentConfig:
    """The stack's `inferstack:*` settings (its tier from `inferstack:tier`) and `aws:region`, validated as an EnvironmentConfig."""
    config = pulumi.Config(CONFIG_NAMESPACE)
    values: dict[str, Any] = {}
    for key in ("tier", *EnvironmentConfig.model_fields):
        if key in ("environment", "region", "stack"):
            continue
        raw = config.get(key)
        if raw is not None:
            values[f"{CONFIG_NAMESPACE}:{key}"] = _decode(raw)
    region = pulumi.Config("aws").get("region")
    if region is not None:
        values["aws:region"] = region
    return environment_from_config(values, stack, f"stacks/Pulumi.{stack}.yaml")


def build_platform(blueprint: Blueprint) -> Platform:
    """Every resource of the environment, under one Platform component."""
    platform = Platform(f"inferstack-{blueprint.environment}", PlatformArgs(blueprint=blueprint))
    pulumi.export("cluster_name", platform.cluster.name)
    pulumi.export("model_bucket", platform.model_store.bucket_name)
    pulumi.export("models", sorted(platform.model_services))
    return platform


REGISTRY_SNAPSHOT_ENV = "INFERSTACK_REGISTRY_SNAPSHOT"
"""Path of a registry snapshot for `pulumi up` (the deploy workflow takes one before `pulumi up`)."""


def _registry_snapshot(environment: EnvironmentConfig) -> RegistryFacts | None:
    path = os.environ.get(REGISTRY_SNAPSHOT_ENV)
    if not path:
        return None
    from inferstack.registry.snapshot import check_snapshot_belongs, load_registry_snapshot

    snapshot = load_registry_snapshot(Path(path))
    check_snapshot_belongs(snapshot, environment, path)
    return snapshot


def program(specs_dir: Path | None = None, blueprint: Blueprint | None = None) -> Platform:
    """Read config, load and compile the specs, build the platform for the current stack.

    The offline plan passes the `blueprint` it compiled already; the program still
    reads the stack's config through `pulumi.Config` and checks that the blueprint
    was compiled for exactly that configuration.
    """
    stack = pulumi.get_stack()
    environment = read_environment(stack)
    if blueprint is None:
        loaded = load_specs([specs_dir or PROJECT_ROOT / "model_specs"])
        blueprint = compile_blueprint(loaded, environment, registry=_registry_snapshot(environment))
    elif blueprint.config != environment:
        raise ValueError(f"the blueprint was compiled for another configuration than stack {stack}'s")
    return build_platform(blueprint)
