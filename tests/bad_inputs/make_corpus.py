"""Writes the bad-input corpus: one file per case under tests/bad_inputs/<class>/.

Run `uv run python -m tests.bad_inputs.make_corpus` after changing a case below; the files are
committed, and tests/test_bad_input_corpus.py reads them (not this module). Each file starts with
`# expect: <field path> | <phrase>`: the problem line must read `<file>: <field path>: ...<phrase>...`.

Kinds, by file name:
- `<case>.yaml` / `<case>.py`: a spec file, planned with the shipped dev stack;
- `<case>.stack.yaml`: a stack file, used as stacks/Pulumi.dev.yaml with one valid spec.
Cases too large to commit (deep nesting, huge files) are built in the test itself.
"""

from __future__ import annotations

import copy
import re
import shutil
from pathlib import Path
from typing import Any

import yaml

from tests.spec_factory import spec_document

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
DEV_STACK: dict[str, Any] = yaml.safe_load((REPO / "stacks" / "Pulumi.dev.yaml").read_text(encoding="utf-8"))

CASES: dict[str, dict[str, tuple[str, str, str]]] = {}
"""class -> file name -> (expected field path, phrase, file text without the header)."""


def case(kind: str, name: str, path: str, phrase: str, text: str) -> None:
    cases = CASES.setdefault(kind, {})
    assert name not in cases, name
    cases[name] = (path, phrase, text)


def spec_yaml(**changes: Any) -> str:
    return yaml.safe_dump(spec_document(**changes), sort_keys=False)


def nested(path: str, value: Any, **changes: Any) -> str:
    """A spec document with `value` set at the dotted `path` (creating mappings on the way)."""
    document = spec_document(**changes)
    parts = path.split(".")
    target = document
    for part in parts[:-1]:
        target = target.setdefault(part, {})
    target[parts[-1]] = value
    return yaml.safe_dump(document, sort_keys=False)


def stack(changes: dict[str, Any] | None = None, remove: tuple[str, ...] = (), **settings: Any) -> str:
    """The shipped dev stack with `inferstack:<setting>` sections merged (dotted keys set deep), and keys removed."""
    document = copy.deepcopy(DEV_STACK)
    config = document["config"]
    for key, value in (changes or {}).items():
        config[key] = value
    for dotted, value in settings.items():
        section, _, rest = dotted.partition("__")
        key = f"inferstack:{section}"
        if not rest:
            config[key] = value
            continue
        target = config.setdefault(key, {})
        parts = rest.split("__")
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        target[parts[-1]] = value
    for key in remove:
        section, _, field = key.partition(".")
        if field:
            del config[section][field]
        else:
            del config[section]
    return yaml.safe_dump(document, sort_keys=False)


SPEC = spec_yaml()
STACK = yaml.safe_dump(DEV_STACK, sort_keys=False)

# --- pathological YAML (small enough to commit; the large ones are built by the test) -------------------------
laughs = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8)
)
BOMB = laughs.replace("a: &a", "x_a: &a") + ""
for letter in "bcdefghi":
    BOMB = BOMB.replace(f"\n{letter}: &{letter}", f"\nx_{letter}: &{letter}")
case("pathological", "alias-bomb-description.yaml", "line 5, column", "aliases expand to more than", BOMB + SPEC.replace("description: A model used by tests.", "description: *i"))
case("pathological", "alias-recursive.yaml", "line 1, column", "refers to itself", "name: &n [*n]\n")
case("pathological", "alias-undefined.yaml", "line 2, column", "has no anchor", SPEC.replace("team: demo", "team: *nothing"))
case("pathological", "tag-python-object.yaml", "line 1, column", "unsupported tag", "name: !!python/object:os.system echo\n")
case("pathological", "tag-python-apply.yaml", "line 1, column", "unsupported tag", "name: !!python/object/apply:os.system [echo]\n")
case("pathological", "tag-set.yaml", "line 1, column", "unsupported tag", "name: !!set {a, b}\n")
case("pathological", "tag-omap.yaml", "line 1, column", "unsupported tag", "name: !!omap [a: 1]\n")
case("pathological", "tag-custom.yaml", "line 1, column", "unsupported tag", "name: !vault secret/x\n")
case("pathological", "bad-int-tag.yaml", "line 1, column", "cannot read", "name: !!int twelve\n")
case("pathological", "merge-non-mapping.yaml", "", "'<<' merges a non-mapping", "<<: [1, 2]\nname: x\n")
case("pathological", "list-as-key.yaml", "", "used as a key", "? [a, b]\n: value\n")
case("pathological", "nested-flow-70.yaml", "line 1, column", "nesting deeper than 64", "name: " + "[" * 70 + "]" * 70 + "\n")
case("pathological", "nested-maps-70.yaml", "line 1, column", "nesting deeper than 64", "name: " + "{a: " * 70 + "1" + "}" * 70 + "\n")
case("pathological", "nested-block-70.yaml", "line 1, column", "nesting deeper than 64", "- " * 70 + "x\n")
case("pathological", "syntax-unclosed.yaml", "line 2, column", "invalid YAML", "name: [unclosed\nteam: x\n")
case("pathological", "syntax-tab.yaml", "line 2, column", "invalid YAML", "name: x\n\tteam: y\n")
case("pathological", "syntax-quote.yaml", "line 2, column", "invalid YAML", "name: 'open\n")
case("pathological", "syntax-indent.yaml", "line 4, column", "invalid YAML", "name: x\nteam:\n   a: 1\n  b: 2\n")
case("pathological", "empty.yaml", "(top level)", "the file is empty", "")
case("pathological", "comments-only.yaml", "(top level)", "the file is empty", "# nothing\n")
case("pathological", "top-level-list.yaml", "(top level)", "expected a mapping", "- a\n- b\n")
case("pathological", "top-level-scalar.yaml", "(top level)", "expected a mapping", "just text\n")
case("pathological", "long-string-name.yaml", "name", "at most 40 characters", spec_yaml(name="m" * 200_000))
case("pathological", "second-document-bad.yaml", "document[1].scaling", "Input should be", SPEC + "---\n" + spec_yaml(name="other-model", scaling="lots"))
case("pathological", "stack-alias-bomb.stack.yaml", "line 5, column", "aliases expand to more than", BOMB + STACK.replace("cost_center: ml-platform-dev", "cost_center: *i"))
case("pathological", "stack-nested.stack.yaml", "line 3, column", "nesting deeper than 64", "config:\n  aws:region: us-east-1\n  inferstack:x: " + "[" * 80 + "]" * 80 + "\n")
case("pathological", "stack-tag.stack.yaml", "line 3, column", "unsupported tag", "config:\n  aws:region: us-east-1\n  inferstack:cost_center: !!python/name:os.system ''\n")
case("pathological", "stack-syntax.stack.yaml", "line 3, column", "invalid YAML", "config:\n  aws:region: [us-east-1\n  x: 1\n")

