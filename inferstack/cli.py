"""The `inferstack` command line (typer + rich).

Each command is a thin shell: parse options, call the library, print, and map
bad input (`InputError`) to one line per problem on stderr and exit code 2.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from inferstack.constants import ENVIRONMENTS
from inferstack.extras import MissingExtra
from inferstack.problems import InputError, Problem

app = typer.Typer(
    name="inferstack",
    help="Compile declarative model specs into GPU inference infrastructure on AWS.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2

MAX_VIOLATIONS_SHOWN = 20
"""Mandatory violations `plan` prints; policy.json and report.md have every one."""

DEFAULT_SPECS = Path("model_specs")
DEFAULT_STACKS = Path("stacks")

F = TypeVar("F", bound=Callable[..., Any])


def report_problems(problems: list[Problem]) -> None:
    """Print one line per problem on stderr, without markup interpretation."""
    for problem in problems:
        err_console.print(str(problem), markup=False)


def handles_bad_input(function: F) -> F:
    """Turn InputError into one line per problem, and a missing extra into one line; exit code 2."""

    @wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except InputError as error:
            report_problems(error.problems)
            raise typer.Exit(EXIT_BAD_INPUT) from None
        except MissingExtra as error:  # an optional dependency set is not installed: one line, the install command
            err_console.print(str(error), markup=False)
            raise typer.Exit(EXIT_BAD_INPUT) from None

    return wrapper  # type: ignore[return-value]


def check_stack_name(stack: str) -> str:
    """Validate --stack against the known environments."""
    if stack not in ENVIRONMENTS:
        raise InputError([Problem("--stack", "stack", f"unknown stack '{stack}'; expected one of: {', '.join(ENVIRONMENTS)}")])
    return stack


@app.command()
@handles_bad_input
def validate(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="Spec files or folders, and stack files; default: model_specs/ and stacks/."),
    ] = None,
) -> None:
    """Validate model specs and stack files. Exit 0 when valid, 2 with one line per problem."""
    from inferstack.validation import validate_paths

    summary = validate_paths(paths or [DEFAULT_SPECS, DEFAULT_STACKS])
    console.print(
        f"[green]valid[/green]: {summary.specs} model spec(s) in {summary.spec_files} file(s), "
        f"{summary.stacks} stack file(s), compiled for {', '.join(summary.environments) or 'no environment'}"
    )


@app.command()
def schema(
    out: Annotated[Path | None, typer.Option("--out", help="Write the JSON Schema to this file instead of stdout.")] = None,
) -> None:
    """Print the JSON Schema of the model spec language (for editors' YAML language servers)."""
    from inferstack.spec.schema import spec_json_schema

    text = json.dumps(spec_json_schema(), indent=2, sort_keys=True) + "\n"
    if out is None:
        typer.echo(text, nl=False)
        return
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    except OSError as error:
        report_problems([Problem(str(out), "--out", f"cannot write the schema ({error.strerror}); expected a writable path")])
        raise typer.Exit(EXIT_BAD_INPUT) from None
    console.print(f"wrote {out}")


def handles_registry_errors(function: F) -> F:
    """Turn RegistryError (store unreachable, promotion refused, ...) into one line on stderr and exit code 1."""

    @wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from inferstack.registry.store import RegistryError

        try:
            return function(*args, **kwargs)
        except RegistryError as error:
            err_console.print(error.message, markup=False)
            raise typer.Exit(EXIT_FAILED) from None

    return wrapper  # type: ignore[return-value]


def find_spec(specs: Path, name: str) -> Any:
    """The ModelSpec called `name` under `specs`; InputError naming the known specs when absent."""
    from inferstack.spec.loader import load_specs

    loaded = load_specs([specs])
    for item in loaded:
        if item.spec.name == name:
            return item.spec
    known = ", ".join(item.spec.name for item in loaded)
    raise InputError([Problem("--spec", "spec", f"no spec named '{name}' in {specs}; expected one of: {known}")])


SpecOption = Annotated[str, typer.Option("--spec", help="Name of the model spec the artifact belongs to.")]
SpecsOption = Annotated[Path, typer.Option("--specs", help="Folder (or file) of model specs.")]
StacksOption = Annotated[Path, typer.Option("--stacks", help="Folder of stack files (Pulumi.<env>.yaml).")]


@app.command()
@handles_bad_input
def gate(
    model: Annotated[Path, typer.Argument(help="The ONNX model file.")],
    spec_name: SpecOption,
    json_output: Annotated[bool, typer.Option("--json", help="Print the gate report as JSON.")] = False,
    specs: SpecsOption = DEFAULT_SPECS,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the synthetic inputs.")] = 0,
    iterations: Annotated[int, typer.Option("--iterations", min=1, max=100_000, help="Most timed calls per batch size.")] = 200,
    quantize_advice: Annotated[
        bool, typer.Option("--quantize-advice", help="Also report what dynamic int8 quantization would save (advice).")
    ] = False,
) -> None:
    """Load, check, smoke-test and measure an ONNX model against its spec. Exit 0 pass, 1 gate failed, 2 bad input."""
    from inferstack.gate import run_gate

    spec = find_spec(specs, spec_name)
    report = run_gate(
        model, spec, seed=seed, max_iterations=iterations, min_iterations=min(10, iterations), quantize_advice=quantize_advice
    )
    if json_output:
        typer.echo(report.model_dump_json(indent=2))
    else:
        print_gate_report(report)
    if not report.passed:
        raise typer.Exit(EXIT_FAILED)


def print_gate_report(report: Any) -> None:
    """The gate report as a rich table and a verdict line."""
    from rich.table import Table

    console.print(f"{report.model} ({report.model_file}, {report.size_bytes} bytes, sha256 {report.sha256[:12]}...)")
    console.print(f"provider: {report.provider} ({report.provider_note})")
    table = Table("batch", "calls", "p50 ms", "p95 ms", "p99 ms", "rows/s")
    for stats in report.latency:
        table.add_row(
            str(stats.batch_size), str(stats.iterations), f"{stats.p50_ms:.3f}", f"{stats.p95_ms:.3f}",
            f"{stats.p99_ms:.3f}", f"{stats.throughput_per_s:,.0f}",
        )
    console.print(table)
    memory = report.memory
    gpu = f", GPU {memory.gpu_memory_mib:.1f} MiB" if memory.gpu_memory_mib is not None else ""
    console.print(f"memory: peak RSS {memory.peak_rss_mib:.1f} MiB (+{memory.rss_delta_mib:.1f} MiB for the model){gpu}")
    advice = report.quantization
    if advice is not None:
        if advice.applicable:
            console.print(
                f"int8 advice: {advice.original_size_bytes} -> {advice.quantized_size_bytes} bytes "
                f"({advice.size_saving_percent:.1f}% smaller), batch-1 p50 {advice.original_p50_ms:.3f} -> "
                f"{advice.quantized_p50_ms:.3f} ms ({advice.latency_change_percent:+.1f}%); {advice.note}",
                markup=False,
            )
        else:
            console.print(f"int8 advice: {advice.note}", markup=False)
    if report.passed:
        console.print(f"[green]gate passed[/green] (p95 SLO {report.latency_p95_slo_ms:g} ms at batch 1)")
    else:
        for failure in report.failures:
            err_console.print(f"gate failed: {failure}", markup=False)


def load_gate_report(path: Path) -> Any:
    """A gate report written by `inferstack gate --json`; InputError when unreadable."""
    from pydantic import ValidationError

    from inferstack.gate import GateReport
    from inferstack.problems import display_path

    try:
        return GateReport.model_validate_json(path.read_bytes())
    except OSError as error:
        raise InputError([Problem(display_path(path), "", f"cannot read the gate report ({error}); expected `inferstack gate --json` output")]) from None
    except ValidationError as error:
        raise InputError(
            [Problem(display_path(path), "", f"not a gate report ({error.error_count()} problems); expected `inferstack gate --json` output")]
        ) from None


@app.command()
@handles_bad_input
@handles_registry_errors
def publish(
    model: Annotated[Path, typer.Argument(help="The ONNX model file.")],
    spec_name: SpecOption,
    version: Annotated[str, typer.Option("--version", help="Version to publish (must not exist yet).")],
    stack: Annotated[str, typer.Option("--stack", help="Environment whose model store receives the version.")] = "dev",
    specs: SpecsOption = DEFAULT_SPECS,
    stacks: StacksOption = DEFAULT_STACKS,
    gate_report: Annotated[
        Path | None, typer.Option("--gate-report", help="Reuse `inferstack gate --json` output instead of running the gate.")
    ] = None,
    allow_failed_gate: Annotated[
        bool, typer.Option("--allow-failed-gate", help="Record a version whose gate failed (it can never reach staging).")
    ] = False,
) -> None:
    """Gate the model, then upload it and its metadata to the model store (SSE-KMS, never overwriting a version)."""
    from inferstack.gate import run_gate
    from inferstack.registry.store import ModelRegistry, check_version

    check_version(version)
    check_stack_name(stack)
    spec = find_spec(specs, spec_name)
    registry = ModelRegistry.for_stack(stacks, stack)
    report = load_gate_report(gate_report) if gate_report is not None else run_gate(model, spec)
    if not report.passed and not allow_failed_gate:
        for failure in report.failures:
            err_console.print(f"gate failed: {failure}", markup=False)
        err_console.print("publish: nothing uploaded; fix the model, or pass --allow-failed-gate to record it anyway", markup=False)
        raise typer.Exit(EXIT_FAILED)
    metadata = registry.publish(model, spec, version, report)
    console.print(
        f"published {metadata.model} {metadata.version} to {metadata.storage_uri} "
        f"(sha256 {metadata.sha256[:12]}..., {metadata.sse} {metadata.kms_key_id or 'bucket default key'}, by {metadata.published_by})",
        markup=False,
    )


@app.command()
@handles_bad_input
@handles_registry_errors
def promote(
    name: Annotated[str, typer.Argument(help="Model name.")],
    version: Annotated[str, typer.Argument(help="Version to promote.")],
    to: Annotated[str, typer.Option("--to", help="staging (needs a passed gate) or prod (needs staging first).")],
    stacks: StacksOption = DEFAULT_STACKS,
) -> None:
    """Approve a version for staging or prod: copy it from the previous environment's store and record who, when and the gate figures."""
    from inferstack.registry.store import ModelRegistry, check_promotion_target, previous_environment
    from inferstack.registry.store import promote as promote_version

    stage = check_promotion_target(to)
    source = ModelRegistry.for_stack(stacks, previous_environment(stage))
    target = ModelRegistry.for_stack(stacks, stage)
    record = promote_version(source, target, name, version, stage)
    console.print(
        f"promoted {name} {version} to {stage} by {record.approved_by} at {record.approved_at} "
        f"(gate passed: {record.gate.passed}, p95 at batch 1: {record.gate.p95_ms_batch1} ms)",
        markup=False,
    )


registry_app = typer.Typer(help="The model registry: list versions, write snapshots for the offline plan.", no_args_is_help=True)
app.add_typer(registry_app, name="registry")


@registry_app.command("list")
@handles_bad_input
@handles_registry_errors
def registry_list(
    name: Annotated[str | None, typer.Argument(help="Only this model.")] = None,
    stack: Annotated[str, typer.Option("--stack", help="Environment whose model store to list.")] = "dev",
    stacks: StacksOption = DEFAULT_STACKS,
) -> None:
    """Show the versions in an environment's model store and their approved stages."""
    from rich.table import Table

    from inferstack.registry.store import ModelRegistry

    check_stack_name(stack)
    registry = ModelRegistry.for_stack(stacks, stack)
    entries = registry.list_versions(name)
    if not entries:
        console.print(f"no versions{f' of {name}' if name else ''} in s3://{registry.bucket}/", markup=False)
        return
    table = Table("model", "team", "version", "stage", "gate", "p95 ms (b1)", "size", "published by", "published at")
    for entry in entries:
        metadata = entry.metadata
        batch_one = metadata.gate.latency_at(1)
        table.add_row(
            metadata.model, metadata.team, metadata.version, entry.stage,
            "passed" if metadata.gate.passed else "FAILED",
            f"{batch_one.p95_ms:.3f}" if batch_one else "-",
            f"{metadata.size_bytes:,}", metadata.published_by, metadata.published_at,
        )
    console.print(table)


@registry_app.command("snapshot")
@handles_bad_input
@handles_registry_errors
def registry_snapshot(
    stack: Annotated[str, typer.Option("--stack", help="Environment whose model store to snapshot.")],
    out: Annotated[Path, typer.Option("--out", help="Snapshot file to write (JSON).")],
    stacks: StacksOption = DEFAULT_STACKS,
) -> None:
    """Write the approvals and gate figures of a model store to a JSON file for the offline plan."""
    from inferstack.registry.snapshot import take_snapshot, write_registry_snapshot
    from inferstack.registry.store import ModelRegistry

    check_stack_name(stack)
    snapshot = take_snapshot(ModelRegistry.for_stack(stacks, stack))
    write_registry_snapshot(snapshot, out)
    console.print(f"wrote {out} ({len(snapshot.versions)} version(s) from s3://{snapshot.bucket}/)", markup=False)


policy_app = typer.Typer(help="Policy rules: the generated rules table.", no_args_is_help=True)
app.add_typer(policy_app, name="policy")


@policy_app.command("docs")
def policy_docs(
    out: Annotated[Path | None, typer.Option("--out", help="Write the Markdown to this file instead of stdout.")] = None,
) -> None:
    """Print the rules table (id, name, category, severity, enforcement per environment, description) as Markdown."""
    from inferstack.policy.docs import policies_markdown

    text = policies_markdown()
    if out is None:
        typer.echo(text, nl=False)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    console.print(f"wrote {out}", markup=False)


@app.command()
@handles_bad_input
def plan(
    stack: Annotated[str, typer.Option("--stack", help="Environment: dev, staging or prod.")],
    specs: Annotated[Path, typer.Option("--specs", help="Folder of model specs.")] = DEFAULT_SPECS,
    out: Annotated[Path, typer.Option("--out", help="Folder the plan is written to.")] = Path("out"),
    baseline: Annotated[
        Path | None, typer.Option("--baseline", help="plan.json of the base branch, to report the diff against.")
    ] = None,
    stacks: Annotated[Path, typer.Option("--stacks", help="Folder of stack files.")] = DEFAULT_STACKS,
    registry_snapshot: Annotated[
        Path | None,
        typer.Option(
            "--registry-snapshot",
            help="Registry snapshot (`inferstack registry snapshot`): approved stages and measured GPU memory.",
        ),
    ] = None,
    checkov: Annotated[
        bool, typer.Option("--checkov", help="Also scan the rendered manifests with checkov (pinned, run isolated via uvx).")
    ] = False,
) -> None:
    """Offline plan: run the Pulumi program under mocks; write plan.json, policy.json, cost.json, report.md, manifests/.

    Exit 0 ok, 1 mandatory policy violations, 2 bad input (nothing written).
    """
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from inferstack.plan.runner import run_plan
    from inferstack.policy.checkov import summary_lines

    check_stack_name(stack)
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=err_console, transient=True
    ) as progress:
        task = progress.add_task(f"plan {stack}", total=None)
        result = run_plan(
            stack,
            specs_dir=specs,
            stacks_dir=stacks,
            out_dir=out,
            baseline_path=baseline,
            registry_snapshot=registry_snapshot,
            checkov=checkov,
            progress=lambda phase: progress.update(task, description=f"plan {stack}: {phase}"),
        )
    summary = result.document.summary
    mandatory = summary["policy"]["mandatory"]
    console.print(
        f"plan [bold]{stack}[/bold]: {summary['resources']} resources in {summary['components']} components, "
        f"{summary['models']} models, {summary['node_pools']} node pools; "
        f"${result.cost.monthly_usd:,.0f}/month steady, ${result.cost.peak_monthly_usd:,.0f} at peak "
        f"(naive ${result.cost.naive_monthly_usd:,.0f}); "
        f"policy: {len(result.policy.violations)} violations ({mandatory} mandatory)"
    )
    if result.diff is not None:
        diff = result.diff
        console.print(
            f"against baseline: {len(diff.added)} to add, {len(diff.changed)} to change "
            f"({len(diff.replaced)} replaced), {len(diff.removed)} to remove"
        )
    if result.checkov is not None:
        for line in summary_lines(result.checkov):
            console.print(line, markup=False)
    for item in result.not_run:
        if item.startswith("checkov:"):
            err_console.print(f"warning: {item}", markup=False)
    console.print(f"wrote {result.out_dir}/ (plan.json, policy.json, cost.json, report.md, manifests/) in {result.timings.total:.1f}s")
    mandatory_violations = [violation for violation in result.policy.violations if violation.enforcement == "mandatory"]
    lines = [
        f"mandatory: {violation.policy}: {violation.urn or 'stack'}: {violation.message}"
        for violation in mandatory_violations[:MAX_VIOLATIONS_SHOWN]
    ]
    if len(mandatory_violations) > MAX_VIOLATIONS_SHOWN:
        lines.append(
            f"... and {len(mandatory_violations) - MAX_VIOLATIONS_SHOWN} more mandatory violations "
            f"(all of them in {result.out_dir}/policy.json and report.md)"
        )
    if lines:
        # One plain write: rich renders line by line (~1 ms a line), and a large fleet can have thousands.
        sys.stderr.write("\n".join(lines) + "\n")
    raise typer.Exit(result.exit_code)


