# pyright: reportMissingImports=false
"""CKV_ISVC_1: InferenceService containers run as non-root."""

from __future__ import annotations

from typing import Any

from _isvc import containers, security_context
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.kubernetes.checks.resource.base_spec_check import BaseK8Check


class InferenceServiceNonRoot(BaseK8Check):
    """Every container of every component sets runAsNonRoot true (its own or the component's pod securityContext)."""

    def __init__(self) -> None:
        super().__init__(
            name="KServe InferenceService containers must run as non-root",
            id="CKV_ISVC_1",
            categories=(CheckCategories.KUBERNETES,),
            supported_entities=("InferenceService",),
        )

    def scan_spec_conf(self, conf: dict[str, Any]) -> CheckResult:
        found = containers(conf)
        if not found:
            return CheckResult.UNKNOWN
        for _, container, component in found:
            own, pod = security_context(container), security_context(component)
            user = own.get("runAsUser", pod.get("runAsUser"))
            if user == 0 or own.get("runAsNonRoot", pod.get("runAsNonRoot")) is not True:
                return CheckResult.FAILED
        return CheckResult.PASSED


check = InferenceServiceNonRoot()
