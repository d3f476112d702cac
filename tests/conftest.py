"""Shared test fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["tests.aws_fixtures"]

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def repo_root() -> Path:
    """The repository root (where model_specs/ and stacks/ live)."""
    return REPO_ROOT
