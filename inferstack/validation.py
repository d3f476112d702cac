"""`inferstack validate`: load specs and stack files, and compile every environment."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from inferstack.blueprint import Blueprint
from inferstack.problems import InputError, Problem, display_path
from inferstack.constants import ENVIRONMENTS
from inferstack.spec.loader import LoadedSpec, load_environment, load_specs
from inferstack.spec.resolve import resolve_for_environment

STACK_FILE_PREFIX = "Pulumi."


@dataclass(frozen=True, slots=True)
class ValidationSummary:
    """What `validate` checked."""

    specs: int
    spec_files: int
    stacks: int
    environments: list[str]


def _is_stack_file(path: Path) -> bool:
    return path.is_file() and path.name.startswith(STACK_FILE_PREFIX) and path.suffix in {".yaml", ".yml"}


def _split(paths: Sequence[Path]) -> tuple[list[Path], list[Path]]:
    spec_paths: list[Path] = []
    stack_files: list[Path] = []
    for path in paths:
        if path.is_dir() and any(_is_stack_file(child) for child in path.iterdir()):
            stack_files.extend(sorted(child for child in path.iterdir() if _is_stack_file(child)))
        elif _is_stack_file(path):
            stack_files.append(path)
        else:
            spec_paths.append(path)
    return spec_paths, stack_files


def override_problems(loaded: Sequence[LoadedSpec]) -> list[Problem]:
    """Apply every environment's overrides to every spec, so bad overrides show without a stack file."""
    problems: list[Problem] = []
    for item in loaded:
        for environment in ENVIRONMENTS:
            try:
                resolve_for_environment(item.spec, environment, item.source)
            except InputError as error:
                problems.extend(error.problems)
    return problems


def blueprint_problems(blueprint: Blueprint) -> list[Problem]:
    """Every check of a compiled blueprint that needs no Pulumi engine, for `validate` and `plan` alike.

    Renders each model's rollout objects (InferenceServices, routes, graphs: pure Python), which
    is where the render-time rules live: autoscaling metric per deployment mode, explicit
    storage URIs per variant, Service name lengths of A/B variants.
    """
    from inferstack.render.rollout import render_rollout

    problems: list[Problem] = []
    for deployment in blueprint.models:
        try:
            render_rollout(deployment, blueprint)
        except InputError as error:
            problems.extend(error.problems)
    return list(dict.fromkeys(problems))


def check_blueprint(blueprint: Blueprint) -> None:
    """Raise InputError with blueprint_problems, if any."""
    problems = blueprint_problems(blueprint)
    if problems:
        raise InputError(problems)


def validate_paths(paths: Sequence[Path]) -> ValidationSummary:
    """Validate specs and stacks under `paths`; compile the specs for every stack given.

    Raises InputError with every problem found.
    """
    from inferstack.compiler import compile_blueprint

    spec_paths, stack_files = _split(paths)
    problems: list[Problem] = []
    loaded: list[LoadedSpec] = []
    if spec_paths:
        try:
            loaded = load_specs(spec_paths)
        except InputError as error:
            problems.extend(error.problems)
    spec_problems = override_problems(loaded)
    problems.extend(spec_problems)
    environments = []
    for stack_path in stack_files:
        environment = stack_path.name.removeprefix(STACK_FILE_PREFIX).rsplit(".", 1)[0]
        try:
            config = load_environment(stack_path.parent, environment)
        except InputError as error:
            problems.extend(error.problems)
            continue
        environments.append(environment)
        # Compiling specs whose overrides are already known to be broken would only repeat those problems.
        if loaded and not spec_problems:
            try:
                problems.extend(blueprint_problems(compile_blueprint(loaded, config)))
            except InputError as error:
                problems.extend(error.problems)
    if problems:
        raise InputError(list(dict.fromkeys(problems)))
    files = {item.source for item in loaded}
    if not spec_paths and not stack_files:
        raise InputError([Problem(", ".join(map(display_path, paths)), "", "nothing to validate; expected spec files or stack files")])
    return ValidationSummary(len(loaded), len(files), len(stack_files), environments)
