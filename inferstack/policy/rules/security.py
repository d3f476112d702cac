"""Security rules: encrypted, private, least-privilege storage, identity, cluster, nodes and containers."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from inferstack.policy.model import NotEvaluated, PolicyContext, PolicyResource, Rule, enforcement_by_env
from inferstack.policy.props import (
    APPROVED_STAGE_ANNOTATION,
    AWS_EKS_CLUSTER,
    AWS_EKS_NODE_GROUP,
    AWS_IAM_ROLE,
    AWS_IAM_ROLE_POLICY,
    AWS_KMS_KEY,
    AWS_LAUNCH_TEMPLATE,
    AWS_S3_BUCKET,
    AWS_S3_BUCKET_POLICY,
    AWS_S3_ENCRYPTION,
    AWS_S3_PUBLIC_ACCESS_BLOCK,
    AWS_S3_VERSIONING,
    K8S_INFERENCE_SERVICE,
    K8S_NAMESPACE,
    K8S_NETWORK_POLICY,
    as_list,
    as_mapping,
    eks_public_endpoint_on,
    get,
    is_true,
    isvc_containers,
    isvc_predictor,
    k8s_annotations,
    k8s_namespace,
    policy_document,
    statements,
)

# --- S3 model store -------------------------------------------------------------------------------------------------


def _bucket_children(bucket: PolicyResource, resources: Sequence[PolicyResource], child_type: str) -> list[PolicyResource]:
    """Resources of `child_type` that configure `bucket`: they depend on its URN, or name it in `bucket`."""
    bucket_name = bucket.props.get("bucket")
    return [
        resource
        for resource in resources
        if resource.type == child_type
        and (bucket.urn in resource.dependencies or (bucket_name and resource.props.get("bucket") == bucket_name))
    ]


def _buckets(resources: Sequence[PolicyResource]) -> list[PolicyResource]:
    return [resource for resource in resources if resource.type == AWS_S3_BUCKET]


def _kms_rule_ok(rule: Mapping[str, Any]) -> bool:
    default = as_mapping(get(rule, "applyServerSideEncryptionByDefault"))
    algorithm = get(default, "sseAlgorithm")
    return algorithm in ("aws:kms", "aws:kms:dsse") and bool(get(default, "kmsMasterKeyId"))


def check_s3_kms_encryption(resources: Sequence[PolicyResource], ctx: PolicyContext) -> Iterable[tuple[str, str]]:
    """Every bucket has default encryption with a customer KMS key."""
    for bucket in _buckets(resources):
        configs = _bucket_children(bucket, resources, AWS_S3_ENCRYPTION)
        rules = [as_mapping(rule) for config in configs for rule in as_list(get(config.props, "rules"))]
        rules += [as_mapping(rule) for rule in as_list(get(bucket.props, "serverSideEncryptionConfiguration", "rules"))]
        if not rules:
            yield bucket.urn, "bucket has no server-side encryption configuration; expected aws:kms with a customer KMS key"
        elif not any(_kms_rule_ok(rule) for rule in rules):
            yield bucket.urn, "bucket encryption is not aws:kms with kmsMasterKeyId set; expected SSE-KMS with the platform's key"


def check_s3_versioning(resources: Sequence[PolicyResource], ctx: PolicyContext) -> Iterable[tuple[str, str]]:
    """Every bucket keeps object versions."""
    for bucket in _buckets(resources):
        statuses = [get(v.props, "versioningConfiguration", "status") for v in _bucket_children(bucket, resources, AWS_S3_VERSIONING)]
        statuses.append(get(bucket.props, "versioning", "enabled") and "Enabled")
        if "Enabled" not in statuses:
            found = ", ".join(str(s) for s in statuses if s) or "none"
            yield bucket.urn, f"bucket versioning is not Enabled (found: {found}); expected a BucketVersioning with status Enabled"


PUBLIC_ACCESS_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")


def check_s3_public_access_blocked(resources: Sequence[PolicyResource], ctx: PolicyContext) -> Iterable[tuple[str, str]]:
    """Every bucket has all four public-access-block switches on."""
    for bucket in _buckets(resources):
        blocks = _bucket_children(bucket, resources, AWS_S3_PUBLIC_ACCESS_BLOCK)
        if not blocks:
            yield bucket.urn, "bucket has no BucketPublicAccessBlock; expected one with all four flags true"
            continue
        for block in blocks:
            off = [flag for flag in PUBLIC_ACCESS_FLAGS if not is_true(get(block.props, flag))]
            if off:
                yield block.urn, f"public access block leaves {', '.join(off)} off; expected all four flags true"


def _denies_insecure_transport(statement: Mapping[str, Any]) -> bool:
    if statement.get("Effect") != "Deny":
        return False
    actions = {str(action) for action in as_list(statement.get("Action"))}
    if not actions & {"s3:*", "*"}:
        return False
    condition = as_mapping(statement.get("Condition"))
    for operator in ("Bool", "BoolIfExists"):
        value = as_mapping(condition.get(operator)).get("aws:SecureTransport")
        if any(str(item).lower() == "false" for item in as_list(value)):
            return True
    return False


def check_s3_tls_only(resources: Sequence[PolicyResource], ctx: PolicyContext) -> Iterable[tuple[str, str]]:
    """Every bucket's policy denies requests that are not over TLS."""
    for bucket in _buckets(resources):
        policies = _bucket_children(bucket, resources, AWS_S3_BUCKET_POLICY)
        documents = [policy_document(get(p.props, "policy"), "bucket policy") for p in policies]
        if get(bucket.props, "policy"):
            documents.append(policy_document(get(bucket.props, "policy"), "bucket policy"))
        if not any(_denies_insecure_transport(statement) for document in documents for statement in statements(document)):
            yield bucket.urn, (
                "no bucket policy denies s3:* when aws:SecureTransport is false; expected a TLS-only Deny statement"
            )


