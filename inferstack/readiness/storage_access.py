"""Check f: the model store's bucket and key policies allow every writer and reader the platform runs, and deny everyone else.

Each actor's request is modelled as it is actually sent (see `iam_eval` for the evaluation rules):
- model puller (KServe storage-initializer, the team's IRSA role): `s3:ListBucket` with `s3:prefix`,
  `s3:GetObject` under the model's storageUri, and the `kms:Decrypt` S3 makes on its behalf
  (`kms:ViaService` = `s3.<region>.amazonaws.com`), all over TLS;
- KServe payload logger (the logger's `storage.serviceAccountName` role): `s3:PutObject` under
  `logger.storage.path` with NO `x-amz-server-side-encryption` header (KServe's blob logger does
  not send one; issue 13 item 3), so the bucket's default SSE-KMS key encrypts it and S3 calls
  `kms:GenerateDataKey` on its behalf;
- registry publish / promote (`inferstack/registry/store.py` `_encryption`): `s3:PutObject`
  (promote: CopyObject, i.e. PutObject with `x-amz-copy-source`) with
  `x-amz-server-side-encryption: aws:kms` and the key id header only when the stack configures
  `model_store.kms_key_arn`. The publisher's own identity policy is not part of the plan; it is
  taken to allow the call, so only the bucket and key policies are judged for it.
Everyone else must be denied: a role of the account without a grant, another account, and
another team's serving role reading this team's models.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from inferstack.policy.model import PolicyResource
from inferstack.readiness.graph import kube_objects
from inferstack.readiness.iam_eval import Request, UnsupportedPolicy, Verdict, evaluate, parse
from inferstack.readiness.model import Finding, ReadinessContext, props_of

CHECK_ID = "deploy-storage-access"
BUCKET = "aws:s3/bucket:Bucket"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
BUCKET_ENCRYPTION = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
KMS_KEY = "aws:kms/key:Key"


def logger_object_key(url: str, bucket: str, namespace: str, inference_service: str, store_path: str) -> str:
    """The key KServe's blob logger writes a logged request under.

    kserve/kserve v0.20.0 pkg/logger/store.go, BlobStore.getObjectPrefix / getObjectKey:
    `<url key prefix>/<namespace>/<inferenceservice>/<component>/<storage.path>/<id>-<type>.<ext>`
    (empty parts skipped, joined with path.Join). The component of a predictor's logger is "predictor".
    """
    prefix = url[len(f"s3://{bucket}") :].strip("/")
    parts = [part for part in (prefix, namespace, inference_service, "predictor", store_path.strip("/")) if part]
    return "/".join(parts) + "/0001-request.json"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
IRSA_ANNOTATION = "eks.amazonaws.com/role-arn"
OTHER_ACCOUNT = "210987654321"


@dataclass(slots=True)
class Store:
    """The model store as the plan builds it."""

    bucket: str
    urn: str
    policy: list[Mapping[str, Any]] = field(default_factory=list)
    key_arn: str | None = None
    key_policy: list[Mapping[str, Any]] | None = None
    account: str = ""


@dataclass(frozen=True, slots=True)
class Actor:
    """One request an actor of the platform sends, and whether it must be allowed."""

    what: str
    urn: str
    request: Request
    identity: tuple[Mapping[str, Any], ...]
    must_allow: bool
    kms: bool = False


def _store(resources: Sequence[PolicyResource], bucket: str | None) -> Store | None:
    by_urn = {resource.urn: resource for resource in resources}
    buckets = [r for r in resources if r.type == BUCKET and (bucket is None or props_of(r).get("bucket") == bucket)]
    if not buckets:
        return None
    name = str(props_of(buckets[0]).get("bucket"))
    store = Store(name, buckets[0].urn)
    for resource in resources:
        props = props_of(resource)
        if props.get("bucket") != name:
            continue
        if resource.type == BUCKET_POLICY:
            store.policy = parse(props.get("policy"))
        elif resource.type == BUCKET_ENCRYPTION:
            for rule in props.get("rules") or []:
                default = (rule or {}).get("applyServerSideEncryptionByDefault") or {}
                if default.get("sseAlgorithm") == "aws:kms" and default.get("kmsMasterKeyId"):
                    store.key_arn = str(default["kmsMasterKeyId"])
            key = next((by_urn[urn] for urn in resource.dependencies if urn in by_urn and by_urn[urn].type == KMS_KEY), None)
            if key is not None and props_of(key).get("policy"):
                store.key_policy = parse(props_of(key).get("policy"))
    match = re.match(r"arn:aws[a-z-]*:kms:[^:]*:(\d{12}):", store.key_arn or "")
    store.account = match.group(1) if match else "123456789012"
    return store


def _roles(resources: Sequence[PolicyResource]) -> dict[str, list[Mapping[str, Any]]]:
    """Inline policy statements per role name."""
    found: dict[str, list[Mapping[str, Any]]] = {}
    for resource in resources:
        if resource.type == ROLE_POLICY:
            props = props_of(resource)
            found.setdefault(str(props.get("role")), []).extend(parse(props.get("policy")))
    return found


def _service_account_roles(resources: Sequence[PolicyResource]) -> dict[tuple[str, str], str]:
    """(namespace, service account) -> IRSA role ARN."""
    found: dict[tuple[str, str], str] = {}
    for obj in kube_objects(resources):
        if obj.kind == "ServiceAccount" and obj.group == "core":
            metadata = obj.body.get("metadata") or {}
            arn = (metadata.get("annotations") or {}).get(IRSA_ANNOTATION)
            if arn:
                found[(str(metadata.get("namespace") or "default"), str(metadata.get("name")))] = str(arn)
    return found


def _secure(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    return {"aws:SecureTransport": "true", **(extra or {})}


def actors(resources: Sequence[PolicyResource], store: Store, ctx: ReadinessContext) -> list[Actor]:
    """Every request the platform's readers and writers send to the store, plus the ones that must fail."""
    roles = _roles(resources)
    accounts = _service_account_roles(resources)
    bucket_arn = f"arn:aws:s3:::{store.bucket}"
    via_s3 = {"kms:ViaService": f"s3.{ctx.region}.amazonaws.com", "kms:CallerAccount": store.account}
    found: list[Actor] = []
    team_reads: dict[str, tuple[str, str]] = {}

    def role_actor(role_arn: str) -> tuple[str, tuple[Mapping[str, Any], ...]]:
        name = role_arn.rsplit("/", 1)[-1]
        return name, tuple(roles.get(name, ()))

    for obj in kube_objects(resources):
        if obj.kind != "InferenceService" or obj.group != "serving.kserve.io":
            continue
        metadata = obj.body.get("metadata") or {}
        namespace = str(metadata.get("namespace") or "default")
        predictor = (obj.body.get("spec") or {}).get("predictor") or {}
        implementation = next((predictor[k] for k in ("model", "onnx", "triton", "pytorch", "sklearn", "xgboost", "tensorflow", "huggingface") if isinstance(predictor.get(k), Mapping)), {})
        role_arn = accounts.get((namespace, str(predictor.get("serviceAccountName") or "default")))
        uri = str(implementation.get("storageUri") or "")
        if uri.startswith(f"s3://{store.bucket}/"):
            prefix = uri[len(f"s3://{store.bucket}/") :]
            if role_arn is None:
                found.append(Actor(f"model puller of {obj.name}", obj.resource.urn, Request("", store.account, "s3:GetObject", f"{bucket_arn}/{prefix}"), (), True))
            else:
                role, identity = role_actor(role_arn)
                team_reads[namespace] = (role_arn, prefix)
                what = f"model puller of {obj.name} (role {role})"
                found += [
                    Actor(what, obj.resource.urn, Request(role_arn, store.account, "s3:ListBucket", bucket_arn, _secure({"s3:prefix": prefix})), identity, True),
                    Actor(what, obj.resource.urn, Request(role_arn, store.account, "s3:GetObject", f"{bucket_arn}/{prefix}model.onnx", _secure()), identity, True),
                ]
                if store.key_arn:
                    found.append(Actor(what, obj.resource.urn, Request(role_arn, store.account, "kms:Decrypt", store.key_arn, via_s3), identity, True, kms=True))
        logger = predictor.get("logger") or {}
        storage = logger.get("storage") if isinstance(logger, Mapping) else None
        if isinstance(storage, Mapping) and str(logger.get("url") or "").startswith(f"s3://{store.bucket}"):
            logger_role = accounts.get((namespace, str(storage.get("serviceAccountName") or predictor.get("serviceAccountName") or "default")))
            key = logger_object_key(str(logger.get("url")), store.bucket, namespace, obj.name, str(storage.get("path") or ""))
            if logger_role is None:
                found.append(Actor(f"payload logger of {obj.name}", obj.resource.urn, Request("", store.account, "s3:PutObject", f"{bucket_arn}/{key}"), (), True))
                continue
            role, identity = role_actor(logger_role)
            what = f"payload logger of {obj.name} (role {role}; no SSE header)"
            found.append(Actor(what, obj.resource.urn, Request(logger_role, store.account, "s3:PutObject", f"{bucket_arn}/{key}", _secure()), identity, True))
            if store.key_arn:
                found.append(Actor(what, obj.resource.urn, Request(logger_role, store.account, "kms:GenerateDataKey", store.key_arn, via_s3), identity, True, kms=True))

    publisher = f"arn:aws:iam::{store.account}:role/inferstack-registry-publisher"
    assumed = ({"Sid": "AssumedPublisherIdentity", "Effect": "Allow", "Action": ["s3:*", "kms:*"], "Resource": "*"},)
    headers = {"s3:x-amz-server-side-encryption": "aws:kms"}
    if ctx.model_store_kms_key_arn:
        headers["s3:x-amz-server-side-encryption-aws-kms-key-id"] = ctx.model_store_kms_key_arn
    sample = f"{bucket_arn}/models/team/model/1.0.0/model.onnx"
    found += [
        Actor("registry publish (SSE aws:kms" + (" + key id" if ctx.model_store_kms_key_arn else ", no key id header") + ")", store.urn,
              Request(publisher, store.account, "s3:PutObject", sample, _secure(headers)), assumed, True),
        Actor("registry promote (CopyObject into this store)", store.urn,
              Request(publisher, store.account, "s3:PutObject", sample, _secure({**headers, "s3:x-amz-copy-source": "source-bucket/models/team/model/1.0.0/model.onnx"})), assumed, True),
    ]
    if store.key_arn:
        found.append(Actor("registry publish (S3's GenerateDataKey)", store.urn, Request(publisher, store.account, "kms:GenerateDataKey", store.key_arn, via_s3), assumed, True, kms=True))
    # Everyone else.
    stranger = f"arn:aws:iam::{store.account}:role/unrelated-workload"
    outsider = f"arn:aws:iam::{OTHER_ACCOUNT}:role/outsider"
    everything = ({"Sid": "OutsiderOwnPolicy", "Effect": "Allow", "Action": "*", "Resource": "*"},)
    found += [
        Actor("an unrelated role of the account", store.urn, Request(stranger, store.account, "s3:GetObject", sample, _secure()), (), False),
        Actor("a principal of another account", store.urn, Request(outsider, OTHER_ACCOUNT, "s3:GetObject", sample, _secure()), everything, False),
    ]
    namespaces = sorted(team_reads)
    for index, namespace in enumerate(namespaces):
        other = namespaces[(index + 1) % len(namespaces)]
        if other == namespace:
            continue
        role_arn = team_reads[other][0]
        role, identity = role_actor(role_arn)
        found.append(Actor(f"team {other}'s serving role ({role}) reading team {namespace}'s models", store.urn,
                           Request(role_arn, store.account, "s3:GetObject", f"{bucket_arn}/{team_reads[namespace][1]}model.onnx", _secure()), identity, False))
    return found