# --- duplicate keys -----------------------------------------------------------------------------------------------
case("duplicate-keys", "top-level.yaml", "name", "duplicate key 'name' at lines", SPEC + "name: other\n")
case("duplicate-keys", "nested.yaml", "scaling.max_replicas", "duplicate key 'max_replicas' at lines", SPEC.replace("  max_replicas: 3\n", "  max_replicas: 3\n  max_replicas: 30\n"))
case("duplicate-keys", "in-list-item.yaml", "signature.inputs[0].dtype", "duplicate key 'dtype'",
     spec_yaml(signature={"inputs": [{"name": "x", "dtype": "float32", "shape": [1]}], "outputs": [{"name": "y", "dtype": "float32", "shape": [1]}]}).replace("    dtype: float32\n", "    dtype: float32\n    dtype: int64\n", 1))
case("duplicate-keys", "in-override.yaml", "environments.dev.enabled", "duplicate key 'enabled'", spec_yaml(environments={"dev": {"enabled": True}}).replace("    enabled: true\n", "    enabled: true\n    enabled: false\n"))
case("duplicate-keys", "flow-mapping.yaml", "scaling.min_replicas", "duplicate key 'min_replicas'", SPEC.replace("scaling:\n  min_replicas: 1\n  max_replicas: 3\n", "scaling: {min_replicas: 1, min_replicas: 2, max_replicas: 3}\n"))
case("duplicate-keys", "stack-section.stack.yaml", "config.inferstack:gpu", "duplicate key 'inferstack:gpu' at lines",
     STACK.replace("  inferstack:spot:\n", "  inferstack:gpu:\n    allowed_gpu_types: [h100]\n  inferstack:spot:\n"))
case("duplicate-keys", "stack-nested.stack.yaml", "config.inferstack:cluster.name", "duplicate key 'name'", STACK.replace("    name: inferstack-dev\n", "    name: inferstack-dev\n    name: other\n"))
case("duplicate-keys", "stack-top.stack.yaml", "config", "duplicate key 'config'", STACK + "config: {}\n")
case("duplicate-keys", "stack-region.stack.yaml", "config.aws:region", "duplicate key 'aws:region'", STACK.replace("  aws:region: us-east-1\n", "  aws:region: us-east-1\n  aws:region: eu-west-1\n"))
case("duplicate-keys", "stack-budget-team.stack.yaml", "config.inferstack:budgets.teams.risk", "duplicate key 'risk'", STACK.replace("      risk: 2000\n", "      risk: 2000\n      risk: 9000\n"))

# --- spec fields: unknown fields (suggestions everywhere), types, bounds, numbers ------------------------------------
case("spec-fields", "unknown-top.yaml", "replicas", "expected one of: accelerator", spec_yaml(replicas=3))
case("spec-fields", "unknown-nested-hint.yaml", "scaling.min_replica", "did you mean 'min_replicas'", nested("scaling.min_replica", 1))
case("spec-fields", "unknown-in-override.yaml", "environments.prod.scalin", "did you mean 'scaling'", spec_yaml(environments={"prod": {"scalin": {"min_replicas": 2}}}))
case("spec-fields", "unknown-in-override-nested.yaml", "environments.prod.scaling.min_replica", "did you mean 'min_replicas'", spec_yaml(environments={"prod": {"scaling": {"min_replica": 2}}}))
case("spec-fields", "unknown-in-list-item.yaml", "signature.inputs[0].dtyp", "did you mean 'dtype'",
     spec_yaml(signature={"inputs": [{"name": "x", "dtyp": "float32", "shape": [1]}], "outputs": [{"name": "y", "dtype": "float32", "shape": [1]}]}))