# --- KMS ----------------------------------------------------------------------------------------------------------------


def check_kms_rotation(resource: PolicyResource, ctx: PolicyContext) -> Iterable[str]:
    """Symmetric KMS keys rotate automatically."""
    spec = get(resource.props, "customerMasterKeySpec", default="SYMMETRIC_DEFAULT")
    if spec != "SYMMETRIC_DEFAULT":
        return
    if not is_true(get(resource.props, "enableKeyRotation")):
        yield "enableKeyRotation is not true; expected automatic yearly (or shorter) rotation of the key"


# --- IAM ----------------------------------------------------------------------------------------------------------------

_LIST_ONLY_ACTION = re.compile(r"^[a-z0-9-]+:(Describe|List)[A-Za-z]*\*?$")
# Read-only actions that support no resource-level permissions, so "*" is the only possible Resource.
_ACCOUNT_WIDE_ACTIONS = frozenset(
    {"ecr:GetAuthorizationToken", "sts:GetCallerIdentity", "ec2:GetInstanceTypesFromInstanceRequirements", "pricing:GetProducts"}
)


def _wildcard_problems(document: Mapping[str, Any], where: str) -> Iterable[str]:
    for index, statement in enumerate(statements(document)):
        if statement.get("Effect") != "Allow":
            continue
        label = f"{where} statement {statement.get('Sid') or index}"
        if "NotAction" in statement or "NotResource" in statement:
            yield f"{label} allows NotAction/NotResource; expected explicit actions on explicit resources"
            continue
        actions = [str(action) for action in as_list(statement.get("Action"))]
        wild_actions = [a for a in actions if "*" in a and not _LIST_ONLY_ACTION.match(a)]
        if wild_actions:
            yield f"{label} allows wildcard actions {', '.join(wild_actions)}; expected the specific actions needed"
        resources = [str(resource) for resource in as_list(statement.get("Resource"))]
        if "*" in resources and not all(_LIST_ONLY_ACTION.match(a) or a in _ACCOUNT_WIDE_ACTIONS for a in actions):
            yield f"{label} allows {', '.join(actions) or 'its actions'} on Resource \"*\"; expected specific ARNs"


def check_iam_no_wildcards(resource: PolicyResource, ctx: PolicyContext) -> Iterable[str]:
    """Identity policies grant named actions on named resources (read-only Describe/List on "*" excepted)."""
    if resource.type == AWS_IAM_ROLE_POLICY:
        yield from _wildcard_problems(policy_document(get(resource.props, "policy"), "policy"), "policy")
        return
    for index, inline in enumerate(as_list(get(resource.props, "inlinePolicies"))):
        policy = get(inline, "policy")
        if policy:
            yield from _wildcard_problems(policy_document(policy, f"inlinePolicies[{index}]"), f"inlinePolicies[{index}]")


_SERVICE_ACCOUNT_SUBJECT = re.compile(r"^system:serviceaccount:[a-z0-9]([-a-z0-9]*[a-z0-9])?:[a-z0-9]([-.a-z0-9]*[a-z0-9])?$")


