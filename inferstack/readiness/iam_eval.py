"""A small evaluator of IAM policy documents, following AWS's documented rules.

Sources (AWS IAM User Guide):
- "IAM JSON policy elements: Condition operators"
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html):
  a key missing from the request context makes a condition false, except that a negated
  operator (StringNotEquals, StringNotLike, ArnNotLike, ...) is then *true*; `...IfExists` is
  true when the key is missing and otherwise the plain operator; `Null` tests presence
  (`"true"`: the key is absent). Several values for one key match if any matches (for a negated
  operator: if none matches); several keys in one operator and several operators in one block
  must all hold.
- "Policy evaluation logic" and "Cross-account policy evaluation logic"
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html):
  an explicit Deny in any applicable policy wins; otherwise, within one account, an Allow in
  the identity policy or the resource policy allows; across accounts both must allow.
- AWS KMS "Key policies" (https://docs.aws.amazon.com/kms/latest/developerguide/key-policies.html):
  the key policy is the primary control; identity policies count only when the key policy
  allows the account (the default key policy's `arn:aws:iam::<account>:root` statement).
Only what the platform's own policies use is implemented; an unknown operator raises
`UnsupportedPolicy` rather than guessing.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

Decision = Literal["allow", "deny", "implicit-deny"]


class UnsupportedPolicy(Exception):
    """A policy uses a construct this evaluator does not implement."""


@dataclass(frozen=True, slots=True)
class Request:
    """One API request as IAM sees it: who, what, on which resource, with which condition keys."""

    principal: str
    account: str
    action: str
    resource: str
    context: Mapping[str, str] = field(default_factory=dict)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _like(pattern: str, value: str) -> bool:
    # IAM wildcards: * any run of characters, ? one character (case-sensitive).
    return fnmatch.fnmatchcase(value, pattern.replace("[", "[[]"))


def _match(base: str, expected: str, actual: str) -> bool:
    if base == "StringEquals" or base == "ArnEquals" or base == "Bool":
        return actual == expected if base != "Bool" else actual.lower() == expected.lower()
    if base == "StringEqualsIgnoreCase":
        return actual.lower() == expected.lower()
    if base in ("StringLike", "ArnLike"):
        return _like(expected, actual)
    if base in ("NumericEquals",):
        return float(actual) == float(expected)
    raise UnsupportedPolicy(f"condition operator {base}")


_NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
    "NumericNotEquals": "NumericEquals",
}


def condition_holds(operator: str, key: str, values: Any, context: Mapping[str, str]) -> bool:
    """One operator on one key, by the documented rules for missing keys."""
    if operator.startswith(("ForAllValues:", "ForAnyValue:")):
        raise UnsupportedPolicy(f"set operator {operator}")
    expected = [str(item).lower() if isinstance(item, bool) else str(item) for item in _as_list(values)]
    # Condition key names are case-insensitive (aws:SecureTransport == aws:securetransport); values are not.
    lowered = {name.lower(): value for name, value in context.items()}
    key = key.lower()
    context = lowered
    present = key in context
    if operator == "Null":
        wants_absent = any(item.lower() == "true" for item in expected)
        return (not present) if wants_absent else present
    if_exists = operator.endswith("IfExists")
    base = operator[: -len("IfExists")] if if_exists else operator
    if not present:
        if if_exists:
            return True
        return base in _NEGATED  # a negated operator on a missing key is true
    actual = context[key]
    if base in _NEGATED:
        return not any(_match(_NEGATED[base], item, actual) for item in expected)
    return any(_match(base, item, actual) for item in expected)


def _conditions_hold(block: Mapping[str, Any] | None, context: Mapping[str, str]) -> bool:
    for operator, keys in (block or {}).items():
        for key, values in (keys or {}).items():
            if not condition_holds(str(operator), str(key), values, context):
                return False
    return True


def _matches_any(patterns: Any, value: str) -> bool:
    return any(_like(str(pattern), value) for pattern in _as_list(patterns))


def principal_match(principal: Any, request: Request) -> Literal["direct", "account"] | None:
    """How a resource policy's Principal names the caller: itself or everyone ("direct"), its account root ("account"), or not at all.

    An account-root principal delegates to that account's identity policies (it grants nothing by itself).
    """
    if principal == "*":
        return "direct"
    if isinstance(principal, Mapping):
        for arn in _as_list(principal.get("AWS")):
            arn = str(arn)
            if arn == "*" or arn == request.principal:
                return "direct"
            if arn in (f"arn:aws:iam::{request.account}:root", request.account):
                return "account"
    return None


def statement_applies(statement: Mapping[str, Any], request: Request, *, resource_policy: bool) -> bool:
    """Whether one statement's principal, action, resource and conditions all match the request."""
    if resource_policy:
        if "NotPrincipal" in statement:
            raise UnsupportedPolicy("NotPrincipal")
        if principal_match(statement.get("Principal"), request) is None:
            return False
    # Action names are case-insensitive; resource ARNs are case-sensitive.
    action = request.action.lower()
    if "NotAction" in statement:
        if _matches_any([str(item).lower() for item in _as_list(statement["NotAction"])], action):
            return False
    elif not _matches_any([str(item).lower() for item in _as_list(statement.get("Action"))], action):
        return False
    if "NotResource" in statement:
        if _matches_any(statement["NotResource"], request.resource):
            return False
    elif not _matches_any(statement.get("Resource", "*"), request.resource):
        return False
    return _conditions_hold(statement.get("Condition"), request.context)


