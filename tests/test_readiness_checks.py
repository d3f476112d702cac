"""Deploy-readiness checks a-f: for each, a bad object caught and a good object passed (built here, in the test)."""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from inferstack.policy.model import PolicyResource
from inferstack.readiness import crd_closure, crd_schema, helm_values, kserve_admission, scheduling, storage_access
from inferstack.readiness.iam_eval import Request, condition_holds, evaluate, parse
from inferstack.readiness.model import Finding, ReadinessContext

STACK = "urn:pulumi:dev::inferstack::"
ISVC_TYPE = "kubernetes:serving.kserve.io/v1beta1:InferenceService"
RELEASE = "kubernetes:helm.sh/v3:Release"
ACCOUNT = "123456789012"
KEY_ARN = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/11111111-2222-3333-4444-555555555555"


def ctx(reference: Path | None = None, **extra: Any) -> ReadinessContext:
    return ReadinessContext(environment="dev", kubernetes_version="1.33", reference=reference, **extra)


def res(type_: str, name: str, props: Mapping[str, Any], deps: Sequence[str] = (), parent: str | None = None) -> PolicyResource:
    return PolicyResource(urn=f"{STACK}{type_}::{name}", type=type_, name=name, props=props, parent=parent, dependencies=tuple(deps))


def release(name: str, chart: str, version: str, values: Mapping[str, Any] | None = None, deps: Sequence[str] = ()) -> PolicyResource:
    return res(RELEASE, name, {"chart": chart, "version": version, "values": dict(values or {})}, deps)


def isvc(**predictor_extra: Any) -> dict[str, Any]:
    """A valid InferenceService (Standard mode, KEDA external metric), as the platform renders one once item 2 is fixed."""
    predictor: dict[str, Any] = {
        "minReplicas": 1,
        "maxReplicas": 2,
        "serviceAccountName": "model-serving",
        "model": {
            "modelFormat": {"name": "onnx"},
            "protocolVersion": "v2",
            "storageUri": "s3://models-dev/models/vision/detector/1.0.0/",
            "resources": {"requests": {"cpu": "2", "memory": "8Gi", "nvidia.com/gpu": "1"}, "limits": {"nvidia.com/gpu": "1"}},
        },
        "autoScaling": {
            "metrics": [
                {
                    "type": "External",
                    "external": {
                        "metric": {"backend": "prometheus", "query": "sum(rate(x[1m]))", "serverAddress": "http://prom:9090"},
                        "target": {"type": "Value", "value": "10"},
                    },
                }
            ]
        },
        "tolerations": [{"key": "nvidia.com/gpu", "operator": "Equal", "value": "true", "effect": "NoSchedule"}],
        "nodeSelector": {"inferstack.io/node-pool": "a10g"},
    }
    predictor.update(predictor_extra)
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {
            "name": "detector",
            "namespace": "vision",
            "annotations": {"serving.kserve.io/deploymentMode": "Standard", "serving.kserve.io/autoscalerClass": "keda"},
        },
        "spec": {"predictor": predictor},
    }


def ids(findings: Sequence[Finding] | Any) -> list[str]:
    return [finding.check_id for finding in findings]


# --- a. CRD schemas -------------------------------------------------------------------------------------------


def test_crd_schema_passes_a_valid_inference_service(reference: Path) -> None:
    kserve_crd = release("kserve-crd", "oci://ghcr.io/kserve/charts/kserve-crd", "v0.20.0")
    good = res(ISVC_TYPE, "detector", isvc(), deps=[kserve_crd.urn])
    assert list(crd_schema.check_crd_schemas([kserve_crd, good], ctx(reference))) == []


def test_crd_schema_catches_a_pruned_field_a_wrong_type_and_an_unserved_version(reference: Path) -> None:
    kserve_crd = release("kserve-crd", "oci://ghcr.io/kserve/charts/kserve-crd", "v0.20.0")
    body = isvc(minReplicas="one")
    body["spec"]["predictor"]["model"]["storageURI"] = "s3://typo"  # the CRD's field is storageUri
    bad = res(ISVC_TYPE, "detector", body, deps=[kserve_crd.urn])
    old = copy.deepcopy(isvc())
    old["apiVersion"] = "serving.kserve.io/v1alpha1"
    unserved = res("kubernetes:serving.kserve.io/v1alpha1:InferenceService", "old", old, deps=[kserve_crd.urn])
    messages = [f.message for f in crd_schema.check_crd_schemas([kserve_crd, bad, unserved], ctx(reference))]
    assert any("spec.predictor.model.storageURI: is not declared by the schema" in m and "kserve-v0.20.0" in m for m in messages)
    assert any("spec.predictor.minReplicas: is string; expected integer" in m for m in messages)
    assert any("v1alpha1 InferenceService is not a served version" in m for m in messages)


