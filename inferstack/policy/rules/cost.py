"""Cost rules: spot GPUs, allowed GPU types, replica and GPU caps, budgets, scale-to-zero, idle-GPU alerts, tags.

Prices never appear here: budget rules compare the cost model's figures (carried
in the PolicyContext) with the stack's budgets, and say "not evaluated" when no
figures were supplied.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from inferstack.accelerators import GPUS
from inferstack.constants import (
    GPU_TAINT_KEY,
    LABEL_COST_CENTER,
    LABEL_ENVIRONMENT,
    LABEL_GPU_TYPE,
    LABEL_MODEL,
    LABEL_NODE_POOL,
    LABEL_TEAM,
    TAG_COST_CENTER,
    TAG_ENVIRONMENT,
    TAG_TEAM,
)
from inferstack.policy.model import NotEvaluated, PolicyContext, PolicyResource, Rule, enforcement_by_env
from inferstack.policy.props import (
    AWS_EKS_CLUSTER,
    AWS_EKS_NODE_GROUP,
    AWS_IAM_ROLE,
    AWS_KMS_KEY,
    AWS_LAUNCH_TEMPLATE,
    AWS_METRIC_ALARM,
    AWS_S3_BUCKET,
    AWS_SNS_TOPIC,
    K8S_INFERENCE_SERVICE,
    K8S_NAMESPACE,
    K8S_NETWORK_POLICY,
    K8S_PDB,
    K8S_PROMETHEUS_RULE,
    K8S_RESOURCE_QUOTA,
    K8S_SERVICE_ACCOUNT,
    as_int,
    as_list,
    as_mapping,
    aws_tags,
    get,
    isvc_gpus_per_replica,
    isvc_predictor,
    k8s_labels,
    k8s_namespace,
)

GPU_TYPE_BY_FAMILY: dict[str, str] = {family: gpu for gpu, facts in GPUS.items() for family in facts.families}
GPU_AMI_MARKERS = ("GPU", "NVIDIA")


def instance_family(instance_type: str) -> str:
    """The EC2 family of an instance type (g5.xlarge -> g5)."""
    return instance_type.split(".", 1)[0]


def node_group_gpu_types(props: Mapping[str, Any]) -> set[str]:
    """GPU types a node group carries, from its gpu-type label, its instance families, or none."""
    found: set[str] = set()
    label = get(props, "labels", LABEL_GPU_TYPE)
    if label and label != "none":
        found.add(str(label))
    for instance_type in as_list(get(props, "instanceTypes")):
        gpu = GPU_TYPE_BY_FAMILY.get(instance_family(str(instance_type)))
        if gpu:
            found.add(gpu)
    return found


def is_gpu_node_group(props: Mapping[str, Any]) -> bool:
    """Whether a node group runs GPU nodes (gpu-type label, GPU family, NVIDIA taint or a GPU AMI)."""
    if node_group_gpu_types(props):
        return True
    if any(get(taint, "key") == GPU_TAINT_KEY for taint in as_list(get(props, "taints"))):
        return True
    ami = str(get(props, "amiType") or "")
    return any(marker in ami for marker in GPU_AMI_MARKERS)


KARPENTER_NODE_POOL = "kubernetes:karpenter.sh/v1:NodePool"
"""Karpenter capacity: the rules about node groups judge a NodePool as the node group it stands for."""


def karpenter_as_node_group(resource: PolicyResource) -> PolicyResource:
    """A Karpenter NodePool in node-group form: capacity type, instance types, labels, taints, zones as subnets.

    Karpenter keeps no minimum (min size 0); its zones requirement plays the subnets' part.
    """
    spec = as_mapping(get(resource.props, "spec"))
    template = as_mapping(spec.get("template"))
    template_spec = as_mapping(template.get("spec"))
    requirements = {
        str(get(item, "key")): [str(value) for value in as_list(get(item, "values"))]
        for item in as_list(template_spec.get("requirements"))
        if get(item, "operator") == "In"
    }
    capacity = requirements.get("karpenter.sh/capacity-type", ["spot", "on-demand"])
    return PolicyResource(
        urn=resource.urn,
        type=AWS_EKS_NODE_GROUP,
        name=resource.name,
        props={
            "capacityType": "SPOT" if capacity == ["spot"] else "ON_DEMAND",
            "instanceTypes": requirements.get("node.kubernetes.io/instance-type", []),
            "labels": dict(as_mapping(as_mapping(template.get("metadata")).get("labels"))),
            "taints": list(as_list(template_spec.get("taints"))),
            "scalingConfig": {"minSize": 0},
            "subnetIds": requirements.get("topology.kubernetes.io/zone", []),
        },
        parent=resource.parent,
    )


def _capacity(resource_list: Sequence[PolicyResource]) -> list[PolicyResource]:
    """The resources, with Karpenter NodePools in node-group form (so the capacity rules cover both modes)."""
    return [karpenter_as_node_group(item) if item.type == KARPENTER_NODE_POOL else item for item in resource_list]


def _spot_pool_labels(resource_list: Sequence[PolicyResource]) -> set[str]:
    """Node-pool labels that spot node groups carry."""
    return {
        str(get(group.props, "labels", LABEL_NODE_POOL))
        for group in resource_list
        if group.type == AWS_EKS_NODE_GROUP
        and get(group.props, "capacityType") == "SPOT"
        and get(group.props, "labels", LABEL_NODE_POOL)
    }


def _is_spot_fallback(group: PolicyResource, spot_labels: set[str]) -> bool:
    """Whether an on-demand node group is a spot group's fallback: that group's node-pool label, min size 0 (known)."""
    label = get(group.props, "labels", LABEL_NODE_POOL)
    if not label or str(label) not in spot_labels:
        return False
    try:
        return as_int(get(group.props, "scalingConfig", "minSize"), "scalingConfig.minSize") == 0
    except NotEvaluated:
        return False


def check_gpu_pool_spot(resource_list: Sequence[PolicyResource], ctx: PolicyContext) -> Iterable[tuple[str, str]]:
    """GPU node groups buy spot capacity (outside prod by default; a stack with spot policy on-demand-only opted out).

    An on-demand fallback of a spot group (it carries a spot group's node-pool label and has
    min size 0) is exempt: it only grows when that spot group cannot.
    """
    if ctx.spot_policy == "on-demand-only":
        return
    resource_list = _capacity(resource_list)
    spot_labels = _spot_pool_labels(resource_list)
    for resource in resource_list:
        if resource.type != AWS_EKS_NODE_GROUP or not is_gpu_node_group(resource.props):
            continue
        capacity = get(resource.props, "capacityType", default="ON_DEMAND")
        if capacity == "SPOT":
            continue
        if _is_spot_fallback(resource, spot_labels):
            continue
        yield resource.urn, (
            f"GPU node group uses capacityType {capacity}; expected SPOT in {ctx.environment} (spot policy {ctx.spot_policy})"
        )


def _node_group_gpu_problems(resource: PolicyResource, ctx: PolicyContext, allowed: str) -> Iterable[str]:
    for gpu in sorted(node_group_gpu_types(resource.props) - ctx.allowed_gpu_types):
        yield f"node group carries GPU type {gpu}, not allowed in {ctx.environment}; expected one of {allowed}"
    if ctx.allowed_families:
        for instance_type in as_list(get(resource.props, "instanceTypes")):
            family = instance_family(str(instance_type))
            if family in GPU_TYPE_BY_FAMILY and family not in ctx.allowed_families:
                yield f"instance type {instance_type} is of family {family}, not in gpu.allowed_families ({', '.join(sorted(ctx.allowed_families))})"


def predictor_pool_gpu_types(props: Mapping[str, Any], pool_gpus: Mapping[str, set[str]]) -> set[str]:
    """GPU types a predictor can land on: a gpu-type nodeSelector or required affinity, or those of the node pools it requires.

    Predictors are pinned with required node affinity on the node-pool label (not a
    nodeSelector), so the pools' GPU types are what it will run on.
    """
    predictor = isvc_predictor(props)
    found: set[str] = set()
    selected = as_mapping(get(predictor, "nodeSelector")).get(LABEL_GPU_TYPE)
    if selected is not None:
        found.add(str(selected))
    terms = as_list(get(predictor, "affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution", "nodeSelectorTerms"))
    for term in terms:
        for expression in as_list(get(term, "matchExpressions")):
            if get(expression, "operator") == "In" and get(expression, "key") == LABEL_GPU_TYPE:
                found.update(str(value) for value in as_list(get(expression, "values")))
    for pool in required_node_pools(props):
        found.update(pool_gpus.get(pool, set()))
    return found - {"none"}


def required_node_pools(props: Mapping[str, Any]) -> set[str]:
    """Node pools (inferstack.io/node-pool values) a predictor's required node affinity allows; empty when unpinned."""
    terms = as_list(
        get(isvc_predictor(props), "affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution", "nodeSelectorTerms")
    )
    return {
        str(value)
        for term in terms
        for expression in as_list(get(term, "matchExpressions"))
        if get(expression, "key") == LABEL_NODE_POOL and get(expression, "operator") == "In"
        for value in as_list(get(expression, "values"))
    }


