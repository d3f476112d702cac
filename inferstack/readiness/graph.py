"""The plan graph as the checks see it: Kubernetes objects of custom kinds, Helm releases, and who depends on whom."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from inferstack.policy.model import PolicyResource
from inferstack.readiness.model import props_of

HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
CUSTOM_RESOURCE = "kubernetes:apiextensions.k8s.io:CustomResource"
CRD_TYPES = frozenset(
    {"kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition", "kubernetes:apiextensions.k8s.io/v1beta1:CustomResourceDefinition"}
)

# API groups the Kubernetes API server serves itself (not custom resources).
BUILTIN_GROUPS = frozenset(
    {
        "core", "", "apps", "batch", "autoscaling", "policy", "networking.k8s.io", "storage.k8s.io",
        "rbac.authorization.k8s.io", "apiextensions.k8s.io", "admissionregistration.k8s.io", "scheduling.k8s.io",
        "coordination.k8s.io", "node.k8s.io", "discovery.k8s.io", "certificates.k8s.io", "events.k8s.io",
        "flowcontrol.apiserver.k8s.io", "apiregistration.k8s.io", "resource.k8s.io", "storagemigration.k8s.io",
    }
)
NOT_OBJECTS = frozenset({"helm.sh", "yaml", "yaml/v2", "kustomize", "kustomize/v2", "providers"})


@dataclass(frozen=True, slots=True)
class KubeObject:
    """One Kubernetes object in the plan: its resource, API group, version, kind and body."""

    resource: PolicyResource
    group: str
    version: str
    kind: str
    body: Mapping[str, Any]

    @property
    def name(self) -> str:
        """metadata.name (the resource name when absent)."""
        metadata = self.body.get("metadata")
        if isinstance(metadata, Mapping) and metadata.get("name"):
            return str(metadata["name"])
        return self.resource.name

    @property
    def is_custom(self) -> bool:
        """Whether the kind is served by a CRD rather than the API server itself."""
        return self.group not in BUILTIN_GROUPS


def _split_api_version(api_version: str) -> tuple[str, str]:
    if "/" in api_version:
        group, version = api_version.split("/", 1)
        return group, version
    return "core", api_version


def kube_objects(resources: Sequence[PolicyResource]) -> Iterator[KubeObject]:
    """Every typed Kubernetes object of the plan (Helm releases and YAML bundles are not objects)."""
    for resource in resources:
        if not resource.type.startswith("kubernetes:"):
            continue
        props = props_of(resource)
        if resource.type == CUSTOM_RESOURCE:
            api_version = str(props.get("apiVersion") or "")
            group, version = _split_api_version(api_version)
            kind = str(props.get("kind") or "")
        else:
            _, module, kind = resource.type.split(":", 2)
            if module in NOT_OBJECTS or module.startswith(("helm.sh", "yaml", "kustomize")):
                continue
            group, _, version = module.rpartition("/")
        if kind:
            yield KubeObject(resource, group or "core", version, kind, props)


def helm_releases(resources: Sequence[PolicyResource]) -> Iterator[PolicyResource]:
    """The plan's helm.v3.Release resources."""
    return (resource for resource in resources if resource.type == HELM_RELEASE)


def chart_name(release: PolicyResource) -> str:
    """The chart's own name: the last path segment of `chart` (OCI references included)."""
    chart = str(props_of(release).get("chart") or "")
    return chart.rstrip("/").rsplit("/", 1)[-1]


def chart_version(release: PolicyResource) -> str:
    """The pinned chart version ("" when unpinned)."""
    return str(props_of(release).get("version") or "")


class DependencyGraph:
    """Which resources each resource waits for, directly or transitively.

    A dependency on a component resource waits for every resource below it (Pulumi expands a
    component in `depends_on` to its children), so component URNs expand to their descendants.
    """

    def __init__(self, resources: Sequence[PolicyResource]) -> None:
        self._direct: dict[str, tuple[str, ...]] = {resource.urn: tuple(resource.dependencies) for resource in resources}
        self._children: dict[str, list[str]] = {}
        for resource in resources:
            if resource.parent:
                self._children.setdefault(resource.parent, []).append(resource.urn)
        self._cache: dict[str, frozenset[str]] = {}

    def _descendants(self, urn: str) -> list[str]:
        found: list[str] = []
        stack = list(self._children.get(urn, ()))
        while stack:
            child = stack.pop()
            found.append(child)
            stack.extend(self._children.get(child, ()))
        return found

    def waits_for(self, urn: str) -> frozenset[str]:
        """Every URN `urn` waits for before it is created."""
        cached = self._cache.get(urn)
        if cached is not None:
            return cached
        seen: set[str] = set()
        stack = list(self._direct.get(urn, ()))
        while stack:
            current = stack.pop()
            if current in seen:
                continue
            seen.add(current)
            stack.extend(self._direct.get(current, ()))
            stack.extend(self._descendants(current))
        result = frozenset(seen)
        self._cache[urn] = result
        return result
