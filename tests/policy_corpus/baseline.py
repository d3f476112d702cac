"""A secure, frugal stack as provider inputs (camelCase, as the engine sees them), and the stack config it runs under.

Every policy test starts from `secure_stack(env)`, which violates no rule, and
breaks exactly one thing. The corpus YAML files in this folder are patches on
top of it.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from inferstack.constants import (
    GPU_RESOURCE,
    KSERVE_DEPLOYMENT_MODE_ANNOTATION,
    LABEL_COST_CENTER,
    LABEL_ENVIRONMENT,
    LABEL_GPU_TYPE,
    LABEL_MODEL,
    LABEL_TEAM,
    TAG_COST_CENTER,
    TAG_ENVIRONMENT,
    TAG_MODEL,
    TAG_TEAM,
)
from inferstack.policy import CostFigures, PolicyContext, PolicyResource
from inferstack.policy import props as p
from inferstack.spec.environment import EnvironmentConfig

OIDC = "oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
ACCOUNT = "123456789012"


ALERTMANAGER_VALUES: dict[str, Any] = {
    "config": {
        "route": {
            "receiver": "slack-ml-platform",
            "routes": [{"receiver": "null", "matchers": ['alertname = "Watchdog"']}],
        },
        "receivers": [
            {"name": "null"},
            {
                "name": "slack-ml-platform",
                "slack_configs": [
                    {"api_url_file": "/etc/alertmanager/secrets/alertmanager-receivers/slack-ml-platform", "channel": "#ml-platform"}
                ],
            },
        ],
    },
    "alertmanagerSpec": {"secrets": ["alertmanager-receivers"]},
}
"""Alertmanager routing every alert to Slack, the webhook read from a mounted Secret (render/alert_routing.py's shape)."""


def stack_config(environment: str) -> dict[str, Any]:
    """The `config:` block of a stack file for `environment` (keys as in stacks/Pulumi.<env>.yaml)."""
    prod = environment == "prod"
    dev = environment == "dev"
    cluster: dict[str, Any] = {"name": f"inferstack-{environment}", "version": "1.35"}
    if dev:
        cluster |= {"endpoint_public_access": True, "public_access_cidrs": ["20.30.40.0/24"]}
    return {
        "aws:region": "us-east-1",
        "inferstack:cluster": cluster,
        "inferstack:network": {"availability_zones": ["us-east-1a", "us-east-1b", "us-east-1c"]},
        "inferstack:gpu": {
            "allowed_gpu_types": ["none", "t4", "a10g", "l4"] + (["h100"] if not dev else []),
            "max_gpus_per_model": 8 if dev else 32,
            "max_replicas_per_model": 4 if dev else 20,
        },
        "inferstack:spot": {"policy": "on-demand-base" if prod else "spot-only", "min_instance_types": 2},
        "inferstack:budgets": {"monthly_usd": 50_000, "teams": {"vision": 20_000}},
        "inferstack:policy": {"enforcement": {"prod-min-replicas": "disabled"}} if dev else {},
        "inferstack:model_store": {"bucket": f"inferstack-models-{environment}"},
        "inferstack:alerts": {"destination": "slack:#ml-platform"},
    }


def environment_config(environment: str, config: Mapping[str, Any] | None = None) -> EnvironmentConfig:
    """A validated EnvironmentConfig from a stack config block."""
    from inferstack.spec.loader import environment_from_config

    return environment_from_config(dict(config or stack_config(environment)), environment, f"Pulumi.{environment}.yaml")


WITHIN_BUDGET = CostFigures(
    monthly_usd=12_000.0,
    by_team={"vision": 9_000.0},
    expected_monthly_usd=14_000.0,
    peak_monthly_usd=20_000.0,
    by_team_expected={"vision": 10_000.0},
    by_team_peak={"vision": 15_000.0},
)


def context(environment: str, cost: CostFigures | None = WITHIN_BUDGET, config: Mapping[str, Any] | None = None) -> PolicyContext:
    """The PolicyContext of the baseline stack config (cost within budget unless told otherwise)."""
    return PolicyContext.from_environment(environment_config(environment, config), cost, approvals_verified=True)


def urn(environment: str, type_token: str, name: str) -> str:
    """A URN in the engine's format."""
    return f"urn:pulumi:{environment}::inferstack::{type_token}::{name}"


def _tags(environment: str, model: str | None = None) -> dict[str, str]:
    tags = {TAG_TEAM: "vision" if model else "platform", TAG_ENVIRONMENT: environment, TAG_COST_CENTER: "ml-platform"}
    if model:
        tags[TAG_MODEL] = model
    return tags


def _labels(environment: str, model: str | None = None) -> dict[str, str]:
    labels = {LABEL_TEAM: "vision", LABEL_ENVIRONMENT: environment, LABEL_COST_CENTER: "vision"}
    if model:
        labels[LABEL_MODEL] = model
    return labels


def _doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def secure_stack(environment: str) -> list[PolicyResource]:
    """Resources of a stack that breaks no rule in `environment` under `stack_config(environment)`."""
    env = environment
    prod = env == "prod"
    dev = env == "dev"

    def res(type_token: str, name: str, props: dict[str, Any], depends: tuple[str, ...] = ()) -> PolicyResource:
        return PolicyResource(urn(env, type_token, name), type_token, name, props, None, depends)

    bucket_name = f"inferstack-models-{env}"
    key = res(p.AWS_KMS_KEY, "models-key", {"enableKeyRotation": True, "deletionWindowInDays": 30, "tags": _tags(env)})
    bucket = res(p.AWS_S3_BUCKET, "models", {"bucket": bucket_name, "tags": _tags(env)})
    key_arn = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    bucket_arn = f"arn:aws:s3:::{bucket_name}"
    on_bucket = (bucket.urn,)
    storage = [
        key,
        bucket,
        res(
            p.AWS_S3_ENCRYPTION,
            "models-encryption",
            {
                "bucket": bucket_name,
                "rules": [
                    {"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": key_arn}, "bucketKeyEnabled": True}
                ],
            },
            on_bucket + (key.urn,),
        ),
        res(p.AWS_S3_VERSIONING, "models-versioning", {"bucket": bucket_name, "versioningConfiguration": {"status": "Enabled"}}, on_bucket),
        res(
            "aws:cloudtrail/trail:Trail",
            "models-access-trail",
            {
                "name": f"{bucket_name}-access",
                "s3BucketName": f"{bucket_name}-audit",
                "enableLogFileValidation": True,
                "advancedEventSelectors": [
                    {
                        "name": "Model store object access",
                        "fieldSelectors": [
                            {"field": "eventCategory", "equals": ["Data"]},
                            {"field": "resources.type", "equals": ["AWS::S3::Object"]},
                            {"field": "resources.ARN", "startsWiths": [f"{bucket_arn}/"]},
                        ],
                    }
                ],
                "tags": _tags(env),
            },
            on_bucket,
        ),
        res(
            p.AWS_S3_PUBLIC_ACCESS_BLOCK,
            "models-public-access",
            {"bucket": bucket_name, "blockPublicAcls": True, "blockPublicPolicy": True, "ignorePublicAcls": True, "restrictPublicBuckets": True},
            on_bucket,
        ),
        res(
            p.AWS_S3_BUCKET_POLICY,
            "models-tls-only",
            {
                "bucket": bucket_name,
                "policy": _doc(
                    {
                        "Sid": "DenyInsecureTransport",
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "s3:*",
                        "Resource": [bucket_arn, f"{bucket_arn}/*"],
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                    }
                ),
            },
            on_bucket,
        ),
        res(
            p.AWS_S3_LIFECYCLE,
            "models-lifecycle",
            {"bucket": bucket_name, "rules": [{"id": "old-versions", "status": "Enabled", "noncurrentVersionExpiration": {"noncurrentDays": 90}}]},
            on_bucket,
        ),
    ]
    serving_role = res(
        p.AWS_IAM_ROLE,
        "vision-serving",
        {
            "assumeRolePolicy": _doc(
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/{OIDC}"},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {
                        "StringEquals": {f"{OIDC}:sub": "system:serviceaccount:vision:vision-serving", f"{OIDC}:aud": "sts.amazonaws.com"}
                    },
                }
            ),
            "tags": _tags(env),
        },
    )
    identity = [
        res(
            p.AWS_IAM_ROLE,
            "cluster-role",
            {
                "assumeRolePolicy": _doc({"Effect": "Allow", "Principal": {"Service": "eks.amazonaws.com"}, "Action": "sts:AssumeRole"}),
                "managedPolicyArns": ["arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"],
                "tags": _tags(env),
            },
        ),
        serving_role,
        res(
            p.AWS_IAM_ROLE_POLICY,
            "vision-serving-read-models",
            {
                "role": "vision-serving",
                "policy": _doc(
                    {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": [f"{bucket_arn}/models/vision/*"]},
                    {"Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": [bucket_arn]},
                    {"Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": [key_arn]},
                    {"Effect": "Allow", "Action": ["ec2:DescribeInstances"], "Resource": "*"},
                ),
            },
            (serving_role.urn,),
        ),
    ]
    vpc: dict[str, Any] = {"subnetIds": ["subnet-0a", "subnet-0b", "subnet-0c"], "endpointPrivateAccess": True}
    vpc |= {"endpointPublicAccess": True, "publicAccessCidrs": ["20.30.40.0/24"]} if dev else {"endpointPublicAccess": False}
    cluster = res(
        p.AWS_EKS_CLUSTER,
        "cluster",
        {
            "name": f"inferstack-{env}",
            "version": "1.33",
            "vpcConfig": vpc,
            "encryptionConfig": {"resources": ["secrets"], "provider": {"keyArn": key_arn}},
            "enabledClusterLogTypes": ["api", "audit", "authenticator"],
            "tags": _tags(env),
        },
    )
    template = res(
        p.AWS_LAUNCH_TEMPLATE,
        "gpu-a10g-template",
        {
            "blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {"encrypted": "true", "volumeSize": 200, "volumeType": "gp3", "kmsKeyId": key_arn}}],
            "metadataOptions": {"httpTokens": "required", "httpPutResponseHopLimit": 2, "httpEndpoint": "enabled"},
            "tags": _tags(env),
        },
    )
    gpu_pool = res(
        p.AWS_EKS_NODE_GROUP,
        "gpu-a10g",
        {
            "clusterName": f"inferstack-{env}",
            "capacityType": "ON_DEMAND" if prod else "SPOT",
            "instanceTypes": ["g5.xlarge", "g5.2xlarge"],
            "subnetIds": ["subnet-0a", "subnet-0b", "subnet-0c"],
            "scalingConfig": {"minSize": 0, "maxSize": 4, "desiredSize": 0},
            "labels": {LABEL_GPU_TYPE: "a10g"},
            "taints": [{"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"}],
            "launchTemplate": {"id": "lt-0123", "version": "1"},
            "amiType": "AL2023_x86_64_NVIDIA",
            "tags": _tags(env),
        },
        (cluster.urn, template.urn),
    )
    system_pool = res(
        p.AWS_EKS_NODE_GROUP,
        "system",
        {
            "clusterName": f"inferstack-{env}",
            "capacityType": "ON_DEMAND",
            "instanceTypes": ["m7i.large"],
            "subnetIds": ["subnet-0a", "subnet-0b"],
            "scalingConfig": {"minSize": 2, "maxSize": 3, "desiredSize": 2},
            "launchTemplate": {"id": "lt-0456", "version": "1"},
            "tags": _tags(env),
        },
        (cluster.urn,),
    )
    compute = [
        cluster,
        template,
        gpu_pool,
        system_pool,
        res(p.AWS_SNS_TOPIC, "alarms", {"kmsMasterKeyId": "alias/aws/sns", "tags": _tags(env)}),
        res(
            p.AWS_METRIC_ALARM,
            "gpu-pool-pending",
            {"metricName": "pending_pods", "comparisonOperator": "GreaterThanThreshold", "threshold": 0, "tags": _tags(env)},
        ),
    ]
    ns = "vision"
    model = "defect-detector"
    min_replicas = 0 if dev else 2
    isvc = res(
        p.K8S_INFERENCE_SERVICE,
        model,
        {
            "apiVersion": "serving.kserve.io/v1beta1",
            "kind": "InferenceService",
            "metadata": {
                "name": model,
                "namespace": ns,
                "labels": _labels(env, model),
                "annotations": {
                    p.APPROVED_STAGE_ANNOTATION: "prod",
                    KSERVE_DEPLOYMENT_MODE_ANNOTATION: "RawDeployment",
                    p.TRAFFIC_SPLIT_ANNOTATION: "routes",
                },
            },
            "spec": {
                "predictor": {
                    "minReplicas": min_replicas,
                    "maxReplicas": 4,
                    "scaleMetric": "concurrency",
                    "canaryTrafficPercent": 10,
                    "serviceAccountName": "vision-serving",
                    "nodeSelector": {LABEL_GPU_TYPE: "a10g"},
                    "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
                    "model": {
                        "modelFormat": {"name": "onnx"},
                        "storageUri": f"s3://{bucket_name}/models/vision/{model}/1.2.0/",
                        "resources": {
                            "limits": {"cpu": "4", "memory": "16Gi", GPU_RESOURCE: "1"},
                            "requests": {"cpu": "4", "memory": "16Gi", GPU_RESOURCE: "1"},
                        },
                        "securityContext": {
                            "runAsNonRoot": True,
                            "runAsUser": 1000,
                            "allowPrivilegeEscalation": False,
                            "privileged": False,
                            "capabilities": {"drop": ["ALL"]},
                        },
                    },
                }
            },
        },
    )
    kubernetes = [
        res(p.K8S_NAMESPACE, ns, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": _labels(env)}}),
        res(
            p.K8S_SERVICE_ACCOUNT,
            "vision-serving-sa",
            {"metadata": {"name": "vision-serving", "namespace": ns, "labels": _labels(env), "annotations": {"eks.amazonaws.com/role-arn": "arn"}}},
        ),
        res(
            p.K8S_NETWORK_POLICY,
            "vision-ingress",
            {
                "metadata": {"name": "serving-ingress", "namespace": ns, "labels": _labels(env)},
                "spec": {
                    "podSelector": {},
                    "policyTypes": ["Ingress", "Egress"],
                    "ingress": [{"from": [{"namespaceSelector": {}}]}],
                    "egress": [{"to": [{"ipBlock": {"cidr": "10.40.0.0/16"}}], "ports": [{"protocol": "TCP", "port": 443}]}],
                },
            },
        ),
        res(p.K8S_RESOURCE_QUOTA, "vision-quota", {"metadata": {"name": "gpu", "namespace": ns, "labels": _labels(env)}, "spec": {"hard": {"requests.nvidia.com/gpu": "8"}}}),
        res(
            p.K8S_PDB,
            f"{model}-pdb",
            {
                "metadata": {"name": model, "namespace": ns, "labels": _labels(env, model)},
                "spec": {"minAvailable": 1, "selector": {"matchLabels": {p.KSERVE_POD_LABEL: model}}},
            },
        ),
        isvc,
        res(
            p.K8S_PROMETHEUS_RULE,
            "gpu-idle",
            {
                "metadata": {"name": "gpu-idle", "namespace": "monitoring", "labels": _labels(env)},
                "spec": {
                    "groups": [
                        {
                            "name": "gpu",
                            "rules": [{"alert": "GpuIdle", "expr": "avg by (Hostname) (DCGM_FI_DEV_GPU_UTIL) < 10", "for": "30m"}],
                        }
                    ]
                },
            },
        ),
        res(
            p.K8S_HELM_RELEASE,
            "kube-prometheus-stack",
            {"chart": "kube-prometheus-stack", "namespace": "monitoring", "version": "75.0.0", "values": {"alertmanager": ALERTMANAGER_VALUES}},
        ),
    ]
    return storage + identity + compute + kubernetes + _gateway(env, res, model, ns)


def _gateway(env: str, res: Any, model: str, ns: str) -> list[PolicyResource]:
    """The shared Gateway with HTTPS from cert-manager, JWT validation, deny-by-default, and the model's access and limits."""
    platform = {LABEL_TEAM: "platform", LABEL_ENVIRONMENT: env, LABEL_COST_CENTER: "ml-platform"}
    target = [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "inference-gateway"}]
    host = f"{model}-{ns}.models.internal"

    def meta(name: str, labels: dict[str, str]) -> dict[str, Any]:
        return {"name": name, "namespace": "gateway-system", "labels": labels}

    def istio(kind: str, api: str, name: str, spec: dict[str, Any], labels: dict[str, str] = platform) -> PolicyResource:
        return res(f"kubernetes:{api}:{kind}", name, {"apiVersion": api, "kind": kind, "metadata": meta(name, labels), "spec": spec})

    return [
        res(
            "kubernetes:gateway.networking.k8s.io/v1:Gateway",
            "inference-gateway",
            {
                "apiVersion": "gateway.networking.k8s.io/v1",
                "kind": "Gateway",
                "metadata": meta("inference-gateway", platform),
                "spec": {
                    "gatewayClassName": "istio",
                    "listeners": [
                        {"name": "http", "protocol": "HTTP", "port": 80, "allowedRoutes": {"namespaces": {"from": "Same"}}},
                        {
                            "name": "https",
                            "protocol": "HTTPS",
                            "port": 443,
                            "tls": {"mode": "Terminate", "certificateRefs": [{"kind": "Secret", "name": "inference-gateway-tls"}]},
                        },
                    ],
                },
            },
        ),
        res(
            "kubernetes:cert-manager.io/v1:Certificate",
            "gateway-certificate",
            {
                "apiVersion": "cert-manager.io/v1",
                "kind": "Certificate",
                "metadata": meta("inference-gateway-tls", platform),
                "spec": {
                    "secretName": "inference-gateway-tls",
                    "dnsNames": ["*.models.internal"],
                    "issuerRef": {"group": "cert-manager.io", "kind": "ClusterIssuer", "name": "inferstack-gateway-ca"},
                },
            },
        ),
        istio(
            "RequestAuthentication",
            "security.istio.io/v1",
            "inference-gateway-jwt",
            {"targetRefs": target, "jwtRules": [{"issuer": "https://sso.example.com", "jwksUri": "https://sso.example.com/keys", "audiences": ["inferstack"]}]},
        ),
        istio("AuthorizationPolicy", "security.istio.io/v1", "inference-gateway-allow-nothing", {"targetRefs": target, "action": "ALLOW"}),
        istio(
            "AuthorizationPolicy",
            "security.istio.io/v1",
            f"{model}-{ns}-access",
            {
                "targetRefs": target,
                "action": "ALLOW",
                "rules": [
                    {
                        "from": [{"source": {"requestPrincipals": ["https://sso.example.com/*"]}}],
                        "to": [{"operation": {"hosts": [host, f"{host}:*"]}}],
                        "when": [{"key": "request.auth.audiences", "values": ["inferstack"]}],
                    }
                ],
            },
            _labels(env, model),
        ),
        istio(
            "EnvoyFilter",
            "networking.istio.io/v1alpha3",
            f"{model}-{ns}-limits",
            {
                "targetRefs": target,
                "configPatches": [
                    {
                        "applyTo": "HTTP_ROUTE",
                        "match": {"context": "GATEWAY", "routeConfiguration": {"vhost": {"name": f"{host}:443", "route": {"action": "ANY"}}}},
                        "patch": {
                            "operation": "MERGE",
                            "value": {
                                "typed_per_filter_config": {
                                    "envoy.filters.http.local_ratelimit": {
                                        "@type": "type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit",
                                        "stat_prefix": "inference_local_rate_limit",
                                        "token_bucket": {"max_tokens": 100, "tokens_per_fill": 100, "fill_interval": "1s"},
                                    }
                                }
                            },
                        },
                    }
                ],
            },
            _labels(env, model),
        ),
    ]


_PATH_PART = re.compile(r"\[([^\]]+)\]|([^.\[\]]+)")


def path_parts(dotted: str) -> list[str]:
    """`a.b[nvidia.com/gpu].0` -> ["a", "b", "nvidia.com/gpu", "0"]: brackets hold keys that contain dots."""
    return [bracketed or plain for bracketed, plain in _PATH_PART.findall(dotted)]


def set_path(props: dict[str, Any], dotted: str, value: Any) -> None:
    """Set a value at a path inside nested dicts/lists (creating dicts); the value "__delete__" removes the key."""
    parts = path_parts(dotted)
    current: Any = props
    for part in parts[:-1]:
        if isinstance(current, list):
            current = current[int(part)]
        else:
            current = current.setdefault(part, {})
    last = parts[-1]
    if isinstance(current, list):
        current[int(last)] = value
    elif value == "__delete__":
        current.pop(last, None)
    else:
        current[last] = value


def patched(resources: list[PolicyResource], patches: Sequence[Mapping[str, Any]], environment: str) -> list[PolicyResource]:
    """Apply corpus patches: `{resource: NAME, set: {path: value}}`, `{remove: NAME}`, `{add: {type, name, props}}`."""
    by_name = {resource.name: resource for resource in resources}
    assert len(by_name) == len(resources), "baseline resource names must be unique"
    order = [resource.name for resource in resources]
    for patch in patches:
        if "remove" in patch:
            name = patch["remove"]
            assert name in by_name, f"no resource {name} in the baseline"
            del by_name[name]
            order.remove(name)
        elif "add" in patch:
            entry = patch["add"]
            added = PolicyResource(urn(environment, entry["type"], entry["name"]), entry["type"], entry["name"], copy.deepcopy(entry["props"]))
            by_name[added.name] = added
            order.append(added.name)
        else:
            name = patch["resource"]
            assert name in by_name, f"no resource {name} in the baseline"
            original = by_name[name]
            props = copy.deepcopy(dict(original.props))
            for dotted, value in patch["set"].items():
                set_path(props, dotted, value)
            by_name[name] = PolicyResource(original.urn, original.type, original.name, props, original.parent, original.dependencies)
    return [by_name[name] for name in order]
