"""Fit-class breadth against managed node groups and steady cost, on generated fleets.

Each fleet (benchmarks/fleet.py: sizes 50 and 200, seeds 1, 4 and 7, stacks dev, staging
and prod) is compiled as the plan compiles it at each `inferstack:gpu.fit_classes`
breadth (smaller, larger): the default (3, 2), (1, 1) and (0, 0), the preferred class
only. It reports the managed node groups the plan would create (one per node pool, plus
the system node group; EKS's default quota is 30 per cluster) and the steady monthly cost,
relative to the default breadth. Deterministic: no timings.

    uv run python benchmarks/fit_classes.py [--sizes 50,200] [--seeds 1,4,7] [--record]

`--record` writes benchmarks/results/fit_classes.json, which docs/cost-model.md's generated
fit-classes section summarises (inferstack/docs_sections.py); tests/test_fit_classes.py
recomputes one fleet and compares it with the record.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import cast

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.fleet import generate_fleet  # noqa: E402
from inferstack.compiler import compile_blueprint  # noqa: E402
from inferstack.cost import estimate  # noqa: E402
from inferstack.spec import ModelSpec, load_environment  # noqa: E402
from inferstack.spec.loader import LoadedSpec  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
BREADTHS = ((3, 2), (1, 1), (0, 0))
STACKS = ("dev", "staging", "prod")
RESULT = REPO / "benchmarks" / "results" / "fit_classes.json"


def measure(stack: str, size: int, seed: int) -> dict[str, object]:
    """Node groups and steady $/month of one generated fleet at every breadth."""
    config = load_environment(REPO / "stacks", stack)
    loaded = [LoadedSpec(ModelSpec.model_validate(document), f"fleet/{document['name']}.yaml") for document in generate_fleet(size, seed)]
    rows: list[dict[str, object]] = []
    for smaller, larger in BREADTHS:
        blueprint = compile_blueprint(loaded, config.with_fit_classes(smaller, larger))
        rows.append({
            "smaller": smaller, "larger": larger,
            "node_groups": len(blueprint.node_pools) + 1,
            "steady_monthly_usd": round(estimate(blueprint).monthly_usd, 2),
        })
    return {"stack": stack, "models": size, "seed": seed, "breadths": rows}


def summarise(fleets: list[dict[str, object]]) -> list[dict[str, object]]:
    """Per breadth: node groups (fewest, most) and steady cost against the default breadth (best, worst, median ratio)."""
    summary: list[dict[str, object]] = []
    for index, (smaller, larger) in enumerate(BREADTHS):
        groups: list[int] = []
        ratios: list[float] = []
        for fleet in fleets:
            rows = cast(list[dict[str, float]], fleet["breadths"])
            groups.append(int(rows[index]["node_groups"]))
            ratios.append(rows[index]["steady_monthly_usd"] / rows[0]["steady_monthly_usd"])
        ratios.sort()
        summary.append({
            "smaller": smaller, "larger": larger,
            "node_groups_min": min(groups), "node_groups_max": max(groups),
            "cost_ratio_min": round(ratios[0], 4), "cost_ratio_median": round(ratios[len(ratios) // 2], 4),
            "cost_ratio_max": round(ratios[-1], 4),
        })
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="50,200")
    parser.add_argument("--seeds", default="1,4,7")
    parser.add_argument("--record", action="store_true", help=f"write {RESULT.relative_to(REPO)}")
    arguments = parser.parse_args()
    sizes = [int(item) for item in arguments.sizes.split(",")]
    seeds = [int(item) for item in arguments.seeds.split(",")]
    fleets = [measure(stack, size, seed) for stack in STACKS for size in sizes for seed in seeds]
    for fleet in fleets:
        rows = cast(list[dict[str, float]], fleet["breadths"])
        cells = " | ".join(
            f"({row['smaller']:.0f},{row['larger']:.0f}) {row['node_groups']:>3.0f} groups "
            f"${row['steady_monthly_usd']:>12,.0f} x{row['steady_monthly_usd'] / rows[0]['steady_monthly_usd']:.4f}"
            for row in rows
        )
        print(f"{fleet['stack']:<8} {fleet['models']:>4} models seed {fleet['seed']}: {cells}")
    summary = summarise(fleets)
    for row in summary:
        print(
            f"breadth ({row['smaller']}, {row['larger']}): {row['node_groups_min']}-{row['node_groups_max']} node groups, "
            f"steady cost x{row['cost_ratio_min']}-x{row['cost_ratio_max']} of the default (median x{row['cost_ratio_median']})"
        )
    if arguments.record:
        record = {
            "command": f"uv run python benchmarks/fit_classes.py --sizes {arguments.sizes} --seeds {arguments.seeds} --record",
            "fleets": fleets,
            "summary": summary,
        }
        RESULT.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {RESULT.relative_to(REPO)}")


if __name__ == "__main__":
    main()
