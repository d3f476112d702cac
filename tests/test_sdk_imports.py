"""The lazy loader for generated Pulumi SDK packages gives the same names as the eager `__init__`."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from inferstack.sdk_imports import GeneratedPackageFinder

GENERATED_INIT = """\
# coding=utf-8
import builtins as _builtins
import typing
# Export this package's modules as members:
from ._enums import *
{star_imports}
from ._inputs import *
from . import outputs
"""


def _write_sdk(root: Path, name: str, modules: dict[str, str]) -> None:
    """A fake SDK root package with one generated service package `svc`."""
    package = root / name
    service = package / "svc"
    service.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    star = "\n".join(f"from .{module} import *" for module in modules if module not in ("_enums", "_inputs", "outputs"))
    (service / "__init__.py").write_text(GENERATED_INIT.format(star_imports=star))
    for module, body in modules.items():
        (service / f"{module}.py").write_text(textwrap.dedent(body))


def _modules(with_all: bool = True) -> dict[str, str]:
    loaded_marker = "import sys\nsys.modules[__name__].__dict__.setdefault('LOADED', True)\n"
    return {
        "_enums": "__all__ = ['Color']\nclass Color: pass\n",
        "_inputs": "__all__ = [\n    'WidgetArgs',\n    'GadgetArgs',\n]\nclass WidgetArgs: pass\nclass GadgetArgs: pass\n",
        "outputs": "__all__ = ['WidgetStatus']\nclass WidgetStatus: pass\n",
        "widget": loaded_marker + "from ._inputs import *\n__all__ = ['Widget', 'get_widget']\nclass Widget: pass\ndef get_widget(): return 'w'\n",
        # Named after its class, like pulumi_kubernetes' helm/v3/Release.py.
        "Gadget": loaded_marker + "__all__ = ['Gadget']\nclass Gadget: pass\n",
        "unused": loaded_marker + ("__all__ = ['Unused']\n" if with_all else "") + "class Unused: pass\n",
    }


@pytest.fixture
def fake_sdk(tmp_path: Path) -> Iterator[str]:
    """Yield the name of a fresh fake SDK importable from tmp_path, with the finder installed for it."""
    name = f"fakesdk_{tmp_path.name.replace('-', '_')}"
    sys.path.insert(0, str(tmp_path))
    finder = GeneratedPackageFinder([name])
    sys.meta_path.insert(0, finder)
    try:
        yield name
    finally:
        sys.meta_path.remove(finder)
        sys.path.remove(str(tmp_path))
        for module in [module for module in sys.modules if module == name or module.startswith(name + ".")]:
            del sys.modules[module]


def test_names_resolve_lazily_to_the_exporting_module(fake_sdk: str, tmp_path: Path) -> None:
    _write_sdk(tmp_path, fake_sdk, _modules())
    svc = importlib.import_module(f"{fake_sdk}.svc")
    assert f"{fake_sdk}.svc.widget" not in sys.modules

    widget_class = svc.Widget
    assert widget_class is sys.modules[f"{fake_sdk}.svc.widget"].Widget
    assert svc.get_widget() == "w"  # bound together with Widget
    assert svc.WidgetArgs is sys.modules[f"{fake_sdk}.svc._inputs"].WidgetArgs
    assert svc.Color.__name__ == "Color"
    assert f"{fake_sdk}.svc.unused" not in sys.modules  # never touched, never imported


def test_a_module_named_after_its_class_gives_the_class(fake_sdk: str, tmp_path: Path) -> None:
    _write_sdk(tmp_path, fake_sdk, _modules())
    svc = importlib.import_module(f"{fake_sdk}.svc")
    assert isinstance(svc.Gadget, type)
    assert svc.Gadget.__name__ == "Gadget"


def test_plain_submodules_and_dir(fake_sdk: str, tmp_path: Path) -> None:
    _write_sdk(tmp_path, fake_sdk, _modules())
    svc = importlib.import_module(f"{fake_sdk}.svc")
    assert svc.outputs.WidgetStatus.__name__ == "WidgetStatus"
    assert {"Widget", "Gadget", "Unused", "WidgetArgs", "Color"} <= set(dir(svc))
    with pytest.raises(AttributeError, match="no attribute 'Nothing'"):
        _ = svc.Nothing


def test_a_module_without_all_falls_back_to_eager_star_imports(fake_sdk: str, tmp_path: Path) -> None:
    _write_sdk(tmp_path, fake_sdk, _modules(with_all=False))
    svc = importlib.import_module(f"{fake_sdk}.svc")
    assert svc.Widget.__name__ == "Widget"
    assert f"{fake_sdk}.svc.unused" in sys.modules  # the fallback imports everything
    assert svc.Unused.__name__ == "Unused"


def test_names_after_the_last_module_without_all_still_resolve_lazily(fake_sdk: str, tmp_path: Path) -> None:
    _write_sdk(tmp_path, fake_sdk, _modules(with_all=False))  # order: _enums, widget, Gadget, unused (no __all__), _inputs
    svc = importlib.import_module(f"{fake_sdk}.svc")
    assert svc.GadgetArgs.__name__ == "GadgetArgs"  # _inputs comes after `unused`: nothing can shadow it
    assert svc.outputs.WidgetStatus.__name__ == "WidgetStatus"  # `from . import outputs` binds last
    assert f"{fake_sdk}.svc.unused" not in sys.modules
    assert svc.Gadget.__name__ == "Gadget"  # before `unused`: only the eager imports can tell
    assert f"{fake_sdk}.svc.unused" in sys.modules


def test_a_package_not_of_the_generated_shape_runs_as_written(fake_sdk: str, tmp_path: Path) -> None:
    package = tmp_path / fake_sdk / "plain"
    package.mkdir(parents=True)
    (tmp_path / fake_sdk / "__init__.py").write_text("")
    (package / "__init__.py").write_text("VALUE = 42\n")
    assert importlib.import_module(f"{fake_sdk}.plain").VALUE == 42


def test_the_real_sdks_load_lazily_in_a_fresh_interpreter() -> None:
    """The classes the components use are the SDK's own, and untouched services stay unbuilt."""
    script = textwrap.dedent(
        """
        import json, sys
        from inferstack import sdk_imports
        sdk_imports.install()
        import pulumi_aws as aws
        import pulumi_kubernetes as k8s
        from pulumi_aws.ec2.launch_template import LaunchTemplate
        from pulumi_kubernetes.helm.v3.Release import Release
        print(json.dumps({
            "launch_template": aws.ec2.LaunchTemplate is LaunchTemplate,
            "release": k8s.helm.v3.Release is Release,
            "namespace_is_class": isinstance(k8s.core.v1.Namespace, type),
            "metadata_args": k8s.meta.v1.ObjectMetaArgs.__name__,
            "vpn_built": "pulumi_aws.ec2.vpn_connection" in sys.modules,
            "pod_built": "pulumi_kubernetes.core.v1.Pod" in sys.modules,
        }))
        """
    )
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert json.loads(completed.stdout) == {
        "launch_template": True,
        "release": True,
        "namespace_is_class": True,
        "metadata_args": "ObjectMetaArgs",
        "vpn_built": False,
        "pod_built": False,
    }
