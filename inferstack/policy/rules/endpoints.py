"""Endpoint rules: what reaches a model through the shared Gateway, and on what terms (issue 15).

A model is exposed on the gateway when KServe routes to it (an InferenceService without the label
`networking.kserve.io/visibility: cluster-local` gets an HTTPRoute for `<name>-<namespace>.<domain>` on the
Gateway: kserve/kserve v0.20.0 pkg/controller/v1beta1/inferenceservice/reconcilers/ingress/httproute_reconciler.go),
or when an HTTPRoute with backends attaches to the Gateway. The rules read the Istio objects that attach to
the Gateway the way Istio 1.30.3 does: through targetRefs naming it, from its own namespace
(istio/istio 1.30.3 pilot/pkg/model/policyattachment.go); an ALLOW AuthorizationPolicy admits a request when
one of its rules matches (`from` sources OR'ed, a source's fields AND'ed), and with no ALLOW policy at all,
every request is admitted.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from inferstack.constants import ENVOY_LOCAL_RATE_LIMIT_FILTER, KSERVE_CLUSTER_LOCAL, KSERVE_VISIBILITY_LABEL, LABEL_MODEL
from inferstack.policy.model import PolicyContext, PolicyResource, Rule, enforcement_by_env
from inferstack.policy.props import K8S_INFERENCE_SERVICE, as_list, as_mapping, get, k8s_labels, k8s_namespace

K8S_GATEWAY = "kubernetes:gateway.networking.k8s.io/v1:Gateway"
K8S_HTTP_ROUTE = "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"
K8S_CERTIFICATE = "kubernetes:cert-manager.io/v1:Certificate"
AUTHORIZATION_POLICY_KIND = "AuthorizationPolicy"
ENVOY_FILTER_KIND = "EnvoyFilter"


@dataclass(frozen=True, slots=True)
class ExposedEndpoint:
    """A hostname the gateway routes to a model, and the resource that exposes it."""

    host: str
    model: str
    urn: str
    via: str


def _kind(resource: PolicyResource) -> str:
    return resource.type.rsplit(":", 1)[-1] if resource.type.startswith("kubernetes:") else ""


def _targets_gateway(resource: PolicyResource, ctx: PolicyContext) -> bool:
    """Whether a policy object attaches to the shared Gateway (targetRef(s) naming it, from the gateway's namespace)."""
    if k8s_namespace(resource.props) != ctx.gateway_namespace:
        return False
    refs = as_list(get(resource.props, "spec", "targetRefs")) or as_list(get(resource.props, "spec", "targetRef"))
    for ref in refs:
        ref = as_mapping(ref)
        if (
            ref.get("kind") == "Gateway"
            and ref.get("name") == ctx.gateway_name
            and ref.get("namespace") in (None, "", ctx.gateway_namespace)
        ):
            return True
    return False


def _attaches_to_gateway(route: PolicyResource, ctx: PolicyContext) -> bool:
    for parent in as_list(get(route.props, "spec", "parentRefs")):
        parent = as_mapping(parent)
        namespace = parent.get("namespace") or k8s_namespace(route.props)
        if parent.get("kind", "Gateway") == "Gateway" and parent.get("name") == ctx.gateway_name and namespace == ctx.gateway_namespace:
            return True
    return False


def exposed_endpoints(resources: Sequence[PolicyResource], ctx: PolicyContext) -> Iterator[ExposedEndpoint]:
    """Every host the gateway routes to a model: KServe's routes of non-cluster-local InferenceServices, and HTTPRoutes."""
    for resource in resources:
        labels = k8s_labels(resource.props)
        model = str(labels.get(LABEL_MODEL) or get(resource.props, "metadata", "name") or resource.name)
        if resource.type == K8S_INFERENCE_SERVICE:
            if labels.get(KSERVE_VISIBILITY_LABEL) == KSERVE_CLUSTER_LOCAL:
                continue
            name = str(get(resource.props, "metadata", "name") or resource.name)
            namespace = k8s_namespace(resource.props)
            # KServe's top-level route and its predictor route (httproute_reconciler.go createRawTopLevelHTTPRoute,
            # createRawPredictorHTTPRoute: GenerateDomainName of the isvc and of <isvc>-predictor).
            for host_name in (name, f"{name}-predictor"):
                host = f"{host_name}-{namespace}.{ctx.serving_domain}"
                yield ExposedEndpoint(host, model, resource.urn, f"InferenceService {name} (KServe routes it on the gateway)")
        elif resource.type == K8S_HTTP_ROUTE and _attaches_to_gateway(resource, ctx):
            rules = as_list(get(resource.props, "spec", "rules"))
            if not any(as_list(as_mapping(rule).get("backendRefs")) for rule in rules):
                continue  # a redirect-only route reaches no backend
            for host in as_list(get(resource.props, "spec", "hostnames")):
                yield ExposedEndpoint(str(host), model, resource.urn, f"HTTPRoute {get(resource.props, 'metadata', 'name')}")


def host_matches(pattern: str, host: str) -> bool:
    """Istio's host match: exact, `*` for any, `*.suffix`/`*suffix` and `prefix*` wildcards (ports ignored here)."""
    pattern = pattern.lower()
    host = host.lower()
    if pattern == "*" or pattern == host:
        return True
    if pattern.startswith("*"):
        return host.endswith(pattern[1:])
    if pattern.endswith("*"):
        return host.startswith(pattern[:-1])
    return False


def _rule_matches_host(rule: Mapping[str, Any], host: str) -> bool:
    targets = as_list(rule.get("to"))
    if not targets:
        return True
    for target in targets:
        operation = as_mapping(as_mapping(target).get("operation"))
        hosts = [str(item) for item in as_list(operation.get("hosts"))]
        not_hosts = [str(item) for item in as_list(operation.get("notHosts"))]
        if any(host_matches(pattern, host) for pattern in not_hosts):
            continue
        if not hosts or any(host_matches(pattern, host) for pattern in hosts):
            return True
    return False


def _rule_authenticated(rule: Mapping[str, Any]) -> bool:
    """Every source of the rule names request principals (a validated JWT) or peer principals (mTLS)."""
    sources = as_list(rule.get("from"))
    if not sources:
        return False
    for entry in sources:
        source = as_mapping(as_mapping(entry).get("source"))
        if not (as_list(source.get("requestPrincipals")) or as_list(source.get("principals"))):
            return False
    return True


def _allow_policies(resources: Sequence[PolicyResource], ctx: PolicyContext) -> list[PolicyResource]:
    return [
        resource
        for resource in resources
        if _kind(resource) == AUTHORIZATION_POLICY_KIND
        and _targets_gateway(resource, ctx)
        and str(get(resource.props, "spec", "action") or "ALLOW") == "ALLOW"
    ]


def admitted(host: str, resources: Sequence[PolicyResource], ctx: PolicyContext) -> bool:
    """Whether the gateway admits any request for `host` (no ALLOW policy at all, or an ALLOW rule matching it)."""
    allow = _allow_policies(resources, ctx)
    return not allow or any(
        _rule_matches_host(as_mapping(rule), host) for policy in allow for rule in as_list(get(policy.props, "spec", "rules"))
    )


def anonymous_access(host: str, resources: Sequence[PolicyResource], ctx: PolicyContext) -> str | None:
    """Why anyone may call `host` through the gateway without credentials, or None when every admitting rule needs them."""
    allow = _allow_policies(resources, ctx)
    if not allow:
        return f"no ALLOW AuthorizationPolicy targets Gateway {ctx.gateway_namespace}/{ctx.gateway_name}, so Istio admits every request"
    for policy in allow:
        for rule in as_list(get(policy.props, "spec", "rules")):
            rule = as_mapping(rule)
            if _rule_matches_host(rule, host) and not _rule_authenticated(rule):
                name = get(policy.props, "metadata", "name") or policy.name
                return f"AuthorizationPolicy {name} admits requests for it without a request principal (JWT) or peer principal"
    return None


def check_endpoint_authentication(resources: Sequence[PolicyResource], ctx: PolicyContext) -> Iterable[tuple[str, str]]:
    """Every host the gateway routes to a model admits only authenticated requests (waivable per model)."""
    for endpoint in exposed_endpoints(resources, ctx):
        reason = anonymous_access(endpoint.host, resources, ctx)
        if reason is None or ctx.active_waiver(f"endpoint-authentication@{endpoint.model}") is not None:
            continue
        yield endpoint.urn, (
            f"model {endpoint.model} is exposed on the gateway at {endpoint.host} ({endpoint.via}) and {reason}; expected "
            "endpoint.auth.mode jwt (a RequestAuthentication and an access policy requiring a principal), endpoint.exposure "
            f"cluster-local, or a dated policy.waivers.endpoint-authentication@{endpoint.model}"
        )


def _rate_limits_host(patch: Mapping[str, Any], host: str) -> bool:
    """Whether one EnvoyFilter configPatch gives the host (or every host) a local rate limit token bucket."""
    value = as_mapping(get(patch, "patch", "value"))
    if get(patch, "applyTo") == "HTTP_FILTER":
        config = as_mapping(value.get("typed_config"))
        return value.get("name") == ENVOY_LOCAL_RATE_LIMIT_FILTER and bool(config.get("token_bucket"))
    vhost = str(get(patch, "match", "routeConfiguration", "vhost", "name") or "")
    if vhost.rsplit(":", 1)[0] != host and vhost != host:
        return False
    limit = as_mapping(as_mapping(value.get("typed_per_filter_config")).get(ENVOY_LOCAL_RATE_LIMIT_FILTER))
    return bool(limit.get("token_bucket") or as_mapping(limit.get("value")).get("token_bucket"))


def check_endpoint_rate_limit(resources: Sequence[PolicyResource], ctx: PolicyContext) -> Iterable[tuple[str, str]]:
    """Every host the gateway routes to a model has a local rate limit (an EnvoyFilter on the Gateway)."""
    patches = [
        as_mapping(patch)
        for resource in resources
        if _kind(resource) == ENVOY_FILTER_KIND and _targets_gateway(resource, ctx)
        for patch in as_list(get(resource.props, "spec", "configPatches"))
    ]
    for endpoint in exposed_endpoints(resources, ctx):
        if not admitted(endpoint.host, resources, ctx) or any(_rate_limits_host(patch, endpoint.host) for patch in patches):
            continue  # a host the gateway refuses outright needs no rate limit
        yield endpoint.urn, (
            f"model {endpoint.model} is exposed on the gateway at {endpoint.host} ({endpoint.via}) with no rate limit; "
            "expected endpoint.rate_limit (or the stack's serving.endpoints.requests_per_second), rendered as an "
            "EnvoyFilter local rate limit on the Gateway"
        )


def check_gateway_tls(resources: Sequence[PolicyResource], ctx: PolicyContext) -> Iterable[tuple[str, str]]:
    """The Gateway serves models over HTTPS only, with a certificate cert-manager issues in the plan."""
    issued = {
        (k8s_namespace(resource.props), str(get(resource.props, "spec", "secretName") or ""))
        for resource in resources
        if resource.type == K8S_CERTIFICATE
    }
    for gateway in resources:
        if gateway.type != K8S_GATEWAY:
            continue
        namespace = k8s_namespace(gateway.props)
        listeners = [as_mapping(item) for item in as_list(get(gateway.props, "spec", "listeners"))]
        https = [listener for listener in listeners if listener.get("protocol") == "HTTPS"]
        if not https:
            yield gateway.urn, "the Gateway has no HTTPS listener; expected HTTPS on 443 with a certificate from cert-manager"
        for listener in https:
            refs = [as_mapping(ref) for ref in as_list(get(listener, "tls", "certificateRefs"))]
            if not refs:
                yield gateway.urn, f"listener {listener.get('name')} is HTTPS without tls.certificateRefs; expected the certificate's Secret"
            for ref in refs:
                secret = (str(ref.get("namespace") or namespace), str(ref.get("name") or ""))
                if secret not in issued:
                    yield gateway.urn, (
                        f"listener {listener.get('name')} serves Secret {secret[0]}/{secret[1]}, which no cert-manager "
                        "Certificate in the plan issues; expected serving.tls.issuer private-ca or acme (or a waiver "
                        "naming who renews it)"
                    )
        for listener in listeners:
            if listener.get("protocol") != "HTTP":
                continue
            source = get(listener, "allowedRoutes", "namespaces", "from") or "Same"
            if source != "Same":
                yield gateway.urn, (
                    f"listener {listener.get('name')} takes routes over plain HTTP from namespaces '{source}'; expected "
                    "allowedRoutes from Same (only the platform's redirect to https://)"
                )


_ISTIO_DOCS = "https://istio.io/latest/docs"

ENDPOINT_RULES: tuple[Rule, ...] = (
    Rule(
        id="ISP-GW-001",
        name="endpoint-authentication",
        category="security",
        severity="critical",
        description="A model exposed on the gateway (a KServe route of an InferenceService that is not cluster-local, "
        "or an HTTPRoute with backends) admits only requests with a validated JWT (or mTLS peer) principal: every ALLOW "
        "AuthorizationPolicy rule on the Gateway that matches its host requires one. Waivable per model "
        "(policy.waivers.endpoint-authentication@<model>).",
        remediation="Leave endpoint.auth.mode at the environment default (jwt in staging and prod) with inferstack:serving.jwt "
        "set, or set endpoint.exposure: cluster-local for a model only the cluster calls.",
        docs_url=f"{_ISTIO_DOCS}/reference/config/security/authorization-policy/",
        default_enforcement=enforcement_by_env("disabled", "advisory", "mandatory"),
        stack_check=check_endpoint_authentication,
    ),
    Rule(
        id="ISP-GW-002",
        name="endpoint-rate-limit",
        category="security",
        severity="medium",
        description="A model exposed on the gateway has a rate limit: an EnvoyFilter on the Gateway gives its virtual "
        "host (or every host) an Envoy local rate limit token bucket. Mandatory in prod, advisory elsewhere.",
        remediation="Set endpoint.rate_limit in the spec, or keep the stack's serving.endpoints.requests_per_second default.",
        docs_url=f"{_ISTIO_DOCS}/tasks/policy-enforcement/rate-limit/",
        default_enforcement=enforcement_by_env("advisory", "advisory", "mandatory"),
        stack_check=check_endpoint_rate_limit,
    ),
    Rule(
        id="ISP-GW-003",
        name="gateway-tls",
        category="security",
        severity="high",
        description="The shared Gateway has an HTTPS listener whose certificate Secret a cert-manager Certificate in the plan "
        "issues, and its plain-HTTP listeners take no team routes (only the redirect to https://). Mandatory in prod.",
        remediation="Keep serving.tls.issuer private-ca (or acme with its Route 53 settings); do not widen the HTTP "
        "listener's allowedRoutes.",
        docs_url="https://gateway-api.sigs.k8s.io/guides/tls/",
        default_enforcement=enforcement_by_env("advisory", "advisory", "mandatory"),
        stack_check=check_gateway_tls,
    ),
)
