"""Mutation fuzz of the inputs: YAML specs, stack files and Python specs, mutated at random (seeded).

Every mutation must end as valid (exit 0) or as bad input (exit 2) with one-line problems naming
the mutated inputs' own files: no traceback, no other exit. Mutations run in-process through
`validate_paths` (the code `inferstack validate` runs); a sample also goes through the real CLI,
and Python specs through the real child process.
"""

from __future__ import annotations

import random
import shutil
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from inferstack.cli import app
from inferstack.problems import InputError
from inferstack.spec import loader as spec_loader
from inferstack.spec import python_loader
from inferstack.validation import validate_paths

REPO = Path(__file__).resolve().parents[1]
SEED = 20261206
MUTATIONS = int(__import__("os").environ.get("FUZZ_N", "1000"))
YAML_SPECS = sorted((REPO / "model_specs").glob("*.yaml"))
PYTHON_SPECS = sorted((REPO / "model_specs").glob("*.py"))
STACKS = sorted((REPO / "stacks").glob("Pulumi.*.yaml"))

JUNK_VALUES: list[Any] = [
    None, "", 0, -1, 10**30, 1e309, float("nan"), float("-inf"), 0.5, True, "x" * 300, ":fire: [bold]x[/bold]", [], {},
    [[[[]]]], {"a": {"b": {"c": 1}}}, "2024-01-01", "v1:AAAA", {"secure": "v1:AAAA"}, "us-west-2a", "999.1.1.1/99",
    "0.0.0.0/0", "1.23", ["none"], "h100", "s3://x/y", "\t", "null",
]
JUNK_TEXT = ["[", "]", "{", "}", ":", "- ", "&a ", "*a", "!!python/object:os.system ", "\t", "'", '"', "? ", "<<: *a\n", "%", "@", "\x00", "\u2028", "---\n", "...\n", "#"]


