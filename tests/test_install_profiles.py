"""Install profiles: the plan, the policy pack and the preview need only the core dependencies.

The gate's runtime and the registry's AWS client are extras; test tools are the default `dev`
group (pyproject.toml). A missing extra is one line naming the install command, exit 2.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from inferstack import extras
from inferstack.cli import app

NOT_IN_THE_PREVIEW = (
    "onnxruntime-gpu",
    "onnxruntime",
    "onnx",
    "numpy",
    "psutil",
    "boto3",
    "botocore",
    "kubernetes-validate",
    "moto",
    "pytest",
    "pyright",
    "pandas",
    "fastapi",
    "uvicorn",
)
"""Distributions the preview profile (`uv sync --no-dev`) must not install."""

BLOCKED_MODULES = ("onnxruntime", "onnx", "numpy", "psutil", "boto3", "botocore", "kubernetes_validate", "moto", "pandas", "fastapi")

BLOCKER = """
import importlib.abc, sys
class Blocked(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in {blocked!r}:
            raise ModuleNotFoundError(f"{{name}} is not in the preview profile", name=name)
        return None
sys.meta_path.insert(0, Blocked())
"""


def _pyproject(repo_root: Path) -> dict:
    return tomllib.loads((repo_root / "pyproject.toml").read_text(encoding="utf-8"))


def _name(requirement: str) -> str:
    for separator in ("[", "=", "<", ">", ";", "!", "~", " "):
        requirement = requirement.split(separator, 1)[0]
    return requirement.lower()


def test_core_dependencies_leave_out_the_gate_registry_and_test_tools(repo_root: Path) -> None:
    project = _pyproject(repo_root)
    core = {_name(item) for item in project["project"]["dependencies"]}
    assert not core & set(NOT_IN_THE_PREVIEW)
    gate = {_name(item) for item in project["project"]["optional-dependencies"]["gate"]}
    assert {"onnxruntime-gpu", "onnxruntime", "onnx", "numpy", "psutil"} <= gate
    assert {_name(item) for item in project["project"]["optional-dependencies"]["registry"]} == {"boto3"}
    dev = project["dependency-groups"]["dev"]
    assert "inferstack[gate,registry,drift]" in dev, "`uv run pytest` must install the extras the tests exercise"
    assert project["tool"]["uv"]["default-groups"] == ["dev"]


def test_extras_module_lists_match_pyproject(repo_root: Path) -> None:
    optional = _pyproject(repo_root)["project"]["optional-dependencies"]
    # drift-plots (matplotlib) is checked where it is used: the drift report says when no plots could be drawn.
    assert set(extras.EXTRAS) == set(optional) - {"drift-plots"}


def test_locked_preview_profile_installs_none_of_them(repo_root: Path) -> None:
    uv = shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not on PATH")
    exported = subprocess.run(
        [uv, "export", "--locked", "--no-dev", "--no-hashes", "--no-emit-project", "--format", "requirements.txt"],
        cwd=repo_root,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    installed = {_name(line) for line in exported.splitlines() if line and not line.startswith(("#", " "))}
    assert {"pulumi", "pulumi-aws", "pulumi-kubernetes", "pulumi-policy", "kserve", "pydantic"} <= installed
    assert not installed & set(NOT_IN_THE_PREVIEW), sorted(installed & set(NOT_IN_THE_PREVIEW))


def test_plan_and_policy_pack_run_without_the_extras(repo_root: Path, tmp_path: Path) -> None:
    """The whole plan (and the pack's import) in a process where the extras' and test tools' modules cannot load."""
    script = BLOCKER.format(blocked=BLOCKED_MODULES) + (
        "import sys\n"
        "sys.argv = ['inferstack', 'plan', '--stack', 'dev', '--out', sys.argv[1]]\n"
        "import inferstack.registry.snapshot, inferstack.gate_report\n"
        "from inferstack.policy.crossguard import build_policies\n"
        "from inferstack.cli import main\n"
        "main()\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "out")],
        cwd=repo_root,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert (tmp_path / "out" / "report.md").is_file()


def test_gate_without_its_extra_is_one_line_and_exit_2(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    real_find_spec = extras.find_spec
    monkeypatch.setattr(extras, "find_spec", lambda name: None if name == "onnxruntime" else real_find_spec(name))
    monkeypatch.delitem(sys.modules, "inferstack.gate", raising=False)
    result = CliRunner().invoke(app, ["gate", str(tmp_path / "model.onnx"), "--spec", "fraud-scorer"])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "'gate' extra" in lines[0] and "onnxruntime is not installed" in lines[0]
    assert "`uv sync --extra gate`" in lines[0] and "inferstack[gate]" in lines[0]
    assert "Traceback" not in result.output


def test_registry_without_its_extra_is_one_line_and_exit_2(monkeypatch: pytest.MonkeyPatch) -> None:
    real_find_spec = extras.find_spec
    monkeypatch.setattr(extras, "find_spec", lambda name: None if name == "boto3" else real_find_spec(name))
    monkeypatch.delitem(sys.modules, "inferstack.registry.store", raising=False)
    result = CliRunner().invoke(app, ["registry", "list", "--stack", "dev"])
    assert result.exit_code == 2
    assert result.stderr.strip().count("\n") == 0 and "`uv sync --extra registry`" in result.stderr