def test_crd_schema_handles_int_or_string_nullable_and_preserve_unknown_fields() -> None:
    from inferstack.readiness.structural import validate

    schema = {
        "type": "object",
        "properties": {
            "port": {"x-kubernetes-int-or-string": True, "anyOf": [{"type": "integer"}, {"type": "string"}]},
            "note": {"type": "string", "nullable": True},
            "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
            "embedded": {"type": "object", "x-kubernetes-embedded-resource": True, "properties": {"spec": {"type": "object"}}},
        },
    }
    assert list(validate({"port": 80, "note": None, "free": {"any": {"thing": 1}}, "embedded": {"kind": "Pod", "metadata": {}}}, schema)) == []
    assert list(validate({"port": "http"}, schema)) == []
    errors = list(validate({"port": 1.5, "embedded": {"extra": 1}}, schema))
    assert any("port: is number; expected an integer or a string" in e for e in errors)
    assert any("embedded.extra: is not declared" in e for e in errors)


# --- b. CRD closure and order -----------------------------------------------------------------------------------


def test_crd_order_passes_an_object_that_waits_for_its_installer_through_a_component() -> None:
    component = res("inferstack:compute:ClusterAddons", "addons", {})
    crds = release("kserve-crd", "oci://ghcr.io/kserve/charts/kserve-crd", "v0.20.0")
    crds = PolicyResource(crds.urn, crds.type, crds.name, crds.props, parent=component.urn)
    good = res(ISVC_TYPE, "detector", isvc(), deps=[component.urn])  # depends on the component: waits for its children
    assert list(crd_closure.check_crd_closure([component, crds, good], ctx())) == []


def test_crd_order_catches_a_missing_installer_and_a_missing_dependency() -> None:
    crds = release("kserve-crd", "oci://ghcr.io/kserve/charts/kserve-crd", "v0.20.0")
    unordered = res(ISVC_TYPE, "detector", isvc())
    route = res("kubernetes:gateway.networking.k8s.io/v1:HTTPRoute", "route", {"metadata": {"name": "r"}, "spec": {}})
    messages = [f.message for f in crd_closure.check_crd_closure([crds, unordered, route], ctx())]
    assert any("does not depend on" in m and "kserve-crd" in m for m in messages)
    assert any("HTTPRoute.gateway.networking.k8s.io: nothing in the plan installs this CRD" in m for m in messages)
    declared = ctx(preinstalled_crds=frozenset({"HTTPRoute.gateway.networking.k8s.io"}))
    assert [f.message for f in crd_closure.check_crd_closure([route], declared)] == []


def test_crd_order_knows_which_kserve_chart_ships_which_kind() -> None:
    """kserve/kserve v0.17.0+: kserve-crd ships no LocalModel* or LLMInferenceService CRDs (their own charts do); v0.16.0 did ship LocalModel*."""
    core = release("kserve-crd", "oci://ghcr.io/kserve/charts/kserve-crd", "v0.20.0")
    spec = {"sourceModelUri": "hf://org/llm", "modelSize": "20Gi", "nodeGroups": ["gpu"]}
    cache = res("kubernetes:serving.kserve.io/v1alpha1:LocalModelCache", "cache", {"metadata": {"name": "c"}, "spec": spec}, deps=[core.urn])
    llm = res("kubernetes:serving.kserve.io/v1alpha2:LLMInferenceService", "llm", {"metadata": {"name": "l"}, "spec": {}}, deps=[core.urn])
    served = res(ISVC_TYPE, "detector", isvc(), deps=[core.urn])
    messages = [f.message for f in crd_closure.check_crd_closure([core, cache, llm, served], ctx())]
    assert len(messages) == 2 and all("nothing in the plan installs this CRD" in m for m in messages), messages
    localmodel = release("kserve-localmodel-crd", "oci://ghcr.io/kserve/charts/kserve-localmodel-crd", "v0.20.0")
    llmisvc = release("kserve-llmisvc-crd", "oci://ghcr.io/kserve/charts/kserve-llmisvc-crd", "v0.20.0")
    cache = PolicyResource(cache.urn, cache.type, cache.name, cache.props, dependencies=(localmodel.urn,))
    llm = PolicyResource(llm.urn, llm.type, llm.name, llm.props, dependencies=(llmisvc.urn,))
    assert list(crd_closure.check_crd_closure([core, localmodel, llmisvc, cache, llm, served], ctx())) == []
    old = release("kserve-crd", "oci://ghcr.io/kserve/charts/kserve-crd", "v0.16.0")
    cache = PolicyResource(cache.urn, cache.type, cache.name, cache.props, dependencies=(old.urn,))
    assert list(crd_closure.check_crd_closure([old, cache], ctx())) == []


