"""Edge cases of the access, governance, data and rollout rules beyond their corpus cases (tests/policy_corpus)."""

from __future__ import annotations

import ipaddress
import json

import pytest

from inferstack.policy import RULES_BY_NAME, PolicyResource, evaluate
from inferstack.policy import props as p
from inferstack.policy.evaluate import run_rule
from inferstack.policy.rules.access import public_addresses_covered, resource_policy_problems
from inferstack.policy.rules.cost import predictor_pool_gpu_types
from inferstack.policy.rules.data import secret_in
from inferstack.policy.rules.governance import trusted_registry_problem
from tests.policy_corpus.baseline import context, patched, secure_stack, stack_config


def _covered(*cidrs: str) -> int:
    return public_addresses_covered([ipaddress.ip_network(cidr) for cidr in cidrs])


def test_cidr_union_counts_overlaps_once_and_skips_private_ranges() -> None:
    assert _covered("0.0.0.0/1", "128.0.0.0/1") == 2**32 - _covered("10.0.0.0/8") - 2**24 * 0 - sum(
        ipaddress.ip_network(c).num_addresses
        for c in ("10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.168.0.0/16")
    )
    assert _covered("203.0.113.0/24", "203.0.113.0/25") == 256
    assert _covered("10.0.0.0/8") == 0
    assert _covered("192.168.1.0/24") == 0


@pytest.mark.parametrize(
    ("cidrs", "flagged"),
    [
        (["203.0.113.0/24"], False),
        (["1.0.0.0/9"], False),
        (["1.0.0.0/8"], True),  # exactly one /8: the limit is "less than"
        (["1.0.0.0/9", "1.128.0.0/9"], True),  # two halves make the /8
        (["0.0.0.0/1", "128.0.0.0/1"], True),
        (["my office"], True),
    ],
)
def test_public_cidr_union_rule(cidrs: list[str], flagged: bool) -> None:
    cluster = PolicyResource("urn:c", p.AWS_EKS_CLUSTER, "c", {"vpcConfig": {"endpointPublicAccess": True, "publicAccessCidrs": cidrs}})
    found, _ = run_rule(RULES_BY_NAME["public-cidr-union"], [cluster], context("dev"))
    assert bool(found) is flagged, found


@pytest.mark.parametrize(
    ("prefix", "problem"),
    [
        ("s3://", "scheme-only"),
        ("https://", "scheme-only"),
        ("https://huggingface.co/", "whole host"),
        ("hf://", "scheme-only"),
        ("s3://shared-models", "trailing /"),
        ("http://models.example.com/vision/", "plain http"),
        ("models.example.com/vision/", "no scheme"),
        ("s3://shared-*/", "wildcard"),
        ("s3://shared-models/vision/", None),
        ("https://huggingface.co/my-org/", None),
    ],
)
def test_trusted_registry_bounds(prefix: str, problem: str | None) -> None:
    found = trusted_registry_problem(prefix)
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found


def test_gpu_type_rule_follows_required_pool_affinity_of_predictors() -> None:
    """ISP-COST-002's predictor branch: predictors are pinned by node-pool affinity, not a gpu-type nodeSelector."""
    pools = {"h100-spot": {"h100"}, "cpu-spot": set()}
    required = {
        "spec": {
            "predictor": {
                "affinity": {
                    "nodeAffinity": {
                        "requiredDuringSchedulingIgnoredDuringExecution": {
                            "nodeSelectorTerms": [
                                {"matchExpressions": [{"key": "inferstack.io/node-pool", "operator": "In", "values": ["h100-spot"]}]}
                            ]
                        }
                    }
                }
            }
        }
    }
    assert predictor_pool_gpu_types(required, pools) == {"h100"}
    stack = patched(
        secure_stack("dev"),
        [
            {"resource": "defect-detector", "set": {"spec.predictor.nodeSelector": {}, "spec.predictor.affinity": required["spec"]["predictor"]["affinity"]}},
            {"resource": "gpu-a10g", "set": {"labels.inferstack.io/node-pool": "h100-spot"}},
        ],
        "dev",
    )
    by_pool = [r for r in stack if r.name == "gpu-a10g"][0]
    assert by_pool.props["labels"]["inferstack"]  # set_path splits on dots; the pool label lives under this key
    # The baseline's a10g group now answers to no pool the predictor requires: the predictor names no GPU there.
    found, _ = run_rule(RULES_BY_NAME["gpu-type-allowed"], stack, context("dev"))
    assert found == []
    h100_group = PolicyResource(
        "urn:h100", p.AWS_EKS_NODE_GROUP, "h100", {"labels": {"inferstack.io/node-pool": "h100-spot", "inferstack.io/gpu-type": "h100"}}
    )
    found, _ = run_rule(RULES_BY_NAME["gpu-type-allowed"], [*stack, h100_group], context("dev"))
    messages = [message for urn, message in found if urn.endswith("defect-detector")]
    assert messages == ["predictor runs on GPU type h100, not allowed in dev; expected one of a10g, l4, none, t4"]


