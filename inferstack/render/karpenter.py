"""Karpenter mode (`cluster.node_autoscaler: karpenter`): NodePools, EC2NodeClasses, controller values and IAM.

The pools are the Blueprint's pools, with the same stable identity as node groups
(inferstack.pool_identity): one NodePool per accelerator class, capacity type and size
class, requiring exactly the class's instance types, the pool's capacity type and the
stack's zones, and labelling its nodes with the pool's labels (the node affinity of the
models is the same in both modes). What the nodes are (template) never follows demand;
only `limits` do, and Karpenter does not drift nodes for limits, weights or budgets.

Checked against the Karpenter v1.14.1 CRDs (`../shared/reference/crds/karpenter-v1.14.1`)
and chart values (`../shared/reference/charts/karpenter-1.14.1/values.yaml`); the
controller policy follows Karpenter's CloudFormation reference policy
(aws/karpenter-provider-aws, website/content/en/docs/getting-started/getting-started-with-karpenter/cloudformation.yaml),
scoped to this cluster's tags.
"""

from __future__ import annotations

from typing import Any

from inferstack.blueprint import Blueprint, NodePool
from inferstack.constants import (
    DEVICE_PLUGIN_CONFIG_LABEL,
    GPU_RESOURCE,
    KARPENTER_API_VERSION,
    KARPENTER_AWS_API_VERSION,
    KARPENTER_NAMESPACE,
    KARPENTER_SERVICE_ACCOUNT,
)
from inferstack.pricing.catalog import Catalog
from inferstack.render.gpu_sharing import pool_device_plugin_config
from inferstack.render.iam import DESCRIBE_ONLY_SID, POLICY_VERSION, PolicyDocument
from inferstack.render.labels import platform_labels, platform_tags

AMI_ALIAS = "al2023@v20251108"
"""The EKS-optimised AL2023 AMI release the nodes run; Karpenter picks its NVIDIA variant for GPU types.

Pinned, not `latest`: a new AMI under `latest` drifts (replaces) every node (the CRD's own advice).
"""
GPU_NODE_CLASS = "gpu"
CPU_NODE_CLASS = "cpu"
GPU_ROOT_VOLUME_GIB = 200
"""Root volume of a GPU node (serving images with CUDA and model caches are large), GiB: both launch paths use it
(components/node_pool.py's launch template, and the EC2NodeClass here), and the cost model prices it."""
CPU_ROOT_VOLUME_GIB = 50
"""Root volume of a CPU node (model pools and the system node group), GiB."""
ROOT_VOLUME_TYPE = "gp3"
"""EBS volume type of every node's root volume."""
SPOT_WEIGHT = 30
ON_DEMAND_WEIGHT = 20
FALLBACK_WEIGHT = 10
"""NodePool weights: spot first, then on-demand, on-demand fallbacks of thin spot pools last (as the CA priorities)."""

DISRUPTION_BY_TIER: dict[str, dict[str, Any]] = {
    # dev: consolidate freely; nodes are cheap to lose.
    "dev": {"consolidationPolicy": "WhenEmptyOrUnderutilized", "consolidateAfter": "2m", "budgets": [{"nodes": "50%"}]},
    # staging: consolidate, at most 20% of a pool's nodes at once.
    "staging": {"consolidationPolicy": "WhenEmptyOrUnderutilized", "consolidateAfter": "10m", "budgets": [{"nodes": "20%"}]},
    # prod: one node at a time; under-used nodes are repacked (and drifted ones replaced) only outside business
    # hours, empty ones go at any time. Without Underutilized, prod never repacks after a peak and keeps paying for
    # half-empty GPU nodes the cost model does not count (issue #19); PDBs still guard every move.
    "prod": {
        "consolidationPolicy": "WhenEmptyOrUnderutilized",
        "consolidateAfter": "30m",
        "budgets": [
            {"nodes": "1"},
            {"nodes": "0", "reasons": ["Drifted", "Underutilized"], "schedule": "0 8 * * mon-fri", "duration": "10h"},
        ],
    },
}
EXPIRE_AFTER_BY_TIER = {"dev": "168h", "staging": "336h", "prod": "720h"}
"""Nodes are replaced (new AMI, patched kernel) after this long."""
TERMINATION_GRACE = "2h"
"""A draining node is forced down after this long, so a PDB cannot block it forever."""

