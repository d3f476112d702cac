"""The garbage collector is off inside a plan and restored after it, also as a decorator and nested."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from inferstack.batch_process import garbage_collection_paused


@pytest.fixture
def collector_on() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.enable()
    try:
        yield
    finally:
        if not was_enabled:
            gc.disable()


def test_paused_inside_and_restored_after(collector_on: None) -> None:
    with garbage_collection_paused():
        assert not gc.isenabled()
        with garbage_collection_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # only the outermost block turns it back on
    assert gc.isenabled()


def test_as_a_decorator_each_call_pauses_and_restores(collector_on: None) -> None:
    @garbage_collection_paused()
    def seen() -> bool:
        return gc.isenabled()

    assert seen() is False and seen() is False
    assert gc.isenabled()


def test_left_off_when_the_caller_had_it_off(collector_on: None) -> None:
    gc.disable()
    with garbage_collection_paused():
        pass
    assert not gc.isenabled()
    gc.enable()
