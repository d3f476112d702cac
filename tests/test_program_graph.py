"""The real Pulumi program under mocks, for every shipped stack: the resource graph it registers."""

from __future__ import annotations

import json
from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any

import pytest


from inferstack.constants import (
    LABEL_MODEL,
    LABEL_NODE_POOL,
    LABEL_TEAM,
    TAG_COST_CENTER,
    TAG_ENVIRONMENT,
    TAG_TEAM,
    TYPE_CLUSTER,
    TYPE_PLATFORM,
    TYPE_TEAM_MODEL_SERVICES,
)
from inferstack.mocks import InferstackMocks, RecordedResource, run_under_mocks
from inferstack.plan.redact import redact_inputs
from inferstack.pricing.catalog import load_catalog
from inferstack.render.iam import DESCRIBE_ONLY_SID, as_list, statements

REPO_ROOT = Path(__file__).resolve().parents[1]
STACKS = ("dev", "staging", "prod")


@cache
def _graph(stack: str) -> tuple[RecordedResource, ...]:
    return tuple(run_under_mocks(stack, REPO_ROOT / "model_specs", REPO_ROOT / "stacks", InferstackMocks(region="us-east-1")))


def _of_type(records: tuple[RecordedResource, ...], type_: str) -> list[RecordedResource]:
    return [record for record in records if record.type == type_]


@pytest.mark.parametrize("stack", STACKS)
def test_expected_resource_types(stack: str) -> None:
    types = Counter(record.type for record in _graph(stack))
    for expected in (
        TYPE_PLATFORM,
        TYPE_CLUSTER,
        "aws:eks/cluster:Cluster",
        "aws:eks/nodeGroup:NodeGroup",
        "aws:ec2/launchTemplate:LaunchTemplate",
        "aws:iam/openIdConnectProvider:OpenIdConnectProvider",
        "aws:kms/key:Key",
        "aws:s3/bucket:Bucket",
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "aws:s3/bucketVersioning:BucketVersioning",
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        "aws:s3/bucketPolicy:BucketPolicy",
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
        "kubernetes:helm.sh/v3:Release",
        "kubernetes:serving.kserve.io/v1beta1:InferenceService",
        "kubernetes:monitoring.coreos.com/v1:PrometheusRule",
        "kubernetes:networking.k8s.io/v1:NetworkPolicy",
        "kubernetes:core/v1:ResourceQuota",
        "aws:sns/topic:Topic",
        "aws:cloudwatch/metricAlarm:MetricAlarm",
    ):
        assert types[expected] >= 1, expected
    assert not any(type_.startswith("aws:s3/bucketV2") for type_ in types)


@pytest.mark.parametrize("stack", STACKS)
def test_every_child_hangs_off_a_component_named_after_it(stack: str) -> None:
    records = _graph(stack)
    by_urn = {record.urn: record for record in records}
    for record in records:
        if record.type == "pulumi:pulumi:Stack":
            continue
        parent = by_urn[record.parent]
        assert not parent.custom, f"{record.name} has a custom resource as parent"
        if parent.type == TYPE_TEAM_MODEL_SERVICES:
            # A team's model objects keep per-model names, `<platform>-model-<model>-...`, and belong to that team.
            platform, _, team = parent.name.partition("-models-")
            labels = record.inputs["metadata"]["labels"]
            assert labels[LABEL_TEAM] == team, record.name
            assert record.name.startswith(f"{platform}-model-{labels[LABEL_MODEL]}-"), record.name
        elif parent.type != "pulumi:pulumi:Stack":
            assert record.name.startswith(parent.name), f"{record.name} is not named after {parent.name}"
    platform = _of_type(records, TYPE_PLATFORM)
    assert len(platform) == 1 and by_urn[platform[0].parent].type == "pulumi:pulumi:Stack"


@pytest.mark.parametrize("stack", STACKS)
def test_few_resources_per_model(stack: str) -> None:
    records = _graph(stack)
    teams = _of_type(records, TYPE_TEAM_MODEL_SERVICES)
    assert teams
    by_model: dict[str, list[RecordedResource]] = {}
    served_teams: set[str] = set()
    for team in teams:
        for record in records:
            if record.parent == team.urn:
                labels = record.inputs["metadata"]["labels"]
                by_model.setdefault(labels[LABEL_MODEL], []).append(record)
                served_teams.add(labels[LABEL_TEAM])
    # One component per team, not per model.
    assert len(teams) == len(served_teams)
    assert not any(record.type == "inferstack:serving:ModelService" for record in records)
    for children in by_model.values():
        isvcs = [record for record in children if record.type == "kubernetes:serving.kserve.io/v1beta1:InferenceService"]
        traffic = [record for record in children if record.type.endswith((":HTTPRoute", ":VirtualService", ":InferenceGraph"))]
        # An exposed model's access policy and limits on the gateway (issue 15): two more, none when cluster-local.
        gateway = [record for record in children if record.type.endswith((":AuthorizationPolicy", ":EnvoyFilter"))]
        # At most an InferenceService and a PDB per variant (one for a direct model), plus one route;
        # KServe creates the ScaledObjects from the InferenceServices' autoScaling.
        assert isvcs and len(traffic) <= 1 and len(gateway) in (0, 2)
        assert len(children) <= 2 * len(isvcs) + len(traffic) + len(gateway)
        assert not any(record.type.endswith(":ScaledObject") for record in children)


