"""The bad-input corpus (tests/bad_inputs/): every case exits 2 in `validate` and in `plan`, with one
line naming the real file and the field path, and no traceback; pathological YAML within 5 s and 200 MB.

Cases are files (see tests/bad_inputs/make_corpus.py); each starts with `# expect: <field path> | <phrase>`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from inferstack.cli import app
from tests.spec_factory import spec_document

CORPUS = Path(__file__).resolve().parent / "bad_inputs"
REPO = CORPUS.parents[1]
CASES = sorted(path for path in CORPUS.glob("*/*") if path.is_file() and path.suffix in (".yaml", ".py"))
MIN_CASES = 150


def _expectation(case: Path) -> tuple[str, str]:
    header = case.read_text(encoding="utf-8").split("\n", 1)[0]
    assert header.startswith("# expect: "), case
    path, phrase = header.removeprefix("# expect: ").split(" | ", 1)
    return path, phrase


def _workspace(root: Path, case: Path) -> str:
    """specs/ and stacks/ under `root` holding the case; the label the problem line must start with."""
    specs, stacks = root / "specs", root / "stacks"
    specs.mkdir()
    stacks.mkdir()
    if case.name.endswith(".stack.yaml"):
        shutil.copyfile(case, stacks / "Pulumi.dev.yaml")
        (specs / "demo.yaml").write_text(yaml.safe_dump(spec_document()), encoding="utf-8")
        return "stacks/Pulumi.dev.yaml"
    shutil.copyfile(REPO / "stacks" / "Pulumi.dev.yaml", stacks / "Pulumi.dev.yaml")
    shutil.copyfile(case, specs / case.name)
    return f"specs/{case.name}"


def _check(output: str, stderr: str, exit_code: int, label: str, path: str, phrase: str) -> None:
    assert exit_code == 2, output
    assert "Traceback" not in output
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert lines, "expected a problem line on stderr"
    expected = f"{label}: {path}"
    assert any(line.startswith(expected) and phrase in line for line in lines), (expected, phrase, lines)
    assert all(line.startswith(f"{label}: ") for line in lines), lines
    assert not any("expected one of: " in line and line.rstrip().endswith("expected one of:") for line in lines), lines


@pytest.fixture
def scrubbed_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Credentials in the parent's environment (a Python spec must not see them) and a short spec time limit."""
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "corpus-secret-key")
    monkeypatch.setenv("GITHUB_TOKEN", "corpus-token")
    monkeypatch.setenv("INFERSTACK_PYTHON_SPEC_TIMEOUT", "4")


def test_corpus_size_per_class() -> None:
    per_class: dict[str, int] = {}
    for case in CASES:
        per_class[case.parent.name] = per_class.get(case.parent.name, 0) + 1
    assert sum(per_class.values()) + len(LARGE_CASES) >= MIN_CASES, per_class
    assert set(per_class) >= {
        "pathological", "duplicate-keys", "spec-fields", "cross-field", "validate-equals-plan", "stack-values", "python-specs"
    }
    assert all(count >= 5 for count in per_class.values()), per_class


@pytest.mark.usefixtures("scrubbed_env")
@pytest.mark.parametrize("case", CASES, ids=[f"{case.parent.name}/{case.name}" for case in CASES])
def test_bad_input_exits_2_in_validate_and_plan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: Path) -> None:
    path, phrase = _expectation(case)
    monkeypatch.chdir(tmp_path)
    label = _workspace(tmp_path, case)
    runner = CliRunner()
    validated = runner.invoke(app, ["validate", "specs", "stacks/Pulumi.dev.yaml"])
    _check(validated.output, validated.stderr, validated.exit_code, label, path, phrase)
    planned = runner.invoke(app, ["plan", "--stack", "dev", "--specs", "specs", "--stacks", "stacks", "--out", "out"])
    _check(planned.output, planned.stderr, planned.exit_code, label, path, phrase)
    assert not (tmp_path / "out").exists(), "a plan with bad input wrote outputs"


# --- pathological YAML too large to commit: measured in a real process (time and peak memory) -----------------

LARGE_CASES: dict[str, tuple[str, str, str]] = {
    "nested-lists-2000": ("line 1, column", "nesting deeper than 64", "name: " + "[" * 2000 + "]" * 2000 + "\n"),
    "nested-lists-100000": ("line 1, column", "nesting deeper than 64", "[" * 100_000 + "]" * 100_000 + "\n"),
    "nested-maps-100000": ("line 1, column", "nesting deeper than 64", "{a: " * 100_000 + "1" + "}" * 100_000 + "\n"),
    "nested-block-100000": ("line 1, column", "nesting deeper than 64", "- " * 100_000 + "x\n"),
    "nested-indent-1500": ("line 65, column", "nesting deeper than 64", "".join(" " * level + f"k{level}:\n" for level in range(1500)) + " " * 1500 + "v: 1\n"),
    "wide-list-300000": ("line 1, column", "more than 50,000 values", "name: [" + "1," * 300_000 + "1]\n"),
    "huge-file": ("(top level)", "bytes; expected at most", "# " + "x" * (5 * 1024 * 1024) + "\nname: x\n"),
    "billion-laughs-full": ("line 5, column", "aliases expand to more than", ""),
}
PATHOLOGICAL_SECONDS = 5.0
PATHOLOGICAL_MEBIBYTES = 200


