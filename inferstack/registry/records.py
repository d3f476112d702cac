"""What the model registry stores: the layout of keys and the JSON records under them.

Layout in an environment's model store bucket::

    models/<team>/<name>/<version>/model.onnx            a one-file artifact (SSE-KMS)
    models/<team>/<name>/<version>/artifact/<path>       every file of a multi-file artifact (ONNX with
                                                         external data, huggingface or Triton folder)
    models/<team>/<name>/<version>/metadata.json         VersionMetadata with the artifact's manifest, written last
    models/<team>/<name>/<version>/approvals/<stage>.json  ApprovalRecord, one per stage

A version exists only once its metadata.json exists; every record is written
once (conditional write) and never changed. The manifest in metadata.json
(`files`: path, key, sha256, size, ETag of every stored file) is what promote,
snapshot and deploy verify the stored artifact against.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from inferstack.constants import Environment
from inferstack.gate_report import GateReport
from inferstack.spec.model import ApprovalStage, Lineage

METADATA_FORMAT = "inferstack.registry.version/v1"
APPROVAL_FORMAT = "inferstack.registry.approval/v1"
ARTIFACT_FILE = "model.onnx"
ARTIFACT_DIR = "artifact"
METADATA_FILE = "metadata.json"
APPROVALS_DIR = "approvals"
MODELS_PREFIX = "models/"

PromotionStage = Literal["staging", "prod"]
STAGE_ORDER: tuple[ApprovalStage, ...] = ("none", "staging", "prod")


def version_prefix(team: str, name: str, version: str) -> str:
    """Key prefix of one version: models/<team>/<name>/<version>/."""
    return f"{MODELS_PREFIX}{team}/{name}/{version}/"


def artifact_key(team: str, name: str, version: str) -> str:
    """Key of the artifact file of one version."""
    return version_prefix(team, name, version) + ARTIFACT_FILE


def artifact_file_key(team: str, name: str, version: str, kind: str, path: str) -> str:
    """Key of one artifact file: model.onnx for a one-file artifact, artifact/<path> otherwise (names kept for external data)."""
    if kind == "file":
        return artifact_key(team, name, version)
    return f"{version_prefix(team, name, version)}{ARTIFACT_DIR}/{path}"


def artifact_prefix(team: str, name: str, version: str, kind: str) -> str:
    """What storage_uri points at: the version prefix for a one-file artifact, its artifact/ folder otherwise."""
    return version_prefix(team, name, version) + ("" if kind == "file" else f"{ARTIFACT_DIR}/")


def metadata_key(team: str, name: str, version: str) -> str:
    """Key of the metadata record of one version."""
    return version_prefix(team, name, version) + METADATA_FILE


def approval_key(team: str, name: str, version: str, stage: PromotionStage) -> str:
    """Key of the approval record of one version for one stage."""
    return f"{version_prefix(team, name, version)}{APPROVALS_DIR}/{stage}.json"


class RegistryRecord(BaseModel):
    """Base of the stored records: unknown fields are kept out, so a newer writer's records still load."""

    model_config = ConfigDict(extra="ignore")


class GateSummary(RegistryRecord):
    """The gate figures an approval records (the gate's state at the time of approval)."""

    passed: bool
    provider: str
    p50_ms_batch1: float | None
    p95_ms_batch1: float | None
    latency_p95_slo_ms: float
    peak_memory_mib: float = Field(description="Device memory on CUDA, else host RSS delta, MiB.")
    measured_at: str

    @classmethod
    def of(cls, report: GateReport) -> GateSummary:
        """Summarise a full gate report."""
        batch_one = report.latency_at(1)
        return cls(
            passed=report.passed,
            provider=report.provider,
            p50_ms_batch1=batch_one.p50_ms if batch_one else None,
            p95_ms_batch1=batch_one.p95_ms if batch_one else None,
            latency_p95_slo_ms=report.latency_p95_slo_ms,
            peak_memory_mib=report.memory.peak_mib,
            measured_at=report.measured_at,
        )


class StoredFile(RegistryRecord):
    """One stored file of a version's artifact: where it is and what it must hash to."""

    path: str = Field(description="Path inside the artifact (the manifest's).")
    key: str = Field(description="S3 key in this store.")
    sha256: str
    size_bytes: int
    etag: str | None = Field(default=None, description="ETag S3 gave the stored object; any rewrite changes it.")


class VersionMetadata(RegistryRecord):
    """metadata.json: who owns a version, where it came from, what the gate measured."""

    format: str = METADATA_FORMAT
    model: str
    team: str
    version: str
    owner: str
    description: str
    environment: Environment = Field(description="Environment whose store holds this copy.")
    bucket: str
    artifact_key: str = Field(description="Key of the ONNX entry point the gate loaded.")
    storage_uri: str = Field(
        description="s3://<bucket>/models/<team>/<name>/<version>/ (artifact/ for a multi-file artifact): what KServe loads."
    )
    sha256: str = Field(description="The artifact's SHA-256: the file's for one file, else of its manifest text.")
    size_bytes: int = Field(description="Total size of the artifact's files.")
    artifact_kind: str = Field(default="file", description="file, onnx-external-data or directory (the gate's manifest kind).")
    files: list[StoredFile] = Field(default_factory=list, description="Every stored file; empty in records older than manifests.")
    sse: str = Field(description="Server-side encryption of the stored artifact as S3 reports it (aws:kms).")
    kms_key_id: str | None = Field(description="KMS key S3 reports for the artifact.")
    lineage: Lineage | None
    metrics: dict[str, float]
    gate: GateReport
    stage: ApprovalStage = Field(description="Stage when this record was written; approvals/ is authoritative after.")
    published_by: str
    published_at: str
    publish_id: str = Field(description="Unique id of the publish (or promotion copy) that wrote this record.")
    promoted_from: Environment | None = Field(default=None, description="Store this copy was promoted from.")

    def stored_files(self) -> list[StoredFile]:
        """The manifest of stored files (a record older than manifests: its one artifact file)."""
        if self.files:
            return list(self.files)
        return [StoredFile(path=ARTIFACT_FILE, key=self.artifact_key, sha256=self.sha256, size_bytes=self.size_bytes)]


class ApprovalRecord(RegistryRecord):
    """approvals/<stage>.json: who approved a version for a stage, when, and the gate figures at that time."""

    format: str = APPROVAL_FORMAT
    model: str
    team: str
    version: str
    stage: PromotionStage
    sha256: str
    approved_by: str
    approved_at: str
    source_environment: Environment
    gate: GateSummary


class UnusableVersion(BaseModel):
    """A version whose records or artifact cannot be trusted: listed with the reason, never served or snapshotted as approved."""

    model_config = ConfigDict(extra="forbid")

    model: str
    team: str
    version: str
    reason: str = Field(description="What is wrong, in one line.")


class VersionEntry(BaseModel):
    """One visible version in a store: its metadata, approvals and resulting stage."""

    metadata: VersionMetadata
    approvals: list[ApprovalRecord]

    @property
    def stage(self) -> ApprovalStage:
        """Highest approved stage; the metadata's stage when nothing was approved in this store."""
        approved = [record.stage for record in self.approvals]
        for stage in ("prod", "staging"):
            if stage in approved:
                return stage
        return self.metadata.stage
