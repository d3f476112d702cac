"""Security of the shared Gateway: who may call which model, how often, with how large a request, over what TLS.

Everything here attaches to the Gateway API Gateway `<gateway_namespace>/<gateway_name>` that Istio 1.30.3
implements, through `targetRefs` (group gateway.networking.k8s.io, kind Gateway). Istio attaches a
RequestAuthentication, AuthorizationPolicy or EnvoyFilter to a Gateway API gateway only through targetRefs, and
only from the gateway's own namespace (istio/istio 1.30.3 pilot/pkg/model/policyattachment.go,
`ShouldAttachPolicy`: a gateway policy without targetRefs is ignored unless a feature flag is on, and "Policy is
not in the same namespace" never matches), so every object below lives in the gateway namespace.

| control | object (gateway namespace) | rendered by |
|---|---|---|
| JWT validation | RequestAuthentication `<gateway>-jwt` (issuer, JWKS, every accepted audience) | platform |
| deny by default | AuthorizationPolicy `<gateway>-allow-nothing` (ALLOW, no rules: matches nothing) | platform |
| per-model access | AuthorizationPolicy `<model>-<namespace>-access` (ALLOW the model's host, with a request principal, audiences and claims for jwt) | model |
| rate and size limits | EnvoyFilter `<gateway>-limits` (local_ratelimit and buffer filters) + `<model>-<namespace>-limits` (per-host token bucket and body limit) | platform + model |
| TLS | cert-manager ClusterIssuer(s) + Certificate -> Secret `gateway_tls_secret` of the HTTPS listener; HTTPRoute `<gateway>-https-redirect` on the HTTP listener | platform |

Sources: an ALLOW policy with no rules matches nothing (istio/istio 1.30.3 pilot/pkg/security/authz/builder/builder.go:
"Generate an explicit policy that never matches"), so a request no other ALLOW policy admits is denied; Istio's
AuthorizationPolicy reference (istio.io docs/reference/config/security/authorization-policy: `request.auth.audiences`
and `request.auth.claims[...]` conditions, requestPrincipals `<iss>/<sub>`); Istio rate-limit task (istio.io
docs/tasks/policy-enforcement/rate-limit: local rate limit through an EnvoyFilter inserting
envoy.filters.http.local_ratelimit, enabled per route through typed_per_filter_config; Istio 1.30.3 has no
rate-limit API of its own, ../shared/reference/crds/istio-1.30.3); Envoy's buffer filter (max_request_bytes,
413 above it; BufferPerRoute); Istio names a gateway's virtual hosts `<hostname>:<listener port>`
(istio/istio 1.30.3 pilot/pkg/networking/core/gateway.go, util.DomainName).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from inferstack.blueprint import Blueprint, ModelDeployment
from inferstack.constants import (
    CERT_MANAGER_API_VERSION,
    CERT_MANAGER_NAMESPACE,
    ENVOY_LOCAL_RATE_LIMIT_FILTER,
    GATEWAY_API_GROUP,
    GATEWAY_CA_SECRET,
    ISTIO_ENVOY_FILTER_API_VERSION,
    ISTIO_SECURITY_API_VERSION,
)
from inferstack.problems import Problem
from inferstack.render.labels import model_labels, platform_labels
from inferstack.spec.environment import EnvironmentConfig, ServingConfig
from inferstack.spec.model import ModelSpec

HTTPS_PORT = 443
HTTP_LISTENER = "http"
BUFFER_FILTER = "envoy.filters.http.buffer"
LOCAL_RATE_LIMIT_TYPE = "type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit"
BUFFER_TYPE = "type.googleapis.com/envoy.extensions.filters.http.buffer.v3.Buffer"
BUFFER_PER_ROUTE_TYPE = "type.googleapis.com/envoy.extensions.filters.http.buffer.v3.BufferPerRoute"
RATE_LIMIT_STAT_PREFIX = "inference_local_rate_limit"
SELF_SIGNED_ISSUER = "inferstack-selfsigned"
CA_ISSUER = "inferstack-gateway-ca"
ACME_ISSUER = "inferstack-acme"


@dataclass(frozen=True, slots=True)
class ResolvedEndpoint:
    """A model's endpoint in one environment, spec and stack defaults merged."""

    host: str
    exposed: bool
    auth: str
    """jwt or none."""
    audiences: tuple[str, ...]
    required_claims: tuple[tuple[str, tuple[str, ...]], ...]
    requests_per_second: int | None
    burst: int | None
    max_request_bytes: int


