"""ClusterAddons: the in-cluster software GPU serving needs, as helm.v3.Release resources.

NVIDIA device plugin (with the time-slicing configs), DCGM exporter, Cluster
Autoscaler (with its own IRSA role), cert-manager + KServe (CRDs and
controller, standard mode by default) and KEDA when any model scales through it.
Chart versions are pinned here; bump them deliberately.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from inferstack.blueprint import Blueprint
from inferstack.constants import CLUSTER_AUTOSCALER_NAMESPACE, CLUSTER_AUTOSCALER_SERVICE_ACCOUNT, GPU_RESOURCE, TYPE_CLUSTER_ADDONS
from inferstack.render.autoscaling import uses_keda
from inferstack.render.cluster_autoscaler import expander_priorities
from inferstack.render.gpu_sharing import device_plugin_values
from inferstack.render.iam import cluster_autoscaler_policy, irsa_trust_policy
from inferstack.render.labels import platform_tags
from inferstack.render.monitoring import DCGM_EXPORTER_NAMESPACE


@dataclass(frozen=True, slots=True)
class Chart:
    """A pinned Helm chart."""

    chart: str
    version: str
    repo: str | None = None
    """None for OCI charts, whose `chart` is the full oci:// reference."""


CHARTS: dict[str, Chart] = {
    "nvidia-device-plugin": Chart("nvidia-device-plugin", "0.17.1", "https://nvidia.github.io/k8s-device-plugin"),
    "dcgm-exporter": Chart("dcgm-exporter", "4.1.1", "https://nvidia.github.io/dcgm-exporter/helm-charts"),
    "cluster-autoscaler": Chart("cluster-autoscaler", "9.46.6", "https://kubernetes.github.io/autoscaler"),
    "cert-manager": Chart("cert-manager", "v1.17.2", "https://charts.jetstack.io"),
    "kserve-crd": Chart("oci://ghcr.io/kserve/charts/kserve-crd", "v0.16.0"),
    "kserve": Chart("oci://ghcr.io/kserve/charts/kserve", "v0.16.0"),
    "keda": Chart("keda", "2.17.2", "https://kedacore.github.io/charts"),
}


@dataclass(frozen=True, slots=True)
class ClusterAddonsArgs:
    """The Blueprint, the cluster's identity facts and its Kubernetes provider."""

    blueprint: Blueprint
    cluster_name: pulumi.Input[str]
    oidc_provider_arn: pulumi.Input[str]
    oidc_issuer_url: pulumi.Input[str]
    account_id: pulumi.Input[str]
    provider: k8s.Provider
    install_kserve: bool = True


class ClusterAddons(pulumi.ComponentResource):
    """Device plugin, DCGM exporter, Cluster Autoscaler, KServe and (when needed) KEDA.

    `serving_ready` lists what InferenceServices wait for: the KServe controller, which itself starts after
    KEDA where models scale through it (KServe creates their ScaledObjects, whose CRD comes with KEDA).
    """

    serving_ready: list[pulumi.Resource]

    def __init__(self, name: str, args: ClusterAddonsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_CLUSTER_ADDONS, name, None, opts)
        blueprint = args.blueprint
        self._provider = args.provider
        self.serving_ready = []
        gpu_tolerations = [{"key": GPU_RESOURCE, "operator": "Exists", "effect": "NoSchedule"}]
        if any(pool.is_gpu for pool in blueprint.node_pools):
            self._release(name, "nvidia-device-plugin", "kube-system", device_plugin_values(blueprint))
            self._release(
                name,
                "dcgm-exporter",
                DCGM_EXPORTER_NAMESPACE,
                {
                    "serviceMonitor": {"enabled": False},  # Monitoring renders its own, with honorLabels
                    "tolerations": gpu_tolerations,
                    "kubeletPath": "/var/lib/kubelet/pod-resources",
                },
            )
        if blueprint.config.cluster.node_autoscaler == "cluster-autoscaler":  # Karpenter mode: components/karpenter.py
            role = self._autoscaler_role(name, args)
            self._release(
                name,
                "cluster-autoscaler",
                CLUSTER_AUTOSCALER_NAMESPACE,
                {
                    "cloudProvider": "aws",
                    "awsRegion": blueprint.config.region,
                    "autoDiscovery": {"clusterName": args.cluster_name},
                    "rbac": {
                        "serviceAccount": {
                            "name": CLUSTER_AUTOSCALER_SERVICE_ACCOUNT,
                            "annotations": {"eks.amazonaws.com/role-arn": role.arn},
                        }
                    },
                    "extraArgs": {
                        "balance-similar-node-groups": True,
                        "skip-nodes-with-system-pods": False,
                        "expander": "priority,least-waste",
                        "scale-down-unneeded-time": "10m",
                    },
                    "expanderPriorities": expander_priorities(blueprint),
                    "securityContext": {"runAsNonRoot": True, "runAsUser": 65534},
                },
            )
        keda: list[pulumi.Resource] = []
        if any(uses_keda(deployment) for deployment in blueprint.models):
            keda.append(self._release(name, "keda", "keda", {"podSecurityContext": {"operator": {"runAsNonRoot": True}}}))
        if args.install_kserve:
            cert_manager = self._release(name, "cert-manager", "cert-manager", {"crds": {"enabled": True}})
            crds = self._release(name, "kserve-crd", "kserve", {}, depends_on=[cert_manager])
            controller = self._release(
                name,
                "kserve",
                "kserve",
                {"kserve": {"controller": {"deploymentMode": "Standard", "gateway": {"ingressGateway": {"enableGatewayApi": blueprint.config.serving.routing == "gateway-api"}}}}},
                depends_on=[crds, *keda],
            )
            self.serving_ready.append(controller)  # the controller release waits for its CRDs and KEDA's
        else:
            self.serving_ready.extend(keda)
        self.register_outputs({"releases": sorted(CHARTS)})

    def _release(
        self, name: str, key: str, namespace: str, values: dict[str, Any], depends_on: list[pulumi.Resource] | None = None
    ) -> k8s.helm.v3.Release:
        chart = CHARTS[key]
        return k8s.helm.v3.Release(
            f"{name}-{key}",
            name=key,
            chart=chart.chart,
            version=chart.version,
            namespace=namespace,
            create_namespace=True,
            repository_opts={"repo": chart.repo} if chart.repo else None,
            values=values,
            atomic=True,
            cleanup_on_fail=True,
            opts=pulumi.ResourceOptions(parent=self, provider=self._provider, depends_on=depends_on or []),
        )

    def _autoscaler_role(self, name: str, args: ClusterAddonsArgs) -> aws.iam.Role:
        blueprint = args.blueprint
        tags = platform_tags(blueprint.environment, blueprint.config.cost_center)
        role = aws.iam.Role(
            f"{name}-cluster-autoscaler-role",
            assume_role_policy=pulumi.Output.all(args.oidc_provider_arn, args.oidc_issuer_url).apply(
                lambda values: json.dumps(
                    irsa_trust_policy(values[0], values[1], CLUSTER_AUTOSCALER_NAMESPACE, CLUSTER_AUTOSCALER_SERVICE_ACCOUNT)
                )
            ),
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.iam.RolePolicy(
            f"{name}-cluster-autoscaler-policy",
            role=role.id,
            policy=pulumi.Output.all(args.cluster_name, args.account_id).apply(
                lambda values: json.dumps(cluster_autoscaler_policy(values[0], blueprint.config.region, values[1]))
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        return role
