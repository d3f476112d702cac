"""The KServe InferenceService of one model (or one rollout variant of it), built from the kserve SDK's typed models.

Typed construction rejects unknown fields at once; `to_manifest` then emits
the camelCase keys a cluster expects. Rollout work calls
`render_inference_service` once per variant with a `ServingVariant`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from inferstack.render.payload_logging import payload_logger
from inferstack.render.kserve_models import (
    KSERVE_CONFIGURATION,
    V1beta1Batcher,
    V1beta1InferenceService,
    V1beta1InferenceServiceSpec,
    V1beta1ModelFormat,
    V1beta1ModelSpec,
    V1beta1PredictorSpec,
)
from kubernetes.client import (
    V1Affinity,
    V1Capabilities,
    V1EnvVar,
    V1NodeAffinity,
    V1NodeSelector,
    V1NodeSelectorRequirement,
    V1NodeSelectorTerm,
    V1ObjectMeta,
    V1PodSecurityContext,
    V1PreferredSchedulingTerm,
    V1ResourceRequirements,
    V1SeccompProfile,
    V1SecurityContext,
    V1Toleration,
)

from inferstack.blueprint import Blueprint, ModelDeployment
from inferstack.compiler import default_storage_uri
from inferstack.constants import (
    ANNOTATION_DATA_CLASSIFICATION,
    ANNOTATION_APPROVED_STAGE,
    ANNOTATION_MODEL_VERSION,
    ANNOTATION_TRAFFIC_SPLIT,
    KNATIVE_AUTOSCALING_CLASS_ANNOTATION,
    KNATIVE_KPA_CLASS,
    KNATIVE_VISIBILITY_LABEL,
    KSERVE_API_VERSION,
    KSERVE_AUTOSCALER_CLASS_ANNOTATION,
    KSERVE_CLUSTER_LOCAL,
    KSERVE_DEPLOYMENT_MODE_ANNOTATION,
    KSERVE_VISIBILITY_LABEL,
    LABEL_NODE_POOL,
    LABEL_ROLLOUT_ROLE,
    LABEL_RUNTIME,
    SERVING_SERVICE_ACCOUNT,
)
from inferstack.problems import InputError, Problem
from inferstack.render.autoscaling import KEDA_AUTOSCALER_CLASS, autoscaler_kind, build_auto_scaling
from inferstack.render.gateway_security import exposure_of
from inferstack.render.labels import model_labels
from inferstack.render.resources import replica_resources
from inferstack.render.serialize import to_manifest
from inferstack.runtimes import RuntimeEntry, batching_plan, select_runtime

DEPLOYMENT_MODE_VALUES = {"standard": "Standard", "serverless": "Knative"}
"""KServe's names of the deployment modes at v0.20.0 (pkg/constants/constants.go: "Standard", "Knative"; the legacy
"Serverless" and "RawDeployment" are still parsed but deprecated)."""
PREDICTOR_CONTAINER = "kserve-container"
"""The container name KServe gives the predictor. Never set it on `predictor.model`: KServe's webhook refuses
any `name` on a standard predictor ("the 'name' field is not allowed in standard predictor";
kserve/kserve v0.20.0 pkg/apis/serving/v1beta1/inference_service_validation.go, validatePredictor), and the
controller names the container itself."""
NON_ROOT_UID = 1000
WRITABLE_ROOT_FORMATS = frozenset({"huggingface"})
"""Runtimes that write caches under the root filesystem (HF hub cache); all others run read-only."""


@dataclass(frozen=True, slots=True)
class ServingVariant:
    """What sets one InferenceService of a model apart: name suffix, artifact version, storage URI, traffic share.

    The default is the model as the Blueprint resolves it (artifact.version, its storage URI).
    """

    name_suffix: str = ""
    version: str | None = None
    storage_uri: str | None = None
    canary_traffic_percent: int | None = None
    role: str = "primary"


@dataclass(frozen=True, slots=True)
class RuntimeSettings:
    """What the predictor container adds to its runtime: the runtime pinned, args, env, and whether KServe's batcher runs."""

    entry: RuntimeEntry
    args: tuple[str, ...]
    env: tuple[tuple[str, str], ...]
    kserve_batcher: bool


