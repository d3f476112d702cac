"""GpuNodePool: one EKS managed node group per Blueprint NodePool, with its launch template and autoscaler tags."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from inferstack.blueprint import NodePool
from inferstack.constants import (
    CLUSTER_AUTOSCALER_ENABLED_TAG,
    CLUSTER_AUTOSCALER_LABEL_TAG_PREFIX,
    CLUSTER_AUTOSCALER_TAINT_TAG_PREFIX,
    DEVICE_PLUGIN_CONFIG_LABEL,
    GPU_RESOURCE,
    TYPE_GPU_NODE_POOL,
)
from inferstack.render.cluster_autoscaler import node_group_name
from inferstack.render.gpu_sharing import pool_device_plugin_config
from inferstack.render.karpenter import CPU_ROOT_VOLUME_GIB, GPU_ROOT_VOLUME_GIB, ROOT_VOLUME_TYPE
from inferstack.render.labels import pool_tags

GPU_AMI_TYPE = "AL2023_x86_64_NVIDIA"
CPU_AMI_TYPE = "AL2023_x86_64_STANDARD"
TAINT_EFFECTS = {"NoSchedule": "NO_SCHEDULE", "NoExecute": "NO_EXECUTE", "PreferNoSchedule": "PREFER_NO_SCHEDULE"}
RESOURCE_TAG_PREFIX = "k8s.io/cluster-autoscaler/node-template/resources/"


@dataclass(frozen=True, slots=True)
class GpuNodePoolArgs:
    """A Blueprint node pool and the cluster it joins."""

    pool: NodePool
    cluster_name: pulumi.Input[str]
    node_role_arn: pulumi.Input[str]
    subnet_ids: pulumi.Input[list[str]]
    cluster_autoscaler_name: str
    environment: str
    cost_center: str


def launch_template_for(
    name: str, volume_gib: int, tags: dict[str, str], parent: pulumi.Resource
) -> aws.ec2.LaunchTemplate:
    """Launch template with IMDSv2 required (hop limit 1: pods use IRSA, not the node role) and an encrypted gp3 root."""
    return aws.ec2.LaunchTemplate(
        f"{name}-lt",
        metadata_options={
            "http_endpoint": "enabled",
            "http_tokens": "required",
            "http_put_response_hop_limit": 1,
            "instance_metadata_tags": "disabled",
        },
        block_device_mappings=[
            {
                "device_name": "/dev/xvda",
                "ebs": {
                    "volume_size": volume_gib,
                    "volume_type": ROOT_VOLUME_TYPE,
                    "encrypted": "true",
                    "delete_on_termination": "true",
                },
            }
        ],
        tag_specifications=[
            {"resource_type": "instance", "tags": tags},
            {"resource_type": "volume", "tags": tags},
        ],
        update_default_version=True,
        tags=tags,
        opts=pulumi.ResourceOptions(parent=parent),
    )


def autoscaler_tags(pool: NodePool, cluster_name: str, labels: dict[str, str]) -> dict[str, str]:
    """Cluster Autoscaler auto-discovery and node-template tags (labels, taints, GPUs) for scale from zero."""
    tags = {CLUSTER_AUTOSCALER_ENABLED_TAG: "true", f"k8s.io/cluster-autoscaler/{cluster_name}": "owned"}
    for key, value in labels.items():
        tags[f"{CLUSTER_AUTOSCALER_LABEL_TAG_PREFIX}{key}"] = value
    for taint in pool.taints:
        tags[f"{CLUSTER_AUTOSCALER_TAINT_TAG_PREFIX}{taint.key}"] = f"{taint.value}:{taint.effect}"
    if pool.is_gpu:
        tags[f"{RESOURCE_TAG_PREFIX}{GPU_RESOURCE}"] = str(pool.gpus_per_node * pool.time_slicing_replicas)
    return tags


class GpuNodePool(pulumi.ComponentResource):
    """A managed node group for one accelerator class and capacity type (spot or on-demand).

    Several instance types diversify spot capacity; GPU pools use the NVIDIA AL2023 AMI and
    carry the `nvidia.com/gpu` taint; nodes of time-sliced pools select the device plugin's
    sharing config by label. Cluster Autoscaler finds the group by its tags and owns
    its desired size.
    """

    node_group: aws.eks.NodeGroup

    def __init__(self, name: str, args: GpuNodePoolArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_GPU_NODE_POOL, name, None, opts)
        pool = args.pool
        tags = pool_tags(args.environment, args.cost_center)
        labels = dict(pool.labels)
        if pool.is_gpu:
            labels[DEVICE_PLUGIN_CONFIG_LABEL] = pool_device_plugin_config(pool)
        template = launch_template_for(
            name, GPU_ROOT_VOLUME_GIB if pool.is_gpu else CPU_ROOT_VOLUME_GIB, tags=tags, parent=self
        )
        self.node_group = aws.eks.NodeGroup(
            f"{name}-ng",
            cluster_name=args.cluster_name,
            node_group_name=node_group_name(args.cluster_autoscaler_name, pool),
            node_role_arn=args.node_role_arn,
            subnet_ids=args.subnet_ids,
            capacity_type=pool.capacity_type,
            instance_types=list(pool.instance_types),
            ami_type=GPU_AMI_TYPE if pool.is_gpu else CPU_AMI_TYPE,
            scaling_config={"min_size": pool.min_size, "max_size": pool.max_size, "desired_size": pool.desired_size},
            update_config={"max_unavailable": 1},
            labels=labels,
            taints=[{"key": taint.key, "value": taint.value, "effect": TAINT_EFFECTS[taint.effect]} for taint in pool.taints],
            launch_template={"id": template.id, "version": template.latest_version.apply(str)},
            tags={**tags, **autoscaler_tags(pool, args.cluster_autoscaler_name, labels)},
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["scalingConfig.desiredSize"]),
        )
        self.register_outputs({"node_group_arn": self.node_group.arn})
