"""The model registry in one environment's S3 model store: publish, promote, list.

boto3 is configured only through the standard AWS settings (profile, keys,
`AWS_ENDPOINT_URL`, `AWS_MAX_ATTEMPTS`, ...), so a local S3 server such as moto
stands in for AWS by setting `AWS_ENDPOINT_URL`. The bucket and region come from
the stack file (`stacks/Pulumi.<env>.yaml`, `inferstack:model_store.bucket`).

Publishing protocol (see records.py for the layout):

1. The artifact -- every file of it (`inferstack.gate.collect_artifact`) -- is
   checked locally (its SHA-256 against `spec.artifact.sha256` when the spec
   pins one for this version, its manifest against the gate report's) before
   anything is sent.
2. Each file is written with `If-None-Match: *` (S3 conditional write; files
   over SINGLE_PUT_MAX_BYTES as a multipart upload whose completion carries the
   condition), SSE-KMS and its SHA-256, then read back from the store and
   hashed: the stored bytes must match. A file left by an earlier, unfinished
   publish of the same bytes is reused; different bytes are refused.
3. metadata.json is written last, again with `If-None-Match: *`. S3 applies
   conditional writes atomically, so of two concurrent publishes of one version
   exactly one creates the metadata; the other is told it lost. Until the
   metadata exists the version is invisible, so a publish cut off half-way never
   shows as a version.

Promotion copies a version from the previous environment's store (dev ->
staging -> prod) into the target store and records an approval there. Staging
needs a passed gate; prod needs the staging approval. The source files are
re-hashed against the version's manifest before anything is copied (a corrupt
source is named as such), the copies are re-hashed after, and a promotion that
fails part-way deletes what it copied.

Listing tolerates bad records: a malformed metadata.json or approval file, or a
record that contradicts its key, makes only that version unusable
(`Inventory.unusable`, with the reason); the rest of the store lists normally.
"""

from __future__ import annotations

import base64
import getpass
import hashlib
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from inferstack.extras import require_extra

require_extra("registry")  # one line naming the install command, instead of a ModuleNotFoundError below

from botocore.exceptions import (  # noqa: E402
    BotoCoreError,
    ClientError,
    ConfigNotFound,
    ConfigParseError,
    CredentialRetrievalError,
    NoAuthTokenError,
    NoCredentialsError,
    PartialCredentialsError,
    ProfileNotFound,
    SSOError,
    TokenRetrievalError,
    UnknownCredentialError,
)
from pydantic import BaseModel, Field, ValidationError  # noqa: E402

from inferstack.constants import ENVIRONMENTS, Environment  # noqa: E402
from inferstack.gate_report import GateReport, LocalArtifact  # noqa: E402
from inferstack.problems import InputError, Problem, display_path  # noqa: E402
from inferstack.registry.records import (  # noqa: E402
    ARTIFACT_FILE,
    METADATA_FILE,
    MODELS_PREFIX,
    ApprovalRecord,
    GateSummary,
    PromotionStage,
    StoredFile,
    UnusableVersion,
    VersionEntry,
    VersionMetadata,
    approval_key,
    artifact_file_key,
    artifact_key,
    artifact_prefix,
    metadata_key,
    version_prefix,
)
from inferstack.spec.model import ModelSpec  # noqa: E402

