"""The mocked run's shortcuts give what the SDK's own path gives."""

from __future__ import annotations

import pytest
from google.protobuf import json_format, struct_pb2

from inferstack.mocks import PlainInputs


def test_plain_inputs_travel_as_a_token_and_come_back_sorted_and_copied() -> None:
    handoff = PlainInputs()
    inputs = {"spec": {"b": [{"z": 1, "a": True}], "a": None}, "metadata": {"name": "x"}}
    struct = handoff.put(inputs)
    assert list(struct.fields) == [PlainInputs.TOKEN_FIELD]

    taken = handoff.take(struct)
    assert taken == inputs
    assert list(taken) == ["metadata", "spec"] and list(taken["spec"]) == ["a", "b"]
    assert list(taken["spec"]["b"][0]) == ["a", "z"]
    taken["spec"]["b"][0]["z"] = 2
    assert inputs["spec"]["b"][0]["z"] == 1  # a copy: the render layer's objects stay untouched


def test_an_ordinary_struct_is_not_taken_and_a_token_is_taken_once() -> None:
    handoff = PlainInputs()
    ordinary = struct_pb2.Struct()
    ordinary.update({"metadata": {"name": "x"}})
    assert handoff.take(ordinary) is None
    assert json_format.MessageToDict(ordinary) == {"metadata": {"name": "x"}}

    struct = handoff.put({"a": 1})
    assert handoff.take(struct) == {"a": 1}
    with pytest.raises(KeyError):
        handoff.take(struct)  # a token is handed out once
