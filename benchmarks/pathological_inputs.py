"""Time and peak memory of `inferstack validate` on each pathological YAML case, against the targets.

Each case (tests/pathological_yaml.py: deep nesting, 300,000-item lists, a 5 MiB file, an
alias bomb) runs in its own process. Time is counted beyond a bare start of the same CLI,
measured just before on the same machine; memory is the whole process's peak RSS.
Targets: 5 s and 200 MiB per case. The tests check the exit code, the message and the
memory; time is measured here, since a test must not fail because the machine is busy.

    uv run python benchmarks/pathological_inputs.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.pathological_yaml import LARGE_CASES, TARGET_MEBIBYTES, TARGET_SECONDS, validate_case  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3, help="runs per case; the slowest is reported")
    arguments = parser.parse_args()
    print(f"{'case':<22} {'exit':>4} {'seconds beyond start':>21} {'bare start':>10} {'peak MiB':>9}  target met")
    missed = 0
    for name in sorted(LARGE_CASES):
        runs = []
        for _ in range(arguments.repeat):
            with tempfile.TemporaryDirectory(prefix="inferstack-pathological-") as folder:
                runs.append(validate_case(Path(folder), name))
        slowest = max(runs, key=lambda run: run.seconds - run.startup_seconds)
        beyond = slowest.seconds - slowest.startup_seconds
        peak = max(run.peak_mib for run in runs)
        met = beyond < TARGET_SECONDS and peak < TARGET_MEBIBYTES and all(run.returncode == 2 for run in runs)
        missed += not met
        print(f"{name:<22} {slowest.returncode:>4} {beyond:>21.2f} {slowest.startup_seconds:>10.2f} {peak:>9.0f}  {'yes' if met else 'NO'}")
    print(f"targets: {TARGET_SECONDS:g} s beyond a bare start, {TARGET_MEBIBYTES} MiB peak; cases missing them: {missed} of {len(LARGE_CASES)}")


if __name__ == "__main__":
    main()
