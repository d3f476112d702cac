"""Reliability rules: redundant replicas with disruption budgets, multi-AZ node pools, canaries that really split traffic."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from inferstack.constants import KSERVE_DEPLOYMENT_MODE_ANNOTATION, LABEL_MODEL, LABEL_ROLLOUT_ROLE
from inferstack.policy.model import PolicyContext, PolicyResource, Rule, enforcement_by_env
from inferstack.policy.props import (
    AWS_EKS_NODE_GROUP,
    K8S_CRON_JOB,
    K8S_HELM_RELEASE,
    K8S_INFERENCE_SERVICE,
    K8S_PDB,
    KSERVE_POD_LABEL,
    TRAFFIC_SPLIT_ANNOTATION,
    TRAFFIC_SPLIT_ROUTES,
    as_int,
    as_list,
    as_mapping,
    get,
    isvc_predictor,
    k8s_annotations,
    k8s_labels,
    k8s_namespace,
)

RAW_DEPLOYMENT_MODES = frozenset({"RawDeployment", "Standard"})
DRIFT_COMPONENT_LABEL = "app.kubernetes.io/component"
DRIFT_COMPONENT = "drift-detector"
"""How the platform labels a model's drift detector CronJob (inferstack/render/drift.py)."""


def _min_replicas(resource: PolicyResource) -> int:
    value = as_int(get(isvc_predictor(resource.props), "minReplicas"), "spec.predictor.minReplicas")
    return 1 if value is None else value  # KServe's default is 1


def check_prod_min_replicas(resource: PolicyResource, ctx: PolicyContext) -> Iterable[str]:
    """Predictors keep at least two replicas, so a node loss or a rollout never takes a model down."""
    minimum = _min_replicas(resource)
    if minimum < 2:
        yield f"spec.predictor.minReplicas is {minimum}; expected at least 2 in {ctx.environment}"


def _pod_labels(isvc: PolicyResource) -> dict[str, str]:
    """Labels KServe puts on predictor pods: the InferenceService's own labels plus its name label."""
    labels = {str(key): str(value) for key, value in k8s_labels(isvc.props).items()}
    name = get(isvc.props, "metadata", "name") or isvc.name
    labels[KSERVE_POD_LABEL] = str(name)
    return labels


def _pdb_selector(pdb: PolicyResource) -> frozenset[tuple[str, str]] | None:
    """The PDB's matchLabels as a set of pairs (policy/v1: an empty selector selects every pod, a null one none)."""
    selector = get(pdb.props, "spec", "selector")
    if selector is None:
        return None
    match = as_mapping(get(selector, "matchLabels"))
    return frozenset((str(key), str(value)) for key, value in match.items())


def check_pod_disruption_budget(resources: Sequence[PolicyResource], ctx: PolicyContext) -> Iterable[tuple[str, str]]:
    """Every predictor with two or more replicas has a PodDisruptionBudget selecting its pods."""
    # Index selectors by namespace and by their smallest label pair, so each predictor looks only at candidates.
    selects_all: set[str] = set()
    by_pair: dict[tuple[str, tuple[str, str]], list[frozenset[tuple[str, str]]]] = {}
    for pdb in resources:
        if pdb.type != K8S_PDB:
            continue
        selector = _pdb_selector(pdb)
        if selector is None:
            continue
        namespace = k8s_namespace(pdb.props)
        if not selector:
            selects_all.add(namespace)
        else:
            by_pair.setdefault((namespace, min(selector)), []).append(selector)
    for isvc in resources:
        if isvc.type != K8S_INFERENCE_SERVICE or _min_replicas(isvc) < 2:
            continue
        namespace = k8s_namespace(isvc.props)
        if namespace in selects_all:
            continue
        pods = _pod_labels(isvc)
        pairs = frozenset(pods.items())
        if any(selector <= pairs for pair in pairs for selector in by_pair.get((namespace, pair), ())):
            continue
        yield isvc.urn, (
            f"no PodDisruptionBudget in namespace {namespace} selects this predictor's pods; expected one "
            f"(e.g. matchLabels {KSERVE_POD_LABEL}: {pods[KSERVE_POD_LABEL]})"
        )


def check_multi_az_node_pools(resource: PolicyResource, ctx: PolicyContext) -> Iterable[str]:
    """Node groups span at least two subnets (one per availability zone) where the stack has two or more zones."""
    wanted = min(2, len(ctx.availability_zones)) if ctx.availability_zones else 2
    subnets = {str(subnet) for subnet in as_list(get(resource.props, "subnetIds"))}
    if len(subnets) < wanted:
        yield f"node group spans {len(subnets)} subnet(s); expected at least {wanted} in different availability zones"


