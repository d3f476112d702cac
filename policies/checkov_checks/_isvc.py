# pyright: reportMissingImports=false
"""Shared reading of InferenceService manifests for the custom checks (not a check itself)."""

from __future__ import annotations

from typing import Any

GPU_RESOURCE = "nvidia.com/gpu"
GPU_TYPE_LABEL = "inferstack.io/gpu-type"
COMPONENTS = ("predictor", "transformer", "explainer")


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def components(conf: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(path, component spec) for predictor, transformer and explainer."""
    spec = _mapping(conf.get("spec"))
    return [(f"spec/{name}", _mapping(spec[name])) for name in COMPONENTS if isinstance(spec.get(name), dict)]


def containers(conf: dict[str, Any]) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(path, container, its component) for every container of every component: the model and custom containers."""
    found: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
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
