"""Governance rules: the pack cannot be quietly weakened, trusted sources stay bounded, platform namespaces stay the platform's.

These rules judge the stack's own policy settings (carried in the PolicyContext)
as much as the resources: a prod stack that turns a critical rule off, or trusts
every `https://` URL, has switched the pack off where it matters.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from urllib.parse import urlsplit

from inferstack.constants import LABEL_TEAM, PLATFORM_TEAM
from inferstack.policy.model import PolicyContext, PolicyResource, Rule, enforcement_by_env
from inferstack.policy.props import (
    K8S_HELM_RELEASE,
    K8S_INFERENCE_SERVICE,
    K8S_NAMESPACE,
    get,
    isvc_containers,
    k8s_labels,
    k8s_namespace,
)

_STRONG_SEVERITIES = ("critical", "high")
_ENFORCEMENT_STRENGTH = {"mandatory": 2, "advisory": 1, "disabled": 0}


def check_pack_not_weakened(resources: Sequence[PolicyResource], ctx: PolicyContext) -> Iterable[tuple[str, str]]:
    """In prod, no critical or high rule is downgraded below its default, and no waiver outlives its date."""
    from inferstack.policy.catalog import RULES_BY_NAME

    if ctx.environment == "prod":
        for name, enforcement in sorted(ctx.enforcement_overrides.items()):
            rule = RULES_BY_NAME.get(name)
            if rule is None or rule.severity not in _STRONG_SEVERITIES:
                continue
            default = rule.default_enforcement[ctx.environment]
            if _ENFORCEMENT_STRENGTH[enforcement] < _ENFORCEMENT_STRENGTH[default]:
                yield "", (
                    f"policy.enforcement sets {rule.severity} rule '{name}' ({rule.id}) to {enforcement} in prod, below "
                    f"its default {default}; expected no downgrade of critical/high rules in prod (use a dated "
                    "policy.waivers entry with a reason for a reviewed exception)"
                )
    for name, waiver in sorted(ctx.waivers.items()):
        if waiver.expires < ctx.today:
            yield "", (
                f"policy.waivers.{name} expired on {waiver.expires}; expected the waiver renewed with a new review "
                "or removed (the rule is enforced again)"
            )


_URI_SCHEMES_WITH_HOST = ("s3", "gs", "https", "http", "oci", "hf", "pvc")


def trusted_registry_problem(prefix: str) -> str | None:
    """Why a trusted-registry prefix trusts too much, or None when it names one bucket/host and a path in it."""
    parts = urlsplit(prefix)
    if not parts.scheme:
        return f"'{prefix}' has no scheme; expected a full prefix such as s3://bucket/models/ or https://host/path/"
    if parts.scheme not in _URI_SCHEMES_WITH_HOST:
        return f"'{prefix}' uses scheme {parts.scheme}; expected one of {', '.join(_URI_SCHEMES_WITH_HOST)}"
    if not parts.netloc:
        return f"'{prefix}' is scheme-only and trusts every {parts.scheme} location; expected a bucket or host and a path"
    if parts.scheme in ("http",):
        return f"'{prefix}' is plain http; expected https"
    if "*" in prefix:
        return f"'{prefix}' contains a wildcard; expected a literal prefix"
    if parts.path.strip("/") == "" and parts.scheme in ("https", "hf", "oci"):
        return f"'{prefix}' trusts a whole host; expected a path (an organisation or repository) on {parts.netloc}"
    if not prefix.endswith("/"):
        return f"'{prefix}' does not end in '/', so it also matches siblings such as '{prefix}-other'; expected a trailing /"
    return None


def check_trusted_registries_bounded(resources: Sequence[PolicyResource], ctx: PolicyContext) -> Iterable[tuple[str, str]]:
    """Each trusted registry prefix names one bucket or host and a path in it: no scheme-only or whole-host prefixes."""
    for prefix in ctx.trusted_registries:
        problem = trusted_registry_problem(prefix)
        if problem:
            yield "", f"policy.trusted_registries: {problem}"


def platform_namespaces(resources: Sequence[PolicyResource]) -> dict[str, str]:
    """Namespaces the platform itself uses (Helm releases, platform objects, kube-*) -> what uses them."""
    used: dict[str, str] = {"kube-system": "Kubernetes", "kube-public": "Kubernetes", "kube-node-lease": "Kubernetes"}
    for resource in resources:
        if resource.type == K8S_HELM_RELEASE:
            namespace = get(resource.props, "namespace")
            if namespace:
                used.setdefault(str(namespace), f"Helm release {get(resource.props, 'name') or resource.name}")
        elif resource.type.startswith("kubernetes:") and resource.type != K8S_NAMESPACE:
            namespace = get(resource.props, "metadata", "namespace")
            team = k8s_labels(resource.props).get(LABEL_TEAM)
            if namespace and team in (None, PLATFORM_TEAM):
                used.setdefault(str(namespace), f"{resource.type.rsplit(':', 1)[-1]} {resource.name}")
    return used


def check_reserved_namespaces(resources: Sequence[PolicyResource], ctx: PolicyContext) -> Iterable[tuple[str, str]]:
    """Team namespaces and model servers never use a namespace the platform uses (gateway, monitoring, KServe, kube-*)."""
    reserved = platform_namespaces(resources)
    for resource in resources:
        team = k8s_labels(resource.props).get(LABEL_TEAM)
        if not team or team == PLATFORM_TEAM:
            continue
        if resource.type == K8S_NAMESPACE:
            namespace = str(get(resource.props, "metadata", "name") or "")
        elif resource.type == K8S_INFERENCE_SERVICE:
            namespace = k8s_namespace(resource.props)
        else:
            continue
        if namespace in reserved:
            yield resource.urn, (
                f"team {team} uses namespace '{namespace}', reserved for the platform ({reserved[namespace]}); "
                "expected a team namespace of its own"
            )


def check_artifact_team_prefix(resource: PolicyResource, ctx: PolicyContext) -> Iterable[str]:
    """Artifacts from the model store come from the serving team's own prefix (models/<team>/), which its role can read."""
    if not ctx.model_store_bucket:
        return
    team = k8s_labels(resource.props).get(LABEL_TEAM)
    if not team:
        return
    store = f"s3://{ctx.model_store_bucket}/"
    own = f"{store}models/{team}/"
    for where, container in isvc_containers(resource.props):
        uri = get(container, "storageUri")
        if uri is None or not str(uri).startswith(store):
            continue
        if not str(uri).startswith(own):
            yield f"{where}.storageUri {uri} is outside team {team}'s prefix; expected a URI under {own} (the team's role reads only there)"