def check_canary_not_ignored(resource: PolicyResource, ctx: PolicyContext) -> Iterable[str]:
    """A canary percentage is only set where something honours it.

    KServe ignores canaryTrafficPercent in RawDeployment (Standard) mode; there a routing
    layer must split the traffic, which the serving component records as
    inferstack.io/traffic-split: routes.
    """
    percent = get(isvc_predictor(resource.props), "canaryTrafficPercent")
    if percent is None:
        return
    annotations = k8s_annotations(resource.props)
    mode = annotations.get(KSERVE_DEPLOYMENT_MODE_ANNOTATION)
    routed = annotations.get(TRAFFIC_SPLIT_ANNOTATION) == TRAFFIC_SPLIT_ROUTES
    if mode is None and not routed:
        yield (
            f"canaryTrafficPercent {percent} is set without a {KSERVE_DEPLOYMENT_MODE_ANNOTATION} annotation; "
            "expected Serverless, or a routing layer (annotation inferstack.io/traffic-split: routes)"
        )
    elif mode in RAW_DEPLOYMENT_MODES and not routed:
        yield (
            f"canaryTrafficPercent {percent} is silently ignored in {mode} mode; expected a routing layer that splits "
            "traffic (annotation inferstack.io/traffic-split: routes) or Serverless mode"
        )


def check_prod_multi_az(resources: Sequence[PolicyResource], ctx: PolicyContext) -> Iterable[tuple[str, str]]:
    """A prod stack spreads over at least two availability zones, always (multi-az-node-pools exempts one-zone stacks)."""
    if ctx.environment == "prod" and len(set(ctx.availability_zones)) < 2:
        zones = ", ".join(ctx.availability_zones) or "none"
        yield "", f"prod stack lists availability zones [{zones}]; expected at least two in network.availability_zones"


KNATIVE_MARKERS = ("knative",)


def _installs_knative(resources: Sequence[PolicyResource]) -> bool:
    """Whether the plan installs Knative Serving: a Helm release or a resource of a Knative kind."""
    for resource in resources:
        if resource.type == K8S_HELM_RELEASE:
            text = f"{get(resource.props, 'chart') or ''} {get(resource.props, 'name') or ''}".lower()
            if any(marker in text for marker in KNATIVE_MARKERS):
                return True
        elif "knative" in resource.type.lower():
            return True
    return False


def check_serverless_needs_knative(resources: Sequence[PolicyResource], ctx: PolicyContext) -> Iterable[tuple[str, str]]:
    """An InferenceService in Serverless mode has Knative Serving installed by the plan (KServe's Serverless mode runs on it)."""
    serverless = [
        resource
        for resource in resources
        if resource.type == K8S_INFERENCE_SERVICE
        and k8s_annotations(resource.props).get(KSERVE_DEPLOYMENT_MODE_ANNOTATION) == "Serverless"
    ]
    if not serverless or _installs_knative(resources):
        return
    for resource in serverless:
        yield resource.urn, (
            "InferenceService uses Serverless mode, but nothing in the plan installs Knative Serving; expected "
            "serving.deployment_mode standard, or Knative Serving installed by the platform"
        )


ROUTE_TYPES = frozenset(
    {
        "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute",
        "kubernetes:networking.istio.io/v1:VirtualService",
        "kubernetes:networking.istio.io/v1beta1:VirtualService",
    }
)
INFERENCE_GRAPH_TYPE = "kubernetes:serving.kserve.io/v1alpha1:InferenceGraph"


def _text_by_namespace(resources: Sequence[PolicyResource], types: frozenset[str]) -> dict[str, str]:
    """Every object of `types` per namespace, as one text to search for the Services and InferenceServices it names."""
    found: dict[str, list[str]] = {}
    for resource in resources:
        if resource.type in types:
            found.setdefault(k8s_namespace(resource.props), []).append(str(get(resource.props, "spec")))
    return {namespace: "\n".join(texts) for namespace, texts in found.items()}


