"""Rollouts through the components: the real program under mocks, for a fleet with every strategy.

Checks the recorded resources (names, types, parents, route weights), that the
stable version keeps the `<model>-isvc` resource, that the rollout alerts and
payload-log writer policy appear only for teams that need them, that a
direct-strategy model is exactly what the direct path renders, and that every
recorded Kubernetes object still validates (kserve SDK models, the route schema
subsets in tests/schemas, the Kubernetes OpenAPI schema for PDBs).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from inferstack.blueprint import Blueprint
from inferstack.compiler import compile_blueprint
from inferstack.constants import LABEL_MODEL, LABEL_TEAM, TYPE_SERVING_IDENTITY, TYPE_TEAM_MODEL_SERVICES, TYPE_TEAM_NAMESPACE
from inferstack.mocks import InferstackMocks, RecordedResource, run_under_mocks
from inferstack.policy.evaluate import evaluate
from inferstack.policy.model import PolicyContext, PolicyResource
from inferstack.render.availability import render_disruption_budget
from inferstack.render.iam import as_list, statements
from inferstack.render.inference_service import render_inference_service
from inferstack.render.serialize import from_manifest
from inferstack.spec import load_environment
from inferstack.spec.loader import load_specs
from tests.spec_factory import spec_document

SCHEMAS = Path(__file__).parent / "schemas"
KUBERNETES_VERSION = "1.33.0"
ENV = "dev"
PLATFORM = f"inferstack-{ENV}"
ISVC = "kubernetes:serving.kserve.io/v1beta1:InferenceService"
SCALED_OBJECT = "kubernetes:keda.sh/v1alpha1:ScaledObject"
"""KServe creates these from each standard-mode InferenceService's autoScaling; the program renders none."""
KEDA_RELEASE = f"{PLATFORM}-addons-keda"
KSERVE_RELEASE = f"{PLATFORM}-addons-kserve"
PDB = "kubernetes:policy/v1:PodDisruptionBudget"
HTTP_ROUTE = "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"
VIRTUAL_SERVICE = "kubernetes:networking.istio.io/v1:VirtualService"
AUTHORIZATION_POLICY = "kubernetes:security.istio.io/v1:AuthorizationPolicy"
ENVOY_FILTER = "kubernetes:networking.istio.io/v1alpha3:EnvoyFilter"
GATEWAY_OBJECTS = {"-access": AUTHORIZATION_POLICY, "-limits": ENVOY_FILTER}
"""A model whose rollout splits traffic on the gateway is exposed there: its access policy and limits (issue 15)."""
GRAPH = "kubernetes:serving.kserve.io/v1alpha1:InferenceGraph"
RULE = "kubernetes:monitoring.coreos.com/v1:PrometheusRule"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
TWO_REPLICAS = {"min_replicas": 2, "max_replicas": 3}

FLEET: dict[str, dict[str, Any]] = {
    # team "rollouts": one model per strategy and mode
    "canary-std": {
        "team": "rollouts",
        "scaling": TWO_REPLICAS,
        "rollout": {"strategy": "canary", "stable_version": "0.9.0", "canary_percent": 10},
    },
    "canary-sls": {
        "team": "rollouts",
        "serving": {"deployment_mode": "serverless"},
        "rollout": {"strategy": "canary", "stable_version": "0.9.0", "canary_percent": 20},
    },
    "blue-green": {
        "team": "rollouts",
        "scaling": TWO_REPLICAS,
        "rollout": {"strategy": "blue-green", "stable_version": "0.9.0", "active_color": "blue"},
    },
    "shadow": {
        "team": "rollouts",
        "rollout": {"strategy": "shadow", "stable_version": "0.9.0", "mirror_percent": 25},
    },
    "ab-test": {
        "team": "rollouts",
        "rollout": {
            "strategy": "ab",
            "variants": [
                {"name": "current", "version": "0.9.0", "weight": 70},
                {"name": "next", "version": "1.0.0", "weight": 30, "header": "x-variant=next"},
            ],
        },
    },
    # team "steady": direct only; team "switch": a blue-green rollout, which logs no payloads
    "plain": {"team": "steady", "scaling": TWO_REPLICAS},
    "colours": {
        "team": "switch",
        "rollout": {"strategy": "blue-green", "stable_version": "0.9.0", "active_color": "green"},
    },
}


