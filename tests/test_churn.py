"""benchmarks/churn.py on a small fleet: edits that need no new pool hit no live capacity and no other model."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.churn import EDITS, run
from inferstack.spec import load_environment


@pytest.mark.parametrize("mode", ["cluster-autoscaler", "karpenter"])
def test_single_spec_edits_leave_other_models_and_live_capacity_alone(repo_root: Path, mode: str) -> None:
    config = load_environment(repo_root / "stacks", "staging")
    config = config.model_copy(update={"cluster": config.cluster.model_copy(update={"node_autoscaler": mode})})
    results = run(models=40, edits=30, seed=5, config=config, mode=mode)
    assert len(results) == 30 and {item.kind for item in results} <= set(EDITS)
    assert len({item.kind for item in results}) >= 6  # the draw covers most kinds of edit
    plain = [item for item in results if not item.new_pool]
    assert plain
    assert [(item.kind, item.model, item.capacity_hits) for item in plain if item.capacity_hits] == []
    assert [(item.kind, item.model, item.other_models_changed) for item in plain if item.other_models_changed] == []


def test_the_benchmark_sees_a_launch_template_that_lists_its_models(repo_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The first releases tagged each launch template with its pool's models: adding or removing a model
    # made a new template version, which replaces every node of the group. The benchmark must count that.
    import benchmarks.churn as churn

    original = churn._node_group_resources

    def with_model_tags(blueprint):  # noqa: ANN001, ANN202 - test double of the module function
        resources = original(blueprint)
        for resource in resources:
            if resource.type == "aws:ec2/launchTemplate:LaunchTemplate":
                resource.inputs["tags"]["inferstack:model"] = " ".join(blueprint.pool(resource.name).models)
        return resources

    monkeypatch.setattr(churn, "_node_group_resources", with_model_tags)
    config = load_environment(repo_root / "stacks", "staging")
    results = run(models=30, edits=20, seed=5, config=config, mode="cluster-autoscaler")
    membership = [item for item in results if item.kind in ("add-model", "remove-model")]
    assert membership and any(item.capacity_hits for item in membership)
