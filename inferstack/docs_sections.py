"""Generated sections of README.md and docs/: figures that come from the code, never typed by hand.

A generated section sits between two markers,

    <!-- generated: NAME -->
    ...
    <!-- end generated: NAME -->

and its body is what the generator NAME returns. tests/test_docs_generated.py renders every
section and compares it with the file, so a figure cannot go stale silently. Regenerate with

    uv run python -m inferstack.docs_sections --write

Figures from real plans (resource counts, costs, a canary's diffs) are computed here from the
shipped model_specs/ and stacks/. Timings and install sizes depend on the machine, so they are
rendered from the results a benchmark recorded (benchmarks/results/*.json, written by the
benchmark's --record option): re-running the benchmark updates the JSON, and this module the docs.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
RESULTS = REPO_ROOT / "benchmarks" / "results"
SECTION = re.compile(r"(<!-- generated: (?P<name>[a-z0-9-]+) -->\n)(?P<body>.*?)(<!-- end generated: (?P=name) -->)", re.S)
STACKS = ("dev", "staging", "prod")


def _usd(value: float) -> str:
    return f"${value:,.0f}"


@contextmanager
def _inputs_copy() -> Iterator[Path]:
    """A temporary copy of the shipped model_specs/ and stacks/."""
    with tempfile.TemporaryDirectory(prefix="inferstack-docs-") as folder:
        root = Path(folder)
        shutil.copytree(REPO_ROOT / "model_specs", root / "model_specs", ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copytree(REPO_ROOT / "stacks", root / "stacks")
        yield root


def _plan(root: Path, stack: str, out: str, baseline: str | None = None) -> tuple[dict[str, Any], str, dict[str, Any]]:
    """(plan.json summary, report.md, cost.json) of one plan in `root`."""
    from inferstack.plan.runner import run_plan

    run_plan(
        stack,
        specs_dir=root / "model_specs",
        stacks_dir=root / "stacks",
        out_dir=root / out,
        baseline_path=root / baseline / "plan.json" if baseline else None,
    )
    summary = json.loads((root / out / "plan.json").read_text(encoding="utf-8"))["summary"]
    cost = json.loads((root / out / "cost.json").read_text(encoding="utf-8"))
    return summary, (root / out / "report.md").read_text(encoding="utf-8"), cost


# --- README: the shipped stacks -----------------------------------------------------------------------


def shipped_stacks() -> str:
    """Resource counts, cost and policy results of the shipped stacks' plans."""
    lines = [
        "| stack | resources | components | models | node pools | steady $/month | expected $/month | peak $/month | "
        "Savings Plan $/month | budget $/month | policy violations (mandatory) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    with _inputs_copy() as root:
        for stack in STACKS:
            summary, _, cost = _plan(root, stack, f"out-{stack}")
            policy = summary.get("policy", {})
            lines.append(
                f"| {stack} | {summary['resources']} | {summary['components']} | {summary['models']} | {summary['node_pools']} | "
                f"{_usd(cost['total_monthly_usd'])} | {_usd(cost['total_expected_monthly_usd'])} | "
                f"{_usd(cost['total_peak_monthly_usd'])} | -{_usd(cost['savings_plan']['recommended_monthly_saving_usd'])} | "
                f"{_usd(cost['budget']['monthly_usd'])} | {policy.get('violations', 0)} ({policy.get('mandatory', 0)}) |"
            )
    return "\n".join(lines) + "\n"


# --- README: recorded measurements --------------------------------------------------------------------


def _recorded(name: str) -> dict[str, Any]:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text(encoding="utf-8"))


def install_profiles() -> str:
    """The install-profile table from benchmarks/results/install_profiles.json."""
    recorded = _recorded("install_profiles")
    lines = [
        f"Measured {recorded['date']} on {recorded['machine']} (`{recorded['command']}`): each profile installed from "
        "uv.lock into a fresh virtual environment with an empty uv cache, so the time includes downloading every wheel.",
        "",
        "| profile | command | installed size | cold install |",
        "|---|---|---:|---:|",
    ]
    for row in recorded["profiles"]:
        lines.append(f"| {row['profile']} | `{row['command']}` | {row['bytes'] / 1e6:,.0f} MB | {row['seconds']:.0f} s |")
    return "\n".join(lines) + "\n"


