"""Load a package's submodules without running the package's own `__init__` first.

Two SDKs we only need the generated API models of do much more in their top-level
`__init__`: `kserve` loads its Python model server (fastapi, pandas, grpc; ~1.4 s),
`kubernetes` loads its kubeconfig, dynamic-client, watch and stream machinery
(~0.2 s and 300 modules, jsonschema among them). `register_bare_package` puts a
module object for the package in `sys.modules` with the installed package's path,
so `import kubernetes.client` and `import kserve.models` load just those.

Nothing is lost: a submodule is imported on first attribute access, and any other
attribute first looks in `exports_from` (a submodule whose names the real
`__init__` re-exports), then runs the real `__init__` into the same module object.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from typing import Any


def register_bare_package(name: str, exports_from: str | None = None) -> None:
    """Register `name` without running its `__init__` (no-op when it is already imported)."""
    if name in sys.modules:
        return
    spec = importlib.util.find_spec(name)
    if spec is None or spec.submodule_search_locations is None or spec.loader is None:
        raise ImportError(f"the {name} package is not installed; expected it from pyproject.toml's dependencies")
    package = types.ModuleType(name, f"{name}, loaded without its __init__ (inferstack/render/bare_packages.py)")
    package.__path__ = list(spec.submodule_search_locations)
    package.__spec__ = spec
    package.__file__ = spec.origin
    package.__package__ = name
    package.__loader__ = spec.loader
    loader = spec.loader

    def __getattr__(attribute: str) -> Any:  # noqa: N807 - module-level attribute hook (PEP 562)
        if not attribute.startswith("__") and importlib.util.find_spec(f"{name}.{attribute}") is not None:
            return importlib.import_module(f"{name}.{attribute}")
        if exports_from is not None and not attribute.startswith("__"):
            exports = importlib.import_module(f"{name}.{exports_from}")
            if hasattr(exports, attribute):
                return getattr(exports, attribute)
        # Anything else: run the real __init__ now, once, into this module object.
        del package.__dict__["__getattr__"]
        loader.exec_module(package)
        return getattr(package, attribute)

    package.__dict__["__getattr__"] = __getattr__
    sys.modules[name] = package
