"""Wrap the rule functions as Pulumi CrossGuard policies (pulumi_policy), for `pulumi up --policy-pack policies`.

Context, decided once and documented in policies/README.md:

- environment: per resource, its own environment tag/label (TAG_ENVIRONMENT /
  LABEL_ENVIRONMENT); for a stack policy, the most common one among the
  resources; else INFERSTACK_ENVIRONMENT, else the stack name the engine passes
  the analyzer in PULUMI_STACK (its last path segment: a tier's name, or a
  stack whose file names its tier with `inferstack:tier`, e.g. prod-eu-west-1).
- thresholds and enforcement overrides: the start-up stack's file when the tier
  is the start-up stack's, else `<stacks_dir>/Pulumi.<tier>.yaml` (default: the repository's stacks/, found
  from the pack's own directory; INFERSTACK_STACKS_DIR replaces it), validated
  like every other reader of stack files.
- cost figures: policy config of the budget policies (`monthlyCostUsd`,
  `teamMonthlyCostUsd`, `expectedMonthlyCostUsd`, `peakMonthlyCostUsd`,
  `teamExpectedMonthlyCostUsd`, `teamPeakMonthlyCostUsd`) through
  `--policy-pack-config`; without them the budget policies report "not
  applicable" with the reason.
- enforcement: CrossGuard fixes a policy's level when the pack starts, so it is
  the rule's level for the start-up environment (stack override applied); when
  the environment is unknown at start-up, the strictest level over all
  environments. A rule disabled for a resource's own environment reports
  "not applicable". `--policy-pack-config` can still set any policy's level.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy import PolicyResource as CrossGuardResource

from inferstack.constants import ENVIRONMENTS, Environment
from inferstack.policy.catalog import RULES
from inferstack.policy.model import CostFigures, Enforcement, NotEvaluated, PolicyContext, PolicyResource, Rule
from inferstack.policy.props import environment_of

ENFORCEMENT_LEVELS: dict[Enforcement, EnforcementLevel] = {
    "mandatory": EnforcementLevel.MANDATORY,
    "advisory": EnforcementLevel.ADVISORY,
    "disabled": EnforcementLevel.DISABLED,
}
SEVERITIES: dict[str, Severity] = {
    "critical": Severity.CRITICAL,
    "high": Severity.HIGH,
    "medium": Severity.MEDIUM,
    "low": Severity.LOW,
}
_STRICTNESS: dict[Enforcement, int] = {"mandatory": 2, "advisory": 1, "disabled": 0}

COST_CONFIG_SCHEMA = PolicyConfigSchema(
    properties={
        "monthlyCostUsd": {"type": "number", "description": "The cost model's monthly estimate of the stack, USD."},
        "teamMonthlyCostUsd": {
            "type": "object",
            "additionalProperties": {"type": "number"},
            "description": "Monthly estimate per team, USD.",
        },
        "expectedMonthlyCostUsd": {"type": "number", "description": "Expected monthly spend of the stack (all costs), USD."},
        "peakMonthlyCostUsd": {"type": "number", "description": "Monthly cost of the stack at peak (all costs), USD."},
        "teamExpectedMonthlyCostUsd": {
            "type": "object",
            "additionalProperties": {"type": "number"},
            "description": "Expected monthly spend per team, USD.",
        },
        "teamPeakMonthlyCostUsd": {
            "type": "object",
            "additionalProperties": {"type": "number"},
            "description": "Monthly cost per team at peak, USD.",
        },
    }
)


def plain(value: Any) -> Any:
    """Deep copy of CrossGuard's unknown-checking proxies as plain dicts and lists.

    Unknown values stay as Pulumi's sentinel strings, which the rules' property
    reader turns into "not evaluated".
    """
    if isinstance(value, Mapping):
        target = value["__target"] if type(value).__name__ == "_DictProxy" else value
        return {str(key): plain(item) for key, item in dict(target).items()}
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        target = value["__target"] if type(value).__name__ == "_ListProxy" else value  # type: ignore[index]
        return [plain(item) for item in target]
    return value


def cost_from_config(config: Mapping[str, Any]) -> CostFigures | None:
    """Cost figures from a budget policy's config, or None when not supplied."""
    keys = ("monthlyCostUsd", "teamMonthlyCostUsd", "expectedMonthlyCostUsd", "peakMonthlyCostUsd",
            "teamExpectedMonthlyCostUsd", "teamPeakMonthlyCostUsd")
    if all(config.get(key) is None for key in keys):
        return None

    def number(key: str) -> float | None:
        value = config.get(key)
        return float(value) if value is not None else None

    def teams(key: str) -> dict[str, float] | None:
        value = config.get(key)
        return {str(team): float(cost) for team, cost in dict(value).items()} if value is not None else None

    return CostFigures(
        monthly_usd=number("monthlyCostUsd"),
        by_team=teams("teamMonthlyCostUsd"),
        expected_monthly_usd=number("expectedMonthlyCostUsd"),
        peak_monthly_usd=number("peakMonthlyCostUsd"),
        by_team_expected=teams("teamExpectedMonthlyCostUsd"),
        by_team_peak=teams("teamPeakMonthlyCostUsd"),
    )


