"""The network a stack creates keeps model traffic inside the VPC and leaves an audit trail (issue: contained egress).

Runs the real program under mocks for the shipped stacks and checks what it registers:
private endpoints for S3/STS/ECR/Logs, HTTPS egress from serving namespaces only to the
VPC CIDR, a NAT gateway per zone where the stack asks for it, VPC flow logs, and
KMS-encrypted log groups with retention.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import pytest

from components.cluster import INTERFACE_ENDPOINT_SERVICES, logs_key_policy
from inferstack.mocks import InferstackMocks, RecordedResource, run_under_mocks
from inferstack.policy.rules.access import resource_policy_problems
from inferstack.spec.loader import load_environment

REPO_ROOT = Path(__file__).resolve().parents[1]


@cache
def _graph(stack: str) -> tuple[RecordedResource, ...]:
    return tuple(run_under_mocks(stack, REPO_ROOT / "model_specs", REPO_ROOT / "stacks", InferstackMocks(region="us-east-1")))


def _of_type(stack: str, type_: str) -> list[RecordedResource]:
    return [record for record in _graph(stack) if record.type == type_]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_private_endpoints_for_every_aws_service_pods_call(stack: str) -> None:
    endpoints = _of_type(stack, "aws:ec2/vpcEndpoint:VpcEndpoint")
    services = sorted(str(e.inputs["serviceName"]).removeprefix("com.amazonaws.us-east-1.") for e in endpoints)
    assert services == sorted(["s3", *INTERFACE_ENDPOINT_SERVICES])
    interface = [e for e in endpoints if e.inputs["vpcEndpointType"] == "Interface"]
    assert all(e.inputs["privateDnsEnabled"] is True for e in interface)
    s3 = [e for e in interface if str(e.inputs["serviceName"]).endswith(".s3")]
    assert s3[0].inputs["dnsOptions"] == {"privateDnsOnlyForInboundResolverEndpoint": False}


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_serving_egress_reaches_only_the_vpc_on_https(stack: str) -> None:
    cidr = load_environment(REPO_ROOT / "stacks", stack).network.vpc_cidr
    for policy in _of_type(stack, "kubernetes:networking.k8s.io/v1:NetworkPolicy"):
        for rule in policy.inputs["spec"]["egress"]:
            peers = rule.get("to") or []
            assert peers, f"{policy.name}: an egress rule with no destination reaches anywhere"
            blocks = [peer["ipBlock"]["cidr"] for peer in peers if "ipBlock" in peer]
            assert blocks in ([], [cidr]), blocks


@pytest.mark.parametrize(("stack", "nat_gateways"), [("dev", 1), ("staging", 1), ("prod", 3)])
def test_nat_gateway_per_zone_where_asked(stack: str, nat_gateways: int) -> None:
    assert len(_of_type(stack, "aws:ec2/natGateway:NatGateway")) == nat_gateways
    # Every private subnet routes through a NAT gateway of its own zone (prod) or the shared one.
    associations = [r for r in _of_type(stack, "aws:ec2/routeTableAssociation:RouteTableAssociation") if "-private-" in r.name]
    assert len(associations) == len(load_environment(REPO_ROOT / "stacks", stack).network.availability_zones)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_flow_logs_and_log_groups_are_encrypted_and_expire(stack: str) -> None:
    (flow_log,) = _of_type(stack, "aws:ec2/flowLog:FlowLog")
    assert flow_log.inputs["trafficType"] == "ALL"
    groups = _of_type(stack, "aws:cloudwatch/logGroup:LogGroup")
    cluster_groups = [g for g in groups if g.name.endswith(("control-plane-logs", "flow-logs"))]
    assert len(cluster_groups) == 2
    for group in cluster_groups:
        assert group.inputs.get("kmsKeyId"), f"{group.name} is not KMS-encrypted"
        assert group.inputs.get("retentionInDays"), f"{group.name} keeps logs forever"


def test_log_key_policy_lets_cloudwatch_logs_in_for_this_account_only() -> None:
    policy = logs_key_policy("123456789012", "us-east-1")
    assert list(resource_policy_problems(policy, "key policy", "123456789012", (), kms=True)) == []
    statement = policy["Statement"][1]  # type: ignore[index]
    assert statement["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"] == "arn:aws:logs:us-east-1:123456789012:log-group:*"
    assert json.dumps(policy)


def test_flow_log_retention_must_be_a_cloudwatch_value() -> None:
    from pydantic import ValidationError

    from inferstack.spec.environment import NetworkConfig

    assert NetworkConfig(availability_zones=["us-east-1a"], flow_log_retention_days=365).flow_log_retention_days == 365
    with pytest.raises(ValidationError, match="not a CloudWatch Logs retention; expected one of 1, 3, 5"):
        NetworkConfig(availability_zones=["us-east-1a"], flow_log_retention_days=91)
