"""The `inferstack` command line (typer + rich).

Each command is a thin shell: parse options, call the library, print, and map
bad input (`InputError`) to one line per problem on stderr and exit code 2.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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
# Never markup, emoji or highlighting: file names, stack names and values are user text (`:fire:` stays `:fire:`).
console = Console(soft_wrap=True, markup=False, emoji=False, highlight=False)
err_console = Console(stderr=True, soft_wrap=True, markup=False, emoji=False, highlight=False)

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 3
"""A bug in inferstack (never the user's input): one line on stderr, the traceback in a log file."""
LOG_DIR_ENV = "INFERSTACK_LOG_DIR"
"""Folder of internal-error logs (default: the system's temporary folder)."""

MAX_VIOLATIONS_SHOWN = 20
"""Mandatory violations `plan` prints; policy.json and report.md have every one."""

DEFAULT_SPECS = Path("model_specs")
DEFAULT_STACKS = Path("stacks")

F = TypeVar("F", bound=Callable[..., Any])


def report_problems(problems: list[Problem]) -> None:
    """Print one line per problem on stderr, without markup interpretation."""
    for problem in problems:
        err_console.print(str(problem), markup=False)


def write_internal_error_log(error: BaseException) -> Path | None:
    """Write the traceback of `error` to a new log file; its path, or None when no file could be written."""
    import os
    import tempfile
    import time
    import traceback

    folder = Path(os.environ.get(LOG_DIR_ENV) or tempfile.gettempdir())
    text = (
        f"inferstack internal error at {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}\n"
        f"argv: {sys.argv!r}\n\n" + "".join(traceback.format_exception(type(error), error, error.__traceback__))
    )
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(prefix="inferstack-internal-error-", suffix=".log", dir=folder)
        with os.fdopen(handle, "w", encoding="utf-8") as log:
            log.write(text)
    except OSError:
        return None
    return Path(name)


def report_internal_error(error: BaseException) -> int:
    """One line on stderr for a crash (with the log file of its traceback); the exit code, EXIT_INTERNAL."""
    log = write_internal_error_log(error)
    detail = str(error)
    detail = detail if len(detail) <= 200 else detail[:197] + "..."
    where = f"the traceback is in {log}" if log is not None else f"no log could be written (set {LOG_DIR_ENV} to a writable folder)"
    err_console.print(
        f"internal error: {type(error).__name__}: {detail} (a bug in inferstack, not in your input); {where}; please report it"
    )
    return EXIT_INTERNAL


def handles_bad_input(function: F) -> F:
    """Turn InputError into one line per problem, and a missing extra into one line (exit code 2); any other crash into exit code 3 and a log file."""
    import click

    @wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except InputError as error:
            report_problems(error.problems)
            raise typer.Exit(EXIT_BAD_INPUT) from None
        except (typer.Exit, typer.Abort, click.exceptions.Exit, click.exceptions.ClickException, click.exceptions.Abort):
            raise
        except MissingExtra as error:  # an optional dependency set is not installed: one line, the install command
            err_console.print(str(error), markup=False)
            raise typer.Exit(EXIT_BAD_INPUT) from None
        except Exception as error:  # noqa: BLE001 - the one place a crash becomes "internal error", exit 3
            raise typer.Exit(report_internal_error(error)) from None

    return wrapper  # type: ignore[return-value]


def check_stack_name(stack: str) -> str:
    """Validate --stack: any lowercase stack name (dev, prod, prod-eu-west-1); its file names its tier."""
    from inferstack.spec.loader import stack_name_problems

    problems = stack_name_problems(stack, "--stack")
    if problems:
        raise InputError(problems)
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
        f"valid: {summary.specs} model spec(s) in {summary.spec_files} file(s), "
        f"{summary.stacks} stack file(s), compiled for {', '.join(summary.environments) or 'no environment'}"
    )


@app.command()
@handles_bad_input
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


FLAG = ""
"""metavar of on/off options: typer would show them as taking a <bool> value, which they do not."""

MIN_GATE_ITERATIONS = 100
"""inferstack.gate.MIN_ITERATIONS (not imported here: the CLI imports onnxruntime and numpy only when a command needs them)."""
DEFAULT_GATE_ITERATIONS = 300
"""inferstack.gate.DEFAULT_MAX_ITERATIONS."""