def check_irsa_trust_scoped(resource: PolicyResource, ctx: PolicyContext) -> Iterable[str]:
    """A role assumed through the cluster's OIDC provider trusts exactly one service account (and the STS audience)."""
    document = policy_document(get(resource.props, "assumeRolePolicy"), "assumeRolePolicy")
    for index, statement in enumerate(statements(document)):
        actions = {str(action) for action in as_list(statement.get("Action"))}
        if statement.get("Effect") != "Allow" or not actions & {"sts:AssumeRoleWithWebIdentity", "sts:*", "*"}:
            continue
        label = f"assumeRolePolicy statement {statement.get('Sid') or index}"
        condition = as_mapping(statement.get("Condition"))
        equals = as_mapping(condition.get("StringEquals"))
        subjects = [value for key, values in equals.items() if str(key).endswith(":sub") for value in as_list(values)]
        audiences = [value for key, values in equals.items() if str(key).endswith(":aud") for value in as_list(values)]
        if "StringLike" in condition and any(str(key).endswith(":sub") for key in as_mapping(condition["StringLike"])):
            yield f"{label} matches the subject with StringLike; expected StringEquals on one service account"
        if len(subjects) != 1 or not _SERVICE_ACCOUNT_SUBJECT.match(str(subjects[0])):
            shown = ", ".join(str(s) for s in subjects) or "none"
            yield (
                f"{label} trusts subjects [{shown}]; expected exactly one "
                "StringEquals <oidc>:sub = system:serviceaccount:<namespace>:<name>"
            )
        if audiences != ["sts.amazonaws.com"]:
            yield f"{label} does not pin <oidc>:aud to sts.amazonaws.com; expected StringEquals on the audience"


# --- EKS ------------------------------------------------------------------------------------------------------------------


def check_eks_secrets_encryption(resource: PolicyResource, ctx: PolicyContext) -> Iterable[str]:
    """Kubernetes secrets are envelope-encrypted with a KMS key."""
    configs = [as_mapping(config) for config in as_list(get(resource.props, "encryptionConfig"))]
    if not any("secrets" in as_list(get(c, "resources")) and get(c, "provider", "keyArn") for c in configs):
        yield "encryptionConfig does not encrypt 'secrets' with a KMS keyArn; expected envelope encryption of secrets"


def check_eks_private_endpoint(resource: PolicyResource, ctx: PolicyContext) -> Iterable[str]:
    """The API endpoint is private; a public one only where the stack opted in with specific CIDRs."""
    vpc = as_mapping(get(resource.props, "vpcConfig"))
    if not is_true(get(vpc, "endpointPrivateAccess")):
        yield "vpcConfig.endpointPrivateAccess is not true; expected the private endpoint on"
    if not eks_public_endpoint_on(resource.props):
        return
    public = get(vpc, "endpointPublicAccess")
    cidrs = [str(cidr) for cidr in as_list(get(vpc, "publicAccessCidrs"))]
    if not ctx.endpoint_public_access:
        unset = " (unset means on)" if public is None else ""
        yield f"vpcConfig.endpointPublicAccess is on{unset}; expected false (the stack has not opted into a public endpoint)"
    elif not cidrs or "0.0.0.0/0" in cidrs:
        yield "public endpoint is open to 0.0.0.0/0; expected publicAccessCidrs limited to cluster.public_access_cidrs"
    elif extra := sorted(set(cidrs) - set(ctx.public_access_cidrs)):
        yield f"publicAccessCidrs include {', '.join(extra)}, not in the stack's cluster.public_access_cidrs"


REQUIRED_LOG_TYPES = ("api", "audit", "authenticator")


def check_eks_control_plane_logs(resource: PolicyResource, ctx: PolicyContext) -> Iterable[str]:
    """API, audit and authenticator logs (and whatever the stack adds) go to CloudWatch."""
    enabled = {str(kind) for kind in as_list(get(resource.props, "enabledClusterLogTypes"))}
    wanted = sorted(set(REQUIRED_LOG_TYPES) | set(ctx.cluster_log_types))
    missing = [kind for kind in wanted if kind not in enabled]
    if missing:
        yield f"enabledClusterLogTypes lacks {', '.join(missing)}; expected {', '.join(wanted)}"


# --- Nodes ----------------------------------------------------------------------------------------------------------------


