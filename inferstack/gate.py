"""The model gate: load an ONNX artifact, check it against the spec's signature, smoke-test and measure it.

`run_gate(model_path, spec)` is the whole gate as a library call (the CLI only
prints its `GateReport`). Steps, in order:

0. Collect the artifact as a set of files (`collect_artifact`): one `.onnx`
   file, an ONNX model with external data (the `.onnx` file plus every data
   file its tensors name), or a directory (a huggingface export, a Triton model
   repository) holding one ONNX entry point. Every file is hashed into an
   `ArtifactManifest`; the total size is checked against a configurable limit.
1. Load the entry point with onnxruntime *by path*, so external data resolves
   from the model's own folder whatever the working directory. CUDA is
   requested when onnxruntime lists the CUDA execution provider; which provider
   the session really uses is read back from `session.get_providers()` and
   reported (onnxruntime-gpu falls back to CPU when the CUDA libraries or a
   device are missing).
2. Compare the model's inputs and outputs (names, dtypes, shapes) with
   `spec.signature`. Bad input -- a missing or corrupt file, no signature, a
   mismatch -- raises `InputError` with one problem per mismatch (exit 2).
3. Smoke inference on synthetic inputs drawn from `numpy.random.default_rng(seed)`
   at every measured batch size; every floating-point output must be finite and
   fixed output dimensions must match the signature.
4. Latency p50/p95/p99 and throughput at batch sizes 1, 2, 4, ... up to
   `spec.serving.batching.max_batch_size` (1 without batching), after a warm-up
   (at least `warmup` calls and `WARMUP_MIN_S` seconds), with at least
   `min_iterations` timed calls and a per-batch time budget.
5. Memory over the whole process, load included (`PeakMemoryMonitor`): the
   kernel's high-water mark of the resident set (`VmHWM` in /proc/self/status,
   the figure `/usr/bin/time` and `getrusage` report as ru_maxrss) when the gate
   raised it, else the largest RSS a sampling thread saw (started before the
   session is created). On CUDA, device memory is sampled with NVML when
   nvidia-ml-py is installed, else read once from `nvidia-smi`; the report says
   which source was used.
6. The latency verdict (`latency_verdict`): a distribution-free confidence
   interval for p95 at batch 1 from order statistics (binomial ranks). pass when
   the whole interval is at or under `spec.monitoring.latency_p95_ms`, fail when
   it is wholly above, inconclusive otherwise -- with the number of iterations
   that would likely settle it. The gate fails (exit 1) on non-finite outputs, a
   failed inference, wrong output shapes, or a fail or inconclusive verdict.

Optional advice: what dynamic int8 quantization (onnxruntime.quantization)
would change in file size and batch-1 latency. Advice only; it never fails the gate.

Synthetic inputs: floating types are standard normal, integer types are drawn
from {0, 1} (safe as token ids and attention masks), bool is random, strings are
"x". Dynamic dimensions other than a leading batch dimension get
`DYNAMIC_DIM_SIZE`.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from inferstack.extras import require_extra

require_extra("gate")  # one line naming the install command, instead of a ModuleNotFoundError below

import numpy as np  # noqa: E402

from inferstack.problems import InputError, Problem, display_path  # noqa: E402
from inferstack.gate_report import (  # noqa: E402 - the report models need no gate runtime: the registry reads them
    LatencyStats,
    Verdict,
    LatencyVerdict,
    MemoryStats,
    QuantizationAdvice,
    ArtifactFile,
    ArtifactKind,
    ArtifactManifest,
    LocalArtifact,
    GateReport,
    file_sha256,
)
from inferstack.spec.model import ModelSpec, TensorDType, TensorSpec  # noqa: E402

DYNAMIC_DIM_SIZE = 16
"""Size given to a dynamic dimension that is not the leading batch dimension."""

DEFAULT_WARMUP = 3
WARMUP_MIN_S = 0.1
"""Warm-up also lasts at least this long (caches, thread pools, lazy CUDA kernels), up to WARMUP_MAX_CALLS calls."""
WARMUP_MAX_CALLS = 50
DEFAULT_MAX_ITERATIONS = 300
MIN_ITERATIONS = 100
"""Fewest timed calls the CLI accepts: enough for a 95% confidence interval of p95 (72 is the least, see p95_interval)."""
DEFAULT_MIN_ITERATIONS = MIN_ITERATIONS
DEFAULT_TIME_BUDGET_S = 2.0
P95 = 0.95
CONFIDENCE = 0.95
"""Two-sided confidence of the p95 interval: each conclusive verdict is wrong at most 2.5% of the time."""
DEFAULT_MAX_ARTIFACT_GIB = 50.0
MAX_ARTIFACT_ENV = "INFERSTACK_MAX_ARTIFACT_GIB"
"""Environment variable overriding the artifact size limit (GiB) of the gate and publish."""
ProgressCallback = Callable[[str], None]
CallTimer = Callable[[Callable[[], Any]], float]
"""Makes one timed call and returns how long it took, in milliseconds."""


def wall_clock_ms(call: Callable[[], Any]) -> float:
    """The gate's CallTimer: the call's wall-clock duration (time.perf_counter), in milliseconds."""
    begin = time.perf_counter()
    call()
    return (time.perf_counter() - begin) * 1000.0

ORT_TYPES: dict[str, TensorDType] = {
    "tensor(float)": "float32",
    "tensor(float16)": "float16",
    "tensor(bfloat16)": "bfloat16",
    "tensor(double)": "float64",
    "tensor(int8)": "int8",
    "tensor(uint8)": "uint8",
    "tensor(int32)": "int32",
    "tensor(int64)": "int64",
    "tensor(bool)": "bool",
    "tensor(string)": "string",
}
"""onnxruntime's type strings mapped to the spec language's dtypes."""

NUMPY_TYPES: dict[TensorDType, Any] = {
    "float32": np.float32,
    "float16": np.float16,
    "float64": np.float64,
    "int8": np.int8,
    "uint8": np.uint8,
    "int32": np.int32,
    "int64": np.int64,
    "bool": np.bool_,
    "string": np.str_,
}

Provider = Literal["CUDAExecutionProvider", "CPUExecutionProvider"]




def batch_sizes_for(spec: ModelSpec) -> list[int]:
    """1, 2, 4, ... up to the spec's max batch size (which is included); [1] without batching or a batch dimension."""
    batching = spec.serving.batching
    has_batch_dim = spec.signature is not None and all(
        tensor.shape[:1] == [None] for tensor in spec.signature.inputs
    )
    if batching is None or not has_batch_dim:
        return [1]
    sizes: list[int] = []
    size = 1
    while size < batching.max_batch_size:
        sizes.append(size)
        size *= 2
    sizes.append(batching.max_batch_size)
    return sizes