SpecOption = Annotated[str, typer.Option("--spec", help="Name of the model spec the artifact belongs to.")]
SpecsOption = Annotated[Path, typer.Option("--specs", help="Folder (or file) of model specs.")]
ReferenceDataOption = Annotated[
    Path | None,
    typer.Option("--reference-data", help="CSV sample of training data: its drift reference profile (needed when the spec watches drift)."),
]
StacksOption = Annotated[Path, typer.Option("--stacks", help="Folder of stack files (Pulumi.<env>.yaml).")]


MaxArtifactOption = Annotated[
    float | None,
    typer.Option(
        "--max-artifact-gib",
        help="Largest artifact (all its files) accepted, GiB; default $INFERSTACK_MAX_ARTIFACT_GIB or 50.",
        show_default=False,
    ),
]


@contextmanager
def progress_lines(title: str) -> Iterator[Callable[[str], None]]:
    """Progress of a long operation on stderr: a rich spinner on a terminal; outside one (CI, pipes), quiet plain lines.

    Plain lines start only once the operation has run QUIET_PROGRESS_S seconds, so a
    quick command prints nothing extra, and a long one says what it is doing.
    """
    import os
    import time

    if err_console.is_terminal and not os.environ.get("CI"):
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        with Progress(
            SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=err_console, transient=True
        ) as progress:
            task = progress.add_task(title, total=None)
            yield lambda phase: progress.update(task, description=f"{title}: {phase}")
        return
    import threading

    started = time.monotonic()
    current = ["starting"]
    printed = [""]
    lock = threading.Lock()
    done = threading.Event()

    def emit(force: bool = False) -> None:
        with lock:
            elapsed = time.monotonic() - started
            if elapsed >= QUIET_PROGRESS_S and (force or current[0] != printed[0]):
                printed[0] = current[0]
                sys.stderr.write(f"{title}: {current[0]} ({elapsed:.0f}s)\n")
                sys.stderr.flush()

    def plain(phase: str) -> None:
        current[0] = phase
        emit()

    def heartbeat() -> None:
        # A phase that began inside the quiet period is announced once the period ends, then every HEARTBEAT_S.
        if done.wait(QUIET_PROGRESS_S):
            return
        emit()
        while not done.wait(PROGRESS_HEARTBEAT_S):
            emit(force=True)

    ticker = threading.Thread(target=heartbeat, name="inferstack-progress", daemon=True)
    ticker.start()
    try:
        yield plain
    finally:
        done.set()
        ticker.join(timeout=1)


QUIET_PROGRESS_S = 2.0
"""Seconds before a long operation outside a terminal starts printing progress lines."""
PROGRESS_HEARTBEAT_S = 30.0
"""Outside a terminal, a phase that goes on this long is reported again."""


@app.command()
@handles_bad_input
def gate(
    model: Annotated[Path, typer.Argument(help="The ONNX model file (external data beside it) or an artifact folder.")],
    spec_name: SpecOption,
    json_output: Annotated[bool, typer.Option("--json", metavar=FLAG, help="Print the gate report as JSON.")] = False,
    specs: SpecsOption = DEFAULT_SPECS,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the synthetic inputs.")] = 0,
    iterations: Annotated[
        int,
        typer.Option(
            "--iterations",
            min=MIN_GATE_ITERATIONS,
            max=1_000_000,
            help=f"Most timed calls per batch size (at least {MIN_GATE_ITERATIONS}: p95 needs them for a confidence interval).",
        ),
    ] = DEFAULT_GATE_ITERATIONS,
    quantize_advice: Annotated[
        bool, typer.Option("--quantize-advice", metavar=FLAG, help="Also report what dynamic int8 quantization would save (advice).")
    ] = False,
    max_artifact_gib: MaxArtifactOption = None,
    reference_data: ReferenceDataOption = None,
    profile_out: Annotated[
        Path | None, typer.Option("--profile-out", help="Where --reference-data's profile goes; default: <model>.reference-profile.json.")
    ] = None,
) -> None:
    """Load, check, smoke-test and measure an ONNX model against its spec. Exit 0 pass, 1 gate failed or inconclusive, 2 bad input."""
    from inferstack.drift.commands import gate_profile
    from inferstack.gate import max_artifact_bytes, run_gate

    spec = find_spec(specs, spec_name)
    profile_line = gate_profile(reference_data, spec, model, profile_out)
    with progress_lines(f"gate {spec_name}") as progress:
        report = run_gate(
            model,
            spec,
            seed=seed,
            max_iterations=iterations,
            min_iterations=min(MIN_GATE_ITERATIONS, iterations),
            quantize_advice=quantize_advice,
            max_bytes=max_artifact_bytes(max_artifact_gib),
            progress=progress,
        )
    if json_output:
        typer.echo(report.model_dump_json(indent=2))
    else:
        print_gate_report(report)
    if profile_line:
        err_console.print(profile_line, markup=False)
    if not report.passed:
        raise typer.Exit(EXIT_FAILED)


