"""The runtime catalogue as a spec rule and as rendered settings (issue 14).

- a scaling metric the model's runtime cannot provide is bad input (exit 2 in validate and plan), naming the alternatives;
- format + protocol without a KServe v0.20.0 runtime, and batching a runtime cannot do, are refused;
- batching reaches the runtime: KServe's batcher for v1 only, Triton dynamic batching and MLServer adaptive batching for v2;
- LLMs: vLLM backend, tensor parallel = gpus_per_replica;
- the rendered InferenceServices are accepted, unpruned, by the KServe v0.20.0 CRD.
"""

from __future__ import annotations

import os
import shutil
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from typer.testing import CliRunner

from inferstack.cli import app
from inferstack.compiler import compile_blueprint
from inferstack.render.inference_service import render_inference_service
from inferstack.spec import ModelSpec, load_environment
from inferstack.spec.loader import LoadedSpec
from inferstack.readiness.reference import reference_location
from tests.spec_factory import spec_document

REFERENCE = reference_location()
MISSING_REFERENCE = f"upstream reference data not found at {REFERENCE} (set INFERSTACK_REFERENCE)"


def _spec(name: str, model_format: str, **changes: Any) -> dict[str, Any]:
    document = spec_document(name=name, artifact={"format": model_format, "version": "1.0.0"})
    document.update(changes)
    return document


# (case id, spec document, field path the line names, phrases it must contain)
REFUSED: list[tuple[str, dict[str, Any], str, tuple[str, ...]]] = [
    (
        "latency-on-torchserve",
        _spec("torch-model", "pytorch", scaling={"min_replicas": 1, "max_replicas": 3, "metric": "latency", "target": 100}),
        "scaling.metric",
        ("metric latency is not exported by runtime kserve-torchserve", "expected one of: concurrency, rps, gpu-utilization"),
    ),
    (
        "queue-depth-on-triton",
        _spec("onnx-model", "onnx", scaling={"min_replicas": 1, "max_replicas": 3, "metric": "queue-depth", "target": 5}),
        "scaling.metric",
        ("metric queue-depth is not exported by runtime kserve-tritonserver", "concurrency, rps, latency, gpu-utilization"),
    ),
    (
        "concurrency-on-tensorflow-serving",
        _spec("tf-model", "tensorflow", serving={"protocol": "v1", "deployment_mode": "standard"}),
        "scaling.metric",
        ("kserve-tensorflow-serving", "expected one of: gpu-utilization, or protocol v2 (Triton)"),
    ),
    (
        "kv-cache-on-mlserver",
        _spec(
            "cpu-model", "sklearn",
            accelerator={"gpu_type": "none", "gpus_per_replica": 0, "gpu_memory_gib": 0},
            scaling={"min_replicas": 1, "max_replicas": 3, "metric": "kv-cache", "target": 70},
        ),
        "scaling.metric",
        ("metric kv-cache is not exported by runtime kserve-mlserver", "expected one of: concurrency, rps, latency"),
    ),
]
REFUSED_BY_SPEC: list[tuple[str, dict[str, Any], tuple[str, ...]]] = [
    ("onnx-on-v1", _spec("onnx-model", "onnx", serving={"protocol": "v1"}), ("serving.protocol: no KServe v0.20.0 runtime serves format onnx with protocol v1", "expected protocol v2")),
    (
        "unknown-runtime",
        _spec("onnx-model", "onnx", serving={"runtime": "my-runtime"}),
        ("serving.runtime: runtime my-runtime is not in the runtime catalogue", "kserve-tritonserver"),
    ),
    (
        "batching-on-vllm",
        _spec("llm-model", "huggingface", serving={"batching": {"max_batch_size": 8, "max_latency_ms": 10}}),
        ("serving.batching: kserve-huggingfaceserver batches continuously", "expected no serving.batching"),
    ),
    (
        "huggingface-without-gpu",
        _spec("llm-model", "huggingface", accelerator={"gpu_type": "none", "gpus_per_replica": 0, "gpu_memory_gib": 0}),
        ("artifact.format huggingface runs on vLLM", "needs a GPU"),
    ),
    (
        "batching-on-torchserve-v2",
        _spec("torch-model", "pytorch", serving={"batching": {"max_batch_size": 8, "max_latency_ms": 10}}),
        ("serving.batching: kserve-torchserve cannot batch v2 requests", "config.properties", "or protocol v1"),
    ),
    (
        "batching-on-triton-repository",
        _spec("triton-model", "triton", serving={"batching": {"max_batch_size": 8, "max_latency_ms": 10}}),
        ("serving.batching: format triton brings its own model repository", "config.pbtxt"),
    ),
]


