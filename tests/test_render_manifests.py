"""Render layer: Blueprint -> Kubernetes manifests, checked against the kserve SDK and the Kubernetes OpenAPI schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
from kserve import V1beta1InferenceService

from inferstack.blueprint import Blueprint
from inferstack.compiler import compile_blueprint
from inferstack.constants import (
    ANNOTATION_APPROVED_STAGE,
    ANNOTATION_TRAFFIC_SPLIT,
    GPU_RESOURCE,
    IRSA_ROLE_ARN_ANNOTATION,
    KSERVE_AUTOSCALER_CLASS_ANNOTATION,
    KSERVE_DEPLOYMENT_MODE_ANNOTATION,
    LABEL_COST_CENTER,
    LABEL_ENVIRONMENT,
    LABEL_MODEL,
    LABEL_NODE_POOL,
    LABEL_TEAM,
)
from inferstack.problems import InputError
from inferstack.render.autoscaling import uses_keda
from inferstack.render.availability import needs_disruption_budget, render_disruption_budget
from inferstack.render.inference_service import ServingVariant, render_inference_service
from inferstack.render.monitoring import (
    prometheus_url,
    render_dcgm_service_monitor,
    render_gpu_fleet_dashboard,
    render_platform_rules,
    render_team_dashboard,
    render_team_pod_monitor,
    render_team_rules,
)
from inferstack.render.serialize import from_manifest, to_manifest
from inferstack.render.team import render_namespace, render_network_policy, render_resource_quota, render_service_account
from inferstack.spec import ModelSpec, load_environment
from inferstack.spec.loader import LoadedSpec, load_specs
from tests.spec_factory import spec_document

KUBERNETES_VERSION = "1.33.0"
"""Pinned schema version (kubernetes-validate ships 1.25..1.37 offline); matches the stacks' cluster version."""


def _blueprint(repo_root: Path, environment: str, *documents: dict[str, Any]) -> Blueprint:
    config = load_environment(repo_root / "stacks", environment)
    loaded = [LoadedSpec(ModelSpec.model_validate(document), "specs/test.yaml") for document in documents]
    return compile_blueprint(loaded, config)


def _shipped(repo_root: Path, environment: str) -> Blueprint:
    return compile_blueprint(load_specs([repo_root / "model_specs"]), load_environment(repo_root / "stacks", environment))


def _validate_core(manifest: dict[str, Any]) -> None:
    kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)


def _deserialize_isvc(manifest: dict[str, Any]) -> V1beta1InferenceService:
    typed = from_manifest(manifest, "V1beta1InferenceService")
    assert isinstance(typed, V1beta1InferenceService)
    return typed


def test_serialize_uses_attribute_map_and_drops_nulls() -> None:
    from kserve import V1beta1ModelFormat, V1beta1ModelSpec

    manifest = to_manifest(V1beta1ModelSpec(model_format=V1beta1ModelFormat(name="onnx"), storage_uri="s3://b/k/"))
    assert manifest == {"modelFormat": {"name": "onnx"}, "storageUri": "s3://b/k/", "name": ""}


def test_from_manifest_rejects_snake_case_and_unknown_keys() -> None:
    with pytest.raises(ValueError, match="storage_uri"):
        from_manifest({"storage_uri": "s3://b/k/", "modelFormat": {"name": "onnx"}}, "V1beta1ModelSpec")
    with pytest.raises(ValueError, match="expected int"):
        from_manifest({"minReplicas": "two"}, "V1beta1PredictorSpec")