case("spec-fields", "unknown-in-variant.yaml", "rollout.variants[1].wieght", "did you mean 'weight'",
     spec_yaml(rollout={"strategy": "ab", "variants": [{"name": "a", "version": "1.0.0", "weight": 50}, {"name": "b", "version": "2.0.0", "wieght": 50}]}))
case("spec-fields", "unknown-in-batching.yaml", "serving.batching.max_batch", "did you mean 'max_batch_size'", nested("serving.batching", {"max_batch": 8, "max_latency_ms": 5}))
case("spec-fields", "unknown-in-resources.yaml", "serving.resources.cpus", "did you mean 'cpu'", nested("serving.resources", {"cpus": 2}))
case("spec-fields", "unknown-in-monitoring.yaml", "monitoring.runbook", "did you mean 'runbook_url'", spec_yaml(monitoring={"runbook": "https://x", "alert_route": "slack:#a", "runbook_url": "https://x"}))
case("spec-fields", "unknown-in-lineage.yaml", "registry.lineage.datasets", "did you mean 'dataset'", spec_yaml(registry={"lineage": {"datasets": "x"}}))
case("spec-fields", "unknown-in-capacity.yaml", "capacity.spots", "did you mean 'spot'", spec_yaml(capacity={"spots": "never"}))
case("spec-fields", "unknown-in-accelerator.yaml", "accelerator.gpu", "expected one of:", nested("accelerator.gpu", "l4"))
case("spec-fields", "unknown-in-artifact.yaml", "artifact.sha", "did you mean 'sha256'", nested("artifact.sha", "x"))
case("spec-fields", "unknown-in-override-accel.yaml", "environments.dev.accelerator.gpus_per_replicas", "did you mean 'gpus_per_replica'", spec_yaml(environments={"dev": {"accelerator": {"gpus_per_replicas": 1}}}))
case("spec-fields", "missing-name.yaml", "name", "required field is missing", "\n".join(line for line in SPEC.splitlines() if not line.startswith("name:")) + "\n")
case("spec-fields", "missing-team.yaml", "team", "required field is missing", "\n".join(line for line in SPEC.splitlines() if not line.startswith("team:")) + "\n")
case("spec-fields", "name-upper.yaml", "name", "should match pattern", spec_yaml(name="BadName"))
case("spec-fields", "name-number.yaml", "name", "valid string", spec_yaml(name=12))
case("spec-fields", "name-null.yaml", "name", "valid string", spec_yaml(name=None))
case("spec-fields", "name-list.yaml", "name", "valid string", spec_yaml(name=["a"]))
case("spec-fields", "name-emoji-markup.yaml", "name", ":fire:", spec_yaml(name=":fire: [bold]x[/bold]"))
case("spec-fields", "owner-bad.yaml", "owner", "should match pattern", spec_yaml(owner="nobody"))
case("spec-fields", "team-digit.yaml", "team", "should match pattern", spec_yaml(team="9team"))
case("spec-fields", "replicas-string.yaml", "scaling.min_replicas", "valid integer", nested("scaling.min_replicas", "two"))
case("spec-fields", "replicas-negative.yaml", "scaling.min_replicas", "greater than or equal to 0", nested("scaling.min_replicas", -1))
case("spec-fields", "replicas-float.yaml", "scaling.max_replicas", "valid integer", nested("scaling.max_replicas", 2.5))
case("spec-fields", "replicas-huge.yaml", "scaling.max_replicas", "less than or equal to", nested("scaling.max_replicas", 10**30))
case("spec-fields", "gpu-memory-nan.yaml", "accelerator.gpu_memory_gib", "not a number", SPEC.replace("gpu_memory_gib: 8", "gpu_memory_gib: .nan"))
case("spec-fields", "gpu-memory-inf.yaml", "accelerator.gpu_memory_gib", "infinite", SPEC.replace("gpu_memory_gib: 8", "gpu_memory_gib: .inf"))
case("spec-fields", "latency-nan.yaml", "monitoring.latency_p95_ms", "not a number", SPEC.replace("monitoring:\n", "monitoring:\n  latency_p95_ms: .nan\n"))
case("spec-fields", "error-rate-neg-inf.yaml", "monitoring.error_rate_percent", "infinite", SPEC.replace("monitoring:\n", "monitoring:\n  error_rate_percent: -.inf\n"))
case("spec-fields", "cpu-nan.yaml", "serving.resources.cpu", "not a number", nested("serving.resources.cpu", float("nan")))
case("spec-fields", "target-inf.yaml", "scaling.target", "infinite", nested("scaling.target", float("inf")))
case("spec-fields", "gpu-type-unknown.yaml", "accelerator.gpu_type", "Input should be", nested("accelerator.gpu_type", "v100"))
case("spec-fields", "format-pickle.yaml", "artifact.format", "Input should be", nested("artifact.format", "pickle"))
case("spec-fields", "sha-short.yaml", "artifact.sha256", "pattern", nested("artifact.sha256", "abc"))
case("spec-fields", "storage-ftp.yaml", "artifact.storage_uri", "pattern", nested("artifact.storage_uri", "ftp://x/y"))
case("spec-fields", "runbook-http.yaml", "monitoring.runbook_url", "pattern", nested("monitoring.runbook_url", "http://x"))
case("spec-fields", "alert-route-bad.yaml", "monitoring.alert_route", "pattern", nested("monitoring.alert_route", "pigeon"))
case("spec-fields", "environment-unknown.yaml", "environments.qa", "Input should be", spec_yaml(environments={"qa": {"enabled": False}}))
case("spec-fields", "environments-list.yaml", "environments", "valid dictionary", spec_yaml(environments=["dev"]))
case("spec-fields", "scaling-string.yaml", "scaling", "valid dictionary", spec_yaml(scaling="lots"))
case("spec-fields", "shape-zero.yaml", "signature.inputs[0].shape", "shape[0] is 0",
     spec_yaml(signature={"inputs": [{"name": "x", "dtype": "float32", "shape": [0]}], "outputs": [{"name": "y", "dtype": "float32", "shape": [1]}]}))