@dataclass(frozen=True)
class Run:
    """One mocked program run: its records by name, and the Blueprint it rendered."""

    records: dict[str, RecordedResource]
    blueprint: Blueprint

    def of_type(self, type_: str) -> list[RecordedResource]:
        return [record for record in self.records.values() if record.type == type_]

    def model(self, name: str) -> dict[str, RecordedResource]:
        """A model's objects (children of its team's TeamModelServices), keyed by the name after `<platform>-model-<model>`."""
        prefix = f"{PLATFORM}-model-{name}"
        return {
            record.name.removeprefix(prefix): record
            for record in self.records.values()
            if record.name.startswith(f"{prefix}-") and _model_label(record) == name
        }


def _model_label(record: RecordedResource) -> str | None:
    metadata = record.inputs.get("metadata")
    return metadata.get("labels", {}).get(LABEL_MODEL) if isinstance(metadata, dict) else None


def _write_fleet(root: Path, repo_root: Path, routing: str) -> tuple[Path, Path]:
    specs, stacks = root / "specs", root / "stacks"
    specs.mkdir()
    stacks.mkdir()
    for name, changes in FLEET.items():
        (specs / f"{name}.yaml").write_text(yaml.safe_dump(spec_document(name=name, **changes)))
    stack_file = stacks / f"Pulumi.{ENV}.yaml"
    shutil.copy(repo_root / "stacks" / f"Pulumi.{ENV}.yaml", stack_file)
    document = yaml.safe_load(stack_file.read_text())
    document["config"]["inferstack:serving"] = {"deployment_mode": "standard", "routing": routing}
    stack_file.write_text(yaml.safe_dump(document))
    return specs, stacks


def _run(routing: str, root: Path, repo_root: Path) -> Run:
    specs, stacks = _write_fleet(root, repo_root, routing)
    blueprint = compile_blueprint(load_specs([specs]), load_environment(stacks, ENV))
    records = run_under_mocks(ENV, specs, stacks, InferstackMocks(region="us-east-1"), blueprint=blueprint)
    return Run({record.name: record for record in records}, blueprint)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    """Mocked runs of the fleet by routing layer, made once per module when first asked for."""
    return {}


def _fleet(runs: dict[str, Run], routing: str, tmp_path_factory: pytest.TempPathFactory) -> Run:
    if routing not in runs:
        runs[routing] = _run(routing, tmp_path_factory.mktemp(f"fleet-{routing}"), Path(__file__).resolve().parents[1])
    return runs[routing]


@pytest.fixture(params=["gateway-api", "istio"])
def fleet(request: pytest.FixtureRequest, runs: dict[str, Run], tmp_path_factory: pytest.TempPathFactory) -> Run:
    return _fleet(runs, request.param, tmp_path_factory)


@pytest.fixture
def gateway_fleet(runs: dict[str, Run], tmp_path_factory: pytest.TempPathFactory) -> Run:
    return _fleet(runs, "gateway-api", tmp_path_factory)


