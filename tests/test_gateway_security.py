"""Issue 15, endpoint security: authentication, rate and size limits, TLS from cert-manager, and cluster-local by default.

Each test fails on the platform as it was before (no Istio policy on the Gateway, no certificate issuer, direct
models routed by KServe on the gateway, plain HTTP open to team routes). Checks needing ../shared/reference skip
with a message (fail in CI).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from inferstack.constants import KSERVE_CLUSTER_LOCAL, KSERVE_VISIBILITY_LABEL
from inferstack.mocks import InferstackMocks, RecordedResource, run_under_mocks
from inferstack.policy import PolicyContext, PolicyResource, evaluate
from inferstack.policy.model import Waiver
from inferstack.problems import InputError
from inferstack.readiness import context_for, run_readiness
from inferstack.readiness.graph import KubeObject
from inferstack.readiness.crd_schema import validate_object
from inferstack.readiness.model import ReadinessContext
from inferstack.spec.loader import load_environment
from inferstack.readiness.reference import reference_location

REPO_ROOT = Path(__file__).resolve().parents[1]
REFERENCE = reference_location()
MISSING_REFERENCE = f"upstream reference data not found at {REFERENCE} (set INFERSTACK_REFERENCE)"
ISVC = "kubernetes:serving.kserve.io/v1beta1:InferenceService"
AUTHZ = "kubernetes:security.istio.io/v1:AuthorizationPolicy"
REQUEST_AUTHN = "kubernetes:security.istio.io/v1:RequestAuthentication"
ENVOY_FILTER = "kubernetes:networking.istio.io/v1alpha3:EnvoyFilter"
GATEWAY = "kubernetes:gateway.networking.k8s.io/v1:Gateway"
HTTP_ROUTE = "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"
CERTIFICATE = "kubernetes:cert-manager.io/v1:Certificate"
ENDPOINT_RULES = {"ISP-GW-001", "ISP-GW-002", "ISP-GW-003"}


def _reference() -> Path:
    if not (REFERENCE / "crds").is_dir():
        if os.environ.get("CI"):
            pytest.fail(MISSING_REFERENCE)
        pytest.skip(MISSING_REFERENCE)
    return REFERENCE


@cache
def _graph(stack: str) -> tuple[RecordedResource, ...]:
    return tuple(run_under_mocks(stack, REPO_ROOT / "model_specs", REPO_ROOT / "stacks", InferstackMocks(region="us-east-1")))


def _copy(tmp_path: Path, stack: str, serving: dict[str, Any] | None = None) -> tuple[Path, Path]:
    stacks = tmp_path / "stacks"
    stacks.mkdir()
    document = yaml.safe_load((REPO_ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text())
    document["config"]["inferstack:serving"].update(serving or {})
    (stacks / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump(document))
    shutil.copytree(REPO_ROOT / "model_specs", tmp_path / "model_specs")
    return tmp_path / "model_specs", stacks


def _of_type(records: tuple[RecordedResource, ...], type_: str) -> list[RecordedResource]:
    return [record for record in records if record.type == type_]


def _resources(records: tuple[RecordedResource, ...]) -> list[PolicyResource]:
    return [
        PolicyResource(record.urn, record.type, record.name, record.inputs, record.parent, tuple(record.dependencies))
        for record in records
        if record.custom
    ]


def _context(stack: str) -> PolicyContext:
    return PolicyContext.from_environment(load_environment(REPO_ROOT / "stacks", stack))


def _endpoint_violations(resources: list[PolicyResource], ctx: PolicyContext) -> list[tuple[str, str, str]]:
    report = evaluate(resources, ctx)
    return [(v.rule_id, v.enforcement, v.message) for v in report.violations if v.rule_id in ENDPOINT_RULES]


def _by_name(records: tuple[RecordedResource, ...], type_: str) -> dict[str, RecordedResource]:
    return {record.inputs["metadata"]["name"]: record for record in _of_type(records, type_)}


# --- item 5: models are cluster-local unless the spec exposes them -----------------------------------------------


def test_direct_models_are_cluster_local_unless_their_spec_exposes_them() -> None:
    isvcs = _by_name(_graph("prod"), ISVC)
    # fraud-scorer and query-embedder say nothing: cluster-local, so KServe creates no HTTPRoute for them.
    for name in ("fraud-scorer", "query-embedder"):
        assert isvcs[name].inputs["metadata"]["labels"][KSERVE_VISIBILITY_LABEL] == KSERVE_CLUSTER_LOCAL, name
    dev = _by_name(_graph("dev"), ISVC)
    # defect-detector is direct in dev and declares endpoint.exposure gateway: KServe routes it on the gateway.
    assert KSERVE_VISIBILITY_LABEL not in dev["defect-detector"].inputs["metadata"]["labels"]


# --- item 1: JWT authentication at the gateway ---------------------------------------------------------------------


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_exposed_models_require_a_validated_jwt_at_the_gateway(stack: str) -> None:
    records = _graph(stack)
    (authn,) = _of_type(records, REQUEST_AUTHN)
    config = load_environment(REPO_ROOT / "stacks", stack)
    assert config.serving.jwt is not None
    (jwt_rule,) = authn.inputs["spec"]["jwtRules"]
    assert jwt_rule["issuer"] == config.serving.jwt.issuer and set(config.serving.jwt.audiences) <= set(jwt_rule["audiences"])
    target = [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": config.serving.gateway_name}]
    policies = _by_name(records, AUTHZ)
    assert policies[f"{config.serving.gateway_name}-allow-nothing"].inputs["spec"] == {"targetRefs": target, "action": "ALLOW"}
    access = policies["llm-assistant-genai-access"].inputs["spec"]
    assert access["targetRefs"] == target
    (rule,) = access["rules"]
    assert rule["from"] == [{"source": {"requestPrincipals": [f"{config.serving.jwt.issuer}/*"]}}]
    assert rule["to"][0]["operation"]["hosts"][0] == f"llm-assistant-genai.{config.serving.domain}"
    assert {"key": "request.auth.claims[groups]", "values": ["genai-clients"]} in rule["when"]
    for record in [authn, *policies.values()]:
        assert record.inputs["metadata"]["namespace"] == config.serving.gateway_namespace  # Istio attaches from there only


def test_shipped_stacks_pass_the_endpoint_rules_and_fail_them_without_the_gateway_policies() -> None:
    resources = _resources(_graph("prod"))
    ctx = _context("prod")
    assert _endpoint_violations(resources, ctx) == []
    # The platform as it was: no AuthorizationPolicy, no EnvoyFilter on the Gateway.
    bare = [resource for resource in resources if resource.type not in (AUTHZ, ENVOY_FILTER)]
    found = _endpoint_violations(bare, ctx)
    assert {(rule, enforcement) for rule, enforcement, _ in found} == {("ISP-GW-001", "mandatory"), ("ISP-GW-002", "mandatory")}
    assert any("llm-assistant" in message for _, _, message in found)


def test_a_prod_model_without_authentication_is_a_violation_unless_waived(tmp_path: Path) -> None:
    specs, stacks = _copy(tmp_path, "prod")
    spec_file = specs / "llm_assistant.yaml"
    spec_file.write_text(spec_file.read_text().replace("auth: {mode: jwt, required_claims: {groups: [genai-clients]}}", "auth: {mode: none}"))
    records = tuple(run_under_mocks("prod", specs, stacks, InferstackMocks(region="us-east-1")))
    (rule,) = _by_name(records, AUTHZ)["llm-assistant-genai-access"].inputs["spec"]["rules"]
    assert "from" not in rule
    ctx = _context("prod")
    found = _endpoint_violations(_resources(records), ctx)
    assert [(rule_id, enforcement) for rule_id, enforcement, _ in found] == [("ISP-GW-001", "mandatory")]
    waiver = Waiver("a public demo endpoint, accepted by the security team", "2999-12-31")
    assert _endpoint_violations(_resources(records), replace(ctx, waivers={"endpoint-authentication@llm-assistant": waiver})) == []


# --- item 2 and 4: per-model rate and request-size limits ------------------------------------------------------------


def test_rate_and_size_limits_come_from_the_spec_or_the_stack_defaults() -> None:
    filters = _by_name(_graph("prod"), ENVOY_FILTER)
    domain = load_environment(REPO_ROOT / "stacks", "prod").serving.domain

    def per_host(name: str) -> tuple[str, dict[str, Any]]:
        (patch,) = filters[name].inputs["spec"]["configPatches"]
        return patch["match"]["routeConfiguration"]["vhost"]["name"], patch["patch"]["value"]["typed_per_filter_config"]

    vhost, config = per_host("llm-assistant-genai-limits")  # endpoint.rate_limit 20/s burst 40, max_request_kib 256
    assert vhost == f"llm-assistant-genai.{domain}:443"
    assert config["envoy.filters.http.local_ratelimit"]["token_bucket"] == {"max_tokens": 40, "tokens_per_fill": 20, "fill_interval": "1s"}
    assert config["envoy.filters.http.buffer"]["buffer"]["max_request_bytes"] == 256 * 1024
    _, config = per_host("product-vision-vision-limits")  # stack default 100/s, spec's max_request_kib 2048
    assert config["envoy.filters.http.local_ratelimit"]["token_bucket"]["tokens_per_fill"] == 100
    assert config["envoy.filters.http.buffer"]["buffer"]["max_request_bytes"] == 2048 * 1024
    names = [patch["patch"]["value"]["name"] for patch in filters["inference-gateway-limits"].inputs["spec"]["configPatches"]]
    assert names == ["envoy.filters.http.local_ratelimit", "envoy.filters.http.buffer"]


# --- item 3: TLS with a certificate from cert-manager, HTTP only redirects -------------------------------------------


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_https_listener_serves_a_cert_manager_certificate_and_http_only_redirects(stack: str) -> None:
    records = _graph(stack)
    config = load_environment(REPO_ROOT / "stacks", stack)
    (gateway,) = _of_type(records, GATEWAY)
    listeners = {listener["name"]: listener for listener in gateway.inputs["spec"]["listeners"]}
    assert listeners["http"]["allowedRoutes"] == {"namespaces": {"from": "Same"}}
    (ref,) = listeners["https"]["tls"]["certificateRefs"]
    certificates = {(c.inputs["metadata"].get("namespace"), c.inputs["spec"]["secretName"]): c for c in _of_type(records, CERTIFICATE)}
    certificate = certificates[(config.serving.gateway_namespace, ref["name"])]
    assert certificate.inputs["spec"]["dnsNames"] == [f"*.{config.serving.domain}"]
    assert certificate.inputs["spec"]["issuerRef"]["kind"] == "ClusterIssuer"
    assert certificate.inputs["spec"]["privateKey"]["algorithm"] == "ECDSA"  # key settings are not redacted as a secret
    cert_manager = next(r for r in _of_type(records, "kubernetes:helm.sh/v3:Release") if r.inputs["name"] == "cert-manager")
    assert cert_manager.urn in certificate.dependencies
    redirect = _by_name(records, HTTP_ROUTE)["inference-gateway-https-redirect"]
    (parent,) = redirect.inputs["spec"]["parentRefs"]
    assert parent["sectionName"] == "http"
    (rule,) = redirect.inputs["spec"]["rules"]
    assert rule == {"filters": [{"type": "RequestRedirect", "requestRedirect": {"scheme": "https", "statusCode": 301}}]}
    assert _endpoint_violations(_resources(records), _context(stack)) == []


def test_a_prod_gateway_without_an_issued_certificate_fails_gateway_tls(tmp_path: Path) -> None:
    specs, stacks = _copy(tmp_path, "prod", {"tls": {"issuer": "none"}})
    records = tuple(run_under_mocks("prod", specs, stacks, InferstackMocks(region="us-east-1")))
    assert not _of_type(records, CERTIFICATE)
    found = _endpoint_violations(_resources(records), _context("prod"))
    assert [(rule, enforcement) for rule, enforcement, _ in found] == [("ISP-GW-003", "mandatory")]


def test_an_adopted_gateway_lists_gateway_tls_as_not_evaluated() -> None:
    ctx = replace(_context("prod"), adopted=frozenset({"gateway"}))
    report = evaluate([], ctx)
    assert [item.policy for item in report.not_evaluated if item.policy.startswith("gateway")] == ["gateway-tls"]
    assert "serving.gateway_create: false" in next(item.reason for item in report.not_evaluated if item.policy == "gateway-tls")


# --- rendered objects validate against the installed CRDs; cert-manager's gap is reported, not passed -------------


def test_rendered_istio_and_gateway_objects_validate_against_the_reference_crds() -> None:
    root = _reference()
    records = _graph("prod")
    ctx = ReadinessContext(environment="prod", kubernetes_version="1.35", reference=root)
    checked = 0
    for type_, folder in ((AUTHZ, "istio-1.30.3"), (REQUEST_AUTHN, "istio-1.30.3"), (ENVOY_FILTER, "istio-1.30.3"), (HTTP_ROUTE, "gateway-api-v1.3.0")):
        for record in _of_type(records, type_):
            resource = PolicyResource(record.urn, record.type, record.name, record.inputs)
            group, version = record.inputs["apiVersion"].split("/")
            obj = KubeObject(resource, group, version, record.inputs["kind"], record.inputs)
            assert list(validate_object(obj, folder, ctx)) == [], record.name
            checked += 1
    assert checked >= 8
    # The check is real: a misspelt field of the same objects is reported.
    (authz,) = [r for r in _of_type(records, AUTHZ) if r.inputs["metadata"]["name"] == "llm-assistant-genai-access"]
    broken = {**authz.inputs, "spec": {**authz.inputs["spec"], "targetRef": {"kind": "Gateway"}, "rules": [{"form": []}]}}
    obj = KubeObject(PolicyResource(authz.urn, authz.type, authz.name, broken), "security.istio.io", "v1", "AuthorizationPolicy", broken)
    assert list(validate_object(obj, "istio-1.30.3", ctx))


def test_readiness_validates_the_istio_objects_and_says_cert_manager_is_unverified() -> None:
    _reference()
    records = _graph("prod")
    everything = [PolicyResource(r.urn, r.type, r.name, r.inputs, r.parent, tuple(r.dependencies)) for r in records]
    report = run_readiness(everything, context_for(load_environment(REPO_ROOT / "stacks", "prod")))
    by_rule: dict[str, list[str]] = {}
    for finding in report.findings:
        by_rule.setdefault(finding.check_id, []).append(finding.message)
    assert "deploy-crd-schema" not in by_rule and "deploy-crd-order" not in by_rule
    unverified = by_rule.get("deploy-crd-unverified", [])
    assert unverified and all("cert-manager.io" in message for message in unverified)
    assert len(unverified) == len(_of_type(records, CERTIFICATE)) + len(_of_type(records, "kubernetes:cert-manager.io/v1:ClusterIssuer"))


# --- bad input: what the stack cannot serve is refused with one line per problem ------------------------------------


def test_jwt_without_an_issuer_and_a_cluster_local_rollout_route_are_refused(tmp_path: Path) -> None:
    specs, stacks = _copy(tmp_path, "prod", {"jwt": None})
    spec_file = specs / "llm_assistant.yaml"
    with pytest.raises(InputError) as caught:
        run_under_mocks("prod", specs, stacks, InferstackMocks(region="us-east-1"))
    fields = {(Path(problem.file).name, problem.path) for problem in caught.value.problems}
    assert ("llm_assistant.yaml", "endpoint.auth.mode") in fields
    spec_file.write_text(spec_file.read_text().replace("exposure: gateway", "exposure: cluster-local"))
    (stacks / "Pulumi.prod.yaml").unlink()
    shutil.copy(REPO_ROOT / "stacks" / "Pulumi.prod.yaml", stacks / "Pulumi.prod.yaml")
    with pytest.raises(InputError) as caught:
        run_under_mocks("prod", specs, stacks, InferstackMocks(region="us-east-1"))
    messages = [problem.message for problem in caught.value.problems if problem.path == "endpoint.exposure"]
    assert messages and "canary" in messages[0]


def test_acme_issues_through_route53_dns01_with_the_role_on_cert_managers_service_account(tmp_path: Path) -> None:
    role = "arn:aws:iam::123456789012:role/cert-manager-dns01"
    tls = {"issuer": "acme", "acme_email": "ml-platform@example.com", "route53_hosted_zone_id": "Z0123456789ABC", "route53_role_arn": role}
    specs, stacks = _copy(tmp_path, "staging", {"tls": tls})
    records = tuple(run_under_mocks("staging", specs, stacks, InferstackMocks(region="us-east-1")))
    (issuer,) = _of_type(records, "kubernetes:cert-manager.io/v1:ClusterIssuer")
    acme = issuer.inputs["spec"]["acme"]
    assert acme["solvers"] == [{"dns01": {"route53": {"region": "us-east-1", "hostedZoneID": "Z0123456789ABC"}}}]
    (certificate,) = _of_type(records, CERTIFICATE)
    assert certificate.inputs["spec"]["issuerRef"]["name"] == issuer.inputs["metadata"]["name"]
    release = next(r for r in _of_type(records, "kubernetes:helm.sh/v3:Release") if r.inputs["name"] == "cert-manager")
    assert release.inputs["values"]["serviceAccount"] == {"annotations": {"eks.amazonaws.com/role-arn": role}}
    _reference()
    everything = [PolicyResource(r.urn, r.type, r.name, r.inputs, r.parent, tuple(r.dependencies)) for r in records]
    config = load_environment(stacks, "staging")
    findings = [f for f in run_readiness(everything, context_for(config)).findings if f.check_id == "deploy-helm-values"]
    assert findings == []


def test_acme_without_its_route53_settings_is_bad_input() -> None:
    from pydantic import ValidationError

    from inferstack.spec.environment import GatewayTlsConfig

    with pytest.raises(ValidationError, match="route53_hosted_zone_id, route53_role_arn"):
        GatewayTlsConfig(issuer="acme", acme_email="a@example.com")


def test_an_environment_override_changes_the_endpoint_for_that_tier_only() -> None:
    from inferstack.spec.model import ModelSpec
    from inferstack.spec.resolve import resolve_for_environment
    from tests.spec_factory import spec_document

    document = spec_document()
    document["endpoint"] = {"exposure": "gateway", "auth": {"mode": "jwt", "audiences": ["demo"]}}
    document["environments"] = {"dev": {"endpoint": {"auth": {"mode": "none", "audiences": []}}}}
    spec = ModelSpec.model_validate(document)
    dev, prod = resolve_for_environment(spec, "dev"), resolve_for_environment(spec, "prod")
    assert dev is not None and prod is not None
    assert (dev.endpoint.exposure, dev.endpoint.auth.mode) == ("gateway", "none")
    assert (prod.endpoint.exposure, prod.endpoint.auth.mode, prod.endpoint.auth.audiences) == ("gateway", "jwt", ["demo"])