case("spec-fields", "dtype-bad.yaml", "signature.inputs[0].dtype", "Input should be",
     spec_yaml(signature={"inputs": [{"name": "x", "dtype": "float99", "shape": [1]}], "outputs": [{"name": "y", "dtype": "float32", "shape": [1]}]}))
case("spec-fields", "canary-over-100.yaml", "rollout.canary_percent", "less than or equal to 100", spec_yaml(rollout={"strategy": "canary", "stable_version": "0.9.0", "canary_percent": 150}))
case("spec-fields", "variant-name-upper.yaml", "rollout.variants[0].name", "should match pattern",
     spec_yaml(rollout={"strategy": "ab", "variants": [{"name": "A", "version": "1.0.0", "weight": 50}, {"name": "b", "version": "2.0.0", "weight": 50}]}))
case("spec-fields", "date-as-version.yaml", "artifact.version", "valid string", SPEC.replace("version: 1.0.0", "version: 2024-01-01"))
case("spec-fields", "bool-as-name.yaml", "name", "valid string", spec_yaml(name=True))

# --- cross-field rules ---------------------------------------------------------------------------------------------
case("cross-field", "min-above-max.yaml", "scaling.min_replicas", "min_replicas 4 is above max_replicas 2", spec_yaml(scaling={"min_replicas": 4, "max_replicas": 2}))
case("cross-field", "zero-without-scale-to-zero.yaml", "scaling.min_replicas", "scale_to_zero", spec_yaml(scaling={"min_replicas": 0, "max_replicas": 2}))
case("cross-field", "gpu-memory-above-gpu.yaml", "accelerator.gpu_memory_gib", "has 24 GiB", spec_yaml(accelerator={"gpu_type": "a10g", "gpus_per_replica": 1, "gpu_memory_gib": 30}))
case("cross-field", "gpus-without-type.yaml", "accelerator.gpus_per_replica", "with gpu_type none", spec_yaml(accelerator={"gpu_type": "none", "gpus_per_replica": 2}))
case("cross-field", "shared-multi-gpu.yaml", "accelerator.shareable", "to share", spec_yaml(accelerator={"gpu_type": "l4", "gpus_per_replica": 2, "gpu_memory_gib": 8, "shareable": True}))
case("cross-field", "gpu-metric-on-cpu.yaml", "scaling.metric", "accelerator.gpu_type is none", spec_yaml(accelerator={"gpu_type": "none"}, scaling={"min_replicas": 1, "max_replicas": 2, "metric": "gpu-utilization", "target": 70}))
case("cross-field", "canary-missing-percent.yaml", "rollout.strategy", "needs canary_percent", spec_yaml(rollout={"strategy": "canary", "stable_version": "0.9.0"}))
case("cross-field", "stable-equals-candidate.yaml", "rollout.stable_version", "equals artifact.version", spec_yaml(rollout={"strategy": "canary", "stable_version": "1.0.0", "canary_percent": 10}))
case("cross-field", "ab-weights.yaml", "rollout", "add up to 70",
     spec_yaml(rollout={"strategy": "ab", "variants": [{"name": "a", "version": "1", "weight": 50}, {"name": "b", "version": "2", "weight": 20}]}))
case("cross-field", "ab-one-variant.yaml", "rollout", "expected at least 2", spec_yaml(rollout={"strategy": "ab", "variants": [{"name": "a", "version": "1", "weight": 100}]}))
case("cross-field", "override-min-above-max.yaml", "environments.dev.scaling.min_replicas", "after applying environments.dev", spec_yaml(environments={"dev": {"scaling": {"min_replicas": 9}}}))
case("cross-field", "override-gpu-none.yaml", "environments.dev.accelerator.gpus_per_replica", "after applying environments.dev", spec_yaml(environments={"dev": {"accelerator": {"gpu_type": "none"}}}))
case("cross-field", "override-stable-version.yaml", "environments.dev.artifact_version", "after applying environments.dev",
     spec_yaml(rollout={"strategy": "canary", "stable_version": "0.9.0", "canary_percent": 10}, environments={"dev": {"artifact_version": "0.9.0"}}))
