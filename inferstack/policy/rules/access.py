"""Access rules: who can reach the cluster API, which managed policies roles carry, and who key and bucket policies let in.

Resource policies are read the way IAM evaluates them: an Allow to `Principal: "*"`
or to another account opens the resource to that principal unless a condition
narrows it to this account (IAM User Guide, "Policy evaluation logic" and
"AWS global condition context keys": aws:SourceAccount, aws:SourceArn,
aws:PrincipalAccount, aws:PrincipalOrgID).
"""

from __future__ import annotations

import ipaddress
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from inferstack.policy.model import PolicyContext, PolicyResource, Rule, enforcement_by_env
from inferstack.policy.props import (
    AWS_EKS_CLUSTER,
    AWS_IAM_ROLE,
    AWS_KMS_KEY,
    AWS_S3_BUCKET,
    AWS_S3_BUCKET_POLICY,
    as_list,
    as_mapping,
    eks_public_endpoint_on,
    get,
    is_true,
    policy_document,
    statements,
)

AWS_IAM_ROLE_POLICY_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"

# --- The cluster API endpoint -------------------------------------------------------------------------------------------


def check_prod_public_endpoint(resource: PolicyResource, ctx: PolicyContext) -> Iterable[str]:
    """A prod cluster's API endpoint is private; a public one needs a dated waiver (policy.waivers)."""
    if ctx.environment != "prod" or not eks_public_endpoint_on(resource.props):
        return
    yield (
        "vpcConfig.endpointPublicAccess is on in prod; expected a private endpoint only (the deploy job runs inside the "
        "VPC), or a reviewed, dated policy.waivers.prod-public-endpoint entry"
    )


def _cidrs(values: Iterable[Any]) -> tuple[list[ipaddress.IPv4Network | ipaddress.IPv6Network], list[str]]:
    networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
    invalid: list[str] = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(str(value), strict=False))
        except ValueError:
            invalid.append(str(value))
    return networks, invalid


