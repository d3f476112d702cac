"""Check e: every workload we render or configure can land on some node pool, and GPU-only agents only on GPU pools.

Pools come from the plan (EKS managed node groups: labels, taints, instance types; EKS adds
the well-known labels `kubernetes.io/os`, `kubernetes.io/arch`, `eks.amazonaws.com/*`,
`node.kubernetes.io/instance-type`). Workloads: Deployments, StatefulSets and DaemonSets of
the plan, InferenceService predictors, and the pods of Helm charts as their values configure
them, chart defaults included (read from the chart's reference values.yaml; Helm deep-merges
maps and replaces lists). A pod lands on a pool when it tolerates every NoSchedule/NoExecute
taint, its nodeSelector and required node affinity match the pool's labels, and its requests
fit the pool's largest instance type (capacity, not allocatable: a lower bound on failure).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from inferstack.policy.model import PolicyResource
from inferstack.readiness.graph import DependencyGraph, chart_name, chart_version, helm_releases, kube_objects
from inferstack.readiness.model import Finding, ReadinessContext, props_of

CHECK_ID = "deploy-scheduling"
DUPLICATE_ID = "deploy-gpu-agent-duplicate"
EKS_ADDON = "aws:eks/addon:Addon"
CLOUDWATCH_ADDON = "amazon-cloudwatch-observability"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
GPU_TYPE_LABEL = "inferstack.io/gpu-type"
_TAINT_EFFECTS = {"NO_SCHEDULE": "NoSchedule", "NO_EXECUTE": "NoExecute", "PREFER_NO_SCHEDULE": "PreferNoSchedule"}


@dataclass(frozen=True, slots=True)
class ChartWorkload:
    """One pod-creating component of a chart: where its scheduling values live and whether it must only run on GPU nodes."""

    component: str
    prefix: tuple[str, ...]
    kind: str
    gpu_only: bool = False


# Where each chart reads nodeSelector/tolerations/affinity/resources for its pods (its values.yaml at the pinned version).
CHART_WORKLOADS: Mapping[str, tuple[ChartWorkload, ...]] = {
    "dcgm-exporter": (ChartWorkload("dcgm-exporter", (), "DaemonSet", gpu_only=True),),
    "nvidia-device-plugin": (ChartWorkload("nvidia-device-plugin", (), "DaemonSet", gpu_only=True),),
    "cluster-autoscaler": (ChartWorkload("cluster-autoscaler", (), "Deployment"),),
    "keda": (ChartWorkload("keda operator", (), "Deployment"),),
    "kserve": (ChartWorkload("kserve controller", ("kserve", "controller"), "Deployment"),),
    "kserve-resources": (ChartWorkload("kserve controller", ("kserve", "controller"), "Deployment"),),
    "cert-manager": (
        ChartWorkload("cert-manager", (), "Deployment"),
        ChartWorkload("cert-manager webhook", ("webhook",), "Deployment"),
        ChartWorkload("cert-manager cainjector", ("cainjector",), "Deployment"),
    ),
    "karpenter": (ChartWorkload("karpenter", (), "Deployment"),),
    "kube-prometheus-stack": (
        ChartWorkload("prometheus-operator", ("prometheusOperator",), "Deployment"),
        ChartWorkload("prometheus", ("prometheus", "prometheusSpec"), "StatefulSet"),
        ChartWorkload("alertmanager", ("alertmanager", "alertmanagerSpec"), "StatefulSet"),
    ),
}


@dataclass(frozen=True, slots=True)
class NodePool:
    """What the scheduler knows about the nodes of one pool."""

    name: str
    labels: Mapping[str, str]
    taints: tuple[Mapping[str, str], ...]
    capacity: Mapping[str, float]
    gpu: bool
    urn: str = ""
    min_size: int = 0


@dataclass(slots=True)
class PodPlacement:
    """The scheduling-relevant part of one pod template."""

    node_selector: Mapping[str, Any] = field(default_factory=dict)
    tolerations: Sequence[Mapping[str, Any]] = ()
    affinity: Mapping[str, Any] = field(default_factory=dict)
    requests: dict[str, float] = field(default_factory=dict)


def _quantity(value: Any) -> float | None:
    text = str(value).strip()
    match = re.fullmatch(r"([0-9.]+)([a-zA-Z]*)", text)
    if not match:
        return None
    factors = {"": 1, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}
    factor = factors.get(match.group(2))
    return None if factor is None else float(match.group(1)) * factor


def node_pools(resources: Sequence[PolicyResource], region: str) -> list[NodePool]:
    """The plan's node groups as pools (capacity: the largest instance type listed)."""
    from inferstack.pricing.catalog import load_catalog

    catalog = load_catalog(region)
    pools: list[NodePool] = []
    for resource in resources:
        if resource.type != NODE_GROUP:
            continue
        props = props_of(resource)
        instance_types = [str(item) for item in props.get("instanceTypes") or []]
        known = [catalog.instances[name] for name in instance_types if name in catalog.instances]
        arch = "arm64" if "ARM" in str(props.get("amiType") or "") else "amd64"
        labels = {
            "kubernetes.io/os": "linux",
            "kubernetes.io/arch": arch,
            "eks.amazonaws.com/nodegroup": str(props.get("nodeGroupName") or resource.name),
            "eks.amazonaws.com/capacityType": str(props.get("capacityType") or "ON_DEMAND"),
            **{str(k): str(v) for k, v in (props.get("labels") or {}).items()},
        }
        if len(instance_types) == 1:
            labels["node.kubernetes.io/instance-type"] = instance_types[0]
        taints = tuple(
            {"key": str(t.get("key") or ""), "value": str(t.get("value") or ""), "effect": _TAINT_EFFECTS.get(str(t.get("effect")), str(t.get("effect")))}
            for t in props.get("taints") or []
        )
        capacity: dict[str, float] = {}
        if known:
            largest = max(known, key=lambda item: (item.gpus, item.vcpu, item.memory_gib))
            capacity = {"cpu": float(largest.vcpu), "memory": largest.memory_gib * 2**30, "nvidia.com/gpu": float(largest.gpus)}
        gpu = any(item.gpus for item in known) or labels.get(GPU_TYPE_LABEL, "none") not in ("none", "")
        min_size = int((props.get("scalingConfig") or {}).get("minSize") or 0)
        pools.append(NodePool(str(labels.get("inferstack.io/node-pool") or resource.name), labels, taints, capacity, gpu, resource.urn, min_size))
    pools.extend(karpenter_pools(resources, catalog))
    return pools


