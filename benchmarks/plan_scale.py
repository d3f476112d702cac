"""Time `inferstack plan` at 10, 100 and 1,000 models: wall time, peak memory, resources, and where the time goes.

Each size runs in fresh processes (so peak memory and import time are their own), on a
generated fleet (benchmarks/fleet.py) against the prod stack, --repeat rounds over the
sizes, each figure its minimum over the rounds:
`cli s` is the real command (`python -m inferstack plan ...`) end to end; the other
columns come from an instrumented process that runs the same plan the same way and
reports its phases. Prints the 1,000/100 ratio and the share of our code (load,
compile, cost, policy, render, report, write) versus the Pulumi program under mocks.

    uv run python benchmarks/plan_scale.py [--sizes 10 100 1000] [--stack prod] [--repeat 3]

Targets (README): 100 models <= 3 s end to end; 1,000 models <= 15 s and <= 1 GiB;
1,000/100 ratio <= 10; our code <= 25% of plan time.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.fleet import generate_fleet, write_fleet  # noqa: E402
from inferstack.plan.runner import ENGINE_PHASE  # noqa: E402

# Mirrors `inferstack plan` (inferstack.cli.main): collector off for the process, no teardown at exit.
CHILD = """
import gc, json, resource, sys, time
gc.disable()
start = time.perf_counter()
from pathlib import Path
from typing import Any
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
from inferstack.batch_process import exit_without_teardown
exit_without_teardown(0)
"""


def _child_environment() -> dict[str, str]:
    """The benchmark's environment, as on a developer's machine: Python caches bytecode.

    Sandboxes and CI set PYTHONDONTWRITEBYTECODE; then our own ~80 modules are compiled
    from source in every process (~0.2 s) while site-packages has its .pyc files.
    """
    environment = dict(os.environ)
    environment.pop("PYTHONDONTWRITEBYTECODE", None)
    return environment


def _timed(command: list[str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    completed = subprocess.run(command, capture_output=True, text=True, cwd=REPO, check=False, env=_child_environment())
    return time.perf_counter() - started, completed


def _commands(models: int, stack: str, workdir: Path) -> tuple[list[str], list[str]]:
    """(instrumented child, real CLI) commands for a fleet of `models` written under `workdir`."""
    specs = workdir / f"fleet-{models}"
    write_fleet(generate_fleet(models), specs)
    out = workdir / f"plan-{models}"
    child = [sys.executable, "-c", CHILD, stack, str(specs), str(REPO / "stacks"), str(out)]
    cli = [sys.executable, "-m", "inferstack", "plan", "--stack", stack, "--specs", str(specs), "--stacks", str(REPO / "stacks"), "--out", str(out)]
    return child, cli


def run_once(models: int, child: list[str], cli: list[str]) -> tuple[dict[str, Any], float]:
    """One run of the instrumented child (its report, plus wall time) and one of the real CLI (wall time)."""
    wall, completed = _timed(child)
    if completed.returncode != 0:
        sys.exit(f"plan of {models} models failed:\n{completed.stderr[-3000:]}")
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    result["wall_s"] = wall
    cli_wall, completed = _timed(cli)
    if completed.returncode not in (0, 1):  # 1: the plan was written and has mandatory violations
        sys.exit(f"`inferstack plan` of {models} models failed:\n{completed.stderr[-3000:]}")
    return result, cli_wall


def summarize_runs(runs: list[dict[str, Any]], cli_walls: list[float]) -> dict[str, Any]:
    """Every figure is its own minimum over the runs (wall, import, each phase).

    That is the usual estimate of a cost on a machine whose speed drifts by a third from
    minute to minute; `ours_s` and the engine time are sums of those per-phase minima.
    """
    phases = {name: min(run["phases"][name] for run in runs) for name in runs[0]["phases"]}
    engine = phases.get(ENGINE_PHASE, 0.0)
    ours = sum(seconds for name, seconds in phases.items() if name != ENGINE_PHASE)
    return {
        "cli_s": min(cli_walls),
        "wall_s": min(run["wall_s"] for run in runs),
        "import_s": min(run["import_s"] for run in runs),
        "plan_s": engine + ours,
        "phases": phases,
        "ours_s": ours,
        "resources": runs[0]["resources"],
        "peak_rss_mib": max(run["peak_rss_mib"] for run in runs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--stack", default="prod", help="Stack to plan against (prod allows every GPU type the fleet uses).")
    parser.add_argument("--repeat", type=int, default=3, help="Runs per size; each figure is its minimum over them (shared machines are noisy).")
    parser.add_argument(
        "--record", action="store_true", help="write benchmarks/results/plan_scale.json (README's speed table is generated from it)"
    )
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="inferstack-plan-scale-"))
    results: dict[int, dict[str, Any]] = {}
    try:
        commands = {size: _commands(size, args.stack, workdir) for size in args.sizes}
        runs: dict[int, list[dict[str, Any]]] = {size: [] for size in args.sizes}
        cli_walls: dict[int, list[float]] = {size: [] for size in args.sizes}
        # Round robin over the sizes, so a slow spell of the machine hits every size alike.
        for _ in range(args.repeat):
            for size in args.sizes:
                result, cli_wall = run_once(size, *commands[size])
                runs[size].append(result)
                cli_walls[size].append(cli_wall)
        results = {size: summarize_runs(runs[size], cli_walls[size]) for size in args.sizes}
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    print(f"{'models':>7} {'cli s':>6} {'wall s':>7} {'import s':>8} {'plan s':>7} {'engine s':>8} {'ours s':>7} {'ours %':>6} {'resources':>9} {'peak MiB':>8}")
    for size, result in results.items():
        engine = result["phases"].get(ENGINE_PHASE, 0.0)
        ours_share = 100 * result["ours_s"] / result["plan_s"] if result["plan_s"] else 0.0
        print(
            f"{size:>7} {result['cli_s']:>6.2f} {result['wall_s']:>7.2f} {result['import_s']:>8.2f} {result['plan_s']:>7.2f} {engine:>8.2f} "
            f"{result['ours_s']:>7.2f} {ours_share:>5.1f}% {int(result['resources']):>9} {result['peak_rss_mib']:>8.0f}"
        )
    for size, result in results.items():
        phases = ", ".join(f"{name} {seconds:.2f}s" for name, seconds in result["phases"].items())
        print(f"  {size} models: {phases}")
    if 100 in results and 1000 in results:
        print(f"1,000/100 end-to-end ratio: {results[1000]['cli_s'] / results[100]['cli_s']:.2f} (target <= 10)")
        print(f"1,000/100 plan-time ratio: {results[1000]['plan_s'] / results[100]['plan_s']:.2f}")
    if args.record:
        _record(results, args)


def _record(results: dict[int, dict[str, Any]], args: argparse.Namespace) -> None:
    """benchmarks/results/plan_scale.json, rendered into README.md by inferstack.docs_sections."""
    import platform

    sizes = []
    for size, result in results.items():
        share = 100 * result["ours_s"] / result["plan_s"] if result["plan_s"] else 0.0
        sizes.append(
            {
                "models": size,
                "cli_s": f"{result['cli_s']:.1f}",
                "plan_s": f"{result['plan_s']:.1f}",
                "engine_s": f"{result['phases'].get(ENGINE_PHASE, 0.0):.1f}",
                "ours_s": f"{result['ours_s']:.2f}",
                "ours_share": f"{share:.0f}%",
                "resources": int(result["resources"]),
                "peak_mib": round(result["peak_rss_mib"]),
            }
        )
    record = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"a {os.cpu_count()}-core {platform.machine()} machine",
        "command": f"uv run python benchmarks/plan_scale.py --repeat {args.repeat} --stack {args.stack} --record",
        "note": f"fleets from benchmarks/fleet.py, {args.stack} stack, every run in a fresh process, each figure its minimum over {args.repeat} rounds.",
        "sizes": sizes,
    }
    path = REPO / "benchmarks" / "results" / "plan_scale.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {path.relative_to(REPO)}")


if __name__ == "__main__":
    main()
