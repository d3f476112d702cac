"""ModelStore: the S3 bucket of model artifacts and its KMS key, secure by default, or an existing bucket."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from inferstack.constants import TYPE_MODEL_STORE
from inferstack.render.labels import platform_tags
from inferstack.render.payload_logging import PAYLOAD_LOG_ROOT
from inferstack.spec.environment import ModelStoreConfig


@dataclass(frozen=True, slots=True)
class ModelStoreArgs:
    """The stack's model-store settings and tags."""

    config: ModelStoreConfig
    environment: str
    cost_center: str
    account_id: pulumi.Input[str] | None = None
    """The stack's account (the audit trail's ARN and its key and bucket policies); no trail without it."""
    region: str | None = None


SSE_HEADER_KEY = "s3:x-amz-server-side-encryption"
SSE_KMS_KEY_ID_KEY = "s3:x-amz-server-side-encryption-aws-kms-key-id"


def deny_insecure_transport(bucket_arn: str) -> dict[str, Any]:
    """The bucket-policy statement that denies every request to the bucket and its objects over plain HTTP."""
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [bucket_arn, f"{bucket_arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def bucket_policy(bucket_arn: str, kms_key_arn: str) -> str:
    """Deny plain HTTP, and deny puts that ask for another encryption or another KMS key than the store's.

    A put without encryption headers is allowed: the bucket's default encryption (SSE-KMS with the
    store's key, bucket key on) encrypts it. KServe's payload logger sends exactly such puts (kserve
    v0.20.0 pkg/agent/storage/s3.go: UploadInput with Bucket, Key and Body only).

    IAM's condition evaluation (IAM User Guide, "IAM JSON policy elements: Condition operators",
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html):
    a negated operator (`StringNotEquals`) on a key missing from the request evaluates to true, and
    `...IfExists` is also true when the key is missing, so either form alone denies header-less puts.
    Each deny below is therefore guarded by `Null: {key: "false"}` (the header is present), and the
    operators of one Condition block are ANDed.
    """
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                deny_insecure_transport(bucket_arn),
                {
                    "Sid": "DenyUnencryptedPuts",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:PutObject",
                    "Resource": f"{bucket_arn}/*",
                    "Condition": {
                        "Null": {SSE_HEADER_KEY: "false"},
                        "StringNotEquals": {SSE_HEADER_KEY: "aws:kms"},
                    },
                },
                {
                    "Sid": "DenyOtherKeys",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:PutObject",
                    "Resource": f"{bucket_arn}/*",
                    "Condition": {
                        "Null": {SSE_KMS_KEY_ID_KEY: "false"},
                        "StringNotEquals": {SSE_KMS_KEY_ID_KEY: kms_key_arn},
                    },
                },
            ],
        },
        sort_keys=True,
    )


AUDIT_NONCURRENT_DAYS = 30
"""Days an overwritten or deleted audit log version stays recoverable."""


def audit_trail_name(bucket: str) -> str:
    """The trail's name (fixed, so key and bucket policies can pin its ARN as aws:SourceArn)."""
    return f"{bucket}-access"


def audit_bucket_name(bucket: str) -> str:
    """The audit bucket: the store's name (cut to fit S3's 63 characters) with `-audit`."""
    return f"{bucket[:57].rstrip('.-')}-audit"


def _partition(region: str) -> str:
    return "aws-us-gov" if "-gov-" in region else "aws-cn" if region.startswith("cn-") else "aws"


def audit_trail_arn(account_id: str, region: str, trail_name: str) -> str:
    """The trail's ARN (arn:<partition>:cloudtrail:<region>:<account>:trail/<name>)."""
    return f"arn:{_partition(region)}:cloudtrail:{region}:{account_id}:trail/{trail_name}"


def audit_event_selectors(bucket: str, region: str) -> list[aws.cloudtrail.TrailAdvancedEventSelectorArgsDict]:
    """What the trail records: every object read in the store, and every write under models/ (artifacts, registry).

    Payload-log writes (one per logged request, written by KServe's logger) are left out: at hundreds of requests
    a second they would cost more than the serving itself (CloudTrail data events are billed per 100,000); reads of
    them (people looking at end-user data) are recorded. Advanced event selectors: CloudTrail API reference,
    AdvancedEventSelector / AdvancedFieldSelector (fields eventCategory, resources.type, readOnly, resources.ARN).
    """
    objects = f"arn:{_partition(region)}:s3:::{bucket}/"
    data: list[aws.cloudtrail.TrailAdvancedEventSelectorFieldSelectorArgsDict] = [
        {"field": "eventCategory", "equals": ["Data"]},
        {"field": "resources.type", "equals": ["AWS::S3::Object"]},
    ]
    return [
        {"name": "Model store object reads", "field_selectors": [*data, {"field": "readOnly", "equals": ["true"]}, {"field": "resources.ARN", "starts_withs": [objects]}]},
        {
            "name": "Model store artifact and registry writes",
            "field_selectors": [*data, {"field": "readOnly", "equals": ["false"]}, {"field": "resources.ARN", "starts_withs": [f"{objects}models/"]}],
        },
    ]


