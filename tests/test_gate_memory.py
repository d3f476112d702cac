"""The gate's peak memory covers the whole process, load included: it matches an external measurement of the same process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.onnx_models import save, wide_model, wide_spec_document

REPO = Path(__file__).resolve().parents[1]

LAUNCHER = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
sys.stderr.write(f"maxrss_kib={usage.ru_maxrss}\\n")
sys.exit(os.waitstatus_to_exitcode(status))
"""
"""Runs a command and reports its ru_maxrss, as /usr/bin/time does. A small launcher, because Linux counts the memory a
child had between fork and exec: a child forked straight from the test runner would report the runner's size."""


@pytest.mark.skipif(not hasattr(os, "wait4"), reason="os.wait4 (the external measurement) needs a POSIX system")
def test_peak_memory_matches_the_kernels_figure_for_the_process(tmp_path: Path) -> None:
    # 64 MiB of weights: the load (file read, graph build, initializers) dominates the interpreter's own memory.
    model = save(wide_model(features=4096, hidden=4096), tmp_path / "model.onnx")
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "wide.yaml").write_text(yaml.safe_dump(wide_spec_document(features=4096)), encoding="utf-8")
    out = tmp_path / "report.json"
    with out.open("wb") as stdout:
        launched = subprocess.run(
            [sys.executable, "-I", "-S", "-c", LAUNCHER, sys.executable, "-m", "inferstack", "gate", str(model),
             "--spec", "fraud-scorer", "--specs", str(specs), "--json", "--iterations", "100"],
            stdout=stdout,
            stderr=subprocess.PIPE,
            cwd=REPO,
            text=True,
            check=False,
        )
    assert launched.returncode in (0, 1), launched.stderr
    [kib] = [int(line.split("=")[1]) for line in launched.stderr.splitlines() if line.startswith("maxrss_kib=")]
    external_mib = kib / (1 << 20) if sys.platform == "darwin" else kib / 1024  # macOS: bytes
    memory = json.loads(out.read_text())["memory"]
    assert memory["rss_source"] in ("VmHWM", "ru_maxrss")
    assert abs(memory["peak_rss_mib"] - external_mib) <= 0.05 * external_mib, (memory, external_mib)
    # The model's share is at least its weights (64 MiB), which a sample taken after loading alone can miss.
    assert memory["rss_delta_mib"] >= 60, memory
