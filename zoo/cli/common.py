"""Shared CLI plumbing: one-line errors, ``--name value`` task options, the exact command."""

from __future__ import annotations

import functools
import shlex
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console

from zoo.errors import ZooError

console = Console()
err_console = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])

EXTRA_ARGS = {"allow_extra_args": True, "ignore_unknown_options": True}


def fail(message: str, code: int = 1) -> None:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def friendly_errors(fn: F) -> F:
    """Turn every ZooError (and a missing optional dependency) into one red line."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ZooError as exc:
            fail(str(exc))
        except ModuleNotFoundError as exc:
            fail(f"{exc.name} is not installed; it comes with pip install 'physzoo[train]'")
        except KeyboardInterrupt:
            fail("interrupted", 130)

    return wrapper  # type: ignore[return-value]


def parse_extra(args: list[str]) -> dict[str, str]:
    """``--key value`` / ``--key=value`` pairs left over by Typer -> {key: value}."""
    options: dict[str, str] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        if not arg.startswith("--"):
            raise ZooError(f"unexpected argument {arg!r}")
        key = arg[2:]
        if "=" in key:
            key, value = key.split("=", 1)
        elif i + 1 < len(args) and not args[i + 1].startswith("--"):
            i += 1
            value = args[i]
        else:
            value = "true"
        options[key.replace("-", "_")] = value
        i += 1
    return options


def parse_number(value: str) -> Any:
    """'3' -> 3, '0.5' -> 0.5, anything else stays a string."""
    for cast in (int, float):
        try:
            return cast(value)
        except ValueError:
            pass
    return value


def split_train_args(args: list[str]) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Extra ``zoo train``-style arguments -> (recipe overrides, --hp-* hyper-parameters,
    --data-* data options)."""
    extra = parse_extra(args)
    hparams = {k[3:]: parse_number(v) for k, v in extra.items() if k.startswith("hp_")}
    data_options = {k[5:]: parse_number(v) for k, v in extra.items() if k.startswith("data_")}
    overrides = {k: v for k, v in extra.items() if not k.startswith(("hp_", "data_"))}
    return overrides, hparams, data_options


def typed_options(extra: dict[str, str], allowed: dict[str, type], where: str) -> dict[str, Any]:
    """Check extra options against a task's declared ones and convert their types."""
    out: dict[str, Any] = {}
    for key, value in extra.items():
        if key not in allowed:
            valid = ", ".join(f"--{k.replace('_', '-')}" for k in allowed) or "none"
            raise ZooError(f"unknown option --{key.replace('_', '-')} for {where}; valid: {valid}")
        try:
            out[key] = allowed[key](value)
        except ValueError:
            raise ZooError(f"--{key}: {value!r} is not a valid {allowed[key].__name__}") from None
    return out


def invoked_command() -> str:
    """The command line as typed, normalised to start with ``zoo`` (recorded in metadata)."""
    return shlex.join(["zoo", *sys.argv[1:]])


def parse_batch_sizes(text: str) -> list[int]:
    try:
        sizes = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise ZooError(f"--batch-sizes must be comma-separated integers, got {text!r}") from None
    if not sizes or min(sizes) < 1:
        raise ZooError(f"--batch-sizes must be positive integers, got {text!r}")
    return sizes
