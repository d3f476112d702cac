"""The model gate: load an ONNX artifact, check it against the spec's signature, smoke-test and measure it.

`run_gate(model_path, spec)` is the whole gate as a library call (the CLI only
prints its `GateReport`). Steps, in order:

1. Load the file with onnxruntime. CUDA is requested when onnxruntime lists
   the CUDA execution provider; which provider the session really uses is read
   back from `session.get_providers()` and reported (onnxruntime-gpu falls back
   to CPU when the CUDA libraries or a device are missing).
2. Compare the model's inputs and outputs (names, dtypes, shapes) with
   `spec.signature`. Bad input -- a missing or corrupt file, no signature, a
   mismatch -- raises `InputError` with one problem per mismatch (exit 2).
3. Smoke inference on synthetic inputs drawn from `numpy.random.default_rng(seed)`
   at every measured batch size; every floating-point output must be finite and
   fixed output dimensions must match the signature.
4. Latency p50/p95/p99 and throughput at batch sizes 1, 2, 4, ... up to
   `spec.serving.batching.max_batch_size` (1 without batching), with bounded
   warm-up and iteration counts and a per-batch time budget.
5. Memory: the process's resident set (RSS) sampled after loading and after each
   inference. onnxruntime's memory arena keeps its high-water mark allocated, so
   the largest sample approximates the peak; the figure includes the Python
   process. On CUDA, the process's device memory is read from `nvidia-smi`
   after the runs (the CUDA arena also keeps its high-water mark).
6. The gate fails (exit 1) on non-finite outputs, a failed inference, wrong
   output shapes, or p95 at batch 1 above `spec.monitoring.latency_p95_ms`.

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
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from inferstack.extras import require_extra

require_extra("gate")  # one line naming the install command, instead of a ModuleNotFoundError below

import numpy as np  # noqa: E402 - after the extra check

from inferstack.gate_report import (  # noqa: E402 - re-exported: the gate's report models live apart from its runtime
    GateReport as GateReport,
    LatencyStats as LatencyStats,
    MemoryStats as MemoryStats,
    QuantizationAdvice as QuantizationAdvice,
    file_sha256 as file_sha256,
)
from inferstack.problems import InputError, Problem, display_path  # noqa: E402
from inferstack.spec.model import ModelSpec, TensorDType, TensorSpec  # noqa: E402

DYNAMIC_DIM_SIZE = 16
"""Size given to a dynamic dimension that is not the leading batch dimension."""

DEFAULT_WARMUP = 3
DEFAULT_MAX_ITERATIONS = 200
DEFAULT_MIN_ITERATIONS = 10
DEFAULT_TIME_BUDGET_S = 2.0

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


def _process_rss_mib() -> float:
    import psutil

    return psutil.Process().memory_info().rss / (1 << 20)


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


def _open_session(model_bytes: bytes, label: str, providers: Sequence[str] | None) -> tuple[Any, list[str], str]:
    """An onnxruntime session, the providers requested, and a note on the provider used."""
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
        session = ort.InferenceSession(model_bytes, options, providers=requested)
    except Exception as error:  # noqa: BLE001 - onnxruntime raises its own pybind exception types
        reason = str(error).split("\n")[0].strip()
        raise InputError(
            [Problem(label, "", f"cannot load the model with onnxruntime ({reason}); expected a valid ONNX model file")]
        ) from None
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
                    Problem(label, f"{path}.dtype", f"model has {dtype}; expected {tensor.dtype} as spec {spec.name} declares")
                )
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
                    f"model has {kind[:-1]} '{name}' that spec {spec.name} does not declare; expected it in signature.{kind}",
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
) -> list[float]:
    """Latencies in ms of timed calls: at least min_iterations, at most max_iterations, stopping once the budget is spent."""
    for _ in range(warmup):
        run()
        after_call()
    latencies: list[float] = []
    started = time.perf_counter()
    while len(latencies) < max_iterations:
        begin = time.perf_counter()
        run()
        latencies.append((time.perf_counter() - begin) * 1000.0)
        after_call()
        if len(latencies) >= min_iterations and time.perf_counter() - started > time_budget_s:
            break
    return latencies


def _stats(batch_size: int, latencies_ms: Sequence[float]) -> LatencyStats:
    values = np.asarray(latencies_ms, dtype=np.float64)
    p50, p95, p99 = (float(x) for x in np.percentile(values, [50, 95, 99]))
    total_s = float(values.sum()) / 1000.0
    return LatencyStats(
        batch_size=batch_size,
        iterations=len(values),
        p50_ms=round(p50, 4),
        p95_ms=round(p95, 4),
        p99_ms=round(p99, 4),
        mean_ms=round(float(values.mean()), 4),
        throughput_per_s=round(batch_size * len(values) / total_s, 2) if total_s > 0 else 0.0,
    )


def _quantization_advice(
    model_path: Path, spec: ModelSpec, providers: Sequence[str], original_p50_ms: float, seed: int, iterations: int
) -> QuantizationAdvice:
    import onnxruntime as ort

    original_size = model_path.stat().st_size
    assert spec.signature is not None
    with tempfile.TemporaryDirectory(prefix="inferstack-quant-") as tmp:
        quantized_path = Path(tmp) / "model.int8.onnx"
        try:
            from onnxruntime.quantization import QuantType, quantize_dynamic

            # quantize_dynamic logs a pre-processing hint on the root logger; the advice note covers it.
            logging.disable(logging.WARNING)
            try:
                quantize_dynamic(model_path, quantized_path, weight_type=QuantType.QInt8)
            finally:
                logging.disable(logging.NOTSET)
            options = ort.SessionOptions()
            options.log_severity_level = 3
            session = ort.InferenceSession(str(quantized_path), options, providers=list(providers))
            feeds = synthetic_inputs(spec.signature.inputs, 1, np.random.default_rng(seed))
            latencies = _time_calls(
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
        quantized_size = quantized_path.stat().st_size
    quantized_p50 = float(np.percentile(np.asarray(latencies), 50))
    on_gpu = providers[0] == "CUDAExecutionProvider"
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
        note="weights quantized to int8 with onnxruntime.quantization.quantize_dynamic; accuracy not checked -- "
        "validate on your evaluation set before publishing a quantized artifact"
        + ("; dynamic int8 kernels mostly run on CPU, so on CUDA the latency figure is rarely a gain" if on_gpu else ""),
    )


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
) -> GateReport:
    """Load, check, smoke-test and measure `model_path` against `spec`.

    Raises InputError for bad input (missing/corrupt file, no signature, signature
    mismatch); returns a GateReport whose `passed` is False for a failed gate.
    `providers` overrides the automatic CUDA-then-CPU choice.
    """
    import onnxruntime as ort

    label = display_path(model_path)
    if not model_path.is_file():
        raise InputError([Problem(label, "", "no such file; expected an ONNX model file")])
    if spec.artifact.format != "onnx":
        raise InputError(
            [Problem(spec.name, "artifact.format", f"is {spec.artifact.format}; the gate checks onnx artifacts only")]
        )
    if spec.signature is None:
        raise InputError(
            [Problem(spec.name, "signature", "the spec declares no signature; expected signature.inputs and signature.outputs to gate against")]
        )
    if min_iterations < 1 or max_iterations < min_iterations:
        raise InputError([Problem("gate", "iterations", f"min {min_iterations}, max {max_iterations}; expected 1 <= min <= max")])

    model_bytes = model_path.read_bytes()
    sha256 = hashlib.sha256(model_bytes).hexdigest()
    rss_before = _process_rss_mib()
    session, requested, provider_note = _open_session(model_bytes, label, providers)
    del model_bytes
    peak_rss = max(rss_before, _process_rss_mib())

    problems = signature_problems(session, spec, label)
    if problems:
        raise InputError(problems)

    def sample_memory() -> None:
        nonlocal peak_rss
        peak_rss = max(peak_rss, _process_rss_mib())

    output_names = [arg.name for arg in session.get_outputs()]
    declared_outputs = {tensor.name: tensor for tensor in spec.signature.outputs}
    failures: list[str] = []
    latency: list[LatencyStats] = []
    sizes = batch_sizes_for(spec)
    for batch_size in sizes:
        feeds = synthetic_inputs(spec.signature.inputs, batch_size, np.random.default_rng(seed))
        try:
            outputs = session.run(output_names, feeds)
        except Exception as error:  # noqa: BLE001 - onnxruntime raises its own pybind exception types
            failures.append(f"inference failed at batch {batch_size}: {str(error).splitlines()[0]}")
            break
        sample_memory()
        output_failures = _output_failures(outputs, output_names, declared_outputs, batch_size, seed)
        if output_failures:
            failures.extend(output_failures)
            break
        latencies = _time_calls(
            lambda: session.run(output_names, feeds),
            sample_memory,
            warmup=warmup,
            min_iterations=min_iterations,
            max_iterations=max_iterations,
            time_budget_s=time_budget_s,
        )
        latency.append(_stats(batch_size, latencies))

    used = session.get_providers()[0]
    gpu_mib = _gpu_memory_mib() if used == "CUDAExecutionProvider" else None
    method = "process RSS (psutil) sampled after load and after each inference, minus RSS before load"
    if used == "CUDAExecutionProvider":
        method += (
            "; device memory of this process from nvidia-smi after the runs"
            if gpu_mib is not None
            else "; device memory not measured (nvidia-smi unavailable)"
        )
    memory = MemoryStats(
        peak_rss_mib=round(peak_rss, 2),
        rss_delta_mib=round(max(0.0, peak_rss - rss_before), 2),
        gpu_memory_mib=gpu_mib,
        method=method,
    )

    slo = spec.monitoring.latency_p95_ms
    batch_one = next((stats for stats in latency if stats.batch_size == 1), None)
    if batch_one is not None and batch_one.p95_ms > slo:
        failures.append(
            f"p95 latency at batch 1 is {batch_one.p95_ms:.3f} ms on {used}; expected at most "
            f"{slo:g} ms (monitoring.latency_p95_ms)"
        )

    advice = None
    if quantize_advice and batch_one is not None:
        advice = _quantization_advice(model_path, spec, session.get_providers(), batch_one.p50_ms, seed, max_iterations)

    return GateReport(
        model=spec.name,
        team=spec.team,
        model_file=label,
        sha256=sha256,
        size_bytes=model_path.stat().st_size,
        onnxruntime_version=ort.__version__,
        providers_requested=requested,
        provider=used,
        provider_note=provider_note,
        seed=seed,
        batch_sizes=sizes,
        latency=latency,
        memory=memory,
        latency_p95_slo_ms=slo,
        passed=not failures,
        failures=failures,
        quantization=advice,
        measured_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
