"""Rollouts per strategy and deployment mode: the rendered InferenceServices (checked through the kserve SDK
models), routes (checked against the schema subsets in tests/schemas) and InferenceGraphs, and traffic summaries."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from inferstack.blueprint import Blueprint, ModelDeployment
from inferstack.compiler import compile_blueprint
from inferstack.constants import (
    ANNOTATION_TRAFFIC_SPLIT,
    KSERVE_VISIBILITY_LABEL,
    LABEL_MODEL_VERSION,
    LABEL_ROLLOUT_ROLE,
)
from inferstack.problems import InputError
from inferstack.render.rollout import (
    RolloutObjects,
    render_rollout,
    traffic_summary,
)
from inferstack.render.serialize import from_manifest
from inferstack.spec import ModelSpec, load_environment
from inferstack.spec.environment import ServingConfig
from inferstack.spec.loader import LoadedSpec
from tests.spec_factory import spec_document

SCHEMAS = Path(__file__).parent / "schemas"
CANARY = {"strategy": "canary", "stable_version": "0.9.0", "canary_percent": 10}
BLUE_GREEN = {"strategy": "blue-green", "stable_version": "0.9.0", "active_color": "blue"}
SHADOW = {"strategy": "shadow", "stable_version": "0.9.0", "mirror_percent": 20}
AB = {
    "strategy": "ab",
    "variants": [
        {"name": "current", "version": "0.9.0", "weight": 70},
        {"name": "candidate", "version": "1.0.0", "weight": 30, "header": "x-variant=candidate"},
    ],
}


@cache
def _schema(name: str) -> dict[str, Any]:
    return json.loads((SCHEMAS / name).read_text())


def _deploy(repo_root: Path, mode: str, routing: str, rollout: dict[str, Any], **changes: Any) -> tuple[ModelDeployment, Blueprint]:
    config = load_environment(repo_root / "stacks", "dev")
    config = config.model_copy(update={"serving": ServingConfig.model_validate({"deployment_mode": mode, "routing": routing})})
    spec = ModelSpec.model_validate(spec_document(rollout=rollout, **changes))
    blueprint = compile_blueprint([LoadedSpec(spec, "specs/demo.yaml")], config)
    return blueprint.models[0], blueprint


def _validate(objects: RolloutObjects) -> None:
    """Every InferenceService and InferenceGraph through the kserve SDK, every route through its schema subset."""
    for manifest in objects.inference_services:
        from_manifest(manifest, "V1beta1InferenceService")
    for manifest in objects.traffic:
        kind = manifest["kind"]
        if kind == "HTTPRoute":
            jsonschema.validate(manifest, _schema("httproute-v1.schema.json"))
        elif kind == "VirtualService":
            jsonschema.validate(manifest, _schema("virtualservice-v1.schema.json"))
            for rule in manifest["spec"]["http"]:
                assert sum(route.get("weight", 100) for route in rule["route"]) == 100
        else:
            assert kind == "InferenceGraph"
            from_manifest(manifest, "V1alpha1InferenceGraph")


def _by_name(objects: RolloutObjects) -> dict[str, dict[str, Any]]:
    return {manifest["metadata"]["name"]: manifest for manifest in objects.inference_services}


def _splits(objects: RolloutObjects) -> set[str]:
    return {manifest["metadata"]["annotations"][ANNOTATION_TRAFFIC_SPLIT] for manifest in objects.inference_services}


def test_schema_subsets_reject_fields_outside_them() -> None:
    route = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": "m", "namespace": "n"},
        "spec": {"parentRefs": [{"name": "g"}], "rules": [{"backendRefs": [{"name": "s", "port": 80, "weihgt": 5}]}]},
    }
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(route, _schema("httproute-v1.schema.json"))
    service = {
        "apiVersion": "networking.istio.io/v1",
        "kind": "VirtualService",
        "metadata": {"name": "m", "namespace": "n"},
        "spec": {"hosts": ["h"], "http": [{"route": [{"destination": {"host": "s"}}], "mirrorPercent": 5}]},
    }
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(service, _schema("virtualservice-v1.schema.json"))


def test_direct_is_one_inference_service(repo_root: Path) -> None:
    deployment, blueprint = _deploy(repo_root, "standard", "gateway-api", {"strategy": "direct"})
    objects = render_rollout(deployment, blueprint)
    _validate(objects)
    assert list(_by_name(objects)) == ["demo-model"]
    assert objects.traffic == ()
    assert traffic_summary(deployment, blueprint) == "100% 1.0.0"


def test_serverless_canary_is_one_inference_service_with_kserve_canary(repo_root: Path) -> None:
    deployment, blueprint = _deploy(repo_root, "serverless", "none", CANARY)
    objects = render_rollout(deployment, blueprint)
    _validate(objects)
    (isvc,) = objects.inference_services
    predictor = isvc["spec"]["predictor"]
    assert predictor["canaryTrafficPercent"] == 10
    assert predictor["model"]["storageUri"].endswith("/demo-model/1.0.0/")
    assert predictor["labels"][LABEL_MODEL_VERSION] == "1.0.0"
    assert isvc["metadata"]["annotations"][ANNOTATION_TRAFFIC_SPLIT] == "knative"
    assert predictor["logger"]["mode"] == "all"
    assert objects.traffic == ()
    assert traffic_summary(deployment, blueprint) == "stable 0.9.0 90% / candidate 1.0.0 10%"


@pytest.mark.parametrize("routing", ["gateway-api", "istio"])
def test_standard_canary_is_two_services_behind_a_weighted_route(repo_root: Path, routing: str) -> None:
    deployment, blueprint = _deploy(repo_root, "standard", routing, CANARY)
    objects = render_rollout(deployment, blueprint)
    _validate(objects)
    services = _by_name(objects)
    assert set(services) == {"demo-model", "demo-model-canary"}
    stable, candidate = services["demo-model"], services["demo-model-canary"]
    assert stable["spec"]["predictor"]["model"]["storageUri"].endswith("/demo-model/0.9.0/")
    assert candidate["spec"]["predictor"]["model"]["storageUri"].endswith("/demo-model/1.0.0/")
    assert stable["metadata"]["labels"][LABEL_ROLLOUT_ROLE] == "primary"
    assert candidate["metadata"]["labels"][LABEL_ROLLOUT_ROLE] == "canary"
    assert all("canaryTrafficPercent" not in isvc["spec"]["predictor"] for isvc in services.values())
    assert _splits(objects) == {"routes"}
    assert all(isvc["metadata"]["labels"][KSERVE_VISIBILITY_LABEL] == "cluster-local" for isvc in services.values())
    (route,) = objects.traffic
    if routing == "gateway-api":
        assert route["kind"] == "HTTPRoute"
        assert route["spec"]["parentRefs"][0]["name"] == blueprint.config.serving.gateway_name
        (rule,) = route["spec"]["rules"]
        weights = {ref["name"]: ref["weight"] for ref in rule["backendRefs"]}
    else:
        assert route["kind"] == "VirtualService"
        (rule,) = route["spec"]["http"]
        weights = {entry["destination"]["host"].split(".")[0]: entry["weight"] for entry in rule["route"]}
    assert weights == {"demo-model-predictor": 90, "demo-model-canary-predictor": 10}
    assert route["spec"]["hostnames" if routing == "gateway-api" else "hosts"] == ["demo-model-demo.models.internal"]


def test_standard_canary_without_routing_layer_records_the_ignored_split(repo_root: Path) -> None:
    deployment, blueprint = _deploy(repo_root, "standard", "none", CANARY)
    objects = render_rollout(deployment, blueprint)
    _validate(objects)
    services = _by_name(objects)
    assert objects.traffic == ()
    assert _splits(objects) == {"none"}
    # The candidate carries the percent KServe ignores in Standard mode: policy canary-not-ignored flags it.
    assert services["demo-model-canary"]["spec"]["predictor"]["canaryTrafficPercent"] == 10
    assert "canaryTrafficPercent" not in services["demo-model"]["spec"]["predictor"]
    assert traffic_summary(deployment, blueprint).endswith("[not applied: no routing layer splits traffic here]")


@pytest.mark.parametrize("active", ["blue", "green"])
def test_blue_green_switches_one_route_and_keeps_the_idle_colour_warm(repo_root: Path, active: str) -> None:
    rollout = {**BLUE_GREEN, "active_color": active}
    deployment, blueprint = _deploy(
        repo_root, "standard", "gateway-api", rollout, scaling={"min_replicas": 2, "max_replicas": 4}
    )
    objects = render_rollout(deployment, blueprint)
    _validate(objects)
    services = _by_name(objects)
    blue, green = services["demo-model"], services["demo-model-green"]
    idle, live = (green, blue) if active == "blue" else (blue, green)
    assert (idle["spec"]["predictor"]["minReplicas"], idle["spec"]["predictor"]["maxReplicas"]) == (2, 2)
    assert (live["spec"]["predictor"]["minReplicas"], live["spec"]["predictor"]["maxReplicas"]) == (2, 4)
    assert "logger" not in blue["spec"]["predictor"]
    (rule,) = objects.traffic[0]["spec"]["rules"]
    weights = {ref["name"]: ref["weight"] for ref in rule["backendRefs"]}
    expected = {"demo-model-predictor": 100, "demo-model-green-predictor": 0}
    if active == "green":
        expected = {"demo-model-predictor": 0, "demo-model-green-predictor": 100}
    assert weights == expected
    summary = traffic_summary(deployment, blueprint)
    assert summary == ("blue 0.9.0 active / green 1.0.0 idle" if active == "blue" else "green 1.0.0 active / blue 0.9.0 idle")


def test_blue_green_idle_colour_runs_warm(repo_root: Path) -> None:
    deployment, blueprint = _deploy(repo_root, "standard", "istio", BLUE_GREEN, scaling={"min_replicas": 1, "max_replicas": 3})
    services = _by_name(render_rollout(deployment, blueprint))
    green, blue = services["demo-model-green"]["spec"]["predictor"], services["demo-model"]["spec"]["predictor"]
    # KServe gives each variant's bounds to the ScaledObject it creates: the idle colour is pinned warm.
    assert (green["minReplicas"], green["maxReplicas"]) == (1, 1)
    assert (blue["minReplicas"], blue["maxReplicas"]) == (1, 3)


def test_scale_to_zero_in_standard_mode_is_refused_naming_the_alternatives(repo_root: Path) -> None:
    # Issue 13 item 10: KEDA reads a metric from pods that do not exist at zero replicas, nothing holds the first request.
    with pytest.raises(InputError) as caught:
        _deploy(repo_root, "standard", "istio", BLUE_GREEN, scaling={"min_replicas": 0, "max_replicas": 3, "scale_to_zero": True})
    (problem,) = caught.value.problems
    assert problem.path == "scaling.scale_to_zero"
    assert "serverless" in problem.message and "min_replicas >= 1" in problem.message


def test_scale_to_zero_in_serverless_mode_is_accepted(repo_root: Path) -> None:
    deployment, _ = _deploy(repo_root, "serverless", "none", BLUE_GREEN, scaling={"min_replicas": 0, "max_replicas": 3, "scale_to_zero": True})
    assert deployment.spec.scaling.scale_to_zero


@pytest.mark.parametrize("rollout", [CANARY, BLUE_GREEN, SHADOW, AB])
def test_every_standard_variant_scales_itself_on_its_own_pods(repo_root: Path, rollout: dict[str, Any]) -> None:
    deployment, blueprint = _deploy(repo_root, "standard", "gateway-api", rollout)
    for name, manifest in _by_name(render_rollout(deployment, blueprint)).items():
        assert manifest["metadata"]["annotations"]["serving.kserve.io/autoscalerClass"] == "keda"
        (metric,) = manifest["spec"]["predictor"]["autoScaling"]["metrics"]
        assert f'pod=~"{name}-predictor-.*"' in metric["external"]["metric"]["query"]


def test_serverless_variants_scale_through_knative(repo_root: Path) -> None:
    deployment, blueprint = _deploy(repo_root, "serverless", "none", BLUE_GREEN)
    for manifest in render_rollout(deployment, blueprint).inference_services:
        assert "autoScaling" not in manifest["spec"]["predictor"]
        assert "serving.kserve.io/autoscalerClass" not in manifest["metadata"]["annotations"]


def test_serverless_blue_green_uses_an_inference_graph_to_the_active_colour(repo_root: Path) -> None:
    deployment, blueprint = _deploy(repo_root, "serverless", "none", {**BLUE_GREEN, "active_color": "green"})
    objects = render_rollout(deployment, blueprint)
    _validate(objects)
    (graph,) = objects.traffic
    assert graph["kind"] == "InferenceGraph" and graph["metadata"]["name"] == "demo-model-router"
    root = graph["spec"]["nodes"]["root"]
    assert root["routerType"] == "Splitter"
    assert root["steps"] == [{"name": "green", "serviceName": "demo-model-green", "weight": 100}]
    assert _splits(objects) == {"inference-graph"}


@pytest.mark.parametrize("routing", ["gateway-api", "istio"])
def test_shadow_mirrors_a_share_of_live_traffic_to_the_candidate(repo_root: Path, routing: str) -> None:
    deployment, blueprint = _deploy(repo_root, "standard", routing, SHADOW)
    objects = render_rollout(deployment, blueprint)
    _validate(objects)
    services = _by_name(objects)
    assert services["demo-model-shadow"]["metadata"]["labels"][LABEL_ROLLOUT_ROLE] == "shadow"
    logger = services["demo-model-shadow"]["spec"]["predictor"]["logger"]
    assert logger["storage"]["path"] == "demo-model/shadow"
    assert logger["url"].endswith("/payload-logs/demo")
    (route,) = objects.traffic
    if routing == "gateway-api":
        (rule,) = route["spec"]["rules"]
        assert [ref["name"] for ref in rule["backendRefs"]] == ["demo-model-predictor"]
        (mirror,) = rule["filters"]
        assert mirror["requestMirror"] == {
            "backendRef": {"kind": "Service", "name": "demo-model-shadow-predictor", "port": 80},
            "percent": 20,
        }
    else:
        (rule,) = route["spec"]["http"]
        assert [entry["destination"]["host"] for entry in rule["route"]] == ["demo-model-predictor.demo.svc.cluster.local"]
        assert rule["mirror"]["host"] == "demo-model-shadow-predictor.demo.svc.cluster.local"
        assert rule["mirrorPercentage"] == {"value": 20.0}
    assert traffic_summary(deployment, blueprint) == "100% 0.9.0, mirror 20% to 1.0.0"


def test_shadow_without_routes_renders_services_but_no_split(repo_root: Path) -> None:
    deployment, blueprint = _deploy(repo_root, "serverless", "istio", SHADOW)
    objects = render_rollout(deployment, blueprint)
    _validate(objects)
    assert objects.traffic == () and _splits(objects) == {"none"}


@pytest.mark.parametrize("routing", ["gateway-api", "istio"])
def test_ab_routes_header_matches_first_then_weights(repo_root: Path, routing: str) -> None:
    deployment, blueprint = _deploy(repo_root, "standard", routing, AB)
    objects = render_rollout(deployment, blueprint)
    _validate(objects)
    services = _by_name(objects)
    assert set(services) == {"demo-model-current", "demo-model-candidate"}
    assert services["demo-model-current"]["spec"]["predictor"]["model"]["storageUri"].endswith("/0.9.0/")
    assert services["demo-model-candidate"]["metadata"]["labels"][LABEL_ROLLOUT_ROLE] == "ab-candidate"
    (route,) = objects.traffic
    if routing == "gateway-api":
        first, last = route["spec"]["rules"]
        assert first["matches"][0]["headers"] == [{"type": "Exact", "name": "x-variant", "value": "candidate"}]
        assert [(ref["name"], ref["weight"]) for ref in first["backendRefs"]] == [("demo-model-candidate-predictor", 100)]
        assert "headers" not in last["matches"][0]
        assert [(ref["name"], ref["weight"]) for ref in last["backendRefs"]] == [
            ("demo-model-current-predictor", 70),
            ("demo-model-candidate-predictor", 30),
        ]
    else:
        first, last = route["spec"]["http"]
        assert first["match"] == [{"headers": {"x-variant": {"exact": "candidate"}}}]
        assert "match" not in last
        assert [entry["weight"] for entry in last["route"]] == [70, 30]
    assert traffic_summary(deployment, blueprint) == (
        "ab current 0.9.0 70% / candidate 1.0.0 30% (x-variant=candidate -> candidate)"
    )


def test_serverless_ab_by_weight_uses_an_inference_graph_splitter(repo_root: Path) -> None:
    variants = [{"name": "current", "version": "0.9.0", "weight": 60}, {"name": "next", "version": "1.0.0", "weight": 40}]
    deployment, blueprint = _deploy(repo_root, "serverless", "none", {"strategy": "ab", "variants": variants})
    objects = render_rollout(deployment, blueprint)
    _validate(objects)
    (graph,) = objects.traffic
    assert graph["spec"]["nodes"]["root"]["steps"] == [
        {"name": "current", "serviceName": "demo-model-current", "weight": 60},
        {"name": "next", "serviceName": "demo-model-next", "weight": 40},
    ]


def test_serverless_ab_with_header_matches_cannot_split(repo_root: Path) -> None:
    deployment, blueprint = _deploy(repo_root, "serverless", "none", AB)
    objects = render_rollout(deployment, blueprint)
    assert objects.traffic == () and _splits(objects) == {"none"}


def test_variant_names_that_make_too_long_service_names_are_input_errors(repo_root: Path) -> None:
    rollout = {
        "strategy": "ab",
        "variants": [
            {"name": "a", "version": "0.9.0", "weight": 50},
            {"name": "a-very-long-variant1", "version": "1.0.0", "weight": 50},
        ],
    }
    deployment, blueprint = _deploy(repo_root, "standard", "istio", rollout, name="m" * 40)
    with pytest.raises(InputError) as raised:
        render_rollout(deployment, blueprint)
    (problem,) = raised.value.problems
    assert problem.path == "rollout.variants[1].name"
    assert "mmmm-a-very-long-variant1-predictor" in problem.message


def test_explicit_storage_uri_with_another_stable_version_is_an_input_error(repo_root: Path) -> None:
    artifact = {"format": "onnx", "version": "1.0.0", "storage_uri": "s3://elsewhere/demo/1.0.0/"}
    deployment, blueprint = _deploy(repo_root, "standard", "istio", CANARY, artifact=artifact)
    with pytest.raises(InputError):
        render_rollout(deployment, blueprint)


def test_shipped_specs_render_in_every_environment(repo_root: Path) -> None:
    from inferstack.spec.loader import load_specs

    for environment in ("dev", "staging", "prod"):
        blueprint = compile_blueprint(load_specs([repo_root / "model_specs"]), load_environment(repo_root / "stacks", environment))
        for deployment in blueprint.models:
            _validate(render_rollout(deployment, blueprint))