@app.command()
@handles_bad_input
def cost(
    stack: Annotated[str, typer.Option("--stack", help="Environment: dev, staging or prod.")],
    specs: SpecsOption = DEFAULT_SPECS,
    as_json: Annotated[bool, typer.Option("--json", help="Print cost.json instead of tables.")] = False,
    stacks: StacksOption = DEFAULT_STACKS,
) -> None:
    """Monthly cost of a stack: steady (min replicas) and peak, per pool, team and model, against the budget."""
    from inferstack.compiler import compile_blueprint
    from inferstack.cost import estimate
    from inferstack.cost_report import print_cost_tables
    from inferstack.spec import load_environment
    from inferstack.spec.loader import load_specs

    check_stack_name(stack)
    config = load_environment(stacks, stack)
    result = estimate(compile_blueprint(load_specs([specs]), config))
    if as_json:
        typer.echo(json.dumps(result.to_json(), indent=2, sort_keys=True))
        return
    print_cost_tables(console, result)


def main() -> None:
    """Entry point of the `inferstack` command and `python -m inferstack`.

    A command is one short process: the cyclic garbage collector stays off for its
    life and the interpreter's teardown is skipped (inferstack/batch_process.py
    explains both; about half of a 1,000-model plan, and a second at exit).
    """
    import gc

    from inferstack.batch_process import exit_without_teardown

    gc.disable()
    try:
        app()
        code = EXIT_OK
    except SystemExit as exit_request:
        code = _exit_code(exit_request.code)
    exit_without_teardown(code)


def _exit_code(code: object) -> int:
    """The process exit status `sys.exit(code)` would give."""
    if code is None:
        return EXIT_OK
    if isinstance(code, int):
        return code
    err_console.print(str(code), markup=False)
    return EXIT_FAILED