_LOCATION_TAG = re.compile(rb"\n\x08location\x12")
"""Protobuf bytes of an external-data entry's key "location" (StringStringEntryProto: field 1 = key, field 2 = value)."""


def _external_locations(path: Path) -> tuple[str, set[str]]:
    """SHA-256 of an .onnx file and the external data files its tensors name, in one chunked pass.

    The locations are found in the protobuf bytes rather than by parsing the model,
    so a large model is not loaded a second time (which would also raise the
    process's peak memory before the gate measures it).
    """
    digest = hashlib.sha256()
    locations: set[str] = set()
    overlap = 4096
    tail = b""
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
            window = tail + chunk
            for match in _LOCATION_TAG.finditer(window):
                start = match.end()
                if start + 2 > len(window):
                    continue
                length = window[start]
                offset = 1
                if length & 0x80:  # two-byte varint (paths up to 16 KiB)
                    length = (length & 0x7F) | (window[start + 1] << 7)
                    offset = 2
                value = window[start + offset : start + offset + length]
                if len(value) == length:
                    locations.add(value.decode("utf-8", errors="replace"))
            tail = window[-overlap:]
    return digest.hexdigest(), locations


def _parsed_external_locations(path: Path) -> set[str]:
    """The external data files a model's tensors name, from the parsed model (slow path: only when the byte scan
    found a location that is not there, which a metadata_props entry keyed "location" can also produce)."""
    import onnx
    from onnx.external_data_helper import _get_all_tensors  # pyright: ignore[reportPrivateUsage]

    model = onnx.load(str(path), load_external_data=False)
    return {
        entry.value
        for tensor in _get_all_tensors(model)
        if tensor.data_location == onnx.TensorProto.EXTERNAL
        for entry in tensor.external_data
        if entry.key == "location"
    }


def max_artifact_bytes(gib: float | None = None) -> int:
    """The artifact size limit in bytes: `gib`, else $INFERSTACK_MAX_ARTIFACT_GIB, else DEFAULT_MAX_ARTIFACT_GIB."""
    if gib is None:
        raw = os.environ.get(MAX_ARTIFACT_ENV)
        try:
            gib = float(raw) if raw else DEFAULT_MAX_ARTIFACT_GIB
        except ValueError:
            raise InputError(
                [Problem(MAX_ARTIFACT_ENV, "", f"'{raw}' is not a number; expected the artifact size limit in GiB")]
            ) from None
    if gib <= 0:
        raise InputError([Problem("--max-artifact-gib", "", f"{gib:g} GiB; expected a positive size limit")])
    return int(gib * (1 << 30))


def _gib(size: int) -> str:
    return f"{size / (1 << 30):.2f} GiB" if size >= (1 << 30) else f"{size / (1 << 20):.1f} MiB"


def _entry_of(root: Path, onnx_files: list[str], label: str) -> str:
    """The ONNX model a directory artifact serves: model.onnx nearest the top (Triton: its highest numeric version)."""
    if not onnx_files:
        raise InputError([Problem(label, "", "the folder holds no .onnx file; expected an ONNX export (model.onnx) to gate")])
    named = [item for item in onnx_files if item.rsplit("/", 1)[-1] == "model.onnx"]
    candidates = named or onnx_files
    depth = min(item.count("/") for item in candidates)
    shallowest = sorted(item for item in candidates if item.count("/") == depth)
    if len(shallowest) == 1:
        return shallowest[0]
    # A Triton model repository: <model>/<version>/model.onnx; Triton's default policy serves the highest version.
    versions = [item for item in shallowest if re.fullmatch(r"(?:.*/)?\d+/[^/]+", item)]
    parents = {item.rsplit("/", 2)[0] if item.count("/") >= 2 else "" for item in versions}
    if len(versions) == len(shallowest) and len(parents) == 1:
        return max(versions, key=lambda item: int(item.rsplit("/", 2)[-2]))
    raise InputError(
        [
            Problem(
                label,
                "",
                f"the folder holds several ONNX models ({', '.join(shallowest[:5])}); expected one entry point "
                "(a single model.onnx, or one Triton model with numbered versions)",
            )
        ]
    )