def _large_text(name: str) -> str:
    if name == "billion-laughs-full":
        return (CORPUS / "pathological" / "alias-bomb-description.yaml").read_text(encoding="utf-8").split("\n", 1)[1]
    return LARGE_CASES[name][2]


@pytest.mark.parametrize("name", sorted(LARGE_CASES))
def test_pathological_yaml_is_refused_within_5s_and_200mb(tmp_path: Path, name: str) -> None:
    path, phrase, _ = LARGE_CASES[name]
    if name == "billion-laughs-full":
        path = "line 5, column"
    spec = tmp_path / "specs" / f"{name}.yaml"
    spec.parent.mkdir()
    spec.write_text(_large_text(name), encoding="utf-8")
    errors = tmp_path / "stderr.txt"
    startup = _startup_seconds(tmp_path)
    started = time.perf_counter()
    with errors.open("w", encoding="utf-8") as sink:
        # Through a small launcher: a process forked from this (large, long-running) test runner would count the
        # runner's resident pages in its own peak RSS until it execs (Linux keeps the old mm's high-water mark).
        launched = subprocess.run(  # noqa: S603 - our own CLI
            [sys.executable, "-c", _LAUNCHER, str(PATHOLOGICAL_SECONDS * 6), sys.executable, "-m", "inferstack", "validate", f"specs/{name}.yaml"],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=sink,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            check=False,
        )
    outcome = json.loads(launched.stdout)
    returncode, max_rss = outcome["code"], outcome["maxrss"]
    elapsed = time.perf_counter() - started
    stderr = errors.read_text(encoding="utf-8")
    peak_mib = max_rss / 1024 if sys.platform.startswith("linux") else max_rss / 1024 / 1024
    assert returncode == 2, stderr
    assert "Traceback" not in stderr
    assert any(line.startswith(f"specs/{name}.yaml: {path}") and phrase in line for line in stderr.splitlines()), stderr
    # Time beyond a bare start of the same CLI (measured just before, on the same loaded machine);
    # memory for the whole process (interpreter, pydantic, inferstack), not only the parse.
    assert elapsed - startup < PATHOLOGICAL_SECONDS, f"{name}: {elapsed:.2f} s ({startup:.2f} s of it a bare start)"
    assert peak_mib < PATHOLOGICAL_MEBIBYTES, f"{name}: peak RSS {peak_mib:.0f} MiB"


_LAUNCHER = """
import json, os, subprocess, sys, time
child = subprocess.Popen(sys.argv[2:], stdout=subprocess.DEVNULL)
deadline = time.monotonic() + float(sys.argv[1])
while True:
    pid, status, usage = os.wait4(child.pid, os.WNOHANG)
    if pid:
        break
    if time.monotonic() > deadline:
        child.kill()
    time.sleep(0.01)
print(json.dumps({"code": os.waitstatus_to_exitcode(status), "maxrss": usage.ru_maxrss}))
"""
"""Runs one command and prints its exit code and its own peak RSS (wait4's rusage of exactly that process)."""


def _startup_seconds(folder: Path) -> float:
    """Wall time of a bare start: the interpreter importing the CLI and the loaders, no input."""
    started = time.perf_counter()
    subprocess.run(  # noqa: S603 - our own CLI
        [sys.executable, "-c", "import inferstack.cli, inferstack.validation, inferstack.spec.loader"],
        cwd=folder,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - started


@pytest.mark.parametrize("name", sorted(set(LARGE_CASES) - {"huge-file"}))
def test_pathological_yaml_in_plan_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "specs").mkdir()
    (tmp_path / "stacks").mkdir()
    shutil.copyfile(REPO / "stacks" / "Pulumi.dev.yaml", tmp_path / "stacks" / "Pulumi.dev.yaml")
    (tmp_path / "specs" / f"{name}.yaml").write_text(_large_text(name), encoding="utf-8")
    result = CliRunner().invoke(app, ["plan", "--stack", "dev", "--specs", "specs", "--stacks", "stacks", "--out", "out"])
    assert result.exit_code == 2, result.output
    assert any(line.startswith(f"specs/{name}.yaml: ") for line in result.stderr.splitlines()), result.stderr
