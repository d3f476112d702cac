"""Cost of loading Python specs in a scrubbed child process (inferstack/spec/python_loader.py).

Prints the time to load model_specs/ with the child (one process for all Python spec files),
against importing the same modules in this process (what inferstack did before), and the ratio.
Run: uv run python benchmarks/bench_python_specs.py [ROUNDS]
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

from inferstack.spec import python_loader
from inferstack.spec import loader as spec_loader

ROOT = Path(__file__).resolve().parents[1]


def _median(rounds: int, child: bool) -> float:
    samples = []
    for _ in range(rounds):
        python_loader._cache.clear()
        original = spec_loader.describe_python_files
        if not child:
            spec_loader.describe_python_files = lambda files: {  # type: ignore[assignment]
                label: python_loader.describe_module(path, label) for path, label in files
            }
        try:
            started = time.perf_counter()
            spec_loader.load_specs([ROOT / "model_specs"])
            samples.append(time.perf_counter() - started)
        finally:
            spec_loader.describe_python_files = original  # type: ignore[assignment]
    return statistics.median(samples)


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    files = len(list((ROOT / "model_specs").glob("*.py")))
    in_process = _median(rounds, child=False)
    child = _median(rounds, child=True)
    print(f"model_specs/ ({files} Python spec files): in-process {in_process * 1000:.0f} ms, "
          f"child process {child * 1000:.0f} ms, +{(child - in_process) * 1000:.0f} ms ({child / in_process:.1f}x)")


if __name__ == "__main__":
    main()
