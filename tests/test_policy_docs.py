"""The rules table is generated from the metadata, and docs/policies.md is up to date with it."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from inferstack.cli import app
from inferstack.policy import RULES
from inferstack.policy.docs import policies_markdown, rules_table


def test_table_has_one_row_per_rule_with_its_enforcement() -> None:
    rows = [line for line in rules_table().splitlines() if line.startswith("| ISP-")]
    assert len(rows) == len(RULES)
    kms = next(row for row in rows if row.startswith("| ISP-KMS-001 "))
    assert "`kms-key-rotation`" in kms and "| mandatory | mandatory | mandatory |" in kms
    spot = next(row for row in rows if row.startswith("| ISP-COST-001 "))
    assert "| mandatory | advisory | disabled |" in spot


def test_cli_prints_the_table() -> None:
    result = CliRunner().invoke(app, ["policy", "docs"])
    assert result.exit_code == 0
    assert result.stdout == policies_markdown()


def test_docs_policies_md_is_current(repo_root: Path) -> None:
    assert (repo_root / "docs" / "policies.md").read_text(encoding="utf-8") == policies_markdown(), (
        "regenerate with: inferstack policy docs --out docs/policies.md"
    )
