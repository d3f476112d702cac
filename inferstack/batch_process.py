"""Run-time settings for short batch work: the offline plan and the `inferstack` process.

Two costs dominate a plan that are not work at all:

- Python's cyclic garbage collector. A plan allocates a few hundred thousand
  long-lived objects (the Pulumi SDK's classes, every resource's inputs and
  Outputs). Each full collection walks all of them, and the allocation rate
  triggers one every few thousand resources: about half of a 1,000-model plan
  (22 s -> 12 s without it, peak memory 439 -> 467 MiB, measured by
  benchmarks/plan_scale.py). `garbage_collection_paused()` turns it off for the
  duration of a plan and runs one collection at the end, so a long-lived caller
  (the test suite, a notebook) gets its memory back.
- Interpreter teardown. Freeing every module and object at exit takes about a
  second after a plan. `exit_without_teardown()` flushes the standard streams and
  leaves with `os._exit`, as mypy does; every file we write is closed by then.
"""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def garbage_collection_paused() -> Iterator[None]:
    """Disable the cyclic garbage collector inside the block; restore it and collect once after.

    Nested uses are safe: only the outermost one re-enables and collects.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
            gc.collect()


def exit_without_teardown(code: int) -> None:
    """Flush stdout and stderr, then end the process with `code` without freeing every object first."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)
