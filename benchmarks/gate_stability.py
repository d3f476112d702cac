"""How stable the gate's latency verdict is on this machine's wall clock, for a model whose SLO is its own p95.

Each group measures a model's batch-1 p95 once (the probe), sets the SLO to it, and runs
the gate `--runs` times. The verdict interval assumes the timed calls of one run come from
one distribution; on a shared machine the distribution itself moves between runs (another
process, CPU frequency), and then a run can be conclusive in either direction. The script
prints the verdicts per group, how far each run's p95 moved from the probe, and the number
of groups whose runs gave both pass and fail. tests/test_gate_verdict.py checks the
statistics with a known latency distribution; this is the measurement on real time.

    uv run python benchmarks/gate_stability.py [--groups 5] [--runs 10] [--iterations 300]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from inferstack.gate import run_gate  # noqa: E402
from inferstack.spec.model import ModelSpec  # noqa: E402
from tests.onnx_models import save, wide_model, wide_spec_document  # noqa: E402


def run(groups: int, runs: int, iterations: int) -> dict[str, object]:
    """Verdict counts per group and the run-to-run p95 spread, for SLO = the probe's p95."""
    results: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="inferstack-gate-stability-") as folder:
        model = save(wide_model(), Path(folder) / "model.onnx")
        document = wide_spec_document()
        for _ in range(groups):
            probe = run_gate(model, ModelSpec.model_validate(document), min_iterations=iterations, max_iterations=iterations)
            batch_one = probe.latency_at(1)
            assert batch_one is not None
            document["monitoring"]["latency_p95_ms"] = batch_one.p95_ms
            spec = ModelSpec.model_validate(document)
            reports = [run_gate(model, spec, min_iterations=iterations, max_iterations=iterations) for _ in range(runs)]
            p95s = [report.latency_verdict.p95_ms for report in reports if report.latency_verdict is not None]
            verdicts = Counter(report.verdict for report in reports)
            results.append({
                "slo_ms": round(batch_one.p95_ms, 4),
                "verdicts": dict(verdicts),
                "both_pass_and_fail": verdicts["pass"] > 0 and verdicts["fail"] > 0,
                "run_p95_over_probe": [round(min(p95s) / batch_one.p95_ms, 3), round(max(p95s) / batch_one.p95_ms, 3)],
            })
    return {
        "groups": groups, "runs_per_group": runs, "iterations": iterations,
        "groups_with_both": sum(1 for result in results if result["both_pass_and_fail"]),
        "per_group": results,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--groups", type=int, default=5)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--iterations", type=int, default=300)
    arguments = parser.parse_args()
    outcome = run(arguments.groups, arguments.runs, arguments.iterations)
    per_group: list[dict[str, object]] = outcome["per_group"]  # pyright: ignore[reportAssignmentType]
    for index, group in enumerate(per_group):
        print(f"group {index}: SLO {group['slo_ms']} ms, verdicts {group['verdicts']}, run p95 / probe {group['run_p95_over_probe']}")
    print(f"groups whose runs gave both pass and fail: {outcome['groups_with_both']} of {outcome['groups']}")
    print(json.dumps(outcome, indent=2))


if __name__ == "__main__":
    main()