def print_gate_report(report: Any) -> None:
    """The gate report as a rich table and a verdict line."""
    from rich.table import Table

    files = ""
    if report.manifest is not None and report.manifest.kind != "file":
        files = f", {len(report.manifest.files)} files, entry {report.manifest.entry}"
    console.print(
        f"{report.model} ({report.model_file}, {report.size_bytes} bytes{files}, sha256 {report.sha256[:12]}...)", markup=False
    )
    console.print(f"provider: {report.provider} ({report.provider_note})", markup=False)
    table = Table("batch", "calls", "p50 ms", "p95 ms", "p95 95% CI", "p99 ms", "rows/s")
    for stats in report.latency:
        interval = (
            f"{stats.p95_ci_low_ms:.3f}-{stats.p95_ci_high_ms:.3f}"
            if stats.p95_ci_low_ms is not None and stats.p95_ci_high_ms is not None
            else "-"
        )
        table.add_row(
            str(stats.batch_size), str(stats.iterations), f"{stats.p50_ms:.3f}", f"{stats.p95_ms:.3f}", interval,
            f"{stats.p99_ms:.3f}", f"{stats.throughput_per_s:,.0f}",
        )
    console.print(table)
    memory = report.memory
    gpu = f", GPU {memory.gpu_memory_mib:.1f} MiB ({memory.gpu_source})" if memory.gpu_memory_mib is not None else ""
    source = f" ({memory.rss_source})" if memory.rss_source else ""
    console.print(
        f"memory: peak RSS {memory.peak_rss_mib:.1f} MiB{source}, load included (+{memory.rss_delta_mib:.1f} MiB for the model){gpu}",
        markup=False,
    )
    advice = report.quantization
    if advice is not None:
        console.print(advice.summary(), markup=False)
    if report.passed:
        detail = f": {report.latency_verdict.message}" if report.latency_verdict is not None else ""
        console.print(f"gate passed (p95 SLO {report.latency_p95_slo_ms:g} ms at batch 1){detail}", markup=False)
    else:
        word = "inconclusive" if report.verdict == "inconclusive" else "failed"
        for failure in report.failures:
            err_console.print(f"gate {word}: {failure}", markup=False)


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
    model: Annotated[Path, typer.Argument(help="The ONNX model file (external data beside it) or an artifact folder.")],
    spec_name: SpecOption,
    version: Annotated[str, typer.Option("--version", help="Version to publish (must not exist yet).")],
    stack: Annotated[str, typer.Option("--stack", help="Environment whose model store receives the version.")] = "dev",
    specs: SpecsOption = DEFAULT_SPECS,
    stacks: StacksOption = DEFAULT_STACKS,
    gate_report: Annotated[
        Path | None, typer.Option("--gate-report", help="Reuse `inferstack gate --json` output instead of running the gate.")
    ] = None,
    allow_failed_gate: Annotated[
        bool, typer.Option("--allow-failed-gate", metavar=FLAG, help="Record a version whose gate failed (it can never reach staging).")
    ] = False,
    max_artifact_gib: MaxArtifactOption = None,
    reference_data: ReferenceDataOption = None,
    reference_profile: Annotated[
        Path | None, typer.Option("--reference-profile", help="Reuse the profile `inferstack gate --reference-data` wrote.")
    ] = None,
) -> None:
    """Gate the model, then upload every file of it and its metadata to the model store (SSE-KMS, never overwriting a version)."""
    from inferstack.drift.commands import prepare_publish_profile, store_publish_profile
    from inferstack.gate import collect_artifact, max_artifact_bytes, run_gate
    from inferstack.registry.store import ModelRegistry, check_version

    check_version(version)
    check_stack_name(stack)
    spec = find_spec(specs, spec_name)
    pending_profile = prepare_publish_profile(spec, reference_data, reference_profile)
    registry = ModelRegistry.for_stack(stacks, stack)
    with progress_lines(f"publish {spec_name} {version}") as progress:
        artifact = collect_artifact(model, max_bytes=max_artifact_bytes(max_artifact_gib), progress=progress)
        report = (
            load_gate_report(gate_report)
            if gate_report is not None
            else run_gate(model, spec, artifact=artifact, progress=progress)
        )
        if not report.passed and not allow_failed_gate:
            word = "inconclusive" if report.verdict == "inconclusive" else "failed"
            for failure in report.failures:
                err_console.print(f"gate {word}: {failure}", markup=False)
            err_console.print("publish: nothing uploaded; fix the model, or pass --allow-failed-gate to record it anyway", markup=False)
            raise typer.Exit(EXIT_FAILED)
        metadata = registry.publish(model, spec, version, report, artifact=artifact, progress=progress)
    files = f", {len(metadata.files)} files" if len(metadata.files) > 1 else ""
    console.print(
        f"published {metadata.model} {metadata.version} to {metadata.storage_uri} "
        f"(sha256 {metadata.sha256[:12]}...{files}, {metadata.sse} {metadata.kms_key_id or 'bucket default key'}, by {metadata.published_by})",
        markup=False,
    )
    profile_uri = store_publish_profile(registry, spec, version, pending_profile)
    if profile_uri:
        console.print(f"reference profile stored at {profile_uri}", markup=False)


