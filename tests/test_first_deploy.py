"""Issue 13, items 1-7: what the first real `pulumi up` needs, checked on the program graph under mocks.

Each test fails on the platform as it was before the fix (KServe 0.16 at chart defaults, no Gateway, a
`name` on predictor.model, logger storage without `key`, a bucket policy that denies header-less puts,
dcgm-exporter on every node, CA 9.46.6, unpinned add-ons, Grafana's default password, cluster-creator
admin only) and passes after it. Checks needing ../shared/reference skip with a message (fail in CI).
"""

from __future__ import annotations

import copy
import fnmatch
import json
import os
import shutil
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from components.addons import CHARTS, KSERVE_VERSION
from components.model_store import bucket_policy
from inferstack.constants import GATEWAY_API_CRDS_URL, ISTIO_VERSION, LABEL_GPU_TYPE
from inferstack.mocks import InferstackMocks, RecordedResource, run_under_mocks
from inferstack.plan.redact import SECRET_SIGNATURE_KEY, SECRET_SIGNATURE_VALUE, redact_inputs
from inferstack.readiness.reference import reference_location

REPO_ROOT = Path(__file__).resolve().parents[1]
STACKS = ("dev", "staging", "prod")
RELEASE = "kubernetes:helm.sh/v3:Release"
ISVC = "kubernetes:serving.kserve.io/v1beta1:InferenceService"
GATEWAY = "kubernetes:gateway.networking.k8s.io/v1:Gateway"
CONFIG_GROUP = "kubernetes:yaml/v2:ConfigGroup"
REFERENCE = reference_location()
MISSING_REFERENCE = f"upstream reference data not found at {REFERENCE} (set INFERSTACK_REFERENCE)"


def _reference(*parts: str) -> Path:
    path = REFERENCE.joinpath(*parts)
    if not path.exists():
        if os.environ.get("CI"):
            pytest.fail(MISSING_REFERENCE)
        pytest.skip(MISSING_REFERENCE)
    return path


@cache
def _graph(stack: str) -> tuple[RecordedResource, ...]:
    return tuple(run_under_mocks(stack, REPO_ROOT / "model_specs", REPO_ROOT / "stacks", InferstackMocks(region="us-east-1")))


