"""TeamModelServices: a team's served models, as the Kubernetes objects of each of them.

One component per team (not per model): a component costs the engine a
registration and a register_outputs of its own, which for a thousand models
was a fifth of the offline plan. Resource names stay per model
(`<prefix>-<model>-isvc`, `-isvc-<suffix>`, `-route` / `-graph`, `-pdb`), so
the plan diff of one model's change reads as before.

Per model: its InferenceService (a standard-mode one carries its own KEDA
autoscaling, `spec.predictor.autoScaling`; KServe creates and owns the
ScaledObject) and a PDB when it needs one. With a rollout strategy other than
`direct`, the objects come from the rollout layer (inferstack.render.rollout):
one InferenceService per variant, the route (HTTPRoute / VirtualService) or
InferenceGraph that splits the traffic, and a PDB per variant where the model
needs one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from components.team_namespace import custom_resource
from inferstack.blueprint import Blueprint, TeamPlan
from inferstack.constants import LEGACY_TYPE_MODEL_SERVICE, TYPE_PLATFORM, TYPE_TEAM_MODEL_SERVICES
from inferstack.render.model_objects import TRAFFIC_RESOURCE_SUFFIX, render_model_objects, variant_resource_name

__all__ = ["TRAFFIC_RESOURCE_SUFFIX", "TeamModelServices", "TeamModelServicesArgs", "legacy_urn", "variant_resource_name"]

PDB_TYPE = "kubernetes:policy/v1:PodDisruptionBudget"


@dataclass(frozen=True, slots=True)
class TeamModelServicesArgs:
    """A team's models, how their resources are named, and what must exist first (namespace, KServe and KEDA)."""

    team: TeamPlan
    blueprint: Blueprint
    provider: k8s.Provider
    resource_prefix: str
    """Pulumi names of a model's objects start `<resource_prefix>-<model>`."""
    depends_on: tuple[pulumi.Resource, ...] = field(default=())
    """What the InferenceServices wait for: the namespace and the KServe controller (which waits for its CRDs and KEDA)."""


def legacy_urn(resource_type: str, resource_name: str) -> str:
    """The URN a model's object had under the per-model ModelService component (before TeamModelServices).

    That component (type `inferstack:serving:ModelService`, named `<prefix>-<model>`, a child of
    the Platform) was the parent of the same-named objects; only the parent's type changed, so
    the alias differs from today's URN in the parent type chain alone (a URN holds the chain of
    parent types, not the parents' names).
    """
    chain = f"{TYPE_PLATFORM}${LEGACY_TYPE_MODEL_SERVICE}${resource_type}"
    return f"urn:pulumi:{pulumi.get_stack()}::{pulumi.get_project()}::{chain}::{resource_name}"


class TeamModelServices(pulumi.ComponentResource):
    """Serves a team's models: per model an InferenceService (scaling itself through KEDA in standard mode)
    and a PDB from two replicas; per rollout variant another pair, plus one route or InferenceGraph.

    A direct-strategy model is kept to at most two resources because the platform
    renders every model and the offline plan must stay fast for a thousand models.
    """

    models: tuple[str, ...]

    def __init__(self, name: str, args: TeamModelServicesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TEAM_MODEL_SERVICES, name, None, opts)
        self.models = args.team.models
        blueprint = args.blueprint
        child = pulumi.ResourceOptions(parent=self, provider=args.provider, depends_on=list(args.depends_on))
        for model_name in args.team.models:
            deployment = blueprint.model(model_name)
            base = f"{args.resource_prefix}-{model_name}"
            services: list[pulumi.Resource] = []
            for item in render_model_objects(deployment, blueprint):
                name = f"{base}{item.suffix}"
                manifest = item.manifest
                is_pdb = manifest["kind"] == "PodDisruptionBudget"
                resource_type = PDB_TYPE if is_pdb else f"kubernetes:{manifest['apiVersion']}:{manifest['kind']}"
                # The first releases parented these objects to a per-model ModelService: keep their state.
                extra = pulumi.ResourceOptions(aliases=[legacy_urn(resource_type, name)])
                if item.after_services:
                    # The route / graph names the variants' Services: create it after them, delete it before them.
                    extra.depends_on = services
                options = pulumi.ResourceOptions.merge(child, extra)
                if is_pdb:
                    k8s.policy.v1.PodDisruptionBudget(name, metadata=manifest["metadata"], spec=manifest["spec"], opts=options)
                    continue
                resource = custom_resource(name, manifest, options)
                if manifest["kind"] == "InferenceService":
                    services.append(resource)
        self.register_outputs({})