def _mutate_text(rng: random.Random, text: str) -> str:
    lines = text.splitlines(keepends=True) or [""]
    kind = rng.randrange(7)
    index = rng.randrange(len(lines))
    if kind == 0:
        del lines[index]
    elif kind == 1:
        lines.insert(index, lines[rng.randrange(len(lines))])
    elif kind == 2:
        other = rng.randrange(len(lines))
        lines[index], lines[other] = lines[other], lines[index]
    elif kind == 3:
        line = lines[index]
        cut = rng.randrange(len(line) + 1)
        lines[index] = line[:cut] + rng.choice(JUNK_TEXT) + line[cut:]
    elif kind == 4:
        return text[: rng.randrange(len(text) + 1)]
    elif kind == 5:
        lines[index] = " " * rng.choice((1, 2, 3, 5)) + lines[index]
    else:
        lines[index] = lines[index].replace(":", rng.choice(("", "::", ": :", ": - ")), 1)
    return "".join(lines)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            found.extend(_paths(item, (*prefix, key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(_paths(item, (*prefix, index)))
    return found


def _mutate_document(rng: random.Random, document: Any) -> Any:
    paths = _paths(document)
    if not paths:
        return rng.choice(JUNK_VALUES)
    path = rng.choice(paths)
    parent = document
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    kind = rng.randrange(4)
    if kind == 0 and isinstance(parent, dict):
        del parent[last]
    elif kind == 1 and isinstance(parent, dict):
        parent[f"{last}x" if isinstance(last, str) else "extra"] = rng.choice(JUNK_VALUES)
    elif kind == 2 and isinstance(parent, dict) and isinstance(last, str) and len(last) > 2:
        typo = last[:-1] if rng.random() < 0.5 else last[1:] + last[0]
        parent[typo] = parent.pop(last)
    else:
        parent[last] = rng.choice(JUNK_VALUES)
    return document


def _mutated_yaml(rng: random.Random, text: str) -> str:
    if rng.random() < 0.5:
        return _mutate_text(rng, text)
    document = yaml.safe_load(text)
    for _ in range(rng.randint(1, 3)):
        document = _mutate_document(rng, document)
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True)


PYTHON_MUTATIONS = [
    lambda name: f"\n{name}.scaling.min_replicas = 99\n",
    lambda name: f"\n{name}.name = 'Not Valid'\n",
    lambda name: f"\n{name} = type({name}).model_construct(name='x')\n",
    lambda name: f"\n{name}.accelerator.gpu_memory_gib = float('nan')\n",
    lambda name: f"\n{name}.monitoring = None\n",
    lambda name: f"\n{name}.environments = {{'qa': 1}}\n",
    lambda name: "\nraise SystemExit('stop')\n",
    lambda name: "\nimport sys\nsys.exit(0)\n",
    lambda name: "\nraise ValueError('boom')\n",
    lambda name: f"\n{name}.scaling = object()\n",
    lambda name: f"\n{name}.rollout.strategy = 'teleport'\n",
    lambda name: f"\ndel {name}\n",
    lambda name: f"\n{name}.serving.resources.cpu = 10**9\n",
    lambda name: "\nimport os\nx = os.environ['AWS_SECRET_ACCESS_KEY']\n",
    lambda name: f"\nother = {name}.model_copy(update={{'name': 'other-model', 'team': 12}})\n",
]


def _mutated_python(rng: random.Random, text: str, name: str) -> str:
    if rng.random() < 0.3:
        return _mutate_text(rng, text)
    return text + rng.choice(PYTHON_MUTATIONS)(name)


def _validate(paths: list[Path], labels: set[str]) -> int:
    """validate's exit code for `paths`, checking each problem line names one of `labels`."""
    try:
        validate_paths(paths)
    except InputError as error:
        for problem in error.problems:
            line = str(problem)
            assert "\n" not in line and "\r" not in line, line
            assert problem.file in labels, (problem.file, labels, line)
            assert not line.rstrip().endswith("expected one of:"), line
        return 2
    return 0


def test_mutation_fuzz_of_yaml_and_python_specs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "fuzz-secret")
    # In-process here (the child process is exercised by the sample below and by the corpus).
    monkeypatch.setattr(
        spec_loader,
        "describe_python_files",
        lambda files: {label: python_loader.describe_module(path, label) for path, label in files},
    )
    rng = random.Random(SEED)
    outcomes: Counter[str] = Counter()
    started = time.perf_counter()
    for number in range(MUTATIONS):
        work = tmp_path / f"m{number}"
        work.mkdir()
        stack = rng.choice(STACKS)
        stack_copy = work / stack.name
        choice = number % 10
        if choice < 5:
            source = rng.choice(YAML_SPECS)
            spec = work / source.name
            spec.write_text(_mutated_yaml(rng, source.read_text(encoding="utf-8")), encoding="utf-8")
            shutil.copyfile(stack, stack_copy)
            kind = "yaml-spec"
        elif choice < 8:
            source = rng.choice(YAML_SPECS)
            spec = work / source.name
            shutil.copyfile(source, spec)
            stack_copy.write_text(_mutated_yaml(rng, stack.read_text(encoding="utf-8")), encoding="utf-8")
            kind = "stack"
        else:
            source = rng.choice(PYTHON_SPECS)
            spec = work / source.name
            spec.write_text(_mutated_python(rng, source.read_text(encoding="utf-8"), source.stem), encoding="utf-8")
            shutil.copyfile(stack, stack_copy)
            kind = "python-spec"
        labels = {f"m{number}/{spec.name}", f"m{number}/{stack_copy.name}"}
        code = _validate([spec, stack_copy], labels)
        outcomes[f"{kind}:{code}"] += 1
    elapsed = time.perf_counter() - started
    print(f"fuzz: {MUTATIONS} mutations in {elapsed:.1f}s: {dict(sorted(outcomes.items()))}")
    assert sum(outcomes.values()) >= 1_000
    assert all(key.endswith((":0", ":2")) for key in outcomes)
    assert outcomes["yaml-spec:2"] and outcomes["stack:2"] and outcomes["python-spec:2"]


def test_mutation_sample_through_the_cli_and_child_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    rng = random.Random(SEED + 1)
    runner = CliRunner()
    codes: Counter[int] = Counter()
    for number in range(12):
        work = tmp_path / f"s{number}"
        work.mkdir()
        source = PYTHON_SPECS[number % len(PYTHON_SPECS)] if number % 2 else YAML_SPECS[number % len(YAML_SPECS)]
        spec = work / source.name
        text = source.read_text(encoding="utf-8")
        spec.write_text(
            _mutated_python(rng, text, source.stem) if source.suffix == ".py" else _mutated_yaml(rng, text), encoding="utf-8"
        )
        shutil.copyfile(REPO / "stacks" / "Pulumi.dev.yaml", work / "Pulumi.dev.yaml")
        result = runner.invoke(app, ["validate", str(spec.relative_to(tmp_path)), f"s{number}/Pulumi.dev.yaml"])
        assert result.exit_code in (0, 2), result.output
        assert "Traceback" not in result.output
        for line in result.stderr.splitlines():
            assert line.startswith((f"s{number}/{spec.name}: ", f"s{number}/Pulumi.dev.yaml: ")), line
        codes[result.exit_code] += 1
    assert codes[2] > 0
