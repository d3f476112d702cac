"""Compare two plans: what is added, changed (which inputs), removed, and replaced.

Resources are matched by URN. Each change carries its old and new values, path by path
(lists of the same length element by element, JSON documents held in strings such as IAM
policies key by key), for the report. A change is called a replacement when it touches an
input that the provider cannot update in place; the table below lists those for the
resource types inferstack creates (from the providers' documented force-new
arguments). It is an offline approximation of `pulumi preview`'s replace decision.
"""

from __future__ import annotations

import json
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


class Absent:
    """The value of an input that one side of a change does not have."""

    _instance: Absent | None = None

    def __new__(cls) -> Absent:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT = Absent()
"""Old value of an added input, new value of a removed one."""


@dataclass(frozen=True, slots=True)
class InputChange:
    """One changed value: its path (`spec.rules[0].backendRefs[1].weight`), old and new (ABSENT when missing)."""

    path: str
    old: Any
    new: Any


@dataclass(frozen=True, slots=True)
class ChangedResource:
    """A resource present in both plans whose inputs differ.

    `changed_inputs` names the changed inputs down to the first list (`spec.rules`);
    `changes` has every changed value with its old and new value.
    """

    urn: str
    type: str
    changed_inputs: tuple[str, ...]
    replaced: bool
    replace_reasons: tuple[str, ...]
    changes: tuple[InputChange, ...] = ()


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


def _json_document(value: Any) -> Any:
    """A str holding a JSON object or array (an IAM policy, a dashboard), parsed; else None."""
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except ValueError:
            return None
    return None


def _changes(before: Any, after: Any, prefix: str = "") -> Iterator[InputChange]:
    if isinstance(before, dict) and isinstance(after, dict):
        for key in sorted(set(before) | set(after), key=str):
            path = f"{prefix}.{key}" if prefix else str(key)
            if key not in before:
                yield InputChange(path, ABSENT, after[key])
            elif key not in after:
                yield InputChange(path, before[key], ABSENT)
            else:
                yield from _changes(before[key], after[key], path)
    elif isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        for index, (old, new) in enumerate(zip(before, after, strict=True)):
            yield from _changes(old, new, f"{prefix}[{index}]")
    elif before != after:
        old_document, new_document = _json_document(before), _json_document(after)
        if old_document is not None and new_document is not None:
            yield from _changes(old_document, new_document, f"{prefix}(json)")
        else:
            yield InputChange(prefix or "(value)", before, after)


def _input_name(path: str) -> str:
    """The path down to its first list index or JSON document: what `changed_inputs` lists."""
    cut = min((index for index in (path.find("["), path.find("(json)")) if index >= 0), default=len(path))
    return path[:cut]


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
        changes = tuple(_changes(old.inputs, new.inputs))
        paths = tuple(dict.fromkeys(_input_name(change.path) for change in changes))
        reasons = _replace_reasons(new.type, paths)
        changed.append(ChangedResource(urn, new.type, paths, bool(reasons), reasons, changes))
    return PlanDiff(added, removed, tuple(changed))