@app.command()
@handles_bad_input
@handles_registry_errors
def promote(
    name: Annotated[str, typer.Argument(help="Model name.")],
    version: Annotated[str, typer.Argument(help="Version to promote.")],
    to: Annotated[
        str,
        typer.Option(
            "--to",
            help="Target stack: staging (needs a passed gate), prod (needs staging first), or any stack of those tiers "
            "(e.g. prod-eu-west-1); its tier is the stage approved.",
        ),
    ],
    from_stack: Annotated[
        str | None,
        typer.Option("--from", help="Source stack (of the previous tier); default: the stack named after that tier."),
    ] = None,
    stacks: StacksOption = DEFAULT_STACKS,
) -> None:
    """Approve a version for staging or prod: verify it, copy it from the previous tier's store, record who, when and the gate figures."""
    from inferstack.registry.store import ModelRegistry, check_promotion_source, check_promotion_target, previous_environment
    from inferstack.registry.store import promote as promote_version

    check_stack_name(to)
    target = ModelRegistry.for_stack(stacks, to)
    stage = check_promotion_target(target.environment)
    source_stack = check_stack_name(from_stack) if from_stack is not None else previous_environment(stage)
    source = ModelRegistry.for_stack(stacks, source_stack)
    check_promotion_source(source.environment, stage)
    with progress_lines(f"promote {name} {version}") as progress:
        record = promote_version(source, target, name, version, stage, progress=progress)
    from inferstack.drift.commands import promote_profile

    promote_profile(source, target, name, version)
    console.print(
        f"promoted {name} {version} to {stage} by {record.approved_by} at {record.approved_at} "
        f"(gate passed: {record.gate.passed}, p95 at batch 1: {record.gate.p95_ms_batch1} ms)",
        markup=False,
    )


registry_app = typer.Typer(help="The model registry: list versions, write snapshots for the offline plan.", no_args_is_help=True)
app.add_typer(registry_app, name="registry")


def _short_identity(identity: str) -> str:
    """The last part of an ARN (user or role session), which is what a reader looks for; other names unchanged."""
    if identity.startswith("arn:") and "/" in identity:
        return identity.rsplit("/", 1)[-1]
    return identity