case("cross-field", "reserved-namespace.yaml", "namespace", "is reserved", spec_yaml(namespace="kube-system"))
case("cross-field", "shadow-extra-field.yaml", "rollout", "set with strategy shadow", spec_yaml(rollout={"strategy": "shadow", "stable_version": "0.9.0", "mirror_percent": 10, "canary_percent": 5}))

# --- engine-free checks that `plan` made and `validate` missed -------------------------------------------------------
case("validate-equals-plan", "serverless-keda-metric.yaml", "scaling.metric", "needs deployment_mode standard",
     spec_yaml(serving={"deployment_mode": "serverless"}, scaling={"min_replicas": 1, "max_replicas": 3, "metric": "latency", "target": 200}))
case("validate-equals-plan", "serverless-gpu-metric.yaml", "scaling.metric", "needs deployment_mode standard",
     spec_yaml(serving={"deployment_mode": "serverless"}, scaling={"min_replicas": 1, "max_replicas": 3, "metric": "gpu-utilization", "target": 60}))
case("validate-equals-plan", "canary-explicit-storage.yaml", "artifact.storage_uri", "needs its own storage URI",
     spec_yaml(artifact={"format": "onnx", "version": "1.0.0", "storage_uri": "s3://inferstack-models-dev/demo/1.0.0/"}, rollout={"strategy": "canary", "stable_version": "0.9.0", "canary_percent": 10}))
case("validate-equals-plan", "ab-names-too-long.yaml", "rollout.variants[0].name", "characters; expected at most",
     spec_yaml(name="a-very-long-model-name-that-fills-forty", rollout={"strategy": "ab", "variants": [{"name": "variant-number-one", "version": "1.0.0", "weight": 50}, {"name": "variant-number-two", "version": "2.0.0", "weight": 50}]}))
case("validate-equals-plan", "cpu-too-large.yaml", "serving.resources.cpu", "needs 150 vCPU",
     spec_yaml(accelerator={"gpu_type": "none"}, serving={"resources": {"cpu": 150, "memory_gib": 4}}))
case("validate-equals-plan", "memory-too-large.yaml", "serving.resources.memory_gib", "GiB memory per replica",
     spec_yaml(accelerator={"gpu_type": "none"}, serving={"resources": {"cpu": 2, "memory_gib": 2000}}))
case("validate-equals-plan", "override-serverless-latency.yaml", "scaling.metric", "needs deployment_mode standard",
     spec_yaml(scaling={"min_replicas": 1, "max_replicas": 3, "metric": "latency", "target": 200}, environments={"dev": {"serving": {"deployment_mode": "serverless"}}}))
case("validate-equals-plan", "policy-unknown-rule.stack.yaml", "config.inferstack:policy.enforcement.prod-min-replica", "did you mean 'prod-min-replicas'",
     stack(policy={"enforcement": {"prod-min-replica": "disabled"}}))
case("validate-equals-plan", "policy-unknown-rule-far.stack.yaml", "config.inferstack:policy.enforcement.no-such-rule", "no rule is named",
     stack(policy={"enforcement": {"no-such-rule": "advisory"}}))

# --- stack values with meaning -------------------------------------------------------------------------------------
case("stack-values", "cidr-words.stack.yaml", "config.inferstack:cluster.public_access_cidrs", "is not an IPv4 CIDR", stack(cluster__endpoint_public_access=True, cluster__public_access_cidrs=["my office"]))
case("stack-values", "cidr-999.stack.yaml", "config.inferstack:network.vpc_cidr", "is not an IPv4 CIDR", stack(network__vpc_cidr="999.999.0.0/99"))
case("stack-values", "cidr-host-bits.stack.yaml", "config.inferstack:network.vpc_cidr", "has host bits set", stack(network__vpc_cidr="10.40.0.1/16"))
case("stack-values", "cidr-vpc-public.stack.yaml", "config.inferstack:network.vpc_cidr", "is not a private range", stack(network__vpc_cidr="8.8.0.0/16"))
case("stack-values", "cidr-vpc-too-big.stack.yaml", "config.inferstack:network.vpc_cidr", "expected a VPC CIDR from /16 to /28", stack(network__vpc_cidr="10.0.0.0/8"))
case("stack-values", "cidr-vpc-too-small.stack.yaml", "config.inferstack:network.vpc_cidr", "expected a VPC CIDR from /16 to /28", stack(network__vpc_cidr="10.40.0.0/30"))
case("stack-values", "cidr-vpc-ipv6.stack.yaml", "config.inferstack:network.vpc_cidr", "should match pattern", stack(network__vpc_cidr="fd00::/8"))
case("stack-values", "cidr-public-private.stack.yaml", "config.inferstack:cluster.public_access_cidrs", "is not a public range", stack(cluster__endpoint_public_access=True, cluster__public_access_cidrs=["10.0.0.0/8"]))
case("stack-values", "cidr-public-doc.stack.yaml", "config.inferstack:cluster.public_access_cidrs", "documentation range", stack(cluster__endpoint_public_access=True, cluster__public_access_cidrs=["203.0.113.0/24"]))
case("stack-values", "cidr-public-all.stack.yaml", "config.inferstack:cluster.public_access_cidrs", "whole internet", stack(cluster__endpoint_public_access=True, cluster__public_access_cidrs=["0.0.0.0/0"]))
case("stack-values", "cidr-public-halves.stack.yaml", "config.inferstack:cluster.public_access_cidrs", "is not a public range", stack(cluster__endpoint_public_access=True, cluster__public_access_cidrs=["0.0.0.0/1", "128.0.0.0/1"]))
case("stack-values", "cidr-public-union.stack.yaml", "config.inferstack:cluster", "more than a /8", stack(cluster__endpoint_public_access=True, cluster__public_access_cidrs=["20.0.0.0/8", "21.0.0.0/8"]))
case("stack-values", "cidr-public-union-configured.stack.yaml", "config.inferstack:cluster", "more than a /20",
     stack(cluster__endpoint_public_access=True, cluster__public_access_cidrs=["20.30.0.0/16"], cluster__public_access_widest_prefix=20))