def model_host(name: str, namespace: str, serving: ServingConfig) -> str:
    """The model's hostname as KServe's default domain template spells it: <name>-<namespace>.<domain>."""
    return f"{name}-{namespace}.{serving.domain}"


def splits_on_gateway(spec: ModelSpec, config: EnvironmentConfig) -> bool:
    """Whether the model's rollout splits its traffic with a route on the shared gateway (inferstack.render.rollout)."""
    return (
        spec.rollout.strategy != "direct"
        and (spec.serving.deployment_mode or config.serving.deployment_mode) == "standard"
        and config.serving.routing != "none"
    )


def exposure_of(spec: ModelSpec, config: EnvironmentConfig) -> str:
    """gateway or cluster-local: the spec's endpoint.exposure, else gateway only where a rollout route exposes it."""
    if spec.endpoint.exposure is not None:
        return spec.endpoint.exposure
    return "gateway" if splits_on_gateway(spec, config) else "cluster-local"


def resolve_endpoint(spec: ModelSpec, namespace: str, config: EnvironmentConfig) -> ResolvedEndpoint:
    """The endpoint of a (resolved) spec under a stack: exposure, auth, audiences, rate and size limits."""
    serving = config.serving
    defaults = serving.endpoints
    endpoint = spec.endpoint
    auth = endpoint.auth.mode or defaults.resolved_auth(config.environment)
    audiences: tuple[str, ...] = ()
    if auth == "jwt":
        audiences = tuple(endpoint.auth.audiences) or (tuple(serving.jwt.audiences) if serving.jwt else ())
    if endpoint.rate_limit is not None:
        rps: int | None = endpoint.rate_limit.requests_per_second
        burst = endpoint.rate_limit.burst or rps
    else:
        rps = defaults.requests_per_second
        burst = (defaults.burst or rps) if rps is not None else None
    if burst is not None and rps is not None:
        burst = max(burst, rps)
    kib = endpoint.max_request_kib or defaults.max_request_kib
    return ResolvedEndpoint(
        host=model_host(spec.name, namespace, serving),
        exposed=exposure_of(spec, config) == "gateway",
        auth=auth,
        audiences=audiences,
        required_claims=tuple(sorted((claim, tuple(values)) for claim, values in endpoint.auth.required_claims.items())),
        requests_per_second=rps,
        burst=burst,
        max_request_bytes=kib * 1024,
    )


def endpoint_of(deployment: ModelDeployment, blueprint: Blueprint) -> ResolvedEndpoint:
    """The model's resolved endpoint in the blueprint's stack."""
    return resolve_endpoint(deployment.spec, deployment.namespace, blueprint.config)


def endpoint_problems(resolved: Sequence[tuple[ModelSpec, str]], config: EnvironmentConfig) -> list[Problem]:
    """Endpoints the stack cannot serve as declared: jwt without an issuer, a gateway route for a cluster-local model."""
    problems: list[Problem] = []
    for spec, source in resolved:
        endpoint = resolve_endpoint(spec, spec.effective_namespace, config)
        if endpoint.exposed and endpoint.auth == "jwt" and config.serving.jwt is None:
            problems.append(
                Problem(
                    source,
                    "endpoint.auth.mode",
                    f"the endpoint is exposed with jwt authentication (the {config.environment} default unless "
                    "endpoint.auth.mode says otherwise) but the stack names no issuer; expected inferstack:serving.jwt "
                    "(issuer, jwks_uri, audiences), or endpoint.exposure: cluster-local",
                )
            )
        if endpoint.auth == "none" and (spec.endpoint.auth.audiences or spec.endpoint.auth.required_claims):
            problems.append(
                Problem(
                    source,
                    "endpoint.auth",
                    f"audiences or required_claims are set but authentication is none in {config.environment}, so "
                    "nothing would check them; expected endpoint.auth.mode: jwt",
                )
            )
        if not endpoint.exposed and splits_on_gateway(spec, config):
            problems.append(
                Problem(
                    source,
                    "endpoint.exposure",
                    f"rollout strategy {spec.rollout.strategy} splits traffic with a route on the shared gateway "
                    f"(serving.routing {config.serving.routing}), which exposes the model, but endpoint.exposure is "
                    "cluster-local; expected endpoint.exposure: gateway (with authentication), or strategy direct",
                )
            )
    return problems


def gateway_target(serving: ServingConfig) -> list[dict[str, str]]:
    """targetRefs naming the shared Gateway (policies live in its namespace, so no namespace is given)."""
    return [{"group": GATEWAY_API_GROUP, "kind": "Gateway", "name": serving.gateway_name}]