def _whole_numbers(value: Any) -> Any:
    """The engine carries every number as a double (80 arrives as 80.0); whole numbers back to ints."""
    if isinstance(value, dict):
        return {key: _whole_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_whole_numbers(item) for item in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _manifest(record: RecordedResource) -> dict[str, Any]:
    """The recorded inputs of a Kubernetes object as its manifest."""
    manifest = _whole_numbers(record.inputs)
    assert isinstance(manifest, dict)
    return manifest


def _weights(route: RecordedResource) -> list[dict[str, int]]:
    """Per rule of an HTTPRoute or VirtualService: backend Service -> weight."""
    manifest = _manifest(route)
    if manifest["kind"] == "HTTPRoute":
        return [{ref["name"]: ref["weight"] for ref in rule["backendRefs"]} for rule in manifest["spec"]["rules"]]
    return [
        {entry["destination"]["host"].split(".")[0]: entry["weight"] for entry in rule["route"]}
        for rule in manifest["spec"]["http"]
    ]


def _route_type(run: Run) -> str:
    return HTTP_ROUTE if run.blueprint.config.serving.routing == "gateway-api" else VIRTUAL_SERVICE


def test_standard_canary_keeps_the_stable_resource_and_adds_a_weighted_route(fleet: Run) -> None:
    children = fleet.model("canary-std")
    assert {suffix: record.type for suffix, record in children.items()} == {
        "-isvc": ISVC,
        "-isvc-canary": ISVC,
        "-route": _route_type(fleet),
        "-pdb": PDB,
        "-pdb-canary": PDB,
        **GATEWAY_OBJECTS,
    }
    stable, candidate = _manifest(children["-isvc"]), _manifest(children["-isvc-canary"])
    assert stable["metadata"]["name"] == "canary-std"
    assert stable["spec"]["predictor"]["model"]["storageUri"].endswith("/canary-std/0.9.0/")
    assert candidate["metadata"]["name"] == "canary-std-canary"
    assert candidate["spec"]["predictor"]["model"]["storageUri"].endswith("/canary-std/1.0.0/")
    assert _weights(children["-route"]) == [{"canary-std-predictor": 90, "canary-std-canary-predictor": 10}]
    # The route waits for the Services it names; the InferenceServices for the namespace and KServe.
    route_deps = set(children["-route"].dependencies)
    assert {children["-isvc"].urn, children["-isvc-canary"].urn} <= route_deps
    assert set(children["-isvc"].dependencies) < route_deps
    # Each variant scales on its own predictor pods through KServe's KEDA integration, once KEDA is installed.
    for key, name in (("-isvc", "canary-std"), ("-isvc-canary", "canary-std-canary")):
        manifest = _manifest(children[key])
        assert manifest["metadata"]["annotations"]["serving.kserve.io/autoscalerClass"] == "keda"
        (metric,) = manifest["spec"]["predictor"]["autoScaling"]["metrics"]
        assert f'pod=~"{name}-predictor-.*"' in metric["external"]["metric"]["query"]
        assert fleet.records[KSERVE_RELEASE].urn in children[key].dependencies
    # KServe creates the ScaledObjects: its controller starts after KEDA (and KEDA's CRDs).
    assert fleet.records[KEDA_RELEASE].urn in fleet.records[KSERVE_RELEASE].dependencies
    selected = {_manifest(children[key])["spec"]["selector"]["matchLabels"]["serving.kserve.io/inferenceservice"] for key in ("-pdb", "-pdb-canary")}
    assert selected == {"canary-std", "canary-std-canary"}


def test_serverless_canary_is_one_inference_service_split_by_kserve(fleet: Run) -> None:
    children = fleet.model("canary-sls")
    assert list(children) == ["-isvc"]
    predictor = _manifest(children["-isvc"])["spec"]["predictor"]
    assert predictor["canaryTrafficPercent"] == 20
    assert predictor["model"]["storageUri"].endswith("/canary-sls/1.0.0/")
    assert predictor["logger"]["storage"]["path"] == "canary-sls/primary"
    assert predictor["logger"]["url"].endswith("/payload-logs/rollouts")


def test_blue_green_routes_everything_to_the_active_colour(fleet: Run) -> None:
    children = fleet.model("blue-green")
    assert {"-isvc", "-isvc-green", "-route", "-pdb", "-pdb-green", *GATEWAY_OBJECTS} == set(children)
    assert _weights(children["-route"]) == [{"blue-green-predictor": 100, "blue-green-green-predictor": 0}]
    idle = _manifest(children["-isvc-green"])["spec"]["predictor"]
    assert (idle["minReplicas"], idle["maxReplicas"]) == (2, 2)  # KServe's ScaledObject keeps the idle colour warm
    assert "autoScaling" in idle
    assert "logger" not in _manifest(children["-isvc"])["spec"]["predictor"]
    # Green active: the colours swap weights, and the resource of `<model>` stays.
    colours = fleet.model("colours")
    assert _weights(colours["-route"]) == [{"colours-predictor": 0, "colours-green-predictor": 100}]


def test_shadow_mirrors_to_the_candidate(fleet: Run) -> None:
    children = fleet.model("shadow")
    assert {"-isvc", "-isvc-shadow", "-route", *GATEWAY_OBJECTS} == set(children)
    assert _weights(children["-route"]) == [{"shadow-predictor": 100}]
    spec = _manifest(children["-route"])["spec"]
    if fleet.blueprint.config.serving.routing == "gateway-api":
        (mirror,) = spec["rules"][0]["filters"]
        assert mirror["requestMirror"]["backendRef"]["name"] == "shadow-shadow-predictor"
        assert mirror["requestMirror"]["percent"] == 25
    else:
        assert spec["http"][0]["mirror"]["host"].startswith("shadow-shadow-predictor.")
        assert spec["http"][0]["mirrorPercentage"] == {"value": 25}


def test_ab_matches_the_header_first_then_splits_by_weight(fleet: Run) -> None:
    children = fleet.model("ab-test")
    # A/B has no stable version: every variant is `<model>-<variant>`, so `<model>-isvc` does not exist.
    assert {"-isvc-current", "-isvc-next", "-route", *GATEWAY_OBJECTS} == set(children)
    assert _weights(children["-route"]) == [
        {"ab-test-next-predictor": 100},
        {"ab-test-current-predictor": 70, "ab-test-next-predictor": 30},
    ]


def test_serverless_blue_green_is_split_by_an_inference_graph(tmp_path: Path, repo_root: Path) -> None:
    spec = spec_document(
        name="graph-bg",
        serving={"deployment_mode": "serverless"},
        rollout={"strategy": "blue-green", "stable_version": "0.9.0", "active_color": "green"},
    )
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "graph-bg.yaml").write_text(yaml.safe_dump(spec))
    records = {record.name: record for record in run_under_mocks(ENV, tmp_path / "specs", repo_root / "stacks")}
    prefix = f"{PLATFORM}-model-graph-bg"
    graph = records[f"{prefix}-graph"]
    team = records[f"{PLATFORM}-models-demo"]
    assert graph.type == GRAPH and team.type == TYPE_TEAM_MODEL_SERVICES and graph.parent == team.urn
    manifest = _manifest(graph)
    from_manifest(manifest, "V1alpha1InferenceGraph")
    assert [(step["serviceName"], step["weight"]) for step in manifest["spec"]["nodes"]["root"]["steps"]] == [("graph-bg-green", 100)]
    assert {f"{prefix}-isvc", f"{prefix}-isvc-green"} <= set(records)
    # Knative scales serverless models: no KEDA autoscaling, and no KEDA release to wait for.
    for key in (f"{prefix}-isvc", f"{prefix}-isvc-green"):
        assert "autoScaling" not in _manifest(records[key])["spec"]["predictor"]
    assert KEDA_RELEASE not in records


