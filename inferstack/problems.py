"""Bad input as data: one `Problem` per thing wrong, formatted as one line each.

Every user-facing error in inferstack goes through here so that it reads
`file: field.path: what is wrong; expected ...` and never as a traceback.
"""

from __future__ import annotations

import difflib
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


def _short_repr(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _model_at(root: type[BaseModel], loc: Sequence[int | str]) -> type[BaseModel] | None:
    """The pydantic model class that owns the field at `loc` (for listing allowed field names)."""
    current: Any = root
    for part in loc:
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            if field is None:
                return None
            current = _inner_model(field.annotation)
        elif current is None:
            return None
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


def problems_from_validation(
    error: ValidationError, file: str, model: type[BaseModel], prefix: Sequence[int | str] = ()
) -> list[Problem]:
    """One Problem per pydantic error, with the field path and what is expected."""
    problems: list[Problem] = []
    for item in error.errors(include_url=False):
        loc = [
            part
            for part in item["loc"]
            if not (isinstance(part, str) and (part.startswith("function-after") or part == "[key]"))
        ]
        path = ".".join(str(part) for part in [*prefix, *loc])
        kind = item["type"]
        if kind == "extra_forbidden":
            owner = _model_at(model, loc[:-1])
            allowed = sorted(owner.model_fields) if owner else []
            hint = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
            suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
            message = f"unknown field{suggestion}; expected one of: {', '.join(allowed)}"
        elif kind == "missing":
            message = "required field is missing"
        elif kind == "value_error":
            message = str(item["msg"]).removeprefix("Value error, ")
        else:
            message = f"{item['msg']} (got {_short_repr(item.get('input'))})"
        problems.append(Problem(file, path, message))
    return problems


def format_problems(problems: Iterable[Problem]) -> str:
    """All problems, one per line."""
    return "\n".join(str(problem) for problem in problems)
