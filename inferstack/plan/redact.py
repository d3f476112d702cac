"""Secret redaction for recorded inputs.

Values Pulumi marks secret arrive wrapped in the engine's secret signature; they
are replaced by a marker, as are values under keys whose names say they hold
credentials (kubeconfig, password, token, private key ...), wherever they sit.
"""

from __future__ import annotations

import re
from typing import Any

SECRET_SIGNATURE_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIGNATURE_VALUE = "1b47061264138c4ac30d75fd1eb44270"
REDACTED = "[secret]"

_SENSITIVE_KEY = re.compile(
    r"(password|passwd|clientsecret|secretkey|secretaccesskey|token|private_?key|kubeconfig|credential)$", re.I
)
_NOT_SENSITIVE = frozenset({"tokenExpirationSeconds", "automountServiceAccountToken"})
_KEY_SETTINGS = frozenset({"algorithm", "size", "encoding", "rotationPolicy"})
"""cert-manager's Certificate `privateKey` is how to generate the key (cert-manager.io/v1 CertificatePrivateKey), not a key."""
SECRET_TYPES = frozenset({"kubernetes:core/v1:Secret"})
SECRET_FIELDS = ("data", "stringData")


def _sensitive(key: str) -> bool:
    flag = _SENSITIVE_CACHE.get(key)
    if flag is None:
        flag = key not in _NOT_SENSITIVE and _SENSITIVE_KEY.search(key) is not None
        _SENSITIVE_CACHE[key] = flag
    return flag


_SENSITIVE_CACHE: dict[str, bool] = {}


def redact(value: Any) -> Any:
    """A copy of `value` with secrets replaced by "[secret]" and integral floats as ints.

    The engine carries every number as a double, so a port 80 arrives as 80.0, which
    a Kubernetes API server rejects for an integer field; whole numbers go back to ints.
    """
    if isinstance(value, dict):
        return _redact_mapping(value)
    if isinstance(value, list):
        return [redact(item) for item in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _has_content(value: Any) -> bool:
    return value not in (None, "", [], {}) and not isinstance(value, bool)


def _redact_mapping(mapping: dict[Any, Any]) -> Any:
    # The hot loop of a plan's render phase: plain strings are copied inline.
    if mapping.get(SECRET_SIGNATURE_KEY) == SECRET_SIGNATURE_VALUE:
        return REDACTED
    cleaned: dict[Any, Any] = {}
    for name, item in mapping.items():
        if _sensitive(name) and _has_content(item) and not (isinstance(item, dict) and item.keys() <= _KEY_SETTINGS):
            cleaned[name] = REDACTED
        elif type(item) is str:
            cleaned[name] = item
        else:
            cleaned[name] = redact(item)
    return cleaned


_secret_values: frozenset[str] = frozenset()


def register_secret_values(values: Any) -> None:
    """Values of the stack's secret settings (Pulumi `secure:` config): any string holding one is redacted.

    Replaces what an earlier plan in this process registered.
    """
    global _secret_values
    _secret_values = frozenset(value for value in values if isinstance(value, str) and len(value) >= 4)


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return REDACTED if any(secret in value for secret in _secret_values) else value
    if isinstance(value, dict):
        return {name: _scrub(item) for name, item in value.items()}
    if isinstance(value, list):
        return [_scrub(item) for item in value]
    return value


def redact_inputs(resource_type: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """Redacted inputs of one resource; Kubernetes Secrets lose their data entirely; stack secrets never show."""
    cleaned = redact(inputs)
    if _secret_values:
        cleaned = _scrub(cleaned)
    if resource_type in SECRET_TYPES:
        for field in SECRET_FIELDS:
            if field in cleaned:
                cleaned[field] = {name: REDACTED for name in cleaned[field]} if isinstance(cleaned[field], dict) else REDACTED
    return cleaned