def check_node_volume_encryption(resource: PolicyResource, ctx: PolicyContext) -> Iterable[str]:
    """Node volumes are EBS-encrypted: every block device in the launch template sets encrypted."""
    if resource.type == AWS_EKS_NODE_GROUP:
        if not get(resource.props, "launchTemplate"):
            yield "node group has no launch template, so its root volume's encryption is the account default; expected a launch template with encrypted volumes"
        return
    mappings = [as_mapping(m) for m in as_list(get(resource.props, "blockDeviceMappings"))]
    if not mappings:
        yield "launch template declares no blockDeviceMappings; expected the root volume with ebs.encrypted true"
    for mapping in mappings:
        ebs = as_mapping(get(mapping, "ebs"))
        if ebs and not is_true(get(ebs, "encrypted")):
            yield f"block device {get(mapping, 'deviceName') or '?'} has ebs.encrypted {get(ebs, 'encrypted')!r}; expected true"


def check_node_imdsv2(resource: PolicyResource, ctx: PolicyContext) -> Iterable[str]:
    """Instance metadata needs session tokens (IMDSv2) and stays out of reach of pods (hop limit <= 2)."""
    if resource.type == AWS_EKS_NODE_GROUP:
        if not get(resource.props, "launchTemplate"):
            yield "node group has no launch template, so IMDSv2 is not enforced; expected a launch template with httpTokens required"
        return
    options = as_mapping(get(resource.props, "metadataOptions"))
    if get(options, "httpTokens") != "required":
        yield f"metadataOptions.httpTokens is {get(options, 'httpTokens')!r}; expected 'required' (IMDSv2)"
    hop_limit = get(options, "httpPutResponseHopLimit")
    if isinstance(hop_limit, (int, float)) and hop_limit > 2:
        yield f"metadataOptions.httpPutResponseHopLimit is {hop_limit}; expected at most 2"


# --- Containers (KServe InferenceService) -------------------------------------------------------------------------------


def _security_context(props: Mapping[str, Any], container: Mapping[str, Any]) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
    """The container's securityContext and the predictor's pod-level securityContext."""
    return as_mapping(get(container, "securityContext")), as_mapping(get(isvc_predictor(props), "securityContext"))


def check_container_non_root(resource: PolicyResource, ctx: PolicyContext) -> Iterable[str]:
    """Serving containers run as a non-root user."""
    for where, container in isvc_containers(resource.props):
        own, pod = _security_context(resource.props, container)
        run_as_non_root = get(own, "runAsNonRoot", default=get(pod, "runAsNonRoot"))
        run_as_user = get(own, "runAsUser", default=get(pod, "runAsUser"))
        if run_as_user == 0:
            yield f"{where} runs as user 0 (root); expected a non-zero runAsUser"
        elif not is_true(run_as_non_root):
            yield f"{where}.securityContext.runAsNonRoot is not true; expected runAsNonRoot: true"


def check_container_not_privileged(resource: PolicyResource, ctx: PolicyContext) -> Iterable[str]:
    """Serving containers are not privileged and add no SYS_ADMIN capability."""
    for where, container in isvc_containers(resource.props):
        context = as_mapping(get(container, "securityContext"))
        if is_true(get(context, "privileged")):
            yield f"{where}.securityContext.privileged is true; expected false"
        added = [str(cap) for cap in as_list(get(context, "capabilities", "add"))]
        if any(cap.upper() in ("SYS_ADMIN", "CAP_SYS_ADMIN", "ALL") for cap in added):
            yield f"{where} adds capabilities {', '.join(added)}; expected none of SYS_ADMIN/ALL"


def check_container_no_privilege_escalation(resource: PolicyResource, ctx: PolicyContext) -> Iterable[str]:
    """Serving containers set allowPrivilegeEscalation: false (Kubernetes defaults it to true)."""
    for where, container in isvc_containers(resource.props):
        value = get(container, "securityContext", "allowPrivilegeEscalation")
        if value is not False and not (isinstance(value, str) and value.lower() == "false"):
            yield f"{where}.securityContext.allowPrivilegeEscalation is {value!r}; expected false"


def check_container_resource_limits(resource: PolicyResource, ctx: PolicyContext) -> Iterable[str]:
    """Serving containers set CPU and memory limits."""
    for where, container in isvc_containers(resource.props):
        limits = as_mapping(get(container, "resources", "limits"))
        missing = [name for name in ("cpu", "memory") if not get(limits, name)]
        if missing:
            yield f"{where}.resources.limits lacks {', '.join(missing)}; expected cpu and memory limits"


