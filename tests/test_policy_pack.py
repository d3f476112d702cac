"""The CrossGuard pack itself: it loads, and reports what the offline `evaluate` reports on the same resources.

The pack module (policies/__main__.py) is loaded under another module name so it
builds its policies without starting the gRPC server; each policy's validate is
called with pulumi_policy's own argument objects, props wrapped in the SDK's
unknown-checking proxy exactly as the analyzer does.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from pulumi_policy import (
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.policy import _NotApplicableError
from pulumi_policy.proxy import unknown_checking_proxy

from inferstack.constants import ENVIRONMENTS
from inferstack.policy import RULES, CostFigures, evaluate
from inferstack.policy import PolicyResource as Resource
from inferstack.policy.crossguard import plain
from tests.policy_corpus.baseline import context, patched, secure_stack, stack_config

PACK_MAIN = Path(__file__).resolve().parents[1] / "policies" / "__main__.py"
COST = CostFigures(
    monthly_usd=80_000.0,
    by_team={"vision": 25_000.0},
    expected_monthly_usd=90_000.0,
    peak_monthly_usd=120_000.0,
    by_team_expected={"vision": 28_000.0},
    by_team_peak={"vision": 40_000.0},
)
COST_CONFIG = {
    "monthlyCostUsd": 80_000.0,
    "teamMonthlyCostUsd": {"vision": 25_000.0},
    "expectedMonthlyCostUsd": 90_000.0,
    "peakMonthlyCostUsd": 120_000.0,
    "teamExpectedMonthlyCostUsd": {"vision": 28_000.0},
    "teamPeakMonthlyCostUsd": {"vision": 40_000.0},
}

# Several rules broken at once, across resource and stack rules.
BREAKAGE: list[dict[str, Any]] = [
    {"resource": "models-key", "set": {"enableKeyRotation": False}},
    {"resource": "models-public-access", "set": {"blockPublicPolicy": False}},
    {"remove": "models-tls-only"},
    {"resource": "vision-serving-read-models", "set": {"policy": '{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}'}},
    {"resource": "cluster", "set": {"enabledClusterLogTypes": ["api"]}},
    {"resource": "gpu-a10g", "set": {"capacityType": "ON_DEMAND", "subnetIds": ["subnet-0a"]}},
    {"resource": "defect-detector", "set": {"spec.predictor.minReplicas": 1, "spec.predictor.model.securityContext.privileged": True}},
    {"resource": "defect-detector", "set": {"metadata.annotations[inferstack.io/traffic-split]": "__delete__"}},
    {"remove": "vision-ingress"},
    {"remove": "gpu-idle"},
]


def write_stacks(directory: Path) -> Path:
    for environment in ENVIRONMENTS:
        text = yaml.safe_dump({"config": stack_config(environment)})
        (directory / f"Pulumi.{environment}.yaml").write_text(text, encoding="utf-8")
    return directory


def load_pack(monkeypatch: pytest.MonkeyPatch, stacks: Path, environment: str | None) -> ModuleType:
    monkeypatch.setenv("INFERSTACK_STACKS_DIR", str(stacks))
    monkeypatch.delenv("PULUMI_STACK", raising=False)
    if environment:
        monkeypatch.setenv("INFERSTACK_ENVIRONMENT", environment)
    else:
        monkeypatch.delenv("INFERSTACK_ENVIRONMENT", raising=False)
    spec = importlib.util.spec_from_file_location("inferstack_policy_pack_under_test", PACK_MAIN)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def options(parent: str | None = None) -> PolicyResourceOptions:
    return PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], parent)


def run_pack(policies: list[Any], resources: list[Resource]) -> tuple[set[tuple[str, str, str]], dict[str, EnforcementLevel], set[str]]:
    """(policy, urn, message) per violation, each policy's level, and the policies that said not applicable."""
    reported: set[tuple[str, str, str]] = set()
    not_applicable: set[str] = set()
    stack_resources: dict[str, PolicyResource] = {}
    for resource in resources:
        stack_resources[resource.urn] = PolicyResource(
            resource.type, unknown_checking_proxy(dict(resource.props)), resource.urn, resource.name, options(), None, None, [], {}
        )
    for resource in resources:  # link parents and dependencies as the analyzer does
        node = stack_resources[resource.urn]
        node.dependencies.extend(stack_resources[urn] for urn in resource.dependencies if urn in stack_resources)
    for policy in policies:
        def collect(message: str, urn: str | None = None, *, name: str = policy.name, default_urn: str = "") -> None:
            reported.add((name, urn or default_urn, message))

        try:
            if isinstance(policy, StackValidationPolicy):
                config = COST_CONFIG if policy.config_schema is not None else {}
                policy.validate(StackValidationArgs(list(stack_resources.values()), config), collect)
            else:
                assert isinstance(policy, ResourceValidationPolicy)
                for resource in resources:
                    args = ResourceValidationArgs(
                        resource.type, unknown_checking_proxy(dict(resource.props)), resource.urn, resource.name, options(), None
                    )
                    try:
                        policy.validate(args, lambda message, urn=None, u=resource.urn, n=policy.name: reported.add((n, u, message)))
                    except _NotApplicableError:
                        not_applicable.add(policy.name)
        except _NotApplicableError:
            not_applicable.add(policy.name)
    levels = {policy.name: policy.enforcement_level for policy in policies}
    return reported, levels, not_applicable


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_pack_reports_what_offline_evaluate_reports(environment: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # `pulumi up` in the deploy workflow reads approvals from a registry snapshot; the pack sees the same variable.
    monkeypatch.setenv("INFERSTACK_REGISTRY_SNAPSHOT", str(tmp_path / "snapshot.json"))
    pack = load_pack(monkeypatch, write_stacks(tmp_path), environment)
    resources = patched(secure_stack(environment), BREAKAGE, environment)

    offline = evaluate(resources, context(environment, COST))
    reported, levels, not_applicable = run_pack(pack.POLICIES, resources)

    assert reported == {(v.policy, v.urn, v.message) for v in offline.violations}
    assert len(reported) >= 10
    for violation in offline.violations:
        assert levels[violation.policy].value == violation.enforcement
    disabled = {rule.name for rule in RULES if rule.enforcement(context(environment)) == "disabled"}
    assert {name for name, level in levels.items() if level == EnforcementLevel.DISABLED} == disabled
    assert not_applicable <= disabled


def test_pack_has_one_policy_per_rule_with_its_metadata(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pack = load_pack(monkeypatch, write_stacks(tmp_path), "prod")
    by_name = {policy.name: policy for policy in pack.POLICIES}
    assert set(by_name) == {rule.name for rule in RULES}
    for rule in RULES:
        policy = by_name[rule.name]
        assert policy.display_name == rule.id and policy.url == rule.docs_url
        assert isinstance(policy, StackValidationPolicy) == rule.is_stack_rule


def test_dev_stack_override_reaches_the_pack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pack = load_pack(monkeypatch, write_stacks(tmp_path), "dev")
    levels = {policy.name: policy.enforcement_level for policy in pack.POLICIES}
    assert levels["prod-min-replicas"] == EnforcementLevel.DISABLED  # stack file override
    assert levels["gpu-pool-spot"] == EnforcementLevel.MANDATORY  # rule default in dev


def test_unknown_startup_environment_takes_the_strictest_level_and_resource_tags(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pack = load_pack(monkeypatch, write_stacks(tmp_path), None)
    levels = {policy.name: policy.enforcement_level for policy in pack.POLICIES}
    assert levels["gpu-pool-spot"] == EnforcementLevel.MANDATORY and levels["approved-stage"] == EnforcementLevel.MANDATORY
    # A prod-tagged on-demand GPU pool is judged as prod, where gpu-pool-spot is disabled.
    resources = patched(secure_stack("prod"), [], "prod")
    reported, _, not_applicable = run_pack(pack.POLICIES, resources)
    assert {name for name, _, _ in reported} == {"environment-budget", "team-budget", "peak-budget"}  # COST_CONFIG is over budget
    assert "gpu-pool-spot" in not_applicable


def test_budget_policies_are_not_applicable_without_cost_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pack = load_pack(monkeypatch, write_stacks(tmp_path), "prod")
    budget = next(policy for policy in pack.POLICIES if policy.name == "environment-budget")
    with pytest.raises(_NotApplicableError) as raised:
        budget.validate(StackValidationArgs([], {}), lambda message, urn=None: None)
    assert "no cost estimate" in str(raised.value.reason)


def test_plain_unwraps_proxies_and_keeps_unknown_sentinels() -> None:
    unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
    proxied = unknown_checking_proxy({"a": [{"b": unknown}], "c": {"d": 1}})
    assert plain(proxied) == {"a": [{"b": unknown}], "c": {"d": 1}}
