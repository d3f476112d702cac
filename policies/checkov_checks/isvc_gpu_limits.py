# pyright: reportMissingImports=false
"""CKV_ISVC_4: InferenceService GPUs are claimed as limits wherever GPUs are requested or GPU nodes targeted."""

from __future__ import annotations

from _isvc import GPU_RESOURCE, Container, InferenceServiceCheck, resources, wants_gpu_node
from checkov.common.models.enums import CheckResult


class InferenceServiceGpuLimits(InferenceServiceCheck):
    """A GPU request has an equal nvidia.com/gpu limit, and a component steered onto GPU nodes claims a GPU limit."""

    def __init__(self) -> None:
        super().__init__("KServe InferenceService containers that use GPUs must set an nvidia.com/gpu limit", "CKV_ISVC_4")

    def scan_containers(self, found: list[Container]) -> CheckResult:
        gpu_components: dict[int, bool] = {}
        for _, container, component in found:
            limit = resources(container, "limits").get(GPU_RESOURCE)
            request = resources(container, "requests").get(GPU_RESOURCE)
            if request is not None and str(request) != str(limit):
                return CheckResult.FAILED
            gpu_components[id(component)] = gpu_components.get(id(component), False) or limit not in (None, 0, "0")
        for _, _container, component in found:
            if wants_gpu_node(component) and not gpu_components[id(component)]:
                return CheckResult.FAILED
        return CheckResult.PASSED


check = InferenceServiceGpuLimits()
