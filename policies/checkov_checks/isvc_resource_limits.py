# pyright: reportMissingImports=false
"""CKV_ISVC_3: InferenceService containers set CPU and memory limits."""

from __future__ import annotations

from typing import Any

from _isvc import InferenceServiceCheck, resources


class InferenceServiceResourceLimits(InferenceServiceCheck):
    """Every container sets resources.limits.cpu and resources.limits.memory."""

    def __init__(self) -> None:
        super().__init__("KServe InferenceService containers must set CPU and memory limits", "CKV_ISVC_3")

    def container_passes(self, container: dict[str, Any], component: dict[str, Any]) -> bool:
        limits = resources(container, "limits")
        return bool(limits.get("cpu")) and bool(limits.get("memory"))


check = InferenceServiceResourceLimits()
