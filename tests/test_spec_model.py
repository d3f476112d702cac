"""The spec language: valid specs load, cross-field rules reject impossible values."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from inferstack.problems import InputError
from inferstack.spec import ModelSpec, load_specs
from inferstack.spec.schema import spec_json_schema
from tests.spec_factory import spec_document


def test_minimal_spec_gets_secure_defaults() -> None:
    spec = ModelSpec.model_validate(spec_document())
    assert spec.effective_namespace == "demo"
    assert spec.effective_cost_center == "demo"
    assert spec.rollout.strategy == "direct"
    assert spec.capacity.spot == "preferred"


def test_dynamic_dimensions_minus_one_become_none() -> None:
    spec = ModelSpec.model_validate(
        spec_document(
            signature={
                "inputs": [{"name": "x", "dtype": "float32", "shape": [-1, 4]}],
                "outputs": [{"name": "y", "dtype": "float32", "shape": [None, 1]}],
            }
        )
    )
    assert spec.signature is not None
    assert spec.signature.inputs[0].shape == [None, 4]


@pytest.mark.parametrize(
    ("changes", "needle"),
    [
        ({"scaling": {"min_replicas": 5, "max_replicas": 2}}, "min_replicas 5 is above max_replicas 2"),
        ({"accelerator": {"gpu_type": "t4", "gpus_per_replica": 1, "gpu_memory_gib": 20}}, "has 16 GiB"),
        ({"accelerator": {"gpu_type": "none", "gpus_per_replica": 1}}, "gpus_per_replica is 1 with gpu_type none"),
        ({"rollout": {"strategy": "canary", "stable_version": "0.9"}}, "needs canary_percent"),
        (
            {"rollout": {"strategy": "direct", "canary_percent": 10}},
            "canary_percent set with strategy direct",
        ),
    ],
)
def test_cross_field_rules(changes: dict[str, object], needle: str) -> None:
    with pytest.raises(ValidationError) as error:
        ModelSpec.model_validate(spec_document(**changes))
    assert needle in str(error.value)


def test_shipped_specs_load(repo_root: Path) -> None:
    loaded = load_specs([repo_root / "model_specs"])
    names = [item.spec.name for item in loaded]
    assert names == sorted(names)
    assert len(names) >= 4
    sources = {Path(item.source).suffix for item in loaded}
    assert sources == {".py", ".yaml"}


def test_python_and_yaml_specs_load_through_the_same_model(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(yaml.safe_dump(spec_document(name="from-yaml")))
    (tmp_path / "b.py").write_text(
        "from inferstack.spec import ModelSpec\n"
        "from tests.spec_factory import spec_document\n"
        "spec = ModelSpec.model_validate(spec_document(name='from-python'))\n"
    )
    loaded = load_specs([tmp_path])
    assert [item.spec.name for item in loaded] == ["from-python", "from-yaml"]
    assert type(loaded[0].spec) is type(loaded[1].spec) is ModelSpec


def test_duplicate_names_and_namespace_clash_are_errors(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(yaml.safe_dump(spec_document(name="same")))
    (tmp_path / "b.yaml").write_text(yaml.safe_dump(spec_document(name="same")))
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(spec_document(name="other", team="other", namespace="demo")))
    with pytest.raises(InputError) as error:
        load_specs([tmp_path])
    text = str(error.value)
    assert "model name 'same' is also used in" in text
    assert "namespace 'demo' belongs to team 'demo'" in text


def test_schema_covers_every_field() -> None:
    schema = spec_json_schema()
    assert schema["$schema"].endswith("2020-12/schema")
    assert set(schema["properties"]) == set(ModelSpec.model_fields)
    for definition in schema["$defs"].values():
        if definition.get("type") == "object":
            assert definition.get("additionalProperties") is False, definition.get("title")
            for name, field in definition.get("properties", {}).items():
                assert field.get("description"), f"{definition['title']}.{name} has no description"
    for name, field in schema["properties"].items():
        assert field.get("description") or "$ref" in field or "allOf" in field, name