def judge(actor: Actor, store: Store) -> Verdict:
    """The verdict IAM gives the actor's request against the store's bucket or key policy."""
    if actor.kms:
        return evaluate(actor.request, identity=actor.identity, resource=store.key_policy, resource_account=store.account, resource_label="key policy", key_policy=True)
    return evaluate(actor.request, identity=actor.identity, resource=store.policy, resource_account=store.account, resource_label="bucket policy")


def check_storage_access(resources: Sequence[PolicyResource], ctx: ReadinessContext) -> Iterable[Finding]:
    """Every actor's request against the store's policies."""
    store = _store(resources, ctx.model_store_bucket)
    if store is None:
        return
    for actor in actors(resources, store, ctx):
        try:
            verdict = judge(actor, store)
        except UnsupportedPolicy as error:
            yield Finding(CHECK_ID, actor.urn, f"{actor.what}: cannot evaluate the policy ({error}); expected operators this checker implements")
            continue
        request = actor.request
        if actor.must_allow and verdict.decision != "allow":
            yield Finding(
                CHECK_ID,
                actor.urn,
                f"{actor.what}: {request.action} on {request.resource} is {verdict.decision.replace('-', ' ')} ({verdict.reason}); "
                "expected allowed",
            )
        elif not actor.must_allow and verdict.decision == "allow":
            yield Finding(CHECK_ID, actor.urn, f"{actor.what}: {request.action} on {request.resource} is allowed ({verdict.reason}); expected denied")
