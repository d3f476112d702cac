"""The model gate's report: what `inferstack gate` measured, as stored with each registry version.

Kept apart from inferstack/gate.py so the registry and the plan read reports without the gate's
runtime (onnxruntime, numpy: the `gate` extra).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from pydantic import BaseModel, Field


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class LatencyStats(BaseModel):
    """Latency and throughput of one batch size."""

    batch_size: int = Field(description="Rows per inference call.")
    iterations: int = Field(description="Timed inference calls (after warm-up).")
    p50_ms: float = Field(description="Median latency of one call, ms.")
    p95_ms: float = Field(description="95th percentile latency, ms.")
    p99_ms: float = Field(description="99th percentile latency, ms.")
    mean_ms: float = Field(description="Mean latency, ms.")
    throughput_per_s: float = Field(description="Rows per second at this batch size (batch_size * calls / time).")


class MemoryStats(BaseModel):
    """What the gate measured of memory, and how."""

    peak_rss_mib: float = Field(description="Largest process RSS sampled (after load and after each inference), MiB.")
    rss_delta_mib: float = Field(description="peak_rss_mib minus the RSS before the model was loaded, MiB.")
    gpu_memory_mib: float | None = Field(
        default=None, description="Device memory of this process per nvidia-smi after the runs (CUDA only), MiB."
    )
    method: str = Field(description="How the figures were obtained.")

    @property
    def peak_mib(self) -> float:
        """The figure right-sizing uses: device memory on CUDA, else the host RSS delta."""
        return self.gpu_memory_mib if self.gpu_memory_mib is not None else self.rss_delta_mib


class QuantizationAdvice(BaseModel):
    """What dynamic int8 quantization would change (advice, never a gate failure)."""

    applicable: bool = Field(description="Whether quantization and a timed run of the result succeeded.")
    original_size_bytes: int
    quantized_size_bytes: int | None = None
    size_saving_percent: float | None = None
    original_p50_ms: float | None = Field(default=None, description="Batch-1 p50 of the original model, ms.")
    quantized_p50_ms: float | None = Field(default=None, description="Batch-1 p50 of the quantized model, ms.")
    latency_change_percent: float | None = Field(default=None, description="Negative: the quantized model is faster.")
    note: str = Field(description="How to read the numbers, or why quantization did not apply.")


class GateReport(BaseModel):
    """The outcome of the model gate for one artifact and one spec (JSON-serialisable)."""

    model: str = Field(description="Spec name.")
    team: str
    model_file: str
    sha256: str = Field(description="SHA-256 of the artifact file.")
    size_bytes: int
    onnxruntime_version: str
    providers_requested: list[str]
    provider: str = Field(description="Execution provider the session actually used.")
    provider_note: str = Field(description="Why this provider was used.")
    seed: int
    batch_sizes: list[int]
    latency: list[LatencyStats]
    memory: MemoryStats
    latency_p95_slo_ms: float = Field(description="spec.monitoring.latency_p95_ms, compared with p95 at batch 1.")
    passed: bool
    failures: list[str] = Field(description="Why the gate failed; empty when it passed.")
    quantization: QuantizationAdvice | None = None
    measured_at: str = Field(description="UTC time of the measurement, ISO 8601.")

    def latency_at(self, batch_size: int) -> LatencyStats | None:
        """Latency figures of one batch size, if measured."""
        return next((stats for stats in self.latency if stats.batch_size == batch_size), None)