def check_prod_on_demand_base(resource_list: Sequence[PolicyResource], ctx: PolicyContext) -> Iterable[tuple[str, str]]:
    """In prod, every model can keep replicas on on-demand capacity (a spot group's fallback is no base).

    A model pinned to spot-only pools loses every replica when its spot pools are
    reclaimed at once; `policy.waivers.prod-on-demand-base@<model>` accepts that for one model.
    """
    resource_list = _capacity(resource_list)
    if ctx.environment != "prod":
        return
    spot_labels = _spot_pool_labels(resource_list)
    capacity: dict[str, set[str]] = defaultdict(set)
    for group in resource_list:
        pool = get(group.props, "labels", LABEL_NODE_POOL)
        if group.type != AWS_EKS_NODE_GROUP or not pool:
            continue
        kind = str(get(group.props, "capacityType") or "ON_DEMAND")
        if kind == "SPOT" or not _is_spot_fallback(group, spot_labels):
            capacity[str(pool)].add(kind)
    for resource in resource_list:
        if resource.type != K8S_INFERENCE_SERVICE:
            continue
        pools = required_node_pools(resource.props)
        kinds = set().union(*(capacity.get(pool, set()) for pool in pools)) if pools else set()
        if kinds != {"SPOT"}:
            continue
        model = str(k8s_labels(resource.props).get(LABEL_MODEL) or resource.name)
        if ctx.active_waiver(f"prod-on-demand-base@{model}") is not None:
            continue
        yield resource.urn, (
            f"model {model} runs only on spot pools ({', '.join(sorted(pools))}); prod expected an on-demand base "
            f"(capacity.spot preferred under the on-demand-base policy) or a dated policy.waivers.prod-on-demand-base@{model}"
        )