def _metadata(name: str, serving: ServingConfig, labels: dict[str, str]) -> dict[str, Any]:
    return {"name": name, "namespace": serving.gateway_namespace, "labels": labels}


def _object_name(deployment: ModelDeployment, suffix: str) -> str:
    return f"{deployment.name}-{deployment.namespace}-{suffix}"


def render_model_access(deployment: ModelDeployment, blueprint: Blueprint) -> dict[str, Any] | None:
    """The AuthorizationPolicy admitting requests for the model's host (with a valid token for jwt); None when not exposed.

    Only the model's host: KServe's second route, for `<isvc>-predictor-<namespace>.<domain>` (kserve v0.20.0
    httproute_reconciler.go createRawPredictorHTTPRoute), stays refused by the allow-nothing default.
    """
    endpoint = endpoint_of(deployment, blueprint)
    serving = blueprint.config.serving
    if not endpoint.exposed:
        return None
    rule: dict[str, Any] = {"to": [{"operation": {"hosts": [endpoint.host, f"{endpoint.host}:*"]}}]}
    if endpoint.auth == "jwt":
        assert serving.jwt is not None, "endpoint_problems refuses jwt without serving.jwt"
        rule["from"] = [{"source": {"requestPrincipals": [f"{serving.jwt.issuer}/*"]}}]
        conditions = [{"key": "request.auth.audiences", "values": list(endpoint.audiences)}]
        conditions += [{"key": f"request.auth.claims[{claim}]", "values": list(values)} for claim, values in endpoint.required_claims]
        rule["when"] = conditions
    return {
        "apiVersion": ISTIO_SECURITY_API_VERSION,
        "kind": "AuthorizationPolicy",
        "metadata": _metadata(_object_name(deployment, "access"), serving, model_labels(deployment, blueprint.environment)),
        "spec": {"targetRefs": gateway_target(serving), "action": "ALLOW", "rules": [rule]},
    }


def render_model_limits(deployment: ModelDeployment, blueprint: Blueprint) -> dict[str, Any] | None:
    """The EnvoyFilter giving the model's virtual host its token bucket and body limit; None when not exposed."""
    endpoint = endpoint_of(deployment, blueprint)
    serving = blueprint.config.serving
    if not endpoint.exposed:
        return None
    per_filter: dict[str, Any] = {
        BUFFER_FILTER: {"@type": BUFFER_PER_ROUTE_TYPE, "buffer": {"max_request_bytes": endpoint.max_request_bytes}}
    }
    if endpoint.requests_per_second is not None:
        enabled = {"numerator": 100, "denominator": "HUNDRED"}
        per_filter[ENVOY_LOCAL_RATE_LIMIT_FILTER] = {
            "@type": LOCAL_RATE_LIMIT_TYPE,
            "stat_prefix": RATE_LIMIT_STAT_PREFIX,
            "token_bucket": {
                "max_tokens": endpoint.burst or endpoint.requests_per_second,
                "tokens_per_fill": endpoint.requests_per_second,
                "fill_interval": "1s",
            },
            "filter_enabled": {"runtime_key": "local_rate_limit_enabled", "default_value": enabled},
            "filter_enforced": {"runtime_key": "local_rate_limit_enforced", "default_value": enabled},
        }
    return {
        "apiVersion": ISTIO_ENVOY_FILTER_API_VERSION,
        "kind": "EnvoyFilter",
        "metadata": _metadata(_object_name(deployment, "limits"), serving, model_labels(deployment, blueprint.environment)),
        "spec": {
            "targetRefs": gateway_target(serving),
            "configPatches": [
                {
                    "applyTo": "HTTP_ROUTE",
                    "match": {
                        "context": "GATEWAY",
                        "routeConfiguration": {"vhost": {"name": f"{endpoint.host}:{HTTPS_PORT}", "route": {"action": "ANY"}}},
                    },
                    "patch": {"operation": "MERGE", "value": {"typed_per_filter_config": per_filter}},
                }
            ],
        },
    }


def render_model_gateway_objects(deployment: ModelDeployment, blueprint: Blueprint) -> list[dict[str, Any]]:
    """The model's objects on the gateway (access policy, limits); empty for a cluster-local model."""
    return [item for item in (render_model_access(deployment, blueprint), render_model_limits(deployment, blueprint)) if item]


