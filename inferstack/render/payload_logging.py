"""Payload logging of rollout variants: KServe's inference logger writing to the KMS-encrypted model store.

Canary, shadow and A/B variants log every request and response (`mode: all`)
so candidate and stable can be compared offline and drift can be analysed.
The sink is KServe's blob-storage logger (KServe 0.15+, S3 only). The logger
agent beside the predictor writes one JSON object per logged request or
response at `<url path>/<namespace>/<isvc>/<component>/<storage path>/<id>-<request|response>.json`
(kserve/kserve v0.20.0, pkg/logger/store.go, getObjectPrefix/getObjectKey: the
URL's path comes first, the storage path only after namespace, InferenceService
and component). So the team prefix goes in the URL
(`s3://<model store bucket>/payload-logs/<team>`) and the storage path is
`<model>/<role>`: every object then lands under `payload-logs/<team>/`, the only
prefix the writer statements below allow, e.g.
`payload-logs/risk/risk/fraud-scorer/predictor/fraud-scorer/primary/<id>-request.json`.

Where the objects land (kserve/kserve v0.20.0 pkg/logger/store.go, BlobStore.getObjectKey):
`<url path>/<namespace>/<inferenceservice>/<component>/<storage.path>/<id>-<type>.<ext>`. The URL
carries the team prefix (`s3://<bucket>/payload-logs/<team>`), so every key stays under the prefix
the team's IAM statement allows, and `storage.path` (the rollout role) is the last folder.

Admission (kserve v0.20.0 pkg/apis/serving/v1beta1/component.go, validateLogger): a logger with
`storage` needs `path`, `parameters` and `key` together, or the webhook refuses the
InferenceService ("invalid logger storage configuration").

Credentials (kserve v0.20.0): the pod webhook (pkg/webhook/admission/pod/agent_injector.go) builds the
agent's environment from `storage.serviceAccountName` (default `logger-sa`); for a ServiceAccount
annotated `eks.amazonaws.com/role-arn` it adds only S3 settings (pkg/credentials/service_account_credentials.go,
s3.BuildServiceAccountEnvs), no keys, and `key` names an entry of a credentials Secret, which IRSA does not
use (the injector defaults it to "credentials"). The agent's S3 client is aws-sdk-go v1
`session.NewSession` with the default credential chain (pkg/agent/storage/utils.go), which reads the
web-identity token that EKS's pod identity webhook mounts into every container of a pod whose
`serviceAccountName` carries the role annotation: the predictor runs as the team's `model-serving`
ServiceAccount, so the logger sidecar writes with that role. No Secret is involved.

Encryption: the agent's upload sends no server-side-encryption header (pkg/agent/storage/s3.go,
UploadObject builds an UploadInput with Bucket, Key and Body only), so the object is encrypted by the
bucket's default SSE-KMS with the store's key; the bucket policy must not deny header-less puts
(components/model_store.py). TLS is enforced by the bucket policy. The team's role needs the statements of
`payload_log_writer_statements` beside its model-reader policy.
"""

from __future__ import annotations

from typing import Any

from inferstack.render.kserve_models import KSERVE_CONFIGURATION, V1beta1LoggerSpec, V1beta1LoggerStorageSpec

from inferstack.blueprint import Blueprint, ModelDeployment
from inferstack.constants import SERVING_SERVICE_ACCOUNT

PAYLOAD_LOG_ROOT = "payload-logs"
LOGGER_MODE = "all"
"""The default mode: requests and responses (KServe modes: all, request, response); a spec's data.payload_logging narrows it."""
LOGGER_FORMAT = "json"
LOGGER_STORAGE_KEY = "credentials"
"""`storage.key`: required by the webhook, unused with IRSA; the value KServe itself defaults to (LoggerDefaultStorageKey)."""


def payload_log_prefix(team: str) -> str:
    """Key prefix (no leading slash) of a team's payload logs in the model store."""
    return f"{PAYLOAD_LOG_ROOT}/{team}/"


def payload_log_url(bucket: str, team: str) -> str:
    """The logger URL: the bucket and the team's prefix (KServe puts the URL's path first in every object key)."""
    return f"s3://{bucket}/{payload_log_prefix(team).rstrip('/')}"


def payload_log_path(deployment: ModelDeployment, role: str) -> str:
    """The logger's storage path: model and variant (KServe places it after namespace/InferenceService/component)."""
    return f"{deployment.name}/{role}"


def payload_log_object_key(team: str, namespace: str, isvc: str, component: str, model: str, role: str, request_id: str, side: str) -> str:
    """The key KServe v0.20.0's blob store gives one logged record (pkg/logger/store.go getObjectKey, JSON format)."""
    return f"{payload_log_prefix(team)}{namespace}/{isvc}/{component}/{model}/{role}/{request_id}-{side}.json"


def payload_logger(deployment: ModelDeployment, blueprint: Blueprint, role: str) -> V1beta1LoggerSpec:
    """The predictor's logger, as JSON, into the model store under payload-logs/: every request and response, or only
    the side the spec's data handling allows (`data.payload_logging`; pii never logs both)."""
    return V1beta1LoggerSpec(local_vars_configuration=KSERVE_CONFIGURATION,
        mode=deployment.spec.data.logger_mode,
        url=payload_log_url(blueprint.config.model_store.bucket, deployment.team),
        storage=V1beta1LoggerStorageSpec(local_vars_configuration=KSERVE_CONFIGURATION,
            path=payload_log_path(deployment, role),
            parameters={"type": "s3", "format": LOGGER_FORMAT},
            key=LOGGER_STORAGE_KEY,
            service_account_name=SERVING_SERVICE_ACCOUNT,
        ),
    )


def payload_log_writer_statements(bucket_arn: str, team: str, kms_key_arn: str) -> list[dict[str, Any]]:
    """IAM statements a team's serving role needs to write its payload logs (no read, no delete)."""
    return [
        {
            "Sid": "WritePayloadLogs",
            "Effect": "Allow",
            "Action": ["s3:PutObject"],
            "Resource": [f"{bucket_arn}/{payload_log_prefix(team)}*"],
        },
        {
            "Sid": "EncryptPayloadLogs",
            "Effect": "Allow",
            "Action": ["kms:GenerateDataKey"],
            "Resource": [kms_key_arn],
        },
    ]
