"""Optional dependency sets (pyproject extras) and the one-line message when one is missing.

The plan, the policy pack and `pulumi up` need only the core dependencies (the lean preview
profile, `uv sync --no-dev`). The model gate needs the `gate` extra (onnxruntime, onnx, numpy,
psutil); the registry commands need the `registry` extra (boto3). `uv run` and `uv sync` in a
checkout install both, with the test tools (the default `dev` group).
"""

from __future__ import annotations

from importlib.util import find_spec

EXTRAS: dict[str, tuple[str, ...]] = {
    "gate": ("numpy", "onnxruntime", "onnx", "psutil"),
    "registry": ("boto3", "botocore"),
    "drift": ("numpy", "boto3", "botocore"),
}
"""Each extra and the top-level modules it provides (pyproject.toml's [project.optional-dependencies])."""

PURPOSE = {
    "gate": "the model gate (`inferstack gate`, `publish`)",
    "registry": "the model registry (`publish`, `promote`, `registry`)",
    "drift": "drift detection (`inferstack drift run`)",
}


class MissingExtra(ImportError):
    """An optional dependency set is not installed; `str()` is the one line to show."""

    def __init__(self, extra: str, module: str) -> None:
        self.extra = extra
        self.module = module
        super().__init__(
            f"{PURPOSE[extra]} needs the '{extra}' extra, and {module} is not installed; "
            f"install it with `uv sync --extra {extra}` (or `pip install 'inferstack[{extra}]'`)"
        )


def require_extra(extra: str) -> None:
    """Raise MissingExtra unless every module of `extra` can be imported (found, not imported)."""
    for module in EXTRAS[extra]:
        if find_spec(module) is None:
            raise MissingExtra(extra, module)
