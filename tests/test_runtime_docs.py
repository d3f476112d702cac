"""docs/runtimes.md is generated from the runtime catalogue and up to date with it (issue 14)."""

from __future__ import annotations

import typing
from pathlib import Path

from inferstack.runtimes import RUNTIMES
from inferstack.runtimes.docs import FORMATS, formats_table, metrics_table, runtimes_markdown
from inferstack.spec.model import ModelFormat


def test_every_format_of_the_spec_language_has_its_rows() -> None:
    assert set(FORMATS) == set(typing.get_args(ModelFormat))
    rows = [line for line in formats_table().splitlines() if line.startswith("| ") and not line.startswith("| format")]
    assert len(rows) == 2 * len(FORMATS)
    assert "| onnx | v2 | `kserve-tritonserver` | :8002/metrics |" in formats_table()
    assert "| sklearn | v2 | `kserve-mlserver` | :8082/metrics |" in formats_table()


def test_metrics_table_lists_every_runtime_with_its_names() -> None:
    table = metrics_table()
    for entry in RUNTIMES:
        row = next(line for line in table.splitlines() if line.startswith(f"| `{entry.name}` |"))
        for series in entry.metrics.requests:
            assert f"`{series.name}`" in row


def test_docs_runtimes_md_is_current(repo_root: Path) -> None:
    assert (repo_root / "docs" / "runtimes.md").read_text(encoding="utf-8") == runtimes_markdown(), (
        "regenerate with: uv run python -m inferstack.runtimes.docs > docs/runtimes.md"
    )
