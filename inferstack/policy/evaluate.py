"""Run every rule over a set of resources and collect a deterministic report (policy.json).

This is the offline path; the CrossGuard pack in policies/ wraps the same rule
functions, so both report the same violations for the same resources.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from inferstack.policy.catalog import RULES
from inferstack.policy.model import Enforcement, NotEvaluated, PolicyContext, PolicyResource, Rule, Severity

_SEVERITY_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3}
_ENFORCEMENT_ORDER = {"mandatory": 0, "advisory": 1, "disabled": 2}


@dataclass(frozen=True, slots=True)
class Violation:
    """One rule broken by one resource (urn "" for the stack as a whole)."""

    rule_id: str
    policy: str
    category: str
    severity: Severity
    enforcement: Enforcement
    urn: str
    message: str

    def to_json(self) -> dict[str, Any]:
        """The policy.json form."""
        return {
            "policy": self.policy,
            "rule_id": self.rule_id,
            "category": self.category,
            "severity": self.severity,
            "enforcement": self.enforcement,
            "urn": self.urn,
            "message": self.message,
        }


@dataclass(frozen=True, slots=True)
class NotEvaluatedRule:
    """A rule (for one resource, or the stack) that could not judge, and why."""

    policy: str
    urn: str
    reason: str


@dataclass(frozen=True, slots=True)
class PolicyReport:
    """What `evaluate` found: violations, rules that could not judge, and how many resources were checked."""

    environment: str
    violations: tuple[Violation, ...]
    not_evaluated: tuple[NotEvaluatedRule, ...]
    checked: int
    rules: int

    @property
    def has_mandatory_violations(self) -> bool:
        """Whether a deployment must stop (`plan` exits 1)."""
        return any(v.enforcement == "mandatory" for v in self.violations)

    def to_json(self) -> dict[str, Any]:
        """policy.json: `{"violations": [...], "checked": int, ...}` (extra keys: environment, rules, not_evaluated, mandatory)."""
        return {
            "environment": self.environment,
            "checked": self.checked,
            "rules": self.rules,
            "mandatory": sum(1 for v in self.violations if v.enforcement == "mandatory"),
            "violations": [v.to_json() for v in self.violations],
            "not_evaluated": [{"policy": n.policy, "urn": n.urn, "reason": n.reason} for n in self.not_evaluated],
        }


def has_mandatory_violations(report: PolicyReport) -> bool:
    """Whether the report holds a mandatory violation."""
    return report.has_mandatory_violations


def run_rule(rule: Rule, resources: Sequence[PolicyResource], ctx: PolicyContext) -> tuple[list[tuple[str, str]], list[NotEvaluatedRule]]:
    """(urn, message) pairs for one rule over the resources, and where it could not judge."""
    found: list[tuple[str, str]] = []
    skipped: list[NotEvaluatedRule] = []
    if rule.stack_check is not None:
        try:
            found.extend(rule.stack_check(resources, ctx))
        except NotEvaluated as reason:
            skipped.append(NotEvaluatedRule(rule.name, "", reason.reason))
        return found, skipped
    assert rule.resource_check is not None
    for resource in resources:
        if resource.type not in rule.resource_types:
            continue
        try:
            found.extend((resource.urn, message) for message in rule.resource_check(resource, ctx))
        except NotEvaluated as reason:
            skipped.append(NotEvaluatedRule(rule.name, resource.urn, reason.reason))
    return found, skipped


ADOPTED_PARTS: dict[str, tuple[frozenset[str], frozenset[str], str]] = {
    "cluster": (
        frozenset({"aws:eks/cluster:Cluster"}),
        frozenset(),
        "the cluster is adopted (cluster.create: false); its settings are not in the plan, check them in the account",
    ),
    "model_store": (
        frozenset(),
        frozenset(
            {
                "s3-kms-encryption",
                "s3-versioning",
                "s3-public-access-blocked",
                "s3-tls-only",
                "bucket-policy-no-foreign-grants",
                "prod-noncurrent-retention",
            }
        ),
        "the model store bucket is adopted (model_store.create: false); its settings are not in the plan",
    ),
    "gateway": (
        frozenset(),
        frozenset({"gateway-tls"}),
        "the Gateway is adopted (serving.gateway_create: false); its listeners and certificate are not in the plan",
    ),
}
"""Per part of the platform a stack may adopt: the resource types and the (stack) rules that judge it, and why they are silent."""


def adopted_not_evaluated(rules: Sequence[Rule], ctx: PolicyContext) -> list[NotEvaluatedRule]:
    """Rules that judge a resource the stack adopts instead of creating: listed as not evaluated, never as passed."""
    found: list[NotEvaluatedRule] = []
    for adopted in sorted(ctx.adopted):
        types, names, reason = ADOPTED_PARTS.get(adopted, (frozenset(), frozenset(), ""))
        for rule in rules:
            if (rule.resource_types & types or rule.name in names) and rule.enforcement(ctx) != "disabled":
                found.append(NotEvaluatedRule(rule.name, "", reason))
    return found


def evaluate(resources: Iterable[PolicyResource], ctx: PolicyContext, rules: Sequence[Rule] = RULES) -> PolicyReport:
    """Every enabled rule over the resources; violations sorted by enforcement, severity, rule id, urn, message."""
    resource_list = list(resources)
    violations: list[Violation] = []
    not_evaluated: list[NotEvaluatedRule] = []
    enabled = 0
    for rule in rules:
        enforcement = rule.enforcement(ctx)
        if enforcement == "disabled":
            continue
        enabled += 1
        found, skipped = run_rule(rule, resource_list, ctx)
        not_evaluated.extend(skipped)
        violations.extend(
            Violation(rule.id, rule.name, rule.category, rule.severity, enforcement, urn, message) for urn, message in found
        )
    not_evaluated.extend(adopted_not_evaluated(rules, ctx))
    violations.sort(
        key=lambda v: (_ENFORCEMENT_ORDER[v.enforcement], _SEVERITY_ORDER[v.severity], v.rule_id, v.urn, v.message)
    )
    not_evaluated.sort(key=lambda n: (n.policy, n.urn, n.reason))
    return PolicyReport(ctx.environment, tuple(violations), tuple(not_evaluated), len(resource_list), enabled)
