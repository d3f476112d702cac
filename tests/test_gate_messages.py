"""Gate messages that used to mislead: a too-new opset or IR version, skl2onnx's ZipMap output, quantization advice
for a file that grew."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from inferstack.gate import QuantizationAdvice, run_gate
from inferstack.problems import InputError
from inferstack.spec.model import ModelSpec
from tests.onnx_models import IR_VERSION, OPSET, save, scorer_spec_document

FAST = {"warmup": 1, "min_iterations": 100, "max_iterations": 100, "time_budget_s": 0.5}


def relu_model(opset: int = OPSET, ir_version: int = IR_VERSION, features: int = 32) -> onnx.ModelProto:
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["features", "w"], ["logit"]), helper.make_node("Sigmoid", ["logit"], ["probability"])],
        "tiny",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", features])],
        [helper.make_tensor_value_info("probability", TensorProto.FLOAT, ["batch", 1])],
        [numpy_helper.from_array(np.ones((features, 1), dtype=np.float32), "w")],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=ir_version)


def spec() -> ModelSpec:
    return ModelSpec.model_validate(scorer_spec_document())


def test_too_new_opset_is_named_with_the_supported_maximum(tmp_path: Path) -> None:
    model = save(relu_model(opset=30), tmp_path / "new.onnx")
    with pytest.raises(InputError) as caught:
        run_gate(model, spec(), **FAST)
    [problem] = caught.value.problems
    assert problem.path == "opset_import"
    assert "opset 30 of ai.onnx" in problem.message and "newer than this onnxruntime" in problem.message
    assert "expected opset" in problem.message and "valid ONNX model file" not in problem.message
    supported = int(problem.message.split("expected opset ")[1].split()[0])
    assert 17 <= supported < 30
    save(relu_model(opset=supported), tmp_path / "ok.onnx")
    ort.InferenceSession(str(tmp_path / "ok.onnx"), providers=["CPUExecutionProvider"])  # the named maximum does load


def test_too_new_ir_version_is_named(tmp_path: Path) -> None:
    model = save(relu_model(ir_version=99), tmp_path / "new-ir.onnx")
    with pytest.raises(InputError) as caught:
        run_gate(model, spec(), **FAST)
    [problem] = caught.value.problems
    assert problem.path == "ir_version" and "IR version 99" in problem.message and "expected IR version" in problem.message


def zipmap_classifier() -> onnx.ModelProto:
    """What skl2onnx exports for a classifier by default: a label tensor and probabilities as a sequence of maps (ZipMap)."""
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["features", "w"], ["scores"]),
            helper.make_node("Softmax", ["scores"], ["probabilities"], axis=1),
            helper.make_node("ArgMax", ["probabilities"], ["label"], axis=1, keepdims=0),
            helper.make_node("ZipMap", ["probabilities"], ["output_probability"], domain="ai.onnx.ml", classlabels_int64s=[0, 1]),
        ],
        "classifier",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", 32])],
        [
            helper.make_tensor_value_info("label", TensorProto.INT64, ["batch"]),
            helper.make_value_info(
                "output_probability",
                helper.make_sequence_type_proto(helper.make_map_type_proto(TensorProto.INT64, helper.make_tensor_type_proto(TensorProto.FLOAT, []))),
            ),
        ],
        [numpy_helper.from_array(np.ones((32, 2), dtype=np.float32), "w")],
    )
    return helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid("ai.onnx.ml", 3)], ir_version=IR_VERSION
    )


def test_zipmap_output_gets_the_zipmap_false_hint(tmp_path: Path) -> None:
    model = save(zipmap_classifier(), tmp_path / "classifier.onnx")
    document = scorer_spec_document()
    document["signature"]["outputs"] = [
        {"name": "label", "dtype": "int64", "shape": [None]},
        {"name": "output_probability", "dtype": "float32", "shape": [None, 2]},
    ]
    with pytest.raises(InputError) as caught:
        run_gate(model, ModelSpec.model_validate(document), **FAST)
    [problem] = caught.value.problems
    assert problem.path == "outputs.output_probability.dtype"
    assert "ZipMap" in problem.message and "zipmap=False" in problem.message and "'zipmap': False" in problem.message
    # Undeclared, it gets the same hint.
    document["signature"]["outputs"] = [{"name": "label", "dtype": "int64", "shape": [None]}]
    with pytest.raises(InputError) as caught:
        run_gate(model, ModelSpec.model_validate(document), **FAST)
    assert "zipmap=False" in str(caught.value)


def test_quantize_advice_says_larger_for_a_file_that_grew(tmp_path: Path) -> None:
    model = save(relu_model(), tmp_path / "tiny.onnx")  # 32 weights: scales and quantize nodes outweigh int8 savings
    report = run_gate(model, spec(), quantize_advice=True, **FAST)
    advice = report.quantization
    assert advice is not None and advice.applicable and advice.quantized_size_bytes is not None
    assert advice.quantized_size_bytes > advice.original_size_bytes
    summary = advice.summary()
    assert "larger" in summary and "smaller" not in summary
    grown = QuantizationAdvice(
        applicable=True, original_size_bytes=1000, quantized_size_bytes=1207, size_saving_percent=-20.7,
        original_p50_ms=1.0, quantized_p50_ms=0.5, latency_change_percent=-50.0, note="n",
    )
    assert "20.7% larger" in grown.summary() and "smaller" not in grown.summary() and "50.0% faster" in grown.summary()
    shrunk = grown.model_copy(update={"quantized_size_bytes": 300, "size_saving_percent": 70.0})
    assert "70.0% smaller" in shrunk.summary()
