"""The `inferstack` command line (typer + rich).

Each command is a thin shell: parse options, call the library, print, and map
bad input (`InputError`) to one line per problem on stderr and exit code 2.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from inferstack.constants import ENVIRONMENTS
from inferstack.problems import InputError, Problem

app = typer.Typer(
    name="inferstack",
    help="Compile declarative model specs into GPU inference infrastructure on AWS.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2

DEFAULT_SPECS = Path("model_specs")
DEFAULT_STACKS = Path("stacks")

F = TypeVar("F", bound=Callable[..., Any])


def report_problems(problems: list[Problem]) -> None:
    """Print one line per problem on stderr, without markup interpretation."""
    for problem in problems:
        err_console.print(str(problem), markup=False)


def handles_bad_input(function: F) -> F:
    """Turn InputError into one line per problem and exit code 2."""

    @wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except InputError as error:
            report_problems(error.problems)
            raise typer.Exit(EXIT_BAD_INPUT) from None

    return wrapper  # type: ignore[return-value]


def check_stack_name(stack: str) -> str:
    """Validate --stack against the known environments."""
    if stack not in ENVIRONMENTS:
        raise InputError([Problem("--stack", "stack", f"unknown stack '{stack}'; expected one of: {', '.join(ENVIRONMENTS)}")])
    return stack


@app.command()
@handles_bad_input
def validate(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="Spec files or folders, and stack files; default: model_specs/ and stacks/."),
    ] = None,
) -> None:
    """Validate model specs and stack files. Exit 0 when valid, 2 with one line per problem."""
    from inferstack.validation import validate_paths

    summary = validate_paths(paths or [DEFAULT_SPECS, DEFAULT_STACKS])
    console.print(
        f"[green]valid[/green]: {summary.specs} model spec(s) in {summary.spec_files} file(s), "
        f"{summary.stacks} stack file(s), compiled for {', '.join(summary.environments) or 'no environment'}"
    )


@app.command()
def schema(
    out: Annotated[Path | None, typer.Option("--out", help="Write the JSON Schema to this file instead of stdout.")] = None,
) -> None:
    """Print the JSON Schema of the model spec language (for editors' YAML language servers)."""
    from inferstack.spec.schema import spec_json_schema

    text = json.dumps(spec_json_schema(), indent=2, sort_keys=True) + "\n"
    if out is None:
        typer.echo(text, nl=False)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    console.print(f"wrote {out}")


def main() -> None:
    """Entry point for `python -m inferstack`."""
    app()
