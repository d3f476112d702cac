"""Python specs as data: spec modules run in one child process, and only their data comes back.

A Python spec is a module exposing `ModelSpec` objects. Importing it runs arbitrary
code, so it never runs in the process that plans or deploys:

- one child process imports every Python spec file of a run (one process, not one
  per file: the interpreter and pydantic start once), with a scrubbed environment
  (no AWS_*, GITHUB_TOKEN or other credentials: an allow-list of variables, AWS
  credential files pointed at /dev/null) and a time limit;
- the child hands each spec back as JSON (`model_dump`, unset fields left out),
  and the parent validates that data again with `ModelSpec.model_validate`, so a
  `model_construct`-ed or mutated spec meets every rule a YAML spec meets;
- whatever the module does (raise, `sys.exit`, `os._exit`, print, hang) becomes one
  problem line with the file and a line number.
"""

from __future__ import annotations

import ast
import hashlib
import json
import math
import os
import subprocess
import sys
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from inferstack.problems import Problem, problems_from_validation

TIMEOUT_ENV = "INFERSTACK_PYTHON_SPEC_TIMEOUT"
"""Seconds the child may take for all Python spec files of one run (default DEFAULT_TIMEOUT_S)."""
DEFAULT_TIMEOUT_S = 60.0

KEPT_ENVIRONMENT = frozenset(
    {"PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "TEMP", "TMP", "SYSTEMROOT", "PYTHONHASHSEED", "PYTHONUTF8"}
)
"""The only environment variables a spec module sees (plus the AWS settings below); credentials never pass."""
CHILD_SETTINGS = {
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONIOENCODING": "utf-8",
}

_START = "start"
_RESULT = "result"


@dataclass(frozen=True, slots=True)
class PythonSpecData:
    """One ModelSpec a module exposed, as data: the variable holding it, its line, its fields."""

    variable: str
    line: int
    data: dict[str, Any]


def scrubbed_environment(environment: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of the child: the allow-listed variables of `environment` and the AWS settings above."""
    source = os.environ if environment is None else environment
    kept = {name: value for name, value in source.items() if name in KEPT_ENVIRONMENT}
    kept.update(CHILD_SETTINGS)
    return kept


# ---------------------------------------------------------------------------------------------------------------
# The child's side: import one module, describe what it exposes (also callable in-process by tests).


def _assignment_lines(path: Path) -> dict[str, int]:
    try:
        tree = ast.parse(path.read_bytes())
    except (SyntaxError, ValueError, OSError):
        return {}
    lines: dict[str, int] = {}
    for node in tree.body:
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = list(node.targets)
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
            targets = [node.target]
        for target in targets:
            for name in ast.walk(target):
                if isinstance(name, ast.Name):
                    lines.setdefault(name.id, node.lineno)
    return lines


def _line_in(path: Path, error: BaseException) -> int | None:
    try:
        resolved = path.resolve()
        frames = [frame for frame in traceback.extract_tb(error.__traceback__) if Path(frame.filename).resolve() == resolved]
    except (OSError, ValueError, RuntimeError):
        return None
    return frames[-1].lineno if frames else None


def _json_default(value: Any) -> Any:
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return f"<{type(value).__name__}>"


def _dump(spec: BaseModel) -> dict[str, Any]:
    """The fields of `spec` the module set, as plain data (including anything `model_construct` slipped in)."""
    try:
        return spec.model_dump(mode="python", exclude_unset=True, warnings=False)
    except Exception:  # noqa: BLE001 - a model_construct-ed object may not serialise; fall back to its raw fields
        raw: dict[str, Any] = {}
        for name in getattr(spec, "__pydantic_fields_set__", set()) or set(vars(spec)):
            value = getattr(spec, name, None)
            raw[name] = _dump(value) if isinstance(value, BaseModel) else value
        return raw


def describe_module(path: Path, label: str) -> dict[str, Any]:
    """Import the module at `path` and describe it as JSON-ready data: its specs, or its problems.

    Runs in the child process (and in-process in tests). Catches everything, SystemExit included.
    """
    import importlib.util

    import inferstack.spec.model as spec_models
    from inferstack.spec.model import ModelSpec

    module_name = f"inferstack_user_spec_{hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:16]}"
    result: dict[str, Any] = {"file": label, "specs": [], "problems": []}

    def problem(where: str, message: str) -> dict[str, Any]:
        result["problems"].append({"path": where, "message": message})
        return result

    module_spec = importlib.util.spec_from_file_location(module_name, path)
    if module_spec is None or module_spec.loader is None:
        return problem("", "cannot import the module; expected a Python module")
    module = importlib.util.module_from_spec(module_spec)
    try:
        module_spec.loader.exec_module(module)
    except ValidationError as error:
        line = _line_in(path, error)
        root = getattr(spec_models, error.title, None)
        if not (isinstance(root, type) and issubclass(root, BaseModel)):
            root = ModelSpec
        prefix = [] if root is ModelSpec else [error.title]
        for item in problems_from_validation(error, label, root, prefix):
            where = ", ".join(part for part in (f"line {line}" if line else "", item.path) if part)
            problem(where, item.message)
        return result
    except SyntaxError as error:
        return problem(f"line {error.lineno}", f"Python syntax error: {error.msg}; expected a valid Python module")
    except SystemExit as error:
        line = _line_in(path, error)
        code = error.code
        what = f"called sys.exit({code if code is None or isinstance(code, int) else '...'})" if not isinstance(code, str) else f"raised SystemExit: {_short(code)}"
        return problem(
            f"line {line}" if line else "",
            f"the module {what} while being imported; expected it to only define ModelSpec objects",
        )
    except BaseException as error:  # noqa: BLE001 - a user module may raise anything; it must become one line
        line = _line_in(path, error)
        return problem(
            f"line {line}" if line else "",
            f"the module raised {type(error).__name__}: {_short(str(error))}; expected it to define ModelSpec objects",
        )
    finally:
        sys.modules.pop(module_name, None)
    lines = _assignment_lines(path)
    seen: set[int] = set()
    for variable, value in list(vars(module).items()):
        items = [value] if isinstance(value, ModelSpec) else (
            list(value) if isinstance(value, (list, tuple)) and value and all(isinstance(item, ModelSpec) for item in value) else []
        )
        for item in items:
            if id(item) in seen:
                continue
            seen.add(id(item))
            result["specs"].append({"variable": variable, "line": lines.get(variable, 0), "data": _dump(item)})
    if not result["specs"]:
        problem("", "the module defines no ModelSpec objects; expected at least one")
    return result


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _encode(payload: dict[str, Any]) -> str:
    return json.dumps(payload, default=_json_default, allow_nan=True)


def worker_main(request: dict[str, Any]) -> None:
    """The child: import each file of `request`, write one JSON line per file on the original stdout."""
    protocol = os.fdopen(os.dup(1), "w", encoding="utf-8")
    quiet = os.open(os.devnull, os.O_RDWR)
    for descriptor in (0, 1, 2):
        os.dup2(quiet, descriptor)
    sys.stdin = open(os.devnull, encoding="utf-8")  # noqa: SIM115 - lives as long as the child
    sys.stdout = sys.stderr = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115
    for path, label in request["files"]:
        protocol.write(_encode({"kind": _START, "file": label}) + "\n")
        protocol.flush()
        try:
            described = describe_module(Path(path), label)
        except BaseException as error:  # noqa: BLE001 - e.g. a module whose __getattr__ raises while listed
            described = {
                "file": label,
                "specs": [],
                "problems": [{"path": "", "message": f"inspecting the module raised {type(error).__name__}; expected plain ModelSpec objects"}],
            }
        try:
            line = _encode({"kind": _RESULT, **described})
        except (TypeError, ValueError, RecursionError) as error:
            line = _encode(
                {
                    "kind": _RESULT,
                    "file": label,
                    "specs": [],
                    "problems": [{"path": "", "message": f"its specs cannot be handed over as data ({type(error).__name__}); expected plain values"}],
                }
            )
        protocol.write(line + "\n")
        protocol.flush()
    protocol.close()
    os._exit(0)


# ---------------------------------------------------------------------------------------------------------------
# The parent's side.

_CHILD_CODE = (
    "import json, sys; request = json.loads(sys.stdin.read()); sys.path[:] = [*request['sys_path'], {root!r}]; "
    "from inferstack.spec.python_loader import worker_main; worker_main(request)"
)
_cache: dict[tuple[str, str], dict[str, Any]] = {}


def _cache_key(path: Path, label: str) -> tuple[str, str] | None:
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None
    return (str(path.resolve()), f"{label}\0{digest}\0{os.pathsep.join(sys.path)}")


def _run_child(files: Sequence[tuple[Path, str]], timeout: float) -> tuple[list[dict[str, Any]], str | None, str | None]:
    """Results of the files the child finished; the label it was in when it stopped early, and why."""
    own_root = str(Path(__file__).resolve().parents[2])
    request = {"sys_path": list(sys.path), "files": [[str(path), label] for path, label in files]}
    try:
        completed = subprocess.run(  # noqa: S603 - our own interpreter and code
            [sys.executable, "-I", "-S", "-c", _CHILD_CODE.format(root=own_root)],
            input=json.dumps(request),
            capture_output=True,
            text=True,
            env=scrubbed_environment(),
            timeout=timeout,
            check=False,
        )
        output, reason = completed.stdout, None if completed.returncode == 0 else f"ended the loader process (exit status {completed.returncode})"
    except subprocess.TimeoutExpired as expired:
        raw = expired.stdout or ""
        output = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        reason = f"did not finish loading within {timeout:g} s (set {TIMEOUT_ENV} for more)"
    results: list[dict[str, Any]] = []
    current: str | None = None
    for line in output.splitlines():
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if message.get("kind") == _START:
            current = message.get("file")
        elif message.get("kind") == _RESULT:
            results.append(message)
            current = None
    if reason is None and len(results) < len(files):
        reason = "ended the loader process early"
    return results, current if reason else None, reason


def _timeout() -> float:
    try:
        value = float(os.environ.get(TIMEOUT_ENV, DEFAULT_TIMEOUT_S))
    except ValueError:
        return DEFAULT_TIMEOUT_S
    return value if math.isfinite(value) and value > 0 else DEFAULT_TIMEOUT_S


def describe_python_files(files: Sequence[tuple[Path, str]]) -> dict[str, dict[str, Any]]:
    """Each file's description (see describe_module), from one child process for all of them.

    A file that ends or hangs the child gets a problem; the child is started again for the files after it.
    """
    described: dict[str, dict[str, Any]] = {}
    pending: list[tuple[Path, str]] = []
    keys: dict[str, tuple[str, str] | None] = {}
    for path, label in files:
        key = _cache_key(path, label)
        keys[label] = key
        if key is not None and key in _cache:
            described[label] = _cache[key]
        else:
            pending.append((path, label))
    deadline = _timeout()
    while pending:
        results, stopped_in, reason = _run_child(pending, deadline)
        for result in results:
            described[result["file"]] = result
            key = keys.get(result["file"])
            if key is not None:
                _cache[key] = result
        done = {result["file"] for result in results}
        remaining = [(path, label) for path, label in pending if label not in done]
        if not remaining:
            break
        culprit = stopped_in if stopped_in in {label for _, label in remaining} else remaining[0][1]
        described[culprit] = {
            "file": culprit,
            "specs": [],
            "problems": [{"path": "", "message": f"the module {reason}; expected a module that only defines ModelSpec objects"}],
        }
        pending = [(path, label) for path, label in remaining if label != culprit]
    return described


def specs_from_description(described: dict[str, Any], label: str) -> tuple[list[Any], list[Problem]]:
    """Validate a module's spec data again in this process: ModelSpecs, or problems with the file, line and field path."""
    from inferstack.spec.model import ModelSpec

    problems = [Problem(label, str(item.get("path", "")), str(item.get("message", ""))) for item in described.get("problems", [])]
    specs: list[ModelSpec] = []
    for item in described.get("specs", []):
        line = item.get("line") or 0
        where = f"line {line}" if line else str(item.get("variable", ""))
        data = item.get("data")
        if not isinstance(data, dict):
            problems.append(Problem(label, where, "the spec is not a mapping of fields; expected a ModelSpec"))
            continue
        try:
            specs.append(ModelSpec.model_validate(data))
        except ValidationError as error:
            for found in problems_from_validation(error, label, ModelSpec):
                problems.append(Problem(label, ", ".join(part for part in (where, found.path) if part), found.message))
    return specs, problems
