"""KServe payload logs: parse logged requests and responses, match them by id, and pull out feature and prediction columns.

What KServe v0.20.0 writes (kserve/kserve tag v0.20.0, pkg/logger):

- `handler.go` logs each request and, when the predictor answered 200, its
  response as a `LogRequest` (`types.go`) with the same `Id` (the request's
  `Ce-Id` header, or a new UUID), `ReqType` `org.kubeflow.serving.inference.request`
  or `...inference.response` (`worker.go`), the body in `Bytes`, and
  `inferenceService`, `namespace`, `component`, `endpoint`, `metadata`,
  `annotations`, `occurrenceTime`.
- To a blob store (our `s3://` logger URL), `store.go` writes one object per
  batch under `<url path>/<namespace>/<inferenceService>/<component>/<storage path>/<id>-<request|response>.<ext>`,
  marshalled by `marshaller_json.go`: the `LogRequest` as JSON (Go encodes
  `Bytes` as base64), a JSON array when the batch holds more than one.
- To an HTTP sink, `worker.go` sends a CloudEvent (binary mode): `ce-id`,
  `ce-type` (the ReqType), `ce-source`, extensions `inferenceservicename`,
  `namespace`, `component`, `endpoint`, `metadata`, `annotations`, `recordedtime`,
  the body as data. Such events saved in structured JSON (`specversion`,
  `id`, `type`, `data` or `data_base64`) parse too.

Both shapes, a JSON array of them, or JSON Lines of them are read. Bodies are
the KServe v1 (`instances` / `predictions`) or v2 open inference protocol
(`inputs` / `outputs` tensors). Anything malformed is counted by reason and
skipped, never raised.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from inferstack.spec.drift import DriftFeature, one_value_per_row
from inferstack.spec.model import Signature

REQUEST_TYPE = "org.kubeflow.serving.inference.request"
RESPONSE_TYPE = "org.kubeflow.serving.inference.response"
"""ReqType / CloudEvent type of logged requests and responses (kserve v0.20.0 pkg/logger/worker.go)."""


@dataclass(frozen=True, slots=True)
class FeatureSource:
    """Where one watched feature is in a request: an input tensor, and a column of it (None: one value per row)."""

    name: str
    type: str
    tensor: str
    column: int | None


@dataclass(frozen=True, slots=True)
class PayloadLayout:
    """How to find the watched features in requests and the prediction in responses."""

    features: tuple[FeatureSource, ...]
    single_input: str | None
    """The only input tensor's name (v1 `instances` rows are its rows), else None."""
    output: str | None
    """The first output tensor (the prediction), when predictions are watched."""
    output_per_row: bool
    """True: one value per row (numeric prediction); False: a vector per row (its argmax is the predicted class)."""

    @classmethod
    def of(cls, signature: Signature, features: list[DriftFeature], predictions: bool) -> PayloadLayout:
        """The layout of a signature's watched features (as resolved by DriftSpec.resolved_features)."""
        sources: list[FeatureSource] = []
        for feature in features:
            for tensor in signature.inputs:
                if tensor.columns and feature.name in tensor.columns:
                    sources.append(FeatureSource(feature.name, feature.type, tensor.name, tensor.columns.index(feature.name)))
                    break
                if tensor.name == feature.name:
                    sources.append(FeatureSource(feature.name, feature.type, tensor.name, None))
                    break
        output = signature.outputs[0] if predictions else None
        return cls(
            features=tuple(sources),
            single_input=signature.inputs[0].name if len(signature.inputs) == 1 else None,
            output=output.name if output else None,
            output_per_row=one_value_per_row(output.shape) if output else True,
        )

    @property
    def prediction_type(self) -> str:
        """numeric for one value per row, categorical (the predicted class) otherwise."""
        return "numeric" if self.output_per_row else "categorical"


class Malformed(ValueError):
    """A log record or payload that cannot be used; the message is the reason it is counted under."""


@dataclass(slots=True)
class LogRecord:
    """One logged request or response."""

    id: str
    side: str
    """request or response."""
    body: bytes


@dataclass(slots=True)
class ParseStats:
    """What was read: objects, records, matched pairs, and the malformed ones by reason."""

    objects: int = 0
    records: int = 0
    requests: int = 0
    responses: int = 0
    matched: int = 0
    unmatched_requests: int = 0
    unmatched_responses: int = 0
    rows: int = 0
    prediction_rows: int = 0
    malformed: Counter[str] = field(default_factory=Counter)

    @property
    def malformed_total(self) -> int:
        """Every skipped line, record or payload."""
        return sum(self.malformed.values())


def _side(kind: object) -> str:
    if kind == REQUEST_TYPE:
        return "request"
    if kind == RESPONSE_TYPE:
        return "response"
    raise Malformed("unknown type")


def _record(document: object) -> LogRecord:
    """A LogRequest (blob store JSON) or a structured CloudEvent as a LogRecord."""
    if not isinstance(document, dict):
        raise Malformed("not an object")
    if "specversion" in document:
        identifier, side = document.get("id"), _side(document.get("type"))
        if "data_base64" in document:
            body = _b64(document["data_base64"])
        elif isinstance(document.get("data"), (dict, list)):
            body = json.dumps(document["data"]).encode()
        elif isinstance(document.get("data"), str):
            body = str(document["data"]).encode()
        else:
            raise Malformed("no data")
    else:
        identifier, side = document.get("id"), _side(document.get("reqType"))
        if not isinstance(document.get("bytes"), str):
            raise Malformed("no bytes")
        body = _b64(document["bytes"])
    if not isinstance(identifier, str) or not identifier:
        raise Malformed("no id")
    return LogRecord(identifier, side, body)


