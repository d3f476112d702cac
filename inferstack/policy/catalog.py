"""Every rule inferstack enforces, in one ordered tuple, and lookups by id and name."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Final

from inferstack.policy.model import Rule
from inferstack.policy.rules.access import ACCESS_RULES
from inferstack.policy.rules.cost import COST_RULES
from inferstack.policy.rules.data import DATA_RULES
from inferstack.policy.rules.endpoints import ENDPOINT_RULES
from inferstack.policy.rules.governance import GOVERNANCE_RULES
from inferstack.policy.rules.oversight import OVERSIGHT_RULES
from inferstack.policy.rules.reliability import RELIABILITY_RULES
from inferstack.policy.rules.security import SECURITY_RULES
from inferstack.problems import InputError, Problem

RULES: Final[tuple[Rule, ...]] = (
    SECURITY_RULES + ACCESS_RULES + GOVERNANCE_RULES + DATA_RULES + COST_RULES + RELIABILITY_RULES + ENDPOINT_RULES
    + OVERSIGHT_RULES
)
RULES_BY_NAME: Final[dict[str, Rule]] = {rule.name: rule for rule in RULES}
RULES_BY_ID: Final[dict[str, Rule]] = {rule.id: rule for rule in RULES}

if len(RULES_BY_NAME) != len(RULES) or len(RULES_BY_ID) != len(RULES):
    raise RuntimeError("rule ids and names must be unique")


def check_override_names(overrides: Mapping[str, object], file: str, section: str = "enforcement") -> None:
    """Raise InputError for enforcement overrides (or waivers) that name no rule (a typo would otherwise change nothing)."""
    problems: list[Problem] = []
    for name in sorted(overrides):
        if name in RULES_BY_NAME:
            continue
        hint = difflib.get_close_matches(name, list(RULES_BY_NAME), n=1)
        suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
        problems.append(
            Problem(
                file,
                f"config.inferstack:policy.{section}.{name}",
                f"no rule is named '{name}'{suggestion}; expected a rule name from `inferstack policy docs`",
            )
        )
    if problems:
        raise InputError(problems)
