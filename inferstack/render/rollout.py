"""Rollouts: the InferenceServices and traffic objects of a model's rollout strategy, per KServe deployment mode.

Naming keeps the version taking the main traffic stable: it always runs as the
InferenceService `<model>` (role label `primary`), so starting, finishing or
rolling back a rollout never replaces it; the other versions get a suffix
(`<model>-canary`, `<model>-green`, `<model>-shadow`, `<model>-<variant>`).

Who splits the traffic (recorded on every InferenceService as the annotation
`inferstack.io/traffic-split`, which the policy pack reads):

| strategy   | serverless                          | standard + istio / gateway-api | standard + none |
|------------|-------------------------------------|--------------------------------|-----------------|
| canary     | KServe canaryTrafficPercent: knative | weighted route: routes         | none            |
| blue-green | InferenceGraph Splitter             | switchable route: routes       | none            |
| shadow     | none (no mirror without routes)     | mirror on the route: routes    | none            |
| ab         | InferenceGraph Splitter (weights only; header matches: none) | header rules, then weights: routes | none |

Routes are only used in standard mode: there KServe's predictor is a plain
Service (`<isvc>-predictor`, port 80) a Gateway or Istio can target; in
serverless mode it is a Knative route, which KServe's own canary and its
InferenceGraph router reach instead. With `none`, the InferenceServices are
rendered but nothing splits traffic; a canary candidate then carries the
canaryTrafficPercent KServe ignores in Standard mode, which the policy
`canary-not-ignored` flags.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from inferstack.render.kserve_models import (
    KSERVE_CONFIGURATION,
    V1alpha1InferenceGraph,
    V1alpha1InferenceGraphSpec,
    V1alpha1InferenceRouter,
    V1alpha1InferenceStep,
    V1beta1InferenceService,
)
from kubernetes.client import V1ObjectMeta

from inferstack.blueprint import Blueprint, ModelDeployment
from inferstack.constants import (
    ANNOTATION_TRAFFIC_SPLIT,
    KSERVE_CLUSTER_LOCAL,
    KSERVE_PREDICTOR_DEPLOYMENT_SUFFIX,
    KSERVE_VISIBILITY_LABEL,
    LABEL_MODEL_VERSION,
)
from inferstack.problems import InputError, Problem
from inferstack.render.inference_service import ServingVariant, build_inference_service, isvc_name
from inferstack.render.labels import model_labels
from inferstack.render.payload_logging import payload_logger
from inferstack.render.routes import Backend, HeaderMatch, Mirror, RouteRule, TrafficRoutes, render_routes
from inferstack.render.serialize import to_manifest

TrafficSplit = Literal["routes", "knative", "inference-graph", "none"]
KSERVE_GRAPH_API_VERSION = "serving.kserve.io/v1alpha1"
GRAPH_NAME_SUFFIX = "router"
PREDICTOR_SERVICE_PORT = 80
"""Port of KServe's `<isvc>-predictor` Service in standard mode."""
MAX_SERVICE_NAME = 63
PRIMARY_ROLE = "primary"
LOGGED_STRATEGIES = frozenset({"canary", "shadow", "ab"})
"""Strategies whose variants log payloads (both sides, so they can be compared)."""


def logs_payloads(deployment: ModelDeployment) -> bool:
    """Whether the model's predictors log payloads: a compared rollout, or a drift watch (the detector reads the logs)."""
    if deployment.spec.data.logger_mode == "none":
        return False  # data.payload_logging none: the spec forbids payload logs
    return deployment.spec.rollout.strategy in LOGGED_STRATEGIES or deployment.spec.monitoring.drift is not None


@dataclass(frozen=True, slots=True)
class RolloutVariant:
    """One InferenceService of a rollout: what it serves, its share of live traffic, its replica bounds."""

    serving: ServingVariant
    version: str
    weight: int
    """Percent of live traffic it answers (0 for an idle colour or a shadow)."""
    min_replicas: int
    max_replicas: int
    label: str
    """What the traffic summary calls it: stable, candidate, blue, green, shadow or the A/B variant's name."""
    header: HeaderMatch | None = None
    mirror_percent: int = 0

    @property
    def role(self) -> str:
        """The rollout-role label value."""
        return self.serving.role