def _statement(**fields: object) -> dict[str, object]:
    return {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"} | fields


@pytest.mark.parametrize(
    ("statement", "problems"),
    [
        (_statement(Principal={"Service": "cloudwatch.amazonaws.com"}), 1),
        (_statement(Principal={"Service": "cloudwatch.amazonaws.com"}, Condition={"StringEquals": {"aws:SourceAccount": "123456789012"}}), 0),
        # EventBridge's KMS requests carry no source keys; its guard lives in the topic policy.
        (_statement(Principal={"Service": "events.amazonaws.com"}), 0),
        (_statement(Principal="*"), 1),
        (_statement(Principal="*", Condition={"StringEquals": {"aws:PrincipalAccount": "123456789012"}}), 0),
        (_statement(Principal={"AWS": "arn:aws:iam::123456789012:root"}), 0),
        (_statement(Principal={"AWS": "999988887777"}), 1),
        (_statement(NotPrincipal={"AWS": "arn:aws:iam::123456789012:root"}), 1),
        ({"Effect": "Deny", "Principal": "*", "Action": "kms:*", "Resource": "*"}, 0),
    ],
)
def test_key_policy_statements(statement: dict[str, object], problems: int) -> None:
    found = list(resource_policy_problems({"Statement": [statement]}, "key policy", "123456789012", (), kms=True))
    assert len(found) == problems, found


def test_allow_listed_external_account_passes_bucket_policy() -> None:
    document = {"Statement": [_statement(Principal={"AWS": "arn:aws:iam::999988887777:root"}, Action="s3:GetObject")]}
    assert list(resource_policy_problems(document, "bucket policy", "123456789012", ("999988887777",), kms=False)) == []


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("AKIAIOSFODNN7EXAMPLE", "AWS access key id"),
        ("https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX", "Slack webhook URL"),
        ("ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8", "GitHub token"),
        ("postgres://model:hunter2@db.internal/features", "URL with a password"),
        ("-----BEGIN RSA PRIVATE KEY-----", "private key"),
        ("q8Zr2Lx9Vt4Wm7Ny3Bk6Hs1Pd5Gf0Jc8Ra2Ue", "high-entropy token"),
        ("sha256:" + "ab" * 32, None),
        ("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", None),
        ("arn:aws:iam::123456789012:role/inferstack-prod-vision-serving", None),
        ("s3://inferstack-models-prod/models/vision/product-vision/1.4.0/", None),
        ("1c4a061d-8072-4f0a-a4cb-0ff528b18fe7", None),
        ("pagerduty:ml-platform", None),
        ("--backend-config=default-max-batch-size=128", None),  # a runtime flag, not a key
        ("--metrics-config=summary_latencies=true", None),
        ("/mnt/models/product-vision/versions/1.4.0/config.pbtxt", None),
    ],
)
def test_secret_detector(text: str, kind: str | None) -> None:
    assert secret_in(text) == kind


def test_adopted_cluster_and_bucket_rules_are_listed_as_not_evaluated() -> None:
    config = stack_config("prod")
    config["inferstack:cluster"] = config["inferstack:cluster"] | {"create": False}
    config["inferstack:network"] = config["inferstack:network"] | {"vpc_id": "vpc-0abc", "private_subnet_ids": ["subnet-0a", "subnet-0b"]}
    config["inferstack:model_store"] = {"bucket": "inferstack-models-prod", "create": False, "kms_key_arn": "arn:aws:kms:us-east-1:123456789012:key/x"}
    adopted = [r for r in secure_stack("prod") if r.type not in (p.AWS_EKS_CLUSTER, p.AWS_S3_BUCKET)]
    report = evaluate(adopted, context("prod", config=config))
    silent = {n.policy for n in report.not_evaluated if "adopted" in n.reason}
    assert {"eks-secrets-encryption", "eks-private-endpoint", "prod-public-endpoint", "s3-versioning"} <= silent
    assert "model-store-only" not in silent
    assert json.loads(json.dumps(report.to_json()))["not_evaluated"]


def _variant(role: str, split: str) -> PolicyResource:
    name = f"defect-detector-{role}"
    props = {
        "metadata": {
            "name": name,
            "namespace": "vision",
            "labels": {"inferstack.io/model": "defect-detector", "inferstack.io/rollout-role": role},
            "annotations": {"inferstack.io/traffic-split": split},
        },
        "spec": {"predictor": {"minReplicas": 1}},
    }
    return PolicyResource(f"urn:{name}", p.K8S_INFERENCE_SERVICE, name, props)


def _route(*backends: str) -> PolicyResource:
    spec = {"rules": [{"backendRefs": [{"kind": "Service", "name": f"{backend}-predictor", "port": 80} for backend in backends]}]}
    props = {"metadata": {"name": "defect-detector", "namespace": "vision"}, "spec": spec}
    return PolicyResource("urn:route", "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute", "route", props)


