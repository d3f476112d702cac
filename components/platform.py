"""Platform: the whole environment, composed from the other components in dependency order."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.addons import ClusterAddons, ClusterAddonsArgs
from components.cluster import Cluster, ClusterArgs
from components.drift import DriftDetector, DriftDetectorArgs
from components.identity import ServingIdentity, ServingIdentityArgs
from components.karpenter import KarpenterCapacity, KarpenterCapacityArgs
from components.model_service import TeamModelServices, TeamModelServicesArgs
from components.model_store import ModelStore, ModelStoreArgs
from components.monitoring import Monitoring, MonitoringArgs
from components.node_pool import GpuNodePool, GpuNodePoolArgs
from components.team_namespace import TeamNamespace, TeamNamespaceArgs
from inferstack.blueprint import Blueprint
from inferstack.constants import TYPE_PLATFORM
from inferstack.render.drift import needs_detector


@dataclass(frozen=True, slots=True)
class PlatformArgs:
    """The compiled Blueprint of one environment."""

    blueprint: Blueprint


class Platform(pulumi.ComponentResource):
    """Cluster, node pools, add-ons, model store, monitoring, and per team its identity, namespace policies and models."""

    cluster: Cluster
    model_store: ModelStore
    node_pools: list[GpuNodePool]
    """Managed node groups (cluster-autoscaler mode); empty in Karpenter mode."""
    karpenter: KarpenterCapacity | None
    """The Karpenter controller and NodePools (karpenter mode)."""
    addons: ClusterAddons
    monitoring: Monitoring
    identities: dict[str, ServingIdentity]
    model_services: dict[str, TeamModelServices]
    """Model name -> the component of its team that serves it."""
    drift_detectors: dict[str, DriftDetector]
    """Model name -> its drift detector (models that watch drift)."""

    def __init__(self, name: str, args: PlatformArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_PLATFORM, name, None, opts)
        blueprint = args.blueprint
        config = blueprint.config
        child = pulumi.ResourceOptions(parent=self)
        self.cluster = Cluster(
            f"{name}-cluster",
            ClusterArgs(config.cluster, config.network, blueprint.environment, config.cost_center, config.region),
            opts=child,
        )
        cluster = self.cluster
        self.karpenter = None
        if config.cluster.node_autoscaler == "karpenter":
            self.karpenter = KarpenterCapacity(
                f"{name}-karpenter",
                KarpenterCapacityArgs(
                    blueprint=blueprint,
                    cluster_name=cluster.name,
                    node_role_arn=cluster.node_role_arn,
                    node_role_name=cluster.node_role.name,
                    oidc_provider_arn=cluster.oidc_provider_arn,
                    oidc_issuer_url=cluster.oidc_issuer_url,
                    account_id=cluster.account_id,
                    provider=cluster.provider,
                    nodes_ready=cluster.system_nodes,
                ),
                opts=child,
            )
        self.node_pools = [] if self.karpenter is not None else [
            GpuNodePool(
                f"{name}-pool-{pool.name}",
                GpuNodePoolArgs(
                    pool=pool,
                    cluster_name=cluster.name,
                    node_role_arn=cluster.node_role_arn,
                    subnet_ids=cluster.subnet_ids,
                    cluster_autoscaler_name=config.cluster.name,
                    environment=blueprint.environment,
                    cost_center=config.cost_center,
                ),
                opts=child,
            )
            for pool in blueprint.node_pools
        ]
        self.model_store = ModelStore(
            f"{name}-model-store", ModelStoreArgs(
                config.model_store, blueprint.environment, config.cost_center, account_id=cluster.account_id, region=config.region
            ), opts=child
        )
        self.addons = ClusterAddons(
            f"{name}-addons",
            ClusterAddonsArgs(
                blueprint=blueprint,
                cluster_name=cluster.name,
                oidc_provider_arn=cluster.oidc_provider_arn,
                oidc_issuer_url=cluster.oidc_issuer_url,
                account_id=cluster.account_id,
                provider=cluster.provider,
                nodes_ready=cluster.system_nodes,
            ),
            opts=child,
        )
        self.monitoring = Monitoring(
            f"{name}-monitoring",
            MonitoringArgs(
                blueprint=blueprint,
                cluster_name=cluster.name,
                account_id=cluster.account_id,
                provider=cluster.provider,
                nodes_ready=cluster.system_nodes,
                gateway_ready=self.addons.gateway_ready,
                oidc_provider_arn=cluster.oidc_provider_arn,
                oidc_issuer_url=cluster.oidc_issuer_url,
            ),
            opts=child,
        )
        ingress = (config.serving.gateway_namespace,)
        self.identities = {}
        self.model_services = {}
        self.drift_detectors = {}
        for team in blueprint.teams:
            identity = ServingIdentity(
                f"{name}-team-{team.name}",
                ServingIdentityArgs(
                    team=team,
                    blueprint=blueprint,
                    bucket_arn=self.model_store.bucket_arn,
                    kms_key_arn=self.model_store.kms_key_arn,
                    oidc_provider_arn=cluster.oidc_provider_arn,
                    oidc_issuer_url=cluster.oidc_issuer_url,
                    provider=cluster.provider,
                ),
                opts=child,
            )
            self.identities[team.name] = identity
            TeamNamespace(
                f"{name}-ns-{team.name}",
                TeamNamespaceArgs(
                    team=team,
                    blueprint=blueprint,
                    namespace=identity.namespace,
                    provider=cluster.provider,
                    ingress_namespaces=ingress,
                    monitoring=self.monitoring.ready,
                ),
                opts=child,
            )
            if not team.models:
                continue
            for model_name in team.models:
                deployment = blueprint.model(model_name)
                if needs_detector(deployment):
                    self.drift_detectors[model_name] = DriftDetector(
                        f"{name}-drift-{model_name}",
                        DriftDetectorArgs(
                            deployment=deployment,
                            blueprint=blueprint,
                            bucket_arn=self.model_store.bucket_arn,
                            kms_key_arn=self.model_store.kms_key_arn,
                            oidc_provider_arn=cluster.oidc_provider_arn,
                            oidc_issuer_url=cluster.oidc_issuer_url,
                            account_id=cluster.account_id,
                            provider=cluster.provider,
                            namespace=identity.namespace,
                        ),
                        opts=child,
                    )
            services = TeamModelServices(
                f"{name}-models-{team.name}",
                TeamModelServicesArgs(
                    team=team,
                    blueprint=blueprint,
                    provider=cluster.provider,
                    resource_prefix=f"{name}-model",
                    depends_on=(identity.namespace, *self.addons.serving_ready),
                ),
                opts=child,
            )
            self.model_services.update(dict.fromkeys(team.models, services))
        self.register_outputs(
            {
                "cluster_name": cluster.name,
                "bucket": self.model_store.bucket_name,
                "models": sorted(self.model_services),
                "alert_topic_arn": self.monitoring.topic_arn,
            }
        )
