"""Artifacts as sets of files: ONNX with external data and directory artifacts, gated from another working directory,
published, promoted and snapshotted against moto with every file verified; the size limit."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import onnx
import pytest
import yaml
from typer.testing import CliRunner

from inferstack.cli import app
from inferstack.gate import collect_artifact, run_gate
from inferstack.problems import InputError
from inferstack.registry.snapshot import take_snapshot
from inferstack.registry.store import ModelRegistry, promote
from inferstack.spec.model import ModelSpec
from tests.aws_fixtures import ModelStores
from tests.onnx_models import save, save_with_external_data, scorer_model, scorer_spec_document

FAST = {"warmup": 1, "min_iterations": 100, "max_iterations": 100, "time_budget_s": 0.5}


pytestmark = pytest.mark.usefixtures("no_progress_lines")


def spec(**changes: Any) -> ModelSpec:
    return ModelSpec.model_validate(scorer_spec_document(**changes))


def registry(stores: ModelStores, environment: str) -> ModelRegistry:
    return ModelRegistry.connect(environment, stores.buckets[environment], stores.regions[environment])  # type: ignore[arg-type]


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def external_data_model(folder: Path) -> Path:
    folder.mkdir(parents=True)
    return save_with_external_data(scorer_model(), folder / "model.onnx")


def huggingface_folder(folder: Path) -> Path:
    """An optimum-style export: config and tokenizer files, the ONNX graph under onnx/ with its weights in model.onnx_data."""
    (folder / "onnx").mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"model_type": "scorer", "hidden_size": 128}), encoding="utf-8")
    (folder / "tokenizer.json").write_text(json.dumps({"version": "1.0", "model": {"type": "WordLevel"}}), encoding="utf-8")
    save_with_external_data(scorer_model(seed=3), folder / "onnx" / "model.onnx", "model.onnx_data")
    return folder


def triton_repository(folder: Path) -> Path:
    """A Triton model repository: <model>/config.pbtxt and numbered versions; Triton serves the highest."""
    for version, seed in (("1", 4), ("2", 5)):
        (folder / "fraud-scorer" / version).mkdir(parents=True)
        save(scorer_model(seed=seed), folder / "fraud-scorer" / version / "model.onnx")
    (folder / "fraud-scorer" / "config.pbtxt").write_text('name: "fraud-scorer"\nplatform: "onnxruntime_onnx"\n', encoding="utf-8")
    return folder


def test_external_data_model_is_gated_from_another_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = external_data_model(tmp_path / "models")
    assert (tmp_path / "models" / "model.onnx").stat().st_size < 1000  # the stub: the weights are in the .data file
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    report = run_gate(Path("../models/model.onnx"), spec(), **FAST)
    assert report.passed, report.failures
    assert report.manifest is not None and report.manifest.kind == "onnx-external-data"
    assert {item.path: item.sha256 for item in report.manifest.files} == {
        "model.onnx": sha(model),
        "model.onnx.data": sha(model.with_name("model.onnx.data")),
    }
    assert report.size_bytes == model.stat().st_size + model.with_name("model.onnx.data").stat().st_size
    assert report.sha256 == hashlib.sha256(report.manifest.text().encode()).hexdigest()


def test_missing_external_data_is_named(tmp_path: Path) -> None:
    model = external_data_model(tmp_path / "models")
    model.with_name("model.onnx.data").unlink()
    with pytest.raises(InputError) as caught:
        run_gate(model, spec(), **FAST)
    assert "external data 'model.onnx.data'" in str(caught.value) and "does not exist" in str(caught.value)


def test_directory_artifacts_find_their_entry_point(tmp_path: Path) -> None:
    hf = collect_artifact(huggingface_folder(tmp_path / "hf"))
    assert hf.manifest.kind == "directory" and hf.manifest.entry == "onnx/model.onnx"
    assert [item.path for item in hf.manifest.files] == ["config.json", "onnx/model.onnx", "onnx/model.onnx_data", "tokenizer.json"]
    triton = collect_artifact(triton_repository(tmp_path / "triton"))
    assert triton.manifest.entry == "fraud-scorer/2/model.onnx"
    assert len(triton.manifest.files) == 3
    two = tmp_path / "two"
    two.mkdir()
    save(scorer_model(), two / "a.onnx")
    save(scorer_model(), two / "b.onnx")
    with pytest.raises(InputError, match="several ONNX models"):
        collect_artifact(two)


def test_size_limit_is_configurable_with_a_clear_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = external_data_model(tmp_path / "models")
    with pytest.raises(InputError) as caught:
        run_gate(model, spec(), max_bytes=10_000, **FAST)
    message = str(caught.value)
    assert "expected at most" in message and "--max-artifact-gib" in message and "INFERSTACK_MAX_ARTIFACT_GIB" in message
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "s.yaml").write_text(yaml.safe_dump(scorer_spec_document()), encoding="utf-8")
    result = CliRunner().invoke(
        app, ["gate", str(model), "--spec", "fraud-scorer", "--specs", str(specs), "--max-artifact-gib", "0.000001"]
    )
    assert result.exit_code == 2 and "expected at most" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    monkeypatch.setenv("INFERSTACK_MAX_ARTIFACT_GIB", "0.000001")
    result = CliRunner().invoke(app, ["gate", str(model), "--spec", "fraud-scorer", "--specs", str(specs)])
    assert result.exit_code == 2 and "expected at most" in result.stderr


def published_files_match(stores: ModelStores, environment: str, prefix: str, local: dict[str, Path]) -> None:
    """Every local file is stored under prefix with the same bytes."""
    s3 = stores.s3(environment)
    for relative, path in local.items():
        body = s3.get_object(Bucket=stores.buckets[environment], Key=prefix + relative)["Body"].read()
        assert hashlib.sha256(body).hexdigest() == sha(path), relative


@pytest.mark.parametrize("kind", ["external-data", "huggingface"])
def test_multi_file_artifact_publish_promote_snapshot(
    kind: str, model_stores: ModelStores, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if kind == "external-data":
        artifact = external_data_model(tmp_path / "models")
        local_root = artifact.parent
        the_spec = spec()
    else:
        artifact = huggingface_folder(tmp_path / "hf-export")
        local_root = artifact
        # huggingface runs on vLLM, which needs a GPU and batches continuously (runtime catalogue, issue 14).
        the_spec = spec(
            artifact={"format": "huggingface", "version": "1.0.0"},
            accelerator={"gpu_type": "l4", "gpus_per_replica": 1, "gpu_memory_gib": 16},
            serving={},
        )
    local = {p.relative_to(local_root).as_posix(): p for p in sorted(local_root.rglob("*")) if p.is_file()}
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    report = run_gate(artifact, the_spec, **FAST)
    assert report.passed, report.failures

    dev, staging, prod = (registry(model_stores, env) for env in ("dev", "staging", "prod"))
    published = dev.publish(artifact, the_spec, "1.0.0", report)
    prefix = "models/risk/fraud-scorer/1.0.0/artifact/"
    assert published.storage_uri == f"s3://{model_stores.buckets['dev']}/{prefix}"
    assert sorted(item.path for item in published.files) == sorted(local)
    published_files_match(model_stores, "dev", prefix, local)

    promote(dev, staging, "fraud-scorer", "1.0.0", "staging")
    promote(staging, prod, "fraud-scorer", "1.0.0", "prod")
    published_files_match(model_stores, "prod", prefix, local)
    [entry] = prod.list_versions()
    assert entry.stage == "prod" and prod.verify_files(entry.metadata, deep=True) == []
    snapshot = take_snapshot(prod)
    assert snapshot.stage_of("fraud-scorer", "1.0.0") == "prod" and snapshot.unusable == []
    assert snapshot.versions[0].sha256 == report.sha256


def test_large_files_go_up_as_conditional_multipart_uploads(model_stores: ModelStores, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from inferstack.registry import store

    monkeypatch.setattr(store, "SINGLE_PUT_MAX_BYTES", 100)
    model = external_data_model(tmp_path / "models")
    report = run_gate(model, spec(), **FAST)
    dev = registry(model_stores, "dev")
    published = dev.publish(model, spec(), "1.0.0", report)
    assert dev.verify_files(published, deep=True) == []
    head = model_stores.s3().head_object(Bucket=model_stores.buckets["dev"], Key=published.artifact_key)
    assert head["ServerSideEncryption"] == "aws:kms" and head["Metadata"]["sha256"] == sha(model)
    # A second publish of other bytes under the same version meets the condition on completion, not an overwrite.
    model_stores.s3().delete_object(Bucket=model_stores.buckets["dev"], Key="models/risk/fraud-scorer/1.0.0/metadata.json")
    other = tmp_path / "other"
    other.mkdir()
    other_model = save_with_external_data(scorer_model(seed=9), other / "model.onnx")
    with pytest.raises(InputError, match="unfinished or concurrent publish"):
        dev.publish(other_model, spec(), "1.0.0", run_gate(other_model, spec(), **FAST))
    assert dev.verify_files(published, deep=True) == []


def test_cli_publish_of_an_external_data_model_from_another_directory(
    model_stores: ModelStores, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reported failure: publish uploaded only the 471-byte .onnx stub."""
    model = external_data_model(tmp_path / "models")
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "s.yaml").write_text(yaml.safe_dump(scorer_spec_document()), encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    result = CliRunner().invoke(
        app,
        ["publish", "../models/model.onnx", "--spec", "fraud-scorer", "--version", "1.0.0", "--specs", str(specs),
         "--stacks", str(model_stores.stacks_dir)],
    )
    assert result.exit_code == 0, result.output
    assert "2 files" in result.stdout and "/1.0.0/artifact/" in result.stdout
    local = {"model.onnx": model, "model.onnx.data": model.with_name("model.onnx.data")}
    published_files_match(model_stores, "dev", "models/risk/fraud-scorer/1.0.0/artifact/", local)


def test_a_metadata_entry_named_location_is_not_taken_for_external_data(tmp_path: Path) -> None:
    model = scorer_model()
    onnx.helper.set_model_props(model, {"location": "eu-west-1"})
    path = save(model, tmp_path / "model.onnx")
    artifact = collect_artifact(path)
    assert artifact.manifest.kind == "file" and [item.path for item in artifact.manifest.files] == ["model.onnx"]