def _graph_with(tmp_path: Path, stack: str, **sections: dict[str, Any]) -> tuple[RecordedResource, ...]:
    """The graph of a copy of a shipped stack with some inferstack:<section> keys changed."""
    stacks = tmp_path / "stacks"
    stacks.mkdir()
    document = yaml.safe_load((REPO_ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text())
    for section, changes in sections.items():
        document["config"][f"inferstack:{section}"].update(changes)
    (stacks / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump(document))
    shutil.copytree(REPO_ROOT / "model_specs", tmp_path / "model_specs")
    return tuple(run_under_mocks(stack, tmp_path / "model_specs", stacks, InferstackMocks(region="us-east-1")))


def _of_type(records: tuple[RecordedResource, ...], type_: str) -> list[RecordedResource]:
    return [record for record in records if record.type == type_]


def _release(records: tuple[RecordedResource, ...], release_name: str) -> RecordedResource:
    (found,) = [record for record in _of_type(records, RELEASE) if record.inputs["name"] == release_name]
    return found


def _ancestors(records: tuple[RecordedResource, ...], record: RecordedResource) -> set[str]:
    """URNs `record` waits for, directly or transitively."""
    by_urn = {item.urn: item for item in records}
    seen: set[str] = set()
    todo = list(record.dependencies)
    while todo:
        urn = todo.pop()
        if urn not in seen:
            seen.add(urn)
            todo.extend(by_urn[urn].dependencies if urn in by_urn else [])
    return seen


def _structural(schema: dict[str, Any]) -> dict[str, Any]:
    """A CRD openAPIV3Schema as JSON Schema in which an undeclared field is an error (the API server would prune it)."""
    schema = copy.deepcopy(schema)

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            if node.pop("x-kubernetes-int-or-string", False):
                node.pop("type", None)
                node["anyOf"] = [{"type": "integer"}, {"type": "string"}]
            if node.get("nullable"):
                node.pop("type", None)
            if "properties" in node and not node.get("x-kubernetes-preserve-unknown-fields"):
                node.setdefault("additionalProperties", False)
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    visit(schema)
    return schema


@cache
def _crd_schema(folder: str, filename: str, version: str) -> dict[str, Any]:
    documents = list(yaml.safe_load_all(_reference("crds", folder, filename).read_text()))
    (crd,) = [document for document in documents if document and document.get("kind") == "CustomResourceDefinition"]
    (served,) = [item for item in crd["spec"]["versions"] if item["name"] == version and item.get("served")]
    return _structural(served["schema"]["openAPIV3Schema"])


def _crd_errors(manifest: dict[str, Any], folder: str, filename: str) -> list[str]:
    validator = jsonschema.Draft7Validator(_crd_schema(folder, filename, manifest["apiVersion"].rsplit("/", 1)[-1]))
    return [f"{'.'.join(map(str, error.absolute_path))}: {error.message}" for error in validator.iter_errors(manifest)]


# --- item 1: the Gateway, its CRDs and controller, and KServe pointed at it -------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_gateway_api_crds_istio_and_the_gateway_are_installed_before_kserve(stack: str) -> None:
    records = _graph(stack)
    (crds,) = _of_type(records, CONFIG_GROUP)
    assert crds.inputs["files"] == [GATEWAY_API_CRDS_URL]
    base, istiod = _release(records, "istio-base"), _release(records, "istiod")
    assert (base.inputs["chart"], istiod.inputs["chart"]) == ("base", "istiod")
    assert base.inputs["version"] == istiod.inputs["version"] == ISTIO_VERSION == "1.30.3"
    assert base.urn in _ancestors(records, istiod)
    (gateway,) = _of_type(records, GATEWAY)
    assert (gateway.inputs["metadata"]["namespace"], gateway.inputs["metadata"]["name"]) == ("gateway-system", "inference-gateway")
    assert gateway.inputs["spec"]["gatewayClassName"] == "istio"
    assert {listener["protocol"] for listener in gateway.inputs["spec"]["listeners"]} == {"HTTP", "HTTPS"}
    assert {crds.urn, istiod.urn} <= _ancestors(records, gateway)
    controller = _release(records, "kserve")
    # KServe 0.20 refuses to start in Gateway API mode without the HTTPRoute CRD.
    assert {crds.urn, gateway.urn} <= _ancestors(records, controller)


@pytest.mark.parametrize("stack", STACKS)
def test_kserve_is_v0_20_and_its_ingress_points_at_our_gateway_and_domain(stack: str) -> None:
    records = _graph(stack)
    domain = yaml.safe_load((REPO_ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text())["config"]["inferstack:serving"]["domain"]
    controller = _release(records, "kserve")
    assert controller.inputs["chart"].endswith("/kserve-resources") and controller.inputs["version"] == KSERVE_VERSION == "v0.20.0"
    assert _release(records, "kserve-crd").inputs["version"] == "v0.20.0"
    gateway = controller.inputs["values"]["kserve"]["controller"]["gateway"]
    assert gateway["ingressGateway"]["enableGatewayApi"] is True
    assert gateway["ingressGateway"]["kserveGateway"] == "gateway-system/inference-gateway"
    assert gateway["ingressGateway"]["createGateway"] is False
    assert gateway["domain"] == domain and domain != "example.com"
    runtimes = _release(records, "kserve-runtime-configs")
    assert runtimes.inputs["values"]["kserve"]["servingruntime"]["enabled"] is True


def test_kserve_ingress_keys_exist_in_the_chart_values() -> None:
    values = yaml.safe_load(_reference("charts", "kserve-v0.20.0", "values.yaml").read_text())
    controller = _release(_graph("dev"), "kserve").inputs["values"]["kserve"]["controller"]

    def missing(given: dict[str, Any], known: dict[str, Any], prefix: str) -> list[str]:
        out: list[str] = []
        for key, value in given.items():
            if key not in known:
                out.append(prefix + key)
            elif isinstance(value, dict) and isinstance(known[key], dict):
                out.extend(missing(value, known[key], f"{prefix}{key}."))
        return out

    assert missing(controller, values["kserve"]["controller"], "kserve.controller.") == []


def test_gateway_fits_the_gateway_api_v1_3_crd() -> None:
    (gateway,) = _of_type(_graph("prod"), GATEWAY)
    manifest = {key: gateway.inputs[key] for key in ("apiVersion", "kind", "metadata", "spec")}
    assert _crd_errors(manifest, "gateway-api-v1.3.0", "gateway.networking.k8s.io_gateways.yaml") == []


def test_a_stack_may_declare_an_existing_gateway(tmp_path: Path) -> None:
    records = _graph_with(tmp_path, "staging", serving={"gateway_create": False, "gateway_name": "shared", "gateway_namespace": "edge"})
    assert not _of_type(records, GATEWAY) and not _of_type(records, CONFIG_GROUP)
    assert not [record for record in _of_type(records, RELEASE) if record.inputs["name"] in {"istio-base", "istiod"}]
    gateway = _release(records, "kserve").inputs["values"]["kserve"]["controller"]["gateway"]
    assert gateway["ingressGateway"]["kserveGateway"] == "edge/shared"


@pytest.mark.parametrize("stack", STACKS)
def test_every_inference_service_fits_the_kserve_v0_20_crd(stack: str) -> None:
    services = _of_type(_graph(stack), ISVC)
    assert services
    for service in services:
        manifest = {key: service.inputs[key] for key in ("apiVersion", "kind", "metadata", "spec")}
        assert _crd_errors(manifest, "kserve-v0.20.0", "serving.kserve.io_inferenceservices.yaml") == [], service.name


# --- item 2: KServe 0.20's webhook -------------------------------------------------------------------------------

IMPLEMENTATIONS = ("sklearn", "xgboost", "tensorflow", "pytorch", "triton", "onnx", "huggingface", "pmml", "lightgbm", "paddle", "model")


def webhook_errors(spec: dict[str, Any]) -> list[str]:
    """Two rules of kserve v0.20.0's InferenceService webhook, restated from its source.

    inference_service_validation.go validatePredictor: no `name` on any standard predictor implementation;
    component.go validateLogger: logger.storage needs path, parameters and key together.
    """
    errors: list[str] = []
    predictor = spec.get("predictor", {})
    for implementation in IMPLEMENTATIONS:
        if predictor.get(implementation, {}).get("name"):
            errors.append("the 'name' field is not allowed in standard predictor")
    storage = predictor.get("logger", {}).get("storage")
    if storage is not None and not all(key in storage for key in ("path", "parameters", "key")):
        errors.append("invalid logger storage configuration")
    return errors


def test_webhook_rules_catch_what_the_old_renderer_sent() -> None:
    old = {"predictor": {"model": {"name": "kserve-container"}, "logger": {"storage": {"path": "/x", "parameters": {}}}}}
    assert webhook_errors(old) == ["the 'name' field is not allowed in standard predictor", "invalid logger storage configuration"]


@pytest.mark.parametrize("stack", STACKS)
def test_the_webhook_admits_every_inference_service(stack: str) -> None:
    for service in _of_type(_graph(stack), ISVC):
        assert webhook_errors(service.inputs["spec"]) == [], service.name


def test_payload_log_keys_fall_under_the_iam_prefix_the_team_may_write(repo_root: Path) -> None:
    from inferstack.render.payload_logging import payload_log_writer_statements
    from inferstack.render.rollout import render_rollout
    from tests.test_rollout_render import SHADOW, _by_name, _deploy

    deployment, blueprint = _deploy(repo_root, "standard", "gateway-api", SHADOW)
    shadow = _by_name(render_rollout(deployment, blueprint))["demo-model-shadow"]
    logger = shadow["spec"]["predictor"]["logger"]
    # Object key of kserve v0.20.0 pkg/logger/store.go getObjectKey:
    # <url path>/<namespace>/<inferenceservice>/<component>/<storage.path>/<id>-<type>.<ext>
    url_path = logger["url"].removeprefix(f"s3://{blueprint.config.model_store.bucket}").strip("/")
    parts = [url_path, deployment.namespace, "demo-model-shadow", "predictor", logger["storage"]["path"], "id-request.json"]
    key = "/".join(part for part in parts if part)
    (write, _) = payload_log_writer_statements("arn:aws:s3:::bucket", deployment.team, "arn:aws:kms:::key/k")
    (resource,) = write["Resource"]
    assert fnmatch.fnmatchcase(f"arn:aws:s3:::bucket/{key}", resource)


# --- item 3: the bucket policy against the logger's actual request -----------------------------------------------


def _condition_matches(condition: dict[str, dict[str, str]], request: dict[str, str]) -> bool:
    """IAM condition evaluation for the operators the bucket policy uses (all operators and keys ANDed).

    IAM User Guide, Condition operators: a negated operator on a key absent from the request is true;
    `...IfExists` is true when the key is absent; `Null: "true"` means absent, `"false"` present.
    """
    for operator, entries in condition.items():
        for key, expected in entries.items():
            present = key in request
            if operator == "Null":
                result = (not present) if expected == "true" else present
            elif operator == "StringNotEquals":
                result = (not present) or request[key] != expected
            elif operator == "StringNotEqualsIfExists":
                result = (not present) or request[key] != expected
            elif operator == "StringEquals":
                result = present and request[key] == expected
            elif operator == "Bool":
                result = present and request[key] == expected
            else:
                raise AssertionError(f"operator {operator} not modelled")
            if not result:
                return False
    return True


def _denied(policy: dict[str, Any], request: dict[str, str]) -> list[str]:
    return [
        statement["Sid"]
        for statement in policy["Statement"]
        if statement["Effect"] == "Deny" and statement["Action"] in ("s3:PutObject", "s3:*")
        and _condition_matches(statement.get("Condition", {}), request)
    ]


KEY = "arn:aws:kms:us-east-1:123456789012:key/store"
TLS = {"aws:SecureTransport": "true"}
LOGGER_PUT = dict(TLS)  # pkg/agent/storage/s3.go: no x-amz-server-side-encryption headers
REGISTRY_PUT = {**TLS, "s3:x-amz-server-side-encryption": "aws:kms"}


def test_old_policy_denied_the_payload_logger() -> None:
    old = {
        "Statement": [
            {"Sid": "DenyUnencryptedPuts", "Effect": "Deny", "Action": "s3:PutObject",
             "Condition": {"StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"}}},
            {"Sid": "DenyOtherKeys", "Effect": "Deny", "Action": "s3:PutObject",
             "Condition": {"StringNotEqualsIfExists": {"s3:x-amz-server-side-encryption-aws-kms-key-id": KEY}}},
        ]
    }
    assert _denied(old, LOGGER_PUT) == ["DenyUnencryptedPuts", "DenyOtherKeys"]


def test_policy_lets_header_less_and_store_key_puts_through_and_denies_the_rest() -> None:
    policy = json.loads(bucket_policy("arn:aws:s3:::store", KEY))
    assert _denied(policy, LOGGER_PUT) == []
    assert _denied(policy, REGISTRY_PUT) == []
    assert _denied(policy, {**REGISTRY_PUT, "s3:x-amz-server-side-encryption-aws-kms-key-id": KEY}) == []
    assert _denied(policy, {**TLS, "s3:x-amz-server-side-encryption": "AES256"}) == ["DenyUnencryptedPuts"]
    other_key = {**REGISTRY_PUT, "s3:x-amz-server-side-encryption-aws-kms-key-id": "arn:aws:kms:us-east-1:1:key/other"}
    assert _denied(policy, other_key) == ["DenyOtherKeys"]
    assert _denied(policy, {"aws:SecureTransport": "false"}) == ["DenyInsecureTransport"]


# --- item 4: GPU agents on GPU nodes only, one DCGM exporter per node ----------------------------------------------


def test_dcgm_exporter_is_pinned_to_gpu_nodes_with_keys_the_chart_has() -> None:
    values = _release(_graph("prod"), "dcgm-exporter").inputs["values"]
    terms = values["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert {expression["key"] for term in terms for expression in term["matchExpressions"]} == {LABEL_GPU_TYPE}
    chart = yaml.safe_load(_reference("charts", f"dcgm-exporter-{CHARTS['dcgm-exporter'].version}", "values.yaml").read_text())
    assert set(values) <= set(chart)


def test_container_insights_runs_no_second_dcgm_exporter() -> None:
    (addon,) = [record for record in _graph("prod") if record.inputs.get("addonName") == "amazon-cloudwatch-observability"]
    assert json.loads(addon.inputs["configurationValues"]) == {"dcgmExporter": {"enabled": False}}
    chart = yaml.safe_load(_reference("charts", "amazon-cloudwatch-observability-head", "values.yaml").read_text())
    assert chart["dcgmExporter"]["enabled"] is True  # the default this turns off


# --- item 5: versions and order ----------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_versions_fit_the_cluster_and_add_ons_are_pinned(stack: str) -> None:
    records = _graph(stack)
    (cluster,) = _of_type(records, "aws:eks/cluster:Cluster")
    assert cluster.inputs["version"] == "1.35"
    autoscaler = _release(records, "cluster-autoscaler")
    assert autoscaler.inputs["version"] == "9.59.0"
    chart = yaml.safe_load(_reference("charts", "cluster-autoscaler-9.59.0", "Chart.yaml").read_text())
    assert chart["appVersion"].rsplit(".", 1)[0] == cluster.inputs["version"]  # CA minor == Kubernetes minor
    for addon in _of_type(records, "aws:eks/addon:Addon"):
        assert addon.inputs.get("addonVersion"), addon.name


@pytest.mark.parametrize("stack", STACKS)
def test_every_helm_release_waits_for_the_system_node_group(stack: str) -> None:
    records = _graph(stack)
    (nodes,) = [record for record in _of_type(records, "aws:eks/nodeGroup:NodeGroup") if record.name.endswith("-system-nodes")]
    for release in _of_type(records, RELEASE):
        assert nodes.urn in release.dependencies, release.name


# --- item 6: Grafana's admin password ----------------------------------------------------------------------------


def test_grafana_admin_comes_from_a_generated_secret_that_the_plan_never_shows() -> None:
    records = _graph("prod")
    release = _release(records, "kube-prometheus-stack")
    grafana = release.inputs["values"]["grafana"]
    assert "adminPassword" not in grafana
    (secret,) = [record for record in _of_type(records, "kubernetes:core/v1:Secret") if record.inputs["metadata"]["name"] == "grafana-admin"]
    assert grafana["admin"]["existingSecret"] == "grafana-admin"
    assert secret.urn in release.dependencies
    wrapped = secret.inputs["stringData"]
    assert wrapped[SECRET_SIGNATURE_KEY] == SECRET_SIGNATURE_VALUE  # a Pulumi secret: encrypted in state, hidden in previews
    password = wrapped["value"]["admin-password"]
    assert len(password) >= 40 and password != "prom-operator"
    written = json.dumps(redact_inputs(secret.type, secret.inputs))  # what plan.json holds
    assert password not in written and "[secret]" in written


# --- item 7: who can reach the cluster ---------------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_access_entries_replace_the_cluster_creator_admin(stack: str) -> None:
    records = _graph(stack)
    (cluster,) = _of_type(records, "aws:eks/cluster:Cluster")
    assert cluster.inputs["accessConfig"] == {"authenticationMode": "API", "bootstrapClusterCreatorAdminPermissions": False}
    (entry,) = _of_type(records, "aws:eks/accessEntry:AccessEntry")
    assert entry.inputs["principalArn"] == "arn:aws:iam::123456789012:user/inferstack-ci"  # the mocks' caller
    (association,) = _of_type(records, "aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
    assert association.inputs["policyArn"].endswith("/AmazonEKSClusterAdminPolicy")
    (provider,) = _of_type(records, "pulumi:providers:kubernetes")
    assert association.urn in provider.dependencies  # nothing reaches the API before the deploy role may


def test_named_admin_roles_and_an_explicit_deploy_role_get_entries(tmp_path: Path) -> None:
    deploy = "arn:aws:iam::123456789012:role/inferstack-deploy"
    admins = ["arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_0123"]
    records = _graph_with(tmp_path, "staging", cluster={"deploy_role_arn": deploy, "admin_role_arns": admins})
    principals = sorted(entry.inputs["principalArn"] for entry in _of_type(records, "aws:eks/accessEntry:AccessEntry"))
    assert principals == sorted([deploy, *admins])


def test_public_endpoint_only_with_cidrs(tmp_path: Path) -> None:
    records = _graph_with(tmp_path, "dev", cluster={"endpoint_public_access": True, "public_access_cidrs": ["20.30.40.0/24"]})
    (cluster,) = _of_type(records, "aws:eks/cluster:Cluster")
    assert cluster.inputs["vpcConfig"]["endpointPublicAccess"] is True
    assert cluster.inputs["vpcConfig"]["publicAccessCidrs"] == ["20.30.40.0/24"]


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_our_http_routes_fit_v1_3_attach_to_the_gateway_and_wait_for_it(stack: str) -> None:
    records = _graph(stack)
    (gateway,) = _of_type(records, GATEWAY)
    routes = _of_type(records, "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute")
    assert routes
    for route in routes:
        manifest = {key: route.inputs[key] for key in ("apiVersion", "kind", "metadata", "spec")}
        assert _crd_errors(manifest, "gateway-api-v1.3.0", "gateway.networking.k8s.io_httproutes.yaml") == [], route.name
        (parent,) = route.inputs["spec"]["parentRefs"]
        assert (parent["namespace"], parent["name"]) == (gateway.inputs["metadata"]["namespace"], gateway.inputs["metadata"]["name"])
        assert gateway.urn in _ancestors(records, route), route.name


def test_keda_and_cert_manager_are_releases_tested_on_the_cluster_minor() -> None:
    records = _graph("dev")
    # KEDA v2.20: Kubernetes 1.33-1.35; cert-manager 1.19+ reach 1.35 (their published compatibility tables).
    assert _release(records, "keda").inputs["version"] == "2.20.2"
    assert _release(records, "cert-manager").inputs["version"] == "v1.21.1"
    for chart, values in (("keda-2.20.2", _release(records, "keda").inputs["values"]), ("cert-manager-v1.21.1", _release(records, "cert-manager").inputs["values"])):
        known = yaml.safe_load(_reference("charts", chart, "values.yaml").read_text())
        assert set(values) <= set(known), chart


CRD_FILES = {
    "InferenceService": ("kserve-v0.20.0", "serving.kserve.io_inferenceservices.yaml"),
    "InferenceGraph": ("kserve-v0.20.0", "serving.kserve.io_inferencegraphs.yaml"),
    "HTTPRoute": ("gateway-api-v1.3.0", "gateway.networking.k8s.io_httproutes.yaml"),
}


@pytest.mark.parametrize(("mode", "routing"), [("serverless", "none"), ("standard", "gateway-api")])
def test_every_rollout_object_fits_the_installed_crds_and_the_webhook(repo_root: Path, mode: str, routing: str) -> None:
    from inferstack.render.rollout import render_rollout
    from tests.test_rollout_render import AB, BLUE_GREEN, CANARY, SHADOW, _deploy

    checked: set[str] = set()
    for rollout in (CANARY, BLUE_GREEN, SHADOW, AB):
        deployment, blueprint = _deploy(repo_root, mode, routing, rollout)
        for manifest in render_rollout(deployment, blueprint).manifests():
            if manifest["kind"] in CRD_FILES:
                checked.add(manifest["kind"])
                assert _crd_errors(manifest, *CRD_FILES[manifest["kind"]]) == [], (rollout["strategy"], manifest["metadata"]["name"])
            if manifest["kind"] == "InferenceService":
                assert webhook_errors(manifest["spec"]) == [], manifest["metadata"]["name"]
    assert "InferenceService" in checked and ("InferenceGraph" in checked or "HTTPRoute" in checked)
