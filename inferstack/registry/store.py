"""The model registry in one environment's S3 model store: publish, promote, list.

boto3 is configured only through the standard AWS settings (profile, keys,
`AWS_ENDPOINT_URL`, `AWS_MAX_ATTEMPTS`, ...), so a local S3 server such as moto
stands in for AWS by setting `AWS_ENDPOINT_URL`. The bucket and region come from
the stack file (`stacks/Pulumi.<env>.yaml`, `inferstack:model_store.bucket`).

Publishing protocol (see records.py for the layout):

1. The artifact is checked locally (sha256 against `spec.artifact.sha256` when
   the spec pins one for this version) before anything is sent.
2. The artifact is written with `If-None-Match: *` (S3 conditional write),
   SSE-KMS and its SHA-256, then read back from the store and hashed: the stored
   bytes must match. An artifact left by an earlier, unfinished publish of the
   same bytes is reused; different bytes are refused.
3. metadata.json is written last, again with `If-None-Match: *`. S3 applies
   conditional writes atomically, so of two concurrent publishes of one version
   exactly one creates the metadata; the other is told it lost. Until the
   metadata exists the version is invisible, so a publish cut off half-way never
   shows as a version.

Promotion copies a version from the previous environment's store (dev ->
staging -> prod) into the target store and records an approval there. Staging
needs a passed gate; prod needs the staging approval.
"""

from __future__ import annotations

import base64
import getpass
import hashlib
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from inferstack.extras import require_extra

require_extra("registry")  # one line naming the install command, instead of a ModuleNotFoundError below

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, PartialCredentialsError  # noqa: E402
from pydantic import ValidationError  # noqa: E402

from inferstack.constants import ENVIRONMENTS, Environment  # noqa: E402
from inferstack.gate_report import GateReport, file_sha256  # noqa: E402
from inferstack.problems import InputError, Problem, display_path  # noqa: E402
from inferstack.registry.records import (  # noqa: E402
    ARTIFACT_FILE,
    METADATA_FILE,
    MODELS_PREFIX,
    ApprovalRecord,
    GateSummary,
    PromotionStage,
    VersionEntry,
    VersionMetadata,
    approval_key,
    artifact_key,
    metadata_key,
    version_prefix,
)
from inferstack.spec.model import ModelSpec  # noqa: E402

VERSION_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
CONFLICT_CODES = frozenset({"PreconditionFailed", "412", "ConditionalRequestConflict", "409"})
NOT_FOUND_CODES = frozenset({"404", "NoSuchKey", "NotFound"})