KARPENTER_NODE_POOL = "kubernetes:karpenter.sh/v1:NodePool"


def karpenter_pools(resources: Sequence[PolicyResource], catalog: Any) -> list[NodePool]:
    """Karpenter NodePools as pools: the template's labels, single-valued `In` requirements as labels (a node gets
    one value of each requirement; karpenter v1.14.1 NodePool spec.template), its taints, the largest instance type.

    A NodePool keeps no nodes of its own (min size 0): Karpenter launches them for pending pods.
    """
    pools: list[NodePool] = []
    for resource in resources:
        if resource.type != KARPENTER_NODE_POOL:
            continue
        props = props_of(resource)
        template = (props.get("spec") or {}).get("template") or {}
        template_spec = template.get("spec") or {}
        requirements = [item for item in template_spec.get("requirements") or [] if item.get("operator") == "In"]
        labels = {"kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64"}
        labels.update({str(item["key"]): str(item["values"][0]) for item in requirements if len(item.get("values") or []) == 1})
        labels.update({str(k): str(v) for k, v in ((template.get("metadata") or {}).get("labels") or {}).items()})
        instance_types = next((item["values"] for item in requirements if item.get("key") == "node.kubernetes.io/instance-type"), [])
        known = [catalog.instances[name] for name in instance_types if name in catalog.instances]
        capacity: dict[str, float] = {}
        if known:
            largest = max(known, key=lambda item: (item.gpus, item.vcpu, item.memory_gib))
            capacity = {"cpu": float(largest.vcpu), "memory": largest.memory_gib * 2**30, "nvidia.com/gpu": float(largest.gpus)}
        taints = tuple(
            {"key": str(t.get("key") or ""), "value": str(t.get("value") or ""), "effect": str(t.get("effect") or "")}
            for t in template_spec.get("taints") or []
        )
        gpu = any(item.gpus for item in known) or labels.get(GPU_TYPE_LABEL, "none") not in ("none", "")
        name = str(labels.get("inferstack.io/node-pool") or (props.get("metadata") or {}).get("name") or resource.name)
        pools.append(NodePool(name, labels, taints, capacity, gpu, resource.urn, 0))
    return pools


def _tolerates(toleration: Mapping[str, Any], taint: Mapping[str, str]) -> bool:
    effect = toleration.get("effect") or ""
    if effect and effect != taint["effect"]:
        return False
    key = toleration.get("key") or ""
    if toleration.get("operator") == "Exists":
        return not key or key == taint["key"]
    return key == taint["key"] and str(toleration.get("value") or "") == taint["value"]


