"""The model gate's report: what `inferstack gate` measured, as stored with each registry version.

Kept apart from inferstack/gate.py so the registry and the plan read reports without the gate's
runtime (onnxruntime, numpy: the `gate` extra).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

class LatencyStats(BaseModel):
    """Latency and throughput of one batch size."""

    batch_size: int = Field(description="Rows per inference call.")
    warmup_calls: int = Field(default=0, description="Untimed warm-up calls before the timed ones.")
    iterations: int = Field(description="Timed inference calls (after warm-up).")
    p50_ms: float = Field(description="Median latency of one call, ms.")
    p95_ms: float = Field(description="95th percentile latency, ms.")
    p99_ms: float = Field(description="99th percentile latency, ms.")
    mean_ms: float = Field(description="Mean latency, ms.")
    throughput_per_s: float = Field(description="Rows per second at this batch size (batch_size * calls / time).")
    p95_ci_low_ms: float | None = Field(default=None, description="Lower end of the 95% confidence interval of p95, ms.")
    p95_ci_high_ms: float | None = Field(
        default=None, description="Upper end of the 95% confidence interval of p95, ms; None with too few calls."
    )


Verdict = Literal["pass", "fail", "inconclusive"]


class LatencyVerdict(BaseModel):
    """p95 at batch 1 against the SLO, with the confidence interval behind the verdict."""

    verdict: Verdict = Field(description="pass: interval at or under the SLO; fail: wholly above; inconclusive: straddles it.")
    slo_ms: float = Field(description="spec.monitoring.latency_p95_ms.")
    p95_ms: float
    ci_low_ms: float | None = Field(description="Lower end of the p95 interval (order statistic), ms.")
    ci_high_ms: float | None = Field(description="Upper end of the p95 interval (order statistic), ms; None with too few calls.")
    confidence: float = Field(description="Two-sided confidence of the interval.")
    samples: int = Field(description="Timed calls the interval comes from.")
    iterations_needed: int | None = Field(
        default=None, description="Inconclusive only: timed calls that would likely settle the verdict (--iterations)."
    )
    message: str = Field(description="The verdict in one sentence.")


class MemoryStats(BaseModel):
    """What the gate measured of memory, and how."""

    peak_rss_mib: float = Field(description="Peak resident set of the process during the gate, load included, MiB.")
    rss_delta_mib: float = Field(description="peak_rss_mib minus the RSS before the model was loaded, MiB.")
    rss_before_mib: float | None = Field(default=None, description="Process RSS just before the session was created, MiB.")
    rss_source: str | None = Field(default=None, description="Where peak_rss_mib comes from: VmHWM, ru_maxrss or sampled.")
    gpu_memory_mib: float | None = Field(
        default=None, description="Peak device memory of this process (CUDA only), MiB."
    )
    gpu_source: str | None = Field(default=None, description="Where gpu_memory_mib comes from: nvml (sampled) or nvidia-smi.")
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
    size_saving_percent: float | None = Field(default=None, description="Negative: the quantized file is larger.")
    original_p50_ms: float | None = Field(default=None, description="Batch-1 p50 of the original model, ms.")
    quantized_p50_ms: float | None = Field(default=None, description="Batch-1 p50 of the quantized model, ms.")
    latency_change_percent: float | None = Field(default=None, description="Negative: the quantized model is faster.")
    note: str = Field(description="How to read the numbers, or why quantization did not apply.")

    def summary(self) -> str:
        """One line: size and latency change, worded by direction (never "smaller" for a file that grew)."""
        if not self.applicable or self.quantized_size_bytes is None or self.size_saving_percent is None:
            return f"int8 advice: {self.note}"
        saving = self.size_saving_percent
        if self.quantized_size_bytes < self.original_size_bytes:
            size = f"{saving:.1f}% smaller"
        elif self.quantized_size_bytes > self.original_size_bytes:
            size = f"{-saving:.1f}% larger; quantization does not pay off for this model's size"
        else:
            size = "same size"
        latency = ""
        if self.original_p50_ms is not None and self.quantized_p50_ms is not None:
            change = self.latency_change_percent
            direction = "" if change is None else f" ({abs(change):.1f}% {'faster' if change < 0 else 'slower'})"
            latency = f", batch-1 p50 {self.original_p50_ms:.3f} -> {self.quantized_p50_ms:.3f} ms{direction}"
        return (
            f"int8 advice: {self.original_size_bytes} -> {self.quantized_size_bytes} bytes ({size}){latency}; {self.note}"
        )


class ArtifactFile(BaseModel):
    """One file of an artifact: its path inside the artifact, SHA-256 and size."""

    path: str = Field(description="POSIX path relative to the artifact root.")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size_bytes: int = Field(ge=0)


ArtifactKind = Literal["file", "onnx-external-data", "directory"]


class ArtifactManifest(BaseModel):
    """Every file of an artifact with its SHA-256: what the gate checked and the registry stores and verifies."""

    kind: ArtifactKind = Field(
        description="file: one .onnx file; onnx-external-data: .onnx plus its data files; directory: a folder (huggingface, Triton)."
    )
    entry: str = Field(description="Path of the ONNX model the gate loads, relative to the artifact root.")
    files: list[ArtifactFile] = Field(description="Every file, sorted by path.")

    @property
    def size_bytes(self) -> int:
        """Total size of the files."""
        return sum(item.size_bytes for item in self.files)

    def text(self) -> str:
        """The manifest as `sha256sum` writes it (`<sha256>  <path>` per line, sorted), so `sha256sum -c` can check a copy."""
        return "".join(f"{item.sha256}  {item.path}\n" for item in sorted(self.files, key=lambda item: item.path))

    @property
    def digest(self) -> str:
        """The artifact's SHA-256: the file's own for a single file, else the SHA-256 of `text()`."""
        if self.kind == "file" and len(self.files) == 1:
            return self.files[0].sha256
        return hashlib.sha256(self.text().encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class LocalArtifact:
    """An artifact on disk: its root folder, the path it was given as, and its manifest."""

    root: Path
    given: Path
    manifest: ArtifactManifest

    @property
    def entry_path(self) -> Path:
        """Absolute path of the ONNX model the gate loads."""
        return self.root / self.manifest.entry

    def path_of(self, item: ArtifactFile) -> Path:
        """Absolute path of one file of the manifest."""
        return self.root / item.path


class GateReport(BaseModel):
    """The outcome of the model gate for one artifact and one spec (JSON-serialisable)."""

    model: str = Field(description="Spec name.")
    team: str
    model_file: str = Field(description="The artifact as given (a file or a folder).")
    sha256: str = Field(description="SHA-256 of the artifact: the file's own for one file, else of the manifest text.")
    size_bytes: int = Field(description="Total size of the artifact's files.")
    manifest: ArtifactManifest | None = Field(default=None, description="Every file of the artifact with its SHA-256.")
    onnxruntime_version: str
    providers_requested: list[str]
    provider: str = Field(description="Execution provider the session actually used.")
    provider_note: str = Field(description="Why this provider was used.")
    seed: int
    batch_sizes: list[int]
    latency: list[LatencyStats]
    memory: MemoryStats
    latency_p95_slo_ms: float = Field(description="spec.monitoring.latency_p95_ms, compared with p95 at batch 1.")
    latency_verdict: LatencyVerdict | None = Field(default=None, description="p95 at batch 1 against the SLO, with its interval.")
    verdict: Verdict = Field(description="pass, fail, or inconclusive (the latency interval straddles the SLO).")
    passed: bool = Field(description="verdict == pass.")
    failures: list[str] = Field(description="Why the gate failed or was inconclusive; empty when it passed.")
    quantization: QuantizationAdvice | None = None
    measured_at: str = Field(description="UTC time of the measurement, ISO 8601.")

    @model_validator(mode="before")
    @classmethod
    def _verdict_of_older_reports(cls, data: Any) -> Any:
        # Reports recorded before verdicts existed carry only `passed`.
        if isinstance(data, dict) and "verdict" not in data and "passed" in data:
            return {**data, "verdict": "pass" if data["passed"] else "fail"}
        return data

    def latency_at(self, batch_size: int) -> LatencyStats | None:
        """Latency figures of one batch size, if measured."""
        return next((stats for stats in self.latency if stats.batch_size == batch_size), None)


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


