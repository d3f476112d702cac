"""Import only the parts of the generated Pulumi SDK packages that a program touches.

Every service package of pulumi_aws (`pulumi_aws.ec2`, `pulumi_aws.s3`, ...) and
every API-version package of pulumi_kubernetes (`pulumi_kubernetes.core.v1`, ...)
has a generated `__init__` that star-imports all of its modules: touching
`aws.ec2.LaunchTemplate` builds the classes of some 300 EC2 resources. Building
those classes (typing annotations, decorators) is most of a small offline plan:
about 1.6 s of SDK imports against 2 s of engine work for 100 models.

`GeneratedPackageFinder` loads such a package without running the star imports.
The package gets a module `__getattr__` (PEP 562) that imports the one module
exporting a name on first use, from an index of each module's `__all__`. Names,
classes and modules are the SDK's own; what changes is only when they are built.
A package whose `__init__` is not of that generated shape, or whose modules do
not all declare `__all__`, is executed as it is.

The finder must be installed before `pulumi_aws` / `pulumi_kubernetes` are first
imported (their top-level packages create the service packages lazily, which
runs the finder). The offline plan installs it (inferstack/mocks.py).
"""

from __future__ import annotations

import ast
import importlib
import importlib.abc
import importlib.machinery
import re
import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from pathlib import Path
from types import ModuleType
from typing import Any

SDK_ROOTS = ("pulumi_aws", "pulumi_kubernetes")
"""Top-level packages whose subpackages may be generated star-import packages."""

_GENERATED_MARKER = "# Export this package's modules as members:"
_STAR_IMPORT = re.compile(r"^from \.(\w+) import \*[ \t]*$", re.MULTILINE)
_SUBMODULE_IMPORT = re.compile(r"^from \. import (\w+)[ \t]*$", re.MULTILINE)
_ALL_START = re.compile(r"^__all__ = \[", re.MULTILINE)
_HEAD_BYTES = 8192


def _exported_names(module_file: Path) -> list[str] | None:
    """The module's `__all__` as written in its source, or None when it has no literal one."""
    with module_file.open("r", encoding="utf-8") as handle:
        text = handle.read(_HEAD_BYTES)
        start = _ALL_START.search(text)
        if start is not None and "]" not in text[start.end() :]:
            text += handle.read()
    start = _ALL_START.search(text)
    if start is None:
        return None
    end = text.find("]", start.end())
    if end < 0:
        return None
    try:
        names = ast.literal_eval(text[start.end() - 1 : end + 1])
    except (SyntaxError, ValueError):
        return None
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        return None
    return names


class _LazyExports:
    """The attribute hook of one lazily loaded generated package."""

    def __init__(self, package: ModuleType, directory: Path, star_modules: Sequence[str], submodules: Sequence[str]) -> None:
        self._package = package
        self._directory = directory
        self._star_modules = list(star_modules)
        self._imported_submodules = frozenset(submodules)
        """`from . import outputs`: bound after the star imports in the generated `__init__`, so they win."""
        self._submodules = frozenset(submodules) | frozenset(star_modules)
        self._index: dict[str, str] | None = None
        self._exports: dict[str, list[str]] | None = None
        self._opaque = False
        self._star_imports_done = False

    def index(self) -> dict[str, str]:
        """Exported name -> module that exports it, for the names whose owner is certain.

        A later star import wins, as in the real `__init__`. A module without a literal
        `__all__` is opaque: its names are only known by importing it, and it may shadow
        any name of the modules before it, so those are left out; the names of the
        modules after the last opaque one are certain.
        """
        if self._index is None:
            index: dict[str, str] = {}
            for module_name in self._star_modules:
                names = _exported_names(self._directory / f"{module_name}.py")
                if names is None:
                    self._opaque = True
                    index.clear()
                    continue
                for name in names:
                    index[name] = module_name
            self._index = index
        return self._index

    def __call__(self, name: str) -> Any:
        package_name = self._package.__name__
        if name.startswith("__"):
            raise AttributeError(f"module {package_name!r} has no attribute {name!r}")
        if name in self._imported_submodules:
            return importlib.import_module(f"{package_name}.{name}")
        module_name = self.index().get(name)
        if module_name is not None:
            module = importlib.import_module(f"{package_name}.{module_name}")
            # Bind everything the module exports, as its star import would have. This also undoes
            # the import system binding the submodule itself when a module is named after its
            # class (pulumi_kubernetes: helm/v3/Release.py exports Release).
            for exported in self._exports_of(module_name):
                setattr(self._package, exported, getattr(module, exported))
            return getattr(self._package, name)
        if self._opaque and not self._star_imports_done:
            # Some module has no __all__: do the generated __init__'s eager imports, once.
            self._star_imports_done = True
            _run_star_imports(self._package, self._star_modules)
            if name in vars(self._package):
                return vars(self._package)[name]
        if name in self._submodules:
            return importlib.import_module(f"{package_name}.{name}")
        raise AttributeError(f"module {package_name!r} has no attribute {name!r}")

    def star_imports_own_name(self, module_name: str) -> bool:
        """Whether the star imports leave `module_name` bound to what that module exports under its own name."""
        if module_name not in self._star_modules:
            return False
        owner = self.index().get(module_name)
        if owner is None:
            return self._opaque  # unknown: an opaque module may export it
        return owner == module_name

    def _exports_of(self, module_name: str) -> list[str]:
        if self._exports is None:
            exports: dict[str, list[str]] = {}
            for exported, owner in self.index().items():
                exports.setdefault(owner, []).append(exported)
            self._exports = exports
        return self._exports.get(module_name, [])

    def names(self) -> list[str]:
        """Every name the package exports (for `dir()`)."""
        return sorted(set(self.index()) | set(vars(self._package)))


