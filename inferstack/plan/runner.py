"""`inferstack plan`: the offline plan of one stack, end to end.

Load and compile the specs, run the real Pulumi program under mocks (recording
every resource), evaluate the policy pack, estimate cost, render the Kubernetes
manifests and the report, and write everything at once. Bad input is found
before anything is written; outputs are staged in a temporary folder and moved
into place only when all of them exist.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from inferstack.batch_process import garbage_collection_paused
from inferstack.blueprint import Blueprint, ModelDeployment
from inferstack.compiler import compile_blueprint
from inferstack.cost import CostEstimate, estimate
from inferstack.plan.diff import PlanDiff, diff_plans
from inferstack.plan.document import PlanDocument, PlanResource, dumps, load_plan, summarize
from inferstack.plan.manifests import render_manifest_files
from inferstack.plan.disruption import find_disruptions
from inferstack.plan.redact import redact_inputs, register_secret_values
from inferstack.plan.report import FULL_REPORT_FILE, ModelRow, cost_summary, disruption_section, fit_report, render_report
from inferstack.policy.checkov import CheckovReport, CheckovUnavailable, run_checkov
from inferstack.policy.evaluate import PolicyReport, evaluate
from inferstack.policy.model import CostFigures, PolicyContext, PolicyResource
from inferstack.problems import InputError, Problem, display_path
from inferstack.readiness import ReadinessReport, context_for, run_readiness
from inferstack.render.rollout import traffic_summary
from inferstack.spec.loader import load_environment, load_specs
from inferstack.spec.stack_checks import secret_values
from inferstack.validation import check_blueprint

EXIT_OK = 0
EXIT_POLICY = 1
OUTPUT_FILES = ("plan.json", "policy.json", "cost.json", "report.md")
MANIFEST_DIR = "manifests"

Progress = Callable[[str], None]
"""Called with the name of each phase as it starts."""

OUR_PHASES = ("load+compile", "cost", "policy", "readiness", "render", "report", "write")
"""Phases of our own code; "checkov" (an external tool, when asked for) counts as neither ours nor the engine's."""
ENGINE_PHASE = "pulumi program under mocks"


@dataclass(slots=True)
class PlanTimings:
    """Seconds per phase; the engine phase is the Pulumi program under mocks, the rest is our code."""

    phases: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Time one phase."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.phases[name] = self.phases.get(name, 0.0) + time.perf_counter() - start

    @property
    def total(self) -> float:
        """All phases together."""
        return sum(self.phases.values())

    @property
    def ours(self) -> float:
        """Time in inferstack's own code (load, compile, cost, policy, render, report, write)."""
        return sum(seconds for name, seconds in self.phases.items() if name in OUR_PHASES)


@dataclass(slots=True)
class PlanResult:
    """What one plan produced."""

    exit_code: int
    out_dir: Path
    document: PlanDocument
    policy: PolicyReport
    cost: CostEstimate
    diff: PlanDiff | None
    timings: PlanTimings
    checkov: CheckovReport | None = None
    not_run: tuple[str, ...] = ()
    readiness: ReadinessReport | None = None


def _capacity_text(deployment: ModelDeployment, blueprint: Blueprint) -> str:
    kinds = [blueprint.pool(name).capacity_type for name in deployment.node_pools]
    if kinds == ["SPOT"]:
        return "spot"
    if kinds == ["ON_DEMAND"]:
        return "on-demand"
    if kinds and kinds[0] == "ON_DEMAND" and "SPOT" in kinds:
        return "on-demand base + spot"
    return " + ".join(sorted({kind.lower().replace("_", "-") for kind in kinds}))


def model_rows(blueprint: Blueprint, cost: CostEstimate) -> list[ModelRow]:
    """The per-model table of the report."""
    rows: list[ModelRow] = []
    for deployment in blueprint.models:
        spec = deployment.spec
        accelerator = spec.accelerator
        gpu = "cpu" if accelerator.gpu_type == "none" else f"{accelerator.gpus_per_replica} x {accelerator.gpu_type}"
        if accelerator.shareable:
            gpu += f" (1/{deployment.replicas_per_gpu} shared)"
        model_cost = cost.by_model.get(deployment.name)
        rows.append(
            ModelRow(
                name=deployment.name,
                team=deployment.team,
                gpu=gpu,
                replicas=f"{spec.scaling.min_replicas}-{spec.scaling.max_replicas}",
                capacity=_capacity_text(deployment, blueprint),
                traffic=traffic_summary(deployment, blueprint),
                monthly_usd=model_cost.monthly_usd if model_cost else None,
                peak_monthly_usd=model_cost.peak_monthly_usd if model_cost else None,
            )
        )
    return rows