def collect_artifact(
    path: Path, *, max_bytes: int | None = None, progress: ProgressCallback | None = None
) -> LocalArtifact:
    """The files of the artifact at `path` (an .onnx file, with its external data, or a folder), hashed into a manifest.

    InputError (one line each) for a missing path, a missing or out-of-folder
    external data file, a link leaving the folder, or a total size over the limit.
    """
    label = display_path(path)
    limit = max_bytes if max_bytes is not None else max_artifact_bytes()
    if path.is_dir():
        root = path.resolve()
        names: list[str] = []
        for folder, dirs, files in os.walk(root):
            dirs[:] = sorted(name for name in dirs if name not in (".git", "__pycache__"))
            for name in sorted(files):
                full = Path(folder) / name
                relative = full.relative_to(root).as_posix()
                if full.is_symlink() and not full.resolve().is_relative_to(root):
                    raise InputError(
                        [Problem(label, relative, "is a link to a file outside the artifact folder; expected the file itself")]
                    )
                if full.is_file():
                    names.append(relative)
        entry = _entry_of(root, [name for name in names if name.endswith(".onnx")], label)
        kind: ArtifactKind = "directory"
    elif path.is_file():
        root = path.resolve().parent
        entry = path.name
        names = [entry]
        kind = "file"
    elif path.exists():
        raise InputError([Problem(label, "", "is neither a file nor a folder; expected an ONNX model file or an artifact folder")])
    else:
        raise InputError([Problem(label, "", "no such file or folder; expected an ONNX model file or an artifact folder")])

    total = sum((root / name).stat().st_size for name in names)
    if total > limit:
        raise InputError(
            [
                Problem(
                    label,
                    "",
                    f"artifact is {_gib(total)} in {len(names)} file(s); expected at most {_gib(limit)} "
                    f"(raise it with --max-artifact-gib or ${MAX_ARTIFACT_ENV})",
                )
            ]
        )
    hashes: dict[str, str] = {}
    hashed = 0
    for index, name in enumerate(names):
        if progress is not None and (len(names) > 1 or total > (64 << 20)):
            progress(f"hashing {name} ({index + 1}/{len(names)}, {_gib(hashed)} of {_gib(total)})")
        full = root / name
        if name == entry or (kind == "directory" and name.endswith(".onnx")):
            hashes[name], locations = _external_locations(full)
        else:
            hashes[name], locations = file_sha256(full), set()
        hashed += full.stat().st_size
        if name != entry:
            continue
        if any(not (full.parent / location).resolve().is_file() for location in locations):
            locations = _parsed_external_locations(full)
        for location in sorted(locations):
            data = (full.parent / location).resolve()
            relative_label = f"external data '{location}'"
            if not data.is_relative_to(root):
                raise InputError(
                    [Problem(label, relative_label, "lies outside the model's folder; expected data files beside the .onnx file")]
                )
            if not data.is_file():
                raise InputError(
                    [
                        Problem(
                            label,
                            relative_label,
                            f"does not exist (looked for {display_path(data)}); expected every external data file the model "
                            "names, in the model's folder",
                        )
                    ]
                )
            data_name = data.relative_to(root).as_posix()
            if data_name not in names:
                names.append(data_name)
                total += data.stat().st_size
                if total > limit:
                    raise InputError(
                        [
                            Problem(
                                label,
                                "",
                                f"artifact is {_gib(total)} with its external data; expected at most {_gib(limit)} "
                                f"(raise it with --max-artifact-gib or ${MAX_ARTIFACT_ENV})",
                            )
                        ]
                    )
                if kind == "file":
                    kind = "onnx-external-data"
    for name in names:
        if name not in hashes:
            if progress is not None:
                progress(f"hashing {name}")
            hashes[name] = file_sha256(root / name)
    files = [
        ArtifactFile(path=name, sha256=hashes[name], size_bytes=(root / name).stat().st_size) for name in sorted(names)
    ]
    return LocalArtifact(root=root, given=path, manifest=ArtifactManifest(kind=kind, entry=entry, files=files))


def _vm_hwm_mib() -> float | None:
    """The process's peak RSS from /proc/self/status (VmHWM), MiB; None where /proc is not available."""
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _ru_maxrss_mib() -> float | None:
    """getrusage's ru_maxrss of this process, MiB (KiB on Linux, bytes on macOS)."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    value = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return value / (1 << 20) if sys.platform == "darwin" else value / 1024


def _process_peak_mib() -> tuple[float | None, str]:
    hwm = _vm_hwm_mib()
    if hwm is not None:
        return hwm, "VmHWM"
    return _ru_maxrss_mib(), "ru_maxrss"


def _process_rss_mib() -> float:
    import psutil

    return psutil.Process().memory_info().rss / (1 << 20)


class _Nvml:
    """This process's device memory through NVML (nvidia-ml-py), when that package and a driver are present."""

    def __init__(self) -> None:
        import pynvml  # type: ignore[import-not-found]  # optional: nvidia-ml-py

        pynvml.nvmlInit()
        self._nvml: Any = pynvml
        self._handles = [pynvml.nvmlDeviceGetHandleByIndex(index) for index in range(pynvml.nvmlDeviceGetCount())]
        self._pid = os.getpid()

    def used_mib(self) -> float | None:
        total = 0
        found = False
        for handle in self._handles:
            for process in self._nvml.nvmlDeviceGetComputeRunningProcesses(handle):
                if process.pid == self._pid and process.usedGpuMemory is not None:
                    total += int(process.usedGpuMemory)
                    found = True
        return total / (1 << 20) if found else None