def check_gpu_type_allowed(resource_list: Sequence[PolicyResource], ctx: PolicyContext) -> Iterable[tuple[str, str]]:
    """GPU types (and instance families, when the stack lists them) of node groups and predictors are allowed here."""
    resource_list = _capacity(resource_list)
    allowed = ", ".join(sorted(ctx.allowed_gpu_types))
    pool_gpus: dict[str, set[str]] = defaultdict(set)
    for resource in resource_list:
        if resource.type != AWS_EKS_NODE_GROUP:
            continue
        pool = get(resource.props, "labels", LABEL_NODE_POOL)
        if pool:
            pool_gpus[str(pool)].update(node_group_gpu_types(resource.props))
        yield from ((resource.urn, message) for message in _node_group_gpu_problems(resource, ctx, allowed))
    for resource in resource_list:
        if resource.type != K8S_INFERENCE_SERVICE:
            continue
        for gpu in sorted(predictor_pool_gpu_types(resource.props, pool_gpus) - ctx.allowed_gpu_types):
            yield resource.urn, f"predictor runs on GPU type {gpu}, not allowed in {ctx.environment}; expected one of {allowed}"


def check_dev_gpu_on_demand(resource_list: Sequence[PolicyResource], ctx: PolicyContext) -> Iterable[tuple[str, str]]:
    """Dev GPU node groups are spot, whatever the stack's spot policy (a spot group's on-demand fallback excepted)."""
    resource_list = _capacity(resource_list)
    if ctx.environment != "dev":
        return
    spot_labels = _spot_pool_labels(resource_list)
    for resource in resource_list:
        if resource.type != AWS_EKS_NODE_GROUP or not is_gpu_node_group(resource.props):
            continue
        if get(resource.props, "capacityType") == "SPOT" or _is_spot_fallback(resource, spot_labels):
            continue
        yield resource.urn, (
            f"dev GPU node group buys {get(resource.props, 'capacityType') or 'ON_DEMAND'} capacity; expected spot in dev "
            "(an interrupted dev model costs a restart, on-demand GPUs cost 2-3x)"
        )


def check_max_replicas_per_model(resource: PolicyResource, ctx: PolicyContext) -> Iterable[str]:
    """A model's predictor scales to at most gpu.max_replicas_per_model replicas, and states its maximum."""
    predictor = isvc_predictor(resource.props)
    maximum = as_int(get(predictor, "maxReplicas"), "spec.predictor.maxReplicas")
    if maximum is None or maximum == 0:
        yield f"spec.predictor.maxReplicas is unset (unbounded); expected at most {ctx.max_replicas_per_model}"
    elif maximum > ctx.max_replicas_per_model:
        yield f"spec.predictor.maxReplicas is {maximum}; {ctx.environment} allows at most {ctx.max_replicas_per_model} per model"


