"""Reading provider inputs safely: nested lookups, tags and labels, IAM documents, KServe containers.

Property names are the Pulumi engine's (camelCase) names. A value the engine
does not know yet during preview arrives as one of Pulumi's "unknown" sentinel
strings; reading one raises `NotEvaluated`, so a rule never judges a value it
cannot see.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Final

from inferstack.constants import (
    GPU_RESOURCE,
    LABEL_ENVIRONMENT,
    TAG_ENVIRONMENT,
)
from inferstack.policy.model import NotEvaluated, PolicyResource

# Resource type tokens (provider tokens, as the engine reports them).
AWS_KMS_KEY: Final = "aws:kms/key:Key"
AWS_S3_BUCKET: Final = "aws:s3/bucket:Bucket"
AWS_S3_ENCRYPTION: Final = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
AWS_S3_VERSIONING: Final = "aws:s3/bucketVersioning:BucketVersioning"
AWS_S3_PUBLIC_ACCESS_BLOCK: Final = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
AWS_S3_BUCKET_POLICY: Final = "aws:s3/bucketPolicy:BucketPolicy"
AWS_S3_LIFECYCLE: Final = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
AWS_IAM_ROLE: Final = "aws:iam/role:Role"
AWS_IAM_ROLE_POLICY: Final = "aws:iam/rolePolicy:RolePolicy"
AWS_EKS_CLUSTER: Final = "aws:eks/cluster:Cluster"
AWS_EKS_NODE_GROUP: Final = "aws:eks/nodeGroup:NodeGroup"
AWS_LAUNCH_TEMPLATE: Final = "aws:ec2/launchTemplate:LaunchTemplate"
AWS_METRIC_ALARM: Final = "aws:cloudwatch/metricAlarm:MetricAlarm"
AWS_SNS_TOPIC: Final = "aws:sns/topic:Topic"
K8S_NAMESPACE: Final = "kubernetes:core/v1:Namespace"
K8S_SERVICE_ACCOUNT: Final = "kubernetes:core/v1:ServiceAccount"
K8S_NETWORK_POLICY: Final = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
K8S_RESOURCE_QUOTA: Final = "kubernetes:core/v1:ResourceQuota"
K8S_PDB: Final = "kubernetes:policy/v1:PodDisruptionBudget"
K8S_INFERENCE_SERVICE: Final = "kubernetes:serving.kserve.io/v1beta1:InferenceService"
K8S_PROMETHEUS_RULE: Final = "kubernetes:monitoring.coreos.com/v1:PrometheusRule"
K8S_HELM_RELEASE: Final = "kubernetes:helm.sh/v3:Release"
K8S_CRON_JOB: Final = "kubernetes:batch/v1:CronJob"

# InferenceService annotations set by the serving component.
APPROVED_STAGE_ANNOTATION: Final = "inferstack.io/approved-stage"
TRAFFIC_SPLIT_ANNOTATION: Final = "inferstack.io/traffic-split"
TRAFFIC_SPLIT_ROUTES: Final = "routes"
KSERVE_POD_LABEL: Final = "serving.kserve.io/inferenceservice"

# Pulumi's sentinels for values unknown during preview (pulumi_policy/proxy.py; the same strings on the wire).
UNKNOWN_SENTINELS: Final = frozenset(
    {
        "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7",
        "3eeb2bf0-c639-47a8-9e75-3b44932eb421",
        "04da6b54-80e4-46f7-96ec-b56ff0331ba9",
        "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2",
        "030794c1-ac77-496b-92df-f27374a8bd58",
        "e48ece36-62e2-4504-bad9-02848725956a",
        "dd056dcd-154b-4c76-9bd3-c8f88648b5ff",
    }
)


def is_unknown(value: Any) -> bool:
    """Whether the value is one of Pulumi's "not known until apply" sentinels."""
    return isinstance(value, str) and value in UNKNOWN_SENTINELS


def get(props: Any, *path: str | int, default: Any = None) -> Any:
    """The value at `path` inside nested mappings/lists, `default` when absent; NotEvaluated when unknown."""
    current = props
    for depth, key in enumerate(path):
        if isinstance(key, int):
            if not isinstance(current, Sequence) or isinstance(current, str) or key >= len(current):
                return default
            current = current[key]
        else:
            # type() first: plain dicts are the common case and the ABC check is slow.
            if not (type(current) is dict or isinstance(current, Mapping)) or key not in current:
                return default
            current = current[key]
        if current is None:
            return default
        if type(current) is str and current in UNKNOWN_SENTINELS:
            raise NotEvaluated(f"{'.'.join(str(part) for part in path[: depth + 1])} is not known until the update runs")
    return current


