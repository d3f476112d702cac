"""checkov over rendered manifests: our InferenceService checks, the JSON parsing, inline skips.

One checkov run (isolated through uvx, pinned) scans every manifest below; the
test skips, saying why, when uvx cannot fetch or start checkov here.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from inferstack.policy.checkov import CHECKOV_VERSION, CheckovReport, CheckovUnavailable, checkov_command, parse_checkov_json, run_checkov


def isvc(name: str, **changes: Any) -> dict[str, Any]:
    """A GPU InferenceService that passes every custom check, with `changes` merged into its predictor."""
    manifest: dict[str, Any] = {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": name, "namespace": "vision"},
        "spec": {
            "predictor": {
                "minReplicas": 1,
                "maxReplicas": 2,
                "nodeSelector": {"inferstack.io/gpu-type": "a10g"},
                "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
                "model": {
                    "modelFormat": {"name": "onnx"},
                    "storageUri": f"s3://inferstack-models-dev/models/vision/{name}/1/",
                    "resources": {
                        "limits": {"cpu": "2", "memory": "4Gi", "nvidia.com/gpu": "1"},
                        "requests": {"cpu": "2", "memory": "4Gi", "nvidia.com/gpu": "1"},
                    },
                    "securityContext": {"runAsNonRoot": True, "runAsUser": 1000, "allowPrivilegeEscalation": False},
                },
            }
        },
    }
    model = manifest["spec"]["predictor"]["model"]
    for key, value in changes.items():
        model[key] = value
    return manifest


def without_gpu_limit() -> dict[str, Any]:
    manifest = isvc("no-gpu-limit")
    manifest["spec"]["predictor"]["model"]["resources"] = {"limits": {"cpu": "2", "memory": "4Gi"}, "requests": {"cpu": "2", "memory": "4Gi"}}
    return manifest


MANIFESTS: dict[str, dict[str, Any]] = {
    "good": isvc("good"),
    "root": isvc("root", securityContext={"runAsNonRoot": False, "runAsUser": 0, "allowPrivilegeEscalation": False}),
    "escalates": isvc("escalates", securityContext={"runAsNonRoot": True, "privileged": True}),
    "no-limits": isvc("no-limits", resources={"limits": {"nvidia.com/gpu": "1"}, "requests": {"nvidia.com/gpu": "1"}}),
    "no-gpu-limit": without_gpu_limit(),
}
SKIPPED = copy.deepcopy(MANIFESTS["no-limits"])
SKIPPED["metadata"]["name"] = "skipped"
SKIPPED["metadata"]["annotations"] = {"checkov.io/skip1": "CKV_ISVC_3=burst model, limits set by LimitRange"}
MANIFESTS["skipped"] = SKIPPED
EXPECTED_FAILURES = {
    ("CKV_ISVC_1", "root"),
    ("CKV_ISVC_2", "escalates"),
    ("CKV_ISVC_3", "no-limits"),
    ("CKV_ISVC_4", "no-gpu-limit"),
}


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory) -> CheckovReport:
    directory = tmp_path_factory.mktemp("manifests")
    for name, manifest in MANIFESTS.items():
        (directory / f"{name}.yaml").write_text(yaml.safe_dump(manifest), encoding="utf-8")
    try:
        return run_checkov(directory)
    except CheckovUnavailable as reason:
        pytest.skip(f"checkov=={CHECKOV_VERSION} cannot run here: {reason}")


def test_custom_checks_catch_each_insecure_inference_service(scanned: CheckovReport) -> None:
    failures = {(f.check_id, f.resource.rsplit(".", 1)[-1]) for f in scanned.failed if f.is_custom}
    assert failures == EXPECTED_FAILURES
    assert scanned.has_mandatory_violations
    assert scanned.resources == len(MANIFESTS)


def test_good_manifest_passes_all_four_custom_checks(scanned: CheckovReport) -> None:
    assert not [f for f in scanned.failed if f.resource.endswith(".good")]
    assert scanned.passed >= 4


def test_inline_skip_is_reported_with_its_reason(scanned: CheckovReport) -> None:
    assert [(f.check_id, f.skip_reason) for f in scanned.skipped] == [("CKV_ISVC_3", "burst model, limits set by LimitRange")]


def test_command_is_pinned_and_isolated(tmp_path: Path) -> None:
    command = checkov_command(tmp_path)
    assert command[:3] == ["uvx", "--from", f"checkov=={CHECKOV_VERSION}"]
    assert "--external-checks-dir" in command and "kubernetes" in command


def test_parse_handles_a_list_of_reports_and_a_bare_summary() -> None:
    failed = {"check_id": "CKV_K8S_21", "check_name": "default namespace", "resource": "Service.default.x", "file_path": "/a.yaml", "check_result": {"result": "FAILED"}}
    listed = json.dumps([
        {"check_type": "kubernetes", "results": {"passed_checks": [{}], "failed_checks": [failed], "skipped_checks": []}, "summary": {"resource_count": 1, "checkov_version": "3.3.30"}},
    ])
    report = parse_checkov_json(listed)
    assert report.passed == 1 and report.failed[0].file == "a.yaml"
    assert report.violations()[0]["enforcement"] == "advisory" and not report.has_mandatory_violations
    empty = parse_checkov_json(json.dumps({"passed": 0, "failed": 0, "skipped": 0, "parsing_errors": 0, "resource_count": 0, "checkov_version": "3.3.30"}))
    assert (empty.passed, empty.failed, empty.resources) == (0, (), 0)