def runtime_settings(deployment: ModelDeployment) -> RuntimeSettings:
    """The model's runtime (catalogue) and the args/env that make its metrics, batching and tensor parallelism real.

    KServe v0.20.0 appends the InferenceService's args to the runtime's and merges env by name
    (pkg/controller/v1beta1/inferenceservice/utils/utils.go, MergeRuntimeContainers).
    """
    spec = deployment.spec
    entry = select_runtime(spec.artifact.format, spec.serving.protocol, spec.serving.runtime)
    args = list(entry.extra_args)
    env = list(entry.extra_env)
    kserve_batcher = False
    if spec.serving.batching is not None:
        plan = batching_plan(
            entry, spec.artifact.format, spec.serving.protocol, spec.serving.batching.max_batch_size, spec.serving.batching.max_latency_ms
        )
        args.extend(plan.args)
        env.extend(plan.env)
        kserve_batcher = plan.kserve_batcher
    if entry.batching_for(spec.serving.protocol).kind == "continuous" and spec.accelerator.gpus_per_replica > 1:
        args.append(f"--tensor-parallel-size={spec.accelerator.gpus_per_replica}")
    return RuntimeSettings(entry, tuple(args), tuple(env), kserve_batcher)


def isvc_name(deployment: ModelDeployment, variant: ServingVariant = ServingVariant()) -> str:
    """Name of the InferenceService of that variant."""
    return f"{deployment.name}{'-' + variant.name_suffix if variant.name_suffix else ''}"


def variant_storage_uri(deployment: ModelDeployment, blueprint: Blueprint, variant: ServingVariant) -> str:
    """Storage URI of the variant: given, or the model store's location of its version."""
    if variant.storage_uri:
        return variant.storage_uri
    if variant.version is None or variant.version == deployment.spec.artifact.version:
        return deployment.storage_uri
    if deployment.spec.artifact.storage_uri:
        raise InputError(
            [
                Problem(
                    deployment.source,
                    "artifact.storage_uri",
                    f"version {variant.version} needs its own storage URI when artifact.storage_uri is explicit; "
                    "expected the variant's storage_uri",
                )
            ]
        )
    spec = deployment.spec.model_copy(
        update={"artifact": deployment.spec.artifact.model_copy(update={"version": variant.version})}
    )
    return default_storage_uri(blueprint.config, spec)


def tolerations(deployment: ModelDeployment, blueprint: Blueprint) -> list[V1Toleration]:
    """One toleration per distinct taint of the pools the model may run on."""
    seen: dict[tuple[str, str, str], V1Toleration] = {}
    for pool_name in deployment.node_pools:
        for taint in blueprint.pool(pool_name).taints:
            seen.setdefault(
                (taint.key, taint.value, taint.effect),
                V1Toleration(key=taint.key, operator="Equal", value=taint.value, effect=taint.effect),
            )
    return list(seen.values())


def node_affinity(deployment: ModelDeployment) -> V1Affinity:
    """Required: one of the model's pools; preferred: its base pool (on-demand base before spot burst)."""
    required = V1NodeSelector(
        node_selector_terms=[
            V1NodeSelectorTerm(
                match_expressions=[
                    V1NodeSelectorRequirement(key=LABEL_NODE_POOL, operator="In", values=list(deployment.node_pools))
                ]
            )
        ]
    )
    preferred = None
    if len(deployment.node_pools) > 1:
        preferred = [
            V1PreferredSchedulingTerm(
                weight=100,
                preference=V1NodeSelectorTerm(
                    match_expressions=[
                        V1NodeSelectorRequirement(key=LABEL_NODE_POOL, operator="In", values=[deployment.node_pools[0]])
                    ]
                ),
            )
        ]
    return V1Affinity(
        node_affinity=V1NodeAffinity(
            required_during_scheduling_ignored_during_execution=required,
            preferred_during_scheduling_ignored_during_execution=preferred,
        )
    )


def container_security_context(deployment: ModelDeployment) -> V1SecurityContext:
    """Non-root, no privilege escalation, no capabilities, read-only root where the runtime allows."""
    return V1SecurityContext(
        run_as_non_root=True,
        run_as_user=NON_ROOT_UID,
        allow_privilege_escalation=False,
        privileged=False,
        capabilities=V1Capabilities(drop=["ALL"]),
        read_only_root_filesystem=deployment.spec.artifact.format not in WRITABLE_ROOT_FORMATS,
        seccomp_profile=V1SeccompProfile(type="RuntimeDefault"),
    )


