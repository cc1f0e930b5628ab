"""The Typer app. Every module of this package with a ``register(app)`` adds its commands."""

from __future__ import annotations

import importlib
import pkgutil

import typer

app = typer.Typer(
    name="zoo",
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
