# pyright: reportMissingImports=false
"""CKV_ISVC_1: InferenceService containers run as non-root."""

from __future__ import annotations

from typing import Any

from _isvc import InferenceServiceCheck, security_context


class InferenceServiceNonRoot(InferenceServiceCheck):
    """Every container of every component sets runAsNonRoot true (its own or the component's pod securityContext)."""

    def __init__(self) -> None:
        super().__init__("KServe InferenceService containers must run as non-root", "CKV_ISVC_1")

    def container_passes(self, container: dict[str, Any], component: dict[str, Any]) -> bool:
        own, pod = security_context(container), security_context(component)
        user = own.get("runAsUser", pod.get("runAsUser"))
        return user != 0 and own.get("runAsNonRoot", pod.get("runAsNonRoot")) is True


check = InferenceServiceNonRoot()
