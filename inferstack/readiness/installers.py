"""Which resource of a plan installs which custom API group, and which CRD version it installs.

A Helm chart ships its CRDs (in `crds/` or as templates behind a values switch); a
CustomResourceDefinition resource or a YAML bundle of the upstream release installs them
directly. The table below says, per chart, which API groups its CRDs belong to and which
reference folder (`../shared/reference/crds/<folder>`) holds them for a chart version.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inferstack.policy.model import PolicyResource
from inferstack.readiness.graph import CRD_TYPES, chart_name, chart_version, helm_releases
from inferstack.readiness.model import props_of
from inferstack.readiness.reference import load_chart

ISTIO_GROUPS = frozenset({"networking.istio.io", "security.istio.io", "telemetry.istio.io", "extensions.istio.io"})

# The versions the platform installs (team brief, shared contract): used for objects whose
# installer is not in the plan (pre-installed) or whose installed version has no reference data.
DEFAULT_CRD_FOLDERS: Mapping[str, str] = {
    "serving.kserve.io": "kserve-v0.20.0",
    "gateway.networking.k8s.io": "gateway-api-v1.3.0",
    **{group: "istio-1.30.3" for group in ISTIO_GROUPS},
    "monitoring.coreos.com": "prometheus-operator-v0.83.0",  # kube-prometheus-stack 75.x
    "karpenter.sh": "karpenter-v1.14.1",
    "karpenter.k8s.aws": "karpenter-v1.14.1",
    "keda.sh": "keda-v2.17.2",
    "eventing.keda.sh": "keda-v2.17.2",
    "http.keda.sh": "keda-http-add-on-v0.15.0",
}


def _v(version: str) -> str:
    return version if version.startswith("v") else f"v{version}"


def _prometheus_operator_folder(root: Path | None, version: str) -> str | None:
    # kube-prometheus-stack's appVersion is the prometheus-operator release whose CRDs its crds subchart ships.
    if root is None:
        return None
    chart = load_chart(root, "kube-prometheus-stack", version).chart
    app = str((chart or {}).get("appVersion") or "")
    return f"prometheus-operator-{app}" if app else None


def _values_flag(values: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    current: Any = values
    for key in path:
        if not isinstance(current, Mapping) or key not in current:
            return None
        current = current[key]
    return current


def _all_kinds(version: str) -> frozenset[str] | None:
    return None


@dataclass(frozen=True, slots=True)
class ChartCrds:
    """The CRDs one chart ships: API groups, the reference folder for a version, and the values switch that turns them off.

    `kinds` narrows a version's CRDs to some kinds of its groups (None: every kind).
    """

    groups: frozenset[str]
    folder: Callable[[Path | None, str], str | None]
    switch: tuple[str, ...] | None = None
    switch_default: bool = True
    kinds: Callable[[str], frozenset[str] | None] = _all_kinds


# kserve/kserve splits serving.kserve.io over three CRD charts since v0.17.0 (charts/ at v0.17.0 .. v0.20.0):
# kserve-crd (charts/kserve-crd/templates at v0.20.0: the six kinds below), kserve-localmodel-crd (LocalModel*)
# and kserve-llmisvc-crd (LLMInferenceService*). Up to v0.16.0, kserve-crd shipped the LocalModel* CRDs too.
KSERVE_CORE_KINDS = frozenset(
    {"InferenceService", "ServingRuntime", "ClusterServingRuntime", "InferenceGraph", "TrainedModel", "ClusterStorageContainer"}
)
KSERVE_LOCALMODEL_KINDS = frozenset({"LocalModelCache", "LocalModelNamespaceCache", "LocalModelNodeGroup", "LocalModelNode"})
KSERVE_LLMISVC_KINDS = frozenset({"LLMInferenceService", "LLMInferenceServiceConfig"})


def _release_tuple(version: str) -> tuple[int, ...]:
    parts: list[int] = []
    for part in version.lstrip("v").split("-")[0].split("."):
        if not part.isdigit():
            break
        parts.append(int(part))
    return tuple(parts)


def _kserve_crd_kinds(version: str) -> frozenset[str] | None:
    """kserve-crd ships only the core kinds since v0.17.0 (an unparsable version: every kind, as before)."""
    release = _release_tuple(version)
    return KSERVE_CORE_KINDS if release and release >= (0, 17) else None


# Sources: kserve/kserve charts/kserve-crd (v0.16.0, v0.20.0); prometheus-community/helm-charts
# charts/kube-prometheus-stack values.yaml `crds.enabled` (75.15.1); kedacore/charts keda/values.yaml
# `crds.install` (v2.17.2) and http-add-on; aws/karpenter-provider-aws charts/karpenter/crds (v1.14.1);
# istio/istio manifests/charts/base (1.30.3); cert-manager deploy/charts/cert-manager `crds.enabled` (v1.17.2).
CHART_CRDS: Mapping[str, ChartCrds] = {
    "kserve-crd": ChartCrds(frozenset({"serving.kserve.io"}), lambda root, version: f"kserve-{_v(version)}", kinds=_kserve_crd_kinds),
    "kserve-localmodel-crd": ChartCrds(
        frozenset({"serving.kserve.io"}), lambda root, version: f"kserve-{_v(version)}", kinds=lambda version: KSERVE_LOCALMODEL_KINDS
    ),
    "kserve-llmisvc-crd": ChartCrds(
        frozenset({"serving.kserve.io"}), lambda root, version: f"kserve-{_v(version)}", kinds=lambda version: KSERVE_LLMISVC_KINDS
    ),
    "kube-prometheus-stack": ChartCrds(frozenset({"monitoring.coreos.com"}), _prometheus_operator_folder, ("crds", "enabled")),
    "keda": ChartCrds(frozenset({"keda.sh", "eventing.keda.sh"}), lambda root, version: f"keda-{_v(version)}", ("crds", "install")),
    "keda-add-ons-http": ChartCrds(frozenset({"http.keda.sh"}), lambda root, version: f"keda-http-add-on-{_v(version)}", ("crds", "install")),
    "karpenter": ChartCrds(frozenset({"karpenter.sh", "karpenter.k8s.aws"}), lambda root, version: f"karpenter-{_v(version)}"),
    "karpenter-crd": ChartCrds(frozenset({"karpenter.sh", "karpenter.k8s.aws"}), lambda root, version: f"karpenter-{_v(version)}"),
    "base": ChartCrds(ISTIO_GROUPS, lambda root, version: f"istio-{version.lstrip('v')}"),
    "cert-manager": ChartCrds(frozenset({"cert-manager.io", "acme.cert-manager.io"}), lambda root, version: None, ("crds", "enabled"), False),
}
YAML_BUNDLE_TYPES = frozenset({"kubernetes:yaml:ConfigFile", "kubernetes:yaml/v2:ConfigFile", "kubernetes:yaml:ConfigGroup", "kubernetes:yaml/v2:ConfigGroup"})


@dataclass(frozen=True, slots=True)
class Installer:
    """A resource of the plan that installs the CRDs of some API groups (kinds None: every kind of the group)."""

    urn: str
    groups: frozenset[str]
    kinds: frozenset[str] | None
    folder: str | None
    what: str


def _bundle_files(props: Mapping[str, Any]) -> list[str]:
    files: list[str] = []
    for key in ("file", "files", "yaml"):
        value = props.get(key)
        if isinstance(value, str):
            files.append(value)
        elif isinstance(value, list):
            files.extend(str(item) for item in value)
    return files


def installers(resources: Sequence[PolicyResource], root: Path | None) -> Iterator[Installer]:
    """Every resource of the plan that installs CRDs, with the groups (and kinds) it installs."""
    for release in helm_releases(resources):
        shipped = CHART_CRDS.get(chart_name(release))
        if shipped is None:
            continue
        values = props_of(release).get("values")
        if shipped.switch is not None:
            flag = _values_flag(values if isinstance(values, Mapping) else {}, shipped.switch)
            if (shipped.switch_default if flag is None else bool(flag)) is False:
                continue
        version = chart_version(release)
        yield Installer(
            release.urn, shipped.groups, shipped.kinds(version), shipped.folder(root, version), f"Helm chart {chart_name(release)} {version}"
        )
    for resource in resources:
        props = props_of(resource)
        if resource.type in CRD_TYPES:
            spec: Mapping[str, Any] = props.get("spec") or {}
            group = str(spec.get("group") or "")
            kind = str((spec.get("names") or {}).get("kind") or "")
            yield Installer(resource.urn, frozenset({group}), frozenset({kind}), None, f"CustomResourceDefinition {kind}.{group}")
        elif resource.type in YAML_BUNDLE_TYPES:
            for file in _bundle_files(props):
                # The upstream Gateway API release bundle (standard-install.yaml of kubernetes-sigs/gateway-api).
                if "gateway-api" in file:
                    version = next((part for part in file.split("/") if part.startswith("v1.")), "")
                    folder = f"gateway-api-{version}" if version else None
                    yield Installer(resource.urn, frozenset({"gateway.networking.k8s.io"}), None, folder, f"Gateway API bundle {file}")
