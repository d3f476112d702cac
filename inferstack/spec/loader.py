"""Load model specs (Python modules or YAML files) and stack files into validated models.

Loading never stops at the first problem: every file is read and every
problem collected, so one run of `inferstack validate` shows them all.
"""

from __future__ import annotations

import importlib.util
import re
import sys
import traceback
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

import inferstack.spec.model as spec_models

from inferstack.constants import ENVIRONMENTS, STACK_NAME_MAX_LENGTH, STACK_NAME_PATTERN
from inferstack.problems import InputError, Problem, display_path, problems_from_validation
from inferstack.spec.environment import EnvironmentConfig
from inferstack.spec.model import ModelSpec
from inferstack.yaml_loader import SafeLoader

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
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        return [], [Problem(label, "", f"cannot read the file ({error}); expected readable UTF-8 text")]
    try:
        documents = [doc for doc in yaml.load_all(text, Loader=SafeLoader) if doc is not None]
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "YAML"
        reason = getattr(error, "problem", None) or str(error).splitlines()[0]
        return [], [Problem(label, where, f"invalid YAML: {reason}; expected a YAML mapping of spec fields")]
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
    module_name = f"inferstack_user_spec_{abs(hash(str(path.resolve())))}"
    module_spec = importlib.util.spec_from_file_location(module_name, path)
    if module_spec is None or module_spec.loader is None:
        return [], [Problem(label, "", "cannot import the module; expected a Python module")]
    module = importlib.util.module_from_spec(module_spec)
    try:
        module_spec.loader.exec_module(module)
    except ValidationError as error:
        # The error may come from any spec model constructed in the module (e.g. Accelerator(...)).
        root = getattr(spec_models, error.title, None)
        if not (isinstance(root, type) and issubclass(root, BaseModel)):
            root = ModelSpec
        prefix = [] if root is ModelSpec else [error.title]
        return [], problems_from_validation(error, label, root, prefix)
    except SyntaxError as error:
        return [], [Problem(label, f"line {error.lineno}", f"Python syntax error: {error.msg}; expected a valid Python module")]
    except Exception as error:  # noqa: BLE001 - a user module may raise anything; it must become one line
        frames = [
            frame
            for frame in traceback.extract_tb(error.__traceback__)
            if Path(frame.filename).resolve() == path.resolve()
        ]
        where = f"line {frames[-1].lineno}" if frames else ""
        return [], [
            Problem(label, where, f"the module raised {type(error).__name__}: {error}; expected it to define ModelSpec objects")
        ]
    finally:
        sys.modules.pop(module_name, None)
    specs: list[ModelSpec] = []
    for value in vars(module).values():
        if isinstance(value, ModelSpec):
            specs.append(value)
        elif isinstance(value, (list, tuple)) and value and all(isinstance(item, ModelSpec) for item in value):
            specs.extend(value)
    unique: dict[int, ModelSpec] = {id(spec): spec for spec in specs}
    if not unique:
        return [], [Problem(label, "", "the module defines no ModelSpec objects; expected at least one")]
    return list(unique.values()), []


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

    Also rejects two specs with one name, and two teams claiming one namespace.
    """
    files, problems = _spec_files(paths)
    loaded: list[LoadedSpec] = []
    for file in files:
        label = display_path(file)
        specs, file_problems = load_spec_file(file, label)
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


def environment_from_config(config: dict[str, Any], stack: str, label: str) -> EnvironmentConfig:
    """Validate a stack's `config:` mapping (keys `inferstack:*` and `aws:region`) as an EnvironmentConfig.

    The tier comes from `inferstack:tier`; a stack named after a tier (dev, staging, prod)
    may leave it out, and must not name another tier.
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
        if key == TIER_KEY:
            continue
        if key == "aws:region":
            values["region"] = value
        elif key.startswith("inferstack:"):
            values[key.removeprefix("inferstack:")] = value
        elif not key.startswith(("aws:", "kubernetes:", "pulumi:")):
            problems.append(Problem(label, f"config.{key}", "unknown config namespace; expected inferstack:*, aws:*, kubernetes:*"))
    if "region" not in values:
        problems.append(Problem(label, "config.aws:region", "required setting is missing; expected an AWS region"))
    for reserved in ("environment", "stack"):
        if f"inferstack:{reserved}" in config:
            problems.append(
                Problem(label, f"config.inferstack:{reserved}", f"unknown setting; the stack's tier is `{TIER_KEY}` and its name the file's")
            )
    try:
        result = EnvironmentConfig.model_validate(values)
    except ValidationError as error:
        for problem in problems_from_validation(error, label, EnvironmentConfig):
            path = problem.path
            field = (
                "aws:region" if path == "region" else TIER_KEY if path == "environment" else f"inferstack:{path}" if path else ""
            )
            if path == "environment" and any(item.path == f"config.{TIER_KEY}" for item in problems):
                continue
            problems.append(Problem(label, f"config.{field}" if field else "config", problem.message))
        raise InputError(problems) from None
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
    return environment_from_config(document["config"], stack, label)
