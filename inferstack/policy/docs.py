"""The rules table in Markdown, generated from the rule metadata (docs/policies.md, `inferstack policy docs`)."""

from __future__ import annotations

from collections.abc import Sequence

from inferstack.constants import ENVIRONMENTS
from inferstack.policy.catalog import RULES
from inferstack.policy.model import Rule

HEADER = """# Policy rules

Generated from the rule metadata by `inferstack policy docs`; do not edit by hand.

Every rule runs in `pulumi up --policy-pack policies` (CrossGuard) and in the offline
`inferstack plan` (policy.json). Enforcement per environment is the rule's default;
a stack replaces it with `inferstack:policy: {enforcement: {<name>: mandatory|advisory|disabled}}`
in `stacks/Pulumi.<env>.yaml`. Mandatory violations make `plan` exit 1 and block `pulumi up`.
"""


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def rules_table(rules: Sequence[Rule] = RULES) -> str:
    """One Markdown table row per rule: id, name, category, severity, enforcement per environment, description."""
    envs = " | ".join(ENVIRONMENTS)
    lines = [
        f"| id | name | category | severity | {envs} | description |",
        "|---|---|---|---|" + "---|" * len(ENVIRONMENTS) + "---|",
    ]
    for rule in rules:
        levels = " | ".join(rule.default_enforcement[env] for env in ENVIRONMENTS)
        lines.append(
            f"| {rule.id} | [`{rule.name}`]({rule.docs_url}) | {rule.category} | {rule.severity} | {levels} | "
            f"{_cell(rule.description)} |"
        )
    return "\n".join(lines) + "\n"


def remediation_list(rules: Sequence[Rule] = RULES) -> str:
    """How to fix each rule, one bullet per rule."""
    return "".join(f"- **{rule.id} `{rule.name}`**: {_cell(rule.remediation)}\n" for rule in rules)


def policies_markdown(rules: Sequence[Rule] = RULES) -> str:
    """The whole docs/policies.md."""
    return f"{HEADER}\n{rules_table(rules)}\n## Remediation\n\n{remediation_list(rules)}"
