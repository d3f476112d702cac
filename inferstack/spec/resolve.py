"""Apply one environment's overrides to a spec, giving the spec as it runs there."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from inferstack.problems import InputError, problems_from_validation
from inferstack.spec.model import ModelSpec


def _deep_merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def resolve_for_environment(spec: ModelSpec, environment: str, source: str = "<spec>") -> ModelSpec | None:
    """The spec with `environments[environment]` applied, or None when the model is disabled there.

    The merged result is validated again as a whole, so cross-field rules hold per
    environment; problems point at `environments.<env>`.
    """
    override = spec.environments.get(environment)  # type: ignore[call-overload]
    if override is None:
        return spec.model_copy(update={"environments": {}})
    if not override.enabled:
        return None
    changes = override.model_dump(exclude_unset=True, exclude={"enabled", "artifact_version", "rollout"})
    base = spec.model_dump(exclude={"environments"}, exclude_unset=True)
    merged = _deep_merge(base, changes)
    if override.artifact_version is not None:
        merged.setdefault("artifact", {})["version"] = override.artifact_version
    if override.rollout is not None:
        merged["rollout"] = override.rollout.model_dump(exclude_unset=True)
    try:
        return ModelSpec.model_validate(merged)
    except ValidationError as error:
        problems = problems_from_validation(error, source, ModelSpec)
        changed = set(changes)
        if override.artifact_version is not None:
            changed.add("artifact")
        if override.rollout is not None:
            changed.add("rollout")
        raise InputError(
            [
                type(problem)(
                    problem.file,
                    _override_path(problem.path, problem.message, environment, changed, override.artifact_version is not None),
                    f"{problem.message} (after applying environments.{environment})",
                )
                for problem in problems
            ]
        ) from None


def _override_path(path: str, message: str, environment: str, changed: set[str], version_override: bool) -> str:
    """The override's own path when the problem sits in (or its message names) a section the override changed."""
    section = path.split(".", 1)[0].split("[", 1)[0]
    if section not in changed:
        if version_override and "artifact.version" in message:
            return f"environments.{environment}.artifact_version"
        named = sorted(key for key in changed if f"{key}." in message)
        return f"environments.{environment}.{named[0]}" if named else path
    if section == "artifact" and version_override and path in ("artifact", "artifact.version"):
        return f"environments.{environment}.artifact_version"
    return f"environments.{environment}.{path}"