def plan_speed() -> str:
    """The plan-speed table from benchmarks/results/plan_scale.json."""
    recorded = _recorded("plan_scale")
    lines = [
        f"Measured {recorded['date']} on {recorded['machine']} (`{recorded['command']}`); {recorded['note']}",
        "",
        "| models | `inferstack plan` end to end | plan (in process) | Pulumi program under mocks | our code | resources | peak memory |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in recorded["sizes"]:
        lines.append(
            f"| {row['models']:,} | {row['cli_s']} s | {row['plan_s']} s | {row['engine_s']} s | {row['ours_s']} s ({row['ours_share']}) | "
            f"{row['resources']:,} | {row['peak_mib']} MiB |"
        )
    return "\n".join(lines) + "\n"


def placement_optimum() -> str:
    """Placement against the exact MILP optimum, from benchmarks/results/placement_optimum.json."""
    recorded = _recorded("placement_optimum")
    unproven = recorded["fleets"] - recorded["proven"]
    bound = f"; {unproven} fleets counted against the solver's dual bound (time limit)" if unproven else ""
    return (
        f"Measured {recorded['date']} on {recorded['machine']} (`{recorded['command']}`): over "
        f"{recorded['fleets']} generated fleets, steady placement / exact optimum is **{recorded['worst']:.4f} worst** "
        f"({recorded['worst_fleet']}), {recorded['median']:.4f} median, {recorded['total_ratio']:.4f} over all fleets "
        f"together; {recorded['above_1_02']} fleets above 1.02 (target: worst <= 1.02){bound}.\n"
    )


# --- docs/rollouts.md: a canary from 10% to 100% -------------------------------------------------------

CANARY_STEPS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("PR 1: start the canary", "artifact: {format: onnx, version: 3.3.0}\nrollout: {strategy: canary, stable_version: 3.2.0, canary_percent: 10}",
     {"artifact": {"format": "onnx", "version": "3.3.0"}, "rollout": {"strategy": "canary", "stable_version": "3.2.0", "canary_percent": 10}}),
    ("PR 2: widen to 50%", "rollout: {strategy: canary, stable_version: 3.2.0, canary_percent: 50}",
     {"rollout": {"strategy": "canary", "stable_version": "3.2.0", "canary_percent": 50}}),
    ("PR 3: all traffic to the candidate", "rollout: {strategy: canary, stable_version: 3.2.0, canary_percent: 100}",
     {"rollout": {"strategy": "canary", "stable_version": "3.2.0", "canary_percent": 100}}),
    ("PR 4: finish", "rollout: {strategy: direct}   # artifact stays 3.3.0",
     {"rollout": {"strategy": "direct"}}),
)
CANARY_MODEL = "fraud-scorer"
CANARY_STACK = "staging"


def _between(text: str, start: str, end: str) -> str:
    begin = text.index(start) + len(start)
    stop = text.find(end, begin)
    return text[begin : stop if stop >= 0 else len(text)].strip()


def _model_row(report: str, model: str) -> list[str]:
    models = report[report.index("### Models") :]
    row = next(line for line in models.splitlines() if line.startswith(f"| {model} |"))
    return [cell.strip() for cell in row.strip("|").split("|")]


def canary_walkthrough() -> str:
    """fraud-scorer in staging taken from direct to a canary at 10%, 50%, 100%, then direct on 3.3.0: each step's report."""
    prefix = f"inferstack-{CANARY_STACK}-"
    parts: list[str] = []
    with _inputs_copy() as root:
        spec_path = root / "model_specs" / "fraud_scorer.yaml"
        _plan(root, CANARY_STACK, "step-0")
        for index, (title, snippet, change) in enumerate(CANARY_STEPS, start=1):
            document = yaml.safe_load(spec_path.read_text(encoding="utf-8"))
            document.update(change)
            spec_path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
            _, report, _ = _plan(root, CANARY_STACK, f"step-{index}", f"step-{index - 1}")
            row = _model_row(report, CANARY_MODEL)
            verdict = next(line for line in report.splitlines() if line.startswith("**"))
            changes = _between(report, "### Changes against the baseline", "### Cost").replace(prefix, "…")
            parts += [
                f"**{title}.**",
                "",
                "```yaml",
                snippet,
                "```",
                "",
                f"{verdict} Traffic: {row[5]}; {CANARY_MODEL} costs {row[6]} steady, {row[7]} at peak.",
                "",
                changes,
                "",
            ]
    return "\n".join(parts).rstrip() + "\n"


# --- docs/cost-model.md: fit-class breadth against node groups and cost -------------------------------