VERSION_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
CONFLICT_CODES = frozenset({"PreconditionFailed", "412", "ConditionalRequestConflict", "409"})
NOT_FOUND_CODES = frozenset({"404", "NoSuchKey", "NotFound"})
CREDENTIAL_CODES = frozenset(
    {"InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "ExpiredTokenException", "InvalidClientTokenId", "InvalidToken"}
)
"""S3/STS error codes that mean the credentials, not the permissions, are wrong."""
CREDENTIAL_ERRORS = (
    NoCredentialsError,
    PartialCredentialsError,
    ProfileNotFound,
    ConfigParseError,
    ConfigNotFound,
    CredentialRetrievalError,
    TokenRetrievalError,
    NoAuthTokenError,
    UnknownCredentialError,
    SSOError,
)
"""botocore errors about the AWS settings themselves (profile, config file, credentials, SSO token)."""
SINGLE_PUT_MAX_BYTES = 4 << 30
"""Files up to this size are one conditional PUT (S3 allows 5 GiB); larger ones a conditional multipart upload."""
PART_BYTES = 256 << 20
"""Multipart part size (S3: 5 MiB to 5 GiB, at most 10,000 parts)."""


class RegistryError(Exception):
    """The store could not do what was asked (unreachable, refused, inconsistent); one line for the user."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class PromotionRefused(RegistryError):
    """A promotion that the approval rules do not allow (no passed gate, staging skipped, corrupt source)."""


class MalformedRecord(RegistryError):
    """A stored record that does not parse or contradicts its key; `reason` says what, without the s3:// prefix."""

    def __init__(self, message: str, reason: str) -> None:
        self.reason = reason
        super().__init__(message)


class Inventory(BaseModel):
    """What a listing of a store found: usable versions, and versions made unusable by bad records or artifacts."""

    entries: list[VersionEntry] = Field(description="Usable versions, sorted by team, model and semantic version.")
    unusable: list[UnusableVersion] = Field(default_factory=list, description="Versions that cannot be trusted, with the reason.")


def aws_settings_problem(error: Exception) -> InputError:
    """One line for an AWS settings problem (missing profile, no credentials, bad config): bad input, exit 2."""
    if isinstance(error, ProfileNotFound):
        profile = os.environ.get("AWS_PROFILE") or os.environ.get("AWS_DEFAULT_PROFILE") or str(error.kwargs.get("profile", ""))
        return InputError(
            [
                Problem(
                    "AWS_PROFILE",
                    "",
                    f"profile '{profile}' is not in the AWS config or credentials files; expected a configured profile "
                    "(`aws configure list-profiles`) or AWS_PROFILE unset",
                )
            ]
        )
    if isinstance(error, ClientError):
        code = _error_code(error)
        return InputError(
            [
                Problem(
                    "AWS credentials",
                    "",
                    f"the store rejected the credentials ({code}); expected valid, unexpired credentials "
                    "(AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)",
                )
            ]
        )
    reason = str(error).splitlines()[0] if str(error) else type(error).__name__
    return InputError(
        [
            Problem(
                "AWS credentials",
                "",
                f"no usable AWS credentials ({reason}); expected the standard AWS settings "
                "(AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)",
            )
        ]
    )


def version_sort_key(version: str) -> tuple[Any, ...]:
    """Semantic order: numeric parts as numbers (3.2.0 < 10.0.0), a pre-release (1.0.0-rc1) before its release."""
    import re

    release, _, suffix = version.partition("-")
    parts = tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"[._]", release))
    return (parts, 0 if suffix else 1, tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"[._-]", suffix)))


