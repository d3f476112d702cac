"""ClusterAddons: the in-cluster software GPU serving needs, as helm.v3.Release resources.

NVIDIA device plugin (with the time-slicing configs), DCGM exporter (GPU nodes
only), Cluster Autoscaler (with its own IRSA role), KEDA when any model scales
through it, the serving gateway (Gateway API CRDs, Istio, the shared Gateway),
and cert-manager + KServe v0.20.0 (CRDs, controller in standard mode pointed at
that Gateway, and the ClusterServingRuntimes).

Order: every release waits for the system node group (an atomic release whose
pods cannot be scheduled times out and rolls back), and the KServe controller
waits for its CRDs, KEDA's, and the Gateway API CRDs (kserve v0.20.0
pkg/controller/v1beta1/inferenceservice/controller.go refuses to start in Gateway
API mode without the HTTPRoute CRD).
Chart versions are pinned here; bump them deliberately.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.irsa_role import irsa_role
from inferstack.blueprint import Blueprint
from inferstack.constants import (
    CERT_MANAGER_NAMESPACE,
    CLUSTER_AUTOSCALER_NAMESPACE,
    CLUSTER_AUTOSCALER_SERVICE_ACCOUNT,
    GATEWAY_API_CRDS_URL,
    ISTIO_CHART_REPO,
    ISTIO_NAMESPACE,
    ISTIO_VERSION,
    TYPE_CLUSTER_ADDONS,
)
from inferstack.render.autoscaling import uses_keda
from inferstack.render.cluster_autoscaler import expander_priorities, scale_down_args
from components.team_namespace import custom_resource
from inferstack.render.gateway import kserve_ingress_values, render_gateway
from inferstack.render.gateway_security import (
    cert_manager_values,
    render_gateway_policies,
    render_https_redirect,
    render_tls_objects,
    tls_resource_name,
)
from inferstack.render.gpu_sharing import dcgm_exporter_values, device_plugin_values
from inferstack.render.iam import cluster_autoscaler_policy
from inferstack.render.labels import platform_labels, platform_tags
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
    # CA's chart must match the cluster's minor: kubernetes/autoscaler cluster-autoscaler/README.md (tag
    # cluster-autoscaler-chart-9.59.0) pairs Kubernetes 1.33 with chart 9.47.0+, 1.34 with 9.51.0+; chart 9.59.0
    # ships CA v1.35.0 (appVersion 1.35.0), for the shipped stacks' EKS 1.35.
    "cluster-autoscaler": Chart("cluster-autoscaler", "9.59.0", "https://kubernetes.github.io/autoscaler"),
    # cert-manager's supported-releases table (cert-manager/website content/docs/releases/README.md) gives 1.19 and
    # 1.20 Kubernetes 1.31/1.32 -> 1.35; 1.17 stops before 1.35. v1.21.1 is the newer chart in ../shared/reference.
    "cert-manager": Chart("cert-manager", "v1.21.1", "https://charts.jetstack.io"),
    # Istio in Gateway API mode (istio/istio 1.30.3 manifests/charts/base and istio-control/istio-discovery,
    # published as `base` and `istiod` in the release chart repository).
    "istio-base": Chart("base", ISTIO_VERSION, ISTIO_CHART_REPO),
    "istiod": Chart("istiod", ISTIO_VERSION, ISTIO_CHART_REPO),
    # KServe v0.20.0 (kserve/kserve v0.20.0 charts/*/README.md: oci://ghcr.io/kserve/charts/<chart>). The
    # controller chart is kserve-resources since 0.19; the ClusterServingRuntimes moved to kserve-runtime-configs.
    "kserve-crd": Chart("oci://ghcr.io/kserve/charts/kserve-crd", "v0.20.0"),
    "kserve": Chart("oci://ghcr.io/kserve/charts/kserve-resources", "v0.20.0"),
    "kserve-runtime-configs": Chart("oci://ghcr.io/kserve/charts/kserve-runtime-configs", "v0.20.0"),
    # KEDA's compatibility matrix (keda.sh/docs/2.20/operate/cluster): v2.20 is tested on Kubernetes 1.33 - 1.35,
    # v2.17 only on 1.30 - 1.32.
    "keda": Chart("keda", "2.20.2", "https://kedacore.github.io/charts"),
}
KSERVE_VERSION = "v0.20.0"
"""The KServe release the platform installs; rendered objects must fit its CRDs (../shared/reference/crds/kserve-v0.20.0)."""


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
    nodes_ready: Sequence[pulumi.Resource] = field(default_factory=tuple)
    """What releases wait for: the system node group (empty for an adopted cluster, whose nodes already run)."""


class ClusterAddons(pulumi.ComponentResource):
    """Device plugin, DCGM exporter, Cluster Autoscaler, the serving Gateway, KServe and (when needed) KEDA.

    `serving_ready` lists what InferenceServices and HTTPRoutes wait for: the KServe controller (which itself
    starts after its CRDs, the Gateway API CRDs and the Gateway, and after KEDA where models scale through it:
    KServe creates their ScaledObjects, whose CRD comes with KEDA) and the ClusterServingRuntimes.
    """

    serving_ready: list[pulumi.Resource]
    gateway_ready: list[pulumi.Resource]
    """What objects in the Gateway's namespace wait for (its Namespace and the Gateway; empty for an existing Gateway)."""

    def __init__(self, name: str, args: ClusterAddonsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_CLUSTER_ADDONS, name, None, opts)
        blueprint = args.blueprint
        self._provider = args.provider
        self.serving_ready = []
        self.gateway_ready = []
        self._nodes_ready = list(args.nodes_ready)
        if any(pool.is_gpu for pool in blueprint.node_pools):
            self._release(name, "nvidia-device-plugin", "kube-system", device_plugin_values(blueprint))
            self._release(name, "dcgm-exporter", DCGM_EXPORTER_NAMESPACE, dcgm_exporter_values())
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
                        **scale_down_args(),
                    },
                    "expanderPriorities": expander_priorities(blueprint),
                    "securityContext": {"runAsNonRoot": True, "runAsUser": 65534},
                },
            )
        keda: list[pulumi.Resource] = []
        if any(uses_keda(deployment) for deployment in blueprint.models):
            keda.append(self._release(name, "keda", "keda", {"podSecurityContext": {"operator": {"runAsNonRoot": True}}}))
        if args.install_kserve:
            # cert-manager first: it issues the Gateway's certificate (and KServe's charts expect it).
            cert_manager = self._release(name, "cert-manager", CERT_MANAGER_NAMESPACE, cert_manager_values(blueprint.config))
            gateway_ready = self._gateway(name, blueprint, cert_manager) if blueprint.config.serving.gateway_create else []
            crds = self._release(name, "kserve-crd", "kserve", {}, depends_on=[cert_manager])
            controller = self._release(
                name,
                "kserve",
                "kserve",
                {
                    "kserve": {
                        "controller": {
                            "deploymentMode": "Standard",
                            "gateway": kserve_ingress_values(blueprint.config.serving),
                        }
                    }
                },
                depends_on=[crds, *keda, *gateway_ready],
            )
            # kserve-runtime-configs v0.20.0 renders the ClusterServingRuntimes only with servingruntime.enabled
            # (charts/kserve-runtime-configs/templates/runtimes/resources.yaml; default false in its values.yaml).
            runtimes = self._release(
                name, "kserve-runtime-configs", "kserve", {"kserve": {"servingruntime": {"enabled": True}}}, depends_on=[controller]
            )
            self.serving_ready.extend([controller, runtimes])  # the controller waits for its CRDs, KEDA's and the Gateway's
        else:
            self.serving_ready.extend(keda)
        self.register_outputs({"releases": sorted(CHARTS)})

    def _gateway(self, name: str, blueprint: Blueprint, cert_manager: pulumi.Resource) -> list[pulumi.Resource]:
        """Gateway API CRDs, Istio (base: its CRDs; istiod: the control plane serving the `istio` class) and the Gateway.

        With it, its security (inferstack/render/gateway_security.py): cert-manager's issuer and Certificate for the
        HTTPS listener's Secret, the HTTP-to-HTTPS redirect, JWT validation, deny-by-default and the limit filters.
        Returns what the KServe controller waits for: the Gateway, which itself waits for the CRDs and istiod.
        """
        serving = blueprint.config.serving
        k8s_child = pulumi.ResourceOptions(parent=self, provider=self._provider)
        crds = k8s.yaml.v2.ConfigGroup(f"{name}-gateway-api-crds", files=[GATEWAY_API_CRDS_URL], opts=k8s_child)
        base = self._release(name, "istio-base", ISTIO_NAMESPACE, {}, depends_on=[crds])
        istiod = self._release(name, "istiod", ISTIO_NAMESPACE, {}, depends_on=[base])
        labels = platform_labels(blueprint.environment, blueprint.config.cost_center)
        namespace = k8s.core.v1.Namespace(
            f"{name}-gateway-namespace", metadata={"name": serving.gateway_namespace, "labels": labels}, opts=k8s_child
        )
        after_cert_manager = pulumi.ResourceOptions(parent=self, provider=self._provider, depends_on=[cert_manager, namespace])
        tls = [
            custom_resource(f"{name}-tls-{tls_resource_name(item)}", item, after_cert_manager) for item in render_tls_objects(blueprint)
        ]
        manifest = render_gateway(serving)
        manifest["metadata"]["labels"] = labels
        gateway = k8s.apiextensions.CustomResource(
            f"{name}-gateway",
            api_version=manifest["apiVersion"],
            kind=manifest["kind"],
            metadata=manifest["metadata"],
            spec=manifest["spec"],
            opts=pulumi.ResourceOptions(parent=self, provider=self._provider, depends_on=[crds, istiod, namespace, *tls]),
        )
        self.gateway_ready = [namespace, gateway]
        after_gateway = pulumi.ResourceOptions(parent=self, provider=self._provider, depends_on=[gateway])
        custom_resource(f"{name}-gateway-https-redirect", render_https_redirect(blueprint), after_gateway)
        for item in render_gateway_policies(blueprint):
            custom_resource(f"{name}-gateway-{item['metadata']['name'].removeprefix(serving.gateway_name + '-')}", item, after_gateway)
        return [crds, gateway]

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
            opts=pulumi.ResourceOptions(
                parent=self, provider=self._provider, depends_on=[*self._nodes_ready, *(depends_on or [])]
            ),
        )

    def _autoscaler_role(self, name: str, args: ClusterAddonsArgs) -> aws.iam.Role:
        blueprint = args.blueprint
        tags = platform_tags(blueprint.environment, blueprint.config.cost_center)
        role = irsa_role(
            f"{name}-cluster-autoscaler-role",
            oidc_provider_arn=args.oidc_provider_arn,
            oidc_issuer_url=args.oidc_issuer_url,
            namespace=CLUSTER_AUTOSCALER_NAMESPACE,
            service_account=CLUSTER_AUTOSCALER_SERVICE_ACCOUNT,
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
