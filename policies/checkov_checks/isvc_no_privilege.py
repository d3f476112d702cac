# pyright: reportMissingImports=false
"""CKV_ISVC_2: InferenceService containers are not privileged and cannot escalate privileges."""

from __future__ import annotations

from typing import Any

from _isvc import containers, security_context
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.kubernetes.checks.resource.base_spec_check import BaseK8Check


class InferenceServiceNoPrivilege(BaseK8Check):
    """Every container sets allowPrivilegeEscalation false and is not privileged."""

    def __init__(self) -> None:
        super().__init__(
            name="KServe InferenceService containers must not be privileged or allow privilege escalation",
            id="CKV_ISVC_2",
            categories=(CheckCategories.KUBERNETES,),
            supported_entities=("InferenceService",),
        )

    def scan_spec_conf(self, conf: dict[str, Any]) -> CheckResult:
        found = containers(conf)
        if not found:
            return CheckResult.UNKNOWN
        for _, container, _component in found:
            context = security_context(container)
            if context.get("privileged") is True or context.get("allowPrivilegeEscalation") is not False:
                return CheckResult.FAILED
        return CheckResult.PASSED


check = InferenceServiceNoPrivilege()
