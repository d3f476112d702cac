"""Check: the plan fits the AWS account's default EKS service quotas (or the raised ones the stack declares).

A managed node group past the quota fails `pulumi up` with a LimitExceeded error half-way
through the first deploy, after the cluster and other node groups exist. The quotas
(AWS EKS User Guide, "View and manage Amazon EKS and Fargate service quotas",
https://docs.aws.amazon.com/eks/latest/userguide/service-quotas.html):

- managed node groups per cluster: 30 by default, adjustable through Service Quotas;
- nodes per managed node group: 450 by default, adjustable.

The stack declares a raised quota in `inferstack:cluster.managed_node_group_quota` once the
account has it, or needs fewer node groups with narrower `inferstack:gpu.fit_classes`;
Karpenter NodePools are Kubernetes objects and count against neither.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Final

from inferstack.policy.model import PolicyResource
from inferstack.readiness.model import Finding, ReadinessContext, props_of

CHECK_ID: Final = "deploy-service-quotas"
NODE_GROUP: Final = "aws:eks/nodeGroup:NodeGroup"
NODES_PER_NODE_GROUP_QUOTA: Final = 450
"""EKS default quota "Nodes per managed node group"."""


def check_service_quotas(resource_list: Sequence[PolicyResource], ctx: ReadinessContext) -> Iterable[Finding]:
    """Yield a finding when the plan's managed node groups exceed the quota, and one per group above 450 nodes."""
    groups = [resource for resource in resource_list if resource.type == NODE_GROUP]
    if len(groups) > ctx.managed_node_group_quota:
        yield Finding(
            CHECK_ID,
            "",
            f"the plan creates {len(groups)} managed node groups in one cluster, above the account's quota of "
            f"{ctx.managed_node_group_quota} (EKS 'Managed node groups per cluster', default 30): pulumi up would fail "
            "with LimitExceeded; request an increase in Service Quotas and set inferstack:cluster.managed_node_group_quota "
            "to the granted value, narrow inferstack:gpu.fit_classes (each size class a model may use is a node group; "
            "docs/cost-model.md), or use cluster.node_autoscaler: karpenter (NodePools count against no such quota)",
        )
    for group in groups:
        maximum = int((props_of(group).get("scalingConfig") or {}).get("maxSize") or 0)
        if maximum > NODES_PER_NODE_GROUP_QUOTA:
            yield Finding(
                CHECK_ID,
                group.urn,
                f"node group {group.name} may grow to {maximum} nodes, above EKS's default quota of "
                f"{NODES_PER_NODE_GROUP_QUOTA} nodes per managed node group: request an increase first",
            )