def check_rollout_takes_effect(resources: Sequence[PolicyResource], ctx: PolicyContext) -> Iterable[tuple[str, str]]:
    """Blue-green, shadow and A/B variants receive traffic: something splits it, and that object names the variant.

    A variant InferenceService whose inferstack.io/traffic-split is `none` only costs money;
    with `routes` an HTTPRoute or VirtualService in its namespace must target its predictor
    Service, with `inference-graph` an InferenceGraph must name it. Canaries are judged by
    canary-not-ignored.
    """
    routes = _text_by_namespace(resources, ROUTE_TYPES)
    graphs = _text_by_namespace(resources, frozenset({INFERENCE_GRAPH_TYPE}))
    for resource in resources:
        if resource.type != K8S_INFERENCE_SERVICE:
            continue
        role = k8s_labels(resource.props).get(LABEL_ROLLOUT_ROLE)
        if role in (None, "primary", "canary"):
            continue
        name = str(get(resource.props, "metadata", "name") or resource.name)
        namespace = k8s_namespace(resource.props)
        split = k8s_annotations(resource.props).get(TRAFFIC_SPLIT_ANNOTATION)
        if split in (None, "none"):
            yield resource.urn, (
                f"rollout variant {name} (role {role}) has traffic split '{split or 'unset'}': no traffic reaches it; "
                "expected serving.routing istio or gateway-api (standard mode) or a serverless mode that splits it"
            )
        elif split == TRAFFIC_SPLIT_ROUTES and f"{name}-predictor" not in routes.get(namespace, ""):
            yield resource.urn, (
                f"rollout variant {name} (role {role}) relies on routes, but no HTTPRoute or VirtualService in {namespace} "
                f"targets {name}-predictor; expected the model's route to name it"
            )
        elif split == "inference-graph" and name not in graphs.get(namespace, ""):
            yield resource.urn, (
                f"rollout variant {name} (role {role}) relies on an InferenceGraph, but none in {namespace} names it; "
                "expected the model's router graph to include it"
            )


AWS_VPC = "aws:ec2/vpc:Vpc"
AWS_NAT_GATEWAY = "aws:ec2/natGateway:NatGateway"


def check_prod_nat_per_zone(resources: Sequence[PolicyResource], ctx: PolicyContext) -> Iterable[tuple[str, str]]:
    """A prod VPC the stack creates has a NAT gateway in every zone it uses, so one zone's outage cuts no other's egress."""
    if ctx.environment != "prod":
        return
    vpcs = [resource for resource in resources if resource.type == AWS_VPC]
    nats = [resource for resource in resources if resource.type == AWS_NAT_GATEWAY]
    zones = len(set(ctx.availability_zones))
    if vpcs and len(nats) < zones:
        yield vpcs[0].urn, (
            f"the VPC has {len(nats)} NAT gateway(s) for {zones} zones; prod expected one per zone "
            "(network.nat_gateway_per_zone: true)"
        )


def check_logged_model_watches_drift(resources: Sequence[PolicyResource], ctx: PolicyContext) -> Iterable[tuple[str, str]]:
    """A model whose predictors log payloads also runs a drift detector over those logs."""
    watched = {
        (k8s_namespace(job.props), str(k8s_labels(job.props).get(LABEL_MODEL)))
        for job in resources
        if job.type == K8S_CRON_JOB and k8s_labels(job.props).get(DRIFT_COMPONENT_LABEL) == DRIFT_COMPONENT
    }
    for isvc in resources:
        if isvc.type != K8S_INFERENCE_SERVICE or get(isvc_predictor(isvc.props), "logger") is None:
            continue
        namespace = k8s_namespace(isvc.props)
        model = str(k8s_labels(isvc.props).get(LABEL_MODEL) or get(isvc.props, "metadata", "name") or isvc.name)
        if (namespace, model) not in watched:
            yield isvc.urn, (
                f"model {model} logs its payloads but nothing watches them for drift; expected monitoring.drift in its spec "
                "(a drift detector CronJob over the logs), or no payload logging"
            )