def _workspace(tmp_path: Path, repo_root: Path, document: dict[str, Any]) -> None:
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "model.yaml").write_text(yaml.safe_dump(document))
    shutil.copytree(repo_root / "stacks", tmp_path / "stacks")


@pytest.mark.parametrize(("case", "document", "path", "phrases"), REFUSED, ids=[case[0] for case in REFUSED])
def test_scaling_metric_the_runtime_lacks_is_exit_2_in_validate_and_plan(
    tmp_path: Path, repo_root: Path, monkeypatch: pytest.MonkeyPatch, case: str, document: dict[str, Any], path: str, phrases: tuple[str, ...]
) -> None:
    monkeypatch.chdir(tmp_path)
    _workspace(tmp_path, repo_root, document)
    for arguments in (["validate", "specs", "stacks"], ["plan", "--stack", "prod", "--specs", "specs", "--stacks", "stacks", "--out", "out"]):
        result = CliRunner().invoke(app, arguments)
        assert result.exit_code == 2, (arguments, result.output)
        assert "Traceback" not in result.output
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert any(line.startswith(f"specs/model.yaml: {path}: ") and all(p in line for p in phrases) for line in lines), lines
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("case", "document", "phrases"), REFUSED_BY_SPEC, ids=[case[0] for case in REFUSED_BY_SPEC])
def test_runtime_and_batching_the_catalogue_refuses_are_exit_2(
    tmp_path: Path, repo_root: Path, monkeypatch: pytest.MonkeyPatch, case: str, document: dict[str, Any], phrases: tuple[str, ...]
) -> None:
    monkeypatch.chdir(tmp_path)
    _workspace(tmp_path, repo_root, document)
    result = CliRunner().invoke(app, ["validate", "specs"])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert any(all(phrase in line for phrase in phrases) for line in lines), lines


def test_serverless_concurrency_needs_no_runtime_metric(repo_root: Path) -> None:
    """Knative's queue-proxy measures concurrency itself: tensorflow on v1 may scale on it in serverless mode."""
    document = _spec("tf-model", "tensorflow", serving={"protocol": "v1", "deployment_mode": "serverless"})
    config = load_environment(repo_root / "stacks", "prod")
    compile_blueprint([LoadedSpec(ModelSpec.model_validate(document), "specs/model.yaml")], config)


def _predictor(repo_root: Path, document: dict[str, Any]) -> dict[str, Any]:
    config = load_environment(repo_root / "stacks", "prod")
    blueprint = compile_blueprint([LoadedSpec(ModelSpec.model_validate(document), "specs/model.yaml")], config)
    manifest = render_inference_service(blueprint.models[0], blueprint)
    _check_against_crd(manifest)
    return manifest["spec"]["predictor"]


BATCH = {"max_batch_size": 16, "max_latency_ms": 25}
CPU = {"gpu_type": "none", "gpus_per_replica": 0, "gpu_memory_gib": 0}


def test_v1_batching_uses_kserve_batcher(repo_root: Path) -> None:
    predictor = _predictor(repo_root, _spec("cpu-model", "sklearn", accelerator=CPU, serving={"protocol": "v1", "batching": BATCH}))
    assert predictor["batcher"] == {"maxBatchSize": 16, "maxLatency": 25}
    assert predictor["model"]["runtime"] == "kserve-sklearnserver"
    predictor = _predictor(repo_root, _spec("torch-model", "pytorch", serving={"protocol": "v1", "batching": BATCH}))
    assert predictor["batcher"] == {"maxBatchSize": 16, "maxLatency": 25}
    assert predictor["model"]["runtime"] == "kserve-torchserve"
    assert {"name": "TS_METRICS_MODE", "value": "prometheus"} in predictor["model"]["env"]


