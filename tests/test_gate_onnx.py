"""The model gate on ONNX models built here: pass, SLO miss, NaN output, corrupt file, signature mismatches, CLI exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from onnx import TensorProto
from typer.testing import CliRunner

from inferstack.cli import app
from inferstack.gate import GateReport, batch_sizes_for, run_gate
from inferstack.problems import InputError
from inferstack.spec.model import ModelSpec
from tests.onnx_models import save, scorer_model, scorer_spec_document

FAST = {"warmup": 1, "min_iterations": 100, "max_iterations": 100, "time_budget_s": 0.5}


pytestmark = pytest.mark.usefixtures("no_progress_lines")


def spec(**changes: Any) -> ModelSpec:
    return ModelSpec.model_validate(scorer_spec_document(**changes))


def test_good_model_passes_with_latency_per_batch_and_memory(tmp_path: Path) -> None:
    model = save(scorer_model(), tmp_path / "model.onnx")
    report = run_gate(model, spec(), **FAST)
    assert report.passed, report.failures
    assert report.batch_sizes == [1, 2, 4, 8]
    assert [stats.batch_size for stats in report.latency] == [1, 2, 4, 8]
    for stats in report.latency:
        assert stats.iterations == 100 and stats.warmup_calls >= 1
        assert 0 < stats.p50_ms <= stats.p95_ms <= stats.p99_ms
        assert stats.throughput_per_s > 0
    assert report.provider in ("CPUExecutionProvider", "CUDAExecutionProvider")
    assert report.provider_note
    assert report.memory.peak_rss_mib > 0 and report.memory.rss_delta_mib >= 0
    assert len(report.sha256) == 64 and report.size_bytes == model.stat().st_size
    assert GateReport.model_validate_json(report.model_dump_json()) == report


def test_batch_sizes_double_up_to_max_and_are_one_without_batching() -> None:
    assert batch_sizes_for(spec(serving={"batching": {"max_batch_size": 12, "max_latency_ms": 5}})) == [1, 2, 4, 8, 12]
    assert batch_sizes_for(spec(serving={})) == [1]


def test_p95_above_slo_fails_the_gate(tmp_path: Path) -> None:
    model = save(scorer_model(), tmp_path / "model.onnx")
    strict = scorer_spec_document()
    strict["monitoring"]["latency_p95_ms"] = 0.000001
    report = run_gate(model, ModelSpec.model_validate(strict), **FAST)
    assert not report.passed
    assert any("p95 latency at batch 1" in failure and "monitoring.latency_p95_ms" in failure for failure in report.failures)


def test_nan_output_fails_the_gate(tmp_path: Path) -> None:
    model = save(scorer_model(emit_nan=True), tmp_path / "nan.onnx")
    report = run_gate(model, spec(), **FAST)
    assert not report.passed
    assert any("'probability'" in failure and "NaN or infinite" in failure for failure in report.failures)


def test_corrupt_file_is_bad_input(tmp_path: Path) -> None:
    model = tmp_path / "corrupt.onnx"
    model.write_bytes(save(scorer_model(), tmp_path / "good.onnx").read_bytes()[:200])
    with pytest.raises(InputError) as caught:
        run_gate(model, spec(), **FAST)
    assert "cannot load the model with onnxruntime" in str(caught.value)


def test_signature_mismatch_lists_every_difference(tmp_path: Path) -> None:
    model = save(scorer_model(input_type=TensorProto.DOUBLE, features=16), tmp_path / "model.onnx")
    with pytest.raises(InputError) as caught:
        run_gate(model, spec(), **FAST)
    lines = [str(problem) for problem in caught.value.problems]
    assert any("inputs.features.dtype" in line and "float64" in line for line in lines)
    assert any("inputs.features.shape[1]" in line and "fixed size 16" in line for line in lines)
    assert len(lines) == 2


def test_renamed_input_is_missing_and_undeclared(tmp_path: Path) -> None:
    model = save(scorer_model(input_name="x"), tmp_path / "model.onnx")
    with pytest.raises(InputError) as caught:
        run_gate(model, spec(), **FAST)
    paths = sorted(problem.path for problem in caught.value.problems)
    assert paths == ["inputs.features", "inputs.x"]


def test_spec_without_signature_is_bad_input(tmp_path: Path) -> None:
    model = save(scorer_model(), tmp_path / "model.onnx")
    document = scorer_spec_document()
    del document["signature"]
    with pytest.raises(InputError, match="declares no signature"):
        run_gate(model, ModelSpec.model_validate(document), **FAST)


def test_quantization_advice_reports_a_smaller_file(tmp_path: Path) -> None:
    model = save(scorer_model(), tmp_path / "model.onnx")
    report = run_gate(model, spec(), quantize_advice=True, **FAST)
    advice = report.quantization
    assert advice is not None and advice.applicable, advice
    assert advice.quantized_size_bytes is not None and advice.quantized_size_bytes < advice.original_size_bytes
    assert report.passed


def write_specs(tmp_path: Path, **changes: Any) -> Path:
    folder = tmp_path / "specs"
    folder.mkdir()
    (folder / "scorer.yaml").write_text(yaml.safe_dump(scorer_spec_document(**changes)), encoding="utf-8")
    return folder


def test_cli_gate_exit_codes_and_json(tmp_path: Path) -> None:
    runner = CliRunner()
    specs = write_specs(tmp_path)
    good = save(scorer_model(), tmp_path / "good.onnx")
    nan = save(scorer_model(emit_nan=True), tmp_path / "nan.onnx")
    corrupt = tmp_path / "corrupt.onnx"
    corrupt.write_bytes(b"not an onnx model")
    mismatch = save(scorer_model(features=8), tmp_path / "mismatch.onnx")

    result = runner.invoke(app, ["gate", str(good), "--spec", "fraud-scorer", "--specs", str(specs), "--json", "--iterations", "100"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["passed"] is True and json.loads(result.stdout)["verdict"] == "pass"

    # Too few calls for a p95 interval is refused up front (a 10-call p95 is the largest of 10 samples).
    result = runner.invoke(app, ["gate", str(good), "--spec", "fraud-scorer", "--specs", str(specs), "--iterations", "10"])
    assert result.exit_code == 2 and "'--iterations'" in result.output and "100" in result.output

    result = runner.invoke(app, ["gate", str(nan), "--spec", "fraud-scorer", "--specs", str(specs), "--iterations", "100"])
    assert result.exit_code == 1
    assert "NaN" in result.stderr and "Traceback" not in result.output

    for bad in (corrupt, mismatch, tmp_path / "missing.onnx"):
        result = runner.invoke(app, ["gate", str(bad), "--spec", "fraud-scorer", "--specs", str(specs)])
        assert result.exit_code == 2, result.output
        assert result.stderr.strip() and "Traceback" not in result.output

    result = runner.invoke(app, ["gate", str(good), "--spec", "no-such-model", "--specs", str(specs)])
    assert result.exit_code == 2 and "expected one of: fraud-scorer" in result.stderr