def _restricts_ingress(policy: PolicyResource) -> bool:
    types = [str(kind) for kind in as_list(get(policy.props, "spec", "policyTypes"))]
    return "Ingress" in types or get(policy.props, "spec", "ingress") is not None


def check_serving_namespace_network_policy(
    resources: Sequence[PolicyResource], ctx: PolicyContext
) -> Iterable[tuple[str, str]]:
    """Every namespace that serves a model has a NetworkPolicy restricting ingress."""
    serving: dict[str, PolicyResource] = {}
    for resource in resources:
        if resource.type == K8S_INFERENCE_SERVICE:
            serving.setdefault(k8s_namespace(resource.props), resource)
    covered = {k8s_namespace(p.props) for p in resources if p.type == K8S_NETWORK_POLICY and _restricts_ingress(p)}
    namespaces = {
        str(get(r.props, "metadata", "name")): r for r in resources if r.type == K8S_NAMESPACE and get(r.props, "metadata", "name")
    }
    for namespace in sorted(set(serving) - covered):
        owner = namespaces.get(namespace, serving[namespace])
        yield owner.urn, f"namespace '{namespace}' serves models but has no NetworkPolicy restricting Ingress; expected one"


def _open_egress_rules(policy: PolicyResource) -> list[str]:
    """Egress rules of a NetworkPolicy that reach beyond the cluster: no `to` at all, or an ipBlock of 0.0.0.0/0 or ::/0."""
    found: list[str] = []
    for index, rule in enumerate(as_list(get(policy.props, "spec", "egress"))):
        peers = as_list(get(rule, "to"))
        if not peers:
            found.append(f"spec.egress[{index}] has no `to` (any destination)")
        for peer in peers:
            cidr = get(peer, "ipBlock", "cidr")
            if cidr in ("0.0.0.0/0", "::/0"):
                found.append(f"spec.egress[{index}] allows ipBlock {cidr}")
    return found


def check_serving_egress_contained(resources: Sequence[PolicyResource], ctx: PolicyContext) -> Iterable[tuple[str, str]]:
    """Namespaces that serve models restrict egress to in-cluster peers and the VPC (where the AWS endpoints answer)."""
    serving = {k8s_namespace(r.props) for r in resources if r.type == K8S_INFERENCE_SERVICE}
    policies = [p for p in resources if p.type == K8S_NETWORK_POLICY and k8s_namespace(p.props) in serving]
    restricted = {
        k8s_namespace(p.props)
        for p in policies
        if "Egress" in [str(kind) for kind in as_list(get(p.props, "spec", "policyTypes"))]
    }
    for policy in policies:
        for problem in _open_egress_rules(policy):
            yield policy.urn, f"{problem}; expected egress only to in-cluster peers and the VPC CIDR (the AWS endpoints)"
    for namespace in sorted(serving - restricted):
        yield "", f"namespace '{namespace}' serves models with unrestricted egress; expected a NetworkPolicy with policyTypes Egress"


# --- Model provenance -----------------------------------------------------------------------------------------------------


def check_model_store_only(resource: PolicyResource, ctx: PolicyContext) -> Iterable[str]:
    """Model artifacts load only from the platform's model store (or a stack's trusted registries)."""
    allowed = [f"s3://{ctx.model_store_bucket}/"] if ctx.model_store_bucket else []
    allowed += list(ctx.trusted_registries)
    for where, container in isvc_containers(resource.props):
        uri = get(container, "storageUri")
        if uri is None:
            continue
        if not any(str(uri).startswith(prefix) for prefix in allowed):
            yield f"{where}.storageUri {uri} is outside the model store; expected a URI under {', '.join(allowed) or '(no store configured)'}"


STAGE_REQUIRED: dict[str, tuple[str, ...]] = {
    "dev": ("none", "staging", "prod"),
    "staging": ("staging", "prod"),
    "prod": ("prod",),
}


def check_approved_stage(resource: PolicyResource, ctx: PolicyContext) -> Iterable[str]:
    """The served version holds a registry approval fit for the environment (prod: prod; staging: staging or prod)."""
    stage = k8s_annotations(resource.props).get(APPROVED_STAGE_ANNOTATION)
    accepted = STAGE_REQUIRED[ctx.environment]
    if stage is None:
        yield f"annotation {APPROVED_STAGE_ANNOTATION} is missing; expected the registry stage of the served version"
    elif stage not in accepted:
        yield f"served version is at registry stage '{stage}'; {ctx.environment} accepts {', '.join(accepted)} (promote it first)"
    elif not ctx.approvals_verified and ctx.environment != "dev":
        # A spec's own claim can only fail the rule, never pass it: without a snapshot the approval is unverified.
        raise NotEvaluated(
            f"approval unverified: stage '{stage}' is the spec's claim; plan with --registry-snapshot of this stack's store"
        )