case("stack-values", "cidr-public-ipv6.stack.yaml", "config.inferstack:cluster.public_access_cidrs", "is IPv6", stack(cluster__endpoint_public_access=True, cluster__public_access_cidrs=["2001:db8::/32"]))
case("stack-values", "cidr-public-loopback.stack.yaml", "config.inferstack:cluster.public_access_cidrs", "is not a public range", stack(cluster__endpoint_public_access=True, cluster__public_access_cidrs=["127.0.0.1/32"]))
case("stack-values", "public-without-cidrs.stack.yaml", "config.inferstack:cluster.endpoint_public_access", "without public_access_cidrs", stack(cluster__endpoint_public_access=True))
case("stack-values", "zone-other-region.stack.yaml", "config.inferstack:network.availability_zones[1]", "is not in region us-east-1", stack(network__availability_zones=["us-east-1a", "eu-west-1b"]))
case("stack-values", "zone-region-itself.stack.yaml", "config.inferstack:network.availability_zones[0]", "should match pattern", stack(network__availability_zones=["us-east-1"]))
case("stack-values", "zone-repeated.stack.yaml", "config.inferstack:network.availability_zones", "repeat", stack(network__availability_zones=["us-east-1a", "us-east-1a"]))
case("stack-values", "zone-west-in-east.stack.yaml", "config.inferstack:network.availability_zones[0]", "is not in region us-east-1", stack(network__availability_zones=["us-west-2a"]))
case("stack-values", "zones-empty.stack.yaml", "config.inferstack:network.availability_zones", "at least 1 item", stack(network__availability_zones=[]))
case("stack-values", "price-inf.stack.yaml", "config.inferstack:price_overrides.g5.xlarge", "infinite", stack(price_overrides={"g5.xlarge": float("inf")}))
case("stack-values", "price-nan.stack.yaml", "config.inferstack:price_overrides.g5.xlarge", "not a number", stack(price_overrides={"g5.xlarge": float("nan")}))
case("stack-values", "price-zero.stack.yaml", "config.inferstack:price_overrides.g5.xlarge", "greater than 0", stack(price_overrides={"g5.xlarge": 0}))
case("stack-values", "price-negative.stack.yaml", "config.inferstack:price_overrides.g5.xlarge", "greater than 0", stack(price_overrides={"g5.xlarge": -1}))
case("stack-values", "price-absurd.stack.yaml", "config.inferstack:price_overrides.g5.xlarge", "is implausible for g5.xlarge", stack(price_overrides={"g5.xlarge": 1000}))
case("stack-values", "price-tiny.stack.yaml", "config.inferstack:price_overrides.g5.xlarge", "is implausible for g5.xlarge", stack(price_overrides={"g5.xlarge": 0.0001}))
case("stack-values", "price-unknown-type.stack.yaml", "config.inferstack:price_overrides.g9.mega", "unknown instance type 'g9.mega'", stack(price_overrides={"g9.mega": 1.0}))
case("stack-values", "price-string.stack.yaml", "config.inferstack:price_overrides.g5.xlarge", "valid number", stack(price_overrides={"g5.xlarge": "cheap"}))
case("stack-values", "spot-discount-one.stack.yaml", "config.inferstack:spot_discount_overrides.g5", "less than 1", stack(spot_discount_overrides={"g5": 1.5}))
case("stack-values", "spot-discount-unknown.stack.yaml", "config.inferstack:spot_discount_overrides.zz", "unknown instance family 'zz'", stack(spot_discount_overrides={"zz": 0.5}))
case("stack-values", "spot-discount-nan.stack.yaml", "config.inferstack:spot_discount_overrides.g5", "not a number", stack(spot_discount_overrides={"g5": float("nan")}))
case("stack-values", "budget-inf.stack.yaml", "config.inferstack:budgets.monthly_usd", "infinite", stack(budgets__monthly_usd=float("inf")))
case("stack-values", "budget-nan.stack.yaml", "config.inferstack:budgets.monthly_usd", "not a number", stack(budgets__monthly_usd=float("nan")))
case("stack-values", "team-budget-inf.stack.yaml", "config.inferstack:budgets.teams.risk", "infinite", stack(budgets__teams__risk=float("inf")))
case("stack-values", "team-budgets-above.stack.yaml", "config.inferstack:budgets.teams", "add up to", stack(budgets__teams__risk=24000))
case("stack-values", "k8s-1-23.stack.yaml", "config.inferstack:cluster.version", "left EKS extended support on 2024-10-11", stack(cluster__version="1.23"))
case("stack-values", "k8s-1-33.stack.yaml", "config.inferstack:cluster.version", "left EKS standard support on 2026-07-29", stack(cluster__version="1.33"))
case("stack-values", "k8s-1-34.stack.yaml", "config.inferstack:cluster.version", "left EKS standard support on 2026-12-02", stack(cluster__version="1.34"))
case("stack-values", "k8s-unknown.stack.yaml", "config.inferstack:cluster.version", "is not in the EKS support calendar", stack(cluster__version="1.99"))
case("stack-values", "k8s-pattern.stack.yaml", "config.inferstack:cluster.version", "should match pattern", stack(cluster__version="1.3"))
case("stack-values", "k8s-float.stack.yaml", "config.inferstack:cluster.version", "valid string", stack(cluster__version=1.35))
case("stack-values", "adopted-cluster-no-vpc.stack.yaml", "config.inferstack:cluster.create", "without network.vpc_id", stack(cluster__create=False))
case("stack-values", "vpc-without-subnets.stack.yaml", "config.inferstack:network", "without private_subnet_ids", stack(network__vpc_id="vpc-0abc"))
case("stack-values", "store-existing-no-key.stack.yaml", "config.inferstack:model_store", "without kms_key_arn", stack(model_store__create=False))
case("stack-values", "region-bad.stack.yaml", "config.aws:region", "should match pattern", stack({"aws:region": "mars-1"}))
case("stack-values", "region-missing.stack.yaml", "config.aws:region", "required setting is missing", stack(remove=("aws:region",)))
case("stack-values", "unknown-setting.stack.yaml", "config.inferstack:clustr", "did you mean 'inferstack:cluster'", stack({"inferstack:clustr": {"name": "x"}}))
case("stack-values", "unknown-namespace.stack.yaml", "config.foo:bar", "unknown config namespace", stack({"foo:bar": 1}))
case("stack-values", "unknown-cluster-field.stack.yaml", "config.inferstack:cluster.versoin", "did you mean 'version'", stack(cluster__versoin="1.35"))
case("stack-values", "unknown-network-field.stack.yaml", "config.inferstack:network.zones", "expected one of:", stack(network__zones=["us-east-1a"]))
case("stack-values", "unknown-alerts-field.stack.yaml", "config.inferstack:alerts.slack_webhok", "did you mean 'slack_webhook'", stack(alerts__slack_webhok="x"))
case("stack-values", "enforcement-bad-level.stack.yaml", "config.inferstack:policy.enforcement.prod-min-replicas", "Input should be", stack(policy={"enforcement": {"prod-min-replicas": "off"}}))
case("stack-values", "spot-policy-bad.stack.yaml", "config.inferstack:spot.policy", "Input should be", stack(spot__policy="sometimes"))
case("stack-values", "gpu-list-empty.stack.yaml", "config.inferstack:gpu.allowed_gpu_types", "at least 1 item", stack(gpu__allowed_gpu_types=[]))
case("stack-values", "config-not-mapping.stack.yaml", "config", "expected a `config:` mapping", "config: [1, 2]\n")
case("stack-values", "section-not-mapping.stack.yaml", "config.inferstack:cluster", "valid dictionary", stack(cluster="inferstack-dev"))
case("stack-values", "bucket-bad.stack.yaml", "config.inferstack:model_store.bucket", "should match pattern", stack(model_store__bucket="Bad_Bucket"))
case("stack-values", "alert-destination-bad.stack.yaml", "config.inferstack:alerts.destination", "should match pattern", stack(alerts__destination="carrier-pigeon"))
case("stack-values", "secret-in-plain-field.stack.yaml", "config.inferstack:cluster.name", "is a Pulumi secret", stack(cluster__name={"secure": "v1:AAAAxyz"}))
case("stack-values", "secret-whole-section.stack.yaml", "config.inferstack:alerts", "is a Pulumi secret", stack(alerts={"secure": "v1:AAAAxyz"}))
case("stack-values", "secret-bad-shape.stack.yaml", "config.inferstack:alerts.slack_webhook", "valid string", stack(alerts__slack_webhook={"secure": 12}))
case("stack-values", "retention-huge.stack.yaml", "config.inferstack:monitoring.retention_days", "less than or equal to 365", stack(monitoring__retention_days=3650))