def test_dev_runs_gpus_on_spot_only() -> None:
    groups = _of_type(_graph("dev"), "aws:eks/nodeGroup:NodeGroup")
    pools = [group for group in groups if "system" not in group.name]
    assert pools and all(group.inputs["capacityType"] == "SPOT" for group in pools)
    # Cluster Autoscaler sizes a group from one type: every group lists types of equal capacity only.
    catalog = load_catalog("us-east-1")
    for group in pools:
        types = [catalog.instances[name] for name in group.inputs["instanceTypes"]]
        assert len({(item.gpus, item.gpu_type, item.vcpu, item.memory_gib) for item in types}) == 1, group.name


def test_prod_keeps_an_on_demand_base() -> None:
    groups = _of_type(_graph("prod"), "aws:eks/nodeGroup:NodeGroup")
    assert {group.inputs["capacityType"] for group in groups} == {"SPOT", "ON_DEMAND"}


@pytest.mark.parametrize("stack", STACKS)
def test_encryption_everywhere(stack: str) -> None:
    records = _graph(stack)
    for key in _of_type(records, "aws:kms/key:Key"):
        assert key.inputs["enableKeyRotation"] is True
    (cluster,) = _of_type(records, "aws:eks/cluster:Cluster")
    assert cluster.inputs["encryptionConfig"]["resources"] == ["secrets"]
    assert cluster.inputs["encryptionConfig"]["provider"]["keyArn"].startswith("arn:aws:kms:us-east-1:123456789012:key/")
    buckets = {bucket.inputs["bucket"] for bucket in _of_type(records, "aws:s3/bucket:Bucket")}
    assert len(buckets) == 2  # the model store and its access-audit bucket (model_store.access_audit)
    encryptions = _of_type(records, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
    assert {encryption.inputs["bucket"] for encryption in encryptions} == buckets
    for encryption in encryptions:
        rule = encryption.inputs["rules"][0]
        assert rule["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "aws:kms"
        assert rule["bucketKeyEnabled"] is True
    blocks = _of_type(records, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    assert {block.inputs["bucket"] for block in blocks} == buckets
    for block in blocks:
        assert all(block.inputs[flag] is True for flag in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"))
    policies = _of_type(records, "aws:s3/bucketPolicy:BucketPolicy")
    assert {policy.inputs["bucket"] for policy in policies} == buckets
    for policy in policies:
        document = json.loads(policy.inputs["policy"])
        assert any(s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false" for s in statements(document))
    for template in _of_type(records, "aws:ec2/launchTemplate:LaunchTemplate"):
        assert template.inputs["metadataOptions"]["httpTokens"] == "required"
        assert template.inputs["metadataOptions"]["httpPutResponseHopLimit"] == 1
        ebs = template.inputs["blockDeviceMappings"][0]["ebs"]
        assert (ebs["encrypted"], ebs["volumeType"]) == ("true", "gp3")
    for topic in _of_type(records, "aws:sns/topic:Topic"):
        assert topic.inputs["kmsMasterKeyId"].startswith("arn:aws:kms:")


@pytest.mark.parametrize("stack", STACKS)
def test_endpoint_private_unless_cidrs_given(stack: str) -> None:
    # Every shipped stack is private (the deploy job runs inside the VPC); tests/test_first_deploy.py covers a public one.
    (cluster,) = _of_type(_graph(stack), "aws:eks/cluster:Cluster")
    assert cluster.inputs["vpcConfig"]["endpointPublicAccess"] is False
    assert cluster.inputs["vpcConfig"]["endpointPrivateAccess"] is True
    assert not cluster.inputs["vpcConfig"].get("publicAccessCidrs")


@pytest.mark.parametrize("stack", STACKS)
def test_iam_is_scoped(stack: str) -> None:
    records = _graph(stack)
    policies = _of_type(records, "aws:iam/rolePolicy:RolePolicy")
    assert policies
    for policy in policies:
        for statement in statements(json.loads(policy.inputs["policy"])):
            assert all("*" not in action for action in as_list(statement["Action"])), policy.name
            resources = as_list(statement["Resource"])
            if "*" in resources:
                assert statement["Sid"] == DESCRIBE_ONLY_SID
                assert all(action.split(":")[1].startswith(("Describe", "Get")) for action in statement["Action"])
    teams = [record for record in policies if "-team-" in record.name]
    for policy in teams:
        team = policy.name.split("-team-")[1].removesuffix("-read-models")
        for statement in statements(json.loads(policy.inputs["policy"])):
            for resource in as_list(statement["Resource"]):
                assert resource.endswith(f"/models/{team}/*") or resource.startswith(("arn:aws:s3:::inferstack-models-", "arn:aws:kms:"))
                assert resource != "*"
    for role in _of_type(records, "aws:iam/role:Role"):
        trust = json.loads(role.inputs["assumeRolePolicy"])
        for statement in statements(trust):
            if "Federated" in statement["Principal"]:
                conditions = statement["Condition"]["StringEquals"]
                subjects = [value for key, value in conditions.items() if key.endswith(":sub")]
                audiences = [value for key, value in conditions.items() if key.endswith(":aud")]
                assert len(subjects) == 1 and subjects[0].startswith("system:serviceaccount:")
                assert audiences == ["sts.amazonaws.com"]


@pytest.mark.parametrize("stack", STACKS)
def test_tolerations_match_the_taints_of_their_pools(stack: str) -> None:
    records = _graph(stack)
    taints_by_pool: dict[str, set[tuple[str, str, str]]] = {}
    effects = {"NO_SCHEDULE": "NoSchedule", "NO_EXECUTE": "NoExecute", "PREFER_NO_SCHEDULE": "PreferNoSchedule"}
    for group in _of_type(records, "aws:eks/nodeGroup:NodeGroup"):
        pool = group.inputs["labels"].get(LABEL_NODE_POOL)
        taints_by_pool[pool] = {(t["key"], t["value"], effects[t["effect"]]) for t in group.inputs.get("taints", [])}
    services = _of_type(records, "kubernetes:serving.kserve.io/v1beta1:InferenceService")
    assert services
    for service in services:
        predictor = service.inputs["spec"]["predictor"]
        pools = predictor["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"][0][
            "matchExpressions"
        ][0]["values"]
        tolerated = {(t["key"], t["value"], t["effect"]) for t in predictor.get("tolerations", [])}
        needed = set().union(*(taints_by_pool[pool] for pool in pools))
        assert tolerated == needed, service.name


@pytest.mark.parametrize("stack", STACKS)
def test_alerts_carry_runbooks(stack: str) -> None:
    rules = _of_type(_graph(stack), "kubernetes:monitoring.coreos.com/v1:PrometheusRule")
    alerts = [rule for record in rules for group in record.inputs["spec"]["groups"] for rule in group["rules"]]
    assert alerts
    assert all(alert["annotations"]["runbook_url"].startswith("https://") and alert["annotations"]["summary"] for alert in alerts)


@pytest.mark.parametrize("stack", STACKS)
def test_aws_resources_are_tagged(stack: str) -> None:
    taggable = [record for record in _graph(stack) if record.type.startswith("aws:") and "tags" in record.inputs]
    assert taggable
    for record in taggable:
        tags: dict[str, Any] = record.inputs["tags"]
        assert tags[TAG_ENVIRONMENT] == stack and TAG_TEAM in tags and TAG_COST_CENTER in tags, record.name


def test_repeated_runs_give_the_same_graph() -> None:
    # Compared as plan.json records them: secrets (the generated Grafana password differs per run) redacted.
    def shown(record: RecordedResource) -> dict[str, Any]:
        return {**record.as_json(), "inputs": redact_inputs(record.type, record.inputs)}

    first = [shown(record) for record in _graph("staging")]
    again = [shown(record) for record in run_under_mocks("staging", REPO_ROOT / "model_specs", REPO_ROOT / "stacks")]
    assert json.dumps(first, sort_keys=True) == json.dumps(again, sort_keys=True)


def test_mocks_give_realistic_outputs(pulumi_mocks: InferstackMocks) -> None:
    outputs = pulumi_mocks.eks_cluster_outputs("demo")
    assert outputs["arn"] == "arn:aws:eks:us-east-1:123456789012:cluster/demo"
    assert outputs["identities"][0]["oidcs"][0]["issuer"].startswith("https://oidc.eks.us-east-1.amazonaws.com/id/")
