"""Bad input as data: one `Problem` per thing wrong, formatted as one line each.

Every user-facing error in inferstack goes through here so that it reads
`file: field.path: what is wrong; expected ...` and never as a traceback.
"""

from __future__ import annotations

import difflib
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with one input file."""

    file: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.path or '(top level)'}: {self.message}"


class InputError(Exception):
    """Raised when inputs are invalid; carries every problem found, not just the first."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))


def display_path(path: Path | str) -> str:
    """A path relative to the working directory when it is below it, for short messages.

    Lexical (no symlink resolution, no file system calls): it runs once per spec file.
    """
    text = os.fspath(path)
    absolute = os.path.abspath(text)
    cwd = os.getcwd()
    if absolute == cwd:
        return "."
    prefix = cwd if cwd.endswith(os.sep) else cwd + os.sep
    if absolute.startswith(prefix):
        return absolute[len(prefix) :]
    return str(Path(text))


SHORT_REPR_LIMIT = 60
"""Most characters of a value echoed in a message."""


def _short_repr(value: Any, limit: int = SHORT_REPR_LIMIT) -> str:
    """`repr(value)` cut to `limit` characters, built from at most about `limit` characters of it.

    Never renders the whole value: a YAML alias bomb or a 10 MB string costs no more than a short one.
    """
    parts: list[str] = []
    budget = [limit + 1]

    def emit(text: str) -> bool:
        parts.append(text[: budget[0]])
        budget[0] -= len(text)
        return budget[0] > 0

    def walk(item: Any, depth: int) -> bool:
        if depth > 20:
            return emit("...")
        if isinstance(item, dict):
            if not emit("{"):
                return False
            for index, (key, child) in enumerate(item.items()):
                if (index and not emit(", ")) or not walk(key, depth + 1) or not emit(": ") or not walk(child, depth + 1):
                    return False
            return emit("}")
        if isinstance(item, (list, tuple)):
            opening, closing = ("[", "]") if isinstance(item, list) else ("(", ")")
            if not emit(opening):
                return False
            for index, child in enumerate(item):
                if (index and not emit(", ")) or not walk(child, depth + 1):
                    return False
            return emit(closing)
        if isinstance(item, (str, bytes)):
            return emit(repr(item[: budget[0] + 2]) if len(item) > budget[0] + 2 else repr(item))
        return emit(_object_repr(item, budget[0]))

    walk(value, 0)
    text = "".join(parts)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _object_repr(item: Any, budget: int) -> str:
    """repr of anything else (numbers, models, dates...), bounded; a failing repr (a 5,000-digit int) shows the type name."""
    try:
        text = repr(item)
    except Exception:  # noqa: BLE001 - a user object's __repr__ may raise anything
        return f"<{type(item).__name__}>"
    return text[: budget + 1]


def _unwrap(annotation: Any, part: int | str | None) -> Any:
    """The annotation one step below `annotation` at `part` (a list index, a dict key, or None for "any")."""
    origin = getattr(annotation, "__origin__", None)
    args = [arg for arg in getattr(annotation, "__args__", ()) or () if arg is not type(None)]
    if origin is None and args and not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
        # Optional[...] / unions / Annotated: the first alternative that is a container or a model.
        for arg in args:
            inner = _unwrap(arg, part)
            if inner is not None:
                return inner
        return None
    if origin in (list, tuple, set, frozenset) and args:
        return args[0]
    if origin is dict and len(args) == 2:
        return args[1]
    metadata_origin = getattr(annotation, "__metadata__", None)
    if metadata_origin is not None:
        return _unwrap(getattr(annotation, "__origin__", None), part)
    return None


def _strip(annotation: Any) -> Any:
    """Annotated[X, ...] and Optional[X] reduced to X when X is a model; else the annotation."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    inner = getattr(annotation, "__metadata__", None)
    if inner is not None:
        return _strip(getattr(annotation, "__origin__", annotation))
    if getattr(annotation, "__origin__", None) is None:
        for arg in getattr(annotation, "__args__", ()) or ():
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                return arg
    return annotation


def _model_at(root: type[BaseModel], loc: Sequence[int | str]) -> type[BaseModel] | None:
    """The pydantic model class that owns the field at `loc` (for listing allowed field names).

    Follows model fields, list items and dict values, through Optional and Annotated.
    """
    current: Any = root
    for part in loc:
        current = _strip(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            if field is None:
                return None
            current = field.annotation
            continue
        current = _unwrap(current, part)
        if current is None:
            return None
    current = _strip(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _inner_model(annotation: Any) -> Any:
    """The BaseModel inside Optional[...], list[...] or dict[..., ...] annotations, if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def unknown_field_message(name: str, allowed: Sequence[str]) -> str:
    """"unknown field (did you mean ...?); expected one of: ..." — never an empty list."""
    hint = difflib.get_close_matches(name, list(allowed), n=1)
    suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
    if not allowed:
        return f"unknown field{suggestion}; expected no other fields here (see `inferstack schema`)"
    return f"unknown field{suggestion}; expected one of: {', '.join(allowed)}"


def _field_in_message(model: type[BaseModel] | None, message: str) -> str | None:
    """The field a cross-field message opens with (`min_replicas 4 is above ...`, `scaling.metric is ...`), if it names one."""
    if model is None:
        return None
    first = message.split(" ", 1)[0].rstrip(",:;")
    parts = first.split(".")
    current: Any = model
    for part in parts:
        current = _strip(current)
        if not (isinstance(current, type) and issubclass(current, BaseModel)) or part not in current.model_fields:
            return None
        current = current.model_fields[part].annotation
    return first


def _not_finite(value: Any) -> str | None:
    if isinstance(value, float) and not math.isfinite(value):
        return "not a number (NaN)" if math.isnan(value) else f"infinite ({value})"
    return None


def field_path(parts: Sequence[int | str]) -> str:
    """`signature.inputs[0].dtype`: names joined by dots, list indices in brackets."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def problems_from_validation(
    error: ValidationError, file: str, model: type[BaseModel], prefix: Sequence[int | str] = ()
) -> list[Problem]:
    """One Problem per pydantic error, with the field path and what is expected."""
    problems: list[Problem] = []
    for item in error.errors(include_url=False, include_context=False):
        loc = [
            part
            for part in item["loc"]
            if not (isinstance(part, str) and (part.startswith("function-") or part == "[key]"))
        ]
        kind = item["type"]
        if kind == "extra_forbidden":
            owner = _model_at(model, loc[:-1])
            allowed = sorted(owner.model_fields) if owner else []
            message = unknown_field_message(str(loc[-1]), allowed)
        elif kind == "missing":
            message = "required field is missing"
        elif kind == "value_error":
            message = str(item["msg"]).removeprefix("Value error, ")
            named = _field_in_message(_model_at(model, loc), message)
            if named is not None:
                loc = [*loc, *named.split(".")]
        elif (odd := _not_finite(item.get("input"))) is not None:
            message = f"{odd}; expected a finite number ({item['msg'][0].lower()}{item['msg'][1:]})"
        else:
            message = f"{item['msg']} (got {_short_repr(item.get('input'))})"
        problems.append(Problem(file, field_path([*prefix, *loc]), message))
    return problems


def format_problems(problems: Iterable[Problem]) -> str:
    """All problems, one per line."""
    return "\n".join(str(problem) for problem in problems)
