"""What the model registry stores: the layout of keys and the JSON records under them.

Layout in an environment's model store bucket::

    models/<team>/<name>/<version>/model.onnx            the artifact (SSE-KMS)
    models/<team>/<name>/<version>/metadata.json         VersionMetadata, written last
    models/<team>/<name>/<version>/approvals/<stage>.json  ApprovalRecord, one per stage

A version exists only once its metadata.json exists; every record is written
once (conditional write) and never changed.
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
    artifact_key: str
    storage_uri: str = Field(description="s3://<bucket>/models/<team>/<name>/<version>/ (what KServe loads).")
    sha256: str
    size_bytes: int
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