def as_list(value: Any) -> list[Any]:
    """A list from a list, a single value, or None (IAM fields may be a string or a list)."""
    if value is None:
        return []
    if isinstance(value, Sequence) and not isinstance(value, str):
        return list(value)
    return [value]


def as_mapping(value: Any) -> Mapping[str, Any]:
    """The value when it is a mapping, else an empty one."""
    return value if isinstance(value, Mapping) else {}


def is_true(value: Any) -> bool:
    """True for True and for the string "true" (some provider inputs, e.g. EBS `encrypted`, are strings)."""
    return value is True or (isinstance(value, str) and value.lower() == "true")


def eks_public_endpoint_on(props: Mapping[str, Any]) -> bool:
    """Whether an aws:eks:Cluster's public API endpoint is on: AWS turns it on when vpcConfig.endpointPublicAccess is unset."""
    public = get(props, "vpcConfig", "endpointPublicAccess")
    return public is None or is_true(public)


def aws_tags(props: Mapping[str, Any]) -> Mapping[str, Any]:
    """An AWS resource's `tags` input."""
    return as_mapping(get(props, "tags"))


def k8s_labels(props: Mapping[str, Any]) -> Mapping[str, Any]:
    """A Kubernetes object's metadata.labels."""
    return as_mapping(get(props, "metadata", "labels"))


def k8s_annotations(props: Mapping[str, Any]) -> Mapping[str, Any]:
    """A Kubernetes object's metadata.annotations."""
    return as_mapping(get(props, "metadata", "annotations"))


def k8s_namespace(props: Mapping[str, Any]) -> str:
    """A namespaced object's metadata.namespace ("default" when unset, as the API server would)."""
    namespace = get(props, "metadata", "namespace")
    return str(namespace) if namespace else "default"


def environment_of(resource: PolicyResource) -> str | None:
    """The environment a resource says it belongs to (AWS tag or Kubernetes label), if any."""
    if resource.type.startswith("kubernetes:"):
        value = as_mapping(as_mapping(resource.props.get("metadata")).get("labels")).get(LABEL_ENVIRONMENT)
    else:
        value = as_mapping(resource.props.get("tags")).get(TAG_ENVIRONMENT)
    return value if isinstance(value, str) and not is_unknown(value) else None


def policy_document(value: Any, what: str) -> Mapping[str, Any]:
    """An IAM/S3 policy document given as a JSON string (as the provider takes it) or a mapping."""
    if is_unknown(value):
        raise NotEvaluated(f"{what} is not known until the update runs")
    if isinstance(value, Mapping):
        return value
    if isinstance(value, str):
        try:
            document = json.loads(value)
        except json.JSONDecodeError as error:
            raise NotEvaluated(f"{what} is not valid JSON ({error.msg})") from None
        if isinstance(document, Mapping):
            return document
    raise NotEvaluated(f"{what} is not a policy document")


def statements(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """A policy document's statements (a single statement object counts as a list of one)."""
    return [item for item in as_list(document.get("Statement")) if isinstance(item, Mapping)]


def isvc_predictor(props: Mapping[str, Any]) -> Mapping[str, Any]:
    """spec.predictor of an InferenceService."""
    return as_mapping(get(props, "spec", "predictor"))


def isvc_containers(props: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    """Every container an InferenceService's predictor runs: the model container and any custom containers."""
    predictor = isvc_predictor(props)
    found: list[tuple[str, Mapping[str, Any]]] = []
    model = get(predictor, "model")
    if isinstance(model, Mapping):
        found.append(("spec.predictor.model", model))
    for index, container in enumerate(as_list(get(predictor, "containers"))):
        if isinstance(container, Mapping):
            found.append((f"spec.predictor.containers[{index}]", container))
    return found


def gpu_count(container: Mapping[str, Any]) -> float:
    """GPUs a container asks for: its nvidia.com/gpu limit, else its request."""
    for section in ("limits", "requests"):
        value = get(container, "resources", section, GPU_RESOURCE)
        if value is not None:
            try:
                return float(value)
            except (TypeError, ValueError):
                raise NotEvaluated(f"resources.{section}.{GPU_RESOURCE} is {value!r}, not a number") from None
    return 0.0


def isvc_gpus_per_replica(props: Mapping[str, Any]) -> float:
    """GPUs one predictor replica holds (all containers together)."""
    return sum(gpu_count(container) for _, container in isvc_containers(props))


def as_int(value: Any, what: str) -> int | None:
    """An integer input, None when absent, NotEvaluated when it is not a number."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise NotEvaluated(f"{what} is {value!r}, not a number")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise NotEvaluated(f"{what} is {value!r}, not a number") from None


def depends_on(child: PolicyResource, parent: PolicyResource) -> bool:
    """Whether `child` lists `parent`'s URN among its dependencies (ids are unknown at preview; URNs are not)."""
    return parent.urn in child.dependencies