class RegistryError(Exception):
    """The store could not do what was asked (unreachable, refused, inconsistent); one line for the user."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class PromotionRefused(RegistryError):
    """A promotion that the approval rules do not allow (no passed gate, staging skipped)."""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _b64_sha256(hex_digest: str) -> str:
    return base64.b64encode(bytes.fromhex(hex_digest)).decode("ascii")


def check_version(version: str) -> str:
    """Validate a version string (the spec language's Version pattern)."""
    import re

    if not re.fullmatch(VERSION_PATTERN, version) or len(version) > 64:
        raise InputError(
            [Problem("--version", "version", f"'{version}' is not a valid version; expected letters, digits, '.', '_', '-' (at most 64)")]
        )
    return version


def caller_identity(sts_client: Any) -> str:
    """Who is acting: the AWS STS caller ARN, else $USER (when STS cannot answer)."""
    try:
        return str(sts_client.get_caller_identity()["Arn"])
    except (BotoCoreError, ClientError, KeyError):
        return os.environ.get("USER") or getpass.getuser() or "unknown"


@dataclass
class ModelRegistry:
    """The registry in one environment's model store bucket."""

    environment: Environment
    bucket: str
    region: str
    kms_key_id: str | None
    s3: Any
    sts: Any

    @classmethod
    def for_stack(cls, stacks_dir: Path, environment: str) -> ModelRegistry:
        """The registry of `stacks/Pulumi.<environment>.yaml`, with boto3 clients from the standard AWS settings."""
        from inferstack.spec.loader import load_environment

        config = load_environment(stacks_dir, environment)
        return cls.connect(config.environment, config.model_store.bucket, config.region, config.model_store.kms_key_arn)

    @classmethod
    def connect(cls, environment: Environment, bucket: str, region: str, kms_key_id: str | None = None) -> ModelRegistry:
        """A registry with fresh boto3 clients (standard AWS settings; AWS_ENDPOINT_URL for a local server)."""
        from boto3.session import Session

        session = Session(region_name=region)
        return cls(
            environment=environment,
            bucket=bucket,
            region=region,
            kms_key_id=kms_key_id,
            s3=session.client("s3"),
            sts=session.client("sts"),
        )

    @property
    def endpoint(self) -> str:
        """The S3 endpoint the client talks to."""
        return str(self.s3.meta.endpoint_url)

    def uri(self, key: str) -> str:
        """s3:// URI of a key in this store."""
        return f"s3://{self.bucket}/{key}"

    @contextmanager
    def store_call(self, action: str) -> Iterator[None]:
        """Turn botocore failures into one-line RegistryErrors."""
        try:
            yield
        except (NoCredentialsError, PartialCredentialsError) as error:
            raise RegistryError(
                f"registry: {action}: no usable AWS credentials ({error}); expected the standard AWS settings "
                "(AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)"
            ) from None
        except BotoCoreError as error:
            raise RegistryError(
                f"registry: cannot reach the model store at {self.endpoint} ({error}) while trying to {action}; "
                "expected a reachable S3 endpoint (AWS_ENDPOINT_URL for a local server such as moto_server)"
            ) from None
        except ClientError as error:
            code = _error_code(error)
            message = error.response.get("Error", {}).get("Message", "")
            if code == "NoSuchBucket":
                raise RegistryError(
                    f"registry: bucket '{self.bucket}' of the {self.environment} model store does not exist at {self.endpoint}; "
                    f"expected the bucket of stacks/Pulumi.{self.environment}.yaml (created by `pulumi up -s {self.environment}`)"
                ) from None
            raise RegistryError(
                f"registry: the model store at {self.endpoint} refused to {action} ({code}: {message}); "
                "expected permission on the bucket and its KMS key"
            ) from None

    def _exists(self, key: str) -> bool:
        try:
            self.s3.head_object(Bucket=self.bucket, Key=key)
        except ClientError as error:
            if _error_code(error) in NOT_FOUND_CODES:
                return False
            raise
        return True

    def _get_json(self, key: str) -> bytes | None:
        try:
            return self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except ClientError as error:
            if _error_code(error) in NOT_FOUND_CODES:
                return None
            raise

    def _encryption(self) -> dict[str, str]:
        arguments = {"ServerSideEncryption": "aws:kms"}
        if self.kms_key_id:
            arguments["SSEKMSKeyId"] = self.kms_key_id
        return arguments

    def put_once(self, key: str, body: Any, **extra: Any) -> bool:
        """Create `key` only if absent (If-None-Match: *); False when it already exists or a concurrent write won."""
        try:
            self.s3.put_object(Bucket=self.bucket, Key=key, Body=body, IfNoneMatch="*", **self._encryption(), **extra)
        except ClientError as error:
            if _error_code(error) in CONFLICT_CODES:
                return False
            raise
        return True

    def _stored_sha256(self, key: str) -> tuple[str, int, dict[str, Any]]:
        """SHA-256 and size of the bytes the store holds at `key` (read back in full), and its head."""
        head = self.s3.head_object(Bucket=self.bucket, Key=key)
        digest = hashlib.sha256()
        size = 0
        body = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"]
        for chunk in iter(lambda: body.read(1 << 20), b""):
            digest.update(chunk)
            size += len(chunk)
        return digest.hexdigest(), size, head

    def metadata(self, team: str, name: str, version: str) -> VersionMetadata | None:
        """metadata.json of a version, or None when the version does not exist here."""
        key = metadata_key(team, name, version)
        with self.store_call(f"read {self.uri(key)}"):
            raw = self._get_json(key)
        if raw is None:
            return None
        try:
            return VersionMetadata.model_validate_json(raw)
        except ValidationError as error:
            raise RegistryError(f"registry: {self.uri(key)} is not a valid version record ({error.error_count()} problems)") from None

    def approval(self, team: str, name: str, version: str, stage: PromotionStage) -> ApprovalRecord | None:
        """The approval record of a version for a stage, or None."""
        key = approval_key(team, name, version, stage)
        with self.store_call(f"read {self.uri(key)}"):
            raw = self._get_json(key)
        if raw is None:
            return None
        try:
            return ApprovalRecord.model_validate_json(raw)
        except ValidationError as error:
            raise RegistryError(f"registry: {self.uri(key)} is not a valid approval record ({error.error_count()} problems)") from None

    def publish(
        self, model_path: Path, spec: ModelSpec, version: str, gate: GateReport, published_by: str | None = None
    ) -> VersionMetadata:
        """Upload the artifact and its metadata as a new version; refuse to overwrite (see the module docstring)."""
        check_version(version)
        label = display_path(model_path)
        if not model_path.is_file():
            raise InputError([Problem(label, "", "no such file; expected the ONNX model file to publish")])
        sha256 = file_sha256(model_path)
        size = model_path.stat().st_size
        if spec.artifact.sha256 and version == spec.artifact.version and spec.artifact.sha256 != sha256:
            raise InputError(
                [
                    Problem(
                        label,
                        "sha256",
                        f"file has sha256 {sha256}; expected {spec.artifact.sha256} (artifact.sha256 of spec {spec.name} "
                        f"for version {version})",
                    )
                ]
            )
        if gate.sha256 != sha256 or gate.model != spec.name:
            raise InputError(
                [Problem(label, "gate", f"the gate report is for {gate.model} sha256 {gate.sha256[:12]}...; expected one for this file and spec")]
            )
        team, name = spec.team, spec.name
        art_key, meta_key = artifact_key(team, name, version), metadata_key(team, name, version)
        publish_id = str(uuid.uuid4())
        with self.store_call(f"publish {self.uri(version_prefix(team, name, version))}"):
            if self._exists(meta_key):
                raise InputError(
                    [Problem(self.uri(meta_key), "version", f"version {version} of {name} already exists; expected a new version")]
                )
            with model_path.open("rb") as handle:
                created = self.put_once(
                    art_key,
                    handle,
                    ChecksumSHA256=_b64_sha256(sha256),
                    Metadata={"sha256": sha256, "publish-id": publish_id},
                    ContentType="application/octet-stream",
                )
            stored_sha, stored_size, head = self._stored_sha256(art_key)
            if not created and stored_sha != sha256:
                if self._exists(meta_key):
                    raise InputError(
                        [Problem(self.uri(meta_key), "version", f"version {version} of {name} was just published by someone else; expected a new version")]
                    )
                raise InputError(
                    [
                        Problem(
                            self.uri(art_key),
                            "version",
                            f"holds another artifact (sha256 {stored_sha[:12]}...) from an unfinished or concurrent publish of "
                            f"version {version}; expected a new version, or delete that object if its publish was abandoned",
                        )
                    ]
                )
            if stored_sha != sha256 or stored_size != size:
                raise RegistryError(
                    f"registry: the stored artifact {self.uri(art_key)} does not match the file (sha256 {stored_sha[:12]}..., "
                    f"{stored_size} bytes; expected {sha256[:12]}..., {size} bytes); no version was recorded"
                )
            if head.get("ServerSideEncryption") != "aws:kms":
                raise RegistryError(
                    f"registry: {self.uri(art_key)} is stored with encryption {head.get('ServerSideEncryption')!r}; "
                    "expected aws:kms; no version was recorded"
                )
            metadata = VersionMetadata(
                model=name,
                team=team,
                version=version,
                owner=spec.owner,
                description=spec.description,
                environment=self.environment,
                bucket=self.bucket,
                artifact_key=art_key,
                storage_uri=self.uri(version_prefix(team, name, version)),
                sha256=sha256,
                size_bytes=size,
                sse=str(head.get("ServerSideEncryption")),
                kms_key_id=head.get("SSEKMSKeyId"),
                lineage=spec.registry.lineage,
                metrics=dict(spec.registry.metrics),
                gate=gate,
                stage="none",
                published_by=published_by or caller_identity(self.sts),
                published_at=_now(),
                publish_id=publish_id,
            )
            if not self.put_once(meta_key, metadata.model_dump_json(indent=2).encode(), ContentType="application/json"):
                raise InputError(
                    [
                        Problem(
                            self.uri(meta_key),
                            "version",
                            f"version {version} of {name} was published concurrently by another publisher; this publish lost "
                            "and recorded nothing; expected a new version",
                        )
                    ]
                )
        return metadata

    def find_team(self, name: str, version: str) -> str | None:
        """The team under which `name` has a visible `version` in this store."""
        with self.store_call(f"list {self.uri(MODELS_PREFIX)}"):
            teams = self._prefixes(MODELS_PREFIX)
            found = [team for team in teams if self._exists(metadata_key(team, name, version))]
        if len(found) > 1:
            raise RegistryError(f"registry: model {name} exists under several teams ({', '.join(found)}) in {self.uri(MODELS_PREFIX)}")
        return found[0] if found else None

    def _prefixes(self, prefix: str) -> list[str]:
        names: list[str] = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix, Delimiter="/"):
            for common in page.get("CommonPrefixes", []):
                names.append(str(common["Prefix"])[len(prefix) :].rstrip("/"))
        return names

    def list_versions(self, name: str | None = None) -> list[VersionEntry]:
        """Every visible version (metadata.json present), optionally of one model, with its approvals."""
        versions: dict[tuple[str, str, str], list[str]] = {}
        with self.store_call(f"list {self.uri(MODELS_PREFIX)}"):
            for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=MODELS_PREFIX):
                for item in page.get("Contents", []):
                    parts = str(item["Key"])[len(MODELS_PREFIX) :].split("/")
                    if len(parts) < 4 or (name is not None and parts[1] != name):
                        continue
                    versions.setdefault((parts[0], parts[1], parts[2]), []).append("/".join(parts[3:]))
        entries: list[VersionEntry] = []
        for (team, model, version), files in sorted(versions.items()):
            if METADATA_FILE not in files:
                continue  # an unfinished publish: not a version
            metadata = self.metadata(team, model, version)
            if metadata is None:
                continue
            approvals = [
                record
                for stage in ("staging", "prod")
                if f"approvals/{stage}.json" in files
                and (record := self.approval(team, model, version, stage)) is not None
            ]
            entries.append(VersionEntry(metadata=metadata, approvals=approvals))
        return entries

    def copy_version_from(self, source: ModelRegistry, metadata: VersionMetadata, stage: PromotionStage) -> VersionMetadata:
        """Copy a version's artifact and metadata from another store into this one (metadata last, conditional)."""
        team, name, version = metadata.team, metadata.model, metadata.version
        art_key, meta_key = artifact_key(team, name, version), metadata_key(team, name, version)
        with self.store_call(f"copy {source.uri(art_key)} to {self.uri(art_key)}"):
            existing = self.metadata(team, name, version)
            if existing is not None:
                if existing.sha256 != metadata.sha256:
                    raise RegistryError(
                        f"registry: {self.uri(meta_key)} already holds version {version} of {name} with another artifact "
                        f"(sha256 {existing.sha256[:12]}...); expected the {source.environment} artifact {metadata.sha256[:12]}..."
                    )
                return existing
            self.s3.copy_object(
                Bucket=self.bucket,
                Key=art_key,
                CopySource={"Bucket": source.bucket, "Key": art_key},
                MetadataDirective="COPY",
                ChecksumAlgorithm="SHA256",
                **self._encryption(),
            )
            stored_sha, stored_size, head = self._stored_sha256(art_key)
            if stored_sha != metadata.sha256 or stored_size != metadata.size_bytes:
                raise RegistryError(
                    f"registry: the copy {self.uri(art_key)} does not match the {source.environment} artifact "
                    f"(sha256 {stored_sha[:12]}...; expected {metadata.sha256[:12]}...); nothing was approved"
                )
            copied = metadata.model_copy(
                update={
                    "environment": self.environment,
                    "bucket": self.bucket,
                    "storage_uri": self.uri(version_prefix(team, name, version)),
                    "sse": str(head.get("ServerSideEncryption")),
                    "kms_key_id": head.get("SSEKMSKeyId"),
                    "stage": stage,
                    "publish_id": str(uuid.uuid4()),
                    "promoted_from": source.environment,
                    "published_at": metadata.published_at,
                }
            )
            if not self.put_once(meta_key, copied.model_dump_json(indent=2).encode(), ContentType="application/json"):
                winner = self.metadata(team, name, version)
                if winner is None or winner.sha256 != metadata.sha256:
                    raise RegistryError(f"registry: a concurrent write to {self.uri(meta_key)} holds another artifact; nothing was approved")
                return winner
        return copied