def test_crd_order_respects_a_disabled_crd_switch() -> None:
    kps = release("kps", "kube-prometheus-stack", "75.15.1", {"crds": {"enabled": False}})
    monitor = res("kubernetes:monitoring.coreos.com/v1:PodMonitor", "pm", {"metadata": {"name": "pm"}, "spec": {}}, deps=[kps.urn])
    assert ids(crd_closure.check_crd_closure([kps, monitor], ctx())) == ["deploy-crd-order"]


# --- c. KServe admission -----------------------------------------------------------------------------------------


def test_admission_passes_a_valid_inference_service_and_graph() -> None:
    assert list(kserve_admission.inference_service_errors(isvc())) == []
    graph = {
        "metadata": {"name": "pipeline"},
        "spec": {
            "nodes": {
                "root": {"routerType": "Sequence", "steps": [{"name": "a", "serviceName": "a"}, {"name": "b", "nodeName": "split"}]},
                "split": {"routerType": "Splitter", "steps": [{"serviceName": "x", "weight": 70}, {"serviceName": "y", "weight": 30}]},
            }
        },
    }
    assert list(kserve_admission.inference_graph_errors(graph)) == []


@pytest.mark.parametrize(
    ("change", "phrase"),
    [
        (lambda b: b["spec"]["predictor"]["model"].update(name="kserve-container"), "the 'name' field is not allowed in standard predictor"),
        (lambda b: b["spec"]["predictor"].update(onnx={"storageUri": "s3://x/"}), "exactly one of"),
        (lambda b: b["spec"]["predictor"].update(logger={"mode": "all", "storage": {"path": "/logs", "parameters": {"type": "s3"}}}),
         "invalid logger storage configuration"),
        (lambda b: b["spec"]["predictor"].update(scaleMetric="cpu"), "ScaleMetric is not supported for KEDA"),
        (lambda b: b["spec"]["predictor"]["autoScaling"]["metrics"][0]["external"]["target"].pop("value"),
         "the target threshold value should not be empty"),
        (lambda b: b["metadata"]["annotations"].update({"serving.kserve.io/autoscalerClass": "kpa"}), "[kpa] is not a supported autoscaler class"),
        (lambda b: b["metadata"]["annotations"].update({"serving.kserve.io/deploymentMode": "RawDeployment"}), "[cpu] is not a supported metric"),
        (lambda b: b["spec"].update(canary=[{"predictor": {"name": "c", "model": {"modelFormat": {"name": "onnx"}}}, "trafficPercent": 10}])
         or b["metadata"]["annotations"].update({"serving.kserve.io/deploymentMode": "Knative"}), "canary is only supported in Standard"),
        (lambda b: b["spec"]["predictor"].update(minReplicas=3, maxReplicas=2), "'MinReplicas' cannot be greater than MaxReplicas"),
        (lambda b: b["spec"]["predictor"]["model"].update(env=[{"name": "PYTHONPATH", "value": "/x"}]), "setting PYTHONPATH"),
    ],
)
def test_admission_catches_what_the_webhook_rejects(change: Any, phrase: str) -> None:
    body = isvc()
    if "[cpu]" in phrase:
        body["spec"]["predictor"]["scaleMetric"] = "cpu"  # valid for HPA, rejected on the Knative (KPA) branch
    change(body)
    errors = list(kserve_admission.inference_service_errors(body))
    assert any(phrase in error for error in errors), errors


def test_admission_catches_graph_rules() -> None:
    graph = {
        "metadata": {"name": "Pipeline"},
        "spec": {
            "nodes": {
                "start": {"routerType": "Sequence", "steps": [{"name": "a", "serviceName": "a", "serviceUrl": "http://a"}, {"name": "a"}]},
                "split": {"routerType": "Splitter", "steps": [{"serviceName": "x", "weight": 70}, {"serviceName": "y", "weight": 20}]},
            }
        },
    }
    errors = "\n".join(kserve_admission.inference_graph_errors(graph))
    for phrase in ("name must consist of lower case", "root node not found", "more than one step with name", "more than one of nodeName",
                   "does not specify an inference target", "sum of traffic weights"):
        assert phrase in errors


