"""Check b: every custom kind is installed by a resource the object waits for, or is declared pre-installed.

An object of a custom kind created before its CRD exists fails (`no matches for kind`), and
one whose CRD is installed by nothing fails forever. The installer (a Helm release whose
chart ships the CRD, a CustomResourceDefinition resource, or the upstream YAML bundle) must
be among the object's direct or transitive dependencies, or the stack lists the kind (or its
whole API group) in `inferstack:cluster: preinstalled_crds`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from inferstack.policy.model import PolicyResource
from inferstack.readiness.graph import DependencyGraph, kube_objects
from inferstack.readiness.installers import installers
from inferstack.readiness.model import Finding, ReadinessContext

CHECK_ID = "deploy-crd-order"


def preinstalled(kind: str, group: str, declared: frozenset[str]) -> bool:
    """Whether the stack declares this kind (`Kind.group`, `kinds.group` plural-insensitive) or its whole group pre-installed."""
    lowered = {item.lower() for item in declared}
    return group.lower() in lowered or f"{kind}.{group}".lower() in lowered


def check_crd_closure(resources: Sequence[PolicyResource], ctx: ReadinessContext) -> Iterable[Finding]:
    """Every custom object waits for the installer of its CRD."""
    graph = DependencyGraph(resources)
    candidates = list(installers(resources, ctx.reference))
    for obj in kube_objects(resources):
        if not obj.is_custom or preinstalled(obj.kind, obj.group, ctx.preinstalled_crds):
            continue
        matching = [i for i in candidates if obj.group in i.groups and (i.kinds is None or obj.kind in i.kinds)]
        if not matching:
            yield Finding(
                CHECK_ID,
                obj.resource.urn,
                f"{obj.kind}.{obj.group}: nothing in the plan installs this CRD; expected a Helm release or CRD resource "
                f"that installs it, or '{obj.kind}.{obj.group}' in inferstack:cluster.preinstalled_crds",
            )
            continue
        waited = graph.waits_for(obj.resource.urn)
        if not any(i.urn in waited for i in matching):
            names = ", ".join(sorted(i.what for i in matching))
            yield Finding(
                CHECK_ID,
                obj.resource.urn,
                f"{obj.kind}.{obj.group}: installed by {names}, which this object does not depend on (directly or "
                "transitively), so it may be created before its CRD exists; expected depends_on that installer",
            )
