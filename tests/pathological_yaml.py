"""Pathological YAML too large to commit, and a measured run of `inferstack validate` on one case.

Shared by tests/test_bad_input_corpus.py (exit code, message, peak memory) and
benchmarks/pathological_inputs.py (the time each case takes, against its target).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "tests" / "bad_inputs"

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
"""name -> (where the problem line points, a phrase it contains, the file's text)."""

TARGET_SECONDS = 5.0
"""Time target per case beyond a bare start of the CLI (benchmarks/pathological_inputs.py measures it)."""
TARGET_MEBIBYTES = 200
"""Peak RSS limit of the whole validate process per case."""
HANG_SECONDS = 60.0
"""A case still running after this long is killed: a hang, not a slow run."""


def large_text(name: str) -> str:
    """The YAML text of one case."""
    if name == "billion-laughs-full":
        return (CORPUS / "pathological" / "alias-bomb-description.yaml").read_text(encoding="utf-8").split("\n", 1)[1]
    return LARGE_CASES[name][2]


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


@dataclass(frozen=True)
class ValidateRun:
    """One `inferstack validate` of a pathological case, measured from outside the process."""

    returncode: int
    stderr: str
    seconds: float
    startup_seconds: float
    peak_mib: float


def startup_seconds(folder: Path) -> float:
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


def validate_case(folder: Path, name: str) -> ValidateRun:
    """Write case `name` to folder/specs/<name>.yaml and run `inferstack validate` on it in its own process."""
    spec = folder / "specs" / f"{name}.yaml"
    spec.parent.mkdir(exist_ok=True)
    spec.write_text(large_text(name), encoding="utf-8")
    errors = folder / f"{name}.stderr.txt"
    bare = startup_seconds(folder)
    started = time.perf_counter()
    with errors.open("w", encoding="utf-8") as sink:
        # Through a small launcher: a process forked from a large, long-running parent (a test runner) would
        # count the parent's resident pages in its own peak RSS until it execs (Linux keeps the old mm's high-water mark).
        launched = subprocess.run(  # noqa: S603 - our own CLI
            [sys.executable, "-c", _LAUNCHER, str(HANG_SECONDS), sys.executable, "-m", "inferstack", "validate", f"specs/{name}.yaml"],
            cwd=folder,
            stdout=subprocess.PIPE,
            stderr=sink,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            check=False,
        )
    seconds = time.perf_counter() - started
    outcome = json.loads(launched.stdout)
    max_rss = outcome["maxrss"]
    peak_mib = max_rss / 1024 if sys.platform.startswith("linux") else max_rss / 1024 / 1024
    return ValidateRun(outcome["code"], errors.read_text(encoding="utf-8"), seconds, bare, peak_mib)
