"""irsa_role: an IAM role that exactly one Kubernetes ServiceAccount may assume (IAM Roles for Service Accounts)."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from inferstack.render.iam import irsa_trust_policy


def irsa_role(
    resource_name: str,
    *,
    oidc_provider_arn: pulumi.Input[str],
    oidc_issuer_url: pulumi.Input[str],
    namespace: str,
    service_account: str,
    tags: dict[str, str],
    opts: pulumi.ResourceOptions,
    description: str | None = None,
    max_session_duration: int | None = None,
) -> aws.iam.Role:
    """A role trusting only `system:serviceaccount:<namespace>:<service_account>` through the cluster's
    OIDC provider, with the STS audience pinned (render/iam.py irsa_trust_policy; policy ISP-IAM-002)."""
    return aws.iam.Role(
        resource_name,
        description=description,
        assume_role_policy=pulumi.Output.all(oidc_provider_arn, oidc_issuer_url).apply(
            lambda values: json.dumps(irsa_trust_policy(values[0], values[1], namespace, service_account))
        ),
        max_session_duration=max_session_duration,
        tags=tags,
        opts=opts,
    )
