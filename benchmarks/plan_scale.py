"""Time `inferstack plan` at 10, 100 and 1,000 models: wall time, peak memory, resources, and where the time goes.

Each size runs in a fresh process (so peak memory and import time are its own), on a
generated fleet (benchmarks/fleet.py) against the prod stack. Prints a table, the
1,000/100 time ratio, and the share of our code (load, compile, cost, policy,
render, report, write) versus the Pulumi program under mocks.

    uv run python benchmarks/plan_scale.py [--sizes 10 100 1000] [--stack prod]

Targets (README): 100 models <= 3 s end to end; 1,000 models <= 15 s and <= 1 GiB;
1,000/100 ratio <= 10; our code <= 25% of plan time.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.fleet import generate_fleet, write_fleet  # noqa: E402

CHILD = """
import json, resource, sys, time
start = time.perf_counter()
from pathlib import Path
from inferstack.plan.runner import run_plan
imported = time.perf_counter()
result = run_plan(sys.argv[1], specs_dir=Path(sys.argv[2]), stacks_dir=Path(sys.argv[3]), out_dir=Path(sys.argv[4]))
done = time.perf_counter()
print(json.dumps({
    "import_s": imported - start,
    "plan_s": done - imported,
    "phases": result.timings.phases,
    "ours_s": result.timings.ours,
    "resources": result.document.summary["resources"],
    "components": result.document.summary["components"],
    "models": result.document.summary["models"],
    "exit_code": result.exit_code,
    "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}))
"""


def run_size(models: int, stack: str, workdir: Path) -> dict[str, float]:
    specs = workdir / f"fleet-{models}"
    write_fleet(generate_fleet(models), specs)
    out = workdir / f"plan-{models}"
    started = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-c", CHILD, stack, str(specs), str(REPO / "stacks"), str(out)],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    wall = time.perf_counter() - started
    if completed.returncode != 0:
        sys.exit(f"plan of {models} models failed:\n{completed.stderr[-3000:]}")
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    result["wall_s"] = wall
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--stack", default="prod", help="Stack to plan against (prod allows every GPU type the fleet uses).")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="inferstack-plan-scale-"))
    results: dict[int, dict[str, float]] = {}
    try:
        for size in args.sizes:
            results[size] = run_size(size, args.stack, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    print(f"{'models':>7} {'wall s':>7} {'import s':>8} {'plan s':>7} {'engine s':>8} {'ours s':>7} {'ours %':>6} {'resources':>9} {'peak MiB':>8}")
    for size, result in results.items():
        engine = result["phases"].get("pulumi program under mocks", 0.0)
        ours_share = 100 * result["ours_s"] / result["plan_s"] if result["plan_s"] else 0.0
        print(
            f"{size:>7} {result['wall_s']:>7.2f} {result['import_s']:>8.2f} {result['plan_s']:>7.2f} {engine:>8.2f} "
            f"{result['ours_s']:>7.2f} {ours_share:>5.1f}% {int(result['resources']):>9} {result['peak_rss_mib']:>8.0f}"
        )
    for size, result in results.items():
        phases = ", ".join(f"{name} {seconds:.2f}s" for name, seconds in result["phases"].items())
        print(f"  {size} models: {phases}")
    if 100 in results and 1000 in results:
        print(f"1,000/100 wall-time ratio: {results[1000]['wall_s'] / results[100]['wall_s']:.2f} (target <= 10)")
        print(f"1,000/100 plan-time ratio: {results[1000]['plan_s'] / results[100]['plan_s']:.2f}")


if __name__ == "__main__":
    main()