def _scan_with_checkov(manifests: dict[str, str]) -> tuple[CheckovReport | None, str | None]:
    """checkov over the rendered manifests (pinned, isolated); (None, reason) when it cannot run here."""
    with tempfile.TemporaryDirectory(prefix="inferstack-checkov-") as folder:
        for name, text in manifests.items():
            (Path(folder) / name).write_text(text, encoding="utf-8")
        try:
            return run_checkov(Path(folder)), None
        except CheckovUnavailable as error:
            return None, str(error)


def _write_outputs(out_dir: Path, files: dict[str, str], manifests: dict[str, str]) -> None:
    """Stage every file in a temporary sibling folder, then move them into `out_dir` together."""
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-staging-", dir=out_dir.parent))
    try:
        for name, text in files.items():
            (staging / name).write_text(text, encoding="utf-8")
        (staging / MANIFEST_DIR).mkdir()
        for name, text in manifests.items():
            (staging / MANIFEST_DIR / name).write_text(text, encoding="utf-8")
        out_dir.mkdir(parents=True, exist_ok=True)
        old_manifests = out_dir / MANIFEST_DIR
        if old_manifests.exists():
            shutil.rmtree(old_manifests)
        for name in files:
            (staging / name).replace(out_dir / name)
        if FULL_REPORT_FILE not in files:  # a shortened report of an earlier plan in this folder
            (out_dir / FULL_REPORT_FILE).unlink(missing_ok=True)
        (staging / MANIFEST_DIR).replace(old_manifests)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _check_out_dir(out_dir: Path) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError([Problem(display_path(out_dir), "--out", "exists and is not a folder; expected a folder path")])


def _check_specs_dir(specs_dir: Path) -> None:
    if not specs_dir.is_dir():
        raise InputError(
            [Problem(display_path(specs_dir), "--specs", "no such folder; expected the folder holding the model specs")]
        )