def _expression(expression: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    key = str(expression.get("key"))
    operator = expression.get("operator")
    values = [str(item) for item in expression.get("values") or []]
    present = key in labels
    if operator == "In":
        return present and labels[key] in values
    if operator == "NotIn":
        return not present or labels[key] not in values
    if operator == "Exists":
        return present
    if operator == "DoesNotExist":
        return not present
    if operator in ("Gt", "Lt") and present and values:
        try:
            left, right = int(labels[key]), int(values[0])
        except ValueError:
            return False
        return left > right if operator == "Gt" else left < right
    return False


def why_not(placement: PodPlacement, pool: NodePool) -> str | None:
    """Why the pod cannot land on the pool (None when it can)."""
    for taint in pool.taints:
        if taint["effect"] in ("NoSchedule", "NoExecute") and not any(_tolerates(t, taint) for t in placement.tolerations):
            return f"does not tolerate taint {taint['key']}={taint['value']}:{taint['effect']}"
    for key, value in placement.node_selector.items():
        if pool.labels.get(str(key)) != str(value):
            return f"nodeSelector {key}={value} does not match"
    required = placement.affinity.get("nodeAffinity", {}).get("requiredDuringSchedulingIgnoredDuringExecution") if isinstance(placement.affinity.get("nodeAffinity"), Mapping) else None
    terms = (required or {}).get("nodeSelectorTerms") if isinstance(required, Mapping) else None
    if terms and not any(all(_expression(e, pool.labels) for e in term.get("matchExpressions") or []) for term in terms):
        return "required node affinity does not match its labels"
    for resource, amount in placement.requests.items():
        if resource in pool.capacity and amount > pool.capacity[resource]:
            return f"requests {resource} {amount:g} above the largest instance's {pool.capacity[resource]:g}"
        if resource == "nvidia.com/gpu" and amount > 0 and not pool.capacity.get(resource):
            return "requests GPUs and the pool has none"
    return None


def _requests(containers: Iterable[Any]) -> dict[str, float]:
    total: dict[str, float] = {}
    for container in containers:
        resources = container.get("resources") if isinstance(container, Mapping) else None
        if not isinstance(resources, Mapping):
            continue
        asked = resources.get("requests") or resources.get("limits") or {}
        for name, value in asked.items():
            amount = _quantity(value)
            if amount is not None:
                total[str(name)] = total.get(str(name), 0.0) + amount
    return total


def _pod(spec: Mapping[str, Any], containers: Iterable[Any]) -> PodPlacement:
    return PodPlacement(
        node_selector=dict(spec.get("nodeSelector") or {}),
        tolerations=list(spec.get("tolerations") or []),
        affinity=dict(spec.get("affinity") or {}),
        requests=_requests(containers),
    )


def _merge(default: Any, given: Any) -> Any:
    """Helm's values merge: maps deep-merge, everything else is replaced."""
    if isinstance(default, Mapping) and isinstance(given, Mapping):
        merged = dict(default)
        for key, value in given.items():
            merged[key] = _merge(default.get(key), value)
        return merged
    return default if given is None else given


def _at(values: Any, path: tuple[str, ...]) -> Mapping[str, Any]:
    for key in path:
        values = values.get(key) if isinstance(values, Mapping) else None
    return values if isinstance(values, Mapping) else {}


@dataclass(frozen=True, slots=True)
class Workload:
    """One pod template to place: what it is, whether it runs on every matching node, and whether it needs GPUs."""

    urn: str
    what: str
    kind: str
    placement: PodPlacement
    gpu_only: bool = False
    helm: bool = False


def workloads(resources: Sequence[PolicyResource], ctx: ReadinessContext) -> Iterator[Workload]:
    """Every pod template the plan renders or configures."""
    for obj in kube_objects(resources):
        spec: Mapping[str, Any] = obj.body.get("spec") or {}
        if obj.group == "apps" and obj.kind in ("Deployment", "DaemonSet", "StatefulSet"):
            pod = ((spec.get("template") or {}).get("spec")) or {}
            yield Workload(obj.resource.urn, f"{obj.kind} {obj.name}", obj.kind, _pod(pod, pod.get("containers") or []))
        elif obj.group == "serving.kserve.io" and obj.kind == "InferenceService":
            predictor = spec.get("predictor") or {}
            from inferstack.readiness.kserve_admission import PREDICTOR_IMPLEMENTATIONS

            containers = [predictor[key] for key in PREDICTOR_IMPLEMENTATIONS if isinstance(predictor.get(key), Mapping)]
            containers += list(predictor.get("containers") or [])
            yield Workload(obj.resource.urn, f"InferenceService {obj.name} predictor", "Deployment", _pod(predictor, containers))
    for release in helm_releases(resources):
        chart = chart_name(release)
        values = props_of(release).get("values") or {}
        defaults: Mapping[str, Any] = {}
        if ctx.reference is not None:
            from inferstack.readiness.helm_values import chart_reference

            defaults = chart_reference(ctx.reference, chart, chart_version(release)).values or {}
        for component in CHART_WORKLOADS.get(chart, ()):
            merged = _merge(_at(defaults, component.prefix), _at(values, component.prefix))
            yield Workload(
                release.urn,
                f"{component.component} ({component.kind} of chart {chart} {chart_version(release)})",
                component.kind,
                _pod(merged, [merged]),
                component.gpu_only,
                helm=True,
            )


def check_scheduling(resources: Sequence[PolicyResource], ctx: ReadinessContext) -> Iterable[Finding]:
    """Every workload against every pool, and GPU agents deployed twice."""
    yield from check_duplicate_gpu_agents(resources, ctx)
    pools = node_pools(resources, ctx.region)
    if not pools:
        return
    graph = DependencyGraph(resources)
    unordered: dict[str, str] = {}
    for workload in workloads(resources, ctx):
        verdicts = {pool.name: why_not(workload.placement, pool) for pool in pools}
        landing = [pool for pool in pools if verdicts[pool.name] is None]
        if workload.gpu_only:
            cpu_pools = sorted(pool.name for pool in landing if not pool.gpu)
            if cpu_pools:
                yield Finding(
                    CHECK_ID,
                    workload.urn,
                    f"{workload.what} is a GPU-only agent and can run on pools without GPUs ({', '.join(cpu_pools)}), where it "
                    "fails; expected a nodeSelector or required node affinity that selects GPU nodes only",
                )
            if any(pool.gpu for pool in pools) and not any(pool.gpu for pool in landing):
                reasons = "; ".join(f"{name}: {why}" for name, why in sorted(verdicts.items()) if why)
                yield Finding(CHECK_ID, workload.urn, f"{workload.what} lands on no GPU pool ({reasons})")
        elif not landing:
            reasons = "; ".join(f"{name}: {why}" for name, why in sorted(verdicts.items()))
            yield Finding(CHECK_ID, workload.urn, f"{workload.what} can land on no node pool ({reasons})")
        elif workload.helm and workload.kind != "DaemonSet":
            # An atomic Helm release waits for its pods to be Ready: it must not start before a node they can run on exists.
            always_on = [pool for pool in landing if pool.min_size > 0] or landing
            waited = graph.waits_for(workload.urn)
            if not any(pool.urn in waited for pool in always_on) and workload.urn not in unordered:
                unordered[workload.urn] = ", ".join(sorted(pool.name for pool in always_on))
    for urn, names in sorted(unordered.items()):
        yield Finding(
            CHECK_ID,
            urn,
            f"this Helm release's pods need a Ready node of {names} (where they can run, with nodes from the start), and the "
            "release does not depend on that node group, so it may be installed before any such node is Ready (an atomic "
            "release then times out); expected depends_on the node group",
        )


def _disabled(config: Mapping[str, Any]) -> bool:
    """Whether the add-on's configuration turns its DCGM exporter (or GPU metrics) off."""
    exporter = config.get("dcgmExporter")
    if isinstance(exporter, Mapping) and exporter.get("enabled") is False:
        return True
    return '"accelerated_compute_metrics": false' in json.dumps(config).replace("'", '"')


def check_duplicate_gpu_agents(resources: Sequence[PolicyResource], ctx: ReadinessContext) -> Iterable[Finding]:
    """The CloudWatch observability add-on deploys its own DCGM exporter on GPU nodes by default (chart values
    `dcgmExporter.enabled: true`, aws-observability/helm-charts amazon-cloudwatch-observability); with our dcgm-exporter
    release too, every GPU node runs two."""
    ours = [release for release in helm_releases(resources) if chart_name(release) == "dcgm-exporter"]
    if not ours:
        return
    for resource in resources:
        props = props_of(resource)
        if resource.type != EKS_ADDON or props.get("addonName") != CLOUDWATCH_ADDON:
            continue
        raw = props.get("configurationValues")
        try:
            config = json.loads(raw) if isinstance(raw, str) and raw else (raw if isinstance(raw, Mapping) else {})
        except json.JSONDecodeError:
            config = {}
        if not _disabled(config if isinstance(config, Mapping) else {}):
            yield Finding(
                DUPLICATE_ID,
                resource.urn,
                f"EKS add-on {CLOUDWATCH_ADDON} deploys its own DCGM exporter on GPU nodes (dcgmExporter.enabled defaults to "
                f"true) beside the dcgm-exporter release: two exporters per GPU node; expected configurationValues "
                '{"dcgmExporter": {"enabled": false}} or no dcgm-exporter release',
            )
