"""A small validator of Kubernetes structural schemas (a CRD version's `openAPIV3Schema`), as the API server applies them.

Not JSON Schema: Kubernetes prunes fields a structural schema does not declare (unless
`x-kubernetes-preserve-unknown-fields` is set at that level), accepts either an integer or
a string under `x-kubernetes-int-or-string`, lets `nullable: true` keep a null, and treats
`x-kubernetes-embedded-resource` objects as carrying apiVersion/kind/metadata implicitly.
(Kubernetes docs, "Extend the Kubernetes API with CustomResourceDefinitions": specifying a
structural schema, field pruning, IntOrString, RawExtension, nullable.) CEL rules
(`x-kubernetes-validations`) are not evaluated here. jsonschema stays a dev dependency.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import Any

_EMBEDDED_FIELDS = frozenset({"apiVersion", "kind", "metadata"})


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return type(value).__name__


def _type_matches(expected: str, value: Any) -> bool:
    actual = _type_name(value)
    if expected == "number":
        return actual in ("integer", "number")
    return actual == expected


@lru_cache(maxsize=512)
def _pattern(text: str) -> re.Pattern[str] | None:
    try:
        return re.compile(text)
    except re.error:
        return None  # an ECMA-262 construct Python's re does not know: not judged here


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def validate(value: Any, schema: Mapping[str, Any], path: str = "") -> Iterator[str]:
    """Messages `path: what is wrong` for every place the value breaks the schema (undeclared fields included)."""
    if value is None:
        if not schema.get("nullable", False) and schema:
            yield f"{path}: is null, and the schema does not allow null (the API server drops it); expected a value or no field"
        return
    if schema.get("x-kubernetes-int-or-string"):
        if not isinstance(value, (int, str)) or isinstance(value, bool):
            yield f"{path}: is {_type_name(value)}; expected an integer or a string"
            return
    else:
        expected = schema.get("type")
        if isinstance(expected, str) and not _type_matches(expected, value):
            yield f"{path}: is {_type_name(value)}; expected {expected}"
            return
    yield from _value_rules(value, schema, path)
    for keyword in ("allOf",):
        for branch in schema.get(keyword) or []:
            yield from _value_rules(value, branch, path)
    if isinstance(value, Mapping):
        yield from _object(value, schema, path)
    elif isinstance(value, list):
        items = schema.get("items")
        if isinstance(items, Mapping):
            for index, item in enumerate(value):
                yield from validate(item, items, _join(path, index))


def _value_rules(value: Any, schema: Mapping[str, Any], path: str) -> Iterator[str]:
    enum = schema.get("enum")
    if isinstance(enum, list) and value not in enum:
        yield f"{path}: {value!r} is not allowed; expected one of {', '.join(repr(item) for item in enum)}"
    if isinstance(value, str):
        pattern = schema.get("pattern")
        compiled = _pattern(pattern) if isinstance(pattern, str) else None
        if compiled is not None and not compiled.search(value):
            yield f"{path}: {value!r} does not match the pattern {pattern}"
        if isinstance(schema.get("maxLength"), int) and len(value) > schema["maxLength"]:
            yield f"{path}: is {len(value)} characters long; expected at most {schema['maxLength']}"
        if isinstance(schema.get("minLength"), int) and len(value) < schema["minLength"]:
            yield f"{path}: is {len(value)} characters long; expected at least {schema['minLength']}"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if isinstance(schema.get("minimum"), (int, float)) and value < schema["minimum"]:
            yield f"{path}: {value} is below the minimum {schema['minimum']}"
        if isinstance(schema.get("maximum"), (int, float)) and value > schema["maximum"]:
            yield f"{path}: {value} is above the maximum {schema['maximum']}"
    if isinstance(value, list):
        if isinstance(schema.get("maxItems"), int) and len(value) > schema["maxItems"]:
            yield f"{path}: has {len(value)} items; expected at most {schema['maxItems']}"
        if isinstance(schema.get("minItems"), int) and len(value) < schema["minItems"]:
            yield f"{path}: has {len(value)} items; expected at least {schema['minItems']}"


def _object(value: Mapping[str, Any], schema: Mapping[str, Any], path: str) -> Iterator[str]:
    properties: Mapping[str, Any] = schema.get("properties") or {}
    additional = schema.get("additionalProperties")
    preserve = bool(schema.get("x-kubernetes-preserve-unknown-fields"))
    embedded = bool(schema.get("x-kubernetes-embedded-resource"))
    for name in schema.get("required") or []:
        if name not in value:
            yield f"{_join(path, name)}: is required and missing"
    for key, item in value.items():
        child = _join(path, str(key))
        if key in properties:
            yield from validate(item, properties[key], child)
        elif isinstance(additional, Mapping):
            yield from validate(item, additional, child)
        elif additional is True or preserve:
            continue
        elif embedded and key in _EMBEDDED_FIELDS:
            continue
        elif properties or additional is False or schema.get("type") == "object":
            yield f"{child}: is not declared by the schema, so the API server prunes it; expected one of {_declared(properties)}"


def _declared(properties: Mapping[str, Any]) -> str:
    names = sorted(properties)
    if not names:
        return "no fields (the object must be empty)"
    shown = ", ".join(names[:12])
    return shown + (f" (+{len(names) - 12} more)" if len(names) > 12 else "")
