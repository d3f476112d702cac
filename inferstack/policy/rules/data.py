"""Data-handling rules: no secrets in plain resource text, and old model versions kept long enough in prod.

Secrets belong in Kubernetes Secrets or Pulumi secrets (which the plan redacts),
never in spec text that ends up in labels, annotations, environment variables,
alarm descriptions or subscription endpoints. The detector looks for known
credential shapes first, then for long high-entropy tokens.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from inferstack.policy.model import PolicyContext, PolicyResource, Rule, enforcement_by_env
from inferstack.policy.props import AWS_S3_LIFECYCLE, as_list, get

# Known credential shapes (provider documentation of each token format).
SECRET_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("AWS access key id", re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("Slack webhook URL", re.compile(r"hooks\.slack\.com/(services|workflows|triggers)/[A-Za-z0-9/_-]{20,}")),
    ("Slack token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}")),
    ("GitHub token", re.compile(r"\b(gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,})\b")),
    ("private key", re.compile(r"-----BEGIN ([A-Z]+ )?PRIVATE KEY-----")),
    ("URL with a password", re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@")),
    ("PagerDuty Events integration URL", re.compile(r"events\.pagerduty\.com/integration/[0-9a-f]{32}")),
    ("bearer token", re.compile(r"\b[Bb]earer\s+[A-Za-z0-9._~+/-]{20,}=*")),
)

_TOKEN = re.compile(r"[A-Za-z0-9+/]{32,}={0,2}")
"""A run of base64 characters long enough to be a key (dashes and underscores split words: flags, names, paths)."""
# Long values that are high-entropy by design and not secret: digests, Pulumi unknown sentinels, UUIDs.
_NOT_SECRET = re.compile(r"^([0-9a-f]{32,128}|sha256[:-][0-9a-f]{64}|[0-9a-f-]{36})$")
ENTROPY_BITS_PER_CHAR = 4.3
"""Shannon entropy above which a 32+ character token is taken for a key (random base64 is ~6, English words ~3-4)."""

# Where text from a spec lands: values under these keys are scanned (not names, hashes or policy documents).
_SCANNED_KEYS = frozenset(
    {"labels", "annotations", "env", "args", "command", "description", "alarmDescription", "endpoint", "tags", "value", "data"}
)


def shannon_entropy(text: str) -> float:
    """Bits per character of the text's character distribution."""
    counts = Counter(text)
    return -sum(count / len(text) * math.log2(count / len(text)) for count in counts.values())


def secret_in(text: str) -> str | None:
    """What kind of secret the text holds (a known credential shape or a high-entropy token), or None."""
    for kind, pattern in SECRET_PATTERNS:
        if pattern.search(text):
            return kind
    for token in _TOKEN.findall(text):
        mixed = any(c.isdigit() for c in token) and any(c.isalpha() for c in token)
        if mixed and not _NOT_SECRET.match(token.lower()) and shannon_entropy(token) >= ENTROPY_BITS_PER_CHAR:
            return "high-entropy token"
    return None


def _scanned_strings(value: Any, path: str, inside: bool) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        if inside:
            yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _scanned_strings(item, f"{path}.{key}" if path else str(key), inside or key in _SCANNED_KEYS)
    elif isinstance(value, Sequence):
        for index, item in enumerate(value):
            yield from _scanned_strings(item, f"{path}[{index}]", inside)


def check_no_plain_secrets(resources: Sequence[PolicyResource], ctx: PolicyContext) -> Iterable[tuple[str, str]]:
    """No credential in plain resource text (labels, annotations, env, args, descriptions, endpoints, tags, data)."""
    for resource in resources:
        if resource.type == "kubernetes:core/v1:Secret":
            continue  # a Secret's data is where credentials belong (and the plan redacts it)
        for path, text in _scanned_strings(resource.props, "", False):
            kind = secret_in(text)
            if kind:
                yield resource.urn, (
                    f"{path} holds what looks like a {kind}; expected it in a Kubernetes Secret or a Pulumi secret "
                    "(config `secure:`), referenced by name, never in spec text"
                )


MIN_NONCURRENT_DAYS_PROD = 30
MODEL_PREFIX = "models/"
"""Where the registry keeps model artifacts (inferstack/registry/records.py version_prefix)."""