def _size_text(size: int) -> str:
    for unit, scale in (("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} B"


def registry_table(inventory: Any) -> Any:
    """The versions of a listing as a table that reads at 80 columns: identifiers never cut, long ones folded."""
    from inferstack.cost_report import compact_table

    rows: list[tuple[str, ...]] = []
    for entry in inventory.entries:
        metadata = entry.metadata
        batch_one = metadata.gate.latency_at(1)
        rows.append(
            (
                metadata.model, metadata.team, metadata.version, entry.stage,
                {"pass": "passed", "fail": "FAILED"}.get(metadata.gate.verdict, str(metadata.gate.verdict)),
                f"{batch_one.p95_ms:.3f}" if batch_one else "-",
                _size_text(metadata.size_bytes),
                f"{metadata.published_at[:10]} {_short_identity(metadata.published_by)}",
            )
        )
    for bad in inventory.unusable:
        rows.append((bad.model, bad.team, bad.version, "UNUSABLE", "-", "-", "-", "(reason below)"))
    return compact_table(
        None,
        ("model", "team", "version", "stage", "gate", "p95 ms", "size", "published"),
        ("model", "team", "version", "stage", "gate"),
        rows,
        width=console.width,
        wrapping=("published",),
    )


@registry_app.command("list")
@handles_bad_input
@handles_registry_errors
def registry_list(
    name: Annotated[str | None, typer.Argument(help="Only this model.")] = None,
    stack: Annotated[str, typer.Option("--stack", help="Environment whose model store to list.")] = "dev",
    stacks: StacksOption = DEFAULT_STACKS,
    as_json: Annotated[bool, typer.Option("--json", metavar=FLAG, help="Print the versions and unusable versions as JSON.")] = False,
    verify: Annotated[
        bool, typer.Option("--verify", metavar=FLAG, help="Also check every version's stored files against its manifest (a HEAD per file).")
    ] = False,
) -> None:
    """Show the versions in an environment's model store and their approved stages (unusable versions with the reason)."""
    from inferstack.registry.store import ModelRegistry

    check_stack_name(stack)
    registry = ModelRegistry.for_stack(stacks, stack)
    inventory = registry.inventory(name, verify=verify)
    if as_json:
        document = {
            "environment": registry.environment,
            "bucket": registry.bucket,
            "versions": [
                {**entry.metadata.model_dump(mode="json", exclude={"gate"}), "stage": entry.stage,
                 "gate_verdict": entry.metadata.gate.verdict,
                 "approvals": [record.model_dump(mode="json") for record in entry.approvals]}
                for entry in inventory.entries
            ],
            "unusable": [bad.model_dump(mode="json") for bad in inventory.unusable],
        }
        typer.echo(json.dumps(document, indent=2))
        return
    if not inventory.entries and not inventory.unusable:
        console.print(f"no versions{f' of {name}' if name else ''} in s3://{registry.bucket}/", markup=False)
        return
    console.print(registry_table(inventory))
    for bad in inventory.unusable:
        err_console.print(f"unusable: {bad.team}/{bad.model} {bad.version}: {bad.reason}", markup=False)


@registry_app.command("snapshot")
@handles_bad_input
@handles_registry_errors
def registry_snapshot(
    stack: Annotated[str, typer.Option("--stack", help="Environment whose model store to snapshot.")],
    out: Annotated[Path | None, typer.Option("--out", help="Snapshot file to write (JSON); required without --json.")] = None,
    stacks: StacksOption = DEFAULT_STACKS,
    as_json: Annotated[bool, typer.Option("--json", metavar=FLAG, help="Print the snapshot JSON on stdout (and write --out if given).")] = False,
) -> None:
    """Write the approvals and gate figures of a model store to a JSON file for the offline plan; every artifact is checked against its manifest.

    A store whose bucket does not exist yet (a new environment, before its first `pulumi up`) gives an empty snapshot and a note.
    """
    from inferstack.registry.snapshot import take_first_snapshot, write_registry_snapshot
    from inferstack.registry.store import ModelRegistry

    check_stack_name(stack)
    if out is None and not as_json:
        raise InputError([Problem("--out", "out", "no snapshot file given; expected --out FILE, or --json to print the snapshot")])
    with progress_lines(f"snapshot {stack}") as progress:
        progress("listing and verifying versions")
        snapshot, note = take_first_snapshot(ModelRegistry.for_stack(stacks, stack))
    if note:
        err_console.print(note, markup=False)
    if out is not None:
        write_registry_snapshot(snapshot, out)
    if as_json:
        typer.echo(snapshot.model_dump_json(indent=2))
    else:
        console.print(
            f"wrote {out} ({len(snapshot.versions)} version(s) from s3://{snapshot.bucket}/"
            + (f", {len(snapshot.unusable)} unusable" if snapshot.unusable else "")
            + ")",
            markup=False,
        )
    for bad in snapshot.unusable:
        err_console.print(f"unusable: {bad.team}/{bad.model} {bad.version}: {bad.reason}", markup=False)


drift_app = typer.Typer(help="Drift detection: compare logged traffic with the version's reference profile.", no_args_is_help=True)
app.add_typer(drift_app, name="drift")


@drift_app.command("run")
@handles_bad_input
@handles_registry_errors
def drift_run(
    model: Annotated[str | None, typer.Option("--model", help="Model (spec) name.")] = None,
    stack: Annotated[str | None, typer.Option("--stack", help="Environment whose model store holds the logs.")] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="Window start: ISO 8601 time or a duration back (90m, 6h); default: the spec's window.")
    ] = None,
    job: Annotated[Path | None, typer.Option("--job", help="A drift job file (what the CronJob mounts) instead of --model/--stack.")] = None,
    textfile: Annotated[Path | None, typer.Option("--textfile", help="Write the Prometheus metrics to this file (textfile collector).")] = None,
    pushgateway: Annotated[
        str | None, typer.Option("--pushgateway", envvar="INFERSTACK_PUSHGATEWAY_URL", help="Push the metrics to this Pushgateway URL.")
    ] = None,
    specs: SpecsOption = DEFAULT_SPECS,
    stacks: StacksOption = DEFAULT_STACKS,
) -> None:
    """Grade the drift of a window of payload logs; write the report and metrics; on a page fire the trigger once per window.

    Exit 0 (whatever the drift level), 1 the store or the trigger failed, 2 bad input (no reference profile, unknown model).
    """
    from datetime import UTC, datetime

    from boto3.session import Session

    from inferstack.drift.job import DriftJob
    from inferstack.drift.run import parse_since, run_drift
    from inferstack.registry.store import ModelRegistry
    from inferstack.spec import load_environment

    if job is not None:
        drift_job = DriftJob.load(job)
    else:
        if model is None or stack is None:
            raise InputError([Problem("--model", "model", "--model and --stack are needed (or --job FILE)")])
        check_stack_name(stack)
        drift_job = DriftJob.for_spec(find_spec(specs, model), load_environment(stacks, stack))
    now = datetime.now(UTC)
    registry = ModelRegistry.connect(drift_job.environment, drift_job.bucket, drift_job.region, drift_job.kms_key_id)
    result = run_drift(
        drift_job,
        registry,
        Session(region_name=drift_job.region),
        now=now,
        since=parse_since(since, now) if since else None,
        textfile=textfile,
        pushgateway=pushgateway,
    )
    report = result.report
    breaches = ", ".join(f"{item.name} {item.statistic} {item.value:.4g} ({item.level})" for item in report.breaches if item.value is not None)
    console.print(
        f"drift {report.model} {report.version} ({report.environment}): level {report.level}; {report.rows:,} rows, "
        f"{report.malformed_total:,} malformed skipped{'; ' + breaches if breaches else ''}; trigger: {report.trigger_outcome}; "
        f"report {result.report_uri}",
        markup=False,
    )
    if result.trigger_failed:
        raise typer.Exit(EXIT_FAILED)