def _b64(text: object) -> bytes:
    if not isinstance(text, str):
        raise Malformed("bad base64")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise Malformed("bad base64") from None


def parse_object(body: bytes, stats: ParseStats) -> list[LogRecord]:
    """Every record of one stored object (an object, an array, or JSON Lines); malformed lines and records counted."""
    stats.objects += 1
    try:
        documents: list[object] = [json.loads(body)]
        if isinstance(documents[0], list):
            documents = list(documents[0])
    except (ValueError, UnicodeDecodeError):
        documents = []
        for line in body.splitlines():
            if not line.strip():
                continue
            try:
                documents.append(json.loads(line))
            except (ValueError, UnicodeDecodeError):
                stats.malformed["malformed JSON line"] += 1
    records: list[LogRecord] = []
    for document in documents:
        try:
            records.append(_record(document))
        except Malformed as reason:
            stats.malformed[f"record: {reason}"] += 1
    stats.records += len(records)
    return records


def _tensor_rows(tensor: dict[str, Any]) -> npt.NDArray[Any]:
    """A v2 tensor's data as an array of shape (rows, ...)."""
    shape = tensor.get("shape")
    data = tensor.get("data")
    if not isinstance(shape, list) or not shape or not isinstance(data, list):
        raise Malformed("tensor without shape or data")
    datatype = str(tensor.get("datatype", "FP32")).upper()
    try:
        array = np.asarray(data) if datatype == "BYTES" else np.asarray(data, dtype=np.float64)
    except (ValueError, TypeError):
        raise Malformed("tensor data of mixed or non-numeric values") from None
    try:
        return array.reshape([int(dim) for dim in shape])
    except (ValueError, TypeError):
        raise Malformed("tensor data does not fit its shape") from None


def request_columns(body: bytes, layout: PayloadLayout) -> tuple[int, dict[str, npt.NDArray[Any]]]:
    """(rows, feature name -> values) of one request (v1 `instances` or v2 `inputs`)."""
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise Malformed("request body is not JSON") from None
    if not isinstance(payload, dict):
        raise Malformed("request body is not an object")
    columns: dict[str, npt.NDArray[Any]] = {}
    if isinstance(payload.get("inputs"), list):
        tensors = {str(item.get("name")): item for item in payload["inputs"] if isinstance(item, dict)}
        rows: int | None = None
        converted: dict[str, npt.NDArray[Any]] = {}
        for source in layout.features:
            values = converted.get(source.tensor)
            if values is None:
                tensor = tensors.get(source.tensor)
                if tensor is None:
                    raise Malformed("request lacks a watched input")
                array = _tensor_rows(tensor)
                values = converted[source.tensor] = array.reshape(array.shape[0], -1)
            if source.column is not None:
                if values.shape[1] <= source.column:
                    raise Malformed("input has fewer columns than the signature")
                columns[source.name] = values[:, source.column]
            else:
                columns[source.name] = values[:, 0]
            if rows is not None and values.shape[0] != rows:
                raise Malformed("inputs disagree on the row count")
            rows = values.shape[0]
        return (rows or 0), columns
    instances = payload.get("instances")
    if not isinstance(instances, list):
        raise Malformed("request has neither inputs (v2) nor instances (v1)")
    if instances and isinstance(instances[0], dict):
        for source in layout.features:
            try:
                raw = [row[source.name] if source.name in row else _column(row[source.tensor], source.column) for row in instances]
            except (KeyError, TypeError, IndexError):
                raise Malformed("instance lacks a watched feature") from None
            columns[source.name] = np.asarray(raw, dtype=np.float64 if source.type == "numeric" else object)
        return len(instances), columns
    try:
        table = np.asarray(instances, dtype=object)
    except ValueError:
        raise Malformed("instances are ragged") from None
    if layout.single_input is None:
        raise Malformed("positional instances for a model of several inputs")
    table = table.reshape(table.shape[0], -1) if table.ndim else table
    for source in layout.features:
        index = source.column if source.column is not None else 0
        if table.ndim != 2 or table.shape[1] <= index:
            raise Malformed("instance has fewer columns than the signature")
        column = table[:, index]
        try:
            columns[source.name] = column.astype(np.float64) if source.type == "numeric" else column
        except (ValueError, TypeError):
            raise Malformed("non-numeric value in a numeric feature") from None
    return table.shape[0], columns


def _column(value: object, column: int | None) -> object:
    if column is None:
        return value[0] if isinstance(value, list) else value
    if not isinstance(value, list):
        raise TypeError("not a row")
    return value[column]


def response_predictions(body: bytes, layout: PayloadLayout) -> npt.NDArray[Any]:
    """The prediction per row of one response: the value, or the argmax class of a vector output."""
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise Malformed("response body is not JSON") from None
    if not isinstance(payload, dict):
        raise Malformed("response body is not an object")
    if isinstance(payload.get("outputs"), list):
        tensors = [item for item in payload["outputs"] if isinstance(item, dict)]
        chosen = next((item for item in tensors if item.get("name") == layout.output), tensors[0] if tensors else None)
        if chosen is None:
            raise Malformed("response has no outputs")
        array = _tensor_rows(chosen)
        values = array.reshape(array.shape[0], -1)
    elif isinstance(payload.get("predictions"), list):
        try:
            values = np.asarray(payload["predictions"], dtype=np.float64)
        except (ValueError, TypeError):
            raise Malformed("predictions are not numbers") from None
        values = values.reshape(values.shape[0], -1) if values.ndim else values.reshape(1, 1)
    else:
        raise Malformed("response has neither outputs (v2) nor predictions (v1)")
    if layout.output_per_row:
        return values[:, 0].astype(np.float64)
    return np.argmax(values.astype(np.float64), axis=1).astype(np.int64)