def _validation_reason(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "(top level)"
    more = f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else ""
    return f"{where}: {first['msg']}{more}"


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

        try:
            session = Session(region_name=region)
            s3, sts = session.client("s3"), session.client("sts")
        except CREDENTIAL_ERRORS as error:
            raise aws_settings_problem(error) from None
        return cls(environment=environment, bucket=bucket, region=region, kms_key_id=kms_key_id, s3=s3, sts=sts)

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
        except CREDENTIAL_ERRORS as error:
            raise aws_settings_problem(error) from None
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
            if code in CREDENTIAL_CODES:
                raise aws_settings_problem(error) from None
            if code in NOT_FOUND_CODES:
                raise RegistryError(
                    f"registry: {action}: an object does not exist in the {self.environment} model store ({code}: {message}); "
                    "expected it there -- was it deleted?"
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

    def _record(self, key: str, model: type[Any], what: str) -> Any:
        """A stored JSON record parsed as `model`, None when absent; MalformedRecord naming the first problem."""
        with self.store_call(f"read {self.uri(key)}"):
            raw = self._get_json(key)
        if raw is None:
            return None
        try:
            return model.model_validate_json(raw)
        except ValidationError as error:
            reason = f"{key.rsplit('/', 2)[-1] if '/approvals/' not in key else 'approvals/' + key.rsplit('/', 1)[-1]} " \
                f"is not a valid {what}: {_validation_reason(error)}"
            raise MalformedRecord(f"registry: {self.uri(key)} is not a valid {what} ({_validation_reason(error)})", reason) from None

    def metadata(self, team: str, name: str, version: str) -> VersionMetadata | None:
        """metadata.json of a version, or None when the version does not exist here; MalformedRecord when it is bad."""
        metadata: VersionMetadata | None = self._record(metadata_key(team, name, version), VersionMetadata, "version record")
        if metadata is not None and (metadata.team, metadata.model, metadata.version) != (team, name, version):
            reason = (
                f"metadata.json describes {metadata.team}/{metadata.model} {metadata.version} but lies under "
                f"{team}/{name}/{version}"
            )
            raise MalformedRecord(f"registry: {self.uri(metadata_key(team, name, version))}: {reason}", reason)
        return metadata

    def approval(self, team: str, name: str, version: str, stage: PromotionStage) -> ApprovalRecord | None:
        """The approval record of a version for a stage, or None; MalformedRecord when it is bad."""
        record: ApprovalRecord | None = self._record(approval_key(team, name, version, stage), ApprovalRecord, "approval record")
        if record is not None and (record.stage, record.model, record.version) != (stage, name, version):
            reason = f"approvals/{stage}.json approves {record.model} {record.version} for {record.stage}"
            raise MalformedRecord(f"registry: {self.uri(approval_key(team, name, version, stage))}: {reason}", reason)
        return record

    def verify_files(self, metadata: VersionMetadata, *, deep: bool) -> list[str]:
        """What is wrong with the stored artifact against the version's manifest; empty when it is intact.

        `deep`: download and hash every file. Otherwise a HEAD per file: it must exist
        with the recorded size and ETag (any rewrite of an object changes its ETag), and
        the SHA-256 the publish attached as object metadata.
        """
        problems: list[str] = []
        for item in metadata.stored_files():
            try:
                if deep:
                    stored_sha, stored_size, _ = self._stored_sha256(item.key)
                    if stored_sha != item.sha256 or stored_size != item.size_bytes:
                        problems.append(
                            f"{self.uri(item.key)} has sha256 {stored_sha[:12]}... ({stored_size} bytes); its manifest records "
                            f"{item.sha256[:12]}... ({item.size_bytes} bytes)"
                        )
                    continue
                head = self.s3.head_object(Bucket=self.bucket, Key=item.key)
            except ClientError as error:
                if _error_code(error) in NOT_FOUND_CODES:
                    problems.append(f"{self.uri(item.key)} is missing (deleted after publish?); its manifest lists it")
                    continue
                raise
            size = int(head.get("ContentLength", -1))
            etag = str(head.get("ETag", "")).strip('"')
            stamped = head.get("Metadata", {}).get("sha256")
            if size != item.size_bytes:
                problems.append(f"{self.uri(item.key)} is {size} bytes; its manifest records {item.size_bytes} (rewritten after publish?)")
            elif item.etag is not None and etag != item.etag:
                problems.append(f"{self.uri(item.key)} was rewritten after publish (ETag {etag}, manifest {item.etag})")
            elif stamped is not None and stamped != item.sha256:
                problems.append(f"{self.uri(item.key)} carries sha256 {stamped[:12]}...; its manifest records {item.sha256[:12]}...")
        return problems

    def _refuse_other_bytes(self, key: str, meta_key: str, version: str, name: str, stored_sha: str) -> InputError:
        if self._exists(meta_key):
            return InputError(
                [Problem(self.uri(meta_key), "version", f"version {version} of {name} was just published by someone else; expected a new version")]
            )
        return InputError(
            [
                Problem(
                    self.uri(key),
                    "version",
                    f"holds another file (sha256 {stored_sha[:12]}...) from an unfinished or concurrent publish of version "
                    f"{version}, which may still be in progress; expected a new version (publish under another version number)",
                )
            ]
        )

    def _put_file_once(self, key: str, path: Path, item_sha: str, size: int, publish_id: str, say: Callable[[str], None]) -> bool:
        """Create `key` from a local file only if absent; multipart above SINGLE_PUT_MAX_BYTES, the condition on completion."""
        extra = {"Metadata": {"sha256": item_sha, "publish-id": publish_id}, "ContentType": "application/octet-stream"}
        if size <= SINGLE_PUT_MAX_BYTES:
            with path.open("rb") as handle:
                return self.put_once(key, handle, ChecksumSHA256=_b64_sha256(item_sha), **extra)
        upload = self.s3.create_multipart_upload(
            Bucket=self.bucket, Key=key, ChecksumAlgorithm="SHA256", **self._encryption(), **extra
        )
        upload_id = upload["UploadId"]
        parts: list[dict[str, Any]] = []
        try:
            with path.open("rb") as handle:
                number = 0
                while chunk := handle.read(PART_BYTES):
                    number += 1
                    say(f"uploading {path.name}: part {number} of {-(-size // PART_BYTES)}")
                    answer = self.s3.upload_part(
                        Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=chunk,
                        ChecksumAlgorithm="SHA256",
                    )
                    parts.append({"PartNumber": number, "ETag": answer["ETag"], "ChecksumSHA256": answer.get("ChecksumSHA256")})
            self.s3.complete_multipart_upload(
                Bucket=self.bucket, Key=key, UploadId=upload_id, IfNoneMatch="*",
                MultipartUpload={"Parts": [{k: v for k, v in part.items() if v is not None} for part in parts]},
            )
        except ClientError as error:
            self.s3.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
            if _error_code(error) in CONFLICT_CODES:
                return False
            raise
        except BaseException:
            self.s3.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
            raise
        return True

    def publish(
        self,
        model_path: Path,
        spec: ModelSpec,
        version: str,
        gate: GateReport,
        published_by: str | None = None,
        *,
        artifact: LocalArtifact | None = None,
        max_bytes: int | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> VersionMetadata:
        """Upload every file of the artifact and the metadata as a new version; refuse to overwrite (see the module docstring)."""
        check_version(version)
        say = progress or (lambda _: None)
        if artifact is None:
            from inferstack.gate import collect_artifact  # the gate extra: only a publish that collects files needs it

            artifact = collect_artifact(model_path, max_bytes=max_bytes, progress=say)
        manifest = artifact.manifest
        label = str(artifact.given)
        sha256 = manifest.digest
        size = manifest.size_bytes
        if spec.artifact.sha256 and version == spec.artifact.version and spec.artifact.sha256 != sha256:
            raise InputError(
                [
                    Problem(
                        label,
                        "sha256",
                        f"artifact has sha256 {sha256}; expected {spec.artifact.sha256} (artifact.sha256 of spec {spec.name} "
                        f"for version {version})",
                    )
                ]
            )
        if gate.sha256 != sha256 or gate.model != spec.name:
            raise InputError(
                [Problem(label, "gate", f"the gate report is for {gate.model} sha256 {gate.sha256[:12]}...; expected one for this artifact and spec")]
            )
        team, name = spec.team, spec.name
        meta_key = metadata_key(team, name, version)
        entry_key = artifact_file_key(team, name, version, manifest.kind, manifest.entry)
        publish_id = str(uuid.uuid4())
        stored: list[StoredFile] = []
        heads: dict[str, dict[str, Any]] = {}
        with self.store_call(f"publish {self.uri(version_prefix(team, name, version))}"):
            if self._exists(meta_key):
                raise InputError(
                    [Problem(self.uri(meta_key), "version", f"version {version} of {name} already exists; expected a new version")]
                )
            for index, item in enumerate(manifest.files):
                key = artifact_file_key(team, name, version, manifest.kind, item.path)
                if len(manifest.files) > 1 or item.size_bytes > (64 << 20):
                    say(f"uploading {item.path} ({index + 1}/{len(manifest.files)}, {item.size_bytes:,} bytes)")
                created = self._put_file_once(key, artifact.path_of(item), item.sha256, item.size_bytes, publish_id, say)
                stored_sha, stored_size, head = self._stored_sha256(key)
                if not created and stored_sha != item.sha256:
                    raise self._refuse_other_bytes(key, meta_key, version, name, stored_sha)
                if stored_sha != item.sha256 or stored_size != item.size_bytes:
                    raise RegistryError(
                        f"registry: the stored file {self.uri(key)} does not match the file {item.path} (sha256 {stored_sha[:12]}..., "
                        f"{stored_size} bytes; expected {item.sha256[:12]}..., {item.size_bytes} bytes); no version was recorded"
                    )
                if head.get("ServerSideEncryption") != "aws:kms":
                    raise RegistryError(
                        f"registry: {self.uri(key)} is stored with encryption {head.get('ServerSideEncryption')!r}; "
                        "expected aws:kms; no version was recorded"
                    )
                heads[key] = head
                stored.append(
                    StoredFile(path=item.path, key=key, sha256=item.sha256, size_bytes=item.size_bytes, etag=str(head.get("ETag", "")).strip('"'))
                )
            head = heads[entry_key]
            metadata = VersionMetadata(
                model=name,
                team=team,
                version=version,
                owner=spec.owner,
                description=spec.description,
                environment=self.environment,
                bucket=self.bucket,
                artifact_key=entry_key,
                storage_uri=self.uri(artifact_prefix(team, name, version, manifest.kind)),
                sha256=sha256,
                size_bytes=size,
                artifact_kind=manifest.kind,
                files=stored,
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

    def inventory(self, name: str | None = None, *, verify: bool = False) -> Inventory:
        """Every version with a metadata.json (optionally of one model), sorted semantically.

        A malformed metadata.json or approval file, or a record contradicting its key,
        makes only that version unusable, with the reason. `verify`: also check each
        version's stored files against its manifest (HEAD per file, see verify_files);
        a version whose artifact changed since publish is unusable too.
        """
        versions: dict[tuple[str, str, str], list[str]] = {}
        with self.store_call(f"list {self.uri(MODELS_PREFIX)}"):
            for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=MODELS_PREFIX):
                for item in page.get("Contents", []):
                    parts = str(item["Key"])[len(MODELS_PREFIX) :].split("/")
                    if len(parts) < 4 or (name is not None and parts[1] != name):
                        continue
                    versions.setdefault((parts[0], parts[1], parts[2]), []).append("/".join(parts[3:]))
        entries: list[VersionEntry] = []
        unusable: list[UnusableVersion] = []
        for (team, model, version), files in sorted(versions.items(), key=lambda item: (item[0][0], item[0][1], version_sort_key(item[0][2]))):
            if METADATA_FILE not in files:
                continue  # an unfinished publish: not a version
            try:
                metadata = self.metadata(team, model, version)
                if metadata is None:
                    continue
                approvals = [
                    record
                    for stage in ("staging", "prod")
                    if f"approvals/{stage}.json" in files
                    and (record := self.approval(team, model, version, stage)) is not None
                ]
            except MalformedRecord as error:
                unusable.append(UnusableVersion(model=model, team=team, version=version, reason=error.reason))
                continue
            mismatched = [record for record in approvals if record.sha256 != metadata.sha256]
            if mismatched:
                unusable.append(
                    UnusableVersion(
                        model=model, team=team, version=version,
                        reason=f"approvals/{mismatched[0].stage}.json approves sha256 {mismatched[0].sha256[:12]}...; "
                        f"the version's artifact is {metadata.sha256[:12]}...",
                    )
                )
                continue
            if verify:
                with self.store_call(f"verify {self.uri(version_prefix(team, model, version))}"):
                    problems = self.verify_files(metadata, deep=False)
                if problems:
                    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
                    unusable.append(
                        UnusableVersion(model=model, team=team, version=version, reason=f"artifact fails its manifest: {problems[0]}{more}")
                    )
                    continue
            entries.append(VersionEntry(metadata=metadata, approvals=approvals))
        return Inventory(entries=entries, unusable=unusable)

    def list_versions(self, name: str | None = None) -> list[VersionEntry]:
        """Every usable version (metadata.json present and valid), optionally of one model, with its approvals."""
        return self.inventory(name).entries

    def _delete_quietly(self, keys: list[str]) -> None:
        for key in keys:
            try:
                self.s3.delete_object(Bucket=self.bucket, Key=key)
            except (BotoCoreError, ClientError):
                pass  # best effort: a leftover without metadata.json is not a version

    def copy_version_from(
        self, source: ModelRegistry, metadata: VersionMetadata, stage: PromotionStage, progress: Callable[[str], None] | None = None
    ) -> VersionMetadata:
        """Copy a version's files and metadata from another store into this one (metadata last, conditional).

        The copies are hashed against the manifest; on any failure every file this call
        copied is deleted again, so a failed promotion leaves nothing in this store.
        """
        say = progress or (lambda _: None)
        team, name, version = metadata.team, metadata.model, metadata.version
        meta_key = metadata_key(team, name, version)
        copied_keys: list[str] = []
        with self.store_call(f"copy {source.uri(version_prefix(team, name, version))} to {self.uri(version_prefix(team, name, version))}"):
            existing = self.metadata(team, name, version)
            if existing is not None:
                if existing.sha256 != metadata.sha256:
                    raise RegistryError(
                        f"registry: {self.uri(meta_key)} already holds version {version} of {name} with another artifact "
                        f"(sha256 {existing.sha256[:12]}...); expected the {source.environment} artifact {metadata.sha256[:12]}..."
                    )
                return existing
            stored: list[StoredFile] = []
            head: dict[str, Any] = {}
            try:
                files = metadata.stored_files()
                for index, item in enumerate(files):
                    say(f"copying {item.path} ({index + 1}/{len(files)}, {item.size_bytes:,} bytes)")
                    copied_keys.append(item.key)
                    self.s3.copy(
                        {"Bucket": source.bucket, "Key": item.key},
                        self.bucket,
                        item.key,
                        ExtraArgs={"MetadataDirective": "COPY", "ChecksumAlgorithm": "SHA256", **self._encryption()},
                        SourceClient=source.s3,
                    )
                    stored_sha, stored_size, file_head = self._stored_sha256(item.key)
                    if stored_sha != item.sha256 or stored_size != item.size_bytes:
                        raise RegistryError(
                            f"registry: copy failure: {self.uri(item.key)} does not match the {source.environment} file it was "
                            f"copied from (sha256 {stored_sha[:12]}...; expected {item.sha256[:12]}...); the copies were "
                            "removed and nothing was approved"
                        )
                    if item.key == metadata.artifact_key:
                        head = file_head
                    stored.append(item.model_copy(update={"etag": str(file_head.get("ETag", "")).strip('"')}))
                copied = metadata.model_copy(
                    update={
                        "environment": self.environment,
                        "bucket": self.bucket,
                        "storage_uri": self.uri(artifact_prefix(team, name, version, metadata.artifact_kind)),
                        "files": stored if metadata.files else [],
                        "sse": str(head.get("ServerSideEncryption")),
                        "kms_key_id": head.get("SSEKMSKeyId"),
                        "stage": stage,
                        "publish_id": str(uuid.uuid4()),
                        "promoted_from": source.environment,
                        "published_at": metadata.published_at,
                    }
                )
                written = self.put_once(meta_key, copied.model_dump_json(indent=2).encode(), ContentType="application/json")
            except BaseException:
                self._delete_quietly(copied_keys)
                raise
            if not written:
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


def check_promotion_source(source_tier: str, stage: PromotionStage) -> None:
    """Validate --from: a stack of the tier just before `stage` (dev before staging, staging before prod)."""
    expected = previous_environment(stage)
    if source_tier != expected:
        raise InputError(
            [Problem("--from", "from", f"the source stack is of tier '{source_tier}'; expected a {expected} stack when promoting to {stage}")]
        )


def promote(
    source: ModelRegistry,
    target: ModelRegistry,
    name: str,
    version: str,
    stage: PromotionStage,
    approved_by: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> ApprovalRecord:
    """Approve `version` of `name` for `stage`: copy it from `source` (the previous environment's store) and record who, when, gate figures.

    Staging needs a passed gate; prod needs the staging approval (recorded in the staging store, i.e. `source`).
    The source's files are hashed against the version's manifest first: a corrupt source is refused
    before anything is copied.
    """
    say = progress or (lambda _: None)
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
    say(f"verifying the {source.environment} artifact ({metadata.size_bytes:,} bytes, {len(metadata.stored_files())} file(s))")
    with source.store_call(f"verify {source.uri(version_prefix(team, name, version))}"):
        corrupt = source.verify_files(metadata, deep=True)
    if corrupt:
        more = f" (and {len(corrupt) - 1} more)" if len(corrupt) > 1 else ""
        state = "incomplete" if " is missing " in corrupt[0] else "corrupt"
        raise PromotionRefused(
            f"promote: the {source.environment} artifact of {name} {version} is {state}: {corrupt[0]}{more}; nothing was "
            f"copied to {stage} (publish the model again under a new version)"
        )
    if target.bucket != source.bucket:
        metadata = target.copy_version_from(source, metadata, stage, progress=say)
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
    "Inventory",
    "MalformedRecord",
    "ModelRegistry",
    "PromotionRefused",
    "RegistryError",
    "caller_identity",
    "check_promotion_target",
    "check_version",
    "previous_environment",
    "check_promotion_source",
    "promote",
    "version_sort_key",
]