def previous_environment(stage: PromotionStage) -> Environment:
    """The environment a promotion to `stage` copies from: dev for staging, staging for prod."""
    return ENVIRONMENTS[ENVIRONMENTS.index(stage) - 1]


def check_promotion_target(target: str) -> PromotionStage:
    """Validate --to: staging or prod."""
    if target == "staging":
        return "staging"
    if target == "prod":
        return "prod"
    raise InputError([Problem("--to", "to", f"cannot promote to '{target}'; expected staging or prod (dev is where publish puts versions)")])


def promote(
    source: ModelRegistry, target: ModelRegistry, name: str, version: str, stage: PromotionStage, approved_by: str | None = None
) -> ApprovalRecord:
    """Approve `version` of `name` for `stage`: copy it from `source` (the previous environment's store) and record who, when, gate figures.

    Staging needs a passed gate; prod needs the staging approval (recorded in the staging store, i.e. `source`).
    """
    check_version(version)
    team = source.find_team(name, version)
    if team is None and stage == "prod":
        raise PromotionRefused(
            f"promote: version {version} of {name} has not been promoted to staging; expected "
            f"`inferstack promote {name} {version} --to staging` before prod"
        )
    if team is None:
        raise InputError(
            [
                Problem(
                    source.uri(MODELS_PREFIX),
                    "version",
                    f"no version {version} of {name} in the {source.environment} model store; expected a published version "
                    f"(`inferstack publish MODEL.onnx --spec {name} --version {version} --stack {source.environment}`)",
                )
            ]
        )
    metadata = source.metadata(team, name, version)
    assert metadata is not None
    if stage == "staging" and not metadata.gate.passed:
        reasons = "; ".join(metadata.gate.failures) or "gate not passed"
        raise PromotionRefused(f"promote: version {version} of {name} did not pass the model gate ({reasons}); expected a passed gate for staging")
    if stage == "prod" and source.approval(team, name, version, "staging") is None:
        raise PromotionRefused(
            f"promote: version {version} of {name} has not been promoted to staging; expected "
            f"`inferstack promote {name} {version} --to staging` before prod"
        )
    existing = target.approval(team, name, version, stage)
    if existing is not None:
        raise InputError(
            [
                Problem(
                    target.uri(approval_key(team, name, version, stage)),
                    "stage",
                    f"version {version} of {name} is already approved for {stage} by {existing.approved_by} at {existing.approved_at}",
                )
            ]
        )
    who = approved_by or caller_identity(target.sts)
    if target.bucket != source.bucket:
        metadata = target.copy_version_from(source, metadata, stage)
    record = ApprovalRecord(
        model=name,
        team=team,
        version=version,
        stage=stage,
        sha256=metadata.sha256,
        approved_by=who,
        approved_at=_now(),
        source_environment=source.environment,
        gate=GateSummary.of(metadata.gate),
    )
    key = approval_key(team, name, version, stage)
    with target.store_call(f"record the approval {target.uri(key)}"):
        if not target.put_once(key, record.model_dump_json(indent=2).encode(), ContentType="application/json"):
            raise InputError([Problem(target.uri(key), "stage", f"version {version} of {name} was approved for {stage} concurrently")])
    return record


__all__ = [
    "ARTIFACT_FILE",
    "ModelRegistry",
    "PromotionRefused",
    "RegistryError",
    "caller_identity",
    "check_promotion_target",
    "check_version",
    "previous_environment",
    "promote",
]
