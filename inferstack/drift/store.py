"""Where drift data lives in an environment's model store, and the boto3 calls that read and write it.

Layout (beside the registry's, see inferstack/registry/records.py)::

    models/<team>/<name>/<version>/reference-profile.json     ReferenceProfile, written once at publish
    payload-logs/<team>/...                                   KServe's logger (see render/payload_logging.py)
    drift-reports/<team>/<name>/<run>/report.json|report.md|plots/<feature>.png
    drift-reports/<team>/<name>/triggers/<window start>.json  one marker per window whose trigger fired

Every write goes through the registry's SSE-KMS settings; the profile and the
trigger markers are conditional writes (If-None-Match: *).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from botocore.exceptions import ClientError
from pydantic import ValidationError

from inferstack.drift.keys import profile_key, reports_prefix, trigger_marker_key
from inferstack.drift.profile import ReferenceProfile
from inferstack.problems import InputError, Problem
from inferstack.registry.store import NOT_FOUND_CODES, ModelRegistry, RegistryError
from inferstack.render.payload_logging import payload_log_prefix

__all__ = ["profile_key", "reports_prefix", "trigger_marker_key"]


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def store_profile(registry: ModelRegistry, team: str, name: str, version: str, profile: ReferenceProfile) -> str:
    """Write a version's profile once; an identical stored profile is accepted, a different one refused. Returns its URI."""
    key = profile_key(team, name, version)
    body = profile.model_copy(update={"version": version}).model_dump_json(indent=2).encode()
    with registry.store_call(f"store the reference profile {registry.uri(key)}"):
        if registry.put_once(key, body, ContentType="application/json"):
            return registry.uri(key)
        existing = registry.s3.get_object(Bucket=registry.bucket, Key=key)["Body"].read()
    if ReferenceProfile.model_validate_json(existing).source_sha256 != profile.source_sha256:
        raise InputError(
            [Problem(registry.uri(key), "--reference-data", f"version {version} of {name} already has a reference profile from other data; expected a new version")]
        )
    return registry.uri(key)


def load_profile(registry: ModelRegistry, team: str, name: str, version: str) -> ReferenceProfile:
    """A version's profile; InputError naming --reference-data when the version has none."""
    key = profile_key(team, name, version)
    with registry.store_call(f"read {registry.uri(key)}"):
        try:
            raw = registry.s3.get_object(Bucket=registry.bucket, Key=key)["Body"].read()
        except ClientError as error:
            if _code(error) not in NOT_FOUND_CODES:
                raise
            raw = None
    if raw is None:
        raise InputError(
            [
                Problem(
                    registry.uri(key),
                    "--reference-data",
                    f"version {version} of {name} has no reference profile, so drift cannot be watched; expected it published with "
                    f"`inferstack publish MODEL.onnx --spec {name} --version {version} --reference-data FILE`",
                )
            ]
        )
    try:
        return ReferenceProfile.model_validate_json(raw)
    except ValidationError as error:
        raise RegistryError(f"drift: {registry.uri(key)} is not a reference profile ({error.error_count()} problems)") from None


def carry_profile(source: ModelRegistry, target: ModelRegistry, team: str, name: str, version: str) -> bool:
    """Copy a version's profile to another store on promotion; False when the version has none."""
    key = profile_key(team, name, version)
    with source.store_call(f"read {source.uri(key)}"):
        try:
            raw = source.s3.get_object(Bucket=source.bucket, Key=key)["Body"].read()
        except ClientError as error:
            if _code(error) in NOT_FOUND_CODES:
                return False
            raise
    if source.bucket == target.bucket:
        return True
    with target.store_call(f"copy the reference profile to {target.uri(key)}"):
        target.put_once(key, raw, ContentType="application/json")
    return True


def list_log_objects(registry: ModelRegistry, team: str, model: str, start: datetime, end: datetime) -> Iterator[str]:
    """Keys of the team's payload-log objects of `model` last written in [start, end)."""
    prefix = payload_log_prefix(team)
    segment = f"/{model}/"
    for page in registry.s3.get_paginator("list_objects_v2").paginate(Bucket=registry.bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            key = str(item["Key"])
            modified: datetime = item["LastModified"]
            if segment in key[len(prefix) - 1 :] and start <= modified < end:
                yield key


def read_object(registry: ModelRegistry, key: str) -> bytes:
    """The bytes of one object."""
    return registry.s3.get_object(Bucket=registry.bucket, Key=key)["Body"].read()


def put_report_object(registry: ModelRegistry, key: str, body: bytes, content_type: str) -> str:
    """Write one report object (SSE-KMS); returns its URI."""
    registry.s3.put_object(Bucket=registry.bucket, Key=key, Body=body, ContentType=content_type, **registry._encryption())  # noqa: SLF001
    return registry.uri(key)


def claim_window(registry: ModelRegistry, key: str, body: bytes) -> bool:
    """Create the window's trigger marker (If-None-Match: *); False when this window's trigger already fired."""
    return registry.put_once(key, body, ContentType="application/json")


def release_window(registry: ModelRegistry, key: str) -> None:
    """Delete a marker whose trigger failed, so the next run of the window tries again."""
    registry.s3.delete_object(Bucket=registry.bucket, Key=key)