def test_every_rollout_child_hangs_off_its_team_model_services(fleet: Run) -> None:
    teams = {record.urn: record for record in fleet.of_type(TYPE_TEAM_MODEL_SERVICES)}
    # One component per team namespace, holding every object of its models; KServe makes the ScaledObjects.
    assert sorted(record.name for record in teams.values()) == [f"{PLATFORM}-models-{team}" for team in ("rollouts", "steady", "switch")]
    assert not fleet.of_type(SCALED_OBJECT)
    for type_ in (ISVC, PDB, _route_type(fleet)):
        for record in fleet.of_type(type_):
            if record.parent not in teams and record.inputs["metadata"]["namespace"] == fleet.blueprint.config.serving.gateway_namespace:
                continue  # the platform's HTTP-to-HTTPS redirect on the gateway
            parent = teams[record.parent]
            assert record.inputs["metadata"]["labels"][LABEL_TEAM] == parent.name.removeprefix(f"{PLATFORM}-models-")
            assert record.name.startswith(f"{PLATFORM}-model-{_model_label(record)}-"), record.name


def test_every_rendered_object_validates(fleet: Run) -> None:
    checked = 0
    for record in fleet.records.values():
        manifest = _manifest(record) if record.type.startswith("kubernetes:") else {}
        if record.type == ISVC:
            from_manifest(manifest, "V1beta1InferenceService")
        elif record.type == HTTP_ROUTE and record.inputs["metadata"]["namespace"] != fleet.blueprint.config.serving.gateway_namespace:
            jsonschema.validate(manifest, json.loads((SCHEMAS / "httproute-v1.schema.json").read_text()))
        elif record.type == VIRTUAL_SERVICE:
            jsonschema.validate(manifest, json.loads((SCHEMAS / "virtualservice-v1.schema.json").read_text()))
        elif record.type == PDB:
            kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)
        else:
            continue
        checked += 1
    assert checked >= 20