def _model_key(resource: PolicyResource) -> tuple[str, str]:
    labels = k8s_labels(resource.props)
    model = labels.get(LABEL_MODEL) or get(resource.props, "metadata", "name") or resource.name
    return k8s_namespace(resource.props), str(model)


def check_max_gpus_per_model(resource_list: Sequence[PolicyResource], ctx: PolicyContext) -> Iterable[tuple[str, str]]:
    """All InferenceServices of one model hold at most gpu.max_gpus_per_model GPUs at their maximum replicas."""
    totals: dict[tuple[str, str], float] = defaultdict(float)
    first: dict[tuple[str, str], PolicyResource] = {}
    for resource in resource_list:
        if resource.type != K8S_INFERENCE_SERVICE:
            continue
        gpus = isvc_gpus_per_replica(resource.props)
        if gpus <= 0:
            continue
        maximum = as_int(get(isvc_predictor(resource.props), "maxReplicas"), "spec.predictor.maxReplicas")
        minimum = as_int(get(isvc_predictor(resource.props), "minReplicas"), "spec.predictor.minReplicas") or 1
        key = _model_key(resource)
        totals[key] += gpus * max(maximum or 0, minimum)
        first.setdefault(key, resource)
    for key in sorted(totals):
        if totals[key] > ctx.max_gpus_per_model:
            yield first[key].urn, (
                f"model {key[1]} (namespace {key[0]}) can hold {totals[key]:g} GPUs at max replicas; "
                f"{ctx.environment} allows at most {ctx.max_gpus_per_model}"
            )


def check_environment_budget(resource_list: Sequence[PolicyResource], ctx: PolicyContext) -> Iterable[tuple[str, str]]:
    """The stack's expected monthly spend (every cost, each model at peak for its peak-hours share) fits budgets.monthly_usd.

    Where only a steady figure was supplied (policy config without expectedMonthlyCostUsd), the steady
    figure is judged, and the message says so: expected spend is never below it.
    """
    if ctx.budget_monthly_usd is None:
        raise NotEvaluated("the stack sets no budgets.monthly_usd")
    if ctx.expected_monthly_cost_usd is not None:
        cost, what = ctx.expected_monthly_cost_usd, "expected monthly spend"
    elif ctx.monthly_cost_usd is not None:
        cost, what = ctx.monthly_cost_usd, "steady monthly cost (no expected figure supplied)"
    else:
        raise NotEvaluated(
            "no cost estimate was supplied (run the cost model, or pass expectedMonthlyCostUsd in policy config)"
        )
    if cost > ctx.budget_monthly_usd:
        yield "", f"{what} {cost:,.0f} USD is above the {ctx.environment} budget {ctx.budget_monthly_usd:,.0f} USD"


def check_team_budget(resource_list: Sequence[PolicyResource], ctx: PolicyContext) -> Iterable[tuple[str, str]]:
    """Each team's expected monthly spend (steady where no expected figure was supplied) fits its budgets.teams entry;
    a team with spend needs a budget."""
    figures = ctx.team_expected_monthly_cost_usd if ctx.team_expected_monthly_cost_usd is not None else ctx.team_monthly_cost_usd
    if figures is None:
        raise NotEvaluated("no per-team cost estimate was supplied (run the cost model, or pass teamExpectedMonthlyCostUsd)")
    what = "expected" if ctx.team_expected_monthly_cost_usd is not None else "steady"
    namespaces = _team_namespaces(resource_list)
    for team in sorted(figures):
        cost = figures[team]
        budget = ctx.team_budgets_usd.get(team)
        urn = namespaces.get(team, "")
        if budget is None:
            if cost > 0:
                yield urn, f"team {team} spends an estimated {cost:,.0f} USD/month ({what}) but has no entry in budgets.teams"
        elif cost > budget:
            yield urn, f"team {team} is estimated at {cost:,.0f} USD/month ({what}), above its budget {budget:,.0f} USD"


def _team_namespaces(resource_list: Sequence[PolicyResource]) -> dict[str, str]:
    return {
        str(k8s_labels(r.props).get(LABEL_TEAM)): r.urn
        for r in resource_list
        if r.type == K8S_NAMESPACE and k8s_labels(r.props).get(LABEL_TEAM)
    }