def test_admission_check_reports_per_resource() -> None:
    body = isvc()
    body["spec"]["predictor"]["model"]["name"] = "kserve-container"
    found = list(kserve_admission.check_kserve_admission([res(ISVC_TYPE, "bad", body), res(ISVC_TYPE, "good", isvc())], ctx()))
    assert [f.urn.rsplit("::", 1)[-1] for f in found] == ["bad"]


# --- d. Helm values and versions ------------------------------------------------------------------------------------


def test_helm_values_pass_known_keys_free_maps_and_a_fitting_version(reference: Path) -> None:
    good = release("ca", "cluster-autoscaler", "9.59.0", {"autoDiscovery": {"clusterName": "c"}, "extraArgs": {"expander": "priority"}})
    keda = release("keda", "keda", "2.17.2", {"podSecurityContext": {"operator": {"runAsNonRoot": True}}})
    found = list(helm_values.check_helm_values([good, keda], ReadinessContext("dev", "1.35", reference=reference)))
    assert found == []


def test_helm_values_catch_an_unknown_key_a_wrong_ca_chart_and_report_unverified_charts(reference: Path) -> None:
    bad = release("ca", "cluster-autoscaler", "9.46.6", {"autoDiscovery": {"clusterNmae": "c"}})
    dcgm = release("dcgm", "dcgm-exporter", "4.1.1", {"kubeletPath": "/var/lib/kubelet/pod-resources"})
    nowhere = release("x", "some-chart", "1.0.0", {"a": 1})
    found = list(helm_values.check_helm_values([bad, dcgm, nowhere], ctx(reference)))
    messages = {f.check_id: [] for f in found}
    for f in found:
        messages[f.check_id].append(f.message)
    assert any("values.autoDiscovery.clusterNmae: not a value of chart cluster-autoscaler 9.46.6" in m for m in messages["deploy-helm-values"])
    assert any("ships Cluster Autoscaler 1.32" in m for m in messages["deploy-helm-values"])
    assert any("charts/some-chart-1.0.0/values.yaml" in m for m in messages["deploy-helm-unverified"])
    assert not any("dcgm" in f.urn for f in found)


def test_a_chart_with_values_but_no_chart_yaml_is_checked_for_values_and_says_so(reference: Path) -> None:
    """cert-manager v1.21.1 has values.yaml and values.schema.json in the reference data but no Chart.yaml."""
    if not (reference / "charts" / "cert-manager-v1.21.1" / "values.yaml").is_file() or (
        reference / "charts" / "cert-manager-v1.21.1" / "Chart.yaml"
    ).is_file():
        pytest.skip("the reference data no longer has cert-manager v1.21.1 values without its Chart.yaml")
    good = release("cm", "cert-manager", "v1.21.1", {"crds": {"enabled": True}})
    (unverified,) = helm_values.check_helm_values([good], ctx(reference))
    assert unverified.check_id == "deploy-helm-unverified"
    assert "values checked, Kubernetes fit (Chart.yaml kubeVersion) not checked" in unverified.message
    assert unverified.message.endswith("missing charts/cert-manager-v1.21.1/Chart.yaml")
    # The chart's values.schema.json is all local references ({"$ref": "#/$defs/helm-values"}, additionalProperties
    # false): a typo there fails `helm install`, and the check follows the references to find it.
    typo = release("cm", "cert-manager", "v1.21.1", {"crds": {"enable": True}, "podLabels": {"team": "platform"}})
    messages = [f.message for f in helm_values.check_helm_values([typo], ctx(reference)) if f.check_id == "deploy-helm-values"]
    assert messages == [
        "values.crds.enable: not a value of chart cert-manager v1.21.1 (values.yaml, values.schema.json); the chart's "
        "values.schema.json rejects it, so the Helm release fails. Expected a key the chart reads"
    ]


