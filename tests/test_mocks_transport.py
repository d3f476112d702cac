"""The mocked run's shortcuts give what the SDK's own path gives."""

from __future__ import annotations

import pulumi
import pytest
from google.protobuf import json_format, struct_pb2

from inferstack.mocks import PlainInputs, _NotPlainJson, _plain_json_copy


def test_plain_inputs_travel_as_a_token() -> None:
    handoff = PlainInputs()
    inputs = {"metadata": {"name": "x"}, "spec": {"a": [1, 2.5, True, None]}}
    struct = handoff.put(inputs)
    assert list(struct.fields) == [PlainInputs.TOKEN_FIELD]
    assert handoff.take(struct) is inputs


def test_plain_json_is_copied_with_sorted_keys() -> None:
    inputs = {"spec": {"b": [{"z": 1, "a": True}], "a": None}, "metadata": {"name": "x"}}
    copied = _plain_json_copy(inputs)
    assert copied == inputs
    assert list(copied) == ["metadata", "spec"] and list(copied["spec"]) == ["a", "b"]
    assert list(copied["spec"]["b"][0]) == ["a", "z"]
    copied["spec"]["b"][0]["z"] = 2
    assert inputs["spec"]["b"][0]["z"] == 1  # a copy: the render layer's objects stay untouched


@pytest.mark.parametrize("value", [{"a": object()}, [1, (2, 3)], {1: "non-string key"}, {"a": {"b": pulumi.Output.from_input(1)}}])
def test_anything_but_plain_json_takes_the_sdk_path(value: object) -> None:
    with pytest.raises(_NotPlainJson):
        _plain_json_copy(value)


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
