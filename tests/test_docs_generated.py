"""The docs cannot go stale: generated sections match their generators, and every file the docs name exists."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from inferstack import docs_sections

REGENERATE = "uv run python -m inferstack.docs_sections --write"
DOCS = ("README.md", *sorted(str(path.relative_to(docs_sections.REPO_ROOT)) for path in (docs_sections.REPO_ROOT / "docs").glob("*.md")))
TOP_FOLDERS = ("model_specs", "examples", "docs", "benchmarks", "tests", "inferstack", "components", "policies", "stacks", ".github", ".ci")
_FOLDERS = "|".join(re.escape(folder) for folder in TOP_FOLDERS)
PATH = re.compile(
    r"`((?:%s)/[^`\s]*)`"  # `inferstack/plan/report.py`
    r"|\]\(((?!https?:|#|mailto:)[^)\s]+)\)"  # [text](relative/link.md)
    r"|(?<![\w/.:@-])((?:%s)/[\w./-]+\.(?:ya?ml|py|json|md|toml))" % (_FOLDERS, _FOLDERS)  # bare, e.g. in a command
    # (not after `repo@tag:`: an upstream citation names the upstream repository's file, not ours)
)


def _all_sections() -> list[tuple[str, str]]:
    found = []
    for document in docs_sections.DOCUMENTS:
        text = (docs_sections.REPO_ROOT / document).read_text(encoding="utf-8")
        found += [(document, name) for name in docs_sections.sections(text)]
    return found


def test_every_generator_has_a_section_and_every_section_a_generator() -> None:
    names = [name for _, name in _all_sections()]
    assert sorted(names) == sorted(docs_sections.GENERATORS), names


@pytest.mark.parametrize(("document", "name"), _all_sections())
def test_generated_section_is_current(document: str, name: str) -> None:
    text = (docs_sections.REPO_ROOT / document).read_text(encoding="utf-8")
    assert docs_sections.sections(text)[name] == docs_sections.GENERATORS[name](), (
        f"{document}: the generated section '{name}' is stale; run `{REGENERATE}` and review the diff"
    )


def test_canary_walkthrough_shows_values_and_cost() -> None:
    """The rollout doc's figures are the plan's: weights old -> new and the canary's cost."""
    body = docs_sections.sections((docs_sections.REPO_ROOT / "docs" / "rollouts.md").read_text(encoding="utf-8"))["canary-walkthrough"]
    assert "`90` → `50`" in body and "`50` → `0`" in body
    assert "±$0" not in body.split("**PR 2")[0], "PR 1 adds the candidate's replicas; its cost is not zero"


@pytest.mark.parametrize("document", DOCS)
def test_every_file_the_docs_name_exists(document: str) -> None:
    root = docs_sections.REPO_ROOT
    text = (root / document).read_text(encoding="utf-8")
    missing = []
    named = 0
    for match in PATH.finditer(text):
        target = (match.group(1) or match.group(2) or match.group(3)).split("#", 1)[0].rstrip(".,:;")
        if not target or any(mark in target for mark in "<>*{}$") or target.endswith(("/", "…")):
            continue
        base = (root / document).parent if match.group(2) else root
        named += 1
        if not (base / target).exists():
            missing.append(target)
    assert named > 0 or document != "README.md"
    assert missing == [], f"{document} names files that do not exist: {missing}"


def test_readme_bad_input_example_is_what_validate_prints(repo_root: Path) -> None:
    readme = (repo_root / "README.md").read_text(encoding="utf-8")
    example = readme[readme.index("$ uv run inferstack validate examples/broken.yaml") :].split("```", 1)[0]
    shown = [line for line in example.splitlines()[1:] if line.strip()]
    result = subprocess.run(
        [sys.executable, "-m", "inferstack", "validate", "examples/broken.yaml"], cwd=repo_root, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 2
    assert sorted(shown) == sorted(line for line in result.stderr.splitlines() if line.strip())


def test_generator_command_reports_stale_sections(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("a\n<!-- generated: plan-speed -->\nold\n<!-- end generated: plan-speed -->\n", encoding="utf-8")
    (tmp_path / "docs").mkdir()
    for name in docs_sections.DOCUMENTS:
        if name != "README.md":
            (tmp_path / name).write_text("no sections\n", encoding="utf-8")
    monkeypatch.setattr(docs_sections, "REPO_ROOT", tmp_path)
    assert docs_sections.main([]) == 1
    assert docs_sections.main(["--write"]) == 0
    assert docs_sections.main([]) == 0
    assert "| 1,000 |" in (tmp_path / "README.md").read_text(encoding="utf-8")