INTERRUPTION_EVENTS: dict[str, dict[str, Any]] = {
    "scheduled-change": {"source": ["aws.health"], "detail-type": ["AWS Health Event"]},
    "spot-interruption": {"source": ["aws.ec2"], "detail-type": ["EC2 Spot Instance Interruption Warning"]},
    "rebalance": {"source": ["aws.ec2"], "detail-type": ["EC2 Instance Rebalance Recommendation"]},
    "instance-state-change": {"source": ["aws.ec2"], "detail-type": ["EC2 Instance State-change Notification"]},
}
"""EventBridge rules feeding the interruption queue (Karpenter's reference CloudFormation template)."""


def node_class_of(pool: NodePool) -> str:
    """The EC2NodeClass of a pool: GPU pools get the larger root volume."""
    return GPU_NODE_CLASS if pool.is_gpu else CPU_NODE_CLASS


def pool_weight(pool: NodePool) -> int:
    """Karpenter tries higher weights first."""
    if pool.fallback_for is not None:
        return FALLBACK_WEIGHT
    return SPOT_WEIGHT if pool.capacity_type == "SPOT" else ON_DEMAND_WEIGHT


def render_node_class(blueprint: Blueprint, name: str, node_role_name: str, cluster_name: str) -> dict[str, Any]:
    """An EC2NodeClass: pinned AL2023 alias, encrypted gp3 root, IMDSv2 with hop limit 1, subnets and SGs by tag.

    Subnets: the cluster's private subnets (tagged `kubernetes.io/cluster/<name>` and
    `kubernetes.io/role/internal-elb`, as the Cluster component creates them; an adopted
    VPC needs the same tags). Security group: the cluster security group EKS creates and
    tags `aws:eks:cluster-name`.
    """
    volume = GPU_ROOT_VOLUME_GIB if name == GPU_NODE_CLASS else CPU_ROOT_VOLUME_GIB
    config = blueprint.config
    return {
        "apiVersion": KARPENTER_AWS_API_VERSION,
        "kind": "EC2NodeClass",
        "metadata": {"name": name, "labels": platform_labels(blueprint.environment, config.cost_center)},
        "spec": {
            "amiSelectorTerms": [{"alias": AMI_ALIAS}],
            "role": node_role_name,
            "subnetSelectorTerms": [
                {"tags": {f"kubernetes.io/cluster/{cluster_name}": "shared", "kubernetes.io/role/internal-elb": "1"}}
            ],
            "securityGroupSelectorTerms": [{"tags": {"aws:eks:cluster-name": cluster_name}}],
            "metadataOptions": {
                "httpEndpoint": "enabled",
                "httpProtocolIPv6": "disabled",
                "httpPutResponseHopLimit": 1,
                "httpTokens": "required",
            },
            "blockDeviceMappings": [
                {
                    "deviceName": "/dev/xvda",
                    "ebs": {"volumeSize": f"{volume}Gi", "volumeType": ROOT_VOLUME_TYPE, "encrypted": True, "deleteOnTermination": True},
                }
            ],
            "tags": platform_tags(blueprint.environment, config.cost_center),
        },
    }


def _limits(pool: NodePool, catalog: Catalog) -> dict[str, str]:
    """At most the pool's max size of its (equal-capacity) nodes."""
    primary = catalog.instances[pool.instance_types[0]]
    limits = {"cpu": str(pool.max_size * primary.vcpu), "memory": f"{pool.max_size * int(primary.memory_gib)}Gi"}
    if pool.is_gpu:
        limits[GPU_RESOURCE] = str(pool.max_size * primary.gpus)
    return limits


