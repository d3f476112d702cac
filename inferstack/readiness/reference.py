"""Upstream reference data (CRDs, chart defaults) read from `../shared/reference`, never copied into the repository.

The folder sits beside the repository (`<repo>/../shared/reference`); `INFERSTACK_REFERENCE`
names another place. Each upstream file's origin (repository, tag, path) is listed in the
folder's `SOURCES.tsv`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

REFERENCE_ENV = "INFERSTACK_REFERENCE"
MISSING_REFERENCE = (
    "upstream reference data not found: expected ../shared/reference beside the repository "
    f"(or a folder named by {REFERENCE_ENV}); `inferstack reference fetch` downloads it from upstream"
)


def repository_root() -> Path:
    """The repository holding this package."""
    return Path(__file__).resolve().parents[2]


def reference_location() -> Path:
    """Where the reference folder is looked for: INFERSTACK_REFERENCE, else ../shared/reference beside the repository."""
    named = os.environ.get(REFERENCE_ENV)
    return Path(named) if named else repository_root().parent / "shared" / "reference"


def reference_root() -> Path | None:
    """The reference folder, or None when it is missing."""
    candidate = reference_location()
    return candidate if (candidate / "crds").is_dir() else None


@dataclass(frozen=True, slots=True)
class CrdVersion:
    """One served version of one CRD: its group, kind, version name, schema and which reference folder it came from."""

    group: str
    kind: str
    version: str
    schema: dict[str, Any]
    folder: str


_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_GROUP = re.compile(r"^  group: (\S+)\s*$", re.MULTILINE)
_KIND = re.compile(r"^    kind: (\S+)\s*$", re.MULTILINE)


def _documents(text: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.load_all(text, Loader=_LOADER) if isinstance(doc, dict)]


@lru_cache(maxsize=32)
def _index(folder: Path) -> dict[tuple[str, str], list[str]]:
    """(group, kind) -> the text of each YAML document defining that CRD, found without parsing (the files are megabytes)."""
    found: dict[tuple[str, str], list[str]] = {}
    for path in sorted(folder.glob("*.yaml")):
        for document in re.split(r"^---\s*$", path.read_text(encoding="utf-8"), flags=re.MULTILINE):
            group, kind = _GROUP.search(document), _KIND.search(document)
            if group and kind and "CustomResourceDefinition" in document[:2000]:
                found.setdefault((group.group(1).strip("'\""), kind.group(1).strip("'\"")), []).append(document)
    return found


@lru_cache(maxsize=256)
def load_crd(folder: Path, group: str, kind: str) -> dict[str, CrdVersion] | None:
    """The served versions of one CRD in one reference folder (None when the folder does not define it)."""
    documents = _index(folder).get((group, kind))
    if not documents:
        return None
    versions: dict[str, CrdVersion] = {}
    for text in documents:
        for doc in _documents(text):
            if doc.get("kind") != "CustomResourceDefinition":
                continue
            spec = doc.get("spec") or {}
            if spec.get("group") != group or (spec.get("names") or {}).get("kind") != kind:
                continue
            for version in spec.get("versions") or []:
                if not version.get("served", False):
                    continue
                schema = (version.get("schema") or {}).get("openAPIV3Schema")
                if not isinstance(schema, dict):
                    schema = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
                versions[str(version["name"])] = CrdVersion(group, kind, str(version["name"]), schema, folder.name)
    return versions


@dataclass(frozen=True, slots=True)
class ChartReference:
    """One chart version's reference files; None where the file is not in the reference data."""

    folder: Path
    values: dict[str, Any] | None
    schema: dict[str, Any] | None
    chart: dict[str, Any] | None

    def missing(self) -> list[str]:
        """Reference files absent for this chart (values.yaml, Chart.yaml; values.schema.json is optional upstream)."""
        names = []
        if self.values is None:
            names.append(str(self.folder / "values.yaml"))
        if self.chart is None:
            names.append(str(self.folder / "Chart.yaml"))
        return names


@lru_cache(maxsize=64)
def load_chart(root: Path, chart: str, version: str) -> ChartReference:
    """The reference files of `<chart>-<version>` (an absent folder gives a reference with nothing in it)."""
    folder = root / "charts" / f"{chart}-{version}"

    def read_yaml(name: str) -> dict[str, Any] | None:
        path = folder / name
        if not path.is_file():
            return None
        loaded = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)
        return loaded if isinstance(loaded, dict) else {}

    schema_path = folder / "values.schema.json"
    schema = None
    if schema_path.is_file():
        import json

        schema = json.loads(schema_path.read_text(encoding="utf-8"))
    return ChartReference(folder, read_yaml("values.yaml"), schema, read_yaml("Chart.yaml"))