def audit_key_policy(account_id: str, region: str, trail_name: str) -> dict[str, Any]:
    """The audit key: the account administers it; CloudTrail encrypts with it for this trail only.

    AWS CloudTrail User Guide, "Configure AWS KMS key policies for CloudTrail": GenerateDataKey* with the
    trail's ARN in aws:SourceArn and the kms:EncryptionContext:aws:cloudtrail:arn of this account's trails,
    DescribeKey for the same trail.
    """
    trail = audit_trail_arn(account_id, region, trail_name)
    partition = _partition(region)
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "AccountAdministers", "Effect": "Allow", "Principal": {"AWS": f"arn:{partition}:iam::{account_id}:root"}, "Action": "kms:*", "Resource": "*"},
            {
                "Sid": "CloudTrailEncrypts",
                "Effect": "Allow",
                "Principal": {"Service": "cloudtrail.amazonaws.com"},
                "Action": "kms:GenerateDataKey*",
                "Resource": "*",
                "Condition": {
                    "StringEquals": {"aws:SourceArn": trail},
                    "StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn": f"arn:{partition}:cloudtrail:*:{account_id}:trail/*"},
                },
            },
            {
                "Sid": "CloudTrailDescribesKey",
                "Effect": "Allow",
                "Principal": {"Service": "cloudtrail.amazonaws.com"},
                "Action": "kms:DescribeKey",
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:SourceArn": trail}},
            },
        ],
    }


def audit_bucket_policy(bucket_arn: str, account_id: str, region: str, trail_name: str) -> dict[str, Any]:
    """The audit bucket: TLS only; CloudTrail may check its ACL and write this account's logs, for this trail only.

    AWS CloudTrail User Guide, "Amazon S3 bucket policy for CloudTrail" (AWSCloudTrailAclCheck, AWSCloudTrailWrite).
    """
    trail = audit_trail_arn(account_id, region, trail_name)
    return {
        "Version": "2012-10-17",
        "Statement": [
            deny_insecure_transport(bucket_arn),
            {
                "Sid": "CloudTrailAclCheck",
                "Effect": "Allow",
                "Principal": {"Service": "cloudtrail.amazonaws.com"},
                "Action": "s3:GetBucketAcl",
                "Resource": bucket_arn,
                "Condition": {"StringEquals": {"aws:SourceArn": trail}},
            },
            {
                "Sid": "CloudTrailWrite",
                "Effect": "Allow",
                "Principal": {"Service": "cloudtrail.amazonaws.com"},
                "Action": "s3:PutObject",
                "Resource": f"{bucket_arn}/AWSLogs/{account_id}/*",
                "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control", "aws:SourceArn": trail}},
            },
        ],
    }