RELIABILITY_RULES: tuple[Rule, ...] = (
    Rule(
        id="ISP-REL-001",
        name="prod-min-replicas",
        category="reliability",
        severity="high",
        description="Predictors keep at least two replicas (mandatory in prod; a stack may disable it, as dev does).",
        remediation="Set scaling.min_replicas >= 2 in the spec's prod override.",
        docs_url="https://kubernetes.io/docs/concepts/workloads/pods/disruptions/",
        default_enforcement=enforcement_by_env("advisory", "advisory", "mandatory"),
        resource_types=frozenset({K8S_INFERENCE_SERVICE}),
        resource_check=check_prod_min_replicas,
    ),
    Rule(
        id="ISP-REL-002",
        name="pod-disruption-budget",
        category="reliability",
        severity="medium",
        description="Every predictor with two or more replicas has a PodDisruptionBudget selecting its pods.",
        remediation="Let the serving component create the PDB (minAvailable 1) for models with min_replicas >= 2.",
        docs_url="https://kubernetes.io/docs/tasks/run-application/configure-pdb/",
        default_enforcement=enforcement_by_env("disabled", "advisory", "mandatory"),
        stack_check=check_pod_disruption_budget,
    ),
    Rule(
        id="ISP-REL-003",
        name="multi-az-node-pools",
        category="reliability",
        severity="high",
        description="Node groups span subnets in at least two availability zones (when the stack has two or more).",
        remediation="List two or more availability zones in network.availability_zones and give the node group their subnets.",
        docs_url="https://docs.aws.amazon.com/eks/latest/best-practices/reliability.html",
        default_enforcement=enforcement_by_env("advisory", "mandatory", "mandatory"),
        resource_types=frozenset({AWS_EKS_NODE_GROUP}),
        resource_check=check_multi_az_node_pools,
    ),
    Rule(
        id="ISP-REL-004",
        name="canary-not-ignored",
        category="reliability",
        severity="high",
        description="canaryTrafficPercent is set only where it takes effect: Serverless mode, or RawDeployment with a "
        "routing layer (annotation inferstack.io/traffic-split: routes); KServe ignores it otherwise.",
        remediation="Set serving.routing (istio or gateway-api) for the environment, or use serverless deployment mode.",
        docs_url="https://kserve.github.io/website/latest/modelserving/v1beta1/rollout/canary/",
        default_enforcement=enforcement_by_env("advisory", "mandatory", "mandatory"),
        resource_types=frozenset({K8S_INFERENCE_SERVICE}),
        resource_check=check_canary_not_ignored,
    ),
    Rule(
        id="ISP-REL-005",
        name="prod-multi-az",
        category="reliability",
        severity="high",
        description="A prod stack lists at least two availability zones, always (multi-az-node-pools only judges node groups "
        "against the zones the stack lists).",
        remediation="List two or three zones in network.availability_zones of the prod stack.",
        docs_url="https://docs.aws.amazon.com/eks/latest/best-practices/reliability.html",
        default_enforcement=enforcement_by_env("disabled", "advisory", "mandatory"),
        stack_check=check_prod_multi_az,
    ),
    Rule(
        id="ISP-REL-006",
        name="serverless-needs-knative",
        category="reliability",
        severity="high",
        description="An InferenceService in Serverless mode has Knative Serving installed by the same plan; without it "
        "KServe cannot reconcile the service.",
        remediation="Use deployment_mode standard, or install Knative Serving with the platform.",
        docs_url="https://kserve.github.io/website/latest/admin/serverless/serverless/",
        default_enforcement=enforcement_by_env("mandatory", "mandatory", "mandatory"),
        stack_check=check_serverless_needs_knative,
    ),
    Rule(
        id="ISP-REL-007",
        name="rollout-takes-effect",
        category="reliability",
        severity="high",
        description="Blue-green, shadow and A/B variants receive the traffic their strategy promises: their "
        "inferstack.io/traffic-split is not none, and the route (HTTPRoute, VirtualService) or InferenceGraph that "
        "splits it names them.",
        remediation="Set serving.routing (istio or gateway-api) for the environment, or use a mode that splits this strategy.",
        docs_url="https://kserve.github.io/website/latest/modelserving/v1beta1/rollout/canary/",
        default_enforcement=enforcement_by_env("advisory", "mandatory", "mandatory"),
        stack_check=check_rollout_takes_effect,
    ),
    Rule(
        id="ISP-REL-008",
        name="prod-nat-per-zone",
        category="reliability",
        severity="medium",
        description="A VPC a prod stack creates has one NAT gateway per availability zone: one shared NAT gateway is a "
        "single point of failure for every zone's egress.",
        remediation="Set network.nat_gateway_per_zone: true in the prod stack.",
        docs_url="https://docs.aws.amazon.com/vpc/latest/userguide/vpc-nat-gateway.html",
        default_enforcement=enforcement_by_env("disabled", "advisory", "mandatory"),
        stack_check=check_prod_nat_per_zone,
    ),
    Rule(
        id="ISP-REL-009",
        name="logged-model-watches-drift",
        category="reliability",
        severity="low",
        description="A prod model whose predictors log payloads (canary, shadow, A/B) also watches them for drift "
        "(monitoring.drift: a detector CronJob, alerts and a retraining trigger).",
        remediation="Add monitoring.drift to the spec (features, thresholds, trigger) and publish the version with --reference-data.",
        docs_url="https://github.com/inferstack/inferstack/blob/main/docs/drift.md",
        default_enforcement=enforcement_by_env("disabled", "disabled", "advisory"),
        stack_check=check_logged_model_watches_drift,
    ),
)