policy_app = typer.Typer(help="Policy rules: the generated rules table.", no_args_is_help=True)
app.add_typer(policy_app, name="policy")


@policy_app.command("docs")
@handles_bad_input
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


reference_app = typer.Typer(help="Upstream reference data (CRDs, chart defaults) for the deploy-readiness checks.", no_args_is_help=True)
app.add_typer(reference_app, name="reference")


@reference_app.command("fetch")
@handles_bad_input
def reference_fetch(
    to: Annotated[
        Path | None,
        typer.Option("--to", help="Folder to build (default: $INFERSTACK_REFERENCE, else ../shared/reference beside the repository)."),
    ] = None,
    base_url: Annotated[
        str | None,
        typer.Option("--base-url", help="Where <repository>/<tag>/<path> is read from (default: raw.githubusercontent.com, or $INFERSTACK_REFERENCE_BASE_URL)."),
    ] = None,
    replace: Annotated[bool, typer.Option("--replace", metavar=FLAG, help="Replace the files of a folder that already has reference data.")] = False,
) -> None:
    """Download the pinned upstream CRDs and chart defaults the readiness checks read, each checked against its SHA-256.

    Nothing is written unless every file arrives intact. Exit 0 written, 1 a file could not be fetched or
    verified, 2 bad input (a folder that already holds reference data, without --replace).
    """
    from inferstack.problems import display_path
    from inferstack.readiness.reference import reference_location
    from inferstack.readiness.reference_fetch import ReferenceFetchError, fetch_reference

    destination = to or reference_location()
    if (destination / "crds").is_dir() and not replace:
        raise InputError([Problem(display_path(destination), "--to", "already holds reference data (crds/); expected an empty folder, or --replace")])
    try:
        with progress_lines("reference fetch") as progress:
            count = fetch_reference(destination, base_url=base_url, progress=progress)
    except ReferenceFetchError as error:
        for message in error.messages:
            err_console.print(message, markup=False)
        err_console.print(f"reference fetch: nothing written to {display_path(destination)}", markup=False)
        raise typer.Exit(EXIT_FAILED) from None
    console.print(f"wrote {count} reference files to {display_path(destination)}", markup=False)