class ModelStore(pulumi.ComponentResource):
    """S3 bucket with SSE-KMS (bucket key), versioning, all public access blocked, TLS-only policy and old-version expiry.

    With `model_store.create: false` the named bucket and its key (kms_key_arn) are used as they are.
    """

    bucket_name: pulumi.Output[str]
    bucket_arn: pulumi.Output[str]
    kms_key_arn: pulumi.Output[str]

    def __init__(self, name: str, args: ModelStoreArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_MODEL_STORE, name, None, opts)
        config = args.config
        if not config.create:
            self.bucket_name = pulumi.Output.from_input(config.bucket)
            self.bucket_arn = pulumi.Output.from_input(f"arn:aws:s3:::{config.bucket}")
            self.kms_key_arn = pulumi.Output.from_input(config.kms_key_arn or "")
            self.register_outputs({"bucket": self.bucket_name})
            return
        child = pulumi.ResourceOptions(parent=self)
        tags = platform_tags(args.environment, args.cost_center)
        key = aws.kms.Key(
            f"{name}-key",
            description=f"Model store {config.bucket}",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            tags=tags,
            opts=child,
        )
        aws.kms.Alias(f"{name}-key-alias", name=f"alias/{config.bucket}", target_key_id=key.key_id, opts=child)
        bucket = aws.s3.Bucket(f"{name}-bucket", bucket=config.bucket, force_destroy=False, tags=tags, opts=child)
        public_access = _harden_bucket(name, bucket, key, child)
        aws.s3.BucketPolicy(
            f"{name}-policy",
            bucket=bucket.id,
            policy=pulumi.Output.all(bucket.arn, key.arn).apply(lambda values: bucket_policy(values[0], values[1])),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[public_access]),
        )
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle",
            bucket=bucket.id,
            rules=[
                {
                    "id": "expire-noncurrent-versions",
                    "status": "Enabled",
                    "filter": {"prefix": ""},
                    "noncurrent_version_expiration": {"noncurrent_days": config.noncurrent_version_days},
                    "abort_incomplete_multipart_upload": {"days_after_initiation": 7},
                },
                {
                    # Logged requests and responses are data about end users: kept for the environment's period, then
                    # deleted for good (the delete markers' old versions go a day later).
                    "id": "expire-payload-logs",
                    "status": "Enabled",
                    "filter": {"prefix": f"{PAYLOAD_LOG_ROOT}/"},
                    "expiration": {"days": config.payload_log_retention_days},
                    "noncurrent_version_expiration": {"noncurrent_days": 1},
                },
            ],
            opts=child,
        )
        if config.access_audit and args.account_id is not None and args.region is not None:
            self._access_audit(name, args, tags)
        self.bucket_name = bucket.bucket
        self.bucket_arn = bucket.arn
        self.kms_key_arn = key.arn
        self.register_outputs({"bucket": self.bucket_name, "bucket_arn": self.bucket_arn, "kms_key_arn": self.kms_key_arn})

    def _access_audit(self, name: str, args: ModelStoreArgs, tags: dict[str, str]) -> None:
        """A CloudTrail trail of the store's object-level events, into its own KMS-encrypted, TLS-only bucket."""
        config, region = args.config, str(args.region)
        child = pulumi.ResourceOptions(parent=self)
        trail_name = audit_trail_name(config.bucket)
        account: pulumi.Output[str] = pulumi.Output.from_input(args.account_id).apply(str)
        key = aws.kms.Key(
            f"{name}-audit-key",
            description=f"Encrypts the access audit trail of model store {config.bucket}",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=account.apply(lambda account_id: json.dumps(audit_key_policy(account_id, region, trail_name))),
            tags=tags,
            opts=child,
        )
        bucket = aws.s3.Bucket(f"{name}-audit-bucket", bucket=audit_bucket_name(config.bucket), force_destroy=False, tags=tags, opts=child)
        public_access = _harden_bucket(f"{name}-audit", bucket, key, child)
        policy = aws.s3.BucketPolicy(
            f"{name}-audit-policy",
            bucket=bucket.id,
            policy=pulumi.Output.all(bucket.arn, account).apply(
                lambda values: json.dumps(audit_bucket_policy(values[0], values[1], region, trail_name))
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[public_access]),
        )
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-audit-lifecycle",
            bucket=bucket.id,
            rules=[
                {
                    "id": "expire-audit-logs",
                    "status": "Enabled",
                    "filter": {"prefix": ""},
                    "expiration": {"days": config.audit_log_retention_days},
                    "noncurrent_version_expiration": {"noncurrent_days": AUDIT_NONCURRENT_DAYS},
                    "abort_incomplete_multipart_upload": {"days_after_initiation": 7},
                }
            ],
            opts=child,
        )
        aws.cloudtrail.Trail(
            f"{name}-audit-trail",
            name=trail_name,
            s3_bucket_name=bucket.id,
            kms_key_id=key.arn,
            enable_log_file_validation=True,
            include_global_service_events=False,
            is_multi_region_trail=False,
            advanced_event_selectors=audit_event_selectors(config.bucket, region),
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
        )


def _harden_bucket(prefix: str, bucket: aws.s3.Bucket, key: aws.kms.Key, opts: pulumi.ResourceOptions) -> aws.s3.BucketPublicAccessBlock:
    """SSE-KMS with the bucket key, versioning, all public access blocked and ACLs off (owner enforced) on one bucket.

    Resource names are `<prefix>-encryption`, `-versioning`, `-public-access` and `-ownership` (the URNs of stacks
    deployed before this helper existed). Returns the public access block, which a bucket policy must wait for.
    """
    aws.s3.BucketServerSideEncryptionConfiguration(
        f"{prefix}-encryption",
        bucket=bucket.id,
        rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms", "kms_master_key_id": key.arn}, "bucket_key_enabled": True}],
        opts=opts,
    )
    aws.s3.BucketVersioning(f"{prefix}-versioning", bucket=bucket.id, versioning_configuration={"status": "Enabled"}, opts=opts)
    public_access = aws.s3.BucketPublicAccessBlock(
        f"{prefix}-public-access",
        bucket=bucket.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
        opts=opts,
    )
    aws.s3.BucketOwnershipControls(f"{prefix}-ownership", bucket=bucket.id, rule={"object_ownership": "BucketOwnerEnforced"}, opts=opts)
    return public_access
