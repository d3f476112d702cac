"""docs/first-deploy.md: every offline command in it runs, as written, and succeeds.

Offline commands are the `uv run inferstack ...` lines of its ```sh blocks. They run in a folder holding
copies of stacks/ and model_specs/, against a local S3 endpoint with no buckets (a new account before its
first `pulumi up`), through the CLI entry point the `inferstack` script calls.
"""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from inferstack.cli import app
from tests.aws_fixtures import LocalAwsServer

REPO_ROOT = Path(__file__).resolve().parents[1]
DOC = REPO_ROOT / "docs" / "first-deploy.md"
PREFIX = "uv run inferstack "


def offline_commands(text: str) -> list[list[str]]:
    """The argument lists of the `uv run inferstack` lines inside ```sh blocks, in document order."""
    commands: list[list[str]] = []
    for block in re.findall(r"```sh\n(.*?)```", text, flags=re.S):
        for line in block.splitlines():
            line = line.strip()
            if line.startswith(PREFIX):
                commands.append(shlex.split(line[len(PREFIX) :], comments=True))
    return commands


def test_the_doc_names_the_offline_steps_and_the_stack_creation() -> None:
    text = DOC.read_text()
    verbs = [command[:2] for command in offline_commands(text)]
    assert [verb[0] for verb in verbs] == ["validate", "registry", "plan"]
    assert "pulumi stack select --create dev" in text


def test_every_offline_command_of_the_doc_succeeds(aws_server: LocalAwsServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(REPO_ROOT / "stacks", tmp_path / "stacks")
    shutil.copytree(REPO_ROOT / "model_specs", tmp_path / "model_specs")
    monkeypatch.chdir(tmp_path)
    outputs: list[str] = []
    for arguments in offline_commands(DOC.read_text()):
        result = CliRunner().invoke(app, arguments)
        assert result.exit_code == 0, f"{shlex.join(arguments)}: exit {result.exit_code}\n{result.output}"
        outputs.append(result.output)
    assert "does not exist yet" in outputs[1]  # the snapshot before the first pulumi up: empty, with a note
    assert (tmp_path / "build" / "plan-dev" / "plan.json").is_file()
