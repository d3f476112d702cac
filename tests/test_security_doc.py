"""docs/security.md cannot drift from the rule registry: every rule id it names exists, and every security rule
is named in it (a new security rule needs its threat and stage written down)."""

from __future__ import annotations

import re
from pathlib import Path

from inferstack.policy import RULES

DOC = Path(__file__).resolve().parents[1] / "docs" / "security.md"
RULE_ID = re.compile(r"\bISP-[A-Z0-9]+-\d{3}\b")


def test_every_rule_id_in_the_threat_model_is_a_registered_rule() -> None:
    named = set(RULE_ID.findall(DOC.read_text(encoding="utf-8")))
    unknown = sorted(named - {rule.id for rule in RULES})
    assert not unknown, f"docs/security.md names rules the registry does not have: {', '.join(unknown)}"


def test_every_security_rule_is_placed_in_the_threat_model() -> None:
    named = set(RULE_ID.findall(DOC.read_text(encoding="utf-8")))
    missing = sorted(rule.id for rule in RULES if rule.category == "security" and rule.id not in named)
    assert not missing, (
        f"security rules missing from docs/security.md: {', '.join(missing)}; add each to the table of the stage whose "
        "threat it stops"
    )


def test_the_threat_model_covers_every_stage_and_the_endpoints() -> None:
    text = DOC.read_text(encoding="utf-8")
    for actor in ("spec author", "reviewer", "CI", "deployer", "model container", "end client"):
        assert actor in text, actor
    assert "### Endpoint authentication, rate limits and TLS" in text