def build_inference_service(
    deployment: ModelDeployment, blueprint: Blueprint, variant: ServingVariant = ServingVariant()
) -> V1beta1InferenceService:
    """The typed InferenceService of one model variant in the Blueprint's environment."""
    spec = deployment.spec
    kind = autoscaler_kind(deployment)
    version = variant.version or spec.artifact.version
    labels = model_labels(deployment, blueprint.environment)
    labels[LABEL_ROLLOUT_ROLE] = variant.role
    if exposure_of(spec, blueprint.config) == "cluster-local":
        # Not meant for the gateway: KServe creates no route for it (kserve v0.20.0 httproute_reconciler.go).
        labels[KSERVE_VISIBILITY_LABEL] = KSERVE_CLUSTER_LOCAL
        if deployment.deployment_mode == "serverless":
            labels[KNATIVE_VISIBILITY_LABEL] = KSERVE_CLUSTER_LOCAL
    annotations = {
        KSERVE_DEPLOYMENT_MODE_ANNOTATION: DEPLOYMENT_MODE_VALUES[deployment.deployment_mode],
        ANNOTATION_APPROVED_STAGE: deployment.approved_stage(version),
        ANNOTATION_TRAFFIC_SPLIT: "none",
        ANNOTATION_MODEL_VERSION: version,
    }
    if spec.data.classification != "internal":
        annotations[ANNOTATION_DATA_CLASSIFICATION] = spec.data.classification
    scale_metric: str | None = None
    scale_target: int | None = None
    auto_scaling = None
    if kind == "keda":
        # KServe creates and owns the predictor's KEDA ScaledObject from autoScaling and the replica bounds.
        annotations[KSERVE_AUTOSCALER_CLASS_ANNOTATION] = KEDA_AUTOSCALER_CLASS
        auto_scaling = build_auto_scaling(deployment, blueprint, isvc_name(deployment, variant))
    else:
        annotations[KNATIVE_AUTOSCALING_CLASS_ANNOTATION] = KNATIVE_KPA_CLASS
        scale_metric = spec.scaling.metric
        scale_target = max(1, math.ceil(spec.scaling.target))

    canary = variant.canary_traffic_percent
    if canary is None and deployment.deployment_mode == "serverless" and spec.rollout.strategy == "canary":
        canary = spec.rollout.canary_percent

    resources = replica_resources(spec)
    runtime = runtime_settings(deployment)
    labels[LABEL_RUNTIME] = runtime.entry.name
    batcher = (
        V1beta1Batcher(local_vars_configuration=KSERVE_CONFIGURATION, max_batch_size=spec.serving.batching.max_batch_size, max_latency=spec.serving.batching.max_latency_ms)
        if spec.serving.batching and runtime.kserve_batcher
        else None
    )
    predictor = V1beta1PredictorSpec(local_vars_configuration=KSERVE_CONFIGURATION,
        model=V1beta1ModelSpec(local_vars_configuration=KSERVE_CONFIGURATION,
            model_format=V1beta1ModelFormat(local_vars_configuration=KSERVE_CONFIGURATION, name=spec.artifact.format),
            protocol_version=spec.serving.protocol,
            runtime=runtime.entry.name,
            args=list(runtime.args) or None,
            env=[V1EnvVar(name=key, value=value) for key, value in runtime.env] or None,
            storage_uri=variant_storage_uri(deployment, blueprint, variant),
            resources=V1ResourceRequirements(requests=dict(resources), limits=dict(resources)),
            security_context=container_security_context(deployment),
        ),
        min_replicas=spec.scaling.min_replicas if spec.scaling.scale_to_zero else max(1, spec.scaling.min_replicas),
        max_replicas=spec.scaling.max_replicas,
        scale_metric=scale_metric,
        scale_target=scale_target,
        auto_scaling=auto_scaling,
        canary_traffic_percent=canary,
        batcher=batcher,
        service_account_name=SERVING_SERVICE_ACCOUNT,
        tolerations=tolerations(deployment, blueprint) or None,
        affinity=node_affinity(deployment),
        security_context=V1PodSecurityContext(
            run_as_non_root=True,
            run_as_user=NON_ROOT_UID,
            fs_group=NON_ROOT_UID,
            seccomp_profile=V1SeccompProfile(type="RuntimeDefault"),
        ),
        automount_service_account_token=False,  # IRSA injects its own projected token
        # Pod labels: KServe copies the InferenceService labels onto the predictor pods.
    )
    return V1beta1InferenceService(local_vars_configuration=KSERVE_CONFIGURATION,
        api_version=KSERVE_API_VERSION,
        kind="InferenceService",
        metadata=V1ObjectMeta(
            name=isvc_name(deployment, variant),
            namespace=deployment.namespace,
            labels=labels,
            annotations=annotations,
        ),
        spec=V1beta1InferenceServiceSpec(local_vars_configuration=KSERVE_CONFIGURATION, predictor=predictor),
    )


def render_inference_service(
    deployment: ModelDeployment, blueprint: Blueprint, variant: ServingVariant = ServingVariant()
) -> dict[str, Any]:
    """The InferenceService manifest (camelCase keys, no nulls) of one model variant."""
    isvc = build_inference_service(deployment, blueprint, variant)
    if deployment.spec.monitoring.drift is not None and deployment.spec.data.logger_mode != "none" and isvc.spec is not None:
        # The drift detector reads the predictor's payload logs (rollouts add the logger in render/rollout.py).
        isvc.spec.predictor.logger = payload_logger(deployment, blueprint, variant.role)
    manifest = to_manifest(isvc)
    assert isinstance(manifest, dict)
    return manifest
