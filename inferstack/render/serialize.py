"""Turn typed Kubernetes / KServe SDK models into manifest dicts with the cluster's key names.

The SDKs' own `sanitize_for_serialization` emits snake_case keys with nulls
(`storage_uri: None`), which a cluster rejects or misreads. Every generated
model class carries an `attribute_map` (python attribute -> JSON key), so we
walk that instead and drop unset values.
"""

from __future__ import annotations

from typing import Any


def to_manifest(value: Any) -> Any:
    """The JSON form of an SDK model (or list/dict of them): camelCase keys, no nulls."""
    kind = type(value)
    if kind is str or kind is int or kind is float or kind is bool:
        return value
    attribute_map = _attribute_map(kind)
    if attribute_map is not None:
        result: dict[str, Any] = {}
        for attribute, key in attribute_map.items():
            item = getattr(value, attribute)
            if item is None:
                continue
            result[key] = to_manifest(item)
        return result
    if isinstance(value, dict):
        return {key: to_manifest(item) for key, item in value.items() if item is not None}
    if isinstance(value, (list, tuple)):
        return [to_manifest(item) for item in value]
    return value


_ATTRIBUTE_MAPS: dict[type, dict[str, str] | None] = {}


def _attribute_map(kind: type) -> dict[str, str] | None:
    """The class's attribute_map when it is a generated SDK model (it has openapi_types too), else None."""
    try:
        return _ATTRIBUTE_MAPS[kind]
    except KeyError:
        attribute_map: dict[str, str] | None = getattr(kind, "attribute_map", None)
        found = attribute_map if attribute_map is not None and hasattr(kind, "openapi_types") else None
        _ATTRIBUTE_MAPS[kind] = found
        return found


_PRIMITIVES: dict[str, type | tuple[type, ...]] = {
    "str": str,
    "int": int,
    "float": (int, float),
    "bool": bool,
    "object": object,
    "datetime": str,
    "date": str,
    # kserve's MetricTarget value / averageValue: a Kubernetes quantity (int-or-string), no model class of its own.
    "V1beta1MetricQuantity": (str, int, float),
}


def _model_class(name: str) -> type:
    import kubernetes.client.models

    from inferstack.render import kserve_models

    for module in (kserve_models.models, kubernetes.client.models):
        found = getattr(module, name, None)
        if isinstance(found, type):
            return found
    raise TypeError(f"unknown SDK model {name}")


def from_manifest(data: Any, type_name: str, path: str = "") -> Any:
    """Rebuild an SDK model from manifest JSON, rejecting keys the schema does not know.

    The inverse of `to_manifest`; used to check rendered manifests against the
    kserve / Kubernetes SDK models (type_name as in `openapi_types`, e.g. "V1beta1InferenceService").
    """
    if type_name.startswith(("List[", "Dict[")):
        type_name = type_name[0].lower() + type_name[1:]
        if type_name.startswith("dict["):
            type_name = "dict(" + type_name[5:-1] + ")"
    if type_name.startswith("list["):
        if not isinstance(data, list):
            raise ValueError(f"{path or '.'}: expected a list, got {type(data).__name__}")
        inner = type_name[5:-1]
        return [from_manifest(item, inner, f"{path}[{index}]") for index, item in enumerate(data)]
    if type_name.startswith("dict("):
        if not isinstance(data, dict):
            raise ValueError(f"{path or '.'}: expected a mapping, got {type(data).__name__}")
        inner = type_name[type_name.index(",") + 1 : -1].strip()
        return {key: from_manifest(item, inner, f"{path}.{key}") for key, item in data.items()}
    primitive = _PRIMITIVES.get(type_name)
    if primitive is not None:
        if not isinstance(data, primitive):
            raise ValueError(f"{path or '.'}: expected {type_name}, got {type(data).__name__}")
        return data
    cls = _model_class(type_name)
    if not isinstance(data, dict):
        raise ValueError(f"{path or '.'}: expected a {type_name} mapping, got {type(data).__name__}")
    attribute_map: dict[str, str] = getattr(cls, "attribute_map")
    openapi_types: dict[str, str] = getattr(cls, "openapi_types")
    by_key = {key: attribute for attribute, key in attribute_map.items()}
    unknown = sorted(set(data) - set(by_key))
    if unknown:
        raise ValueError(f"{path or '.'}: unknown field(s) {', '.join(unknown)} for {type_name}")
    arguments = {
        by_key[key]: from_manifest(value, openapi_types[by_key[key]], f"{path}.{key}") for key, value in data.items()
    }
    return cls(**arguments)