@garbage_collection_paused()
def run_plan(
    stack: str,
    *,
    specs_dir: Path,
    stacks_dir: Path,
    out_dir: Path,
    baseline_path: Path | None = None,
    registry_snapshot: Path | None = None,
    checkov: bool = False,
    progress: Progress | None = None,
) -> PlanResult:
    """Plan one stack and write plan.json, policy.json, cost.json, report.md and manifests/ into `out_dir`.

    With `registry_snapshot` (from `inferstack registry snapshot`), approval stages and
    CUDA-measured gate memory come from the registry instead of the specs' claims.

    Raises InputError (nothing written) on bad specs, stack files, --specs, --out or --baseline.
    The cyclic garbage collector is paused while the plan runs (inferstack/batch_process.py).
    """
    from inferstack.mocks import run_under_mocks

    def step(name: str) -> None:
        if progress is not None:
            progress(name)

    timings = PlanTimings()
    _check_out_dir(out_dir)
    _check_specs_dir(specs_dir)
    baseline = load_plan(baseline_path) if baseline_path is not None else None
    registry = None
    if registry_snapshot is not None:
        from inferstack.registry.snapshot import load_registry_snapshot

        registry = load_registry_snapshot(registry_snapshot)

    step("load and compile specs")
    with timings.phase("load+compile"):
        config = load_environment(stacks_dir, stack)
        if registry is not None and registry_snapshot is not None:
            from inferstack.registry.snapshot import check_snapshot_belongs

            check_snapshot_belongs(registry, config, display_path(registry_snapshot))
        register_secret_values(secret_values(config))
        blueprint = compile_blueprint(load_specs([specs_dir]), config, registry=registry)
        check_blueprint(blueprint)  # the checks `validate` runs too, before the engine starts

    step("run the Pulumi program under mocks")
    with timings.phase(ENGINE_PHASE):
        records = run_under_mocks(stack, specs_dir, stacks_dir, blueprint=blueprint)

    with timings.phase("render"):
        # Built from the monitor's own records: no need to validate them again (model_construct).
        resources = [
            PlanResource.model_construct(
                urn=record.urn,
                type=record.type,
                name=record.name,
                parent=record.parent or None,
                dependencies=list(record.dependencies),
                inputs=redact_inputs(record.type, record.inputs),
                custom=record.custom,
                aliases=record.aliases,
            )
            for record in records
        ]

    step("estimate cost")
    with timings.phase("cost"):
        cost = estimate(blueprint)
        cost_json = cost.to_json()

    step("evaluate policies")
    with timings.phase("policy"):
        context = PolicyContext.from_environment(
            config,
            CostFigures(
                cost.total_monthly_usd,
                {team: item.monthly_usd for team, item in cost.by_team.items()},
                expected_monthly_usd=cost.total_expected_monthly_usd,
                peak_monthly_usd=cost.total_peak_monthly_usd,
                by_team_expected={team: item.expected_monthly_usd for team, item in cost.by_team.items()},
                by_team_peak={team: item.peak_monthly_usd for team, item in cost.by_team.items()},
            ),
            approvals_verified=registry is not None,
        )
        graph = [
            PolicyResource(
                urn=resource.urn,
                type=resource.type,
                name=resource.name,
                props=resource.inputs,
                parent=resource.parent,
                dependencies=tuple(resource.dependencies),
            )
            for resource in resources
        ]
        policy = evaluate((item for item, resource in zip(graph, resources) if resource.custom), context)

    step("check deploy readiness")
    with timings.phase("readiness"):
        # The whole graph, components included: a dependency on a component waits for everything below it.
        readiness = run_readiness(graph, context_for(config))

    step("render manifests and report")
    with timings.phase("render"):
        manifests = render_manifest_files(resources)
    not_run: list[str] = []
    checkov_report: CheckovReport | None = None
    if checkov:
        step("scan manifests with checkov")
        with timings.phase("checkov"):
            checkov_report, reason = _scan_with_checkov(manifests)
        if reason:
            not_run.append(f"checkov: {reason}")
    else:
        not_run.append("checkov scan of the manifests (pass --checkov)")
    with timings.phase("report"):
        summary: dict[str, Any] = summarize(resources)
        summary["models"] = len(blueprint.models)
        summary["disabled_models"] = list(blueprint.disabled_models)
        summary["node_pools"] = len(blueprint.node_pools)
        summary["cost"] = cost_summary(cost_json)
        policy_json = policy.to_json()
        policy_json["violations"] = policy_json["violations"] + readiness.violations()
        policy_json["mandatory"] = sum(1 for item in policy_json["violations"] if item["enforcement"] == "mandatory")
        policy_json["readiness"] = readiness.to_json()
        not_run.extend(readiness.not_run)
        if checkov_report is not None:
            policy_json["violations"] = policy_json["violations"] + checkov_report.violations()
            policy_json["mandatory"] = sum(1 for item in policy_json["violations"] if item["enforcement"] == "mandatory")
            policy_json["checkov"] = {
                "version": checkov_report.checkov_version,
                "objects": checkov_report.resources,
                "passed": checkov_report.passed,
                "failed": len(checkov_report.failed),
                "skipped": [
                    {"check": item.check_id, "resource": item.resource, "reason": item.skip_reason}
                    for item in checkov_report.skipped
                ],
            }
        summary["policy"] = {"violations": len(policy_json["violations"]), "mandatory": policy_json["mandatory"]}
        document = PlanDocument(stack=stack, resources=resources, summary=summary)
        diff = diff_plans(baseline, document) if baseline is not None else None
        disruptions = None
        if diff is not None and baseline is not None:
            document.summary["diff"] = diff.to_json()
            disruptions = find_disruptions(baseline.resources, document.resources, diff)
            document.summary["disruption"] = [
                {"urn": item.urn, "action": item.action, "reason": item.reason, "models": list(item.models)}
                for item in disruptions
            ]
        render = partial(
            render_report,
            stack=stack,
            summary=document.summary,
            models=model_rows(blueprint, cost),
            resources=resources,
            policy=policy_json,
            policy_note=None,
            cost=cost_json,
            diff=diff,
            baseline_cost=baseline.summary.get("cost") if baseline is not None else None,
            leading_sections=(disruption_section(disruptions),) if disruptions is not None else (),
            not_run=not_run,
        )
        report, full_report = fit_report(render)
        files = {
            "plan.json": dumps(document),
            "policy.json": json.dumps(policy_json, indent=1, sort_keys=True) + "\n",
            "cost.json": json.dumps(cost_json, indent=1, sort_keys=True) + "\n",
            "report.md": report,
        }
        if full_report is not None:
            files[FULL_REPORT_FILE] = full_report

    step("write outputs")
    with timings.phase("write"):
        try:
            _write_outputs(out_dir, files, manifests)
        except OSError as error:
            raise InputError(
                [Problem(display_path(out_dir), "--out", f"cannot write the plan ({error.strerror}); expected a writable folder")]
            ) from None
    blocked = policy.has_mandatory_violations or (checkov_report is not None and checkov_report.has_mandatory_violations)
    blocked = blocked or readiness.blocks
    exit_code = EXIT_POLICY if blocked else EXIT_OK
    return PlanResult(exit_code, out_dir, document, policy, cost, diff, timings, checkov_report, tuple(not_run), readiness)
