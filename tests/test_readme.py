"""The README states the two quick-start commands and a rules table that matches the rule metadata."""

from __future__ import annotations

from pathlib import Path

from inferstack.policy.docs import rules_table


def test_quick_start_has_the_two_commands(repo_root: Path) -> None:
    readme = (repo_root / "README.md").read_text(encoding="utf-8")
    quick_start = readme[readme.index("## Quick start") : readme.index("## What the plan gives you")]
    assert "uv run inferstack plan --stack dev" in quick_start
    assert "uv run pytest" in quick_start


def test_rules_table_is_generated_from_the_metadata(repo_root: Path) -> None:
    readme = (repo_root / "README.md").read_text(encoding="utf-8")
    assert rules_table().strip() in readme, "README's rules table is stale: paste `uv run inferstack policy docs`' table"
