"""Readable output: registry list and cost tables at 80 columns (identifiers whole), progress on long operations."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest
import yaml
from rich.console import Console
from typer.testing import CliRunner

from inferstack import cli
from inferstack.cli import app
from inferstack.gate import run_gate
from inferstack.registry.store import ModelRegistry
from inferstack.spec.model import ModelSpec
from tests.aws_fixtures import ModelStores
from tests.onnx_models import save, scorer_model, scorer_spec_document

REPO = Path(__file__).resolve().parents[1]
FAST = {"warmup": 1, "min_iterations": 100, "max_iterations": 100, "time_budget_s": 0.5}


@pytest.fixture
def console_80(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's console as on an 80-column terminal (output still goes to the runner's stdout)."""
    monkeypatch.setattr(cli, "console", Console(width=80, soft_wrap=True))


def test_registry_list_fits_80_columns_without_cutting_identifiers(
    model_stores: ModelStores, tmp_path: Path, console_80: None
) -> None:
    spec = ModelSpec.model_validate(scorer_spec_document(name="customer-transaction-fraud-scorer", team="risk-platform-ml"))
    model = save(scorer_model(), tmp_path / "model.onnx")
    report = run_gate(model, spec, **FAST)
    dev = ModelRegistry.connect("dev", model_stores.buckets["dev"], model_stores.regions["dev"])
    versions = ["2026.12.06-rc1", "3.2.0", "10.0.0"]
    for version in versions:
        dev.publish(model, spec, version, report)
    result = CliRunner().invoke(app, ["registry", "list", "--stacks", str(model_stores.stacks_dir)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80, result.stdout
    for identifier in ("risk-platform-ml", *versions, "moto"):
        assert any(identifier in line.split() for line in lines), (identifier, result.stdout)
    assert "…" not in result.stdout
    # The longest identifier does not fit beside the others: it is folded within its column, every character kept.
    header = next(line for line in lines if line.startswith("model"))
    rule = next(index for index, line in enumerate(lines) if line.startswith("─"))
    first_column = "".join(line[: header.index("team")].strip() for line in lines[rule + 1 :])
    assert first_column == "customer-transaction-fraud-scorer" * 3, result.stdout
    assert [line.split()[2] for line in lines if line.startswith("customer")] == ["3.2.0", "10.0.0", "2026.12.06-rc1"]


def test_cost_tables_fit_80_columns_without_cutting_identifiers(console_80: None) -> None:
    result = CliRunner().invoke(app, ["cost", "--stack", "prod", "--specs", str(REPO / "model_specs"), "--stacks", str(REPO / "stacks")])
    assert result.exit_code == 0, result.output
    summary = ("node pools: ", "total: ", "naive ", "savings plan: ", "prices ")  # free-text lines after the tables
    table_lines = [line for line in result.stdout.splitlines() if not line.startswith(summary)]
    assert max(len(line) for line in table_lines) <= 80, result.stdout
    assert "…" not in result.stdout
    from inferstack.compiler import compile_blueprint
    from inferstack.cost import estimate
    from inferstack.spec import load_environment
    from inferstack.spec.loader import load_specs

    figures = estimate(compile_blueprint(load_specs([REPO / "model_specs"]), load_environment(REPO / "stacks", "prod")))
    identifiers = [*figures.by_pool, *(pool.instance_type for pool in figures.by_pool.values()), *figures.by_model, *figures.by_team]
    # Identifiers are never cut or dropped; a long one (a pool name) may be folded within its column onto continuation
    # lines (whose other columns are blank), so the first column is read with the folding undone.
    cells: list[str] = []
    width = next(line for line in table_lines if line.startswith("pool ")).index("instance")
    for line in table_lines[: table_lines.index("teams")]:  # the node-pool table
        first, rest = line[:width].strip(), line[width:].strip()
        if first and not rest and cells:
            cells[-1] += first
        else:
            cells.append(first)
    words = {word for line in table_lines for word in line.split()} | set(cells)
    for identifier in identifiers:
        assert identifier in words, (identifier, result.stdout)


def write_specs(tmp_path: Path) -> Path:
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "s.yaml").write_text(yaml.safe_dump(scorer_spec_document()), encoding="utf-8")
    return specs


def test_progress_outside_a_terminal_is_quiet_lines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    specs = write_specs(tmp_path)
    model = save(scorer_model(), tmp_path / "model.onnx")
    args = ["gate", str(model), "--spec", "fraud-scorer", "--specs", str(specs), "--iterations", "100"]
    monkeypatch.setattr(cli, "QUIET_PROGRESS_S", 30.0)  # the tiny model's gate takes well under this, however busy the machine
    quick = CliRunner().invoke(app, args)
    assert quick.exit_code == 0 and quick.stderr == ""  # a quick gate prints nothing extra
    monkeypatch.setattr(cli, "QUIET_PROGRESS_S", 0.0)  # as if every phase came after the quiet period
    slow = CliRunner().invoke(app, args)
    assert slow.exit_code == 0, slow.output
    lines = slow.stderr.splitlines()
    assert any(line.startswith("gate fraud-scorer: loading model.onnx") for line in lines), lines
    assert any(line.startswith("gate fraud-scorer: measuring batch 8 (4/4)") for line in lines), lines
    assert all("\x1b" not in line for line in lines)  # plain text, no terminal control codes


def test_progress_on_a_terminal_is_a_rich_spinner(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    stream = io.StringIO()
    monkeypatch.setattr(cli, "err_console", Console(file=stream, force_terminal=True, width=80))
    with cli.progress_lines("gate x") as progress:
        progress("measuring batch 1 (1/1)")
    assert "\x1b[" in stream.getvalue()  # drawn (and cleared) with terminal control codes
    monkeypatch.setenv("CI", "true")
    stream.truncate(0)
    with cli.progress_lines("gate x") as progress:
        progress("measuring batch 1 (1/1)")
    assert "\x1b[" not in stream.getvalue()  # CI on a pseudo-terminal gets the plain lines


def test_a_long_phase_begun_in_the_quiet_period_is_still_announced(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cli, "err_console", Console(file=io.StringIO()))  # not a terminal
    monkeypatch.setattr(cli, "QUIET_PROGRESS_S", 1.0)
    with cli.progress_lines("gate x") as progress:
        progress("measuring batch 1 (1/1)")  # before the quiet period ends: not printed yet
        assert capsys.readouterr().err == ""
        # A long phase, and no further call: the heartbeat announces it once the quiet period ends
        # (polled, so a busy machine delays the line instead of failing the test).
        announced = ""
        deadline = time.monotonic() + 30
        while not announced and time.monotonic() < deadline:
            time.sleep(0.05)
            announced = capsys.readouterr().err
    assert announced.startswith("gate x: measuring batch 1 (1/1) ("), announced
