"""IAM policy documents (plain JSON dicts) for IRSA roles and the cluster's own roles.

Serving roles read one team's model prefix and decrypt with one KMS key; no
wildcard actions, and no wildcard resources beyond the team prefix's objects.
"""

from __future__ import annotations

from typing import Any

from inferstack.constants import CLUSTER_AUTOSCALER_NAMESPACE, CLUSTER_AUTOSCALER_SERVICE_ACCOUNT

PolicyDocument = dict[str, Any]
POLICY_VERSION = "2012-10-17"


def issuer_host(issuer_url: str) -> str:
    """The OIDC issuer without its scheme, as IAM condition keys spell it."""
    return issuer_url.removeprefix("https://")


def irsa_trust_policy(oidc_provider_arn: str, issuer_url: str, namespace: str, service_account: str) -> PolicyDocument:
    """Trust for exactly one ServiceAccount, with the STS audience pinned."""
    host = issuer_host(issuer_url)
    return {
        "Version": POLICY_VERSION,
        "Statement": [
            {
                "Sid": "AssumeFromServiceAccount",
                "Effect": "Allow",
                "Principal": {"Federated": oidc_provider_arn},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        f"{host}:sub": f"system:serviceaccount:{namespace}:{service_account}",
                        f"{host}:aud": "sts.amazonaws.com",
                    }
                },
            }
        ],
    }


def service_trust_policy(service: str) -> PolicyDocument:
    """Trust for an AWS service principal (eks.amazonaws.com, ec2.amazonaws.com)."""
    return {
        "Version": POLICY_VERSION,
        "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
    }


def model_reader_policy(bucket_arn: str, prefix: str, kms_key_arn: str, region: str) -> PolicyDocument:
    """Read the objects under one prefix, list only that prefix, decrypt only through S3 with one key."""
    prefix = prefix if prefix.endswith("/") else prefix + "/"
    return {
        "Version": POLICY_VERSION,
        "Statement": [
            {
                "Sid": "ReadTeamModels",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:GetObjectVersion"],
                "Resource": [f"{bucket_arn}/{prefix}*"],
            },
            {
                "Sid": "ListTeamPrefix",
                "Effect": "Allow",
                "Action": ["s3:ListBucket"],
                "Resource": [bucket_arn],
                "Condition": {"StringLike": {"s3:prefix": [prefix, f"{prefix}*"]}},
            },
            {
                "Sid": "DecryptModelStoreKey",
                "Effect": "Allow",
                "Action": ["kms:Decrypt"],
                "Resource": [kms_key_arn],
                "Condition": {"StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"}},
            },
        ],
    }


DESCRIBE_ONLY_SID = "DescribeOnlyNoResourceScoping"
"""Sid of the one statement with Resource "*": read-only Describe calls that IAM cannot scope to resources."""


def cluster_autoscaler_policy(cluster_name: str, region: str, account_id: str, partition: str = "aws") -> PolicyDocument:
    """Cluster Autoscaler: change only the size of this cluster's tagged node-group ASGs."""
    return {
        "Version": POLICY_VERSION,
        "Statement": [
            {
                "Sid": DESCRIBE_ONLY_SID,
                "Effect": "Allow",
                "Action": [
                    "autoscaling:DescribeAutoScalingGroups",
                    "autoscaling:DescribeAutoScalingInstances",
                    "autoscaling:DescribeLaunchConfigurations",
                    "autoscaling:DescribeScalingActivities",
                    "autoscaling:DescribeTags",
                    "ec2:DescribeImages",
                    "ec2:DescribeInstanceTypes",
                    "ec2:DescribeLaunchTemplateVersions",
                    "ec2:GetInstanceTypesFromInstanceRequirements",
                ],
                "Resource": "*",
            },
            {
                "Sid": "DescribeOwnNodeGroups",
                "Effect": "Allow",
                "Action": ["eks:DescribeNodegroup"],
                "Resource": [f"arn:{partition}:eks:{region}:{account_id}:nodegroup/{cluster_name}/*"],
            },
            {
                "Sid": "ResizeOwnNodeGroups",
                "Effect": "Allow",
                "Action": ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"],
                "Resource": [f"arn:{partition}:autoscaling:{region}:{account_id}:autoScalingGroup:*:autoScalingGroupName/eks-*"],
                "Condition": {"StringEquals": {f"aws:ResourceTag/k8s.io/cluster-autoscaler/{cluster_name}": "owned"}},
            },
        ],
    }


def cluster_autoscaler_subject() -> tuple[str, str]:
    """(namespace, service account) the Cluster Autoscaler runs as."""
    return CLUSTER_AUTOSCALER_NAMESPACE, CLUSTER_AUTOSCALER_SERVICE_ACCOUNT


def statements(document: PolicyDocument) -> list[dict[str, Any]]:
    """The statements of a policy document as a list."""
    found = document.get("Statement", [])
    return found if isinstance(found, list) else [found]


def as_list(value: Any) -> list[Any]:
    """An IAM field that may be a string or a list, as a list."""
    return value if isinstance(value, list) else [value]
