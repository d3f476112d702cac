"""The model registry against a local moto server: publish, list, promote, refusals, outages, races, snapshots."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import boto3
import pytest

from inferstack.gate import GateReport, run_gate
from inferstack.problems import InputError
from inferstack.registry.records import artifact_key, metadata_key
from inferstack.registry.snapshot import load_registry_snapshot, take_snapshot, write_registry_snapshot
from inferstack.registry.store import ModelRegistry, PromotionRefused, RegistryError, promote
from inferstack.spec.model import ModelSpec
from tests.aws_fixtures import ModelStores
from tests.onnx_models import save, scorer_model, scorer_spec_document

FAST = {"warmup": 1, "min_iterations": 100, "max_iterations": 100, "time_budget_s": 0.5}
SPEC = ModelSpec.model_validate(scorer_spec_document())


def registry(stores: ModelStores, environment: str = "dev", kms_key_id: str | None = None) -> ModelRegistry:
    return ModelRegistry.connect(environment, stores.buckets[environment], stores.regions[environment], kms_key_id)  # type: ignore[arg-type]


def gated(tmp_path: Path, name: str = "model.onnx", seed: int = 1, emit_nan: bool = False) -> tuple[Path, GateReport]:
    model = save(scorer_model(seed=seed, emit_nan=emit_nan), tmp_path / name)
    return model, run_gate(model, SPEC, **FAST)


def keys(stores: ModelStores, environment: str = "dev") -> list[str]:
    listing = stores.s3(environment).list_objects_v2(Bucket=stores.buckets[environment])
    return sorted(item["Key"] for item in listing.get("Contents", []))


def on_call(target: ModelRegistry, operation: str, key: str, action: Any) -> None:
    """Run `action()` just before the client sends `operation` for `key`."""

    def handler(params: dict[str, Any], **_: Any) -> None:
        if params.get("Key") == key:
            action()

    target.s3.meta.events.register(f"provide-client-params.s3.{operation}", handler)


def test_publish_then_list_shows_an_encrypted_version_with_its_metadata(model_stores: ModelStores, tmp_path: Path) -> None:
    model, report = gated(tmp_path)
    dev = registry(model_stores)
    published = dev.publish(model, SPEC, "1.0.0", report)

    entries = dev.list_versions()
    assert [(e.metadata.model, e.metadata.version, e.stage) for e in entries] == [("fraud-scorer", "1.0.0", "none")]
    stored = entries[0].metadata
    assert stored == published
    assert stored.sha256 == report.sha256 and stored.size_bytes == model.stat().st_size
    assert stored.owner == "risk-ml@example.com" and stored.lineage is not None and stored.lineage.dataset_version == "2026-10-01"
    assert stored.gate.passed and stored.published_by == "arn:aws:sts::123456789012:user/moto"
    assert stored.storage_uri == f"s3://{model_stores.buckets['dev']}/models/risk/fraud-scorer/1.0.0/"
    head = model_stores.s3().head_object(Bucket=model_stores.buckets["dev"], Key=artifact_key("risk", "fraud-scorer", "1.0.0"))
    assert head["ServerSideEncryption"] == "aws:kms" and head["SSEKMSKeyId"] == model_stores.kms_key_arn
    assert dev.list_versions("other-model") == []


def test_publish_uses_the_configured_kms_key(model_stores: ModelStores, tmp_path: Path) -> None:
    own_key = boto3.client("kms", region_name="us-east-1").create_key()["KeyMetadata"]["Arn"]
    model, report = gated(tmp_path)
    published = registry(model_stores, kms_key_id=own_key).publish(model, SPEC, "1.0.0", report)
    assert published.kms_key_id == own_key


def test_overwriting_a_version_is_refused(model_stores: ModelStores, tmp_path: Path) -> None:
    dev = registry(model_stores)
    model, report = gated(tmp_path)
    dev.publish(model, SPEC, "1.0.0", report)
    other, other_report = gated(tmp_path, "other.onnx", seed=2)
    with pytest.raises(InputError, match="already exists"):
        dev.publish(other, SPEC, "1.0.0", other_report)
    assert dev.list_versions()[0].metadata.sha256 == report.sha256


def test_checksum_pinned_in_the_spec_must_match_before_anything_is_sent(model_stores: ModelStores, tmp_path: Path) -> None:
    model, report = gated(tmp_path)
    pinned = ModelSpec.model_validate(scorer_spec_document(artifact={"format": "onnx", "version": "1.0.0", "sha256": "0" * 64}))
    with pytest.raises(InputError, match="expected 0000"):
        registry(model_stores).publish(model, pinned, "1.0.0", report)
    assert keys(model_stores) == []


def test_stored_bytes_that_differ_from_the_file_record_no_version(model_stores: ModelStores, tmp_path: Path) -> None:
    dev = registry(model_stores)
    model, report = gated(tmp_path)
    key = artifact_key("risk", "fraud-scorer", "1.0.0")
    corrupt = lambda: model_stores.s3().put_object(Bucket=model_stores.buckets["dev"], Key=key, Body=b"flipped bits")  # noqa: E731
    on_call(dev, "HeadObject", key, corrupt)
    with pytest.raises(RegistryError, match="does not match the file"):
        dev.publish(model, SPEC, "1.0.0", report)
    assert metadata_key("risk", "fraud-scorer", "1.0.0") not in keys(model_stores)
    assert dev.list_versions() == []


def test_server_dying_mid_publish_leaves_no_visible_version_and_a_retry_completes(model_stores: ModelStores, tmp_path: Path) -> None:
    dev = registry(model_stores)
    model, report = gated(tmp_path)
    on_call(dev, "PutObject", metadata_key("risk", "fraud-scorer", "1.0.0"), model_stores.server.stop)
    with pytest.raises(RegistryError) as caught:
        dev.publish(model, SPEC, "1.0.0", report)
    assert caught.value.message.startswith(f"registry: cannot reach the model store at {model_stores.server.url}")
    assert "\n" not in caught.value.message

    model_stores.server.start()
    assert artifact_key("risk", "fraud-scorer", "1.0.0") in keys(model_stores)  # the artifact got there ...
    fresh = registry(model_stores)
    assert fresh.list_versions() == []  # ... but no version shows without its metadata
    fresh.publish(model, SPEC, "1.0.0", report)  # the same bytes resume the unfinished publish
    assert [e.metadata.version for e in fresh.list_versions()] == ["1.0.0"]


def test_an_unfinished_publish_of_other_bytes_blocks_the_version(model_stores: ModelStores, tmp_path: Path) -> None:
    dev = registry(model_stores)
    model, report = gated(tmp_path)
    model_stores.s3().put_object(Bucket=model_stores.buckets["dev"], Key=artifact_key("risk", "fraud-scorer", "1.0.0"), Body=b"old")
    with pytest.raises(InputError, match="unfinished or concurrent publish"):
        dev.publish(model, SPEC, "1.0.0", report)


def race(stores: ModelStores, tmp_path: Path, meeting_key: str, seeds: tuple[int, int]) -> tuple[list[Any], list[BaseException]]:
    """Two publishers of version 1.0.0 that meet at `meeting_key` and send that request at the same moment."""
    barrier = threading.Barrier(2, timeout=20)
    winners: list[Any] = []
    losers: list[BaseException] = []
    jobs = []
    for index, seed in enumerate(seeds):
        model, report = gated(tmp_path, f"model-{index}.onnx", seed=seed)
        publisher = registry(stores)
        on_call(publisher, "PutObject", meeting_key, barrier.wait)
        jobs.append((publisher, model, report))

    def publish(publisher: ModelRegistry, model: Path, report: GateReport) -> None:
        try:
            winners.append(publisher.publish(model, SPEC, "1.0.0", report))
        except InputError as error:
            losers.append(error)

    threads = [threading.Thread(target=publish, args=job) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return winners, losers


def test_two_concurrent_publishes_of_different_bytes_exactly_one_wins(model_stores: ModelStores, tmp_path: Path) -> None:
    winners, losers = race(model_stores, tmp_path, artifact_key("risk", "fraud-scorer", "1.0.0"), (1, 2))
    assert len(winners) == 1 and len(losers) == 1, (winners, losers)
    listed = registry(model_stores).list_versions()
    assert [entry.metadata.sha256 for entry in listed] == [winners[0].sha256]


def test_two_concurrent_publishes_of_the_same_bytes_exactly_one_records_the_version(model_stores: ModelStores, tmp_path: Path) -> None:
    winners, losers = race(model_stores, tmp_path, metadata_key("risk", "fraud-scorer", "1.0.0"), (1, 1))
    assert len(winners) == 1 and len(losers) == 1, (winners, losers)
    assert "published concurrently" in str(losers[0])
    assert [entry.metadata.publish_id for entry in registry(model_stores).list_versions()] == [winners[0].publish_id]


def test_promote_to_staging_then_prod_records_approvals_and_copies_the_artifact(model_stores: ModelStores, tmp_path: Path) -> None:
    dev, staging, prod = (registry(model_stores, env) for env in ("dev", "staging", "prod"))
    model, report = gated(tmp_path)
    dev.publish(model, SPEC, "1.0.0", report)

    with pytest.raises(PromotionRefused, match="has not been promoted to staging"):
        promote(staging, prod, "fraud-scorer", "1.0.0", "prod")
    assert keys(model_stores, "prod") == []

    approval = promote(dev, staging, "fraud-scorer", "1.0.0", "staging", approved_by="alice")
    assert approval.approved_by == "alice" and approval.gate.passed
    assert approval.gate.p95_ms_batch1 == report.latency[0].p95_ms
    assert approval.gate.peak_memory_mib == report.memory.peak_mib
    assert [(e.metadata.version, e.stage) for e in staging.list_versions()] == [("1.0.0", "staging")]

    promote(staging, prod, "fraud-scorer", "1.0.0", "prod")
    [entry] = prod.list_versions()
    assert entry.stage == "prod" and entry.metadata.sha256 == report.sha256
    assert entry.approvals[0].approved_by == "arn:aws:sts::123456789012:user/moto"
    head = model_stores.s3("prod").head_object(Bucket=model_stores.buckets["prod"], Key=artifact_key("risk", "fraud-scorer", "1.0.0"))
    assert head["ServerSideEncryption"] == "aws:kms"
    with pytest.raises(InputError, match="already approved for prod"):
        promote(staging, prod, "fraud-scorer", "1.0.0", "prod")


def test_staging_needs_a_passed_gate_and_a_published_version(model_stores: ModelStores, tmp_path: Path) -> None:
    dev, staging = registry(model_stores, "dev"), registry(model_stores, "staging")
    model, report = gated(tmp_path, emit_nan=True)
    assert not report.passed
    dev.publish(model, SPEC, "1.0.0", report)
    with pytest.raises(PromotionRefused, match="did not pass the model gate"):
        promote(dev, staging, "fraud-scorer", "1.0.0", "staging")
    with pytest.raises(InputError, match="no version 9.9.9"):
        promote(dev, staging, "fraud-scorer", "9.9.9", "staging")
    assert keys(model_stores, "staging") == []


def test_snapshot_round_trip_gives_stage_and_peak_memory(model_stores: ModelStores, tmp_path: Path) -> None:
    dev, staging, prod = (registry(model_stores, env) for env in ("dev", "staging", "prod"))
    model, report = gated(tmp_path)
    dev.publish(model, SPEC, "1.0.0", report)
    promote(dev, staging, "fraud-scorer", "1.0.0", "staging")
    promote(staging, prod, "fraud-scorer", "1.0.0", "prod")

    path = tmp_path / "snapshot" / "prod.json"
    write_registry_snapshot(take_snapshot(prod), path)
    snapshot = load_registry_snapshot(path)
    assert snapshot.environment == "prod" and snapshot.bucket == model_stores.buckets["prod"]
    assert snapshot.stage_of("fraud-scorer", "1.0.0") == "prod"
    assert snapshot.stage_of("fraud-scorer", "2.0.0") == "none"
    assert snapshot.peak_memory_mib("fraud-scorer", "1.0.0") == report.memory.peak_mib
    assert [a.stage for a in snapshot.versions[0].approvals] == ["prod"]
    assert load_registry_snapshot(write_snapshot_of(take_snapshot(dev), tmp_path)).stage_of("fraud-scorer", "1.0.0") == "none"


def write_snapshot_of(snapshot: Any, tmp_path: Path) -> Path:
    path = tmp_path / "dev.json"
    write_registry_snapshot(snapshot, path)
    return path


def test_malformed_snapshots_are_bad_input(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    with pytest.raises(InputError, match="cannot read the snapshot"):
        load_registry_snapshot(broken)
    wrong = tmp_path / "wrong.json"
    wrong.write_text('{"environment": "qa", "bucket": "b", "taken_at": "t", "versions": [], "extra": 1}', encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_registry_snapshot(wrong)
    assert {problem.path for problem in caught.value.problems} == {"environment", "extra"}
    with pytest.raises(InputError, match="no such file"):
        load_registry_snapshot(tmp_path / "missing.json")


def test_unreachable_store_and_missing_bucket_are_one_line_errors(model_stores: ModelStores) -> None:
    missing = ModelRegistry.connect("dev", "no-such-bucket", "us-east-1")
    with pytest.raises(RegistryError, match="bucket 'no-such-bucket' of the dev model store does not exist"):
        missing.list_versions()
    model_stores.server.stop()
    with pytest.raises(RegistryError, match=r"cannot reach the model store at http://127\.0\.0\.1:\d+"):
        registry(model_stores).list_versions()
