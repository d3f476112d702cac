"""Check a: every object of a custom kind validates against the CRD of the version the platform installs.

The CRD is the one the plan's installer ships (the kserve-crd chart's version, the
prometheus-operator release of kube-prometheus-stack, ...), read from
`../shared/reference/crds/<folder>`; where the installer is not in the plan (declared
pre-installed) or its version has no reference data, the contract version
(`DEFAULT_CRD_FOLDERS`) is used. The object's apiVersion must be a served version, and the
object must validate against that version's `openAPIV3Schema`: an undeclared field is an
error because the API server silently prunes it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from inferstack.policy.model import PolicyResource
from inferstack.readiness.graph import DependencyGraph, KubeObject, kube_objects
from inferstack.readiness.installers import DEFAULT_CRD_FOLDERS, Installer, installers
from inferstack.readiness.model import Finding, ReadinessContext
from inferstack.readiness.reference import load_crd
from inferstack.readiness.structural import validate

CHECK_ID = "deploy-crd-schema"
UNVERIFIED_ID = "deploy-crd-unverified"


def _installer_for(obj: KubeObject, candidates: Sequence[Installer], graph: DependencyGraph) -> Installer | None:
    matching = [i for i in candidates if obj.group in i.groups and (i.kinds is None or obj.kind in i.kinds)]
    waited = graph.waits_for(obj.resource.urn)
    for installer in matching:
        if installer.urn in waited:
            return installer
    return matching[0] if matching else None


def crd_folder(obj: KubeObject, installer: Installer | None, ctx: ReadinessContext) -> str | None:
    """The reference folder holding the CRD this object is checked against."""
    assert ctx.reference is not None
    if installer is not None and installer.folder and (ctx.reference / "crds" / installer.folder).is_dir():
        return installer.folder
    return DEFAULT_CRD_FOLDERS.get(obj.group)


def validate_object(obj: KubeObject, folder: str, ctx: ReadinessContext) -> Iterator[str]:
    """Messages for one object against the CRD in one reference folder."""
    assert ctx.reference is not None
    versions = load_crd(ctx.reference / "crds" / folder, obj.group, obj.kind)
    if versions is None:
        yield f"{obj.kind}.{obj.group} has no CRD in crds/{folder}; expected a kind that release installs"
        return
    crd = versions.get(obj.version)
    if crd is None:
        yield (
            f"{obj.group}/{obj.version} {obj.kind} is not a served version of the CRD in crds/{folder}; "
            f"expected one of {', '.join(sorted(versions))}"
        )
        return
    metadata = obj.body.get("metadata")
    if not isinstance(metadata, dict) or not metadata.get("name"):
        yield "metadata.name: is required and missing"
    body = {key: value for key, value in obj.body.items() if key not in ("metadata", "apiVersion", "kind")}
    root = {**crd.schema, "properties": {k: v for k, v in (crd.schema.get("properties") or {}).items() if k not in ("metadata", "apiVersion", "kind")}}
    for message in validate(body, root):
        yield f"{message} (CRD {obj.kind}.{obj.group} {obj.version}, crds/{folder})"


def check_crd_schemas(resources: Sequence[PolicyResource], ctx: ReadinessContext) -> Iterable[Finding]:
    """Every custom object against the served version of its CRD."""
    if ctx.reference is None:
        return
    graph = DependencyGraph(resources)
    candidates = list(installers(resources, ctx.reference))
    for obj in kube_objects(resources):
        if not obj.is_custom:
            continue
        folder = crd_folder(obj, _installer_for(obj, candidates, graph), ctx)
        if folder is None or not (ctx.reference / "crds" / folder).is_dir():
            yield Finding(
                UNVERIFIED_ID,
                obj.resource.urn,
                f"{obj.kind}.{obj.group}: no reference CRD to check against (missing crds/{folder or '<' + obj.group + '>'}); "
                "ask for the CRD of the installed version in ../shared/reference",
            )
            continue
        for message in validate_object(obj, folder, ctx):
            yield Finding(CHECK_ID, obj.resource.urn, message)
