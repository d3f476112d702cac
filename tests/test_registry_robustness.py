"""Registry robustness against moto: bad records and tampered artifacts confined to their version, clean failed promotes,
semantic version order, --json on list/snapshot/cost, AWS settings errors as one line with exit 2."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from inferstack.cli import app
from inferstack.gate import GateReport, run_gate
from inferstack.problems import InputError
from inferstack.registry.records import approval_key, artifact_key, metadata_key
from inferstack.registry.snapshot import take_snapshot
from inferstack.registry.store import ModelRegistry, PromotionRefused, RegistryError, promote, version_sort_key
from inferstack.spec.model import ModelSpec
from tests.aws_fixtures import ModelStores
from tests.onnx_models import save, scorer_model, scorer_spec_document

FAST = {"warmup": 1, "min_iterations": 100, "max_iterations": 100, "time_budget_s": 0.5}
SPEC = ModelSpec.model_validate(scorer_spec_document())


pytestmark = pytest.mark.usefixtures("no_progress_lines")


def registry(stores: ModelStores, environment: str = "dev") -> ModelRegistry:
    return ModelRegistry.connect(environment, stores.buckets[environment], stores.regions[environment])  # type: ignore[arg-type]


def publish_versions(stores: ModelStores, tmp_path: Path, versions: list[str]) -> tuple[Path, GateReport]:
    model = save(scorer_model(), tmp_path / "model.onnx")
    report = run_gate(model, SPEC, **FAST)
    assert report.passed, report.failures
    dev = registry(stores)
    for version in versions:
        dev.publish(model, SPEC, version, report)
    return model, report


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    assert "Traceback" not in result.output, result.output
    return result.exit_code, result.stdout, result.stderr


def put(stores: ModelStores, environment: str, key: str, body: bytes) -> None:
    stores.s3(environment).put_object(Bucket=stores.buckets[environment], Key=key, Body=body)


def keys(stores: ModelStores, environment: str) -> list[str]:
    listing = stores.s3(environment).list_objects_v2(Bucket=stores.buckets[environment])
    return sorted(item["Key"] for item in listing.get("Contents", []))


def test_malformed_metadata_marks_only_its_version_unusable(model_stores: ModelStores, tmp_path: Path) -> None:
    publish_versions(model_stores, tmp_path, ["1.0.0", "2.0.0"])
    put(model_stores, "dev", metadata_key("risk", "fraud-scorer", "1.0.0"), b'{"format": "inferstack.registry.version/v1", "model": 3}')
    inventory = registry(model_stores).inventory()
    assert [entry.metadata.version for entry in inventory.entries] == ["2.0.0"]
    [bad] = inventory.unusable
    assert (bad.model, bad.version) == ("fraud-scorer", "1.0.0")
    assert "metadata.json is not a valid version record" in bad.reason and "model" in bad.reason

    stacks = str(model_stores.stacks_dir)
    code, out, err = invoke("registry", "list", "--stacks", stacks)
    assert code == 0 and "2.0.0" in out and "UNUSABLE" in out
    assert "unusable: risk/fraud-scorer 1.0.0: metadata.json is not a valid version record" in err
    code, out, _ = invoke("registry", "list", "--stacks", stacks, "--json")
    document = json.loads(out)
    assert [item["version"] for item in document["versions"]] == ["2.0.0"]
    assert document["unusable"][0]["version"] == "1.0.0" and document["unusable"][0]["reason"] == bad.reason

    code, out, err = invoke("registry", "snapshot", "--stack", "dev", "--stacks", stacks, "--json")
    assert code == 0, err
    snapshot = json.loads(out)
    assert [item["version"] for item in snapshot["versions"]] == ["2.0.0"]
    assert snapshot["unusable"][0]["reason"] == bad.reason


def test_malformed_approval_marks_only_its_version_unusable(model_stores: ModelStores, tmp_path: Path) -> None:
    publish_versions(model_stores, tmp_path, ["1.0.0", "2.0.0"])
    dev, staging = registry(model_stores, "dev"), registry(model_stores, "staging")
    promote(dev, staging, "fraud-scorer", "1.0.0", "staging")
    promote(dev, staging, "fraud-scorer", "2.0.0", "staging")
    put(model_stores, "staging", approval_key("risk", "fraud-scorer", "1.0.0", "staging"), b"not json at all")
    snapshot = take_snapshot(staging)
    assert snapshot.stage_of("fraud-scorer", "2.0.0") == "staging"
    assert snapshot.stage_of("fraud-scorer", "1.0.0") == "none"
    [bad] = snapshot.unusable
    assert bad.version == "1.0.0" and bad.reason.startswith("approvals/staging.json is not a valid approval record")


def test_tampered_approved_artifact_is_not_snapshotted_as_approved(model_stores: ModelStores, tmp_path: Path) -> None:
    publish_versions(model_stores, tmp_path, ["1.0.0", "2.0.0"])
    dev, staging, prod = (registry(model_stores, env) for env in ("dev", "staging", "prod"))
    for version in ("1.0.0", "2.0.0"):
        promote(dev, staging, "fraud-scorer", version, "staging")
        promote(staging, prod, "fraud-scorer", version, "prod")
    put(model_stores, "prod", artifact_key("risk", "fraud-scorer", "1.0.0"), b"overwritten after approval")
    snapshot = take_snapshot(prod)
    assert snapshot.stage_of("fraud-scorer", "1.0.0") == "none"
    assert snapshot.stage_of("fraud-scorer", "2.0.0") == "prod"
    [bad] = snapshot.unusable
    assert bad.version == "1.0.0" and "artifact fails its manifest" in bad.reason and "model.onnx" in bad.reason
    # An overwrite with the same size is caught too (the ETag changes with any rewrite).
    original = model_stores.s3("prod").get_object(Bucket=model_stores.buckets["prod"], Key=artifact_key("risk", "fraud-scorer", "2.0.0"))
    body = bytearray(original["Body"].read())
    body[-1] ^= 0xFF
    put(model_stores, "prod", artifact_key("risk", "fraud-scorer", "2.0.0"), bytes(body))
    assert {item.version for item in take_snapshot(prod).unusable} == {"1.0.0", "2.0.0"}


def test_corrupt_source_refuses_promotion_and_copies_nothing(model_stores: ModelStores, tmp_path: Path) -> None:
    publish_versions(model_stores, tmp_path, ["1.0.0"])
    put(model_stores, "dev", artifact_key("risk", "fraud-scorer", "1.0.0"), b"bit rot")
    with pytest.raises(PromotionRefused) as caught:
        promote(registry(model_stores, "dev"), registry(model_stores, "staging"), "fraud-scorer", "1.0.0", "staging")
    assert "the dev artifact of fraud-scorer 1.0.0 is corrupt" in caught.value.message and "copy" not in caught.value.message.split(";")[0]
    assert keys(model_stores, "staging") == []


def test_deleted_source_artifact_is_reported_as_missing(model_stores: ModelStores, tmp_path: Path) -> None:
    publish_versions(model_stores, tmp_path, ["1.0.0"])
    model_stores.s3("dev").delete_object(Bucket=model_stores.buckets["dev"], Key=artifact_key("risk", "fraud-scorer", "1.0.0"))
    with pytest.raises(RegistryError) as caught:
        promote(registry(model_stores, "dev"), registry(model_stores, "staging"), "fraud-scorer", "1.0.0", "staging")
    assert "is incomplete" in caught.value.message and "is missing (deleted after publish?)" in caught.value.message
    assert "permission" not in caught.value.message
    assert keys(model_stores, "staging") == []
    code, _, err = invoke("registry", "list", "--stack", "dev", "--verify", "--stacks", str(model_stores.stacks_dir))
    assert code == 0 and "is missing (deleted after publish?)" in err


def test_failed_copy_is_named_and_leaves_nothing_in_the_target(model_stores: ModelStores, tmp_path: Path) -> None:
    publish_versions(model_stores, tmp_path, ["1.0.0"])
    staging = registry(model_stores, "staging")
    key = artifact_key("risk", "fraud-scorer", "1.0.0")

    def garble(params: dict[str, Any], **_: Any) -> None:
        if params.get("Key") == key:
            put(model_stores, "staging", key, b"garbled in transit")

    staging.s3.meta.events.register("provide-client-params.s3.HeadObject", garble)
    with pytest.raises(RegistryError) as caught:
        promote(registry(model_stores, "dev"), staging, "fraud-scorer", "1.0.0", "staging")
    assert caught.value.message.startswith("registry: copy failure:") and "corrupt" not in caught.value.message
    assert keys(model_stores, "staging") == []


def test_versions_sort_semantically(model_stores: ModelStores, tmp_path: Path) -> None:
    assert sorted(["10.0.0", "3.2.0", "3.10.0", "1.0.0-rc1", "1.0.0", "2"], key=version_sort_key) == [
        "1.0.0-rc1", "1.0.0", "2", "3.2.0", "3.10.0", "10.0.0"
    ]
    publish_versions(model_stores, tmp_path, ["10.0.0", "3.2.0", "3.10.0"])
    assert [entry.metadata.version for entry in registry(model_stores).list_versions()] == ["3.2.0", "3.10.0", "10.0.0"]
    code, out, _ = invoke("registry", "list", "--stacks", str(model_stores.stacks_dir), "--json")
    assert [item["version"] for item in json.loads(out)["versions"]] == ["3.2.0", "3.10.0", "10.0.0"]


def test_json_flags_take_no_value_in_help() -> None:
    for command in (["registry", "list"], ["registry", "snapshot"], ["cost"]):
        result = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": "120"})
        [line] = [line for line in result.output.splitlines() if line.strip("│ *").startswith("--json")]
        assert "<bool>" not in line and "TEXT" not in line, line


def test_cost_json_flag(tmp_path: Path) -> None:
    repo = Path(__file__).resolve().parents[1]
    code, out, err = invoke("cost", "--stack", "dev", "--specs", str(repo / "model_specs"), "--stacks", str(repo / "stacks"), "--json")
    assert code == 0, err
    assert json.loads(out)["currency"] == "USD"


def test_missing_aws_profile_is_one_line_and_exit_2(model_stores: ModelStores, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AWS_PROFILE", "no-such-profile")
    stacks = str(model_stores.stacks_dir)
    code, _, err = invoke("registry", "list", "--stacks", stacks)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "AWS_PROFILE" in err and "'no-such-profile'" in err and "expected" in err
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "s.yaml").write_text(yaml.safe_dump(scorer_spec_document()), encoding="utf-8")
    model = save(scorer_model(), tmp_path / "model.onnx")
    code, _, err = invoke("publish", str(model), "--spec", "fraud-scorer", "--version", "1.0.0", "--specs", str(specs), "--stacks", stacks)
    assert code == 2 and "no-such-profile" in err and len(err.strip().splitlines()) == 1


def test_missing_credentials_are_one_line_and_exit_2(model_stores: ModelStores, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    code, _, err = invoke("registry", "snapshot", "--stack", "prod", "--json", "--stacks", str(model_stores.stacks_dir))
    assert code == 2 and len(err.strip().splitlines()) == 1 and "no usable AWS credentials" in err


def test_race_loser_is_not_told_to_delete_the_winners_object(model_stores: ModelStores, tmp_path: Path) -> None:
    dev = registry(model_stores)
    model = save(scorer_model(), tmp_path / "model.onnx")
    report = run_gate(model, SPEC, **FAST)
    put(model_stores, "dev", artifact_key("risk", "fraud-scorer", "1.0.0"), b"another publisher's bytes")
    with pytest.raises(InputError) as caught:
        dev.publish(model, SPEC, "1.0.0", report)
    message = str(caught.value)
    assert "unfinished or concurrent publish" in message and "may still be in progress" in message
    assert "delete" not in message


def test_records_written_before_manifests_still_list_verify_and_promote(model_stores: ModelStores, tmp_path: Path) -> None:
    """A metadata.json from before manifests and verdicts (no files, no artifact_kind, gate without verdict)."""
    publish_versions(model_stores, tmp_path, ["1.0.0"])
    key = metadata_key("risk", "fraud-scorer", "1.0.0")
    s3 = model_stores.s3("dev")
    record = json.loads(s3.get_object(Bucket=model_stores.buckets["dev"], Key=key)["Body"].read())
    for field in ("files", "artifact_kind"):
        del record[field]
    for field in ("verdict", "latency_verdict", "manifest"):
        del record["gate"][field]
    put(model_stores, "dev", key, json.dumps(record).encode())
    dev = registry(model_stores)
    [entry] = dev.list_versions()
    assert entry.metadata.files == [] and entry.metadata.gate.verdict == "pass"
    assert dev.verify_files(entry.metadata, deep=True) == [] and dev.inventory(verify=True).unusable == []
    promote(dev, registry(model_stores, "staging"), "fraud-scorer", "1.0.0", "staging")
    assert take_snapshot(registry(model_stores, "staging")).stage_of("fraud-scorer", "1.0.0") == "staging"
