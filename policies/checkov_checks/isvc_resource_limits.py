# pyright: reportMissingImports=false
"""CKV_ISVC_3: InferenceService containers set CPU and memory limits."""

from __future__ import annotations

from typing import Any

from _isvc import containers, resources
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.kubernetes.checks.resource.base_spec_check import BaseK8Check


class InferenceServiceResourceLimits(BaseK8Check):
    """Every container sets resources.limits.cpu and resources.limits.memory."""

    def __init__(self) -> None:
        super().__init__(
            name="KServe InferenceService containers must set CPU and memory limits",
            id="CKV_ISVC_3",
            categories=(CheckCategories.KUBERNETES,),
            supported_entities=("InferenceService",),
        )

    def scan_spec_conf(self, conf: dict[str, Any]) -> CheckResult:
        found = containers(conf)
        if not found:
            return CheckResult.UNKNOWN
        for _, container, _component in found:
            limits = resources(container, "limits")
            if not limits.get("cpu") or not limits.get("memory"):
                return CheckResult.FAILED
        return CheckResult.PASSED


check = InferenceServiceResourceLimits()