class PeakMemoryMonitor:
    """Peak memory of this process from before the session is created until `stop()`.

    Host: VmHWM (the kernel's RSS high-water mark; ru_maxrss where there is no
    /proc) when the gate raised it -- exact, load spike included -- else the
    largest RSS a thread sampled every `interval_s` (a process that peaked
    earlier, e.g. a test runner). Device (`gpu=True`): NVML sampled by the same
    thread when nvidia-ml-py is importable, else nvidia-smi once at `stop()`
    (the CUDA arena keeps its high-water mark allocated, so the late reading is
    close to the peak).
    """

    def __init__(self, *, gpu: bool = False, interval_s: float = 0.01) -> None:
        self.interval_s = interval_s
        self.rss_before = _process_rss_mib()
        self.peak_before, self.source = _process_peak_mib()
        self.sampled = self.rss_before
        self.gpu_peak: float | None = None
        self.gpu_source: str | None = None
        self._nvml: _Nvml | None = None
        if gpu:
            try:
                self._nvml = _Nvml()
                self.gpu_source = "nvml"
            except Exception:  # noqa: BLE001 - nvidia-ml-py missing or no driver: fall back to nvidia-smi
                self._nvml = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="inferstack-gate-memory", daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        import psutil

        process = psutil.Process()
        while not self._stop.wait(self.interval_s):
            self.sampled = max(self.sampled, process.memory_info().rss / (1 << 20))
            if self._nvml is not None:
                used = self._nvml.used_mib()
                if used is not None:
                    self.gpu_peak = max(self.gpu_peak or 0.0, used)

    def stop(self, *, gpu: bool = False) -> MemoryStats:
        """Stop sampling and return the figures (`gpu`: the session ran on CUDA, read device memory)."""
        self._stop.set()
        self._thread.join(timeout=5)
        self.sampled = max(self.sampled, _process_rss_mib())
        peak_after, source = _process_peak_mib()
        if peak_after is not None and self.peak_before is not None and peak_after > self.peak_before:
            peak, rss_source = peak_after, source
            how = f"{source} (the kernel's peak RSS of the process, as /usr/bin/time reports it), load included"
        else:
            peak, rss_source = self.sampled, "sampled"
            how = (
                f"largest RSS sampled every {self.interval_s * 1000:g} ms from before the session was created "
                f"(the process's {source} predates the gate)"
            )
        gpu_mib = gpu_source = None
        if gpu:
            if self._nvml is not None and self.gpu_peak is not None:
                gpu_mib, gpu_source = self.gpu_peak, "nvml"
                how += "; device memory: peak of this process's NVML readings (nvidia-ml-py), sampled by the same thread"
            else:
                gpu_mib = _gpu_memory_mib()
                gpu_source = "nvidia-smi" if gpu_mib is not None else None
                how += (
                    "; device memory: this process's used_memory from nvidia-smi after the runs (CUDA arena high-water mark)"
                    if gpu_mib is not None
                    else "; device memory not measured (neither nvidia-ml-py nor nvidia-smi available)"
                )
        return MemoryStats(
            peak_rss_mib=round(peak, 2),
            rss_delta_mib=round(max(0.0, peak - self.rss_before), 2),
            rss_before_mib=round(self.rss_before, 2),
            rss_source=rss_source,
            gpu_memory_mib=None if gpu_mib is None else round(gpu_mib, 2),
            gpu_source=gpu_source,
            method=how,
        )


def _log_binomial_pmf(n: int, k: int, p: float) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1) + k * math.log(p) + (n - k) * math.log1p(-p)


def p95_interval_ranks(n: int, quantile: float = P95, confidence: float = CONFIDENCE) -> tuple[int, int] | None:
    """1-based ranks (l, u) of the sorted sample with P(x(l) <= true quantile <= x(u)) >= confidence, equal-tailed.

    Distribution-free: the number of samples below the true quantile is Binomial(n, quantile),
    so P(x(l) <= q) = P(B >= l) and P(x(u) >= q) = P(B <= u - 1). None when n is too small for
    an upper bound (n < 72 for p95 at 95%).
    """
    if n < 1:
        return None
    alpha = (1.0 - confidence) / 2.0
    cdf = 0.0
    lower = 0
    upper = None
    for k in range(n + 1):
        cdf += math.exp(_log_binomial_pmf(n, k, quantile))
        # P(B <= k) <= alpha  ->  l = k + 1 keeps P(B >= l) >= 1 - alpha
        if cdf <= alpha:
            lower = k + 1
        if upper is None and cdf >= 1.0 - alpha:
            upper = k + 1
            break
    if upper is None or upper > n or lower < 1:
        return None
    return lower, upper


def iterations_needed(fraction_under_slo: float, quantile: float = P95, confidence: float = CONFIDENCE) -> int:
    """Timed calls after which an interval as wide as the binomial one would likely exclude the SLO (normal approximation)."""
    z = statistics_z(confidence)
    gap = abs(fraction_under_slo - quantile)
    if gap < 1e-9:
        return 10**7
    return max(MIN_ITERATIONS, math.ceil(1.2 * z * z * quantile * (1 - quantile) / (gap * gap)))


def statistics_z(confidence: float) -> float:
    """Two-sided standard normal quantile of `confidence`."""
    from statistics import NormalDist

    return NormalDist().inv_cdf(0.5 + confidence / 2.0)


VERDICT_BLOCKS = 5
"""The timed calls are also cut into this many consecutive blocks; a conclusive verdict needs every block's p95 to agree."""