def test_schema_references_are_followed_and_foreign_ones_admit() -> None:
    schema = {
        "$ref": "#/$defs/root",
        "$defs": {
            "root": {"type": "object", "additionalProperties": False, "properties": {"a": {"$ref": "#/$defs/root.a"}, "x": {"$ref": "other.json#/x"}}},
            "root.a": {"type": "object", "additionalProperties": False, "properties": {"b": {"type": "string"}}},
        },
    }
    assert list(helm_values.unknown_value_paths({"a": {"b": "1", "c": 2}, "x": {"anything": 1}, "z": 1}, {}, schema)) == ["a.c", "z"]


def test_kube_version_constraints() -> None:
    assert helm_values.satisfies((1, 33, 0), ">= 1.19.0-0") and helm_values.satisfies((1, 33, 0), ">=v1.23.0-0")
    assert not helm_values.satisfies((1, 24, 0), ">=1.25.0-0")
    assert helm_values.satisfies((1, 30, 0), ">=1.31.0 || <1.31.0") and not helm_values.satisfies((1, 34, 0), ">=1.28.0 <1.34.0")


# --- e. Scheduling ---------------------------------------------------------------------------------------------------


def node_group(name: str, instance: str, labels: Mapping[str, str], taints: Sequence[Mapping[str, str]] = ()) -> PolicyResource:
    return res("aws:eks/nodeGroup:NodeGroup", name, {"instanceTypes": [instance], "labels": dict(labels), "taints": list(taints),
                                                     "amiType": "AL2023_x86_64_STANDARD", "capacityType": "ON_DEMAND",
                                                     "scalingConfig": {"minSize": 2 if name == "system" else 0}})


POOLS = [
    node_group("system", "m7i.large", {"inferstack.io/node-pool": "system"}),
    node_group("a10g", "g5.2xlarge", {"inferstack.io/node-pool": "a10g", "inferstack.io/gpu-type": "a10g"},
               [{"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"}]),
]


def test_scheduling_passes_pods_that_fit_a_pool(reference: Path) -> None:
    gpu_only = {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "inferstack.io/gpu-type", "operator": "NotIn", "values": ["none"]},
                              {"key": "inferstack.io/gpu-type", "operator": "Exists"}]}]}}},
        "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]}
    resources = [*POOLS, res(ISVC_TYPE, "detector", isvc()), release("dcgm", "dcgm-exporter", "4.1.1", gpu_only),
                 release("ca", "cluster-autoscaler", "9.46.6", {}, deps=[POOLS[0].urn])]
    assert list(scheduling.check_scheduling(resources, ctx(reference))) == []


def test_scheduling_catches_a_release_that_may_start_before_its_nodes(reference: Path) -> None:
    resources = [*POOLS, release("ca", "cluster-autoscaler", "9.46.6", {})]
    messages = [f.message for f in scheduling.check_scheduling(resources, ctx(reference))]
    assert len(messages) == 1 and "does not depend on that node group" in messages[0] and "system" in messages[0]


def test_scheduling_catches_a_gpu_agent_on_cpu_pools_an_untolerated_taint_and_a_request_too_big(reference: Path) -> None:
    no_toleration = isvc(tolerations=[])
    too_big = isvc()
    too_big["metadata"]["name"] = "big"
    too_big["spec"]["predictor"]["model"]["resources"]["requests"]["memory"] = "512Gi"
    resources = [*POOLS, res(ISVC_TYPE, "detector", no_toleration), res(ISVC_TYPE, "big", too_big),
                 release("dcgm", "dcgm-exporter", "4.1.1", {"tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists"}]})]
    messages = [f.message for f in scheduling.check_scheduling(resources, ctx(reference))]
    assert any("dcgm-exporter" in m and "GPU-only agent and can run on pools without GPUs (system)" in m for m in messages)
    assert any("detector predictor can land on no node pool" in m and "does not tolerate taint nvidia.com/gpu=true:NoSchedule" in m for m in messages)
    assert any("big predictor can land on no node pool" in m and "requests memory" in m for m in messages)


def test_scheduling_reads_chart_defaults(reference: Path) -> None:
    # nvidia-device-plugin 0.17.1's default affinity wants NFD labels our pools do not carry: it lands nowhere.
    resources = [*POOLS, release("dp", "nvidia-device-plugin", "0.17.1", {})]
    messages = [f.message for f in scheduling.check_scheduling(resources, ctx(reference))]
    assert any("nvidia-device-plugin" in m and "lands on no GPU pool" in m for m in messages)


# --- f. Storage access -------------------------------------------------------------------------------------------------


