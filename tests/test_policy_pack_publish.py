"""Issue 13 item 9: the policy pack declares what it imports, so `pulumi policy publish` ships a pack that installs alone."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
PACK = REPO_ROOT / "policies"


def _requirements() -> dict[str, str]:
    """Normalised distribution name -> its requirement line."""
    found: dict[str, str] = {}
    for line in (PACK / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name = re.split(r"[<>=!~ @;\[]", line, maxsplit=1)[0]
            found[re.sub(r"[-_.]+", "-", name).lower()] = line
    return found


def _pack_imports() -> set[str]:
    """Top-level modules the pack's entry point imports (the checkov checks run under `uvx checkov`, not in the pack)."""
    tree = ast.parse((PACK / "__main__.py").read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return {name for name in names if name not in sys.stdlib_module_names and name != "__future__"}


def test_every_import_of_the_pack_is_a_declared_requirement() -> None:
    declared = _requirements()
    distributions = packages_distributions()
    for module in sorted(_pack_imports()):
        candidates = {re.sub(r"[-_.]+", "-", dist).lower() for dist in distributions.get(module, [module])}
        assert candidates & set(declared), f"policies/__main__.py imports {module} but policies/requirements.txt does not declare it"


def test_inferstack_requirement_matches_the_project_and_its_pins() -> None:
    declared = _requirements()
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    assert declared["inferstack"] == f"inferstack=={project['version']}"
    pins = {re.sub(r"[-_.]+", "-", re.split(r"[<>=!~ ;]", item, maxsplit=1)[0]).lower(): item.split(";")[0].strip() for item in project["dependencies"]}
    for name in ("pulumi", "pulumi-policy", "pydantic", "pyyaml"):
        assert declared[name].replace(" ", "") == pins[name].replace(" ", ""), name


def test_pack_manifest_is_a_python_pack() -> None:
    manifest = yaml.safe_load((PACK / "PulumiPolicy.yaml").read_text())
    assert manifest["runtime"]["name"] == "python" and manifest["name"] == "inferstack"
