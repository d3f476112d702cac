# pyright: reportMissingImports=false
"""CKV_ISVC_2: InferenceService containers are not privileged and cannot escalate privileges."""

from __future__ import annotations

from typing import Any

from _isvc import InferenceServiceCheck, security_context


class InferenceServiceNoPrivilege(InferenceServiceCheck):
    """Every container sets allowPrivilegeEscalation false and is not privileged."""

    def __init__(self) -> None:
        super().__init__("KServe InferenceService containers must not be privileged or allow privilege escalation", "CKV_ISVC_2")

    def container_passes(self, container: dict[str, Any], component: dict[str, Any]) -> bool:
        context = security_context(container)
        return context.get("privileged") is not True and context.get("allowPrivilegeEscalation") is False


check = InferenceServiceNoPrivilege()
