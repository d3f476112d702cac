"""Packages registered bare load their submodules without their `__init__`, and lose nothing."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from inferstack.render.bare_packages import register_bare_package


@pytest.fixture
def fake_package(tmp_path: Path) -> Iterator[str]:
    """A package whose __init__ records that it ran and re-exports its models."""
    name = f"barepkg_{tmp_path.name.replace('-', '_')}"
    package = tmp_path / name
    package.mkdir()
    (package / "__init__.py").write_text(
        "import sys\nsys.modules[__name__].INIT_RAN = True\n__version__ = '1.2.3'\nVALUE = 42\nfrom .models import *\n"
    )
    (package / "models.py").write_text("__all__ = ['Thing']\nclass Thing: pass\n")
    (package / "extra.py").write_text("EXTRA = 'x'\n")
    sys.path.insert(0, str(tmp_path))
    try:
        yield name
    finally:
        sys.path.remove(str(tmp_path))
        for module in [module for module in sys.modules if module == name or module.startswith(name + ".")]:
            del sys.modules[module]


def test_submodules_load_without_the_init(fake_package: str) -> None:
    register_bare_package(fake_package, exports_from="models")
    models = importlib.import_module(f"{fake_package}.models")
    package = sys.modules[fake_package]
    assert models.Thing.__name__ == "Thing"
    assert package.Thing is models.Thing  # through exports_from, still no __init__
    assert package.extra.EXTRA == "x"  # a submodule on attribute access
    assert "INIT_RAN" not in vars(package)


def test_anything_else_runs_the_real_init_once(fake_package: str) -> None:
    register_bare_package(fake_package)
    package = importlib.import_module(fake_package)
    assert package.VALUE == 42
    assert package.INIT_RAN is True
    assert package.__version__ == "1.2.3"
    with pytest.raises(AttributeError):
        _ = package.missing


def test_an_imported_package_is_left_alone(fake_package: str) -> None:
    package = importlib.import_module(fake_package)
    register_bare_package(fake_package)
    assert sys.modules[fake_package] is package
    assert package.INIT_RAN is True


def test_a_missing_package_is_a_clear_import_error() -> None:
    with pytest.raises(ImportError, match="not installed"):
        register_bare_package("no_such_package_for_inferstack")