def accepted_audiences(blueprint: Blueprint) -> list[str]:
    """Every audience some exposed jwt model accepts (the RequestAuthentication must accept them all)."""
    found: dict[str, None] = {}
    if blueprint.config.serving.jwt is not None:
        found.update(dict.fromkeys(blueprint.config.serving.jwt.audiences))
    for deployment in blueprint.models:
        endpoint = endpoint_of(deployment, blueprint)
        if endpoint.exposed and endpoint.auth == "jwt":
            found.update(dict.fromkeys(endpoint.audiences))
    return list(found)


def render_gateway_policies(blueprint: Blueprint) -> list[dict[str, Any]]:
    """Platform objects on the Gateway: JWT validation (when an issuer is set), deny-by-default, the limit filters."""
    serving = blueprint.config.serving
    labels = platform_labels(blueprint.environment, blueprint.config.cost_center)
    objects: list[dict[str, Any]] = []
    if serving.jwt is not None:
        objects.append(
            {
                "apiVersion": ISTIO_SECURITY_API_VERSION,
                "kind": "RequestAuthentication",
                "metadata": _metadata(f"{serving.gateway_name}-jwt", serving, labels),
                "spec": {
                    "targetRefs": gateway_target(serving),
                    # forwardOriginalToken false (the default): the gateway strips the token before the model sees it.
                    "jwtRules": [{"issuer": serving.jwt.issuer, "jwksUri": serving.jwt.jwks_uri, "audiences": accepted_audiences(blueprint)}],
                },
            }
        )
    objects.append(
        {
            "apiVersion": ISTIO_SECURITY_API_VERSION,
            "kind": "AuthorizationPolicy",
            "metadata": _metadata(f"{serving.gateway_name}-allow-nothing", serving, labels),
            # An ALLOW policy without rules matches nothing: a host no model's access policy admits is refused (403).
            "spec": {"targetRefs": gateway_target(serving), "action": "ALLOW"},
        }
    )
    http_filter_match = {
        "context": "GATEWAY",
        "listener": {
            "filterChain": {
                "filter": {"name": "envoy.filters.network.http_connection_manager", "subFilter": {"name": "envoy.filters.http.router"}}
            }
        },
    }
    objects.append(
        {
            "apiVersion": ISTIO_ENVOY_FILTER_API_VERSION,
            "kind": "EnvoyFilter",
            "metadata": _metadata(f"{serving.gateway_name}-limits", serving, labels),
            "spec": {
                "targetRefs": gateway_target(serving),
                "configPatches": [
                    {
                        # No token bucket here: the filter only acts on hosts whose per-route config sets one.
                        "applyTo": "HTTP_FILTER",
                        "match": http_filter_match,
                        "patch": {
                            "operation": "INSERT_BEFORE",
                            "value": {
                                "name": ENVOY_LOCAL_RATE_LIMIT_FILTER,
                                "typed_config": {"@type": LOCAL_RATE_LIMIT_TYPE, "stat_prefix": RATE_LIMIT_STAT_PREFIX},
                            },
                        },
                    },
                    {
                        # Every host: bodies above the stack's default are refused with 413; models may set their own.
                        "applyTo": "HTTP_FILTER",
                        "match": http_filter_match,
                        "patch": {
                            "operation": "INSERT_BEFORE",
                            "value": {
                                "name": BUFFER_FILTER,
                                "typed_config": {"@type": BUFFER_TYPE, "max_request_bytes": serving.endpoints.max_request_kib * 1024},
                            },
                        },
                    },
                ],
            },
        }
    )
    return objects


def render_https_redirect(blueprint: Blueprint) -> dict[str, Any]:
    """The HTTPRoute on the Gateway's HTTP listener that answers every plain-HTTP request with a 301 to https://."""
    serving = blueprint.config.serving
    return {
        "apiVersion": f"{GATEWAY_API_GROUP}/v1",
        "kind": "HTTPRoute",
        "metadata": _metadata(
            f"{serving.gateway_name}-https-redirect", serving, platform_labels(blueprint.environment, blueprint.config.cost_center)
        ),
        "spec": {
            "parentRefs": [
                {
                    "group": GATEWAY_API_GROUP,
                    "kind": "Gateway",
                    "name": serving.gateway_name,
                    "namespace": serving.gateway_namespace,
                    "sectionName": HTTP_LISTENER,
                }
            ],
            "hostnames": [f"*.{serving.domain}"],
            "rules": [{"filters": [{"type": "RequestRedirect", "requestRedirect": {"scheme": "https", "statusCode": 301}}]}],
        },
    }