def test_inference_service_keys_labels_and_annotations(repo_root: Path) -> None:
    blueprint = _blueprint(
        repo_root,
        "prod",
        spec_document(
            scaling={"min_replicas": 2, "max_replicas": 4, "metric": "gpu-utilization", "target": 60},
            serving={"batching": {"max_batch_size": 16, "max_latency_ms": 20}, "resources": {"cpu": 1.5, "memory_gib": 6}},
            registry={"stage": "prod"},
            cost_center="cc-42",
        ),
    )
    deployment = blueprint.model("demo-model")
    manifest = render_inference_service(deployment, blueprint)
    metadata = manifest["metadata"]
    assert metadata["annotations"][KSERVE_DEPLOYMENT_MODE_ANNOTATION] == "Standard"
    assert metadata["annotations"][ANNOTATION_APPROVED_STAGE] == "prod"
    assert metadata["annotations"][ANNOTATION_TRAFFIC_SPLIT] == "none"
    assert metadata["labels"][LABEL_TEAM] == "demo"
    assert metadata["labels"][LABEL_MODEL] == "demo-model"
    assert metadata["labels"][LABEL_ENVIRONMENT] == "prod"
    assert metadata["labels"][LABEL_COST_CENTER] == "cc-42"
    predictor = manifest["spec"]["predictor"]
    assert predictor["minReplicas"] == 2 and predictor["maxReplicas"] == 4
    # onnx on v2 runs on Triton: batching is Triton's dynamic batcher (runtime args), not KServe's v1-only batcher.
    assert "batcher" not in predictor
    assert predictor["model"]["runtime"] == "kserve-tritonserver"
    assert metadata["labels"]["inferstack.io/runtime"] == "kserve-tritonserver"
    assert predictor["model"]["args"] == [
        "--metrics-config=summary_latencies=true",
        "--backend-config=default-max-batch-size=16",
    ]
    assert predictor["serviceAccountName"] == "model-serving"
    model = predictor["model"]
    assert model["modelFormat"] == {"name": "onnx"}
    assert model["storageUri"] == "s3://inferstack-models-prod/models/demo/demo-model/1.0.0/"
    assert model["resources"]["requests"] == {"cpu": "1500m", "memory": "6Gi", GPU_RESOURCE: "1"}
    assert model["resources"]["limits"] == model["resources"]["requests"]
    security = model["securityContext"]
    assert security["runAsNonRoot"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert security["readOnlyRootFilesystem"] is True
    text = json.dumps(manifest)
    for snake in ("storage_uri", "min_replicas", "model_format", "service_account_name", "null"):
        assert snake not in text
    # Round trip through the kserve SDK models keeps every field.
    typed = _deserialize_isvc(manifest)
    assert to_manifest(typed) == manifest


def test_tolerations_and_affinity_follow_the_pools(repo_root: Path) -> None:
    blueprint = _blueprint(repo_root, "prod", spec_document(scaling={"min_replicas": 2, "max_replicas": 6}))
    deployment = blueprint.model("demo-model")
    predictor = render_inference_service(deployment, blueprint)["spec"]["predictor"]
    taints = {(t.key, t.value, t.effect) for pool in deployment.node_pools for t in blueprint.pool(pool).taints}
    assert {(t["key"], t["value"], t["effect"]) for t in predictor["tolerations"]} == taints
    assert all(t["operator"] == "Equal" for t in predictor["tolerations"])
    terms = predictor["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert terms[0]["matchExpressions"][0] == {"key": LABEL_NODE_POOL, "operator": "In", "values": list(deployment.node_pools)}
    # prod buys an on-demand base: it is preferred.
    preferred = predictor["affinity"]["nodeAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
    assert preferred[0]["preference"]["matchExpressions"][0]["values"] == [deployment.node_pools[0]]
    assert blueprint.pool(deployment.node_pools[0]).capacity_type == "ON_DEMAND"


def test_cpu_model_gets_no_gpu_and_no_toleration(repo_root: Path) -> None:
    blueprint = _blueprint(repo_root, "dev", spec_document(accelerator={"gpu_type": "none"}))
    predictor = render_inference_service(blueprint.model("demo-model"), blueprint)["spec"]["predictor"]
    assert GPU_RESOURCE not in predictor["model"]["resources"]["requests"]
    assert "tolerations" not in predictor


def test_variant_renders_another_version(repo_root: Path) -> None:
    blueprint = _blueprint(repo_root, "staging", spec_document())
    deployment = blueprint.model("demo-model")
    manifest = render_inference_service(deployment, blueprint, ServingVariant(name_suffix="stable", version="0.9.0", role="stable"))
    assert manifest["metadata"]["name"] == "demo-model-stable"
    assert manifest["spec"]["predictor"]["model"]["storageUri"].endswith("/demo-model/0.9.0/")


def test_serverless_canary_sets_traffic_percent_and_knative_scaling(repo_root: Path) -> None:
    blueprint = _blueprint(
        repo_root,
        "staging",
        spec_document(
            serving={"deployment_mode": "serverless"},
            scaling={"min_replicas": 1, "max_replicas": 3, "metric": "rps", "target": 50},
            rollout={"strategy": "canary", "stable_version": "0.9.0", "canary_percent": 10},
        ),
    )
    deployment = blueprint.model("demo-model")
    predictor = render_inference_service(deployment, blueprint)["spec"]["predictor"]
    assert predictor["canaryTrafficPercent"] == 10
    assert (predictor["scaleMetric"], predictor["scaleTarget"]) == ("rps", 50)
    assert not uses_keda(deployment)
    # Knative scales it: no KEDA class, no autoScaling block (KServe would reject both in serverless mode).
    assert "autoScaling" not in predictor
    assert render_inference_service(deployment, blueprint)["metadata"]["annotations"].get(KSERVE_AUTOSCALER_CLASS_ANNOTATION) is None


def test_serverless_with_gpu_metric_is_bad_input(repo_root: Path) -> None:
    blueprint = _blueprint(
        repo_root,
        "staging",
        spec_document(serving={"deployment_mode": "serverless"}, scaling={"min_replicas": 1, "max_replicas": 2, "metric": "latency", "target": 100}),
    )
    with pytest.raises(InputError, match="scaling.metric"):
        render_inference_service(blueprint.model("demo-model"), blueprint)


@pytest.mark.parametrize(
    ("metric", "needle", "times_replicas"),
    [
        ("gpu-utilization", "DCGM_FI_DEV_GPU_UTIL", True),
        # onnx (v2) runs on Triton 23.05: its own metric names (runtime catalogue).
        ("latency", 'nv_inference_request_summary_us{namespace="demo",pod=~"demo-model-predictor-.*",quantile="0.95"}', True),
        ("rps", "nv_inference_request_success", False),
        ("concurrency", "rate(nv_inference_request_duration_us", False),
    ],
)
def test_standard_mode_scales_through_kserve_keda_on_the_metric(
    repo_root: Path, metric: str, needle: str, times_replicas: bool
) -> None:
    blueprint = _blueprint(repo_root, "prod", spec_document(scaling={"min_replicas": 1, "max_replicas": 5, "metric": metric, "target": 40}))
    deployment = blueprint.model("demo-model")
    assert uses_keda(deployment)
    manifest = render_inference_service(deployment, blueprint)
    assert manifest["metadata"]["annotations"][KSERVE_AUTOSCALER_CLASS_ANNOTATION] == "keda"
    predictor = manifest["spec"]["predictor"]
    assert (predictor["minReplicas"], predictor["maxReplicas"]) == (1, 5)
    assert "scaleMetric" not in predictor and "scaleTarget" not in predictor  # KServe rejects scaleMetric with KEDA
    (entry,) = predictor["autoScaling"]["metrics"]
    assert entry["type"] == "External"
    metric_source = entry["external"]["metric"]
    assert metric_source["backend"] == "prometheus"
    assert metric_source["serverAddress"] == prometheus_url(blueprint)
    assert needle in metric_source["query"] and 'pod=~"demo-model-predictor-.*"' in metric_source["query"]
    # KServe hands target.value to KEDA as the threshold, compared per replica (AverageValue):
    # averages and quantiles are scaled by the ready replicas so the desired count matches a Value target.
    assert ("kube_pod_status_ready" in metric_source["query"]) is times_replicas
    assert entry["external"]["target"] == {"type": "AverageValue", "value": "40", "averageValue": "40"}
    _deserialize_isvc(manifest)


def test_fractional_target_stays_a_quantity(repo_root: Path) -> None:
    blueprint = _blueprint(repo_root, "prod", spec_document(scaling={"min_replicas": 1, "max_replicas": 5, "metric": "rps", "target": 2.5}))
    target = render_inference_service(blueprint.model("demo-model"), blueprint)["spec"]["predictor"]["autoScaling"]["metrics"][0]
    assert target["external"]["target"]["value"] == "2.5"


def test_scale_to_zero_only_where_allowed(repo_root: Path) -> None:
    # Scale-to-zero needs serverless mode (Knative's activator wakes the predictor); standard mode refuses it.
    zero = _blueprint(
        repo_root,
        "dev",
        spec_document(
            scaling={"min_replicas": 0, "max_replicas": 2, "scale_to_zero": True, "metric": "concurrency"},
            serving={"deployment_mode": "serverless"},
        ),
    )
    kept = _blueprint(repo_root, "dev", spec_document(scaling={"min_replicas": 1, "max_replicas": 2}))
    zero_predictor = render_inference_service(zero.model("demo-model"), zero)["spec"]["predictor"]
    kept_predictor = render_inference_service(kept.model("demo-model"), kept)["spec"]["predictor"]
    assert zero_predictor["minReplicas"] == 0 and "autoScaling" not in zero_predictor
    # KServe gives minReplicas to the ScaledObject it creates in standard mode.
    assert kept_predictor["minReplicas"] == 1 and "autoScaling" in kept_predictor


def test_disruption_budget_only_from_two_replicas(repo_root: Path) -> None:
    two = _blueprint(repo_root, "prod", spec_document(scaling={"min_replicas": 2, "max_replicas": 4}))
    one = _blueprint(repo_root, "prod", spec_document(scaling={"min_replicas": 1, "max_replicas": 4}))
    assert needs_disruption_budget(two.model("demo-model"))
    assert not needs_disruption_budget(one.model("demo-model"))
    budget = render_disruption_budget(two.model("demo-model"), two)
    assert budget["spec"]["maxUnavailable"] == 1
    _validate_core(budget)


def test_every_core_object_of_the_shipped_specs_validates(repo_root: Path) -> None:
    checked = 0
    for environment in ("dev", "staging", "prod"):
        blueprint = _shipped(repo_root, environment)
        for team in blueprint.teams:
            role = f"arn:aws:iam::123456789012:role/{team.name}-serving"
            for manifest in (
                render_namespace(team, blueprint),
                render_service_account(team, blueprint, role),
                render_network_policy(team, blueprint, ["gateway-system"]),
                render_resource_quota(team, blueprint),
                render_team_dashboard(team, blueprint),
            ):
                _validate_core(manifest)
                checked += 1
        _validate_core(render_gpu_fleet_dashboard(blueprint))
        for deployment in blueprint.models:
            if needs_disruption_budget(deployment):
                _validate_core(render_disruption_budget(deployment, blueprint))
                checked += 1
            manifest = render_inference_service(deployment, blueprint)
            assert to_manifest(_deserialize_isvc(manifest)) == manifest
    assert checked > 20


def test_strict_validation_rejects_a_misspelled_field(repo_root: Path) -> None:
    blueprint = _shipped(repo_root, "prod")
    quota = render_resource_quota(blueprint.teams[0], blueprint)
    quota["spec"]["hardd"] = quota["spec"].pop("hard")
    with pytest.raises(kubernetes_validate.ValidationError):
        _validate_core(quota)


def test_service_account_carries_the_role(repo_root: Path) -> None:
    blueprint = _shipped(repo_root, "prod")
    account = render_service_account(blueprint.teams[0], blueprint, "arn:aws:iam::123456789012:role/x")
    assert account["metadata"]["annotations"] == {IRSA_ROLE_ARN_ANNOTATION: "arn:aws:iam::123456789012:role/x"}


def test_quota_covers_gpus_at_max_replicas(repo_root: Path) -> None:
    blueprint = _blueprint(
        repo_root, "prod", spec_document(accelerator={"gpu_type": "l4", "gpus_per_replica": 2, "gpu_memory_gib": 30}, scaling={"min_replicas": 1, "max_replicas": 3})
    )
    quota = render_resource_quota(blueprint.teams[0], blueprint)
    assert quota["spec"]["hard"]["requests.nvidia.com/gpu"] == str(2 * (3 + 1))


def test_network_policy_denies_by_default_and_admits_gateway_and_monitoring(repo_root: Path) -> None:
    blueprint = _shipped(repo_root, "prod")
    policy = render_network_policy(blueprint.teams[0], blueprint, ["gateway-system"])
    assert policy["spec"]["policyTypes"] == ["Ingress", "Egress"]
    admitted = {
        peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
        for peer in policy["spec"]["ingress"][0]["from"]
        if "namespaceSelector" in peer
    }
    assert admitted == {"gateway-system", "monitoring"}


def test_every_alert_has_summary_and_runbook(repo_root: Path) -> None:
    blueprint = _shipped(repo_root, "prod")
    rules = [render_team_rules(team, blueprint) for team in blueprint.teams] + [render_platform_rules(blueprint)]
    names: set[str] = set()
    for rule in rules:
        for group in rule["spec"]["groups"]:
            for alert in group["rules"]:
                names.add(alert["alert"])
                assert alert["annotations"]["summary"]
                assert alert["annotations"]["runbook_url"].startswith("https://")
    assert {
        "ModelLatencySLOBreached",
        "ModelErrorRateSLOBreached",
        "ModelGpuMemoryPressure",
        "ModelGpuIdle",
        "ModelFeatureDrift",
        "SpotNodeInterrupted",
    } <= names


def test_monitors_select_team_pods_and_dcgm(repo_root: Path) -> None:
    blueprint = _shipped(repo_root, "prod")
    team = blueprint.teams[0]
    monitor = render_team_pod_monitor(team, blueprint)
    assert monitor["metadata"]["namespace"] == team.namespace
    assert monitor["spec"]["selector"]["matchExpressions"] == [{"key": "serving.kserve.io/inferenceservice", "operator": "Exists"}]
    assert render_dcgm_service_monitor(blueprint)["spec"]["endpoints"][0]["honorLabels"] is True


def test_dashboards_are_valid_json_per_team(repo_root: Path) -> None:
    blueprint = _shipped(repo_root, "prod")
    vision = next(team for team in blueprint.teams if team.name == "vision")
    configmap = render_team_dashboard(vision, blueprint)
    dashboard = json.loads(next(iter(configmap["data"].values())))
    assert dashboard["uid"] == "inferstack-vision-prod"
    assert len(dashboard["panels"]) == 4 * len(vision.models)
