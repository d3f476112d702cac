"""A registry snapshot: what the offline plan knows about approvals and gate memory, without cloud access.

`inferstack registry snapshot --stack ENV --out FILE` writes it from the
environment's model store; `load_registry_snapshot(FILE)` reads it back. The
plan uses it for the "approved stage in prod" policy (`stage_of`) and for
right-sizing (`peak_memory_mib`).

Format (JSON, one object)::

    {
      "format": "inferstack.registry-snapshot/v1",
      "environment": "prod",                  # store the snapshot was taken from
      "bucket": "inferstack-models-prod",
      "taken_at": "2026-11-25T12:00:00+00:00",
      "versions": [
        {
          "model": "fraud-scorer", "team": "risk", "version": "3.2.0",
          "stage": "prod",                    # none | staging | prod: highest approval in that store
          "sha256": "<64 hex>", "size_bytes": 33998,
          "storage_uri": "s3://inferstack-models-prod/models/risk/fraud-scorer/3.2.0/",
          "gate_passed": true,
          "gate_provider": "CPUExecutionProvider",
          "p95_ms_batch1": 0.05,              # null when not measured
          "peak_memory_mib": 19.2,            # GPU memory on CUDA, else host RSS delta
          "approvals": [{"stage": "staging", "approved_by": "arn:...", "approved_at": "..."}]
        }
      ],
      "unusable": [                           # versions that cannot be trusted: never approved here
        {"model": "fraud-scorer", "team": "risk", "version": "3.1.0",
         "reason": "artifact fails its manifest: s3://.../model.onnx was rewritten after publish (...)"}
      ]
    }

(model, version) pairs are unique within a snapshot. Every version's stored
files are checked against its manifest when the snapshot is taken (a HEAD per
file: size, ETag, recorded sha256); a malformed record or a changed artifact
puts the version under "unusable", so the plan sees it at stage "none".
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from inferstack.constants import Environment
from inferstack.problems import InputError, Problem, display_path, problems_from_validation
from inferstack.registry.records import PromotionStage, UnusableVersion, VersionEntry
from inferstack.spec.model import ApprovalStage

if TYPE_CHECKING:  # the registry client needs the `registry` extra (boto3); reading a snapshot does not
    from inferstack.registry.store import ModelRegistry
    from inferstack.spec.environment import EnvironmentConfig

SNAPSHOT_FORMAT = "inferstack.registry-snapshot/v1"


class SnapshotApproval(BaseModel):
    """One approval as the snapshot records it."""

    model_config = ConfigDict(extra="forbid")

    stage: PromotionStage
    approved_by: str
    approved_at: str


class SnapshotVersion(BaseModel):
    """One version in a snapshot: its approved stage and the gate figures the plan uses."""

    model_config = ConfigDict(extra="forbid")

    model: str
    team: str
    version: str
    stage: ApprovalStage
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size_bytes: int = Field(ge=0)
    storage_uri: str
    gate_passed: bool
    gate_provider: str
    p95_ms_batch1: float | None
    peak_memory_mib: float = Field(ge=0)
    approvals: list[SnapshotApproval] = Field(default_factory=list)

    @classmethod
    def of(cls, entry: VersionEntry) -> SnapshotVersion:
        """The snapshot line of a listed version."""
        metadata = entry.metadata
        batch_one = metadata.gate.latency_at(1)
        return cls(
            model=metadata.model,
            team=metadata.team,
            version=metadata.version,
            stage=entry.stage,
            sha256=metadata.sha256,
            size_bytes=metadata.size_bytes,
            storage_uri=metadata.storage_uri,
            gate_passed=metadata.gate.passed,
            gate_provider=metadata.gate.provider,
            p95_ms_batch1=batch_one.p95_ms if batch_one else None,
            peak_memory_mib=metadata.gate.memory.peak_mib,
            approvals=[
                SnapshotApproval(stage=record.stage, approved_by=record.approved_by, approved_at=record.approved_at)
                for record in entry.approvals
            ],
        )


class RegistrySnapshot(BaseModel):
    """The registry of one environment's model store at one moment (see the module docstring)."""

    model_config = ConfigDict(extra="forbid")

    format: str = Field(default=SNAPSHOT_FORMAT, pattern=r"^inferstack\.registry-snapshot/v1$")
    environment: Environment
    bucket: str
    taken_at: str
    versions: list[SnapshotVersion]
    unusable: list[UnusableVersion] = Field(
        default_factory=list, description="Versions with a malformed record or an artifact that fails its manifest."
    )

    @model_validator(mode="after")
    def _unique_versions(self) -> RegistrySnapshot:
        seen: set[tuple[str, str]] = set()
        for item in self.versions:
            key = (item.model, item.version)
            if key in seen:
                raise ValueError(f"version {item.version} of {item.model} appears twice; expected one entry per (model, version)")
            seen.add(key)
        return self

    def entry(self, model: str, version: str) -> SnapshotVersion | None:
        """The snapshot line of (model, version), if the store had that version."""
        return next((item for item in self.versions if item.model == model and item.version == version), None)

    def stage_of(self, model: str, version: str) -> ApprovalStage:
        """Approved stage of (model, version); "none" when the version is unknown."""
        item = self.entry(model, version)
        return item.stage if item is not None else "none"

    def peak_memory_mib(self, model: str, version: str) -> float | None:
        """The gate's peak memory figure of (model, version), if known."""
        item = self.entry(model, version)
        return item.peak_memory_mib if item is not None else None


    def measured_gpu_memory_gib(self, model: str, version: str) -> float | None:
        """GPU memory the gate measured for (model, version) on CUDA, in GiB; None when it ran on CPU or is unknown.

        A CPU run's figure is host memory and says nothing about the GPU a replica needs.
        """
        item = self.entry(model, version)
        if item is None or item.peak_memory_mib is None or item.gate_provider != "CUDAExecutionProvider":
            return None
        return item.peak_memory_mib / 1024


