"""ModelStore: the S3 bucket of model artifacts and its KMS key, secure by default, or an existing bucket."""

from __future__ import annotations

import json
from dataclasses import dataclass

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


SSE_HEADER_KEY = "s3:x-amz-server-side-encryption"
SSE_KMS_KEY_ID_KEY = "s3:x-amz-server-side-encryption-aws-kms-key-id"


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
                {
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [bucket_arn, f"{bucket_arn}/*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                },
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
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=bucket.id,
            rules=[
                {
                    "apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms", "kms_master_key_id": key.arn},
                    "bucket_key_enabled": True,
                }
            ],
            opts=child,
        )
        aws.s3.BucketVersioning(f"{name}-versioning", bucket=bucket.id, versioning_configuration={"status": "Enabled"}, opts=child)
        public_access = aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        aws.s3.BucketOwnershipControls(
            f"{name}-ownership", bucket=bucket.id, rule={"object_ownership": "BucketOwnerEnforced"}, opts=child
        )
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
        self.bucket_name = bucket.bucket
        self.bucket_arn = bucket.arn
        self.kms_key_arn = key.arn
        self.register_outputs({"bucket": self.bucket_name, "bucket_arn": self.bucket_arn, "kms_key_arn": self.kms_key_arn})