def check_noncurrent_retention(resources: Sequence[PolicyResource], ctx: PolicyContext) -> Iterable[tuple[str, str]]:
    """In prod, overwritten or deleted model versions stay recoverable for at least 30 days."""
    if ctx.environment != "prod":
        return
    for lifecycle in resources:
        if lifecycle.type != AWS_S3_LIFECYCLE:
            continue
        for rule in as_list(get(lifecycle.props, "rules")):
            prefix = str(get(rule, "filter", "prefix") or get(rule, "prefix") or "")
            if get(rule, "status") != "Enabled" or not MODEL_PREFIX.startswith(prefix):
                continue  # only rules that reach model artifacts (models/); payload logs expire on their own terms
            days = get(rule, "noncurrentVersionExpiration", "noncurrentDays")
            if isinstance(days, (int, float)) and days < MIN_NONCURRENT_DAYS_PROD:
                yield lifecycle.urn, (
                    f"lifecycle rule {get(rule, 'id') or '?'} expires noncurrent versions after {days:g} days; prod keeps "
                    f"them at least {MIN_NONCURRENT_DAYS_PROD} days (model_store.noncurrent_version_days)"
                )


PAYLOAD_LOG_PREFIX = "payload-logs/"
"""Where KServe's logger writes in the model store (inferstack/render/payload_logging.py PAYLOAD_LOG_ROOT)."""
MAX_PAYLOAD_LOG_DAYS = {"dev": 30, "staging": 90, "prod": 400}


def _logs_payloads(resources: Sequence[PolicyResource]) -> bool:
    return any(
        resource.type == "kubernetes:serving.kserve.io/v1beta1:InferenceService" and get(resource.props, "spec", "predictor", "logger")
        for resource in resources
    )


def check_payload_log_retention(resources: Sequence[PolicyResource], ctx: PolicyContext) -> Iterable[tuple[str, str]]:
    """Where models log payloads, a lifecycle rule expires the payload-log prefix within the environment's maximum."""
    if not _logs_payloads(resources) or "model_store" in ctx.adopted:
        return
    limit = MAX_PAYLOAD_LOG_DAYS[ctx.environment]
    days: list[float] = []
    for lifecycle in resources:
        if lifecycle.type != AWS_S3_LIFECYCLE:
            continue
        for rule in as_list(get(lifecycle.props, "rules")):
            prefix = str(get(rule, "filter", "prefix") or get(rule, "prefix") or "")
            expire = get(rule, "expiration", "days")
            if get(rule, "status") == "Enabled" and PAYLOAD_LOG_PREFIX.startswith(prefix) and isinstance(expire, (int, float)):
                days.append(expire)
    if not days:
        yield "", (
            f"models log payloads to {PAYLOAD_LOG_PREFIX} but no lifecycle rule expires them; expected model_store."
            f"payload_log_retention_days (at most {limit} in {ctx.environment})"
        )
    elif min(days) > limit:
        yield "", f"payload logs are kept {min(days):g} days; {ctx.environment} keeps them at most {limit} days"


DATA_RULES: tuple[Rule, ...] = (
    Rule(
        id="ISP-DATA-001",
        name="no-plain-secrets",
        category="security",
        severity="critical",
        description="No credential appears in plain resource text: known shapes (AWS keys, Slack/PagerDuty webhook URLs, "
        "GitHub and Slack tokens, private keys, URLs with passwords) and 32+ character tokens above "
        f"{ENTROPY_BITS_PER_CHAR} bits of entropy per character, in labels, annotations, env, args, descriptions, "
        "endpoints, tags or data.",
        remediation="Put the credential in a Kubernetes Secret or a Pulumi `secure:` config value and reference it by name.",
        docs_url="https://kubernetes.io/docs/concepts/security/secrets-good-practices/",
        default_enforcement=enforcement_by_env("mandatory", "mandatory", "mandatory"),
        stack_check=check_no_plain_secrets,
    ),
    Rule(
        id="ISP-S3-006",
        name="prod-noncurrent-retention",
        category="reliability",
        severity="medium",
        description=f"In prod, noncurrent object versions in the model store are kept at least {MIN_NONCURRENT_DAYS_PROD} "
        "days, so an overwritten or deleted model can be restored.",
        remediation=f"Set model_store.noncurrent_version_days to {MIN_NONCURRENT_DAYS_PROD} or more in the prod stack.",
        docs_url="https://docs.aws.amazon.com/AmazonS3/latest/userguide/lifecycle-configuration-examples.html",
        default_enforcement=enforcement_by_env("disabled", "advisory", "mandatory"),
        stack_check=check_noncurrent_retention,
    ),
    Rule(
        id="ISP-DATA-002",
        name="payload-log-retention",
        category="security",
        severity="high",
        description="Where models log payloads (requests and responses: end-user data), a lifecycle rule deletes the "
        f"payload-log prefix within the environment's maximum ({', '.join(f'{env} {days} days' for env, days in MAX_PAYLOAD_LOG_DAYS.items())}).",
        remediation="Set model_store.payload_log_retention_days in the stack (the model store renders the lifecycle rule).",
        docs_url="https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lifecycle-mgmt.html",
        default_enforcement=enforcement_by_env("advisory", "mandatory", "mandatory"),
        stack_check=check_payload_log_retention,
    ),
)
