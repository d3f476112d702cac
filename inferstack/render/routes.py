"""Weighted, header-matched and mirrored HTTP routes, as Gateway API HTTPRoutes or Istio VirtualServices.

A `TrafficRoutes` says what should happen to a model's traffic (ordered rules,
an optional mirror); `render_routes` writes it for the environment's routing
layer. Targets are Kubernetes Services (KServe's `<isvc>-predictor`, port 80,
in standard mode).

Versions targeted:
- Gateway API v1.3+ standard channel (`gateway.networking.k8s.io/v1`): the
  `RequestMirror` filter's `percent` field (GEP-3171) is standard there; on
  v1.2 it is experimental-channel only, and before v1.2 mirroring is all or nothing.
- Istio 1.22+ (`networking.istio.io/v1`): `mirror` + `mirrorPercentage`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from inferstack.spec.environment import ServingConfig

GATEWAY_API_VERSION = "gateway.networking.k8s.io/v1"
GATEWAY_API_GROUP = "gateway.networking.k8s.io"
ISTIO_NETWORKING_API_VERSION = "networking.istio.io/v1"


@dataclass(frozen=True, slots=True)
class Backend:
    """One target Service of a rule, with its share of the rule's traffic (0..100)."""

    service: str
    port: int
    weight: int


@dataclass(frozen=True, slots=True)
class HeaderMatch:
    """A request header that must equal a value for a rule to apply."""

    name: str
    value: str


@dataclass(frozen=True, slots=True)
class RouteRule:
    """Requests matching `header` (or every request, when None) go to the backends by weight."""

    backends: tuple[Backend, ...]
    header: HeaderMatch | None = None


@dataclass(frozen=True, slots=True)
class Mirror:
    """A copy of `percent` of the requests of every rule goes to `service`; its responses are dropped."""

    service: str
    port: int
    percent: int


@dataclass(frozen=True, slots=True)
class TrafficRoutes:
    """A model's routing: ordered rules (header matches first, the catch-all last) and an optional mirror."""

    name: str
    namespace: str
    hostname: str
    rules: tuple[RouteRule, ...]
    labels: tuple[tuple[str, str], ...] = ()
    mirror: Mirror | None = None


def service_host(service: str, namespace: str) -> str:
    """Cluster-local DNS name of a Service."""
    return f"{service}.{namespace}.svc.cluster.local"


def render_http_route(routes: TrafficRoutes, serving: ServingConfig) -> dict[str, Any]:
    """The routes as a Gateway API HTTPRoute attached to the environment's Gateway."""
    rules: list[dict[str, Any]] = []
    for rule in routes.rules:
        match: dict[str, Any] = {"path": {"type": "PathPrefix", "value": "/"}}
        if rule.header is not None:
            match["headers"] = [{"type": "Exact", "name": rule.header.name, "value": rule.header.value}]
        entry: dict[str, Any] = {
            "matches": [match],
            "backendRefs": [
                {"kind": "Service", "name": backend.service, "port": backend.port, "weight": backend.weight}
                for backend in rule.backends
            ],
        }
        if routes.mirror is not None:
            entry["filters"] = [
                {
                    "type": "RequestMirror",
                    "requestMirror": {
                        "backendRef": {"kind": "Service", "name": routes.mirror.service, "port": routes.mirror.port},
                        "percent": routes.mirror.percent,
                    },
                }
            ]
        rules.append(entry)
    return {
        "apiVersion": GATEWAY_API_VERSION,
        "kind": "HTTPRoute",
        "metadata": {"name": routes.name, "namespace": routes.namespace, "labels": dict(routes.labels)},
        "spec": {
            "parentRefs": [
                {
                    "group": GATEWAY_API_GROUP,
                    "kind": "Gateway",
                    "name": serving.gateway_name,
                    "namespace": serving.gateway_namespace,
                }
            ],
            "hostnames": [routes.hostname],
            "rules": rules,
        },
    }


def render_virtual_service(routes: TrafficRoutes, serving: ServingConfig) -> dict[str, Any]:
    """The routes as an Istio VirtualService bound to the environment's Istio gateway."""
    http: list[dict[str, Any]] = []
    for rule in routes.rules:
        entry: dict[str, Any] = {}
        if rule.header is not None:
            entry["match"] = [{"headers": {rule.header.name: {"exact": rule.header.value}}}]
        entry["route"] = [
            {
                "destination": {"host": service_host(backend.service, routes.namespace), "port": {"number": backend.port}},
                "weight": backend.weight,
            }
            for backend in rule.backends
        ]
        if routes.mirror is not None:
            entry["mirror"] = {
                "host": service_host(routes.mirror.service, routes.namespace),
                "port": {"number": routes.mirror.port},
            }
            entry["mirrorPercentage"] = {"value": float(routes.mirror.percent)}
        http.append(entry)
    return {
        "apiVersion": ISTIO_NETWORKING_API_VERSION,
        "kind": "VirtualService",
        "metadata": {"name": routes.name, "namespace": routes.namespace, "labels": dict(routes.labels)},
        "spec": {
            "hosts": [routes.hostname],
            "gateways": [f"{serving.gateway_namespace}/{serving.gateway_name}"],
            "http": http,
        },
    }


def render_routes(routes: TrafficRoutes, serving: ServingConfig) -> dict[str, Any]:
    """The routes for the environment's routing layer (istio or gateway-api)."""
    if serving.routing == "istio":
        return render_virtual_service(routes, serving)
    if serving.routing == "gateway-api":
        return render_http_route(routes, serving)
    raise ValueError("serving.routing is none; there is no routing layer to render routes for")
