"""Compile: validated specs + one environment's config -> a Blueprint.

Pure Python and deterministic (inputs are sorted by name); no Pulumi import.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Protocol

from inferstack.blueprint import Blueprint, ModelDeployment, TeamPlan
from inferstack.placement import PlacementRequest, place
from inferstack.pricing.catalog import Catalog, load_catalog
from inferstack.drift.job import detector_config_problems
from inferstack.problems import InputError, Problem
from inferstack.render.gateway_security import endpoint_problems
from inferstack.runtimes import scaling_problem
from inferstack.spec.environment import EnvironmentConfig
from inferstack.spec.loader import LoadedSpec, cross_spec_problems
from inferstack.spec.model import ApprovalStage, ModelSpec
from inferstack.spec.resolve import resolve_for_environment

MODEL_PREFIX = "models"


def model_store_prefix(team: str) -> str:
    """Key prefix of a team's artifacts in the model store."""
    return f"{MODEL_PREFIX}/{team}/"


def default_storage_uri(config: EnvironmentConfig, spec: ModelSpec) -> str:
    """Where `inferstack publish` puts a version: s3://<bucket>/models/<team>/<name>/<version>/."""
    return f"s3://{config.model_store.bucket}/{model_store_prefix(spec.team)}{spec.name}/{spec.artifact.version}/"


class RegistryFacts(Protocol):
    """What the compiler reads from the model registry (e.g. a `RegistrySnapshot`)."""

    def stage_of(self, model: str, version: str) -> ApprovalStage:
        """Approved stage of a version ("none" when unknown)."""
        ...

    def measured_gpu_memory_gib(self, model: str, version: str) -> float | None:
        """GPU memory the model gate measured on CUDA, if any."""
        ...


def served_versions(spec: ModelSpec) -> tuple[str, ...]:
    """Every artifact version the model's rollout serves: the candidate, the stable one, the A/B variants."""
    versions = [spec.artifact.version]
    if spec.rollout.stable_version:
        versions.append(spec.rollout.stable_version)
    versions.extend(variant.version for variant in spec.rollout.variants)
    return tuple(dict.fromkeys(versions))


def _with_registry_facts(spec: ModelSpec, registry: RegistryFacts) -> ModelSpec:
    """The spec with the registry's approved stage of the served version (the registry is authoritative)."""
    stage = registry.stage_of(spec.name, spec.artifact.version)
    return spec.model_copy(update={"registry": spec.registry.model_copy(update={"stage": stage})})


def standard_scale_to_zero_problems(spec: ModelSpec, source: str, config: EnvironmentConfig) -> list[Problem]:
    """Scale-to-zero is refused in Standard mode: nothing there can wake a predictor at zero replicas.

    In Standard mode KServe scales the predictor Deployment through KEDA (or an HPA) on metrics read
    from the predictor's own pods; at zero replicas there are no pods, so no metric ever rises, and no
    component holds the first request while a pod starts (Knative's activator does that in Serverless
    mode). A wake-up path would need KEDA's HTTP add-on interceptor in front of the predictor, which the
    platform does not install, so the spec is rejected with the alternatives.
    """
    mode = spec.serving.deployment_mode or config.serving.deployment_mode
    if mode != "standard" or not spec.scaling.scale_to_zero:
        return []
    return [
        Problem(
            source,
            "scaling.scale_to_zero",
            f"scale_to_zero is true in standard deployment mode ({config.environment}), where nothing wakes a predictor "
            "at zero replicas (its autoscaler reads metrics from pods that do not exist, and no component holds the "
            "first request); expected serving.deployment_mode: serverless (Knative's activator wakes it; needs Knative "
            "Serving on the cluster, which the platform does not install), or "
            "scale_to_zero: false with scaling.min_replicas >= 1",
        )
    ]