def latency_verdict(latencies_ms: Sequence[float], slo_ms: float) -> LatencyVerdict:
    """pass / fail / inconclusive for p95 of `latencies_ms` (in call order) against `slo_ms`.

    pass: the upper end of the order-statistic interval (p95_interval_ranks) and the p95 of
    every block of consecutive calls are at or under the SLO; fail: the lower end and every
    block's p95 are above it; otherwise inconclusive. The interval covers sampling noise; the
    blocks catch drift within the run (another process taking the CPU for a while), which an
    interval that assumes independent calls would not.
    """
    ordered_calls = np.asarray(latencies_ms, dtype=np.float64)
    values = np.sort(ordered_calls)
    n = int(values.size)
    p95 = float(np.percentile(values, 95)) if n else float("nan")
    ranks = p95_interval_ranks(n)
    under = float(np.count_nonzero(values <= slo_ms)) / n if n else 0.0
    if ranks is None:
        needed = max(MIN_ITERATIONS, iterations_needed(under) if n else MIN_ITERATIONS)
        return LatencyVerdict(
            verdict="inconclusive",
            slo_ms=slo_ms,
            p95_ms=round(p95, 4),
            ci_low_ms=None,
            ci_high_ms=None,
            confidence=CONFIDENCE,
            samples=n,
            iterations_needed=needed,
            message=f"{n} timed calls cannot bound p95 (at least 72 are needed); run with --iterations {needed}",
        )
    low, high = float(values[ranks[0] - 1]), float(values[ranks[1] - 1])
    blocks = [float(np.percentile(block, 95)) for block in np.array_split(ordered_calls, VERDICT_BLOCKS) if block.size]
    interval = (
        f"p95 {p95:.3f} ms, {CONFIDENCE:.0%} interval [{low:.3f}, {high:.3f}] ms over {n} calls "
        f"(p95 of {len(blocks)} consecutive blocks {min(blocks):.3f} to {max(blocks):.3f} ms)"
    )
    common: dict[str, Any] = {
        "slo_ms": slo_ms, "p95_ms": round(p95, 4), "ci_low_ms": round(low, 4), "ci_high_ms": round(high, 4),
        "confidence": CONFIDENCE, "samples": n,
    }
    if high <= slo_ms and max(blocks) <= slo_ms:
        return LatencyVerdict(verdict="pass", message=f"{interval}: within the {slo_ms:g} ms SLO", **common)
    if low > slo_ms and min(blocks) > slo_ms:
        return LatencyVerdict(verdict="fail", message=f"{interval}: above the {slo_ms:g} ms SLO", **common)
    needed = iterations_needed(under)
    why = "straddles" if low <= slo_ms <= high else "is clear of, but the blocks disagree on,"
    return LatencyVerdict(
        verdict="inconclusive", iterations_needed=needed,
        message=f"{interval} {why} the {slo_ms:g} ms SLO; about {needed} calls (--iterations {needed}) would likely "
        "settle it, unless the model's p95 is simply at the SLO or the machine is busy",
        **common,
    )