def _store(policy: list[dict[str, Any]], logger: bool = True) -> list[PolicyResource]:
    bucket = "models-dev"
    key = res("aws:kms/key:Key", "store-key", {})
    # KServe 0.20's blob logger writes <url path>/<namespace>/<isvc>/predictor/<storage.path>/<id>-<type>.json
    # (pkg/logger/store.go): the team prefix rides in the URL.
    body = isvc(logger={"mode": "all", "url": f"s3://{bucket}/payload-logs/vision",
                        "storage": {"path": "primary", "parameters": {"type": "s3"}, "key": "k",
                                    "serviceAccountName": "model-serving"}}) if logger else isvc()
    role = f"arn:aws:iam::{ACCOUNT}:role/vision-role"
    return [
        res("aws:s3/bucket:Bucket", "bucket", {"bucket": bucket}),
        res("aws:s3/bucketPolicy:BucketPolicy", "policy", {"bucket": bucket, "policy": json.dumps({"Statement": policy})}),
        res("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", "enc",
            {"bucket": bucket, "rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": KEY_ARN}}]},
            deps=[key.urn]),
        key,
        res("kubernetes:core/v1:ServiceAccount", "sa", {"metadata": {"name": "model-serving", "namespace": "vision",
                                                                       "annotations": {"eks.amazonaws.com/role-arn": role}}}),
        res("aws:iam/rolePolicy:RolePolicy", "read", {"role": "vision-role", "policy": json.dumps({"Statement": [
            {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": [f"arn:aws:s3:::{bucket}/models/vision/*"]},
            {"Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": [f"arn:aws:s3:::{bucket}"],
             "Condition": {"StringLike": {"s3:prefix": ["models/vision/*"]}}},
            {"Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": [KEY_ARN],
             "Condition": {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}},
            {"Effect": "Allow", "Action": ["s3:PutObject"], "Resource": [f"arn:aws:s3:::{bucket}/payload-logs/vision/*"]},
        ]})}),
        res(ISVC_TYPE, "detector", body),
    ]


TLS_ONLY = {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
            "Resource": ["arn:aws:s3:::models-dev", "arn:aws:s3:::models-dev/*"], "Condition": {"Bool": {"aws:SecureTransport": "false"}}}


def test_storage_access_catches_the_deny_that_blocks_the_payload_logger_and_the_publisher() -> None:
    # Issue 13 item 3: a negated condition and an ...IfExists condition on a missing key are both true.
    policy = [
        TLS_ONLY,
        {"Sid": "DenyUnencryptedPuts", "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::models-dev/*",
         "Condition": {"StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"}}},
        {"Sid": "DenyOtherKeys", "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::models-dev/*",
         "Condition": {"StringNotEqualsIfExists": {"s3:x-amz-server-side-encryption-aws-kms-key-id": KEY_ARN}}},
    ]
    messages = [f.message for f in storage_access.check_storage_access(_store(policy), ctx(model_store_bucket="models-dev"))]
    assert any(m.startswith("payload logger of detector") and "DenyUnencryptedPuts" in m and "DenyOtherKeys" in m for m in messages)
    assert any(m.startswith("registry publish") and "DenyOtherKeys" in m for m in messages)
    assert not any(m.startswith("model puller") for m in messages)


def test_storage_access_passes_null_guarded_denies_and_denies_strangers() -> None:
    policy = [
        TLS_ONLY,
        {"Sid": "DenyOtherEncryption", "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::models-dev/*",
         "Condition": {"StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"},
                       "Null": {"s3:x-amz-server-side-encryption": "false"}}},
        {"Sid": "DenyOtherKeys", "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::models-dev/*",
         "Condition": {"StringNotEquals": {"s3:x-amz-server-side-encryption-aws-kms-key-id": KEY_ARN},
                       "Null": {"s3:x-amz-server-side-encryption-aws-kms-key-id": "false"}}},
    ]
    assert list(storage_access.check_storage_access(_store(policy), ctx(model_store_bucket="models-dev"))) == []
    open_policy = [*policy, {"Sid": "Oops", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::models-dev/*"}]
    messages = [f.message for f in storage_access.check_storage_access(_store(open_policy), ctx(model_store_bucket="models-dev"))]
    assert any(m.startswith("an unrelated role of the account") and "expected denied" in m for m in messages)
    assert any(m.startswith("a principal of another account") and "expected denied" in m for m in messages)


def test_condition_operators_follow_the_documented_missing_key_rules() -> None:
    empty: dict[str, str] = {}
    assert condition_holds("StringNotEquals", "k", "v", empty) is True
    assert condition_holds("StringEquals", "k", "v", empty) is False
    assert condition_holds("StringNotEqualsIfExists", "k", "v", empty) is True
    assert condition_holds("StringEqualsIfExists", "k", "v", {"k": "w"}) is False
    assert condition_holds("Null", "k", "true", empty) is True and condition_holds("Null", "k", "false", empty) is False
    assert condition_holds("StringLike", "k", ["a/*", "b"], {"k": "a/x"}) is True
    assert condition_holds("StringNotLike", "k", ["a/*", "b"], {"k": "b"}) is False
    assert condition_holds("Bool", "aws:SecureTransport", "false", {"aws:SecureTransport": "true"}) is False


def test_kms_needs_the_key_policy_to_allow() -> None:
    request = Request(f"arn:aws:iam::{ACCOUNT}:role/r", ACCOUNT, "kms:Decrypt", KEY_ARN, {})
    identity = parse({"Statement": [{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": KEY_ARN}]})
    default = evaluate(request, identity=identity, resource=None, resource_account=ACCOUNT, resource_label="key policy", key_policy=True)
    assert default.decision == "allow"  # the default key policy delegates to the account's IAM policies
    closed = parse({"Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/admin"}, "Action": "kms:*", "Resource": "*"}]})
    verdict = evaluate(request, identity=identity, resource=closed, resource_account=ACCOUNT, resource_label="key policy", key_policy=True)
    assert verdict.decision == "implicit-deny"


def test_crd_order_accepts_a_crd_resource_and_the_gateway_api_bundle() -> None:
    crd = res("kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition", "isvc-crd",
              {"spec": {"group": "serving.kserve.io", "names": {"kind": "InferenceService"}}})
    bundle = res("kubernetes:yaml/v2:ConfigFile", "gateway-api",
                 {"file": "https://github.com/kubernetes-sigs/gateway-api/releases/download/v1.3.0/standard-install.yaml"})
    good = res(ISVC_TYPE, "detector", isvc(), deps=[crd.urn])
    route = res("kubernetes:gateway.networking.k8s.io/v1:HTTPRoute", "route", {"metadata": {"name": "r"}, "spec": {}}, deps=[bundle.urn])
    graph = res("kubernetes:serving.kserve.io/v1alpha1:InferenceGraph", "graph", {"metadata": {"name": "g"}}, deps=[crd.urn])
    found = list(crd_closure.check_crd_closure([crd, bundle, good, route, graph], ctx()))
    assert [f.urn.rsplit("::", 1)[-1] for f in found] == ["graph"]  # the CRD resource installs InferenceService only


def test_iam_names_are_case_insensitive_where_aws_says_so() -> None:
    request = Request(f"arn:aws:iam::{ACCOUNT}:role/r", ACCOUNT, "s3:GetObject", "arn:aws:s3:::b/k", {"aws:SecureTransport": "false"})
    deny = parse({"Statement": [{"Effect": "Deny", "Principal": "*", "Action": "S3:*", "Resource": "*",
                                 "Condition": {"Bool": {"aws:securetransport": "false"}}}]})
    verdict = evaluate(request, identity=[], resource=deny, resource_account=ACCOUNT, resource_label="bucket policy")
    assert verdict.decision == "deny"


def test_crd_order_follows_nested_components() -> None:
    platform = res("inferstack:platform:Platform", "platform", {})
    addons = PolicyResource(f"{STACK}inferstack:compute:ClusterAddons::addons", "inferstack:compute:ClusterAddons", "addons", {}, parent=platform.urn)
    crds = release("kserve-crd", "oci://ghcr.io/kserve/charts/kserve-crd", "v0.20.0")
    crds = PolicyResource(crds.urn, crds.type, crds.name, crds.props, parent=addons.urn)
    good = res(ISVC_TYPE, "detector", isvc(), deps=[platform.urn])
    assert list(crd_closure.check_crd_closure([platform, addons, crds, good], ctx())) == []


def test_scheduling_flags_the_cloudwatch_add_on_dcgm_exporter_beside_ours() -> None:
    dcgm = release("dcgm", "dcgm-exporter", "4.1.1", {})
    addon = res("aws:eks/addon:Addon", "cw", {"addonName": "amazon-cloudwatch-observability"})
    assert ids(scheduling.check_duplicate_gpu_agents([dcgm, addon], ctx())) == ["deploy-gpu-agent-duplicate"]
    off = res("aws:eks/addon:Addon", "cw", {"addonName": "amazon-cloudwatch-observability",
                                           "configurationValues": json.dumps({"dcgmExporter": {"enabled": False}})})
    assert list(scheduling.check_duplicate_gpu_agents([dcgm, off], ctx())) == []


def test_helm_versions_catch_an_unpinned_eks_add_on() -> None:
    unpinned = res("aws:eks/addon:Addon", "ebs", {"addonName": "aws-ebs-csi-driver"})
    pinned = res("aws:eks/addon:Addon", "cw", {"addonName": "amazon-cloudwatch-observability", "addonVersion": "v4.4.0-eksbuild.1"})
    found = list(helm_values.check_helm_values([unpinned, pinned], ctx()))
    assert [f.urn.rsplit("::", 1)[-1] for f in found] == ["ebs"] and "no addonVersion" in found[0].message


def test_helm_values_catch_a_default_grafana_password(reference: Path) -> None:
    default = release("kps", "kube-prometheus-stack", "75.15.1", {"fullnameOverride": "kps"})
    with_secret = release("kps2", "kube-prometheus-stack", "75.15.1", {"grafana": {"admin": {"existingSecret": "grafana-admin"}}})
    found = list(helm_values.check_helm_values([default, with_secret], ctx(reference)))
    flagged = [f for f in found if f.check_id == "deploy-helm-values"]
    assert [f.urn.rsplit("::", 1)[-1] for f in flagged] == ["kps"] and "prom-operator" in flagged[0].message


def test_logger_object_key_follows_kserve_blob_store_layout() -> None:
    """kserve v0.20.0 pkg/logger/store.go getObjectPrefix: url prefix, namespace, isvc, component, storage path."""
    key = storage_access.logger_object_key("s3://models-dev/payload-logs/vision", "models-dev", "vision", "detector", "/primary/")
    assert key == "payload-logs/vision/vision/detector/predictor/primary/0001-request.json"
    assert storage_access.logger_object_key("s3://models-dev", "models-dev", "vision", "detector", "") == "vision/detector/predictor/0001-request.json"


# --- deploy-service-quotas: EKS managed node groups per cluster (default 30) and nodes per group (450) ---


def _node_groups(count: int, max_size: int = 3) -> list[PolicyResource]:
    return [
        res("aws:eks/nodeGroup:NodeGroup", f"pool-{index}", {"scalingConfig": {"minSize": 0, "maxSize": max_size, "desiredSize": 0}})
        for index in range(count)
    ]


def test_more_node_groups_than_the_default_quota_is_a_finding() -> None:
    from inferstack.readiness import service_quotas

    assert list(service_quotas.check_service_quotas(_node_groups(30), ctx())) == []
    (finding,) = service_quotas.check_service_quotas(_node_groups(31), ctx())
    assert finding.check_id == "deploy-service-quotas"
    assert "31 managed node groups" in finding.message and "quota of 30" in finding.message


def test_a_declared_raised_quota_admits_more_node_groups() -> None:
    from inferstack.readiness import service_quotas

    assert list(service_quotas.check_service_quotas(_node_groups(41), ctx(managed_node_group_quota=60))) == []
    assert len(list(service_quotas.check_service_quotas(_node_groups(61), ctx(managed_node_group_quota=60)))) == 1


def test_a_node_group_past_450_nodes_is_a_finding() -> None:
    from inferstack.readiness import service_quotas

    assert list(service_quotas.check_service_quotas(_node_groups(1, max_size=450), ctx())) == []
    (finding,) = service_quotas.check_service_quotas(_node_groups(1, max_size=451), ctx())
    assert "451 nodes" in finding.message and finding.urn.endswith("pool-0")


def test_the_shipped_stacks_declare_the_node_group_quota_their_plans_need(repo_root: Path) -> None:
    """Fit classes give staging and prod more node groups than EKS's default 30; their stacks say the quota is raised."""
    from inferstack.compiler import compile_blueprint
    from inferstack.spec.loader import load_environment, load_specs

    specs = load_specs([repo_root / "model_specs"])
    for stack in ("dev", "staging", "prod", "prod-eu-west-1"):
        config = load_environment(repo_root / "stacks", stack)
        blueprint = compile_blueprint(specs, config)
        groups = len(blueprint.node_pools) + 1  # the system node group
        if config.cluster.node_autoscaler == "cluster-autoscaler":
            assert groups <= config.cluster.managed_node_group_quota, (stack, groups)