def check_peak_budget(resource_list: Sequence[PolicyResource], ctx: PolicyContext) -> Iterable[tuple[str, str]]:
    """At peak (every model at max replicas, every cost counted) the stack fits budgets.monthly_usd, and each team its
    budgets.teams entry: a month spent at peak would overrun the budget otherwise."""
    if ctx.budget_monthly_usd is None:
        raise NotEvaluated("the stack sets no budgets.monthly_usd")
    if ctx.peak_monthly_cost_usd is None:
        raise NotEvaluated("no peak cost estimate was supplied (run the cost model, or pass peakMonthlyCostUsd in policy config)")
    if ctx.peak_monthly_cost_usd > ctx.budget_monthly_usd:
        yield "", (
            f"peak monthly cost {ctx.peak_monthly_cost_usd:,.0f} USD (every model at max replicas) is above the "
            f"{ctx.environment} budget {ctx.budget_monthly_usd:,.0f} USD"
        )
    namespaces = _team_namespaces(resource_list)
    for team, cost in sorted((ctx.team_peak_monthly_cost_usd or {}).items()):
        budget = ctx.team_budgets_usd.get(team)
        if budget is not None and cost > budget:
            yield namespaces.get(team, ""), (
                f"team {team} costs {cost:,.0f} USD/month at peak (its models at max replicas), above its budget {budget:,.0f} USD"
            )


def check_price_override_bound(resource_list: Sequence[PolicyResource], ctx: PolicyContext) -> Iterable[tuple[str, str]]:
    """A stack's negotiated price override lies between the catalogue's list price less the deepest public no-upfront
    commitment discount for its family (3-year EC2 Instance Savings Plan) and the list price itself.

    Stack validation already refuses overrides beyond PRICE_OVERRIDE_RANGE (bad input); this rule flags the
    plausible-but-suspicious ones: a rate below any public commitment rate understates every figure the budget
    rules judge, and one above list price overstates them.
    """
    for name, (price, listed) in sorted(ctx.price_overrides.items()):
        family = instance_family(name)
        discount = ctx.max_override_discount.get(family, 0.0)
        floor = listed * (1 - discount)
        if price < floor - 1e-9:
            yield "", (
                f"price_overrides.{name} is {price:g} USD/hour, {1 - price / listed:.0%} below the list price {listed:g}; "
                f"expected at least {floor:.4g} (the deepest public no-upfront commitment, {discount:.0%} off for {family}) "
                "or a dated policy waiver with the contract reference"
            )
        elif price > listed + 1e-9:
            yield "", f"price_overrides.{name} is {price:g} USD/hour, above the list price {listed:g}; expected at most the list price"


def check_scale_to_zero(resource: PolicyResource, ctx: PolicyContext) -> Iterable[str]:
    """Models scale to zero replicas when idle (the rule is on in dev by default)."""
    minimum = as_int(get(isvc_predictor(resource.props), "minReplicas"), "spec.predictor.minReplicas")
    if minimum is None or minimum > 0:
        shown = "unset (KServe default 1)" if minimum is None else str(minimum)
        yield f"spec.predictor.minReplicas is {shown}; expected 0 in {ctx.environment} so idle models free their nodes"


IDLE_GPU_METRICS = ("DCGM_FI_DEV_GPU_UTIL", "nvidia_smi_utilization_gpu")


def _idle_gpu_scopes(resource: PolicyResource) -> set[str]:
    """Models an idle-GPU alert covers: {"*"} for a platform-wide alert, or the model label; empty when none."""
    if resource.type == K8S_PROMETHEUS_RULE:
        exprs = [
            str(get(rule, "expr") or "")
            for group in as_list(get(resource.props, "spec", "groups"))
            for rule in as_list(get(group, "rules"))
            if get(rule, "alert")
        ]
        if not any(metric in expr and "<" in expr for expr in exprs for metric in IDLE_GPU_METRICS):
            return set()
        model = k8s_labels(resource.props).get(LABEL_MODEL)
        return {str(model)} if model else {"*"}
    if resource.type == AWS_METRIC_ALARM:
        if get(resource.props, "metricName") in IDLE_GPU_METRICS and str(get(resource.props, "comparisonOperator") or "").startswith("LessThan"):
            return {"*"}
    return set()


def check_idle_gpu_alert(resource_list: Sequence[PolicyResource], ctx: PolicyContext) -> Iterable[tuple[str, str]]:
    """Every GPU model is covered by an alert on low GPU utilisation (platform-wide or for that model)."""
    covered: set[str] = set()
    for resource in resource_list:
        covered |= _idle_gpu_scopes(resource)
    if "*" in covered:
        return
    for resource in resource_list:
        if resource.type == K8S_INFERENCE_SERVICE and isvc_gpus_per_replica(resource.props) > 0:
            model = _model_key(resource)[1]
            if model not in covered:
                yield resource.urn, (
                    f"GPU model {model} has no idle-GPU alert; expected a PrometheusRule alert on "
                    f"{IDLE_GPU_METRICS[0]} < threshold (platform-wide, or labelled {LABEL_MODEL}={model})"
                )