# --- Python specs ------------------------------------------------------------------------------------------------------
PY_HEADER = "from inferstack.spec import Accelerator, Artifact, ModelSpec, Monitoring, Scaling\n"
PY_SPEC = (
    "spec = ModelSpec(\n    name='py-model', team='demo', owner='demo@example.com', description='A Python spec.',\n"
    "    artifact=Artifact(format='onnx', version='1.0.0'),\n"
    "    accelerator=Accelerator(gpu_type='l4', gpus_per_replica=1, gpu_memory_gib=8),\n"
    "    scaling=Scaling(min_replicas=1, max_replicas=2),\n"
    "    monitoring=Monitoring(runbook_url='https://runbooks.example.com/x', alert_route='slack:#x'),\n)\n"
)
case("python-specs", "model-construct.py", "line 2, team", "required field is missing", PY_HEADER + "spec = ModelSpec.model_construct(name='py-model')\n")
case("python-specs", "mutated-min-above-max.py", "line 2, scaling.min_replicas", "min_replicas 9 is above max_replicas 2", PY_HEADER + PY_SPEC + "spec.scaling.min_replicas = 9\n")
case("python-specs", "mutated-bad-name.py", "line 2, name", "should match pattern", PY_HEADER + PY_SPEC + "spec.name = 'Not A DNS Name'\n")
case("python-specs", "construct-bad-type.py", "line 2, scaling", "valid dictionary", PY_HEADER + PY_SPEC + "spec = spec.model_copy(update={'scaling': 'lots'})\n")
case("python-specs", "system-exit-message.py", "line 2", "raised SystemExit: not today", PY_HEADER + "raise SystemExit('not today')\n")
case("python-specs", "sys-exit-zero.py", "line 3", "called sys.exit(0)", PY_HEADER + "import sys\nsys.exit(0)\n")
case("python-specs", "sys-exit-three.py", "line 3", "called sys.exit(3)", PY_HEADER + "import sys\nsys.exit(3)\n")
case("python-specs", "os-exit.py", "(top level)", "ended the loader process", PY_HEADER + "import os\nos._exit(0)\n")
case("python-specs", "raises-runtime.py", "line 2", "the module raised RuntimeError: boom", PY_HEADER + "raise RuntimeError('boom')\n")
case("python-specs", "raises-keyboard-interrupt.py", "line 2", "the module raised KeyboardInterrupt", PY_HEADER + "raise KeyboardInterrupt\n")
case("python-specs", "syntax-error.py", "line 1", "Python syntax error", "def broken(:\n")
case("python-specs", "no-specs.py", "(top level)", "defines no ModelSpec objects", "x = 1\n")
case("python-specs", "invalid-constructor.py", "line 2, Scaling.min_replicas", "min_replicas 3 is above max_replicas 1", PY_HEADER + "scaling = Scaling(min_replicas=3, max_replicas=1)\n")
case("python-specs", "invalid-model-spec.py", "line 2, name", "should match pattern", PY_HEADER + PY_SPEC.replace("name='py-model'", "name='Py Model'"))
case("python-specs", "prints-then-fails.py", "line 3", "the module raised ValueError", PY_HEADER + "print('noise on stdout')\nraise ValueError('x')\n")
case("python-specs", "reads-credentials.py", "line 3", "AWS_SECRET_ACCESS_KEY=None", PY_HEADER + "import os\nraise RuntimeError('AWS_SECRET_ACCESS_KEY=' + str(os.environ.get('AWS_SECRET_ACCESS_KEY')))\n")
case("python-specs", "hangs.py", "(top level)", "did not finish loading within", PY_HEADER + "while True:\n    pass\n")
case("python-specs", "list-of-bad-specs.py", "line 9, scaling.min_replicas", "is above max_replicas", PY_HEADER + PY_SPEC + "specs = [spec.model_copy(update={'name': 'py-two', 'scaling': Scaling.model_construct(min_replicas=5, max_replicas=1)})]\n")
# Endpoints on the shared gateway (issue 15).
case("cross-field", "endpoint-burst-below-rate.yaml", "endpoint.rate_limit", "expected burst >= requests_per_second",
     spec_yaml(endpoint={"exposure": "gateway", "rate_limit": {"requests_per_second": 50, "burst": 10}}))