def test_rollout_alerts_only_for_teams_with_a_rollout(fleet: Run) -> None:
    rules = {record.name: record for record in fleet.of_type(RULE)}
    rollout_rules = {name for name in rules if name.endswith("-rollout-alerts")}
    assert rollout_rules == {f"{PLATFORM}-ns-rollouts-rollout-alerts", f"{PLATFORM}-ns-switch-rollout-alerts"}
    record = rules[f"{PLATFORM}-ns-rollouts-rollout-alerts"]
    assert fleet.records[f"{PLATFORM}-ns-rollouts"].type == TYPE_TEAM_NAMESPACE
    assert record.parent == fleet.records[f"{PLATFORM}-ns-rollouts"].urn
    manifest = _manifest(record)
    assert manifest["metadata"] == {**manifest["metadata"], "name": "rollouts-rollouts", "namespace": "rollouts"}
    groups = {group["name"] for group in manifest["spec"]["groups"]}
    assert groups == {f"{name}.rollout.rules" for name in ("canary-std", "canary-sls", "blue-green", "shadow", "ab-test")}


def test_payload_log_writer_only_for_teams_that_log(fleet: Run) -> None:
    writers = {record.name: record for record in fleet.of_type(ROLE_POLICY) if record.name.endswith("-write-payload-logs")}
    # "switch" only runs blue-green (no payload logging), "steady" only direct.
    assert set(writers) == {f"{PLATFORM}-team-rollouts-write-payload-logs"}
    writer = writers[f"{PLATFORM}-team-rollouts-write-payload-logs"]
    assert fleet.records[f"{PLATFORM}-team-rollouts"].type == TYPE_SERVING_IDENTITY
    assert writer.parent == fleet.records[f"{PLATFORM}-team-rollouts"].urn
    grants = {
        (action, resource)
        for statement in statements(json.loads(writer.inputs["policy"]))
        for action in as_list(statement["Action"])
        for resource in as_list(statement["Resource"])
    }
    bucket = "arn:aws:s3:::inferstack-models-dev"
    assert {action for action, _ in grants} == {"s3:PutObject", "kms:GenerateDataKey"}
    assert ("s3:PutObject", f"{bucket}/payload-logs/rollouts/*") in grants
    assert all(resource.startswith("arn:aws:kms:") for action, resource in grants if action.startswith("kms:"))
    assert all(resource != "*" for _, resource in grants)


def test_policies_stay_clean(fleet: Run) -> None:
    resources = [
        PolicyResource(record.urn, record.type, record.name, record.inputs, record.parent, tuple(record.dependencies))
        for record in fleet.records.values()
        if record.custom
    ]
    report = evaluate(resources, PolicyContext.from_environment(fleet.blueprint.config))
    assert report.checked >= len(resources) > 0
    fired = {violation.policy for violation in report.violations}
    assert not fired & {"iam-no-wildcards", "canary-not-ignored", "pod-disruption-budget", "container-non-root"}


def test_direct_models_are_what_the_direct_path_renders(gateway_fleet: Run) -> None:
    blueprint = gateway_fleet.blueprint
    deployment = blueprint.model("plain")
    children = gateway_fleet.model("plain")
    assert set(children) == {"-isvc", "-pdb"}
    assert _manifest(children["-isvc"]) == render_inference_service(deployment, blueprint)
    budget = render_disruption_budget(deployment, blueprint)
    assert {key: _manifest(children["-pdb"])[key] for key in ("metadata", "spec")} == {
        key: budget[key] for key in ("metadata", "spec")
    }
    # Its team gets neither rollout alerts nor a payload-log writer.
    assert f"{PLATFORM}-ns-steady-rollout-alerts" not in gateway_fleet.records
    assert f"{PLATFORM}-team-steady-write-payload-logs" not in gateway_fleet.records
