"""The staging program under mocks: the thin H100 spot pool's on-demand fallback node group and the autoscaler values that rank it last."""

from __future__ import annotations

import re
from pathlib import Path

from inferstack.constants import LABEL_CAPACITY_TYPE, LABEL_NODE_POOL
from inferstack.mocks import InferstackMocks, run_under_mocks
from inferstack.render.cluster_autoscaler import FALLBACK_PRIORITY, SCALE_DOWN_UTILIZATION_THRESHOLD, SPOT_PRIORITY

ASG_UUID = "40bbb26b-8679-eb64-d33a-4ba475413529"


def test_staging_renders_the_fallback_group_and_the_expander_priorities(repo_root: Path) -> None:
    records = run_under_mocks("staging", repo_root / "model_specs", repo_root / "stacks", InferstackMocks(region="us-east-1"))
    groups = {
        record.inputs.get("nodeGroupName"): record.inputs for record in records if record.type == "aws:eks/nodeGroup:NodeGroup"
    }
    fallback = groups["inferstack-staging-h100-fallback-8x-192c-2048g"]
    spot = groups["inferstack-staging-h100-spot-8x-192c-2048g"]
    assert fallback["capacityType"] == "ON_DEMAND" and spot["capacityType"] == "SPOT"
    assert fallback["scalingConfig"]["minSize"] == 0 and fallback["instanceTypes"] == spot["instanceTypes"]
    assert fallback["labels"][LABEL_NODE_POOL] == spot["labels"][LABEL_NODE_POOL] == "h100-spot-8x-192c-2048g"
    assert fallback["labels"][LABEL_CAPACITY_TYPE] == "on-demand"

    (release,) = [record for record in records if record.type == "kubernetes:helm.sh/v3:Release" and record.inputs.get("name") == "cluster-autoscaler"]
    values = release.inputs["values"]
    assert "priority" in values["extraArgs"]["expander"].split(",")  # the chart renders the ConfigMap only then
    # Issue #19: under-used nodes (GPU and CPU) are scale-down candidates below 70% requested, not the default 50%.
    assert values["extraArgs"]["scale-down-utilization-threshold"] == SCALE_DOWN_UTILIZATION_THRESHOLD == 0.7
    assert values["extraArgs"]["scale-down-gpu-utilization-threshold"] == 0.7
    priorities = values["expanderPriorities"]

    def rank(asg: str) -> int:
        return max(int(level) for level, patterns in priorities.items() if any(re.search(pattern, asg) for pattern in patterns))

    assert rank(f"eks-inferstack-staging-h100-spot-8x-192c-2048g-{ASG_UUID}") == SPOT_PRIORITY
    assert rank(f"eks-inferstack-staging-h100-fallback-8x-192c-2048g-{ASG_UUID}") == FALLBACK_PRIORITY
