"""The Typer app. Every module of this package with a ``register(app)`` adds its commands."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from collections.abc import Sequence
from typing import Any

import typer
from typer.core import TyperGroup

# Typer 0.29 vendors click; its exceptions are the ones its parser raises.
try:
    from typer._click import exceptions as click_errors
except ImportError:  # typer < 0.29 uses click itself
    from click import exceptions as click_errors  # type: ignore[no-redef]


class OneLineErrors(TyperGroup):
    """Usage errors (unknown options, values out of range, missing arguments) as one line
    naming the command and the problem, like every other error of zoo, instead of click's
    framed usage box; a bare ``zoo`` or ``zoo COMMAND`` without arguments still shows help."""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True,
             windows_expand_args: bool = True, **extra: Any) -> Any:
        passed_on = (args, prog_name, complete_var, False, windows_expand_args)
        if not standalone_mode:
            return super().main(*passed_on, **extra)
        try:
            result = super().main(*passed_on, **extra)
        except click_errors.NoArgsIsHelpError as exc:
            from typer import rich_utils

            rich_utils.rich_format_error(exc)
            sys.exit(exc.exit_code)
        except click_errors.ClickException as exc:
            ctx = getattr(exc, "ctx", None)  # usage errors carry the command they came from
            where = ctx.command_path if ctx else "zoo"
            typer.echo(f"error: {where}: {exc.format_message()}", err=True)
            sys.exit(exc.exit_code)
        except typer.Abort:
            typer.echo("Aborted.", err=True)
            sys.exit(1)
        sys.exit(result if isinstance(result, int) else 0)


app = typer.Typer(
    name="zoo",
    cls=OneLineErrors,
    help="Trained models for scientific image tasks: predict, train, evaluate, export, benchmark.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _register_commands() -> None:
    package = importlib.import_module(__package__)
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        if info.name in ("app", "common"):
            continue
        module = importlib.import_module(f"{__package__}.{info.name}")
        if hasattr(module, "register"):
            module.register(app)


def _version(value: bool) -> None:
    if value:
        from zoo import __version__

        typer.echo(f"zoo {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    """Trained models for scientific image tasks: predict, train, evaluate, export, benchmark."""


_register_commands()


def main() -> None:
    app()


if __name__ == "__main__":  # python -m zoo.cli.app, where the zoo script is not on PATH
    main()
