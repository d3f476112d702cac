"""Reliability rules: redundant replicas with disruption budgets, multi-AZ node pools, canaries that really split traffic."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from inferstack.constants import KSERVE_DEPLOYMENT_MODE_ANNOTATION, LABEL_MODEL
from inferstack.policy.model import PolicyContext, PolicyResource, Rule, enforcement_by_env
from inferstack.policy.props import (
    AWS_EKS_NODE_GROUP,
    K8S_CRON_JOB,
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
