"""Load model specs (Python modules or YAML files) and stack files into validated models.

Loading never stops at the first problem: every file is read and every
problem collected, so one run of `inferstack validate` shows them all.
"""

from __future__ import annotations

import datetime
import importlib.util
import re
import sys
import traceback
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from inferstack.constants import ENVIRONMENTS, STACK_NAME_MAX_LENGTH, STACK_NAME_PATTERN
from inferstack.problems import InputError, Problem, _short_repr, display_path, problems_from_validation, unknown_field_message
from inferstack.spec.environment import EnvironmentConfig
from inferstack.spec.model import ModelSpec
from inferstack.spec.stack_checks import extract_secrets, plain_secret_problems, stack_problems
from inferstack.spec.python_loader import describe_python_files, specs_from_description
from inferstack.yaml_loader import YamlLoadError, load_file as load_yaml_file

SPEC_SUFFIXES = (".py", ".yaml", ".yml")


@dataclass(frozen=True, slots=True)
class LoadedSpec:
    """A validated spec and the file it came from."""

    spec: ModelSpec
    source: str


def _spec_files(paths: Iterable[Path]) -> tuple[list[Path], list[Problem]]:
    files: list[Path] = []
    problems: list[Problem] = []
    for path in paths:
        if path.is_dir():
            files.extend(
                sorted(
                    child
                    for child in path.rglob("*")
                    if child.is_file()
                    and child.suffix in SPEC_SUFFIXES
                    and not child.name.startswith(("_", "."))
                    and "__pycache__" not in child.parts
                )
            )
        elif path.is_file():
            if path.suffix not in SPEC_SUFFIXES:
                problems.append(Problem(display_path(path), "", "not a spec file; expected a .py, .yaml or .yml file"))
            else:
                files.append(path)
        else:
            problems.append(Problem(display_path(path), "", "no such file or directory; expected a spec file or folder"))
    return files, problems


def _load_yaml_documents(path: Path, label: str) -> tuple[list[Any], list[Problem]]:
    try:
        loaded = load_yaml_file(path)
    except YamlLoadError as error:
        return [], [Problem(label, issue.where, issue.message) for issue in error.issues]
    documents = [doc for doc in loaded if doc is not None]
    if not documents:
        return [], [Problem(label, "", "the file is empty; expected a model spec (a YAML mapping)")]
    return documents, []


def _specs_from_yaml(path: Path, label: str) -> tuple[list[ModelSpec], list[Problem]]:
    documents, problems = _load_yaml_documents(path, label)
    specs: list[ModelSpec] = []
    for index, document in enumerate(documents):
        prefix: list[int | str] = [f"document[{index}]"] if len(documents) > 1 else []
        if not isinstance(document, dict):
            problems.append(
                Problem(label, ".".join(map(str, prefix)), f"got a {type(document).__name__}; expected a mapping of spec fields")
            )
            continue
        try:
            specs.append(ModelSpec.model_validate(document))
        except ValidationError as error:
            problems.extend(problems_from_validation(error, label, ModelSpec, prefix))
    return specs, problems


def _specs_from_python(path: Path, label: str) -> tuple[list[ModelSpec], list[Problem]]:
    return _python_specs([(path, label)])[label]


def _python_specs(files: Sequence[tuple[Path, str]]) -> dict[str, tuple[list[ModelSpec], list[Problem]]]:
    """Specs of Python spec files, imported in one scrubbed child process (inferstack/spec/python_loader.py)."""
    if not files:
        return {}
    described = describe_python_files(files)
    return {label: specs_from_description(described[label], label) for _, label in files}


def load_spec_file(path: Path, label: str | None = None) -> tuple[list[ModelSpec], list[Problem]]:
    """Specs from one file (YAML: one mapping per document; Python: module-level ModelSpec objects).

    `label` names the file in problems (default: its path relative to the working directory).
    """
    label = display_path(path) if label is None else label
    if path.suffix == ".py":
        return _specs_from_python(path, label)
    return _specs_from_yaml(path, label)


