# pyright: reportMissingImports=false
"""CKV_ISVC_4: InferenceService GPUs are claimed as limits wherever GPUs are requested or GPU nodes targeted."""

from __future__ import annotations

from typing import Any

from _isvc import GPU_RESOURCE, containers, resources, wants_gpu_node
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.kubernetes.checks.resource.base_spec_check import BaseK8Check


class InferenceServiceGpuLimits(BaseK8Check):
    """A GPU request has an equal nvidia.com/gpu limit, and a component steered onto GPU nodes claims a GPU limit."""

    def __init__(self) -> None:
        super().__init__(
            name="KServe InferenceService containers that use GPUs must set an nvidia.com/gpu limit",
            id="CKV_ISVC_4",
            categories=(CheckCategories.KUBERNETES,),
            supported_entities=("InferenceService",),
        )

    def scan_spec_conf(self, conf: dict[str, Any]) -> CheckResult:
        found = containers(conf)
        if not found:
            return CheckResult.UNKNOWN
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
