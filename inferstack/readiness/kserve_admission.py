"""Check c: the admission rules KServe's validating webhook enforces that its CRDs cannot express.

Re-written from KServe's own source at the tag the platform installs, kserve/kserve v0.20.0:
- pkg/apis/serving/v1beta1/inference_service_validation.go (validateInferenceService and the
  functions it calls: name, autoscaler class, predictor `name`, per-component autoscaling,
  canary specs),
- pkg/apis/serving/v1beta1/component.go (ComponentExtensionSpec.Validate: replicas,
  containerConcurrency, logger; validateExactlyOneImplementation),
- pkg/apis/serving/v1beta1/predictor.go (PredictorSpec.GetImplementations),
- pkg/constants/constants.go (AutoscalerAllowedClassList, HPA/KPA metric lists, deployment modes),
- pkg/validation/env_policy.go (DefaultBlockedEnvVars),
- pkg/apis/serving/v1alpha1/inference_graph_validation.go (InferenceGraph rules).
The messages quote the webhook's own error text where it has one. Update-only rules
(deployment mode and predictor name changes) need the live object and are not checked.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from inferstack.policy.model import PolicyResource
from inferstack.readiness.graph import kube_objects
from inferstack.readiness.model import Finding, ReadinessContext

CHECK_ID = "deploy-kserve-admission"
SOURCE_TAG = "v0.20.0"

NAME_RE = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")  # IsvcNameFmt / GraphNameFmt
# PredictorSpec implementations in GetImplementations order (predictor.go); JSON names from the CRD.
PREDICTOR_IMPLEMENTATIONS = ("xgboost", "pytorch", "triton", "sklearn", "tensorflow", "onnx", "pmml", "lightgbm", "paddle", "huggingface", "model")
INFERENCE_SERVICE_CONTAINER = "kserve-container"  # constants.InferenceServiceContainerName
AUTOSCALER_CLASSES = ("hpa", "external", "keda", "none")  # constants.AutoscalerAllowedClassList (no "kpa" in v0.20.0)
HPA_METRICS = ("cpu", "memory")  # AutoscalerAllowedHPAMetricsList
KPA_METRICS = ("concurrency", "rps")  # AutoscalerAllowedKPAMetricsList
LOGGER_MODES = ("all", "request", "response")
BLOCKED_ENV_VARS = ("PYTHONPATH",)  # validation.DefaultBlockedEnvVars
STANDARD = "Standard"  # the webhook compares the annotation to this exact string
KNATIVE_HPA_CLASS = "hpa.autoscaling.knative.dev"
DEPLOYMENT_MODE = "serving.kserve.io/deploymentMode"
AUTOSCALER_CLASS = "serving.kserve.io/autoscalerClass"
KNATIVE_CLASS = "autoscaling.knative.dev/class"


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _quantity_mib(value: Any) -> float | None:
    """A Kubernetes quantity in MiB (None when it does not parse)."""
    text = str(value).strip()
    match = re.fullmatch(r"([0-9.]+)([a-zA-Z]*)", text)
    if not match:
        return None
    number = float(match.group(1))
    factor = {"": 1, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "Ki": 1024, "Mi": 1024**2, "Gi": 1024**3, "Ti": 1024**4, "m": 1e-3}.get(match.group(2))
    return None if factor is None else number * factor / 1024**2


def _scale_target(target: Mapping[str, Any]) -> Iterator[str]:
    """validateScaleTarget."""
    kind = target.get("type")
    if kind == "Utilization":
        utilization = target.get("averageUtilization")
        if utilization is None:
            yield "the AverageUtilization type should be set"
        elif not 1 <= int(utilization) <= 100:
            yield "the target utilization percentage should be a [1-100] integer"
    elif kind == "AverageValue" and target.get("averageValue") is None:
        yield "the AverageValue type should be set"
    elif kind == "Value" and target.get("value") is None:
        yield "the Value type should be set"


def _hpa(component: Mapping[str, Any]) -> Iterator[str]:
    """validateScalingHPACompExtension."""
    metric = component.get("scaleMetric") or "cpu"
    if metric not in HPA_METRICS:
        yield f"[{metric}] is not a supported metric"
        return
    target = component.get("scaleTarget")
    if target is not None:
        if (metric == "cpu" and target < 1) or target > 100:
            yield "the target utilization percentage should be a [1-100] integer"
        if metric == "memory" and target < 1:
            yield "the target memory should be greater than 1 MiB"
    for spec in _map(component.get("autoScaling")).get("metrics") or []:
        if spec.get("type") != "Resource":
            yield f"invalid HPA metric source type with value [{spec.get('type')}],valid metric source types are Resource"
        elif spec.get("resource") is None:
            yield "metricSpec.Resource is not set for resource metric source type"


def _keda(component: Mapping[str, Any]) -> Iterator[str]:
    """validateScalingKedaCompExtension."""
    if component.get("scaleMetric") is not None:
        yield "ScaleMetric is not supported for KEDA"
    for spec in _map(component.get("autoScaling")).get("metrics") or []:
        kind = spec.get("type")
        if kind == "Resource":
            resource = spec.get("resource")
            if resource is None:
                yield "metricSpec.Resource is not set for resource metric source type"
                continue
            target = _map(resource.get("target"))
            if resource.get("name") == "cpu":
                if target.get("type") != "Utilization":
                    yield "the cpu target value type should be Utilization"
            elif resource.get("name") == "memory":
                if target.get("type") not in ("AverageValue", "Utilization"):
                    yield "the memory target value type should be AverageValue or Utilization"
                elif target.get("type") == "AverageValue":
                    mib = _quantity_mib(target.get("averageValue"))
                    if mib is not None and mib < 1:
                        yield "the memory target value should be greater than 1 MiB"
            else:
                yield f"resource type {resource.get('name')} is not supported"
            yield from _scale_target(target)
        elif kind in ("External", "PodMetric"):
            key = "external" if kind == "External" else "podmetric"
            source = spec.get(key)
            if source is None:
                yield f"metricSpec.{'External' if kind == 'External' else 'PodMetric'} is not set for {key if kind == 'External' else 'pod'} metric source type"
                continue
            if not _map(source.get("metric")).get("query"):
                yield "the query should not be empty"
            target = _map(source.get("target"))
            if target.get("value") is None:
                yield "the target threshold value should not be empty"
            yield from _scale_target(target)
        else:
            yield f"unknown KEDA metric type with value [{kind}].Valid types are Resource,External,PodMetric"


def _kpa(component: Mapping[str, Any]) -> Iterator[str]:
    """validateScalingKPACompExtension (the webhook's branch for every mode other than exactly "Standard")."""
    if component.get("deploymentStrategy") is not None:
        yield "customizing deploymentStrategy is only supported for raw deployment mode"
    metric = component.get("scaleMetric") or "concurrency"
    if metric not in KPA_METRICS:
        yield f"[{metric}] is not a supported metric"
    elif metric == "rps" and component.get("scaleTarget") is not None and component["scaleTarget"] < 1:
        yield "the target for rps should be greater than 1"


def _extension(component: Mapping[str, Any]) -> Iterator[str]:
    """ComponentExtensionSpec.Validate: containerConcurrency, replicas, logger."""
    concurrency = component.get("containerConcurrency")
    if concurrency is not None and concurrency < 0:
        yield "parallelism cannot be less than 0"
    minimum = component.get("minReplicas", 1)  # constants.DefaultMinReplicas
    maximum = component.get("maxReplicas", 0)
    if minimum is not None and minimum < 0:
        yield "'MinReplicas' cannot be less than 0"
    if maximum < 0:
        yield "'MaxReplicas' cannot be less than 0"
    if minimum is not None and maximum != 0 and minimum > maximum:
        yield "'MinReplicas' cannot be greater than MaxReplicas"
    logger = component.get("logger")
    if isinstance(logger, Mapping):
        if logger.get("mode", "all") not in LOGGER_MODES:
            yield "invalid logger type"
        storage = logger.get("storage")
        if isinstance(storage, Mapping):
            missing = [key for key in ("path", "parameters", "key") if storage.get(key) is None]
            if missing:
                yield f"invalid logger storage configuration (logger.storage needs path, parameters and key together; missing {', '.join(missing)})"


def _implementations(predictor: Mapping[str, Any]) -> list[str]:
    """PredictorSpec.GetImplementations, by name."""
    found = [key for key in PREDICTOR_IMPLEMENTATIONS if predictor.get(key) is not None]
    containers = predictor.get("containers") or []
    if containers:
        named = [c for c in containers if _map(c).get("name") == INFERENCE_SERVICE_CONTAINER]
        found.extend("containers" for _ in named)
        if not found:
            found.append("containers")
    return found


def _blocked_env(spec: Mapping[str, Any], predictor: Mapping[str, Any]) -> Iterator[str]:
    """validateBlockedEnvVars: containers and initContainers of every component, and the predictor's framework container."""
    containers: list[Any] = []
    for component in (predictor, _map(spec.get("transformer")), _map(spec.get("explainer"))):
        containers += list(component.get("containers") or []) + list(component.get("initContainers") or [])
    containers += [predictor[key] for key in PREDICTOR_IMPLEMENTATIONS if isinstance(predictor.get(key), Mapping)]
    for container in containers:
        for env in _map(container).get("env") or []:
            if _map(env).get("name") in BLOCKED_ENV_VARS:
                yield f"setting {env['name']} in container {_map(container).get('name', '')!r} is not allowed for security reasons"


def _autoscaling(annotations: Mapping[str, Any], component: Mapping[str, Any]) -> Iterator[str]:
    """validateAutoScalingCompExtension."""
    mode = annotations.get(DEPLOYMENT_MODE)
    if mode == STANDARD:
        klass = annotations.get(AUTOSCALER_CLASS)
        if klass == "hpa":
            yield from _hpa(component)
        elif klass == "keda":
            yield from _keda(component)
    elif mode is not None:
        # Any other explicit value (including the legacy "RawDeployment") takes the Knative branch.
        if annotations.get(KNATIVE_CLASS) == KNATIVE_HPA_CLASS:
            yield from _hpa(component)
        else:
            yield from _kpa(component)
    # No annotation: KServe's defaulting webhook fills the mode from its config first; not judged here.


def inference_service_errors(body: Mapping[str, Any]) -> Iterator[str]:
    """Every webhook rule one InferenceService breaks (pure; the messages quote the webhook)."""
    metadata = _map(body.get("metadata"))
    annotations = _map(metadata.get("annotations"))
    name = str(metadata.get("name") or "")
    spec = _map(body.get("spec"))
    predictor = _map(spec.get("predictor"))
    if not NAME_RE.match(name):
        yield f'the InferenceService "{name}" is invalid: a InferenceService name must consist of lower case alphanumeric characters or \'-\''
    klass = annotations.get(AUTOSCALER_CLASS)
    if klass is not None and klass not in AUTOSCALER_CLASSES:
        yield f"[{klass}] is not a supported autoscaler class type (allowed: {', '.join(AUTOSCALER_CLASSES)})"
    yield from _blocked_env(spec, predictor)
    for key in PREDICTOR_IMPLEMENTATIONS:
        implementation = predictor.get(key)
        if isinstance(implementation, Mapping) and implementation.get("name"):
            yield f"spec.predictor.{key}.name: the 'name' field is not allowed in standard predictor"
    components: list[tuple[str, Mapping[str, Any], list[str]]] = [("predictor", predictor, _implementations(predictor))]
    for extra in ("transformer", "explainer"):
        component = spec.get(extra)
        if isinstance(component, Mapping):
            found = (["art"] if component.get("art") is not None else []) + (["containers"] if component.get("containers") else [])
            components.append((extra, component, found))
    for label, component, found in components:
        if len(found) != 1:
            yield (
                f"spec.{label}: exactly one of {', '.join(PREDICTOR_IMPLEMENTATIONS if label == 'predictor' else ('containers',))} "
                f"must be specified (found {len(found)}: {', '.join(found) or 'none'})"
            )
            continue
        for message in [*_extension(component), *_autoscaling(annotations, component)]:
            yield f"spec.{label}: {message}"
    yield from _canary(annotations, predictor, spec.get("canary"))


def _canary(annotations: Mapping[str, Any], stable: Mapping[str, Any], canaries: Any) -> Iterator[str]:
    """validateCanarySpecs."""
    if not canaries:
        return
    if annotations.get(DEPLOYMENT_MODE) != STANDARD:
        yield f"canary is only supported in {STANDARD} deployment mode"
        return
    names: set[str] = set()
    total = 0
    stable_min = stable.get("minReplicas", 1)
    for index, canary in enumerate(canaries):
        predictor = _map(_map(canary).get("predictor"))
        name = predictor.get("name") or ""
        if not name:
            yield f"canary[{index}] predictor.name is required"
            continue
        if name in names:
            yield f'canary predictor.name "{name}" is duplicated'
        names.add(name)
        if name == stable.get("name"):
            yield f'canary predictor.name "{name}" conflicts with stable predictor name'
        percent = int(_map(canary).get("trafficPercent", 0))
        if not 0 <= percent <= 100:
            yield f'canary "{name}" trafficPercent must be between 0 and 100, got {percent}'
        total += percent
        if len(_implementations(predictor)) != 1:
            yield f'canary "{name}" predictor: exactly one implementation must be specified'
        for key in ("workerSpec", "maxReplicas", "scaleTarget", "scaleMetric", "autoScaling"):
            if predictor.get(key):
                yield f'canary "{name}" must not set {key} (canary uses fixed replicas)'
        if predictor.get("minReplicas") is not None and predictor["minReplicas"] > stable_min:
            yield f'canary "{name}" minReplicas ({predictor["minReplicas"]}) must not exceed stable predictor minReplicas ({stable_min})'
    if total > 100:
        yield f"sum of canary trafficPercent values ({total}) must be <= 100"


def inference_graph_errors(body: Mapping[str, Any]) -> Iterator[str]:
    """Every webhook rule one InferenceGraph breaks (v1alpha1 inference_graph_validation.go)."""
    name = str(_map(body.get("metadata")).get("name") or "")
    nodes = _map(_map(body.get("spec")).get("nodes"))
    if not NAME_RE.match(name):
        yield f'The InferenceGraph "{name}" is invalid: a InferenceGraph name must consist of lower case alphanumeric characters or \'-\''
    if "root" not in nodes:
        yield "root node not found, InferenceGraph needs a node with name 'root' as the root node of the graph"
    for node_name, node in sorted(nodes.items()):
        steps = [_map(step) for step in _map(node).get("steps") or []]
        seen: set[str] = set()
        for index, step in enumerate(steps):
            step_name = str(step.get("name") or "")
            if step_name and step_name in seen:
                yield f'Node "{node_name}" of InferenceGraph "{name}" contains more than one step with name "{step_name}"'
            seen.add(step_name)
            targets = [key for key in ("nodeName", "serviceName", "serviceUrl") if step.get(key)]
            if not targets:
                yield f'Step {index} ("{step_name}") in node "{node_name}" of InferenceGraph "{name}" does not specify an inference target'
            elif len(targets) > 1:
                yield f'Step {index} ("{step_name}") in node "{node_name}" of InferenceGraph "{name}" specifies more than one of nodeName, serviceName, serviceUrl'
        if _map(node).get("routerType") == "Splitter":
            if any(step.get("weight") is None for step in steps):
                yield f"InferenceGraph[{name}] Node[{node_name}] missing the 'Weight'"
            elif sum(int(step["weight"]) for step in steps) != 100:
                yield f"InferenceGraph[{name}] Node[{node_name}] splitter node: the sum of traffic weights for all routing targets should be 100"


def check_kserve_admission(resources: Sequence[PolicyResource], ctx: ReadinessContext) -> Iterable[Finding]:
    """KServe's webhook over every InferenceService and InferenceGraph of the plan."""
    for obj in kube_objects(resources):
        if obj.group != "serving.kserve.io":
            continue
        if obj.kind == "InferenceService":
            errors = inference_service_errors(obj.body)
        elif obj.kind == "InferenceGraph":
            errors = inference_graph_errors(obj.body)
        else:
            continue
        for message in errors:
            yield Finding(CHECK_ID, obj.resource.urn, f"KServe {SOURCE_TAG} webhook would reject {obj.kind} {obj.name}: {message}")
