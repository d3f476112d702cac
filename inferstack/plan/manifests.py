"""Kubernetes objects of a plan as YAML files, ready for `kubectl diff` or checkov.

One file per namespace (`<namespace>.yaml`), cluster-scoped objects in
`_cluster.yaml`. Helm releases are not expanded (their charts render in-cluster);
they are listed in `_helm-releases.yaml` with their values.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from inferstack.plan import yaml_text
from inferstack.plan.document import PlanResource

HELM_RELEASE_TYPE = "kubernetes:helm.sh/v3:Release"
CLUSTER_FILE = "_cluster.yaml"
HELM_FILE = "_helm-releases.yaml"
_FIRST_KEYS = ("apiVersion", "kind", "metadata")


def is_kubernetes_object(resource: PlanResource) -> bool:
    """Whether the resource is a Kubernetes object (not a provider, not a component)."""
    return resource.custom and resource.type.startswith("kubernetes:") and resource.type != HELM_RELEASE_TYPE


def _api_version_and_kind(resource_type: str) -> tuple[str, str]:
    # kubernetes:<group>/<version>:<Kind>, with group "core" meaning the legacy group.
    _, group_version, kind = resource_type.split(":", 2)
    group, _, version = group_version.rpartition("/")
    return (version if group in ("core", "") else f"{group}/{version}"), kind


def to_manifest(resource: PlanResource) -> dict[str, Any]:
    """The Kubernetes object a resource would create, keys in kubectl's usual order."""
    inputs = dict(resource.inputs)
    api_version, kind = _api_version_and_kind(resource.type)
    inputs.setdefault("apiVersion", api_version)
    inputs.setdefault("kind", kind)
    metadata = dict(inputs.get("metadata") or {})
    metadata.setdefault("name", resource.name)
    inputs["metadata"] = metadata
    ordered = {key: inputs[key] for key in _FIRST_KEYS}
    ordered.update({key: inputs[key] for key in sorted(inputs) if key not in _FIRST_KEYS})
    return ordered


def render_manifest_files(resources: Sequence[PlanResource]) -> dict[str, str]:
    """File name -> YAML text (multi-document), deterministic."""
    by_file: dict[str, list[dict[str, Any]]] = defaultdict(list)
    releases: list[dict[str, Any]] = []
    for resource in resources:
        if resource.type == HELM_RELEASE_TYPE and resource.custom:
            inputs = resource.inputs
            releases.append(
                {
                    "name": inputs.get("name", resource.name),
                    "namespace": inputs.get("namespace"),
                    "chart": inputs.get("chart"),
                    "version": inputs.get("version"),
                    "repository": (inputs.get("repositoryOpts") or {}).get("repo"),
                    "values": inputs.get("values", {}),
                }
            )
            continue
        if not is_kubernetes_object(resource):
            continue
        manifest = to_manifest(resource)
        namespace = manifest["metadata"].get("namespace")
        by_file[f"{namespace}.yaml" if namespace else CLUSTER_FILE].append(manifest)
    files: dict[str, str] = {}
    for name, manifests in sorted(by_file.items()):
        manifests.sort(key=lambda item: (item["kind"], item["metadata"].get("name", "")))
        files[name] = yaml_text.dump_all(manifests)
    if releases:
        releases.sort(key=lambda item: (str(item["namespace"]), str(item["name"])))
        files[HELM_FILE] = yaml_text.dump({"releases": releases})
    return files