def load_specs(paths: Sequence[Path]) -> list[LoadedSpec]:
    """Load and validate every spec under `paths`; raise InputError listing every problem.

    Python spec files are imported together in one child process (never in this one).
    Also rejects two specs with one name, and two teams claiming one namespace.
    """
    files, problems = _spec_files(paths)
    labelled = [(file, display_path(file)) for file in files]
    python = _python_specs([(file, label) for file, label in labelled if file.suffix == ".py"])
    loaded: list[LoadedSpec] = []
    for file, label in labelled:
        specs, file_problems = python[label] if file.suffix == ".py" else _specs_from_yaml(file, label)
        problems.extend(file_problems)
        loaded.extend(LoadedSpec(spec, label) for spec in specs)
    problems.extend(cross_spec_problems(loaded))
    if problems:
        raise InputError(problems)
    if not loaded:
        where = ", ".join(display_path(path) for path in paths) or "(no paths)"
        raise InputError([Problem(where, "", "no model specs found; expected .py or .yaml spec files")])
    return sorted(loaded, key=lambda item: item.spec.name)


RESERVED_NAMESPACES = frozenset(
    {"default", "kube-system", "kube-public", "kube-node-lease", "kserve", "knative-serving", "istio-system", "monitoring"}
)


def cross_spec_problems(loaded: Sequence[LoadedSpec]) -> list[Problem]:
    """Rules that span specs: unique names, one team per namespace, no reserved namespaces."""
    problems: list[Problem] = []
    first_by_name: dict[str, LoadedSpec] = {}
    team_by_namespace: dict[str, LoadedSpec] = {}
    for item in loaded:
        spec = item.spec
        earlier = first_by_name.get(spec.name)
        if earlier is not None:
            problems.append(
                Problem(item.source, "name", f"model name '{spec.name}' is also used in {earlier.source}; expected unique names")
            )
        else:
            first_by_name[spec.name] = item
        namespace = spec.effective_namespace
        if namespace in RESERVED_NAMESPACES:
            problems.append(
                Problem(item.source, "namespace" if spec.namespace else "team", f"namespace '{namespace}' is reserved; expected a team namespace")
            )
        owner = team_by_namespace.get(namespace)
        if owner is not None and owner.spec.team != spec.team:
            problems.append(
                Problem(
                    item.source,
                    "namespace" if spec.namespace else "team",
                    f"namespace '{namespace}' belongs to team '{owner.spec.team}' ({owner.source}); "
                    f"expected one team per namespace, team '{spec.team}' needs its own",
                )
            )
        elif owner is None:
            team_by_namespace[namespace] = item
    return problems


def stack_file(stacks_dir: Path, stack: str) -> Path:
    """Path of the stack file of `stack`."""
    return stacks_dir / f"Pulumi.{stack}.yaml"


TIER_KEY = "inferstack:tier"
"""Stack config key naming the stack's environment tier (dev, staging or prod)."""


def stack_name_problems(stack: str, label: str) -> list[Problem]:
    """Problems with a stack name: free, but a lowercase DNS-style name (e.g. prod-eu-west-1)."""
    if len(stack) <= STACK_NAME_MAX_LENGTH and re.match(STACK_NAME_PATTERN, stack):
        return []
    return [
        Problem(
            label,
            "stack",
            f"stack name '{stack}' is not a lowercase name of letters, digits and single dashes (at most "
            f"{STACK_NAME_MAX_LENGTH} characters); expected e.g. dev, prod or prod-eu-west-1",
        )
    ]