def take_snapshot(registry: ModelRegistry) -> RegistrySnapshot:
    """Snapshot every visible version of a store, each verified against its manifest (bad ones under `unusable`)."""
    inventory = registry.inventory(verify=True)
    return RegistrySnapshot(
        environment=registry.environment,
        bucket=registry.bucket,
        taken_at=datetime.now(UTC).isoformat(timespec="seconds"),
        versions=[SnapshotVersion.of(entry) for entry in inventory.entries],
        unusable=inventory.unusable,
    )


MISSING_BUCKET_CODES = frozenset({"404", "NoSuchBucket", "NotFound"})


def bucket_exists(registry: ModelRegistry) -> bool:
    """Whether the store's bucket exists (HeadBucket: 404 for a missing bucket; other failures raise RegistryError)."""
    from botocore.exceptions import ClientError

    with registry.store_call(f"look up s3://{registry.bucket}/"):
        try:
            registry.s3.head_bucket(Bucket=registry.bucket)
        except ClientError as error:
            if str(error.response.get("Error", {}).get("Code", "")) in MISSING_BUCKET_CODES:
                return False
            raise
    return True


def take_first_snapshot(registry: ModelRegistry) -> tuple[RegistrySnapshot, str | None]:
    """A snapshot, or an empty one with a note when the bucket does not exist yet.

    On a new environment the snapshot runs before the first `pulumi up` creates the model store: nothing can
    have been published or approved there yet, so the honest snapshot is empty (every version's stage is none).
    """
    if bucket_exists(registry):
        return take_snapshot(registry), None
    empty = RegistrySnapshot(
        environment=registry.environment,
        bucket=registry.bucket,
        taken_at=datetime.now(UTC).isoformat(timespec="seconds"),
        versions=[],
    )
    note = (
        f"note: bucket '{registry.bucket}' of the {registry.environment} model store does not exist yet; "
        f"wrote an empty snapshot (no versions published or approved there; `pulumi up -s {registry.environment}` creates it)"
    )
    return empty, note


def write_registry_snapshot(snapshot: RegistrySnapshot, path: Path) -> None:
    """Write a snapshot as indented JSON (creating parent folders)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(snapshot.model_dump_json(indent=2) + "\n", encoding="utf-8")


def load_registry_snapshot(path: Path) -> RegistrySnapshot:
    """Read a snapshot file; InputError with one line per problem when it is missing or malformed."""
    label = display_path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError([Problem(label, "", "no such file; expected a registry snapshot (inferstack registry snapshot)")]) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InputError([Problem(label, "", f"cannot read the snapshot ({error}); expected JSON from inferstack registry snapshot")]) from None
    try:
        return RegistrySnapshot.model_validate(raw)
    except ValidationError as error:
        raise InputError(problems_from_validation(error, label, RegistrySnapshot)) from None


def check_snapshot_belongs(snapshot: RegistrySnapshot, config: EnvironmentConfig, label: str) -> None:
    """InputError unless the snapshot was taken from this stack's own store (its environment tier and bucket).

    A snapshot of another environment's store would vouch for approvals this store never recorded.
    """
    problems: list[Problem] = []
    if snapshot.environment != config.environment:
        problems.append(
            Problem(
                label,
                "environment",
                f"snapshot is of the {snapshot.environment} store, the stack is {config.environment}; "
                "expected a snapshot taken with the same --stack",
            )
        )
    if snapshot.bucket != config.model_store.bucket:
        problems.append(
            Problem(
                label,
                "bucket",
                f"snapshot is of bucket {snapshot.bucket}, the stack's model store is {config.model_store.bucket}; "
                "expected a snapshot of this stack's bucket",
            )
        )
    if problems:
        raise InputError(problems)