def test_v2_batching_on_mlserver_is_adaptive_batching_env(repo_root: Path) -> None:
    """The defect: v2 batching went to KServe's batcher, which only merges v1 `instances` (pkg/batcher/handler.go)."""
    predictor = _predictor(repo_root, _spec("cpu-model", "xgboost", accelerator=CPU, serving={"protocol": "v2", "batching": BATCH}))
    assert "batcher" not in predictor
    assert predictor["model"]["runtime"] == "kserve-mlserver"
    assert predictor["model"]["env"] == [
        {"name": "MLSERVER_MODEL_MAX_BATCH_SIZE", "value": "16"},
        {"name": "MLSERVER_MODEL_MAX_BATCH_TIME", "value": "0.025"},
    ]


def test_v2_batching_on_triton_is_dynamic_batching_args(repo_root: Path) -> None:
    predictor = _predictor(repo_root, _spec("onnx-model", "onnx", serving={"protocol": "v2", "batching": BATCH}))
    assert "batcher" not in predictor
    assert predictor["model"]["args"] == ["--metrics-config=summary_latencies=true", "--backend-config=default-max-batch-size=16"]


def test_llm_runs_vllm_with_tensor_parallel_equal_to_gpus(repo_root: Path) -> None:
    document = _spec(
        "llm-model", "huggingface",
        accelerator={"gpu_type": "h100", "gpus_per_replica": 4, "gpu_memory_gib": 240},
        serving={"resources": {"cpu": 24, "memory_gib": 320}},
        scaling={"min_replicas": 1, "max_replicas": 4, "metric": "queue-depth", "target": 8},
    )
    predictor = _predictor(repo_root, document)
    assert predictor["model"]["runtime"] == "kserve-huggingfaceserver"
    assert predictor["model"]["args"] == ["--backend=vllm", "--tensor-parallel-size=4"]
    query = predictor["autoScaling"]["metrics"][0]["external"]["metric"]["query"]
    assert query.startswith("sum(vllm:num_requests_waiting{")
    document["scaling"]["metric"] = "kv-cache"
    document["scaling"]["target"] = 80
    query = _predictor(repo_root, document)["autoScaling"]["metrics"][0]["external"]["metric"]["query"]
    assert "avg(vllm:kv_cache_usage_perc{" in query and "kube_pod_status_ready" in query


# --- CRD check (KServe v0.20.0 InferenceService) -----------------------------------------------------


CRD_PATH = REFERENCE / "crds" / "kserve-v0.20.0" / "serving.kserve.io_inferenceservices.yaml"


def _crd_schema() -> dict[str, Any]:
    if not CRD_PATH.exists():
        if os.environ.get("CI"):
            pytest.fail(MISSING_REFERENCE)
        pytest.skip(MISSING_REFERENCE)
    return _load_crd_schema()


