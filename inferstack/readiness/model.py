"""The vocabulary of deploy-readiness checks: what a check is, what it finds, and what it judges by.

Deploy-readiness checks answer "would the first `pulumi up` of this plan work on a real
cluster and a real AWS account?" offline: custom objects against the CRDs of the versions
installed, KServe's admission webhook, Helm values against the charts, scheduling against
the node pools, storage access against IAM's evaluation rules. They run over the whole
recorded plan graph (the same resources the policy evaluation sees) and report into
policy.json beside the policy rules, with their own rule ids (`deploy-...`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from inferstack.policy.model import PolicyResource, Severity

ReadinessEnforcement = Literal["mandatory", "advisory"]


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem one check found on one resource (urn "" for the stack as a whole)."""

    check_id: str
    urn: str
    message: str


@dataclass(frozen=True, slots=True)
class ReadinessContext:
    """What the checks judge by: the stack's cluster facts and where the upstream reference data lives.

    `reference` is None when `../shared/reference` (or `INFERSTACK_REFERENCE`) is missing; the
    checks that need it then report themselves as not run instead of passing silently.
    """

    environment: str
    kubernetes_version: str
    region: str = "us-east-1"
    preinstalled_crds: frozenset[str] = frozenset()
    reference: Path | None = None
    model_store_bucket: str | None = None
    model_store_kms_key_arn: str | None = None
    managed_node_group_quota: int = 30
    """The account's EKS quota of managed node groups per cluster (AWS default 30; `cluster.managed_node_group_quota`)."""


CheckFunction = Callable[[Sequence[PolicyResource], ReadinessContext], Iterable[Finding]]
"""A check over the whole plan graph: yields one finding per problem."""


@dataclass(frozen=True, slots=True)
class ReadinessCheck:
    """One deploy-readiness check: identity, documentation, default enforcement, and the function that runs it.

    `needs_reference` checks do not run (and say so) when the upstream reference data is missing.
    A check may yield findings under several rule ids (e.g. `deploy-helm-values` and the
    non-mandatory `deploy-helm-unverified`); `rule_ids` lists every id it uses, with its severity.
    """

    id: str
    name: str
    severity: Severity
    description: str
    remediation: str
    source: str
    run: CheckFunction
    needs_reference: bool = False
    enforcement: ReadinessEnforcement = "mandatory"
    extra_rules: Mapping[str, tuple[Severity, ReadinessEnforcement, str]] = field(default_factory=dict)
    """Other rule ids this check reports under: id -> (severity, enforcement, description)."""


def props_of(resource: PolicyResource) -> Mapping[str, Any]:
    """A resource's inputs as a mapping (empty when absent)."""
    return resource.props if isinstance(resource.props, Mapping) else {}
