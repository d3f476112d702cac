"""The corpus: deliberately insecure or wasteful stacks, each caught by exactly the rules it names.

Every file in tests/policy_corpus/ patches the secure baseline stack (which breaks
no rule), and optionally replaces top-level keys of its stack config (`config:`),
and lists the rule ids it must trip; a case that trips more or fewer
rules fails, so a rule that drifts into false positives shows up here too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from inferstack.policy import RULES, CostFigures, evaluate
from tests.policy_corpus.baseline import WITHIN_BUDGET, context, patched, secure_stack, stack_config

CORPUS = Path(__file__).parent / "policy_corpus"
CASES = sorted(CORPUS.glob("*.yaml"))


def load_case(path: Path) -> dict[str, Any]:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def test_corpus_has_at_least_twenty_cases() -> None:
    assert len(CASES) >= 20


def test_corpus_covers_every_rule() -> None:
    expected = {rule_id for path in CASES for rule_id in load_case(path)["expect"]}
    assert expected == {rule.id for rule in RULES}


@pytest.mark.parametrize("path", CASES, ids=[path.stem for path in CASES])
def test_corpus_case_is_caught_by_its_rules(path: Path) -> None:
    case = load_case(path)
    environment = case["environment"]
    cost = CostFigures(**case["cost"]) if "cost" in case else WITHIN_BUDGET
    resources = patched(secure_stack(environment), case.get("patches", []), environment)
    config = stack_config(environment) | case.get("config", {})

    report = evaluate(resources, context(environment, cost, config))

    assert sorted({v.rule_id for v in report.violations}) == sorted(case["expect"]), [
        (v.rule_id, v.message) for v in report.violations
    ]
    assert report.not_evaluated == ()
