"""JSON Schema of the spec language, for editors and CI."""

from __future__ import annotations

from typing import Any

from inferstack.spec.model import ModelSpec

SCHEMA_ID = "https://inferstack.dev/schemas/model-spec.json"


def spec_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of one model spec document."""
    schema = ModelSpec.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = SCHEMA_ID
    schema["title"] = "inferstack model spec"
    return schema