def _zones_spanned(props: Mapping[str, Any], ctx: PolicyContext) -> int:
    """Availability zones a node group spans: its subnets (one per zone), at most the stack's zones.

    Subnet ids unknown at preview count as the stack's zones (node groups take every private subnet).
    """
    zones = len(set(ctx.availability_zones))
    try:
        subnets = len({str(subnet) for subnet in as_list(get(props, "subnetIds"))})
    except NotEvaluated:
        return zones
    return min(subnets, zones) if zones else subnets


def check_spot_diversification(resource_list: Sequence[PolicyResource], ctx: PolicyContext) -> Iterable[tuple[str, str]]:
    """Spot node groups spread over spot.min_instance_types instance types, or over spot.min_capacity_pools
    capacity pools (instance type x availability zone) with an on-demand fallback for the same pods.

    A fallback is an on-demand node group carrying the spot group's node-pool label (the label
    model pods select on) and one of its instance types.
    """
    groups = [resource for resource in _capacity(resource_list) if resource.type == AWS_EKS_NODE_GROUP]
    on_demand_types: dict[str, set[str]] = defaultdict(set)
    for group in groups:
        if get(group.props, "capacityType", default="ON_DEMAND") != "SPOT":
            label = get(group.props, "labels", LABEL_NODE_POOL)
            if label:
                on_demand_types[str(label)] |= {str(t) for t in as_list(get(group.props, "instanceTypes"))}
    for group in groups:
        if get(group.props, "capacityType") != "SPOT":
            continue
        types = {str(t) for t in as_list(get(group.props, "instanceTypes"))}
        if len(types) >= ctx.spot_min_instance_types:
            continue
        listed = f"spot node group uses {len(types)} instance type(s) ({', '.join(sorted(types)) or 'none'})"
        minimum = ctx.spot_min_capacity_pools
        if minimum is None:
            yield group.urn, f"{listed}; expected at least {ctx.spot_min_instance_types} to ride out spot interruptions"
            continue
        zones = _zones_spanned(group.props, ctx)
        pools = len(types) * zones
        if pools < minimum:
            yield group.urn, (
                f"{listed} over {zones} availability zone(s), {pools} spot capacity pool(s); expected at least "
                f"{ctx.spot_min_instance_types} types, or {minimum} capacity pools with an on-demand fallback"
            )
            continue
        label = get(group.props, "labels", LABEL_NODE_POOL)
        if not label or not types & on_demand_types.get(str(label), set()):
            yield group.urn, (
                f"{listed} ({pools} capacity pools) and no on-demand fallback; expected at least "
                f"{ctx.spot_min_instance_types} types, or an on-demand node group labelled "
                f"{LABEL_NODE_POOL}={label or '<none>'} with one of these types (min size 0) for when spot runs out"
            )


TAGGED_AWS_TYPES = frozenset({AWS_KMS_KEY, AWS_S3_BUCKET, AWS_IAM_ROLE, AWS_EKS_CLUSTER, AWS_EKS_NODE_GROUP, AWS_LAUNCH_TEMPLATE, AWS_METRIC_ALARM, AWS_SNS_TOPIC})
LABELLED_K8S_TYPES = frozenset(
    {K8S_NAMESPACE, K8S_SERVICE_ACCOUNT, K8S_NETWORK_POLICY, K8S_RESOURCE_QUOTA, K8S_PDB, K8S_INFERENCE_SERVICE, K8S_PROMETHEUS_RULE}
)


def check_cost_allocation_tags(resource: PolicyResource, ctx: PolicyContext) -> Iterable[str]:
    """Resources carry team, environment and cost-center tags/labels (InferenceServices also the model), for cost reports."""
    if resource.type in TAGGED_AWS_TYPES:
        keys, values = [TAG_TEAM, TAG_ENVIRONMENT, TAG_COST_CENTER], aws_tags(resource.props)
        where = "tags"
    else:
        keys, values = [LABEL_TEAM, LABEL_ENVIRONMENT, LABEL_COST_CENTER], k8s_labels(resource.props)
        where = "metadata.labels"
        if resource.type == K8S_INFERENCE_SERVICE:
            keys.append(LABEL_MODEL)
    missing = [key for key in keys if not values.get(key)]
    if missing:
        yield f"{where} lack {', '.join(missing)}; expected them for cost attribution"
    environment = values.get(TAG_ENVIRONMENT if where == "tags" else LABEL_ENVIRONMENT)
    if environment and environment != ctx.environment:
        yield f"{where} say environment {environment}, but the stack is {ctx.environment}"