def _issuer_ref(name: str) -> dict[str, str]:
    return {"group": "cert-manager.io", "kind": "ClusterIssuer", "name": name}


def render_tls_objects(blueprint: Blueprint) -> list[dict[str, Any]]:
    """cert-manager objects issuing the gateway's certificate for *.<domain> into serving.gateway_tls_secret.

    private-ca: a self-signed ClusterIssuer signs a CA Certificate (in cert-manager's namespace), a CA ClusterIssuer
    signs the gateway's Certificate with it; clients trust the CA's certificate (Secret inferstack-gateway-ca, ca.crt).
    acme: an ACME ClusterIssuer answering DNS-01 in the Route 53 zone (cert-manager's ServiceAccount assumes
    tls.route53_role_arn). none: nothing (the Secret comes from elsewhere). cert-manager.io/v1 field names from
    cert-manager's API reference (cert-manager/cert-manager v1.21 pkg/apis/certmanager/v1); its CRDs are not in
    ../shared/reference, so deploy-readiness lists these objects as deploy-crd-unverified.
    """
    config = blueprint.config
    serving = config.serving
    tls = serving.tls
    labels = platform_labels(blueprint.environment, config.cost_center)
    if tls.issuer == "none":
        return []
    objects: list[dict[str, Any]] = []
    if tls.issuer == "private-ca":
        issuer = CA_ISSUER
        objects += [
            {
                "apiVersion": CERT_MANAGER_API_VERSION,
                "kind": "ClusterIssuer",
                "metadata": {"name": SELF_SIGNED_ISSUER, "labels": labels},
                "spec": {"selfSigned": {}},
            },
            {
                "apiVersion": CERT_MANAGER_API_VERSION,
                "kind": "Certificate",
                "metadata": {"name": GATEWAY_CA_SECRET, "namespace": CERT_MANAGER_NAMESPACE, "labels": labels},
                "spec": {
                    "isCA": True,
                    "commonName": f"inferstack {config.stack_name} gateway CA",
                    "secretName": GATEWAY_CA_SECRET,
                    "duration": "87600h",
                    "privateKey": {"algorithm": "ECDSA", "size": 256},
                    "issuerRef": _issuer_ref(SELF_SIGNED_ISSUER),
                },
            },
            {
                "apiVersion": CERT_MANAGER_API_VERSION,
                "kind": "ClusterIssuer",
                "metadata": {"name": CA_ISSUER, "labels": labels},
                "spec": {"ca": {"secretName": GATEWAY_CA_SECRET}},
            },
        ]
    else:
        issuer = ACME_ISSUER
        objects.append(
            {
                "apiVersion": CERT_MANAGER_API_VERSION,
                "kind": "ClusterIssuer",
                "metadata": {"name": ACME_ISSUER, "labels": labels},
                "spec": {
                    "acme": {
                        "server": tls.acme_server,
                        "email": tls.acme_email,
                        "privateKeySecretRef": {"name": f"{ACME_ISSUER}-account"},
                        "solvers": [{"dns01": {"route53": {"region": config.region, "hostedZoneID": tls.route53_hosted_zone_id}}}],
                    }
                },
            }
        )
    objects.append(
        {
            "apiVersion": CERT_MANAGER_API_VERSION,
            "kind": "Certificate",
            "metadata": {"name": serving.gateway_tls_secret, "namespace": serving.gateway_namespace, "labels": labels},
            "spec": {
                "secretName": serving.gateway_tls_secret,
                "dnsNames": [f"*.{serving.domain}"],
                "duration": "2160h",
                "renewBefore": "360h",
                "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
                "issuerRef": _issuer_ref(issuer),
            },
        }
    )
    return objects


def tls_resource_name(manifest: dict[str, Any]) -> str:
    """Pulumi name suffix of a TLS object: `<kind>-<name>`, lowercase (ClusterIssuers have no namespace)."""
    return f"{manifest['kind'].lower()}-{manifest['metadata']['name']}"


def cert_manager_values(config: EnvironmentConfig) -> dict[str, Any]:
    """Values of the cert-manager chart (v1.21.1 values.yaml: crds.enabled, serviceAccount.annotations)."""
    values: dict[str, Any] = {"crds": {"enabled": True}}
    tls = config.serving.tls
    if tls.issuer == "acme" and tls.route53_role_arn:
        values["serviceAccount"] = {"annotations": {"eks.amazonaws.com/role-arn": tls.route53_role_arn}}
    return values
