"""How long the real program takes under mocks for many models (the offline plan's main cost).

Usage: uv run python benchmarks/bench_program_mocks.py [MODELS] [STACK]
Prints the resource count, the seconds per run, and resources per model.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
GPU_SHAPES = (
    {"gpu_type": "none"},
    {"gpu_type": "t4", "gpus_per_replica": 1, "gpu_memory_gib": 4, "shareable": True},
    {"gpu_type": "l4", "gpus_per_replica": 1, "gpu_memory_gib": 12},
    {"gpu_type": "a10g", "gpus_per_replica": 1, "gpu_memory_gib": 16},
)
METRICS = ("concurrency", "rps", "gpu-utilization", "latency")


def write_specs(directory: Path, count: int) -> None:
    """`count` varied spec files across 20 teams."""
    for index in range(count):
        accelerator = GPU_SHAPES[index % len(GPU_SHAPES)]
        metric = METRICS[index % len(METRICS)]
        if accelerator["gpu_type"] == "none" and metric == "gpu-utilization":
            metric = "rps"
        document = {
            "name": f"model-{index:04d}",
            "team": f"team-{index % 20:02d}",
            "owner": "owner@example.com",
            "description": "Benchmark model.",
            "artifact": {"format": "onnx", "version": "1.0.0"},
            "accelerator": accelerator,
            "signature": {
                "inputs": [{"name": "x", "dtype": "float32", "shape": [None, 4], "columns": ["a", "b", "c", "d"]}],
                "outputs": [{"name": "y", "dtype": "float32", "shape": [None, 1]}],
            },
            "serving": {"resources": {"cpu": 2, "memory_gib": 4}, "batching": {"max_batch_size": 8, "max_latency_ms": 10}},
            "scaling": {"min_replicas": 1 + index % 3, "max_replicas": 4, "metric": metric, "target": 50},
            "monitoring": {
                "runbook_url": "https://runbooks.example.com/x",
                "alert_route": "slack:#x",
                **({"drift": {"numeric": {"statistic": "psi", "warn": 0.1, "page": 0.2}}} if index % 2 else {}),
            },
        }
        (directory / f"model_{index:04d}.yaml").write_text(yaml.safe_dump(document), encoding="utf-8")


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    stack = sys.argv[2] if len(sys.argv) > 2 else "prod"
    started = time.perf_counter()
    from inferstack.mocks import run_under_mocks

    imported = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        write_specs(Path(folder), count)
        first = time.perf_counter()
        records = run_under_mocks(stack, Path(folder), REPO_ROOT / "stacks")
        done = time.perf_counter()
    print(f"models={count} stack={stack} resources={len(records)} per_model={len(records) / count:.2f}")
    print(f"import_s={imported - started:.2f} run_s={done - first:.2f} total_s={done - started:.2f} (budget 15 s on 2 cores)")


if __name__ == "__main__":
    main()