@dataclass(frozen=True, slots=True)
class RolloutObjects:
    """Everything a model's rollout renders: its InferenceServices and the object that splits traffic, if any."""

    strategy: str
    traffic_split: TrafficSplit
    variants: tuple[RolloutVariant, ...]
    inference_services: tuple[dict[str, Any], ...]
    traffic: tuple[dict[str, Any], ...] = field(default=())
    """HTTPRoute, VirtualService or InferenceGraph; empty when KServe (or nothing) splits traffic."""

    def manifests(self) -> list[dict[str, Any]]:
        """All objects, InferenceServices first."""
        return [*self.inference_services, *self.traffic]


def traffic_split(deployment: ModelDeployment, blueprint: Blueprint) -> TrafficSplit:
    """Who splits this model's traffic in this environment (see the module table)."""
    rollout = deployment.spec.rollout
    if rollout.strategy == "direct":
        return "none"
    if deployment.deployment_mode == "serverless":
        if rollout.strategy == "canary":
            return "knative"
        if rollout.strategy == "blue-green":
            return "inference-graph"
        if rollout.strategy == "ab" and not any(variant.header for variant in rollout.variants):
            return "inference-graph"
        return "none"
    return "none" if blueprint.config.serving.routing == "none" else "routes"


def _replicas(deployment: ModelDeployment) -> tuple[int, int]:
    scaling = deployment.spec.scaling
    minimum = scaling.min_replicas if scaling.scale_to_zero else max(1, scaling.min_replicas)
    return minimum, scaling.max_replicas


def _idle_replicas(deployment: ModelDeployment) -> tuple[int, int]:
    """An idle colour stays warm at the spec's floor (at least one replica, even with scale-to-zero), so a switch
    lands on running pods; its autoscaler takes over from there once it is active."""
    floor = max(1, deployment.spec.scaling.min_replicas)
    return floor, floor


def rollout_variants(deployment: ModelDeployment) -> tuple[RolloutVariant, ...]:
    """The InferenceServices the model's rollout needs (one for direct and for a serverless canary)."""
    spec = deployment.spec
    rollout = spec.rollout
    candidate = spec.artifact.version
    minimum, maximum = _replicas(deployment)
    if rollout.strategy == "canary" and deployment.deployment_mode != "serverless":
        percent = rollout.canary_percent or 0
        stable = rollout.stable_version or candidate
        return (
            RolloutVariant(ServingVariant(version=stable), stable, 100 - percent, minimum, maximum, "stable"),
            RolloutVariant(
                ServingVariant(name_suffix="canary", version=candidate, role="canary"),
                candidate,
                percent,
                minimum,
                maximum,
                "candidate",
            ),
        )
    if rollout.strategy == "blue-green":
        stable = rollout.stable_version or candidate
        blue_active = rollout.active_color == "blue"
        idle_min, idle_max = _idle_replicas(deployment)
        blue_bounds = (minimum, maximum) if blue_active else (idle_min, idle_max)
        green_bounds = (idle_min, idle_max) if blue_active else (minimum, maximum)
        return (
            RolloutVariant(ServingVariant(version=stable), stable, 100 if blue_active else 0, *blue_bounds, "blue"),
            RolloutVariant(
                ServingVariant(name_suffix="green", version=candidate, role="green"),
                candidate,
                0 if blue_active else 100,
                *green_bounds,
                "green",
            ),
        )
    if rollout.strategy == "shadow":
        stable = rollout.stable_version or candidate
        return (
            RolloutVariant(ServingVariant(version=stable), stable, 100, minimum, maximum, "stable"),
            RolloutVariant(
                ServingVariant(name_suffix="shadow", version=candidate, role="shadow"),
                candidate,
                0,
                minimum,
                maximum,
                "shadow",
                mirror_percent=rollout.mirror_percent or 0,
            ),
        )
    if rollout.strategy == "ab":
        variants: list[RolloutVariant] = []
        for variant in rollout.variants:
            header = None
            if variant.header:
                name, _, value = variant.header.partition("=")
                header = HeaderMatch(name, value)
            variants.append(
                RolloutVariant(
                    ServingVariant(name_suffix=variant.name, version=variant.version, role=f"ab-{variant.name}"),
                    variant.version,
                    variant.weight,
                    minimum,
                    maximum,
                    variant.name,
                    header=header,
                )
            )
        return tuple(variants)
    # direct, and a serverless canary (one InferenceService; KServe keeps the previous revision as stable).
    return (RolloutVariant(ServingVariant(), candidate, 100, minimum, maximum, "primary"),)


