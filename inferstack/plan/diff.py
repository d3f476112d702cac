"""Compare two plans: what is added, changed (which inputs), removed, and replaced.

Resources are matched by URN. A change is called a replacement when it touches an
input that the provider cannot update in place; the table below lists those for the
resource types inferstack creates (from the providers' documented force-new
arguments). It is an offline approximation of `pulumi preview`'s replace decision.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from inferstack.plan.document import PlanDocument, PlanResource

REPLACE_ON_CHANGE: dict[str, tuple[str, ...]] = {
    "aws:eks/cluster:Cluster": ("name", "encryptionConfig", "vpcConfig.subnetIds", "kubernetesNetworkConfig"),
    "aws:eks/nodeGroup:NodeGroup": (
        "nodeGroupName",
        "instanceTypes",
        "capacityType",
        "amiType",
        "subnetIds",
        "diskSize",
        "nodeRoleArn",
        "clusterName",
    ),
    "aws:ec2/launchTemplate:LaunchTemplate": ("name",),
    "aws:s3/bucket:Bucket": ("bucket", "bucketPrefix"),
    "aws:kms/key:Key": ("customerMasterKeySpec", "keyUsage", "multiRegion"),
    "aws:iam/role:Role": ("name", "namePrefix", "path"),
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": ("url",),
    "aws:ec2/vpc:Vpc": ("cidrBlock",),
    "aws:ec2/subnet:Subnet": ("cidrBlock", "availabilityZone", "vpcId"),
    "aws:sns/topic:Topic": ("name",),
    "kubernetes:helm.sh/v3:Release": ("name", "namespace"),
}
KUBERNETES_REPLACE_ON_CHANGE = ("metadata.name", "metadata.namespace")


@dataclass(frozen=True, slots=True)
class ChangedResource:
    """A resource present in both plans whose inputs differ."""

    urn: str
    type: str
    changed_inputs: tuple[str, ...]
    replaced: bool
    replace_reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PlanDiff:
    """What a change does to the resource graph."""

    added: tuple[PlanResource, ...] = field(default=())
    removed: tuple[PlanResource, ...] = field(default=())
    changed: tuple[ChangedResource, ...] = field(default=())

    @property
    def replaced(self) -> tuple[ChangedResource, ...]:
        """Changes that force the resource to be recreated."""
        return tuple(change for change in self.changed if change.replaced)

    @property
    def empty(self) -> bool:
        """Whether the two plans describe the same resources."""
        return not (self.added or self.removed or self.changed)

    def to_json(self) -> dict[str, Any]:
        """JSON form for plan.json's summary."""
        return {
            "added": [resource.urn for resource in self.added],
            "removed": [resource.urn for resource in self.removed],
            "changed": [
                {"urn": change.urn, "inputs": list(change.changed_inputs), "replaced": change.replaced}
                for change in self.changed
            ],
        }


def _changed_paths(before: Any, after: Any, prefix: str = "") -> Iterator[str]:
    if isinstance(before, dict) and isinstance(after, dict):
        for key in sorted(set(before) | set(after)):
            path = f"{prefix}.{key}" if prefix else str(key)
            if key not in before or key not in after:
                yield path
            else:
                yield from _changed_paths(before[key], after[key], path)
    elif before != after:
        yield prefix or "(value)"


def _replace_reasons(resource_type: str, paths: tuple[str, ...]) -> tuple[str, ...]:
    keys = REPLACE_ON_CHANGE.get(resource_type, ())
    if resource_type.startswith("kubernetes:"):
        keys = (*keys, *KUBERNETES_REPLACE_ON_CHANGE)
    return tuple(path for path in paths if any(path == key or path.startswith(f"{key}.") for key in keys))


def diff_plans(baseline: PlanDocument, current: PlanDocument) -> PlanDiff:
    """Added, removed and changed resources between `baseline` and `current`, sorted by URN.

    A current resource whose aliases name a baseline URN is that resource (Pulumi moves its
    state to the new URN and updates it in place), so it is compared, not removed and added.
    """
    before = baseline.by_urn()
    after = current.by_urn()
    for resource in current.resources:
        for alias in resource.aliases:
            if alias in before and alias not in after and resource.urn not in before:
                before[resource.urn] = before.pop(alias)
    added = tuple(after[urn] for urn in sorted(after.keys() - before.keys()))
    removed = tuple(before[urn] for urn in sorted(before.keys() - after.keys()))
    changed: list[ChangedResource] = []
    for urn in sorted(before.keys() & after.keys()):
        old, new = before[urn], after[urn]
        if old.inputs == new.inputs:
            continue
        paths = tuple(_changed_paths(old.inputs, new.inputs))
        reasons = _replace_reasons(new.type, paths)
        changed.append(ChangedResource(urn, new.type, paths, bool(reasons), reasons))
    return PlanDiff(added, removed, tuple(changed))