COST_RULES: tuple[Rule, ...] = (
    Rule(
        id="ISP-COST-001",
        name="gpu-pool-spot",
        category="cost",
        severity="medium",
        description="GPU node groups use spot capacity outside prod (a stack whose spot.policy is on-demand-only opts out; "
        "an on-demand fallback of a spot group, min size 0, is exempt).",
        remediation="Set capacity.spot to preferred/required in the spec, or set the stack's spot.policy deliberately.",
        docs_url="https://docs.aws.amazon.com/eks/latest/userguide/managed-node-groups.html#managed-node-group-capacity-types",
        default_enforcement=enforcement_by_env("mandatory", "advisory", "disabled"),
        stack_check=check_gpu_pool_spot,
    ),
    Rule(
        id="ISP-COST-002",
        name="gpu-type-allowed",
        category="cost",
        severity="high",
        description="Node groups and predictors use only the GPU types (and instance families) the environment allows "
        "(gpu.allowed_gpu_types, gpu.allowed_families).",
        remediation="Pick an allowed gpu_type for this environment in the spec's environments override.",
        docs_url="https://aws.amazon.com/ec2/instance-types/#Accelerated_Computing",
        default_enforcement=enforcement_by_env("mandatory", "mandatory", "mandatory"),
        stack_check=check_gpu_type_allowed,
    ),
    Rule(
        id="ISP-COST-003",
        name="max-replicas-per-model",
        category="cost",
        severity="medium",
        description="A predictor states maxReplicas, at most gpu.max_replicas_per_model.",
        remediation="Lower scaling.max_replicas (per environment if needed) or raise the stack's limit deliberately.",
        docs_url="https://kserve.github.io/website/latest/modelserving/autoscaling/autoscaling/",
        default_enforcement=enforcement_by_env("mandatory", "mandatory", "mandatory"),
        resource_types=frozenset({K8S_INFERENCE_SERVICE}),
        resource_check=check_max_replicas_per_model,
    ),
    Rule(
        id="ISP-COST-004",
        name="max-gpus-per-model",
        category="cost",
        severity="high",
        description="All InferenceServices of one model hold at most gpu.max_gpus_per_model GPUs at max replicas.",
        remediation="Lower max_replicas or gpus_per_replica, or share GPUs (accelerator.shareable).",
        docs_url="https://kserve.github.io/website/latest/modelserving/autoscaling/autoscaling/",
        default_enforcement=enforcement_by_env("mandatory", "mandatory", "mandatory"),
        stack_check=check_max_gpus_per_model,
    ),
    Rule(
        id="ISP-COST-005",
        name="environment-budget",
        category="cost",
        severity="high",
        description="The cost model's expected monthly spend for the stack (every cost counted, each model at peak for its "
        "peak-hours share) fits budgets.monthly_usd (not evaluated without an estimate).",
        remediation="Use spot, smaller GPUs, shareable GPUs or fewer replicas; or raise the budget with finance's approval.",
        docs_url="https://docs.aws.amazon.com/cost-management/latest/userguide/budgets-managing-costs.html",
        default_enforcement=enforcement_by_env("advisory", "mandatory", "mandatory"),
        stack_check=check_environment_budget,
    ),
    Rule(
        id="ISP-COST-006",
        name="team-budget",
        category="cost",
        severity="medium",
        description="Each team's expected monthly spend fits its budgets.teams entry; a team with spend needs one "
        "(not evaluated without an estimate).",
        remediation="Trim the team's models or agree a larger team budget in the stack file.",
        docs_url="https://docs.aws.amazon.com/cost-management/latest/userguide/budgets-managing-costs.html",
        default_enforcement=enforcement_by_env("advisory", "advisory", "mandatory"),
        stack_check=check_team_budget,
    ),
    Rule(
        id="ISP-COST-007",
        name="scale-to-zero-in-dev",
        category="cost",
        severity="low",
        description="Predictors scale to zero when idle (minReplicas 0); on in dev by default.",
        remediation="Set scaling.min_replicas: 0 and scale_to_zero: true in the spec's dev override.",
        docs_url="https://kserve.github.io/website/latest/modelserving/autoscaling/autoscaling/",
        default_enforcement=enforcement_by_env("advisory", "disabled", "disabled"),
        resource_types=frozenset({K8S_INFERENCE_SERVICE}),
        resource_check=check_scale_to_zero,
    ),
    Rule(
        id="ISP-COST-008",
        name="idle-gpu-alert",
        category="cost",
        severity="medium",
        description="Every GPU model is covered by an alert on low GPU utilisation (PrometheusRule on DCGM_FI_DEV_GPU_UTIL < x).",
        remediation="Keep the monitoring component's idle-GPU PrometheusRule (platform-wide or labelled with the model).",
        docs_url="https://docs.nvidia.com/datacenter/dcgm/latest/gpu-telemetry/dcgm-exporter.html",
        default_enforcement=enforcement_by_env("advisory", "advisory", "mandatory"),
        stack_check=check_idle_gpu_alert,
    ),
    Rule(
        id="ISP-COST-009",
        name="spot-diversification",
        category="cost",
        severity="medium",
        description="Spot node groups spread over at least spot.min_instance_types instance types, or over "
        "spot.min_capacity_pools capacity pools (instance types x availability zones) with an on-demand fallback node group.",
        remediation="Allow more instance families for the GPU type (capacity.instance_families), or more sizes; or set "
        "spot.min_capacity_pools so thin spot pools get an on-demand fallback (the compiler adds it), across enough zones.",
        docs_url="https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/spot-best-practices.html",
        default_enforcement=enforcement_by_env("advisory", "mandatory", "mandatory"),
        stack_check=check_spot_diversification,
    ),
    Rule(
        id="ISP-COST-010",
        name="cost-allocation-tags",
        category="cost",
        severity="low",
        description="Resources carry team, environment and cost-center tags (AWS) or labels (Kubernetes); InferenceServices also the model.",
        remediation="Let the components tag resources (inferstack/constants.py TAG_* and LABEL_*); do not strip tags.",
        docs_url="https://docs.aws.amazon.com/awsaccountbilling/latest/aboutv2/cost-alloc-tags.html",
        default_enforcement=enforcement_by_env("advisory", "mandatory", "mandatory"),
        resource_types=TAGGED_AWS_TYPES | LABELLED_K8S_TYPES,
        resource_check=check_cost_allocation_tags,
    ),
    Rule(
        id="ISP-COST-011",
        name="dev-gpu-spot",
        category="cost",
        severity="low",
        description="Dev GPU node groups buy spot capacity whatever the stack's spot policy (an on-demand fallback of a "
        "spot group, min size 0, is exempt).",
        remediation="Leave capacity.spot at preferred for dev, or set the dev stack's spot.policy to spot-preferred.",
        docs_url="https://docs.aws.amazon.com/eks/latest/userguide/managed-node-groups.html#managed-node-group-capacity-types",
        default_enforcement=enforcement_by_env("advisory", "disabled", "disabled"),
        stack_check=check_dev_gpu_on_demand,
    ),
    Rule(
        id="ISP-COST-012",
        name="prod-on-demand-base",
        category="reliability",
        severity="high",
        description="In prod, every model can keep replicas on on-demand capacity: a model pinned to spot-only pools "
        "(a spot group's on-demand fallback is no base) needs a dated policy.waivers.prod-on-demand-base@<model>.",
        remediation="Use capacity.spot preferred (the on-demand-base policy keeps a base on demand), or add the waiver.",
        docs_url="https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/spot-interruptions.html",
        default_enforcement=enforcement_by_env("disabled", "advisory", "mandatory"),
        stack_check=check_prod_on_demand_base,
    ),
    Rule(
        id="ISP-COST-013",
        name="peak-budget",
        category="cost",
        severity="medium",
        description="At peak (every model at max replicas, every cost counted) the stack fits budgets.monthly_usd and "
        "each team its budgets.teams entry (advisory: peak is a bound, the budget judges expected spend).",
        remediation="Lower max_replicas of the largest models, or agree the budget for a month at peak with finance.",
        docs_url="https://docs.aws.amazon.com/cost-management/latest/userguide/budgets-managing-costs.html",
        default_enforcement=enforcement_by_env("advisory", "advisory", "advisory"),
        stack_check=check_peak_budget,
    ),
    Rule(
        id="ISP-COST-014",
        name="price-override-bound",
        category="cost",
        severity="medium",
        description="Negotiated price_overrides lie between the list price less the deepest public no-upfront "
        "commitment discount of the family (catalogue savings_plans) and the list price.",
        remediation="Check the override against the contract; a deeper discount needs a dated policy waiver naming it.",
        docs_url="https://aws.amazon.com/savingsplans/compute-pricing/",
        default_enforcement=enforcement_by_env("advisory", "mandatory", "mandatory"),
        stack_check=check_price_override_bound,
    ),
)
