"""Facts about the GPU types a spec may ask for.

The spec language validates GPU memory against these figures; the price
catalogue maps instance types onto the same GPU names.
"""

from dataclasses import dataclass
from typing import Final, Literal

GpuType = Literal["none", "t4", "a10g", "l4", "l40s", "a100", "a100-80gb", "h100", "h200"]


@dataclass(frozen=True, slots=True)
class GpuFacts:
    """One GPU model: its memory and the EC2 families that carry it."""

    name: str
    memory_gib: float
    families: tuple[str, ...]


GPUS: Final[dict[str, GpuFacts]] = {
    "t4": GpuFacts("NVIDIA T4", 16, ("g4dn",)),
    "a10g": GpuFacts("NVIDIA A10G", 24, ("g5",)),
    "l4": GpuFacts("NVIDIA L4", 24, ("g6",)),
    "l40s": GpuFacts("NVIDIA L40S", 48, ("g6e",)),
    "a100": GpuFacts("NVIDIA A100 40GB", 40, ("p4d",)),
    "a100-80gb": GpuFacts("NVIDIA A100 80GB", 80, ("p4de",)),
    "h100": GpuFacts("NVIDIA H100", 80, ("p5",)),
    "h200": GpuFacts("NVIDIA H200", 141, ("p5e", "p5en")),
}

GPU_TYPES: Final[tuple[str, ...]] = tuple(GPUS)


def gpu_memory_gib(gpu_type: str) -> float:
    """Memory of one GPU of this type, in GiB (0 for "none")."""
    facts = GPUS.get(gpu_type)
    return facts.memory_gib if facts else 0.0