def render_node_pool(pool: NodePool, blueprint: Blueprint, catalog: Catalog) -> dict[str, Any]:
    """A NodePool for one Blueprint pool: requirements from the catalogue, GPU taint, limits, tier disruption."""
    config = blueprint.config
    tier = blueprint.environment
    labels = dict(pool.labels)
    if pool.is_gpu:
        labels[DEVICE_PLUGIN_CONFIG_LABEL] = pool_device_plugin_config(pool)
    requirements: list[dict[str, Any]] = [
        {"key": "node.kubernetes.io/instance-type", "operator": "In", "values": list(pool.instance_types)},
        {"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["spot" if pool.capacity_type == "SPOT" else "on-demand"]},
        {"key": "kubernetes.io/arch", "operator": "In", "values": ["amd64"]},
        {"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]},
        {"key": "topology.kubernetes.io/zone", "operator": "In", "values": sorted(set(config.network.availability_zones))},
    ]
    template_spec: dict[str, Any] = {
        "nodeClassRef": {"group": KARPENTER_AWS_API_VERSION.split("/")[0], "kind": "EC2NodeClass", "name": node_class_of(pool)},
        "requirements": requirements,
        "expireAfter": EXPIRE_AFTER_BY_TIER[tier],
        "terminationGracePeriod": TERMINATION_GRACE,
    }
    if pool.taints:
        template_spec["taints"] = [{"key": taint.key, "value": taint.value, "effect": taint.effect} for taint in pool.taints]
    return {
        "apiVersion": KARPENTER_API_VERSION,
        "kind": "NodePool",
        "metadata": {"name": pool.name, "labels": platform_labels(tier, config.cost_center)},
        "spec": {
            "template": {"metadata": {"labels": labels}, "spec": template_spec},
            "disruption": DISRUPTION_BY_TIER[tier],
            "limits": _limits(pool, catalog),
            "weight": pool_weight(pool),
        },
    }


def controller_values(cluster_name: str, queue_name: str, role_arn: str) -> dict[str, Any]:
    """Helm values of the karpenter chart (keys as in its values.yaml)."""
    return {
        "serviceAccount": {"name": KARPENTER_SERVICE_ACCOUNT, "annotations": {"eks.amazonaws.com/role-arn": role_arn}},
        "settings": {"clusterName": cluster_name, "interruptionQueue": queue_name},
        "replicas": 2,
        "controller": {"resources": {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}}},
        "podDisruptionBudget": {"name": "karpenter", "maxUnavailable": 1},
    }


def controller_policy(
    cluster_name: str, region: str, account_id: str, node_role_arn: str, queue_arn: str, partition: str = "aws"
) -> PolicyDocument:
    """What the Karpenter controller may do: launch and tag nodes for this cluster, end only its own, read the queue."""
    ec2 = f"arn:{partition}:ec2:{region}"
    owned = {f"aws:RequestTag/kubernetes.io/cluster/{cluster_name}": "owned"}
    return {
        "Version": POLICY_VERSION,
        "Statement": [
            {
                "Sid": DESCRIBE_ONLY_SID,
                "Effect": "Allow",
                "Action": [
                    "ec2:DescribeAvailabilityZones",
                    "ec2:DescribeCapacityReservations",
                    "ec2:DescribeImages",
                    "ec2:DescribeInstances",
                    "ec2:DescribeInstanceTypeOfferings",
                    "ec2:DescribeInstanceTypes",
                    "ec2:DescribeLaunchTemplates",
                    "ec2:DescribePlacementGroups",
                    "ec2:DescribeSecurityGroups",
                    "ec2:DescribeSpotPriceHistory",
                    "ec2:DescribeSubnets",
                    "iam:ListInstanceProfiles",
                    "pricing:GetProducts",
                ],
                "Resource": "*",
            },
            {
                "Sid": "LaunchFromSharedResources",
                "Effect": "Allow",
                "Action": ["ec2:RunInstances", "ec2:CreateFleet"],
                "Resource": [
                    f"arn:{partition}:ec2:{region}::image/*",
                    f"arn:{partition}:ec2:{region}::snapshot/*",
                    f"{ec2}:*:security-group/*",
                    f"{ec2}:*:subnet/*",
                    f"{ec2}:*:capacity-reservation/*",
                    f"{ec2}:*:placement-group/*",
                ],
            },
            {
                "Sid": "LaunchOwnedResources",
                "Effect": "Allow",
                "Action": ["ec2:RunInstances", "ec2:CreateFleet", "ec2:CreateLaunchTemplate"],
                "Resource": [
                    f"{ec2}:*:fleet/*",
                    f"{ec2}:*:instance/*",
                    f"{ec2}:*:volume/*",
                    f"{ec2}:*:network-interface/*",
                    f"{ec2}:*:launch-template/*",
                    f"{ec2}:*:spot-instances-request/*",
                ],
                "Condition": {"StringEquals": owned, "StringLike": {"aws:RequestTag/karpenter.sh/nodepool": "*"}},
            },
            {
                "Sid": "TagOnLaunch",
                "Effect": "Allow",
                "Action": ["ec2:CreateTags"],
                "Resource": [
                    f"{ec2}:*:fleet/*",
                    f"{ec2}:*:instance/*",
                    f"{ec2}:*:volume/*",
                    f"{ec2}:*:network-interface/*",
                    f"{ec2}:*:launch-template/*",
                    f"{ec2}:*:spot-instances-request/*",
                ],
                "Condition": {
                    "StringEquals": {**owned, "ec2:CreateAction": ["RunInstances", "CreateFleet", "CreateLaunchTemplate"]}
                },
            },
            {
                "Sid": "EndOwnNodesAndTemplates",
                "Effect": "Allow",
                "Action": ["ec2:TerminateInstances", "ec2:DeleteLaunchTemplate", "ec2:CreateTags"],
                "Resource": [f"{ec2}:*:instance/*", f"{ec2}:*:launch-template/*"],
                "Condition": {
                    "StringEquals": {f"aws:ResourceTag/kubernetes.io/cluster/{cluster_name}": "owned"},
                    "StringLike": {"aws:ResourceTag/karpenter.sh/nodepool": "*"},
                },
            },
            {
                "Sid": "PassNodeRole",
                "Effect": "Allow",
                "Action": ["iam:PassRole"],
                "Resource": [node_role_arn],
                "Condition": {"StringEquals": {"iam:PassedToService": ["ec2.amazonaws.com"]}},
            },
            {
                "Sid": "ManageOwnInstanceProfiles",
                "Effect": "Allow",
                "Action": [
                    "iam:AddRoleToInstanceProfile",
                    "iam:CreateInstanceProfile",
                    "iam:DeleteInstanceProfile",
                    "iam:GetInstanceProfile",
                    "iam:RemoveRoleFromInstanceProfile",
                    "iam:TagInstanceProfile",
                ],
                "Resource": [f"arn:{partition}:iam::{account_id}:instance-profile/*"],
                "Condition": {"StringEquals": {f"aws:ResourceTag/kubernetes.io/cluster/{cluster_name}": "owned"}},
            },
            {
                "Sid": "ReadEksOptimisedAmiParameters",
                "Effect": "Allow",
                "Action": ["ssm:GetParameter"],
                "Resource": [f"arn:{partition}:ssm:{region}::parameter/aws/service/*"],
            },
            {
                "Sid": "DescribeOwnCluster",
                "Effect": "Allow",
                "Action": ["eks:DescribeCluster"],
                "Resource": [f"arn:{partition}:eks:{region}:{account_id}:cluster/{cluster_name}"],
            },
            {
                "Sid": "ReadInterruptionQueue",
                "Effect": "Allow",
                "Action": ["sqs:DeleteMessage", "sqs:GetQueueUrl", "sqs:ReceiveMessage"],
                "Resource": [queue_arn],
            },
        ],
    }


def interruption_queue_policy(queue_arn: str) -> PolicyDocument:
    """EventBridge (and SQS itself) may send to the queue, over TLS only."""
    return {
        "Version": POLICY_VERSION,
        "Statement": [
            {
                "Sid": "EventBridgeSends",
                "Effect": "Allow",
                "Principal": {"Service": ["events.amazonaws.com", "sqs.amazonaws.com"]},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
            },
            {
                "Sid": "DenyHTTP",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "sqs:*",
                "Resource": queue_arn,
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
        ],
    }


def karpenter_subject() -> tuple[str, str]:
    """(namespace, service account) the Karpenter controller runs as."""
    return KARPENTER_NAMESPACE, KARPENTER_SERVICE_ACCOUNT