case("validate-equals-plan", "endpoint-claims-without-auth.yaml", "endpoint.auth", "nothing would check them",
     spec_yaml(endpoint={"exposure": "gateway", "auth": {"required_claims": {"groups": ["demo-clients"]}}}))
case("validate-equals-plan", "endpoint-cluster-local-canary.yaml", "endpoint.exposure", "expected endpoint.exposure: gateway",
     spec_yaml(endpoint={"exposure": "cluster-local"}, rollout={"strategy": "canary", "stable_version": "0.9.0", "canary_percent": 10}))
case("python-specs", "nan-field.py", "line 2, accelerator.gpu_memory_gib", "not a number", PY_HEADER + PY_SPEC + "spec.accelerator.gpu_memory_gib = float('nan')\n")
case("python-specs", "emoji-in-message.py", "line 2", ":fire:", PY_HEADER + "raise RuntimeError(':fire: [bold]boom[/bold]')\n")


def write() -> int:
    """Write every case file; remove stale ones. The number of cases."""
    count = 0
    for kind, cases in CASES.items():
        folder = HERE / kind
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir()
        for name, (path, phrase, text) in cases.items():
            # The header is one more line: line numbers below are those of `text`.
            path = re.sub(r"^line (\d+)", lambda match: f"line {int(match.group(1)) + 1}", path)
            header = f"# expect: {path} | {phrase}\n"
            (folder / name).write_text(header + text, encoding="utf-8")
            count += 1
    return count


if __name__ == "__main__":
    print(f"wrote {write()} cases")