# --- The rules ----------------------------------------------------------------------------------------------------------

_AWS_DOCS = "https://docs.aws.amazon.com"
SECURITY_RULES: tuple[Rule, ...] = (
    Rule(
        id="ISP-S3-001",
        name="s3-kms-encryption",
        category="security",
        severity="high",
        description="S3 buckets encrypt objects by default with a customer-managed KMS key (SSE-KMS).",
        remediation="Add a BucketServerSideEncryptionConfiguration with sseAlgorithm aws:kms and kmsMasterKeyId of the store's key.",
        docs_url=f"{_AWS_DOCS}/AmazonS3/latest/userguide/UsingKMSEncryption.html",
        default_enforcement=enforcement_by_env("mandatory", "mandatory", "mandatory"),
        stack_check=check_s3_kms_encryption,
    ),
    Rule(
        id="ISP-S3-002",
        name="s3-versioning",
        category="security",
        severity="medium",
        description="S3 buckets keep object versions, so an overwritten or deleted model can be restored.",
        remediation="Add a BucketVersioning with versioningConfiguration.status Enabled.",
        docs_url=f"{_AWS_DOCS}/AmazonS3/latest/userguide/Versioning.html",
        default_enforcement=enforcement_by_env("advisory", "mandatory", "mandatory"),
        stack_check=check_s3_versioning,
    ),
    Rule(
        id="ISP-S3-003",
        name="s3-public-access-blocked",
        category="security",
        severity="critical",
        description="S3 buckets block every form of public access (all four public-access-block flags).",
        remediation="Add a BucketPublicAccessBlock with blockPublicAcls, blockPublicPolicy, ignorePublicAcls, restrictPublicBuckets true.",
        docs_url=f"{_AWS_DOCS}/AmazonS3/latest/userguide/access-control-block-public-access.html",
        default_enforcement=enforcement_by_env("mandatory", "mandatory", "mandatory"),
        stack_check=check_s3_public_access_blocked,
    ),
    Rule(
        id="ISP-S3-004",
        name="s3-tls-only",
        category="security",
        severity="high",
        description="S3 bucket policies deny any request not made over TLS (aws:SecureTransport false).",
        remediation="Add a BucketPolicy statement: Effect Deny, Principal *, Action s3:*, Condition Bool aws:SecureTransport false.",
        docs_url=f"{_AWS_DOCS}/AmazonS3/latest/userguide/security-best-practices.html",
        default_enforcement=enforcement_by_env("mandatory", "mandatory", "mandatory"),
        stack_check=check_s3_tls_only,
    ),
    Rule(
        id="ISP-KMS-001",
        name="kms-key-rotation",
        category="security",
        severity="high",
        description="Symmetric KMS keys rotate automatically.",
        remediation="Set enableKeyRotation: true on the key.",
        docs_url=f"{_AWS_DOCS}/kms/latest/developerguide/rotate-keys.html",
        default_enforcement=enforcement_by_env("mandatory", "mandatory", "mandatory"),
        resource_types=frozenset({AWS_KMS_KEY}),
        resource_check=check_kms_rotation,
    ),
    Rule(
        id="ISP-IAM-001",
        name="iam-no-wildcards",
        category="security",
        severity="critical",
        description="IAM policies allow named actions on named resources: no '*' actions or service:* actions, no Resource '*' "
        "except read-only Describe/List calls, no NotAction/NotResource.",
        remediation="List the exact actions the workload calls and the ARNs it touches (e.g. the model store prefix).",
        docs_url=f"{_AWS_DOCS}/IAM/latest/UserGuide/best-practices.html#grant-least-privilege",
        default_enforcement=enforcement_by_env("mandatory", "mandatory", "mandatory"),
        resource_types=frozenset({AWS_IAM_ROLE_POLICY, AWS_IAM_ROLE}),
        resource_check=check_iam_no_wildcards,
    ),
    Rule(
        id="ISP-IAM-002",
        name="irsa-trust-scoped",
        category="security",
        severity="high",
        description="Roles assumed through the cluster's OIDC provider (IRSA) trust exactly one service account, "
        "with StringEquals on <oidc>:sub and <oidc>:aud = sts.amazonaws.com.",
        remediation="Use Condition StringEquals {<issuer>:sub: system:serviceaccount:<ns>:<sa>, <issuer>:aud: sts.amazonaws.com}.",
        docs_url=f"{_AWS_DOCS}/eks/latest/userguide/associate-service-account-role.html",
        default_enforcement=enforcement_by_env("mandatory", "mandatory", "mandatory"),
        resource_types=frozenset({AWS_IAM_ROLE}),
        resource_check=check_irsa_trust_scoped,
    ),
    Rule(
        id="ISP-EKS-001",
        name="eks-secrets-encryption",
        category="security",
        severity="high",
        description="EKS envelope-encrypts Kubernetes secrets with a KMS key.",
        remediation="Set encryptionConfig {resources: [secrets], provider: {keyArn: <KMS key ARN>}} on the cluster.",
        docs_url=f"{_AWS_DOCS}/eks/latest/userguide/enable-kms.html",
        default_enforcement=enforcement_by_env("mandatory", "mandatory", "mandatory"),
        resource_types=frozenset({AWS_EKS_CLUSTER}),
        resource_check=check_eks_secrets_encryption,
    ),
    Rule(
        id="ISP-EKS-002",
        name="eks-private-endpoint",
        category="security",
        severity="high",
        description="The EKS API endpoint is private. A stack that sets cluster.endpoint_public_access with "
        "public_access_cidrs may also expose it publicly, but only to those CIDRs.",
        remediation="Set vpcConfig endpointPrivateAccess true and endpointPublicAccess false, or opt in per stack with CIDRs.",
        docs_url=f"{_AWS_DOCS}/eks/latest/userguide/cluster-endpoint.html",
        default_enforcement=enforcement_by_env("mandatory", "mandatory", "mandatory"),
        resource_types=frozenset({AWS_EKS_CLUSTER}),
        resource_check=check_eks_private_endpoint,
    ),
    Rule(
        id="ISP-EKS-003",
        name="eks-control-plane-logs",
        category="security",
        severity="medium",
        description="The control plane sends api, audit and authenticator logs (plus the stack's cluster.log_types) to CloudWatch.",
        remediation="Set enabledClusterLogTypes to include api, audit, authenticator.",
        docs_url=f"{_AWS_DOCS}/eks/latest/userguide/control-plane-logs.html",
        default_enforcement=enforcement_by_env("advisory", "mandatory", "mandatory"),
        resource_types=frozenset({AWS_EKS_CLUSTER}),
        resource_check=check_eks_control_plane_logs,
    ),
    Rule(
        id="ISP-NODE-001",
        name="node-volume-encryption",
        category="security",
        severity="high",
        description="Node volumes are EBS-encrypted: node groups use a launch template whose block devices set encrypted.",
        remediation="Give the node group a launch template with blockDeviceMappings[].ebs.encrypted 'true'.",
        docs_url=f"{_AWS_DOCS}/ebs/latest/userguide/ebs-encryption.html",
        default_enforcement=enforcement_by_env("mandatory", "mandatory", "mandatory"),
        resource_types=frozenset({AWS_LAUNCH_TEMPLATE, AWS_EKS_NODE_GROUP}),
        resource_check=check_node_volume_encryption,
    ),
    Rule(
        id="ISP-NODE-002",
        name="node-imdsv2",
        category="security",
        severity="high",
        description="Nodes require IMDSv2 session tokens (httpTokens required, hop limit at most 2).",
        remediation="Set metadataOptions {httpTokens: required, httpPutResponseHopLimit: 2} in the node launch template.",
        docs_url=f"{_AWS_DOCS}/AWSEC2/latest/UserGuide/configuring-IMDS-new-instances.html",
        default_enforcement=enforcement_by_env("mandatory", "mandatory", "mandatory"),
        resource_types=frozenset({AWS_LAUNCH_TEMPLATE, AWS_EKS_NODE_GROUP}),
        resource_check=check_node_imdsv2,
    ),
    Rule(
        id="ISP-K8S-001",
        name="container-non-root",
        category="security",
        severity="high",
        description="Model-serving containers run as a non-root user.",
        remediation="Set securityContext.runAsNonRoot: true (and a non-zero runAsUser) on the predictor's containers.",
        docs_url="https://kubernetes.io/docs/tasks/configure-pod-container/security-context/",
        default_enforcement=enforcement_by_env("mandatory", "mandatory", "mandatory"),
        resource_types=frozenset({K8S_INFERENCE_SERVICE}),
        resource_check=check_container_non_root,
    ),
    Rule(
        id="ISP-K8S-002",
        name="container-not-privileged",
        category="security",
        severity="critical",
        description="Model-serving containers are not privileged and add no SYS_ADMIN or ALL capabilities.",
        remediation="Remove securityContext.privileged and capabilities.add; drop ALL capabilities.",
        docs_url="https://kubernetes.io/docs/concepts/security/pod-security-standards/",
        default_enforcement=enforcement_by_env("mandatory", "mandatory", "mandatory"),
        resource_types=frozenset({K8S_INFERENCE_SERVICE}),
        resource_check=check_container_not_privileged,
    ),
    Rule(
        id="ISP-K8S-003",
        name="container-no-privilege-escalation",
        category="security",
        severity="high",
        description="Model-serving containers set allowPrivilegeEscalation: false (Kubernetes defaults it to true).",
        remediation="Set securityContext.allowPrivilegeEscalation: false on every predictor container.",
        docs_url="https://kubernetes.io/docs/concepts/security/pod-security-standards/",
        default_enforcement=enforcement_by_env("mandatory", "mandatory", "mandatory"),
        resource_types=frozenset({K8S_INFERENCE_SERVICE}),
        resource_check=check_container_no_privilege_escalation,
    ),
    Rule(
        id="ISP-K8S-004",
        name="container-resource-limits",
        category="security",
        severity="medium",
        description="Model-serving containers set CPU and memory limits, so one model cannot starve a node.",
        remediation="Set resources.limits.cpu and resources.limits.memory (equal to requests) on every predictor container.",
        docs_url="https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/",
        default_enforcement=enforcement_by_env("advisory", "mandatory", "mandatory"),
        resource_types=frozenset({K8S_INFERENCE_SERVICE}),
        resource_check=check_container_resource_limits,
    ),
    Rule(
        id="ISP-K8S-005",
        name="serving-namespace-network-policy",
        category="security",
        severity="high",
        description="Every namespace that serves models has a NetworkPolicy that restricts Ingress.",
        remediation="Add a NetworkPolicy in the namespace with policyTypes [Ingress] allowing only the gateway and monitoring.",
        docs_url="https://kubernetes.io/docs/concepts/services-networking/network-policies/",
        default_enforcement=enforcement_by_env("advisory", "mandatory", "mandatory"),
        stack_check=check_serving_namespace_network_policy,
    ),
    Rule(
        id="ISP-K8S-006",
        name="serving-egress-contained",
        category="security",
        severity="high",
        description="Namespaces that serve models restrict egress: NetworkPolicies of type Egress whose rules reach only "
        "in-cluster peers and ipBlocks narrower than 0.0.0.0/0 (the VPC, where S3/STS/ECR endpoints answer).",
        remediation="Let the team component render its NetworkPolicy; keep model sources in the model store.",
        docs_url="https://kubernetes.io/docs/concepts/services-networking/network-policies/",
        default_enforcement=enforcement_by_env("advisory", "mandatory", "mandatory"),
        stack_check=check_serving_egress_contained,
    ),
    Rule(
        id="ISP-MODEL-001",
        name="model-store-only",
        category="security",
        severity="high",
        description="Model artifacts load only from the environment's model store bucket or the stack's policy.trusted_registries.",
        remediation="Publish the artifact with `inferstack publish` and drop artifact.storage_uri, or add the prefix to trusted_registries.",
        docs_url="https://kserve.github.io/website/latest/modelserving/storage/s3/s3/",
        default_enforcement=enforcement_by_env("mandatory", "mandatory", "mandatory"),
        resource_types=frozenset({K8S_INFERENCE_SERVICE}),
        resource_check=check_model_store_only,
    ),
    Rule(
        id="ISP-MODEL-002",
        name="approved-stage",
        category="security",
        severity="high",
        description="The served version holds a registry approval fit for the environment: prod needs stage prod, "
        "staging needs staging or prod, dev anything but archived (annotation inferstack.io/approved-stage).",
        remediation="Promote the version with `inferstack promote NAME VERSION --to ENV`, then plan again.",
        docs_url="https://kserve.github.io/website/latest/modelserving/v1beta1/serving_runtime/",
        default_enforcement=enforcement_by_env("advisory", "advisory", "mandatory"),
        resource_types=frozenset({K8S_INFERENCE_SERVICE}),
        resource_check=check_approved_stage,
    ),
)

__all__ = ["SECURITY_RULES", "NotEvaluated"]