def environment_from_config(
    config: dict[str, Any], stack: str, label: str, today: datetime.date | None = None
) -> EnvironmentConfig:
    """Validate a stack's `config:` mapping (keys `inferstack:*` and `aws:region`) as an EnvironmentConfig.

    The tier comes from `inferstack:tier`; a stack named after a tier (dev, staging, prod)
    may leave it out, and must not name another tier. Pulumi secrets (`{secure: ...}`) are
    accepted where SECRET_SETTINGS allows them and kept as secrets; the stack checks (zones,
    EKS version calendar on `today`, prices, rule names) run too. Raises InputError with every
    problem, each naming `label` and the `config.` path.
    """
    values: dict[str, Any] = {"stack": stack}
    problems: list[Problem] = []
    tier = config.get(TIER_KEY)
    if tier is None:
        if stack in ENVIRONMENTS:
            values["environment"] = stack
        else:
            problems.append(
                Problem(
                    label,
                    f"config.{TIER_KEY}",
                    f"required setting is missing for stack '{stack}'; expected the stack's tier: {', '.join(ENVIRONMENTS)}",
                )
            )
    elif stack in ENVIRONMENTS and tier != stack:
        problems.append(
            Problem(
                label,
                f"config.{TIER_KEY}",
                f"stack '{stack}' is named after a tier but says tier '{tier}'; expected '{stack}' "
                "(or a stack name that is not a tier)",
            )
        )
    else:
        values["environment"] = tier
    for key, value in config.items():
        if not isinstance(key, str):
            problems.append(Problem(label, f"config.{_short_repr(key)}", "a key that is not text; expected inferstack:<setting> or aws:region"))
            continue
        if key == TIER_KEY:
            continue
        if key == "aws:region":
            values["region"] = value
        elif key.startswith("inferstack:"):
            values[key.removeprefix("inferstack:")] = value
        elif not key.startswith(("aws:", "kubernetes:", "pulumi:")):
            problems.append(
                Problem(label, f"config.{key}", "unknown config namespace; expected inferstack:*, aws:*, kubernetes:* or pulumi:*")
            )
    if "region" not in values:
        problems.append(Problem(label, "config.aws:region", "required setting is missing; expected an AWS region"))
    values, secret_problems = extract_secrets(values, label)
    problems.extend(secret_problems)
    secret_paths = {problem.path for problem in secret_problems}
    for reserved in ("environment", "stack"):
        if f"inferstack:{reserved}" in config:
            problems.append(
                Problem(label, f"config.inferstack:{reserved}", f"unknown setting; the stack's tier is `{TIER_KEY}` and its name the file's")
            )
    try:
        result = EnvironmentConfig.model_validate(values)
    except ValidationError as error:
        settings = sorted(name for name in EnvironmentConfig.model_fields if name not in ("environment", "region", "stack"))
        for problem in problems_from_validation(error, label, EnvironmentConfig):
            path = problem.path
            field = (
                "aws:region" if path == "region" else TIER_KEY if path == "environment" else f"inferstack:{path}" if path else ""
            )
            if path == "environment" and any(item.path == f"config.{TIER_KEY}" for item in problems):
                continue
            where = f"config.{field}" if field else "config"
            if any(where == secret or where.startswith(secret + ".") for secret in secret_paths):
                continue
            message = problem.message
            if "." not in path and message.startswith("unknown field"):
                message = unknown_field_message(f"inferstack:{path}", [f"inferstack:{name}" for name in settings]).replace(
                    "unknown field", "unknown setting", 1
                )
            problems.append(Problem(label, where, message))
        raise InputError(problems) from None
    problems.extend(stack_problems(result, label, today))
    if problems:
        raise InputError(problems)
    return result


def load_environment(stacks_dir: Path, stack: str) -> EnvironmentConfig:
    """Read and validate `stacks/Pulumi.<stack>.yaml` (any stack name; its tier from `inferstack:tier`)."""
    path = stack_file(stacks_dir, stack)
    label = display_path(path)
    name_problems = stack_name_problems(stack, label)
    if name_problems:
        raise InputError(name_problems)
    if not path.is_file():
        known = sorted(item.name.removeprefix("Pulumi.").removesuffix(".yaml") for item in stacks_dir.glob("Pulumi.*.yaml"))
        raise InputError(
            [
                Problem(
                    label,
                    "",
                    f"unknown stack '{stack}': no stack file; expected stacks/Pulumi.<stack>.yaml (stacks here: {', '.join(known) or 'none'})",
                )
            ]
        )
    documents, problems = _load_yaml_documents(path, label)
    if problems:
        raise InputError(problems)
    document = documents[0]
    if not isinstance(document, dict) or not isinstance(document.get("config"), dict):
        raise InputError([Problem(label, "config", "missing or not a mapping; expected a `config:` mapping of settings")])
    plain = plain_secret_problems(document["config"], label)
    if plain:
        raise InputError(plain)
    return environment_from_config(document["config"], stack, label)