def test_rollout_variants_that_a_route_or_graph_names_pass() -> None:
    rule = RULES_BY_NAME["rollout-takes-effect"]
    green = _variant("green", "routes")
    assert run_rule(rule, [green, _route("defect-detector", "defect-detector-green")], context("prod"))[0] == []
    assert len(run_rule(rule, [green, _route("defect-detector")], context("prod"))[0]) == 1
    variant = _variant("ab-b", "inference-graph")
    graph_props = {"metadata": {"namespace": "vision"}, "spec": {"nodes": {"root": {"steps": [{"serviceName": "defect-detector-ab-b"}]}}}}
    graph = PolicyResource("urn:graph", "kubernetes:serving.kserve.io/v1alpha1:InferenceGraph", "graph", graph_props)
    assert run_rule(rule, [variant, graph], context("prod"))[0] == []
    assert len(run_rule(rule, [variant], context("prod"))[0]) == 1
    # The primary and the canary are judged elsewhere (canary-not-ignored).
    assert run_rule(rule, [_variant("canary", "none"), _variant("primary", "none")], context("prod"))[0] == []


def _group(pool: str, capacity: str, min_size: int = 1) -> PolicyResource:
    props = {"labels": {"inferstack.io/node-pool": pool}, "capacityType": capacity, "scalingConfig": {"minSize": min_size}}
    return PolicyResource(f"urn:{pool}-{capacity}", p.AWS_EKS_NODE_GROUP, f"{pool}-{capacity}", props)


def _pinned(model: str, *pools: str) -> PolicyResource:
    term = {"matchExpressions": [{"key": "inferstack.io/node-pool", "operator": "In", "values": list(pools)}]}
    props = {
        "metadata": {"name": model, "labels": {"inferstack.io/model": model}},
        "spec": {"predictor": {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [term]}}}}},
    }
    return PolicyResource(f"urn:{model}", p.K8S_INFERENCE_SERVICE, model, props)


def test_prod_on_demand_base_counts_no_fallback_and_honours_a_per_model_waiver() -> None:
    rule = RULES_BY_NAME["prod-on-demand-base"]
    spot, fallback, ondemand = _group("l4-spot", "SPOT", 0), _group("l4-spot", "ON_DEMAND", 0), _group("l4-ondemand", "ON_DEMAND")
    assert len(run_rule(rule, [spot, fallback, _pinned("vision", "l4-spot")], context("prod"))[0]) == 1
    assert run_rule(rule, [spot, ondemand, _pinned("vision", "l4-spot", "l4-ondemand")], context("prod"))[0] == []
    waived = stack_config("prod")
    waived["inferstack:policy"] = {
        "waivers": {"prod-on-demand-base@vision": {"reason": "batch scoring tolerates a full spot reclaim (OPS-77)", "expires": "2099-12-31"}}
    }
    assert run_rule(rule, [spot, _pinned("vision", "l4-spot")], context("prod", config=waived))[0] == []
    assert len(run_rule(rule, [spot, _pinned("search", "l4-spot")], context("prod", config=waived))[0]) == 1


def test_payload_log_retention_within_the_environment_maximum() -> None:
    rule = RULES_BY_NAME["payload-log-retention"]
    logger = {"mode": "all", "url": "s3://inferstack-models-prod"}
    stack = patched(secure_stack("prod"), [{"resource": "defect-detector", "set": {"spec.predictor.logger": logger}}], "prod")

    def lifecycle(days: int, prefix: str = "payload-logs/") -> PolicyResource:
        rules = [{"id": "expire-payload-logs", "status": "Enabled", "filter": {"prefix": prefix}, "expiration": {"days": days}}]
        return PolicyResource("urn:lifecycle", p.AWS_S3_LIFECYCLE, "lifecycle", {"rules": rules})

    assert run_rule(rule, [*stack, lifecycle(30)], context("prod"))[0] == []
    assert run_rule(rule, [*stack, lifecycle(30, prefix="")], context("prod"))[0] == []  # a bucket-wide rule covers it
    (too_long,) = run_rule(rule, [*stack, lifecycle(500)], context("prod"))[0]
    assert "kept 500 days; prod keeps them at most 400" in too_long[1]
    assert len(run_rule(rule, [*stack, lifecycle(30, prefix="models/")], context("prod"))[0]) == 1
    # No payload logger, no rule to judge.
    assert run_rule(rule, secure_stack("prod"), context("prod"))[0] == []


def test_noncurrent_retention_judges_only_rules_that_reach_model_artifacts() -> None:
    rule = RULES_BY_NAME["prod-noncurrent-retention"]

    def lifecycle(prefix: str, days: int) -> PolicyResource:
        rules = [{"id": "r", "status": "Enabled", "filter": {"prefix": prefix}, "noncurrentVersionExpiration": {"noncurrentDays": days}}]
        return PolicyResource("urn:lifecycle", p.AWS_S3_LIFECYCLE, "lifecycle", {"rules": rules})

    assert len(run_rule(rule, [lifecycle("", 7)], context("prod"))[0]) == 1
    assert len(run_rule(rule, [lifecycle("models/", 7)], context("prod"))[0]) == 1
    assert run_rule(rule, [lifecycle("payload-logs/", 1)], context("prod"))[0] == []
    assert run_rule(rule, [lifecycle("", 30)], context("prod"))[0] == []
