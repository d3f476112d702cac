"""The shared serving Gateway and KServe's ingress configuration, which must name the same Gateway.

Gateway API (standard channel v1.3.0) is the routing API; Istio 1.30.3 implements it: istiod serves
the `istio` GatewayClass and deploys an Envoy Deployment plus a LoadBalancer Service for each Gateway
of that class (automated deployment). Our HTTPRoutes (inferstack/render/routes.py) and the HTTPRoutes
KServe creates for models without a rollout both attach to `<gateway_namespace>/<gateway_name>`.
"""

from __future__ import annotations

from typing import Any

from inferstack.constants import GATEWAY_API_GROUP, ISTIO_GATEWAY_CLASS, LABEL_TEAM
from inferstack.render.labels import PLATFORM_TEAM
from inferstack.spec.environment import ServingConfig

GATEWAY_API_VERSION = f"{GATEWAY_API_GROUP}/v1"
INTERNAL_LOAD_BALANCER_ANNOTATIONS = {
    # Istio copies spec.infrastructure.annotations onto the Service it deploys for the Gateway; the AWS cloud
    # provider then makes an internal NLB (in-tree annotations, no AWS Load Balancer Controller needed).
    "service.beta.kubernetes.io/aws-load-balancer-type": "nlb",
    "service.beta.kubernetes.io/aws-load-balancer-internal": "true",
}


def team_routes_only() -> dict[str, Any]:
    """allowedRoutes of each listener: HTTPRoutes from team namespaces (labelled with a team other than the platform's) only."""
    return {
        "namespaces": {
            "from": "Selector",
            "selector": {
                "matchExpressions": [
                    {"key": LABEL_TEAM, "operator": "Exists"},
                    {"key": LABEL_TEAM, "operator": "NotIn", "values": [PLATFORM_TEAM]},
                ]
            },
        },
        "kinds": [{"group": GATEWAY_API_GROUP, "kind": "HTTPRoute"}],
    }


def render_gateway(serving: ServingConfig) -> dict[str, Any]:
    """The Gateway: HTTPS on 443 (TLS terminated with gateway_tls_secret) for team routes, HTTP on 80 for the redirect only."""
    hostname = f"*.{serving.domain}"
    return {
        "apiVersion": GATEWAY_API_VERSION,
        "kind": "Gateway",
        "metadata": {"name": serving.gateway_name, "namespace": serving.gateway_namespace},
        "spec": {
            "gatewayClassName": ISTIO_GATEWAY_CLASS,
            "infrastructure": {"annotations": dict(INTERNAL_LOAD_BALANCER_ANNOTATIONS)},
            "listeners": [
                # Plain HTTP carries only the platform's redirect to https:// (render/gateway_security.py), no team route.
                {"name": "http", "protocol": "HTTP", "port": 80, "hostname": hostname, "allowedRoutes": {"namespaces": {"from": "Same"}}},
                {
                    "name": "https",
                    "protocol": "HTTPS",
                    "port": 443,
                    "hostname": hostname,
                    "tls": {"mode": "Terminate", "certificateRefs": [{"kind": "Secret", "name": serving.gateway_tls_secret}]},
                    "allowedRoutes": team_routes_only(),
                },
            ],
        },
    }


def kserve_ingress_values(serving: ServingConfig) -> dict[str, Any]:
    """The `kserve.controller.gateway` values of chart kserve-resources v0.20.0: KServe's routes attach to our Gateway.

    Keys from kserve/kserve v0.20.0 charts/kserve-resources/values.yaml; they fill the `ingress` entry of the
    inferenceservice-config ConfigMap (files/common/configmap-patch.yaml: enableGatewayApi,
    kserveIngressGateway, ingressClassName, ingressDomain, urlScheme). createGateway stays false: the chart's
    own Gateway is `kserve-ingress-gateway` of class `envoy`, which this platform does not run.
    """
    return {
        "domain": serving.domain,
        "urlScheme": "https",
        "ingressGateway": {
            "enableGatewayApi": True,
            "kserveGateway": f"{serving.gateway_namespace}/{serving.gateway_name}",
            "createGateway": False,
            "className": ISTIO_GATEWAY_CLASS,
        },
    }
