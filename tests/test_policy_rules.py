"""Rule behaviour beyond the corpus: passing fixtures, edge cases, enforcement, honesty about missing figures."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from inferstack.constants import ENVIRONMENTS
from inferstack.policy import RULES, RULES_BY_NAME, PolicyResource, evaluate
from inferstack.policy import props as p
from inferstack.policy.evaluate import run_rule
from inferstack.problems import InputError
from tests.policy_corpus.baseline import context, patched, secure_stack, stack_config


def violations_of(rule_name: str, resources: list[PolicyResource], environment: str, **context_args: object) -> list[str]:
    found, skipped = run_rule(RULES_BY_NAME[rule_name], resources, context(environment, **context_args))  # type: ignore[arg-type]
    assert skipped == []
    return [message for _, message in found]


ENABLED = [(rule, env) for env in ENVIRONMENTS for rule in RULES if rule.enforcement(context(env)) != "disabled"]


@pytest.mark.parametrize(("rule", "environment"), ENABLED, ids=[f"{rule.id}-{env}" for rule, env in ENABLED])
def test_secure_baseline_passes_every_enabled_rule(rule, environment: str) -> None:
    found, skipped = run_rule(rule, secure_stack(environment), context(environment))
    assert found == [] and skipped == []


def test_every_rule_is_enabled_somewhere() -> None:
    assert {rule.id for rule, _ in ENABLED} == {rule.id for rule in RULES}


def test_rule_metadata_is_complete() -> None:
    for rule in RULES:
        assert rule.id.startswith("ISP-") and rule.name == rule.name.lower()
        assert rule.description and rule.remediation and rule.docs_url.startswith("https://")
        assert set(rule.default_enforcement) == set(ENVIRONMENTS)


def test_public_endpoint_needs_the_stack_to_opt_in() -> None:
    stack = patched(secure_stack("prod"), [{"resource": "cluster", "set": {"vpcConfig.endpointPublicAccess": True, "vpcConfig.publicAccessCidrs": ["20.30.40.0/24"]}}], "prod")
    assert violations_of("eks-private-endpoint", stack, "prod")
    opted_in = stack_config("prod")
    opted_in["inferstack:cluster"] |= {"endpoint_public_access": True, "public_access_cidrs": ["20.30.40.0/24"]}
    assert violations_of("eks-private-endpoint", stack, "prod", config=opted_in) == []
    wider = patched(stack, [{"resource": "cluster", "set": {"vpcConfig.publicAccessCidrs": ["20.30.41.0/24"]}}], "prod")
    assert "20.30.41.0/24" in violations_of("eks-private-endpoint", wider, "prod", config=opted_in)[0]


def test_asymmetric_key_needs_no_rotation() -> None:
    stack = patched(secure_stack("prod"), [{"resource": "models-key", "set": {"enableKeyRotation": False, "customerMasterKeySpec": "RSA_2048"}}], "prod")
    assert violations_of("kms-key-rotation", stack, "prod") == []


def test_on_demand_only_stack_opts_out_of_spot() -> None:
    stack = patched(secure_stack("staging"), [{"resource": "gpu-a10g", "set": {"capacityType": "ON_DEMAND"}}], "staging")
    assert violations_of("gpu-pool-spot", stack, "staging")
    config = stack_config("staging")
    config["inferstack:spot"] = {"policy": "on-demand-only"}
    assert violations_of("gpu-pool-spot", stack, "staging", config=config) == []


def test_cpu_pool_is_not_held_to_gpu_rules() -> None:
    stack = secure_stack("dev")  # the system pool is ON_DEMAND with one instance type
    assert violations_of("gpu-pool-spot", stack, "dev") == []
    assert violations_of("spot-diversification", stack, "dev") == []


def test_canary_is_fine_in_serverless_mode_and_flagged_without_a_mode() -> None:
    serverless = patched(
        secure_stack("prod"),
        [{"resource": "defect-detector", "set": {"metadata.annotations": {p.APPROVED_STAGE_ANNOTATION: "prod", "serving.kserve.io/deploymentMode": "Serverless"}}}],
        "prod",
    )
    assert violations_of("canary-not-ignored", serverless, "prod") == []
    unstated = patched(secure_stack("prod"), [{"resource": "defect-detector", "set": {"metadata.annotations": {p.APPROVED_STAGE_ANNOTATION: "prod"}}}], "prod")
    assert "without a serving.kserve.io/deploymentMode" in violations_of("canary-not-ignored", unstated, "prod")[0]


def test_empty_pdb_selector_selects_every_pod_and_a_null_one_none() -> None:
    everything = patched(secure_stack("prod"), [{"resource": "defect-detector-pdb", "set": {"spec.selector": {}}}], "prod")
    assert violations_of("pod-disruption-budget", everything, "prod") == []
    nothing = patched(secure_stack("prod"), [{"resource": "defect-detector-pdb", "set": {"spec.selector": "__delete__"}}], "prod")
    assert violations_of("pod-disruption-budget", nothing, "prod")


def test_trusted_registry_admits_its_prefix() -> None:
    stack = patched(secure_stack("prod"), [{"resource": "defect-detector", "set": {"spec.predictor.model.storageUri": "s3://partner-models/vision/x/"}}], "prod")
    assert violations_of("model-store-only", stack, "prod")
    config = stack_config("prod")
    config["inferstack:policy"] = {"trusted_registries": ["s3://partner-models/"]}
    assert violations_of("model-store-only", stack, "prod", config=config) == []


def test_model_scoped_idle_alert_covers_only_its_model() -> None:
    stack = patched(secure_stack("prod"), [{"resource": "gpu-idle", "set": {"metadata.labels[inferstack.io/model]": "defect-detector"}}], "prod")
    assert violations_of("idle-gpu-alert", stack, "prod") == []
    other = patched(stack, [{"resource": "gpu-idle", "set": {"metadata.labels[inferstack.io/model]": "fraud-scorer"}}], "prod")
    assert violations_of("idle-gpu-alert", other, "prod")


def test_budget_rules_say_not_evaluated_without_cost_figures() -> None:
    report = evaluate(secure_stack("prod"), context("prod", cost=None))
    assert report.violations == ()
    assert {n.policy for n in report.not_evaluated} == {"environment-budget", "team-budget", "peak-budget"}
    assert all("cost" in n.reason for n in report.not_evaluated)


def test_unknown_preview_value_is_not_evaluated_rather_than_judged() -> None:
    unknown_bool = next(iter(sorted(p.UNKNOWN_SENTINELS)))
    stack = patched(secure_stack("prod"), [{"resource": "models-key", "set": {"enableKeyRotation": unknown_bool}}], "prod")
    report = evaluate(stack, context("prod"))
    assert report.violations == ()
    assert [(n.policy, n.urn.endswith("models-key")) for n in report.not_evaluated] == [("kms-key-rotation", True)]


def test_stack_override_changes_enforcement_per_environment() -> None:
    stack = patched(secure_stack("dev"), [{"resource": "defect-detector", "set": {"spec.predictor.minReplicas": 1}}], "dev")
    # dev's stack file disables prod-min-replicas; scale-to-zero-in-dev is advisory by default.
    report = evaluate(stack, context("dev"))
    assert [(v.policy, v.enforcement) for v in report.violations] == [("scale-to-zero-in-dev", "advisory")]
    assert not report.has_mandatory_violations
    raised = stack_config("dev")
    raised["inferstack:policy"] = {"enforcement": {"scale-to-zero-in-dev": "mandatory"}}
    report = evaluate(stack, context("dev", config=raised))
    assert {(v.policy, v.enforcement) for v in report.violations} == {("scale-to-zero-in-dev", "mandatory"), ("prod-min-replicas", "advisory")}
    assert report.has_mandatory_violations


def test_prod_cannot_lower_a_high_rule_by_override() -> None:
    stack = patched(secure_stack("prod"), [{"resource": "models-key", "set": {"enableKeyRotation": False}}], "prod")
    assert evaluate(stack, context("prod")).has_mandatory_violations
    lowered = stack_config("prod")
    lowered["inferstack:policy"] = {"enforcement": {"kms-key-rotation": "advisory"}}
    report = evaluate(stack, context("prod", config=lowered))
    # The rule itself is advisory now, but lowering a high rule in prod is a critical violation of its own.
    assert [(v.rule_id, v.enforcement) for v in report.violations] == [("ISP-GOV-001", "mandatory"), ("ISP-KMS-001", "advisory")]
    assert "kms-key-rotation" in report.violations[0].message


def test_a_dated_waiver_makes_a_prod_rule_advisory_until_it_expires() -> None:
    stack = patched(secure_stack("prod"), [{"resource": "models-key", "set": {"enableKeyRotation": False}}], "prod")
    waived = stack_config("prod")
    waiver = {"reason": "key imported from the HSM; rotated by hand each quarter (SEC-1234)", "expires": "2027-01-31"}
    waived["inferstack:policy"] = {"waivers": {"kms-key-rotation": waiver}}
    report = evaluate(stack, replace(context("prod", config=waived), today="2027-01-31"))
    assert [(v.rule_id, v.enforcement) for v in report.violations] == [("ISP-KMS-001", "advisory")]
    expired = evaluate(stack, replace(context("prod", config=waived), today="2027-02-01"))
    assert [(v.rule_id, v.enforcement) for v in expired.violations] == [("ISP-GOV-001", "mandatory"), ("ISP-KMS-001", "mandatory")]
    assert "expired on 2027-01-31" in expired.violations[0].message


def test_waiver_naming_no_rule_is_bad_input() -> None:
    config = stack_config("prod")
    config["inferstack:policy"] = {"waivers": {"kms-key-rotaton": {"reason": "x" * 25, "expires": "2027-01-01"}}}
    with pytest.raises(InputError) as error:
        context("prod", config=config)
    assert "policy.waivers.kms-key-rotaton" in str(error.value)


def test_override_naming_no_rule_is_bad_input() -> None:
    config = stack_config("prod")
    config["inferstack:policy"] = {"enforcement": {"kms-key-rotaton": "advisory"}}
    with pytest.raises(InputError) as error:
        context("prod", config=config)
    assert "did you mean 'kms-key-rotation'" in str(error.value)


def test_report_json_is_policy_json_and_sorted() -> None:
    stack = patched(
        secure_stack("prod"),
        [
            {"resource": "models-key", "set": {"enableKeyRotation": False}},
            {"resource": "defect-detector", "set": {"spec.predictor.model.securityContext.privileged": True}},
            {"resource": "models", "set": {"tags": {}}},
        ],
        "prod",
    )
    first = evaluate(stack, context("prod")).to_json()
    again = evaluate(list(reversed(stack)), context("prod")).to_json()
    assert json.dumps(first) == json.dumps(again)
    assert first["checked"] == len(stack)
    assert [v["rule_id"] for v in first["violations"]] == ["ISP-K8S-002", "ISP-KMS-001", "ISP-COST-010"]
    assert set(first["violations"][0]) >= {"policy", "severity", "enforcement", "urn", "message"}


def test_plan_entry_becomes_a_policy_resource() -> None:
    entry = {"urn": "urn:x", "type": p.AWS_KMS_KEY, "name": "k", "parent": None, "dependencies": ["urn:y"], "inputs": {"enableKeyRotation": True}}
    resource = PolicyResource.from_plan(entry)
    assert resource.dependencies == ("urn:y",) and resource.props["enableKeyRotation"] is True


def test_cluster_autoscaler_read_only_statement_on_star_passes() -> None:
    statement = (
        '{"Statement":[{"Effect":"Allow","Resource":"*","Action":["autoscaling:DescribeAutoScalingGroups",'
        '"ec2:DescribeLaunchTemplateVersions","ec2:GetInstanceTypesFromInstanceRequirements"]}]}'
    )
    stack = patched(secure_stack("prod"), [{"resource": "vision-serving-read-models", "set": {"policy": statement}}], "prod")
    assert violations_of("iam-no-wildcards", stack, "prod") == []
    writes = statement.replace("ec2:GetInstanceTypesFromInstanceRequirements", "autoscaling:SetDesiredCapacity")
    stack = patched(stack, [{"resource": "vision-serving-read-models", "set": {"policy": writes}}], "prod")
    assert violations_of("iam-no-wildcards", stack, "prod")