def _gpu_memory_mib() -> float | None:
    """Device memory used by this process according to nvidia-smi, or None when it cannot be read."""
    executable = shutil.which("nvidia-smi")
    if executable is None:
        return None
    try:
        output = subprocess.run(
            [executable, "--query-compute-apps=pid,used_memory", "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    total = 0.0
    found = False
    for line in output.splitlines():
        parts = [part.strip() for part in line.split(",")]
        if len(parts) == 2 and parts[0] == str(os.getpid()) and parts[1].replace(".", "", 1).isdigit():
            total += float(parts[1])
            found = True
    return total if found else None


_OPSET_TOO_NEW = re.compile(r"Opset (\d+) is under development.*?support for domain (\S+) is till opset (\d+)", re.S)
_IR_TOO_NEW = re.compile(r"Unsupported model IR version: (\d+), max supported IR version: (\d+)")


def _load_problem(label: str, error: Exception) -> Problem:
    """What onnxruntime's load error means, in one line: a too-new opset or IR version is named as such."""
    import onnxruntime as ort

    text = str(error)
    opset = _OPSET_TOO_NEW.search(text)
    if opset is not None:
        used, domain, supported = opset.groups()
        return Problem(
            label,
            "opset_import",
            f"the model uses opset {used} of {domain}, newer than this onnxruntime ({ort.__version__}) supports; "
            f"expected opset {supported} or lower (export again with opset_version={supported}, or upgrade onnxruntime)",
        )
    ir = _IR_TOO_NEW.search(text)
    if ir is not None:
        used, supported = ir.groups()
        return Problem(
            label,
            "ir_version",
            f"the model has IR version {used}, newer than this onnxruntime ({ort.__version__}) reads; expected IR version "
            f"{supported} or lower (save with an older onnx, or set model.ir_version = {supported})",
        )
    reason = re.sub(r"^\[ONNXRuntimeError\] : \d+ : \w+ : ", "", text.split("\n")[0].strip())
    return Problem(label, "", f"cannot load the model with onnxruntime ({reason}); expected a valid ONNX model file")


def _open_session(model_path: Path, label: str, providers: Sequence[str] | None) -> tuple[Any, list[str], str]:
    """An onnxruntime session of the file at `model_path` (by path: external data resolves beside it), the providers requested, and a note."""
    import onnxruntime as ort

    available = ort.get_available_providers()
    if providers is None:
        requested = ["CUDAExecutionProvider", "CPUExecutionProvider"] if "CUDAExecutionProvider" in available else [
            "CPUExecutionProvider"
        ]
    else:
        requested = list(providers)
    options = ort.SessionOptions()
    options.log_severity_level = 3
    # A CUDA provider that cannot start logs an error and onnxruntime falls back to CPU; we report the fallback instead.
    ort.set_default_logger_severity(4)
    try:
        session = ort.InferenceSession(str(model_path.resolve()), options, providers=requested)
    except Exception as error:  # noqa: BLE001 - onnxruntime raises its own pybind exception types
        raise InputError([_load_problem(label, error)]) from None
    finally:
        ort.set_default_logger_severity(3)
    used = session.get_providers()[0]
    if used == "CUDAExecutionProvider":
        note = "CUDA device found; the session runs on CUDAExecutionProvider"
    elif "CUDAExecutionProvider" in requested:
        note = "CUDAExecutionProvider was requested but could not start (no GPU or CUDA/cuDNN libraries); ran on CPU"
    elif "CUDAExecutionProvider" not in available:
        note = "this onnxruntime build has no CUDA provider; ran on CPU"
    else:
        note = f"providers requested explicitly: {', '.join(requested)}"
    return session, requested, note


def _shape_text(shape: Sequence[int | None]) -> str:
    return "[" + ", ".join("null" if dim is None else str(dim) for dim in shape) + "]"


def _model_dims(shape: Sequence[Any] | None) -> list[int | None] | None:
    """onnxruntime's shape (ints, symbolic names or None) as ints and None; None when the rank is unknown."""
    if shape is None:
        return None
    return [dim if isinstance(dim, int) and dim > 0 else None for dim in shape]


def _zipmap_hint(ort_type: str) -> str:
    """A hint for skl2onnx's default ZipMap output (a sequence of maps), which no tensor signature can match."""
    if ort_type.startswith("seq(map("):
        return (
            f" (the model's output is {ort_type}, a sequence of maps: skl2onnx's ZipMap; export the classifier with "
            "options={id(model): {'zipmap': False}} (zipmap=False) to get a probabilities tensor)"
        )
    return ""


def signature_problems(session: Any, spec: ModelSpec, label: str) -> list[Problem]:
    """One Problem per difference between the loaded model's inputs/outputs and the spec's signature."""
    assert spec.signature is not None
    problems: list[Problem] = []
    for kind, declared, actual in (
        ("inputs", spec.signature.inputs, session.get_inputs()),
        ("outputs", spec.signature.outputs, session.get_outputs()),
    ):
        actual_by_name = {arg.name: arg for arg in actual}
        declared_names = {tensor.name for tensor in declared}
        for tensor in declared:
            arg = actual_by_name.get(tensor.name)
            path = f"{kind}.{tensor.name}"
            if arg is None:
                problems.append(
                    Problem(
                        label,
                        path,
                        f"spec {spec.name} declares {kind[:-1]} '{tensor.name}' but the model has none; expected one of the "
                        f"model's {kind}: {', '.join(sorted(actual_by_name)) or '(none)'}",
                    )
                )
                continue
            dtype = ORT_TYPES.get(arg.type, arg.type)
            if dtype != tensor.dtype:
                problems.append(
                    Problem(
                        label,
                        f"{path}.dtype",
                        f"model has {dtype}; expected {tensor.dtype} as spec {spec.name} declares{_zipmap_hint(arg.type)}",
                    )
                )
            if not str(arg.type).startswith("tensor("):
                continue  # a sequence or map has no tensor shape to compare; the dtype line says what it is
            dims = _model_dims(arg.shape)
            if dims is None:
                continue
            if len(dims) != len(tensor.shape):
                problems.append(
                    Problem(
                        label,
                        f"{path}.shape",
                        f"model has rank {len(dims)} {_shape_text(dims)}; expected rank {len(tensor.shape)} "
                        f"{_shape_text(tensor.shape)} as spec {spec.name} declares",
                    )
                )
                continue
            for index, (model_dim, spec_dim) in enumerate(zip(dims, tensor.shape, strict=True)):
                # A dynamic model dimension accepts any declared size; a fixed one must equal the declared size.
                if model_dim is not None and model_dim != spec_dim:
                    wanted = "a dynamic dimension (null)" if spec_dim is None else str(spec_dim)
                    problems.append(
                        Problem(
                            label,
                            f"{path}.shape[{index}]",
                            f"model has fixed size {model_dim}; expected {wanted} as spec {spec.name} declares",
                        )
                    )
        for name in sorted(set(actual_by_name) - declared_names):
            problems.append(
                Problem(
                    label,
                    f"{kind}.{name}",
                    f"model has {kind[:-1]} '{name}' that spec {spec.name} does not declare; expected it in signature.{kind}"
                    + _zipmap_hint(actual_by_name[name].type),
                )
            )
    return problems


def synthetic_inputs(inputs: Sequence[TensorSpec], batch_size: int, rng: np.random.Generator) -> dict[str, Any]:
    """Seeded synthetic input tensors for one call (see the module docstring for the distributions)."""
    feeds: dict[str, Any] = {}
    for tensor in inputs:
        shape = [
            (batch_size if index == 0 else DYNAMIC_DIM_SIZE) if dim is None else dim
            for index, dim in enumerate(tensor.shape)
        ]
        if tensor.dtype in ("float32", "float16", "float64"):
            feeds[tensor.name] = rng.standard_normal(shape).astype(NUMPY_TYPES[tensor.dtype])
        elif tensor.dtype == "bfloat16":
            raise InputError(
                [Problem("signature", f"inputs.{tensor.name}.dtype", "bfloat16 inputs cannot be fed from numpy; expected another dtype")]
            )
        elif tensor.dtype == "bool":
            feeds[tensor.name] = rng.integers(0, 2, size=shape).astype(np.bool_)
        elif tensor.dtype == "string":
            feeds[tensor.name] = np.full(shape, "x", dtype=object)
        else:
            feeds[tensor.name] = rng.integers(0, 2, size=shape).astype(NUMPY_TYPES[tensor.dtype])
    return feeds


def _output_failures(
    outputs: Sequence[Any], names: Sequence[str], declared: dict[str, TensorSpec], batch_size: int, seed: int
) -> list[str]:
    failures: list[str] = []
    for name, value in zip(names, outputs, strict=True):
        array = np.asarray(value)
        if np.issubdtype(array.dtype, np.floating):
            bad = int(array.size - np.count_nonzero(np.isfinite(array)))
            if bad:
                failures.append(
                    f"output '{name}' has {bad} of {array.size} values NaN or infinite at batch {batch_size} "
                    f"(seeded inputs, seed {seed}); expected finite outputs"
                )
        tensor = declared.get(name)
        if tensor is not None and len(tensor.shape) == array.ndim:
            for index, (spec_dim, got) in enumerate(zip(tensor.shape, array.shape, strict=True)):
                if spec_dim is not None and spec_dim != got:
                    failures.append(
                        f"output '{name}' has shape {list(array.shape)} at batch {batch_size}; expected size {spec_dim} "
                        f"at dimension {index} as declared"
                    )
                    break
        elif tensor is not None:
            failures.append(
                f"output '{name}' has rank {array.ndim} at batch {batch_size}; expected rank {len(tensor.shape)} as declared"
            )
    return failures


def _time_calls(
    run: Callable[[], Any],
    after_call: Callable[[], None],
    *,
    warmup: int,
    min_iterations: int,
    max_iterations: int,
    time_budget_s: float,
    call_timer: CallTimer = wall_clock_ms,
) -> tuple[int, list[float]]:
    """Warm-up calls made, and latencies in ms of timed calls (as `call_timer` measures them): at least
    min_iterations, at most max_iterations, stopping once the budget is spent.
    Warm-up: at least `warmup` calls and WARMUP_MIN_S seconds (at most WARMUP_MAX_CALLS)."""
    warmed = 0
    started = time.perf_counter()
    while warmed < warmup or (time.perf_counter() - started < WARMUP_MIN_S and warmed < max(warmup, WARMUP_MAX_CALLS)):
        run()
        after_call()
        warmed += 1
    latencies: list[float] = []
    started = time.perf_counter()
    while len(latencies) < max_iterations:
        latencies.append(call_timer(run))
        after_call()
        if len(latencies) >= min_iterations and time.perf_counter() - started > time_budget_s:
            break
    return warmed, latencies


def _stats(batch_size: int, latencies_ms: Sequence[float], warmup_calls: int = 0) -> LatencyStats:
    values = np.asarray(latencies_ms, dtype=np.float64)
    p50, p95, p99 = (float(x) for x in np.percentile(values, [50, 95, 99]))
    total_s = float(values.sum()) / 1000.0
    ranks = p95_interval_ranks(len(values))
    ordered = np.sort(values)
    return LatencyStats(
        batch_size=batch_size,
        warmup_calls=warmup_calls,
        iterations=len(values),
        p50_ms=round(p50, 4),
        p95_ms=round(p95, 4),
        p99_ms=round(p99, 4),
        mean_ms=round(float(values.mean()), 4),
        throughput_per_s=round(batch_size * len(values) / total_s, 2) if total_s > 0 else 0.0,
        p95_ci_low_ms=round(float(ordered[ranks[0] - 1]), 4) if ranks else None,
        p95_ci_high_ms=round(float(ordered[ranks[1] - 1]), 4) if ranks else None,
    )


def _quantization_advice(
    artifact: LocalArtifact, spec: ModelSpec, providers: Sequence[str], original_p50_ms: float, seed: int, iterations: int
) -> QuantizationAdvice:
    import onnxruntime as ort

    model_path = artifact.entry_path
    manifest = artifact.manifest
    if manifest.kind == "directory":
        # The entry point and its data files (model.onnx_data, model.onnx.data, ...), not the tokenizer or config files.
        entry_stem = manifest.entry.removesuffix(".onnx")
        original_size = sum(
            item.size_bytes for item in manifest.files if item.path == manifest.entry
            or (item.path.startswith(entry_stem) and not item.path.endswith(".onnx"))
        )
    else:
        original_size = manifest.size_bytes
    assert spec.signature is not None
    with tempfile.TemporaryDirectory(prefix="inferstack-quant-") as tmp:
        quantized_path = Path(tmp) / "model.int8.onnx"
        try:
            from onnxruntime.quantization import QuantType, quantize_dynamic

            # quantize_dynamic logs a pre-processing hint on the root logger; the advice note covers it.
            logging.disable(logging.WARNING)
            try:
                quantize_dynamic(
                    model_path,
                    quantized_path,
                    weight_type=QuantType.QInt8,
                    use_external_data_format=artifact.manifest.kind == "onnx-external-data",
                )
            finally:
                logging.disable(logging.NOTSET)
            options = ort.SessionOptions()
            options.log_severity_level = 3
            session = ort.InferenceSession(str(quantized_path), options, providers=list(providers))
            feeds = synthetic_inputs(spec.signature.inputs, 1, np.random.default_rng(seed))
            _, latencies = _time_calls(
                lambda: session.run(None, feeds),
                lambda: None,
                warmup=DEFAULT_WARMUP,
                min_iterations=min(iterations, DEFAULT_MIN_ITERATIONS),
                max_iterations=iterations,
                time_budget_s=DEFAULT_TIME_BUDGET_S,
            )
        except Exception as error:  # noqa: BLE001 - advice must never fail the gate
            return QuantizationAdvice(
                applicable=False,
                original_size_bytes=original_size,
                note=f"dynamic int8 quantization did not apply: {type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}",
            )
        quantized_size = sum(item.stat().st_size for item in Path(tmp).iterdir() if item.is_file())
    quantized_p50 = float(np.percentile(np.asarray(latencies), 50))
    on_gpu = providers[0] == "CUDAExecutionProvider"
    grew = quantized_size > original_size
    return QuantizationAdvice(
        applicable=True,
        original_size_bytes=original_size,
        quantized_size_bytes=quantized_size,
        size_saving_percent=round(100.0 * (original_size - quantized_size) / original_size, 2),
        original_p50_ms=round(original_p50_ms, 4),
        quantized_p50_ms=round(quantized_p50, 4),
        latency_change_percent=round(100.0 * (quantized_p50 - original_p50_ms) / original_p50_ms, 2)
        if original_p50_ms > 0
        else None,
        note=("the quantized file is larger (scales and quantize nodes outweigh the int8 savings on weights this small); "
              if grew else "")
        + "weights quantized to int8 with onnxruntime.quantization.quantize_dynamic; accuracy not checked -- "
        "validate on your evaluation set before publishing a quantized artifact"
        + ("; dynamic int8 kernels mostly run on CPU, so on CUDA the latency figure is rarely a gain" if on_gpu else ""),
    )


GATED_FORMATS = ("onnx", "huggingface", "triton")
"""Spec artifact formats the gate checks: an ONNX model, alone or inside a huggingface export or Triton repository."""


def run_gate(
    model_path: Path,
    spec: ModelSpec,
    *,
    seed: int = 0,
    providers: Sequence[str] | None = None,
    warmup: int = DEFAULT_WARMUP,
    max_iterations: int = DEFAULT_MAX_ITERATIONS,
    min_iterations: int = DEFAULT_MIN_ITERATIONS,
    time_budget_s: float = DEFAULT_TIME_BUDGET_S,
    quantize_advice: bool = False,
    max_bytes: int | None = None,
    progress: ProgressCallback | None = None,
    artifact: LocalArtifact | None = None,
    call_timer: CallTimer = wall_clock_ms,
) -> GateReport:
    """Collect, load, check, smoke-test and measure the artifact at `model_path` (a file or folder) against `spec`.

    Raises InputError for bad input (missing/corrupt/oversized artifact, no
    signature, signature mismatch); returns a GateReport whose verdict is fail or
    inconclusive (and `passed` False) for a gate that did not pass.
    `providers` overrides the automatic CUDA-then-CPU choice; `artifact` reuses a
    collected artifact (publish hashes once); `progress` receives phase lines;
    `call_timer` measures each timed call (wall clock; tests give a deterministic one).
    """
    import onnxruntime as ort

    say: ProgressCallback = progress or (lambda _: None)
    if spec.artifact.format not in GATED_FORMATS:
        raise InputError(
            [Problem(spec.name, "artifact.format", f"is {spec.artifact.format}; the gate checks {', '.join(GATED_FORMATS)} artifacts (an ONNX model)")]
        )
    if spec.signature is None:
        raise InputError(
            [Problem(spec.name, "signature", "the spec declares no signature; expected signature.inputs and signature.outputs to gate against")]
        )
    if min_iterations < 1 or max_iterations < min_iterations:
        raise InputError([Problem("gate", "iterations", f"min {min_iterations}, max {max_iterations}; expected 1 <= min <= max")])

    if artifact is None:
        artifact = collect_artifact(model_path, max_bytes=max_bytes, progress=say)
    label = display_path(model_path)
    entry_label = label if artifact.manifest.kind == "file" else f"{label} ({artifact.manifest.entry})"
    say(f"loading {artifact.manifest.entry} ({_gib(artifact.manifest.size_bytes)})")
    cuda_possible = (providers is None and "CUDAExecutionProvider" in ort.get_available_providers()) or (
        providers is not None and "CUDAExecutionProvider" in providers
    )
    monitor = PeakMemoryMonitor(gpu=cuda_possible)
    try:
        session, requested, provider_note = _open_session(artifact.entry_path, entry_label, providers)
        problems = signature_problems(session, spec, entry_label)
        if problems:
            raise InputError(problems)

        output_names = [arg.name for arg in session.get_outputs()]
        declared_outputs = {tensor.name: tensor for tensor in spec.signature.outputs}
        failures: list[str] = []
        latency: list[LatencyStats] = []
        batch_one_latencies: list[float] = []
        sizes = batch_sizes_for(spec)
        for batch_size in sizes:
            say(f"measuring batch {batch_size} ({sizes.index(batch_size) + 1}/{len(sizes)})")
            feeds = synthetic_inputs(spec.signature.inputs, batch_size, np.random.default_rng(seed))
            try:
                outputs = session.run(output_names, feeds)
            except Exception as error:  # noqa: BLE001 - onnxruntime raises its own pybind exception types
                failures.append(f"inference failed at batch {batch_size}: {str(error).splitlines()[0]}")
                break
            output_failures = _output_failures(outputs, output_names, declared_outputs, batch_size, seed)
            if output_failures:
                failures.extend(output_failures)
                break
            warmed, latencies = _time_calls(
                lambda: session.run(output_names, feeds),
                lambda: None,
                warmup=warmup,
                min_iterations=min_iterations,
                max_iterations=max_iterations,
                time_budget_s=time_budget_s,
                call_timer=call_timer,
            )
            if batch_size == 1:
                batch_one_latencies = latencies
            latency.append(_stats(batch_size, latencies, warmed))

        used = session.get_providers()[0]
        memory = monitor.stop(gpu=used == "CUDAExecutionProvider")
    except BaseException:
        monitor.stop()  # no sampling thread left behind
        raise

    slo = spec.monitoring.latency_p95_ms
    verdict_of_latency = latency_verdict(batch_one_latencies, slo) if batch_one_latencies else None
    if verdict_of_latency is not None and verdict_of_latency.verdict == "fail":
        failures.append(
            f"p95 latency at batch 1 is {verdict_of_latency.p95_ms:.3f} ms on {used} ({CONFIDENCE:.0%} interval "
            f"[{verdict_of_latency.ci_low_ms:.3f}, {verdict_of_latency.ci_high_ms:.3f}] ms over {verdict_of_latency.samples} "
            f"calls); expected at most {slo:g} ms (monitoring.latency_p95_ms)"
        )
    inconclusive = not failures and verdict_of_latency is not None and verdict_of_latency.verdict == "inconclusive"
    if inconclusive and verdict_of_latency is not None:
        failures.append(f"inconclusive on {used}: {verdict_of_latency.message}")

    batch_one = next((stats for stats in latency if stats.batch_size == 1), None)
    advice = None
    if quantize_advice and batch_one is not None:
        say("quantization advice: quantizing and timing an int8 copy")
        advice = _quantization_advice(artifact, spec, session.get_providers(), batch_one.p50_ms, seed, max_iterations)

    verdict: Verdict = "pass" if not failures else "inconclusive" if inconclusive else "fail"
    return GateReport(
        model=spec.name,
        team=spec.team,
        model_file=label,
        sha256=artifact.manifest.digest,
        size_bytes=artifact.manifest.size_bytes,
        manifest=artifact.manifest,
        onnxruntime_version=ort.__version__,
        providers_requested=requested,
        provider=used,
        provider_note=provider_note,
        seed=seed,
        batch_sizes=sizes,
        latency=latency,
        memory=memory,
        latency_p95_slo_ms=slo,
        latency_verdict=verdict_of_latency,
        verdict=verdict,
        passed=verdict == "pass",
        failures=failures,
        quantization=advice,
        measured_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