@cache
def _load_crd_schema() -> dict[str, Any]:
    crd = yaml.load(CRD_PATH.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    (version,) = [item for item in crd["spec"]["versions"] if item["name"] == "v1beta1"]
    return version["schema"]["openAPIV3Schema"]


def _pruned(value: Any, schema: dict[str, Any], path: str) -> list[str]:
    """Fields the API server would prune (not declared by the schema)."""
    if schema.get("x-kubernetes-preserve-unknown-fields"):
        return []
    found: list[str] = []
    if isinstance(value, dict):
        properties = schema.get("properties")
        additional = schema.get("additionalProperties")
        for key, item in value.items():
            if properties is not None and key in properties:
                found += _pruned(item, properties[key], f"{path}.{key}")
            elif isinstance(additional, dict):
                found += _pruned(item, additional, f"{path}.{key}")
            elif properties is not None and path != "":
                found.append(f"{path}.{key}")
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            found += _pruned(item, schema["items"], f"{path}[{index}]")
    return found


@cache
def _spec_validator() -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(_load_crd_schema()["properties"]["spec"])


def check_against_crd(manifest: dict[str, Any], crd_file: str) -> None:
    """Validate `manifest["spec"]` against a CRD of the reference folder (served version), and that nothing is pruned."""
    path = REFERENCE / "crds" / crd_file
    if not path.exists():
        if os.environ.get("CI"):
            pytest.fail(MISSING_REFERENCE)
        pytest.skip(MISSING_REFERENCE)
    schema = _crd_spec_schema(str(path), manifest["apiVersion"].split("/")[-1])
    errors = [error.message for error in jsonschema.Draft7Validator(schema).iter_errors(manifest["spec"])]
    assert errors == []
    assert _pruned(manifest["spec"], schema, "spec") == []


@cache
def _crd_spec_schema(path: str, version: str) -> dict[str, Any]:
    crd = yaml.load(Path(path).read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    (served,) = [item for item in crd["spec"]["versions"] if item["name"] == version]
    return served["schema"]["openAPIV3Schema"]["properties"]["spec"]


def _check_against_crd(manifest: dict[str, Any]) -> None:
    schema = _crd_schema()
    errors = [error.message for error in _spec_validator().iter_errors(manifest["spec"])]
    assert errors == []
    assert _pruned(manifest["spec"], schema["properties"]["spec"], "spec") == []


def test_every_model_of_the_200_model_fleet_has_its_scaling_signal(repo_root: Path) -> None:
    """benchmarks/runtime_signals.py: 200/200 (the old request_predict_seconds queries: 0/200 on this fleet)."""
    from benchmarks.runtime_signals import count

    result = count(200, 7, repo_root / "stacks")
    assert result["missing"] == []
    assert result["with_signal"] == result["models"] == 200
    assert result["with_signal_under_request_predict_seconds"] == 0


def test_every_model_of_the_200_model_fleet_has_an_error_sli(repo_root: Path) -> None:
    """benchmarks/runtime_signals.py: 200/200 with the Gateway's 5xx; 178/200 from the runtimes' own error counters."""
    from benchmarks.runtime_signals import count

    result = count(200, 7, repo_root / "stacks")
    assert result["no_error_sli"] == []
    assert result["with_error_sli"] == result["models"] == 200
    # vLLM (huggingface) exports no error counter: those models need the Gateway.
    assert result["with_error_sli_from_runtime_only"] == 200 - result["per_runtime"]["kserve-huggingfaceserver"]  # type: ignore[index]


@pytest.mark.parametrize("stack", ["dev", "staging", "prod", "prod-eu-west-1"])
def test_no_model_cache_while_every_gpu_pool_is_tainted(repo_root: Path, stack: str) -> None:
    """Why LLMs get no LocalModelCache (docs/runtimes.md, "Model caching"): KServe v0.20.0's download Job has no tolerations.

    kserve/kserve v0.20.0 pkg/controller/v1alpha1/localmodelnode/controller.go gives the Job only a hostname node
    selector (kserve/kserve issue #5348). If a GPU pool ever goes untainted, caching becomes possible: revisit it.
    """
    from inferstack.constants import GPU_TAINT_EFFECT, GPU_TAINT_KEY
    from inferstack.runtimes.docs import runtimes_markdown

    llm = _spec(
        "llm-chat", "huggingface",
        accelerator={"gpu_type": "l4", "gpus_per_replica": 1, "gpu_memory_gib": 20},
        scaling={"min_replicas": 1, "max_replicas": 2, "metric": "queue-depth", "target": 5},
    )
    config = load_environment(repo_root / "stacks", stack)
    blueprint = compile_blueprint([LoadedSpec(ModelSpec.model_validate(llm), "specs/llm.yaml")], config)
    gpu_pools = [pool for pool in blueprint.node_pools if pool.is_gpu]
    assert gpu_pools
    for pool in gpu_pools:
        assert any(taint.key == GPU_TAINT_KEY and taint.effect == GPU_TAINT_EFFECT == "NoSchedule" for taint in pool.taints), pool.name
    manifest = render_inference_service(blueprint.models[0], blueprint)
    assert not any("localmodel" in key for key in manifest["metadata"].get("annotations", {}))
    assert "inferstack renders no model caches for KServe v0.20.0" in " ".join(runtimes_markdown().split())
