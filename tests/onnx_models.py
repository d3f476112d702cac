"""ONNX models built for gate and registry tests (onnx package, ir_version 10, opset 17)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

IR_VERSION = 10
OPSET = 17
FEATURES = 32
HIDDEN = 128


def scorer_model(*, input_name: str = "features", input_type: int = TensorProto.FLOAT, features: int = FEATURES,
                 emit_nan: bool = False, seed: int = 1) -> onnx.ModelProto:
    """features[batch, F] -> MatMul -> Relu -> MatMul -> Sigmoid -> probability[batch, 1]; optionally multiplied by NaN."""
    rng = np.random.default_rng(seed)
    weights = [
        numpy_helper.from_array(rng.standard_normal((features, HIDDEN)).astype(np.float32), "w1"),
        numpy_helper.from_array(rng.standard_normal((HIDDEN, 1)).astype(np.float32), "w2"),
    ]
    nodes = []
    source = input_name
    if input_type != TensorProto.FLOAT:
        nodes.append(helper.make_node("Cast", [input_name], ["as_float"], to=TensorProto.FLOAT))
        source = "as_float"
    nodes += [
        helper.make_node("MatMul", [source, "w1"], ["hidden"]),
        helper.make_node("Relu", ["hidden"], ["activated"]),
        helper.make_node("MatMul", ["activated", "w2"], ["logit"]),
    ]
    if emit_nan:
        weights.append(numpy_helper.from_array(np.array([np.nan], dtype=np.float32), "nan"))
        nodes += [helper.make_node("Mul", ["logit", "nan"], ["poisoned"]), helper.make_node("Sigmoid", ["poisoned"], ["probability"])]
    else:
        nodes.append(helper.make_node("Sigmoid", ["logit"], ["probability"]))
    graph = helper.make_graph(
        nodes,
        "scorer",
        [helper.make_tensor_value_info(input_name, input_type, ["batch", features])],
        [helper.make_tensor_value_info("probability", TensorProto.FLOAT, ["batch", 1])],
        weights,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], ir_version=IR_VERSION)
    onnx.checker.check_model(model)
    return model


def save(model: onnx.ModelProto, path: Path) -> Path:
    """Write a model and return its path."""
    onnx.save(model, str(path))
    return path


def scorer_spec_document(name: str = "fraud-scorer", team: str = "risk", **changes: Any) -> dict[str, Any]:
    """A CPU spec whose signature matches `scorer_model()`."""
    document: dict[str, Any] = {
        "name": name,
        "team": team,
        "owner": "risk-ml@example.com",
        "description": "Scores transactions (test model).",
        "artifact": {"format": "onnx", "version": "1.0.0"},
        "signature": {
            "inputs": [{"name": "features", "dtype": "float32", "shape": [None, FEATURES]}],
            "outputs": [{"name": "probability", "dtype": "float32", "shape": [None, 1]}],
        },
        "serving": {"batching": {"max_batch_size": 8, "max_latency_ms": 5}},
        "monitoring": {"latency_p95_ms": 1000, "runbook_url": "https://runbooks.example.com/x", "alert_route": "slack:#x"},
        "registry": {"lineage": {"dataset": "s3://risk-data/transactions", "dataset_version": "2026-10-01"}, "metrics": {"auc": 0.9}},
    }
    document.update(changes)
    return document


def save_with_external_data(model: onnx.ModelProto, path: Path, data_name: str | None = None) -> Path:
    """Write a model with every initializer in one external data file beside it (as onnx does for models over 2 GB)."""
    onnx.save(
        model,
        str(path),
        save_as_external_data=True,
        all_tensors_to_one_file=True,
        location=data_name or f"{path.name}.data",
        size_threshold=0,
    )
    return path


def wide_model(features: int = 512, hidden: int = 1024, seed: int = 1) -> onnx.ModelProto:
    """features[batch, F] -> MatMul(F x H) -> Relu -> MatMul(H x 1) -> Sigmoid -> probability[batch, 1]: ~F*H multiply-adds a row."""
    rng = np.random.default_rng(seed)
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["features", "w1"], ["hidden"]),
            helper.make_node("Relu", ["hidden"], ["activated"]),
            helper.make_node("MatMul", ["activated", "w2"], ["logit"]),
            helper.make_node("Sigmoid", ["logit"], ["probability"]),
        ],
        "wide",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", features])],
        [helper.make_tensor_value_info("probability", TensorProto.FLOAT, ["batch", 1])],
        [
            numpy_helper.from_array(rng.standard_normal((features, hidden)).astype(np.float32), "w1"),
            numpy_helper.from_array(rng.standard_normal((hidden, 1)).astype(np.float32), "w2"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], ir_version=IR_VERSION)
    onnx.checker.check_model(model)
    return model


def wide_spec_document(features: int = 512, **changes: Any) -> dict[str, Any]:
    """A CPU spec whose signature matches `wide_model(features)`, without batching (batch 1 only)."""
    document = scorer_spec_document(serving={}, **changes)
    document["signature"]["inputs"][0]["shape"] = [None, features]
    return document
