"""The spec language: model specs, environment config, and their loaders."""

from inferstack.spec.environment import EnvironmentConfig
from inferstack.spec.loader import LoadedSpec, load_environment, load_specs
from inferstack.spec.model import (
    AbVariant,
    Accelerator,
    Artifact,
    Batching,
    Capacity,
    Drift,
    EnvironmentOverride,
    Lineage,
    ModelSpec,
    Monitoring,
    RegistryMetadata,
    Resources,
    Rollout,
    Scaling,
    Serving,
    Signature,
    TensorSpec,
)

__all__ = [
    "AbVariant",
    "Accelerator",
    "Artifact",
    "Batching",
    "Capacity",
    "Drift",
    "EnvironmentConfig",
    "EnvironmentOverride",
    "Lineage",
    "LoadedSpec",
    "ModelSpec",
    "Monitoring",
    "RegistryMetadata",
    "Resources",
    "Rollout",
    "Scaling",
    "Serving",
    "Signature",
    "TensorSpec",
    "load_environment",
    "load_specs",
]