class PackContext:
    """Where the pack finds its PolicyContext: environment tier, stack files (cached per stack), start-up stack and tier."""

    def __init__(self, stacks_dir: Path, startup_environment: Environment | None, startup_stack: str | None = None) -> None:
        self.stacks_dir = stacks_dir
        self.startup_environment: Environment | None = startup_environment
        self.startup_stack = startup_stack or startup_environment
        """The stack `pulumi up` runs (its file holds the thresholds of its tier's resources), e.g. prod-eu-west-1."""
        self._configs: dict[str, Any] = {}

    @classmethod
    def from_process(cls, default_stacks_dir: Path, environ: Mapping[str, str] | None = None) -> PackContext:
        """From the analyzer's environment variables (INFERSTACK_ENVIRONMENT, PULUMI_STACK, INFERSTACK_STACKS_DIR).

        A stack not named after a tier (e.g. prod-eu-west-1) is known by its stack file's `inferstack:tier`.
        """
        env = os.environ if environ is None else environ
        stacks_dir = Path(env.get("INFERSTACK_STACKS_DIR") or default_stacks_dir)
        candidates = [env.get("INFERSTACK_ENVIRONMENT", ""), env.get("PULUMI_STACK", "").rsplit("/", 1)[-1]]
        for name in candidates:
            if name in ENVIRONMENTS:
                return cls(stacks_dir, name)  # type: ignore[arg-type]
            if name and (stacks_dir / f"Pulumi.{name}.yaml").is_file():
                from inferstack.spec.loader import load_environment

                pack = cls(stacks_dir, None, name)
                config = load_environment(stacks_dir, name)
                pack._configs[name] = config
                pack.startup_environment = config.environment
                return pack
        return cls(stacks_dir, None)

    def context(self, environment: str, cost: CostFigures | None = None) -> PolicyContext:
        """The context of tier `environment`: the start-up stack's file when it is of that tier, else the tier's own stack file."""
        from inferstack.spec.loader import load_environment

        stack = self.startup_stack if self.startup_stack and environment == self.startup_environment else environment
        if stack not in self._configs:
            self._configs[stack] = load_environment(self.stacks_dir, stack)
        # The program reads approvals from this snapshot (inferstack/program.py REGISTRY_SNAPSHOT_ENV); without one they
        # are the specs' claims.
        verified = bool(os.environ.get("INFERSTACK_REGISTRY_SNAPSHOT"))
        return PolicyContext.from_environment(self._configs[stack], cost, approvals_verified=verified)

    def environment_for(self, resources: Sequence[PolicyResource]) -> str | None:
        """The most common environment the resources state, else the start-up environment."""
        stated = Counter(env for env in (environment_of(r) for r in resources) if env in ENVIRONMENTS)
        if stated:
            return sorted(stated.items(), key=lambda item: (-item[1], item[0]))[0][0]
        return self.startup_environment

    def static_enforcement(self, rule: Rule) -> Enforcement:
        """The level CrossGuard is given when the pack starts."""
        if self.startup_environment is not None:
            return rule.enforcement(self.context(self.startup_environment))
        return max(rule.default_enforcement.values(), key=lambda level: _STRICTNESS[level])