@app.command()
@handles_bad_input
def plan(
    stack: Annotated[str, typer.Option("--stack", help="Stack name (stacks/Pulumi.<stack>.yaml): dev, staging, prod, or e.g. prod-eu-west-1.")],
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
        SpinnerColumn(), TextColumn("{task.description}", markup=False), TimeElapsedColumn(), console=err_console, transient=True
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
        f"plan {stack}: {summary['resources']} resources in {summary['components']} components, "
        f"{summary['models']} models, {summary['node_pools']} node pools; "
        f"${result.cost.monthly_usd:,.0f}/month steady, ${result.cost.expected_monthly_usd:,.0f} expected, "
        f"${result.cost.peak_monthly_usd:,.0f} at peak (node pools; all costs expected "
        f"${result.cost.total_expected_monthly_usd:,.0f}) "
        f"(naive ${result.cost.naive_monthly_usd:,.0f}); "
        f"policy: {summary['policy']['violations']} violations ({mandatory} mandatory)"
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
    if result.readiness is not None and result.readiness.mandatory:
        lines.append(
            f"deploy readiness: {result.readiness.mandatory} mandatory findings"
            f"{'' if result.readiness.blocks else ' (not enforced)'} (all of them in {result.out_dir}/policy.json and report.md)"
        )
    if lines:
        # One plain write: rich renders line by line (~1 ms a line), and a large fleet can have thousands.
        sys.stderr.write("\n".join(lines) + "\n")
    raise typer.Exit(result.exit_code)


@app.command()
@handles_bad_input
def cost(
    stack: Annotated[str, typer.Option("--stack", help="Stack name (stacks/Pulumi.<stack>.yaml): dev, staging, prod, or e.g. prod-eu-west-1.")],
    specs: SpecsOption = DEFAULT_SPECS,
    as_json: Annotated[bool, typer.Option("--json", metavar=FLAG, help="Print cost.json instead of tables.")] = False,
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
    except KeyboardInterrupt:
        code = 130
    except Exception as error:  # noqa: BLE001 - outside any command (option parsing, imports): still exit 3
        code = report_internal_error(error)
    exit_without_teardown(code)


def _exit_code(code: object) -> int:
    """The process exit status `sys.exit(code)` would give; a message instead of a code is a crash (exit 3)."""
    if code is None:
        return EXIT_OK
    if isinstance(code, int):
        return code
    err_console.print(f"internal error: exit with message: {code}")
    return EXIT_INTERNAL
