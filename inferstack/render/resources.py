"""Kubernetes quantity strings for CPU, memory and GPUs."""

from __future__ import annotations

import math

from inferstack.constants import GPU_RESOURCE
from inferstack.spec.model import ModelSpec


def cpu_quantity(cores: float) -> str:
    """Cores as a quantity: whole cores as "4", fractions in millicores ("500m")."""
    millis = round(cores * 1000)
    return str(millis // 1000) if millis % 1000 == 0 else f"{millis}m"


def memory_quantity(gib: float) -> str:
    """GiB as a quantity: whole GiB as "16Gi", otherwise MiB rounded up."""
    mib = math.ceil(gib * 1024)
    return f"{mib // 1024}Gi" if mib % 1024 == 0 else f"{mib}Mi"


def replica_resources(spec: ModelSpec) -> dict[str, str]:
    """Requests (= limits) of one serving replica, GPUs included."""
    resources = {
        "cpu": cpu_quantity(spec.serving.resources.cpu),
        "memory": memory_quantity(spec.serving.resources.memory_gib),
    }
    if spec.accelerator.gpu_type != "none":
        # A time-sliced replica asks for one slice; the device plugin advertises slices as nvidia.com/gpu.
        resources[GPU_RESOURCE] = str(spec.accelerator.gpus_per_replica)
    return resources