def _not_applicable(args: ResourceValidationArgs | StackValidationArgs, reason: str) -> NoReturn:
    args.not_applicable(reason)
    raise AssertionError("not_applicable returns by raising")  # pragma: no cover


def _resource_validation(rule: Rule, pack: PackContext):  # noqa: ANN202 - the pulumi_policy callback type
    check = rule.resource_check
    assert check is not None

    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        if args.resource_type not in rule.resource_types:
            return
        resource = PolicyResource(args.urn, args.resource_type, args.name, plain(args.props), args.opts.parent if args.opts else None)
        environment = pack.environment_for([resource])
        if environment is None:
            _not_applicable(args, "environment unknown: no environment tag/label, INFERSTACK_ENVIRONMENT or PULUMI_STACK")
        ctx = pack.context(environment)
        if rule.enforcement(ctx) == "disabled":
            _not_applicable(args, f"{rule.name} is disabled in {environment}")
        try:
            messages = list(check(resource, ctx))
        except NotEvaluated as reason:
            _not_applicable(args, reason.reason)
        for message in messages:
            report_violation(message, None)

    return validate


def policy_resource(resource: CrossGuardResource) -> PolicyResource:
    """A CrossGuard stack resource as a rule sees it (parent and dependencies as URNs)."""
    return PolicyResource(
        urn=resource.urn,
        type=resource.resource_type,
        name=resource.name,
        props=plain(resource.props),
        parent=resource.parent.urn if resource.parent is not None else None,
        dependencies=tuple(dependency.urn for dependency in resource.dependencies),
    )


def _stack_validation(rule: Rule, pack: PackContext):  # noqa: ANN202 - the pulumi_policy callback type
    check = rule.stack_check
    assert check is not None

    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        resources = [policy_resource(resource) for resource in args.resources]
        environment = pack.environment_for(resources)
        if environment is None:
            _not_applicable(args, "environment unknown: no environment tag/label, INFERSTACK_ENVIRONMENT or PULUMI_STACK")
        ctx = pack.context(environment, cost_from_config(args.get_config()))
        if rule.enforcement(ctx) == "disabled":
            _not_applicable(args, f"{rule.name} is disabled in {environment}")
        try:
            found = list(check(resources, ctx))
        except NotEvaluated as reason:
            _not_applicable(args, reason.reason)
        for urn, message in found:
            report_violation(message, urn or None)

    return validate


def build_policy(rule: Rule, pack: PackContext) -> Policy:
    """One CrossGuard policy named after the rule (so `--policy-pack-config` and stack overrides share keys)."""
    common: dict[str, Any] = {
        "name": rule.name,
        "description": f"[{rule.id}] {rule.description}",
        "enforcement_level": ENFORCEMENT_LEVELS[pack.static_enforcement(rule)],
        "display_name": rule.id,
        "severity": SEVERITIES[rule.severity],
        "tags": [rule.category],
        "remediation_steps": rule.remediation,
        "url": rule.docs_url,
    }
    if rule.stack_check is not None:
        schema = COST_CONFIG_SCHEMA if rule.category == "cost" else None
        return StackValidationPolicy(validate=_stack_validation(rule, pack), config_schema=schema, **common)
    return ResourceValidationPolicy(validate=_resource_validation(rule, pack), **common)


def build_policies(pack: PackContext, rules: Sequence[Rule] = RULES) -> list[Policy]:
    """Every rule as a CrossGuard policy."""
    return [build_policy(rule, pack) for rule in rules]
