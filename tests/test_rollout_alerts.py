"""Rollout alerts: candidate compared against stable, per-variant SLOs, one PrometheusRule per team."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from inferstack.blueprint import Blueprint, ModelDeployment
from inferstack.compiler import compile_blueprint
from inferstack.render.rollout_alerts import render_rollout_rules, rollout_alerts
from inferstack.spec import ModelSpec, load_environment
from inferstack.spec.environment import ServingConfig
from inferstack.spec.loader import LoadedSpec
from tests.spec_factory import spec_document


def _deploy(repo_root: Path, mode: str, rollout: dict[str, Any]) -> tuple[ModelDeployment, Blueprint]:
    config = load_environment(repo_root / "stacks", "dev")
    config = config.model_copy(update={"serving": ServingConfig.model_validate({"deployment_mode": mode, "routing": "istio"})})
    spec = ModelSpec.model_validate(spec_document(rollout=rollout))
    blueprint = compile_blueprint([LoadedSpec(spec, "specs/demo.yaml")], config)
    return blueprint.models[0], blueprint


def _balanced(expr: str) -> bool:
    depth = 0
    for character in expr:
        depth += {"(": 1, ")": -1}.get(character, 0)
        if depth < 0:
            return False
    return depth == 0


def test_standard_canary_compares_the_canary_service_against_the_stable_one(repo_root: Path) -> None:
    deployment, blueprint = _deploy(repo_root, "standard", {"strategy": "canary", "stable_version": "0.9.0", "canary_percent": 10})
    alerts = {alert.name: alert for alert in rollout_alerts(deployment, blueprint)}
    assert set(alerts) == {
        "RolloutCandidateErrorRateRegression",
        "RolloutCandidateLatencyRegression",
        "RolloutVariantLatencySLOBreached",
        "RolloutVariantErrorRateSLOBreached",
    }
    errors = alerts["RolloutCandidateErrorRateRegression"]
    assert 'pod=~"demo-model-canary-predictor-.*"' in errors.expr
    assert 'pod=~"demo-model-predictor-.*"' in errors.expr
    assert "> 0.01 and" in errors.expr  # the spec's 1% error budget
    assert "kube_pod_labels" not in errors.expr
    rule = errors.rule()
    assert rule["annotations"]["runbook_url"] == "https://runbooks.example.com/demo"
    assert rule["annotations"]["summary"].startswith("demo-model: candidate 1.0.0")
    assert rule["labels"]["candidate_version"] == "1.0.0" and rule["labels"]["baseline_version"] == "0.9.0"
    assert all(_balanced(alert.expr) for alert in alerts.values())


def test_serverless_canary_tells_revisions_apart_by_version_label(repo_root: Path) -> None:
    deployment, blueprint = _deploy(repo_root, "serverless", {"strategy": "canary", "stable_version": "0.9.0", "canary_percent": 10})
    alerts = {alert.name: alert for alert in rollout_alerts(deployment, blueprint)}
    latency = alerts["RolloutCandidateLatencyRegression"].expr
    assert 'label_inferstack_io_model_version="1.0.0"' in latency
    assert 'label_inferstack_io_model_version="0.9.0"' in latency
    assert "RolloutVariantLatencySLOBreached" not in alerts  # one InferenceService: the model's own SLO alerts cover it
    assert all(_balanced(alert.expr) for alert in alerts.values())


def test_ab_compares_each_variant_with_the_first(repo_root: Path) -> None:
    variants = [
        {"name": "a", "version": "0.9.0", "weight": 50},
        {"name": "b", "version": "1.0.0", "weight": 25},
        {"name": "c", "version": "1.1.0", "weight": 25},
    ]
    deployment, blueprint = _deploy(repo_root, "standard", {"strategy": "ab", "variants": variants})
    alerts = rollout_alerts(deployment, blueprint)
    compared = sorted(
        dict(alert.labels)["candidate_version"] for alert in alerts if alert.name == "RolloutCandidateErrorRateRegression"
    )
    assert compared == ["1.0.0", "1.1.0"]
    # No variant is named <model>: every variant gets its own SLO alerts.
    assert sum(alert.name == "RolloutVariantErrorRateSLOBreached" for alert in alerts) == 3


def test_direct_and_blue_green_have_no_comparison(repo_root: Path) -> None:
    deployment, blueprint = _deploy(repo_root, "standard", {"strategy": "direct"})
    assert rollout_alerts(deployment, blueprint) == []
    assert render_rollout_rules(blueprint.teams[0], blueprint) is None
    deployment, blueprint = _deploy(repo_root, "standard", {"strategy": "blue-green", "stable_version": "0.9.0", "active_color": "green"})
    names = [alert.name for alert in rollout_alerts(deployment, blueprint)]
    assert names == ["RolloutVariantLatencySLOBreached", "RolloutVariantErrorRateSLOBreached"]


def test_team_rule_holds_one_group_per_rolling_model(repo_root: Path) -> None:
    deployment, blueprint = _deploy(repo_root, "standard", {"strategy": "shadow", "stable_version": "0.9.0", "mirror_percent": 5})
    rule = render_rollout_rules(blueprint.teams[0], blueprint)
    assert rule is not None
    assert rule["kind"] == "PrometheusRule" and rule["metadata"]["name"] == "demo-rollouts"
    assert [group["name"] for group in rule["spec"]["groups"]] == ["demo-model.rollout.rules"]
    for item in rule["spec"]["groups"][0]["rules"]:
        assert set(item["annotations"]) == {"summary", "runbook_url"}
