"""Policy rules for inferstack stacks: the same plain functions run in `pulumi up --policy-pack policies` and offline.

    from inferstack.policy import PolicyContext, PolicyResource, evaluate
    report = evaluate(resources, PolicyContext.from_environment(config, cost))
    report.to_json()            # policy.json
    report.has_mandatory_violations
"""

from inferstack.policy.catalog import RULES, RULES_BY_ID, RULES_BY_NAME
from inferstack.policy.evaluate import PolicyReport, Violation, evaluate, has_mandatory_violations
from inferstack.policy.model import CostFigures, NotEvaluated, PolicyContext, PolicyResource, Rule

__all__ = [
    "RULES",
    "RULES_BY_ID",
    "RULES_BY_NAME",
    "CostFigures",
    "NotEvaluated",
    "PolicyContext",
    "PolicyReport",
    "PolicyResource",
    "Rule",
    "Violation",
    "evaluate",
    "has_mandatory_violations",
]