def _run_star_imports(package: ModuleType, star_modules: Sequence[str]) -> None:
    """Fallback: do what the generated `__init__` would have done."""
    for module_name in star_modules:
        module = importlib.import_module(f"{package.__name__}.{module_name}")
        exported = getattr(module, "__all__", None)
        names = exported if exported is not None else [name for name in vars(module) if not name.startswith("_")]
        for name in names:
            setattr(package, name, getattr(module, name))


class _GeneratedPackage(ModuleType):
    """A lazily loaded generated package.

    When the import system binds a submodule named after the class it exports (any
    `import pulumi_kubernetes.helm.v3.Release`), the package keeps the class under
    that name, as the generated `__init__`'s star import would have left it.
    """

    def __setattr__(self, name: str, value: Any) -> None:
        exports = self.__dict__.get("__getattr__")
        if (
            isinstance(value, ModuleType)
            and isinstance(exports, _LazyExports)
            and value.__name__ == f"{self.__name__}.{name}"
            and exports.star_imports_own_name(name)
            and hasattr(value, name)
        ):
            value = getattr(value, name)
        super().__setattr__(name, value)


class _GeneratedPackageLoader(importlib.abc.Loader):
    """Executes a generated package `__init__` without its star imports."""

    def __init__(self, original: importlib.abc.Loader, origin: str) -> None:
        self._original = original
        self._origin = origin

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        return None

    def exec_module(self, module: ModuleType) -> None:
        source = Path(self._origin).read_text(encoding="utf-8")
        if _GENERATED_MARKER not in source:
            self._original.exec_module(module)
            return
        star_modules = _STAR_IMPORT.findall(source)
        submodules = _SUBMODULE_IMPORT.findall(source)
        remainder = _SUBMODULE_IMPORT.sub("", _STAR_IMPORT.sub("", source))
        exec(compile(remainder, self._origin, "exec"), module.__dict__)  # noqa: S102 - the SDK's own __init__, minus its star imports
        exports = _LazyExports(module, Path(self._origin).parent, star_modules, submodules)
        module.__dict__["__getattr__"] = exports
        module.__dict__["__dir__"] = exports.names
        module.__class__ = _GeneratedPackage


class GeneratedPackageFinder(importlib.abc.MetaPathFinder):
    """Finds subpackages of the given SDK roots and loads them with `_GeneratedPackageLoader`."""

    def __init__(self, roots: Sequence[str] = SDK_ROOTS) -> None:
        self.roots = frozenset(roots)

    def find_spec(self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None) -> ModuleSpec | None:
        root, _, rest = fullname.partition(".")
        if root not in self.roots or not rest:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None or spec.origin is None or not spec.submodule_search_locations:
            return spec
        spec.loader = _GeneratedPackageLoader(spec.loader, spec.origin)
        return spec


def install(roots: Sequence[str] = SDK_ROOTS) -> None:
    """Put a finder for `roots` first on `sys.meta_path` (idempotent).

    SDK packages imported before this keep their eager `__init__`; that is correct, only slower.
    """
    wanted = frozenset(roots)
    if not any(isinstance(finder, GeneratedPackageFinder) and finder.roots == wanted for finder in sys.meta_path):
        sys.meta_path.insert(0, GeneratedPackageFinder(roots))
