"""publish / promote / registry list / registry snapshot through the CLI: exit codes, messages, no tracebacks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from inferstack.cli import app
from tests.aws_fixtures import ModelStores
from tests.onnx_models import save, scorer_model, scorer_spec_document


pytestmark = pytest.mark.usefixtures("no_progress_lines")


def setup_specs(tmp_path: Path) -> Path:
    folder = tmp_path / "specs"
    folder.mkdir()
    (folder / "scorer.yaml").write_text(yaml.safe_dump(scorer_spec_document()), encoding="utf-8")
    return folder


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    assert "Traceback" not in result.output, result.output
    return result.exit_code, result.stdout, result.stderr


def test_gate_publish_promote_list_snapshot(model_stores: ModelStores, tmp_path: Path) -> None:
    specs, stacks = setup_specs(tmp_path), str(model_stores.stacks_dir)
    model = str(save(scorer_model(), tmp_path / "model.onnx"))
    common = ["--specs", str(specs), "--stacks", stacks]

    code, out, err = invoke("publish", model, "--spec", "fraud-scorer", "--version", "1.0.0", *common)
    assert code == 0, err
    assert "published fraud-scorer 1.0.0 to s3://" in out

    code, _, err = invoke("publish", model, "--spec", "fraud-scorer", "--version", "1.0.0", *common)
    assert code == 2 and "already exists" in err and len(err.strip().splitlines()) == 1

    code, _, err = invoke("promote", "fraud-scorer", "1.0.0", "--to", "prod", "--stacks", stacks)
    assert code == 1 and "has not been promoted to staging" in err

    code, out, err = invoke("promote", "fraud-scorer", "1.0.0", "--to", "staging", "--stacks", stacks)
    assert code == 0 and "promoted fraud-scorer 1.0.0 to staging" in out, err
    code, _, err = invoke("promote", "fraud-scorer", "1.0.0", "--to", "prod", "--stacks", stacks)
    assert code == 0, err

    code, out, _ = invoke("registry", "list", "fraud-scorer", "--stack", "prod", "--stacks", stacks)
    assert code == 0 and "1.0.0" in out and "prod" in out and "passed" in out

    snapshot = tmp_path / "prod-registry.json"
    code, _, err = invoke("registry", "snapshot", "--stack", "prod", "--out", str(snapshot), "--stacks", stacks)
    assert code == 0, err
    [version] = json.loads(snapshot.read_text())["versions"]
    assert (version["model"], version["version"], version["stage"]) == ("fraud-scorer", "1.0.0", "prod")


def test_publish_of_a_failed_gate_uploads_nothing(model_stores: ModelStores, tmp_path: Path) -> None:
    specs = setup_specs(tmp_path)
    model = str(save(scorer_model(emit_nan=True), tmp_path / "nan.onnx"))
    code, _, err = invoke(
        "publish", model, "--spec", "fraud-scorer", "--version", "1.0.0", "--specs", str(specs), "--stacks", str(model_stores.stacks_dir)
    )
    assert code == 1 and "gate failed" in err and "nothing uploaded" in err
    assert "Contents" not in model_stores.s3().list_objects_v2(Bucket=model_stores.buckets["dev"])


def test_bad_input_and_unreachable_store_give_one_line(model_stores: ModelStores, tmp_path: Path) -> None:
    specs, stacks = setup_specs(tmp_path), str(model_stores.stacks_dir)
    model = str(save(scorer_model(), tmp_path / "model.onnx"))
    code, _, err = invoke("publish", model, "--spec", "fraud-scorer", "--version", "bad version!", "--specs", str(specs), "--stacks", stacks)
    assert code == 2 and "not a valid version" in err
    code, _, err = invoke("promote", "fraud-scorer", "1.0.0", "--to", "dev", "--stacks", stacks)
    assert code == 2 and "expected staging or prod" in err
    code, _, err = invoke("registry", "list", "--stack", "qa", "--stacks", stacks)
    assert code == 2 and "unknown stack 'qa'" in err

    model_stores.server.stop()
    code, _, err = invoke("registry", "list", "--stacks", stacks)
    assert code == 1
    assert err.strip().startswith(f"registry: cannot reach the model store at {model_stores.server.url}")
    assert len(err.strip().splitlines()) == 1
    code, _, err = invoke("publish", model, "--spec", "fraud-scorer", "--version", "1.0.0", "--specs", str(specs), "--stacks", stacks)
    assert code == 1 and "cannot reach the model store" in err


def test_snapshot_of_a_store_that_does_not_exist_yet_is_empty_with_a_note(aws_server: object, tmp_path: Path) -> None:
    # Issue 13 item 8: a new environment's snapshot runs before the `pulumi up` that creates its bucket.
    out = tmp_path / "registry.json"
    code, stdout, err = invoke("registry", "snapshot", "--stack", "staging", "--out", str(out))
    assert code == 0, err
    assert "does not exist yet" in err and "empty snapshot" in err
    document = json.loads(out.read_text())
    assert (document["environment"], document["bucket"], document["versions"]) == ("staging", "inferstack-models-staging", [])
    assert "0 version(s)" in stdout
