# pyright: reportMissingImports=false
"""Shared reading of InferenceService manifests and the checks' common base (not a check itself)."""

from __future__ import annotations

from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.kubernetes.checks.resource.base_spec_check import BaseK8Check

GPU_RESOURCE = "nvidia.com/gpu"
GPU_TYPE_LABEL = "inferstack.io/gpu-type"
COMPONENTS = ("predictor", "transformer", "explainer")
Container = tuple[str, dict[str, Any], dict[str, Any]]
"""(path, container, its component), for every container of every component."""


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def components(conf: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(path, component spec) for predictor, transformer and explainer."""
    spec = _mapping(conf.get("spec"))
    return [(f"spec/{name}", _mapping(spec[name])) for name in COMPONENTS if isinstance(spec.get(name), dict)]


def containers(conf: dict[str, Any]) -> list[Container]:
    """(path, container, its component) for every container of every component: the model and custom containers."""
    found: list[Container] = []
    for path, component in components(conf):
        for key in ("model", *(k for k in component if k not in ("containers", "model") and isinstance(component.get(k), dict) and "image" in component[k])):
            if isinstance(component.get(key), dict):
                found.append((f"{path}/{key}", component[key], component))
        for index, container in enumerate(component.get("containers") or []):
            if isinstance(container, dict):
                found.append((f"{path}/containers/[{index}]", container, component))
    return found


def security_context(container: dict[str, Any]) -> dict[str, Any]:
    return _mapping(container.get("securityContext"))


def resources(container: dict[str, Any], section: str) -> dict[str, Any]:
    return _mapping(_mapping(container.get("resources")).get(section))


def wants_gpu_node(component: dict[str, Any]) -> bool:
    """Whether the component is steered onto GPU nodes (GPU toleration or a GPU-type node selector)."""
    selector = _mapping(component.get("nodeSelector"))
    if selector.get(GPU_TYPE_LABEL) not in (None, "none"):
        return True
    return any(_mapping(t).get("key") == GPU_RESOURCE for t in component.get("tolerations") or [])


class InferenceServiceCheck(BaseK8Check):
    """A check of KServe InferenceServices: UNKNOWN without containers, else FAILED unless every container passes."""

    def __init__(self, name: str, check_id: str) -> None:
        super().__init__(
            name=name,
            id=check_id,
            categories=(CheckCategories.KUBERNETES,),
            supported_entities=("InferenceService",),
        )

    def scan_spec_conf(self, conf: dict[str, Any]) -> CheckResult:
        found = containers(conf)
        if not found:
            return CheckResult.UNKNOWN
        return self.scan_containers(found)

    def scan_containers(self, found: list[Container]) -> CheckResult:
        """PASSED when `container_passes` holds for every container."""
        for _, container, component in found:
            if not self.container_passes(container, component):
                return CheckResult.FAILED
        return CheckResult.PASSED

    def container_passes(self, container: dict[str, Any], component: dict[str, Any]) -> bool:
        """Whether one container (of `component`) meets the check."""
        raise NotImplementedError