def runtime_scaling_problems(
    resolved: Sequence[tuple[ModelSpec, str]], config: EnvironmentConfig, environment: str
) -> list[Problem]:
    """Models whose scaling metric their runtime does not export (KServe v0.20.0 runtime catalogue)."""
    problems: list[Problem] = []
    for spec, source in resolved:
        mode = spec.serving.deployment_mode or config.serving.deployment_mode
        reason = scaling_problem(
            spec.artifact.format,
            spec.serving.protocol,
            spec.serving.runtime,
            spec.scaling.metric,
            spec.accelerator.gpu_type != "none",
            knative=mode == "serverless",
        )
        if reason:
            problems.append(Problem(source, "scaling.metric", f"{reason} (in environment {environment})"))
    return problems


def compile_blueprint(
    loaded: Sequence[LoadedSpec],
    config: EnvironmentConfig,
    catalog: Catalog | None = None,
    measured_gpu_memory_gib: Mapping[str, float] | None = None,
    registry: RegistryFacts | None = None,
) -> Blueprint:
    """Resolve every spec for the environment, place the models, and group them by team.

    `measured_gpu_memory_gib` maps model names to the model gate's measured peak GPU
    memory (from the registry); placement sizes those models by it instead of the spec.
    With `registry`, each served version's approval stage comes from the registry
    instead of the spec's claim, and CUDA-measured gate memory sizes its replicas.

    Raises InputError listing every problem (override conflicts, duplicate names,
    models that fit no allowed instance type).
    """
    problems: list[Problem] = list(cross_spec_problems(loaded))
    environment = config.environment
    resolved: list[tuple[ModelSpec, str]] = []
    disabled: list[str] = []
    for item in sorted(loaded, key=lambda entry: entry.spec.name):
        try:
            spec = resolve_for_environment(item.spec, environment, item.source)
        except InputError as error:
            problems.extend(error.problems)
            continue
        if spec is None:
            disabled.append(item.spec.name)
        else:
            problems.extend(standard_scale_to_zero_problems(spec, item.source, config))
            resolved.append((spec, item.source))
    problems.extend(runtime_scaling_problems(resolved, config, environment))
    problems.extend(detector_config_problems(resolved, config))
    problems.extend(endpoint_problems(resolved, config))
    if problems:
        raise InputError(problems)

    catalog = catalog or load_catalog(config.region, config.price_overrides, config.spot_discount_overrides)
    measured = dict(measured_gpu_memory_gib or {})
    if registry is not None:
        for spec, _ in resolved:
            figure = registry.measured_gpu_memory_gib(spec.name, spec.artifact.version)
            if figure is not None:
                measured.setdefault(spec.name, figure)
        resolved = [(_with_registry_facts(spec, registry), source) for spec, source in resolved]
    placement = place(
        [PlacementRequest(spec, source, measured.get(spec.name)) for spec, source in resolved], config, catalog
    )

    deployments = tuple(
        ModelDeployment(
            spec=spec,
            source=source,
            namespace=spec.effective_namespace,
            storage_uri=spec.artifact.storage_uri or default_storage_uri(config, spec),
            deployment_mode=spec.serving.deployment_mode or config.serving.deployment_mode,
            node_pools=placement.pools_by_model[spec.name],
            replicas_per_gpu=placement.replicas_per_gpu[spec.name],
            sized_gpu_memory_gib=placement.sizes[spec.name].gpu_memory_gib,
            measured_gpu_memory_gib=measured.get(spec.name),
            registry_stages=(
                tuple((version, registry.stage_of(spec.name, version)) for version in served_versions(spec))
                if registry is not None
                else ()
            ),
        )
        for spec, source in resolved
    )
    by_team: dict[str, list[ModelDeployment]] = defaultdict(list)
    for deployment in deployments:
        by_team[deployment.team].append(deployment)
    teams = tuple(
        TeamPlan(
            name=team,
            namespace=members[0].namespace,
            cost_center=members[0].spec.effective_cost_center,
            models=tuple(member.name for member in members),
            model_prefix=model_store_prefix(team),
        )
        for team, members in sorted(by_team.items())
    )
    return Blueprint(
        environment=environment,
        config=config,
        models=deployments,
        teams=teams,
        node_pools=placement.node_pools,
        disabled_models=tuple(disabled),
    )