FIT_CLASS_BREADTHS = ((3, 2), (1, 1), (0, 0))
"""(smaller, larger) settings of gpu.fit_classes compared: the default, narrow, and the preferred class only."""


def fit_classes() -> str:
    """Managed node groups and cost of the shipped fleet per stack at each fit-class breadth (compiled, no plan)."""
    from inferstack.compiler import compile_blueprint
    from inferstack.cost import estimate
    from inferstack.spec import load_environment, load_specs

    loaded = load_specs([REPO_ROOT / "model_specs"])
    lines = [
        "| stack | gpu.fit_classes (smaller, larger) | managed node groups | steady $/month | expected $/month | peak $/month |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for stack in STACKS:
        config = load_environment(REPO_ROOT / "stacks", stack)
        for smaller, larger in FIT_CLASS_BREADTHS:
            blueprint = compile_blueprint(loaded, config.with_fit_classes(smaller, larger))
            cost = estimate(blueprint)
            default = " (default)" if (smaller, larger) == FIT_CLASS_BREADTHS[0] else ""
            # One managed node group per GPU/CPU node pool, plus the cluster's system node group.
            lines.append(
                f"| {stack} | {smaller}, {larger}{default} | {len(blueprint.node_pools) + 1} | {_usd(cost.monthly_usd)} | "
                f"{_usd(cost.expected_monthly_usd)} | {_usd(cost.peak_monthly_usd)} |"
            )
    return "\n".join(lines) + "\n"


def fit_classes_fleets() -> str:
    """Fit-class breadth on generated fleets, from benchmarks/results/fit_classes.json (benchmarks/fit_classes.py)."""
    recorded = _recorded("fit_classes")
    fleets = recorded["fleets"]
    lines = [
        f"Generated fleets (`{recorded['command']}`): {len(fleets)} fleets of "
        f"{' and '.join(str(size) for size in sorted({fleet['models'] for fleet in fleets}))} models on the dev, staging "
        "and prod stacks; steady cost relative to the default breadth of the same fleet.",
        "",
        "| gpu.fit_classes (smaller, larger) | managed node groups | steady cost vs default: median | worst |",
        "|---|---:|---:|---:|",
    ]
    for row in recorded["summary"]:
        lines.append(
            f"| {row['smaller']}, {row['larger']} | {row['node_groups_min']}–{row['node_groups_max']} | "
            f"+{(row['cost_ratio_median'] - 1) * 100:.1f}% | +{(row['cost_ratio_max'] - 1) * 100:.1f}% |"
        )
    return "\n".join(lines) + "\n"


GENERATORS: dict[str, Callable[[], str]] = {
    "shipped-stacks": shipped_stacks,
    "install-profiles": install_profiles,
    "plan-speed": plan_speed,
    "placement-optimum": placement_optimum,
    "canary-walkthrough": canary_walkthrough,
    "fit-classes": fit_classes,
    "fit-classes-fleets": fit_classes_fleets,
}
DOCUMENTS = ("README.md", "docs/rollouts.md", "docs/cost-model.md")


def sections(text: str) -> dict[str, str]:
    """NAME -> body of every generated section in `text`."""
    return {match["name"]: match["body"] for match in SECTION.finditer(text)}


def regenerate(text: str, names: set[str] | None = None) -> str:
    """`text` with the named (default: all) generated sections rendered again."""

    def replace(match: re.Match[str]) -> str:
        name = match["name"]
        if names is not None and name not in names:
            return match.group(0)
        return f"{match.group(1)}{GENERATORS[name]()}{match.group(4)}"

    return SECTION.sub(replace, text)


def main(argv: list[str] | None = None) -> int:
    """Print which sections are stale, or rewrite them with --write."""
    parser = argparse.ArgumentParser(prog="python -m inferstack.docs_sections", description="Regenerate the docs' generated sections.")
    parser.add_argument("--write", action="store_true", help="rewrite the files (default: report stale sections, exit 1 if any)")
    options = parser.parse_args(argv)
    stale = []
    for name in DOCUMENTS:
        path = REPO_ROOT / name
        text = path.read_text(encoding="utf-8")
        fresh = regenerate(text)
        if fresh != text:
            stale.append(name)
            if options.write:
                path.write_text(fresh, encoding="utf-8")
    print(("rewrote " if options.write else "stale: ") + (", ".join(stale) or "nothing"))
    return 1 if stale and not options.write else 0


if __name__ == "__main__":
    raise SystemExit(main())