def parse(document: Any) -> list[Mapping[str, Any]]:
    """The statements of a policy document (a JSON string or a mapping)."""
    if isinstance(document, str):
        document = json.loads(document)
    if not isinstance(document, Mapping):
        return []
    return [item for item in _as_list(document.get("Statement")) if isinstance(item, Mapping)]


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome and the statements that decided it."""

    decision: Decision
    reason: str


def _effects(
    statements: Sequence[Mapping[str, Any]], request: Request, *, resource_policy: bool, label: str
) -> tuple[list[str], list[str], list[str]]:
    """(direct allows, account-root allows, denies) among the statements that apply."""
    allows: list[str] = []
    delegated: list[str] = []
    denies: list[str] = []
    for index, statement in enumerate(statements):
        if not statement_applies(statement, request, resource_policy=resource_policy):
            continue
        name = f"{label} {statement.get('Sid') or f'statement {index}'}"
        if statement.get("Effect") == "Deny":
            denies.append(name)
        elif resource_policy and principal_match(statement.get("Principal"), request) == "account":
            delegated.append(name)
        else:
            allows.append(name)
    return allows, delegated, denies


def evaluate(
    request: Request,
    *,
    identity: Sequence[Mapping[str, Any]],
    resource: Sequence[Mapping[str, Any]] | None,
    resource_account: str,
    resource_label: str,
    key_policy: bool = False,
) -> Verdict:
    """Allow or deny one request.

    An explicit Deny anywhere wins. A resource-policy Allow naming the caller (or "*") allows by
    itself within the account; one naming the caller's account root only delegates to identity
    policies. S3 in the same account: identity Allow or a direct resource Allow. KMS: the key
    policy must allow, directly or by delegating to the account (`key_policy`; None is KMS's
    default key policy, which delegates to the key's account). Across accounts: both sides must allow.
    """
    if key_policy and resource is None:
        resource = [{"Sid": "DefaultKeyPolicy", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{resource_account}:root"}, "Action": "kms:*", "Resource": "*"}]
    id_allow, _, id_deny = _effects(identity, request, resource_policy=False, label="identity policy")
    res_allow, res_delegated, res_deny = _effects(resource or [], request, resource_policy=True, label=resource_label)
    denies = id_deny + res_deny
    if denies:
        return Verdict("deny", f"explicitly denied by {', '.join(denies)}")
    same_account = request.account == resource_account
    if same_account and not key_policy:
        allowed = bool(id_allow or res_allow)
    elif same_account:
        allowed = bool(res_allow or (res_delegated and id_allow))
    else:
        allowed = bool(id_allow and (res_allow or res_delegated))
    if allowed:
        return Verdict("allow", f"allowed by {', '.join(id_allow + res_allow + res_delegated)}")
    if key_policy:
        return Verdict("implicit-deny", f"no Allow: the {resource_label} must allow it, directly or through an identity policy it delegates to")
    return Verdict("implicit-deny", "no applicable Allow" + ("" if same_account else " in both the identity and the resource policy (cross-account)"))
