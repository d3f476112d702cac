"""The bad-input corpus (tests/bad_inputs/): every case exits 2 in `validate` and in `plan`, with one
line naming the real file and the field path, and no traceback; pathological YAML within 200 MB (its time: benchmarks/pathological_inputs.py).

Cases are files (see tests/bad_inputs/make_corpus.py); each starts with `# expect: <field path> | <phrase>`.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from inferstack.cli import app
from tests.pathological_yaml import LARGE_CASES, TARGET_MEBIBYTES, large_text, validate_case
from tests.spec_factory import spec_document

CORPUS = Path(__file__).resolve().parent / "bad_inputs"
REPO = CORPUS.parents[1]
CASES = sorted(path for path in CORPUS.glob("*/*") if path.is_file() and path.suffix in (".yaml", ".py"))
MIN_CASES = 150


def _expectation(case: Path) -> tuple[str, str]:
    header = case.read_text(encoding="utf-8").split("\n", 1)[0]
    assert header.startswith("# expect: "), case
    path, phrase = header.removeprefix("# expect: ").split(" | ", 1)
    return path, phrase


def _workspace(root: Path, case: Path) -> str:
    """specs/ and stacks/ under `root` holding the case; the label the problem line must start with."""
    specs, stacks = root / "specs", root / "stacks"
    specs.mkdir()
    stacks.mkdir()
    if case.name.endswith(".stack.yaml"):
        shutil.copyfile(case, stacks / "Pulumi.dev.yaml")
        (specs / "demo.yaml").write_text(yaml.safe_dump(spec_document()), encoding="utf-8")
        return "stacks/Pulumi.dev.yaml"
    shutil.copyfile(REPO / "stacks" / "Pulumi.dev.yaml", stacks / "Pulumi.dev.yaml")
    shutil.copyfile(case, specs / case.name)
    return f"specs/{case.name}"


def _check(output: str, stderr: str, exit_code: int, label: str, path: str, phrase: str) -> None:
    assert exit_code == 2, output
    assert "Traceback" not in output
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert lines, "expected a problem line on stderr"
    expected = f"{label}: {path}"
    assert any(line.startswith(expected) and phrase in line for line in lines), (expected, phrase, lines)
    assert all(line.startswith(f"{label}: ") for line in lines), lines
    assert not any("expected one of: " in line and line.rstrip().endswith("expected one of:") for line in lines), lines


@pytest.fixture
def scrubbed_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Credentials in the parent's environment (a Python spec must not see them) and a short spec time limit."""
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "corpus-secret-key")
    monkeypatch.setenv("GITHUB_TOKEN", "corpus-token")
    monkeypatch.setenv("INFERSTACK_PYTHON_SPEC_TIMEOUT", "4")


def test_corpus_size_per_class() -> None:
    per_class: dict[str, int] = {}
    for case in CASES:
        per_class[case.parent.name] = per_class.get(case.parent.name, 0) + 1
    assert sum(per_class.values()) + len(LARGE_CASES) >= MIN_CASES, per_class
    assert set(per_class) >= {
        "pathological", "duplicate-keys", "spec-fields", "cross-field", "validate-equals-plan", "stack-values", "python-specs"
    }
    assert all(count >= 5 for count in per_class.values()), per_class


@pytest.mark.usefixtures("scrubbed_env")
@pytest.mark.parametrize("case", CASES, ids=[f"{case.parent.name}/{case.name}" for case in CASES])
def test_bad_input_exits_2_in_validate_and_plan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: Path) -> None:
    path, phrase = _expectation(case)
    monkeypatch.chdir(tmp_path)
    label = _workspace(tmp_path, case)
    runner = CliRunner()
    validated = runner.invoke(app, ["validate", "specs", "stacks/Pulumi.dev.yaml"])
    _check(validated.output, validated.stderr, validated.exit_code, label, path, phrase)
    planned = runner.invoke(app, ["plan", "--stack", "dev", "--specs", "specs", "--stacks", "stacks", "--out", "out"])
    _check(planned.output, planned.stderr, planned.exit_code, label, path, phrase)
    assert not (tmp_path / "out").exists(), "a plan with bad input wrote outputs"


# --- pathological YAML too large to commit: refused in a real process, within the memory limit -----------------
# The time each case takes is a performance target, measured by benchmarks/pathological_inputs.py;
# here a case that runs past HANG_SECONDS is killed and fails as a hang.


@pytest.mark.parametrize("name", sorted(LARGE_CASES))
def test_pathological_yaml_is_refused_within_200mb(tmp_path: Path, name: str) -> None:
    path, phrase, _ = LARGE_CASES[name]
    run = validate_case(tmp_path, name)
    assert run.returncode == 2, run.stderr
    assert "Traceback" not in run.stderr
    assert any(line.startswith(f"specs/{name}.yaml: {path}") and phrase in line for line in run.stderr.splitlines()), run.stderr
    # Memory for the whole process (interpreter, pydantic, inferstack), not only the parse.
    assert run.peak_mib < TARGET_MEBIBYTES, f"{name}: peak RSS {run.peak_mib:.0f} MiB"


@pytest.mark.parametrize("name", sorted(set(LARGE_CASES) - {"huge-file"}))
def test_pathological_yaml_in_plan_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "specs").mkdir()
    (tmp_path / "stacks").mkdir()
    shutil.copyfile(REPO / "stacks" / "Pulumi.dev.yaml", tmp_path / "stacks" / "Pulumi.dev.yaml")
    (tmp_path / "specs" / f"{name}.yaml").write_text(large_text(name), encoding="utf-8")
    result = CliRunner().invoke(app, ["plan", "--stack", "dev", "--specs", "specs", "--stacks", "stacks", "--out", "out"])
    assert result.exit_code == 2, result.output
    assert any(line.startswith(f"specs/{name}.yaml: ") for line in result.stderr.splitlines()), result.stderr