_GOVERNANCE_DOCS = "https://www.pulumi.com/docs/using-pulumi/crossguard/"

GOVERNANCE_RULES: tuple[Rule, ...] = (
    Rule(
        id="ISP-GOV-001",
        name="pack-not-weakened",
        category="security",
        severity="critical",
        description="In prod, no critical or high rule is downgraded below its default through policy.enforcement, "
        "and no policy waiver is past its expiry date.",
        remediation="Remove the override; for a reviewed exception add policy.waivers.<rule> with a reason and an expiry date.",
        docs_url=_GOVERNANCE_DOCS,
        default_enforcement=enforcement_by_env("advisory", "mandatory", "mandatory"),
        stack_check=check_pack_not_weakened,
    ),
    Rule(
        id="ISP-GOV-002",
        name="trusted-registries-bounded",
        category="security",
        severity="high",
        description="Each policy.trusted_registries prefix names one bucket or host and a path in it, ending in '/': "
        "no scheme-only (s3://, https://), whole-host, wildcard or plain-http prefixes.",
        remediation="Narrow the prefix to the bucket or organisation and path you trust, e.g. s3://shared-models/vision/.",
        docs_url="https://kserve.github.io/website/latest/modelserving/storage/storagecontainers/",
        default_enforcement=enforcement_by_env("mandatory", "mandatory", "mandatory"),
        stack_check=check_trusted_registries_bounded,
    ),
    Rule(
        id="ISP-GOV-003",
        name="reserved-namespaces",
        category="security",
        severity="high",
        description="Team namespaces and InferenceServices never use a namespace the platform uses (kube-*, the gateway's, "
        "monitoring, KServe and every other Helm release's namespace).",
        remediation="Give the team its own namespace name in the spec.",
        docs_url="https://kubernetes.io/docs/concepts/security/multi-tenancy/",
        default_enforcement=enforcement_by_env("mandatory", "mandatory", "mandatory"),
        stack_check=check_reserved_namespaces,
    ),
    Rule(
        id="ISP-MODEL-003",
        name="artifact-team-prefix",
        category="security",
        severity="high",
        description="An artifact in the model store is loaded from the serving team's own prefix (models/<team>/); "
        "another team's prefix would fail at run time, since each team's role reads only its own.",
        remediation="Publish the model under the serving team (inferstack publish --spec NAME) and use its storage URI.",
        docs_url="https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-prefixes.html",
        default_enforcement=enforcement_by_env("mandatory", "mandatory", "mandatory"),
        resource_types=frozenset({K8S_INFERENCE_SERVICE}),
        resource_check=check_artifact_team_prefix,
    ),
)
