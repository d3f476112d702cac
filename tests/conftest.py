"""Shared test fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from inferstack.mocks import InferstackMocks

pytest_plugins = ["tests.aws_fixtures"]

REPO_ROOT = Path(__file__).resolve().parents[1]

# The EKS version calendar judges cluster.version on the plan date; tests pin that date so the
# suite does not change verdict as time passes (CI's plans of the shipped stacks use the real date).
os.environ.setdefault("INFERSTACK_TODAY", "2026-12-06")


@pytest.fixture
def repo_root() -> Path:
    """The repository root (where model_specs/ and stacks/ live)."""
    return REPO_ROOT


@pytest.fixture
def pulumi_mocks() -> InferstackMocks:
    """The one typed Mocks subclass (realistic ARNs, ids, EKS endpoint/OIDC issuer), for the stack's region."""
    return InferstackMocks(region="us-east-1")


@pytest.fixture
def no_progress_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    """No progress lines on stderr (they are tested in test_cli_output.py): stderr holds only the messages under
    test, however busy the machine (a command slower than the quiet period would otherwise add a progress line
    before its error). Modules use it with `pytestmark = pytest.mark.usefixtures("no_progress_lines")`."""
    from inferstack import cli

    monkeypatch.setattr(cli, "QUIET_PROGRESS_S", 3600.0)


@pytest.fixture(scope="session")
def reference() -> Path:
    """The upstream reference folder (../shared/reference); fails in CI and skips elsewhere when it is missing."""
    from inferstack.readiness.reference import MISSING_REFERENCE, reference_root

    root = reference_root()
    if root is None:
        if os.environ.get("CI"):
            pytest.fail(MISSING_REFERENCE)
        pytest.skip(MISSING_REFERENCE)
    return root