def _check_names(deployment: ModelDeployment, variants: tuple[RolloutVariant, ...]) -> None:
    problems: list[Problem] = []
    for index, variant in enumerate(variants):
        service = f"{isvc_name(deployment, variant.serving)}{KSERVE_PREDICTOR_DEPLOYMENT_SUFFIX}"
        if len(service) > MAX_SERVICE_NAME:
            field_path = f"rollout.variants[{index}].name" if deployment.spec.rollout.strategy == "ab" else "name"
            problems.append(
                Problem(
                    deployment.source,
                    field_path,
                    f"the predictor Service {service} would be {len(service)} characters; expected at most "
                    f"{MAX_SERVICE_NAME}: shorten the model or variant name",
                )
            )
    if problems:
        raise InputError(problems)


def route_hostname(deployment: ModelDeployment, blueprint: Blueprint) -> str:
    """The model's public hostname, as KServe's default domain template spells it: <name>-<namespace>.<domain>."""
    return f"{deployment.name}-{deployment.namespace}.{blueprint.config.serving.domain}"


def _inference_service(
    deployment: ModelDeployment, blueprint: Blueprint, variant: RolloutVariant, split: TrafficSplit
) -> dict[str, Any]:
    strategy = deployment.spec.rollout.strategy
    serving = variant.serving
    if strategy == "canary" and split == "none" and serving.role == "canary":
        # Record the asked-for split where nothing honours it: the policy pack flags it (canary-not-ignored).
        serving = ServingVariant(
            serving.name_suffix, serving.version, serving.storage_uri, deployment.spec.rollout.canary_percent, serving.role
        )
    isvc: V1beta1InferenceService = build_inference_service(deployment, blueprint, serving)
    metadata = isvc.metadata
    assert isinstance(metadata, V1ObjectMeta) and isvc.spec is not None
    metadata.annotations = {**(metadata.annotations or {}), ANNOTATION_TRAFFIC_SPLIT: split}
    if split in ("routes", "inference-graph"):
        # The public hostname belongs to the route (or graph); KServe keeps each variant cluster-local.
        metadata.labels = {**(metadata.labels or {}), KSERVE_VISIBILITY_LABEL: KSERVE_CLUSTER_LOCAL}
    predictor = isvc.spec.predictor
    # The variant's own bounds (an idle colour is pinned); in standard mode KServe gives them to the
    # KEDA ScaledObject it creates from this variant's autoScaling.
    predictor.min_replicas = variant.min_replicas
    predictor.max_replicas = variant.max_replicas
    if split == "knative":
        # Knative revisions keep their pod labels: the version label tells stable and candidate pods apart.
        predictor.labels = {**(predictor.labels or {}), LABEL_MODEL_VERSION: variant.version}
    if logs_payloads(deployment):
        predictor.logger = payload_logger(deployment, blueprint, variant.role)
    manifest = to_manifest(isvc)
    assert isinstance(manifest, dict)
    return manifest


def _traffic_routes(deployment: ModelDeployment, blueprint: Blueprint, variants: tuple[RolloutVariant, ...]) -> TrafficRoutes:
    def backend(variant: RolloutVariant) -> Backend:
        return Backend(
            f"{isvc_name(deployment, variant.serving)}{KSERVE_PREDICTOR_DEPLOYMENT_SUFFIX}", PREDICTOR_SERVICE_PORT, variant.weight
        )

    serving_variants = [variant for variant in variants if variant.role != "shadow"]
    rules = [
        RouteRule((Backend(backend(variant).service, PREDICTOR_SERVICE_PORT, 100),), header=variant.header)
        for variant in serving_variants
        if variant.header is not None
    ]
    rules.append(RouteRule(tuple(backend(variant) for variant in serving_variants)))
    mirror = None
    for variant in variants:
        if variant.mirror_percent:
            mirror = Mirror(backend(variant).service, PREDICTOR_SERVICE_PORT, variant.mirror_percent)
    labels = model_labels(deployment, blueprint.environment)
    return TrafficRoutes(
        name=deployment.name,
        namespace=deployment.namespace,
        hostname=route_hostname(deployment, blueprint),
        rules=tuple(rules),
        labels=tuple(sorted(labels.items())),
        mirror=mirror,
    )