def public_addresses_covered(networks: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> int:
    """How many public IPv4 addresses the union of the networks covers (overlaps counted once; private ranges excluded)."""
    v4 = [network for network in networks if isinstance(network, ipaddress.IPv4Network)]
    total = 0
    for network in ipaddress.collapse_addresses(v4):
        total += network.num_addresses
        for private in _PRIVATE_V4:
            if network.overlaps(private):
                inner = private if network.prefixlen <= private.prefixlen else network
                total -= inner.num_addresses
    return total


_PRIVATE_V4 = tuple(
    ipaddress.IPv4Network(cidr)
    for cidr in ("10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.168.0.0/16")
)


def check_public_cidr_union(resource: PolicyResource, ctx: PolicyContext) -> Iterable[str]:
    """A public endpoint's allow-list, taken as a union, covers less than one /N of public addresses (N = 8 by default)."""
    if not eks_public_endpoint_on(resource.props):
        return
    networks, invalid = _cidrs(as_list(get(resource.props, "vpcConfig", "publicAccessCidrs")))
    for value in invalid:
        yield f"vpcConfig.publicAccessCidrs has {value!r}, not a CIDR; expected a network such as 203.0.113.0/24"
    if not networks and not invalid:
        yield "vpcConfig.publicAccessCidrs is empty, which AWS reads as 0.0.0.0/0; expected specific CIDRs"
        return
    limit = 2 ** (32 - ctx.max_public_cidr_prefix)
    covered = public_addresses_covered(networks)
    if covered >= limit:
        shown = ", ".join(str(network) for network in networks[:6]) + (" ..." if len(networks) > 6 else "")
        yield (
            f"vpcConfig.publicAccessCidrs ({shown}) together cover {covered:,} public addresses, at least a "
            f"/{ctx.max_public_cidr_prefix} ({limit:,}); expected an allow-list narrower than cluster.public_access_widest_prefix"
        )
    if any(isinstance(network, ipaddress.IPv6Network) and network.prefixlen < 32 for network in networks):
        yield "vpcConfig.publicAccessCidrs has an IPv6 network wider than /32; expected specific networks"


# --- Managed policies -------------------------------------------------------------------------------------------------

_BROAD_MANAGED_POLICY = re.compile(r":policy/(.*/)?(AdministratorAccess|PowerUserAccess|IAMFullAccess|[A-Za-z0-9]*FullAccess)$")


def broad_managed_policy(arn: str) -> bool:
    """Whether a managed policy ARN names an administrator, power-user or *FullAccess policy."""
    return bool(_BROAD_MANAGED_POLICY.search(arn))


def check_managed_policy_attachments(resource: PolicyResource, ctx: PolicyContext) -> Iterable[str]:
    """Roles carry no AdministratorAccess, PowerUserAccess or *FullAccess managed policy unless allow-listed."""
    if resource.type == AWS_IAM_ROLE_POLICY_ATTACHMENT:
        arns = [get(resource.props, "policyArn")]
    else:
        arns = as_list(get(resource.props, "managedPolicyArns"))
    for arn in arns:
        if arn and broad_managed_policy(str(arn)) and str(arn) not in ctx.allowed_managed_policies:
            yield (
                f"managed policy {arn} grants broad access; expected a least-privilege inline policy, or the ARN in "
                "policy.allowed_managed_policies after review"
            )


# --- Resource policies (KMS keys, buckets) ----------------------------------------------------------------------------

KMS_SOURCE_CONTEXT_UNSUPPORTED = frozenset({"events.amazonaws.com"})
"""Service principals whose KMS requests carry no aws:SourceAccount/aws:SourceArn (EventBridge User Guide, "Amazon SNS
permissions": the condition keys are not supported in a key policy for EventBridge delivery to encrypted topics), so a
source condition would silently drop their deliveries; their resource (topic) policy carries the guard instead."""
_ACCOUNT_IN_ARN = re.compile(r"^arn:aws[a-z-]*:(?:iam|sts)::(\d{12}):")
_NARROWING_KEYS = (
    "aws:sourceaccount",
    "aws:sourcearn",
    "aws:sourceowner",
    "aws:principalaccount",
    "aws:principalorgid",
    # CloudWatch Logs binds every request to the log group's ARN in the encryption context (its documented guard).
    "kms:encryptioncontext:aws:logs:arn",
)
_ANY_ACCOUNT_IN_PLAN = re.compile(r"arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:(\d{12}):")


def stack_account(resources: Sequence[PolicyResource]) -> str | None:
    """The stack's own AWS account: the account most ARNs in the plan name (None when no ARN names one)."""
    counts: Counter[str] = Counter()
    for resource in resources:
        if resource.type in (AWS_KMS_KEY, AWS_S3_BUCKET_POLICY, AWS_IAM_ROLE):
            counts.update(_ANY_ACCOUNT_IN_PLAN.findall(str(resource.props)))
    if not counts:
        return None
    best = max(counts.values())
    return min(account for account, count in counts.items() if count == best)


def _principal_accounts(principal: Any) -> tuple[bool, list[str], list[str]]:
    """(anyone, AWS accounts named, service principals) of a statement's Principal."""
    if principal == "*":
        return True, [], []
    mapping = as_mapping(principal)
    anyone = False
    accounts: list[str] = []
    for value in as_list(mapping.get("AWS")):
        text = str(value)
        if text == "*":
            anyone = True
        elif re.fullmatch(r"\d{12}", text):
            accounts.append(text)
        elif match := _ACCOUNT_IN_ARN.match(text):
            accounts.append(match.group(1))
    services = [str(value) for value in as_list(mapping.get("Service"))]
    return anyone, accounts, services


def _narrowed(statement: Mapping[str, Any]) -> bool:
    """Whether the statement's conditions pin the caller to an account, organisation or source resource."""
    for operator, block in as_mapping(statement.get("Condition")).items():
        if str(operator).startswith("StringNotEquals") or str(operator).startswith("ArnNotLike"):
            continue
        if any(str(key).lower() in _NARROWING_KEYS for key in as_mapping(block)):
            return True
    return False


def resource_policy_problems(
    document: Mapping[str, Any], where: str, own_account: str | None, allowed_accounts: Sequence[str], kms: bool
) -> Iterable[str]:
    """Allow statements that open a resource to anyone, to another account, or to a service without a source condition."""
    for index, statement in enumerate(statements(document)):
        if statement.get("Effect") != "Allow":
            continue
        label = f"{where} statement {statement.get('Sid') or index}"
        if "NotPrincipal" in statement:
            yield f"{label} allows NotPrincipal (everyone but the named); expected explicit principals"
            continue
        anyone, accounts, services = _principal_accounts(statement.get("Principal"))
        if anyone and not _narrowed(statement):
            yield f'{label} allows Principal "*"; expected named principals (or a condition pinning aws:PrincipalAccount)'
        foreign = sorted({a for a in accounts if a != own_account and a not in allowed_accounts}) if own_account else []
        if foreign:
            yield (
                f"{label} grants account(s) {', '.join(foreign)} outside this stack's account; expected them in "
                "policy.allowed_external_accounts after review"
            )
        services = [service for service in services if service not in KMS_SOURCE_CONTEXT_UNSUPPORTED]
        if kms and services and not _narrowed(statement):
            yield (
                f"{label} lets service principal(s) {', '.join(services)} use the key without aws:SourceAccount or "
                "aws:SourceArn; expected a condition against the confused-deputy problem"
            )


def check_kms_key_policy(resources: Sequence[PolicyResource], ctx: PolicyContext) -> Iterable[tuple[str, str]]:
    """KMS key policies name their principals: no Principal "*", service principals pinned by source, no foreign accounts."""
    own = stack_account(resources)
    for key in resources:
        if key.type != AWS_KMS_KEY or not get(key.props, "policy"):
            continue
        document = policy_document(get(key.props, "policy"), "key policy")
        for message in resource_policy_problems(document, "key policy", own, ctx.allowed_external_accounts, kms=True):
            yield key.urn, message


def check_bucket_policy_grants(resources: Sequence[PolicyResource], ctx: PolicyContext) -> Iterable[tuple[str, str]]:
    """Bucket policies grant nothing to anyone ("*") or to other accounts unless allow-listed."""
    own = stack_account(resources)
    for policy in resources:
        if policy.type != AWS_S3_BUCKET_POLICY:
            continue
        document = policy_document(get(policy.props, "policy"), "bucket policy")
        for message in resource_policy_problems(document, "bucket policy", own, ctx.allowed_external_accounts, kms=False):
            yield policy.urn, message


_IAM_DOCS = "https://docs.aws.amazon.com/IAM/latest/UserGuide"

ACCESS_RULES: tuple[Rule, ...] = (
    Rule(
        id="ISP-EKS-004",
        name="prod-public-endpoint",
        category="security",
        severity="high",
        description="A prod cluster's API endpoint is private only; a public endpoint in prod needs a dated, reasoned "
        "policy.waivers entry.",
        remediation="Set cluster.endpoint_public_access false in the prod stack and run the deploy job inside the VPC.",
        docs_url="https://docs.aws.amazon.com/eks/latest/userguide/cluster-endpoint.html",
        default_enforcement=enforcement_by_env("disabled", "advisory", "mandatory"),
        resource_types=frozenset({AWS_EKS_CLUSTER}),
        resource_check=check_prod_public_endpoint,
    ),
    Rule(
        id="ISP-EKS-005",
        name="public-cidr-union",
        category="security",
        severity="high",
        description="A public endpoint's CIDR allow-list is judged as a union: valid CIDRs that together cover less than "
        "one /N of the public IPv4 space (cluster.public_access_widest_prefix, default 8), so 0.0.0.0/1 + 128.0.0.0/1 fails "
        "like 0.0.0.0/0.",
        remediation="List only the networks that must reach the API (office egress, VPN), each as narrow as possible.",
        docs_url="https://docs.aws.amazon.com/eks/latest/userguide/cluster-endpoint.html",
        default_enforcement=enforcement_by_env("mandatory", "mandatory", "mandatory"),
        resource_types=frozenset({AWS_EKS_CLUSTER}),
        resource_check=check_public_cidr_union,
    ),
    Rule(
        id="ISP-IAM-003",
        name="no-broad-managed-policies",
        category="security",
        severity="high",
        description="Roles carry no AdministratorAccess, PowerUserAccess or *FullAccess managed policy, unless the ARN is "
        "in policy.allowed_managed_policies.",
        remediation="Replace the managed policy with an inline policy naming the actions and resources needed.",
        docs_url=f"{_IAM_DOCS}/access_policies_job-functions.html",
        default_enforcement=enforcement_by_env("mandatory", "mandatory", "mandatory"),
        resource_types=frozenset({AWS_IAM_ROLE_POLICY_ATTACHMENT, AWS_IAM_ROLE}),
        resource_check=check_managed_policy_attachments,
    ),
    Rule(
        id="ISP-KMS-002",
        name="kms-key-policy-scoped",
        category="security",
        severity="critical",
        description='KMS key policies allow no Principal "*", no other account unless allow-listed, and service '
        "principals only with aws:SourceAccount or aws:SourceArn.",
        remediation="Name the principals; add a StringEquals aws:SourceAccount condition to service statements.",
        docs_url="https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-overview.html",
        default_enforcement=enforcement_by_env("mandatory", "mandatory", "mandatory"),
        stack_check=check_kms_key_policy,
    ),
    Rule(
        id="ISP-S3-005",
        name="bucket-policy-no-foreign-grants",
        category="security",
        severity="critical",
        description='Bucket policies allow nothing to Principal "*" or to other AWS accounts, unless the account is in '
        "policy.allowed_external_accounts.",
        remediation="Remove the grant, or list the reviewed account in policy.allowed_external_accounts.",
        docs_url=f"{_IAM_DOCS}/reference_policies_evaluation-logic.html",
        default_enforcement=enforcement_by_env("mandatory", "mandatory", "mandatory"),
        stack_check=check_bucket_policy_grants,
    ),
)
