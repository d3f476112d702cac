"""Size generated fleets and print placement cost against the naive figure and the lower bound.

For a reference fleet (200 models by default) and a 1,000-model fleet from
benchmarks/fleet.py, compiled for each stack in stacks/:

- placement / naive   (target <= 0.40): steady monthly cost of the placement over
  every replica on its own on-demand node of the cheapest fitting type;
- placement / lower bound (target <= 1.10): over the true lower bound of
  inferstack.cost (best resource-weighted bound); the weaker GPU-memory-only bound
  is printed too;
- floor = lower bound / naive: the best placement / naive ratio any packing could
  reach under the environment's spot policy; where it is above 0.40, the naive
  target is out of reach by policy (e.g. on-demand-base), not by packing;
- spot fallback +$/mo: what the steady cost rises by if every thinly diversified
  spot pool ran on its on-demand fallback (spot.min_capacity_pools);
- sizing time for 1,000 models (target <= 0.5 s): `place()` (right-sizing, capacity
  split, type choice, packing), best of 3 runs, on the `--timing-seed` fleet; the whole
  compile is printed too.

Every fleet size runs for each seed of `--seeds` (1-7 by default: one seed flatters or
wrongs a ratio by a few percent), one line per environment and seed, then the range over
the seeds per environment.

    uv run python benchmarks/cost_fleet.py [--reference 200] [--large 1000] [--seeds 1-7] [--timing-seed 7]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.fleet import generate_fleet  # noqa: E402
from inferstack.compiler import compile_blueprint  # noqa: E402
from inferstack.constants import ENVIRONMENTS  # noqa: E402
from inferstack.cost import estimate  # noqa: E402
from inferstack.placement import PlacementRequest, place  # noqa: E402
from inferstack.pricing.catalog import load_catalog  # noqa: E402
from inferstack.spec import ModelSpec, load_environment  # noqa: E402
from inferstack.spec.loader import LoadedSpec  # noqa: E402
from inferstack.spec.resolve import resolve_for_environment  # noqa: E402


def _fleet(count: int, seed: int) -> list[LoadedSpec]:
    return [LoadedSpec(ModelSpec.model_validate(document), f"fleet/{document['name']}.yaml") for document in generate_fleet(count, seed)]


def _best_of(runs: int, action: object) -> float:
    timings: list[float] = []
    for _ in range(runs):
        start = time.perf_counter()
        action()  # type: ignore[operator]
        timings.append(time.perf_counter() - start)
    return min(timings)


HEADER = (
    f"{'env':8} {'seed':>4} {'pools':>5} {'steady $/mo':>13} {'naive':>13} {'lower bound':>13} {'place/naive':>11} "
    f"{'floor':>6} {'place/LB':>9} {'place/GPU-GiB LB':>16} {'peak $/mo':>12} {'spot fallback +$/mo':>19}"
)


def report(count: int, seed: int, timing: bool) -> dict[str, tuple[float, float]]:
    """Print one line per environment for a fleet of `count` models; (place/naive, place/LB) per environment."""
    loaded = _fleet(count, seed)
    ratios: dict[str, tuple[float, float]] = {}
    for environment in ENVIRONMENTS:
        config = load_environment(ROOT / "stacks", environment)
        blueprint = compile_blueprint(loaded, config)
        cost = estimate(blueprint)
        ratios[environment] = (cost.monthly_usd / cost.naive_monthly_usd, cost.monthly_usd / cost.lower_bound_monthly_usd)
        print(
            f"{environment:8} {seed:4d} {len(blueprint.node_pools):5d} {cost.monthly_usd:13,.0f} {cost.naive_monthly_usd:13,.0f} "
            f"{cost.lower_bound_monthly_usd:13,.0f} {cost.monthly_usd / cost.naive_monthly_usd:11.3f} "
            f"{cost.lower_bound_monthly_usd / cost.naive_monthly_usd:6.3f} "
            f"{cost.monthly_usd / cost.lower_bound_monthly_usd:9.3f} {cost.monthly_usd / cost.gpu_memory_bound_monthly_usd:16.3f} "
            f"{cost.peak_monthly_usd:12,.0f} {cost.spot_fallback_extra_monthly_usd:19,.0f}"
        )
        if timing:
            catalog = load_catalog(config.region, config.price_overrides, config.spot_discount_overrides)
            requests = [
                PlacementRequest(spec, item.source)
                for item in loaded
                if (spec := resolve_for_environment(item.spec, environment, item.source)) is not None
            ]
            sizing = _best_of(3, lambda: place(requests, config, catalog))
            whole = _best_of(3, lambda: compile_blueprint(loaded, config, catalog))
            print(f"{'':8} sizing (place) {sizing:.3f} s   whole compile {whole:.3f} s   (target sizing <= 0.5 s)")
    return ratios


def report_seeds(count: int, seeds: list[int], timing_seed: int | None) -> None:
    """Every seed's lines for a fleet of `count` models, then the range of each ratio over the seeds."""
    print(f"\nfleet of {count} models, seeds {', '.join(str(seed) for seed in seeds)}")
    print(HEADER)
    by_seed = {seed: report(count, seed, timing=seed == timing_seed) for seed in seeds}
    for environment in ENVIRONMENTS:
        naive = [by_seed[seed][environment][0] for seed in seeds]
        bound = [by_seed[seed][environment][1] for seed in seeds]
        print(
            f"{environment:8} over {len(seeds)} seeds: place/naive {min(naive):.3f}-{max(naive):.3f}, "
            f"place/LB {min(bound):.3f}-{max(bound):.3f}"
        )


def _seeds(text: str) -> list[int]:
    if "-" in text:
        low, high = text.split("-", 1)
        return list(range(int(low), int(high) + 1))
    return [int(part) for part in text.split(",")]


def main() -> None:
    """Command line."""
    parser = argparse.ArgumentParser(description="Placement cost vs naive and lower bound on generated fleets.")
    parser.add_argument("--reference", type=int, default=200, help="Models in the reference fleet (>= 200).")
    parser.add_argument("--large", type=int, default=1000, help="Models in the timed fleet.")
    parser.add_argument("--seeds", default="1-7", help="Fleet seeds: a range (1-7) or a list (3,7).")
    parser.add_argument("--timing-seed", type=int, default=7, help="The seed whose large fleet is timed.")
    arguments = parser.parse_args()
    seeds = _seeds(arguments.seeds)
    report_seeds(arguments.reference, seeds, None)
    report_seeds(arguments.large, seeds, arguments.timing_seed if arguments.timing_seed in seeds else None)


if __name__ == "__main__":
    main()