def graph_name(deployment: ModelDeployment) -> str:
    """Name of the model's InferenceGraph (clients call it instead of an InferenceService)."""
    return f"{deployment.name}-{GRAPH_NAME_SUFFIX}"


def _inference_graph(deployment: ModelDeployment, blueprint: Blueprint, variants: tuple[RolloutVariant, ...]) -> dict[str, Any]:
    minimum, maximum = _replicas(deployment)
    steps = [
        V1alpha1InferenceStep(local_vars_configuration=KSERVE_CONFIGURATION, name=variant.label, service_name=isvc_name(deployment, variant.serving), weight=variant.weight)
        for variant in variants
        if variant.weight > 0
    ]
    graph = V1alpha1InferenceGraph(local_vars_configuration=KSERVE_CONFIGURATION,
        api_version=KSERVE_GRAPH_API_VERSION,
        kind="InferenceGraph",
        metadata=V1ObjectMeta(
            name=graph_name(deployment),
            namespace=deployment.namespace,
            labels=model_labels(deployment, blueprint.environment),
        ),
        spec=V1alpha1InferenceGraphSpec(local_vars_configuration=KSERVE_CONFIGURATION,
            nodes={"root": V1alpha1InferenceRouter(local_vars_configuration=KSERVE_CONFIGURATION, router_type="Splitter", steps=steps)},
            min_replicas=max(1, minimum),
            max_replicas=maximum,
        ),
    )
    manifest = to_manifest(graph)
    assert isinstance(manifest, dict)
    return manifest


def render_rollout(deployment: ModelDeployment, blueprint: Blueprint) -> RolloutObjects:
    """The InferenceServices of the model's rollout and the route, graph or nothing that splits its traffic."""
    variants = rollout_variants(deployment)
    _check_names(deployment, variants)
    split = traffic_split(deployment, blueprint)
    services = tuple(_inference_service(deployment, blueprint, variant, split) for variant in variants)
    traffic: tuple[dict[str, Any], ...] = ()
    if split == "routes":
        traffic = (render_routes(_traffic_routes(deployment, blueprint, variants), blueprint.config.serving),)
    elif split == "inference-graph":
        traffic = (_inference_graph(deployment, blueprint, variants),)
    return RolloutObjects(deployment.spec.rollout.strategy, split, variants, services, traffic)


def traffic_summary(deployment: ModelDeployment, blueprint: Blueprint) -> str:
    """One line for the plan report: who gets how much of the model's traffic."""
    rollout = deployment.spec.rollout
    variants = rollout_variants(deployment)
    split = traffic_split(deployment, blueprint)
    if rollout.strategy == "direct":
        return f"100% {deployment.spec.artifact.version}"
    if rollout.strategy == "canary":
        percent = rollout.canary_percent or 0
        text = f"stable {rollout.stable_version} {100 - percent}% / candidate {deployment.spec.artifact.version} {percent}%"
    elif rollout.strategy == "blue-green":
        active = next(variant for variant in variants if variant.weight == 100)
        idle = next(variant for variant in variants if variant.weight == 0)
        text = f"{active.label} {active.version} active / {idle.label} {idle.version} idle"
    elif rollout.strategy == "shadow":
        text = f"100% {rollout.stable_version}, mirror {rollout.mirror_percent}% to {deployment.spec.artifact.version}"
    else:
        text = "ab " + " / ".join(f"{variant.label} {variant.version} {variant.weight}%" for variant in variants)
        headers = [f"{variant.header.name}={variant.header.value} -> {variant.label}" for variant in variants if variant.header]
        if headers:
            text += f" ({', '.join(headers)})"
    if split == "none":
        text += " [not applied: no routing layer splits traffic here]"
    return text
