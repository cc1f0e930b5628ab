"""Shared CLI plumbing: one-line errors, ``--name value`` task options, the exact command.

Importing this module (every command module does, before anything imports TensorFlow) also
keeps framework chatter off a user's terminal: TensorFlow's log settings, gRPC and the
warnings of astropy and Pillow; every command runs with native log lines filtered out of
its stderr (:mod:`zoo.cli.native_logs`). Errors still come through.
"""

from __future__ import annotations

import difflib
import functools
import logging
import os
import shlex
import signal
import sys
import warnings
from collections.abc import Callable, Iterable
from typing import Any, NoReturn, TypeVar

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # before TensorFlow is ever imported
os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
os.environ.setdefault("ABSL_MIN_LOG_LEVEL", "3")

import typer  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.markup import escape  # noqa: E402

from zoo import readers  # noqa: E402
from zoo.cli.native_logs import native_logs_filtered  # noqa: E402
from zoo.errors import ZooError  # noqa: E402

# Plain loggers only: astropy and absl install their own logger classes on import, so their
# loggers are quietened where they are imported (zoo.io.fits), never created here first.
for _name in ("tensorflow", "h5py", "PIL"):
    logging.getLogger(_name).setLevel(logging.ERROR)
warnings.filterwarnings("ignore", module=r"(astropy|PIL|keras|tensorflow|tf2onnx|absl)\b")

console = Console()
err_console = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])

EXTRA_ARGS = {"allow_extra_args": True, "ignore_unknown_options": True}

#: help of every command's ``--weights``: the forms :func:`zoo.weights.resolve` accepts
WEIGHTS_HELP = ("Name (shipped or in $ZOO_HOME), .onnx file, run folder, or "
                "hf://ORG/REPO@REV/NAME (@REV, /NAME optional).")


class Terminated(BaseException):
    """SIGTERM, raised in the main thread so that every ``finally`` and ``with`` cleans up."""


#: control characters a file name may hold, shown escaped so that an error stays one line
#: and cannot move the cursor or recolour the terminal
_CONTROLS = {c: f"\\x{c:02x}" for c in (*range(0x20), 0x7F)} | {
    0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t"}


def printable(text: str) -> str:
    """``text`` with control characters escaped (``\\n``, ``\\x1b``): one line, no effects."""
    return text.translate(_CONTROLS)


def one_line(text: str) -> str:
    """``text`` ready for a Rich console: :func:`printable`, and markup shown literally."""
    return escape(printable(text))


def fail(message: str, code: int = 1) -> NoReturn:
    """Print ``message`` as one red line, literally (file names may hold ``[red]``), and exit."""
    err_console.print(f"[bold red]error:[/] {one_line(message)}", highlight=False,
                      soft_wrap=True)
    raise typer.Exit(code)


def friendly_errors(fn: F) -> F:
    """Turn every ZooError (and a missing optional dependency) into one red line.

    SIGTERM and the first Ctrl-C stop the command through the same path: temporary files
    are removed, the local engine's reader processes stopped, and the exit code is 143 or 130.
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        previous = _catch_sigterm()
        succeeded = False
        held: list[bytes] = []
        try:
            with native_logs_filtered() as held:
                try:
                    result = _one_line_errors(fn, args, kwargs)
                finally:  # before descriptor 2 is restored: the readers hold it too
                    readers.shutdown()  # no command leaves reader processes behind
            succeeded = True
            return result
        except typer.Exit as exc:
            succeeded = not exc.exit_code
            raise
        finally:
            if not succeeded and held:  # native errors may explain a failure: show them
                sys.stderr.write(b"".join(held).decode("utf-8", "replace"))
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)

    return wrapper  # type: ignore[return-value]


def _one_line_errors(fn: Callable[..., Any], args: Any, kwargs: Any) -> Any:
    try:
        return fn(*args, **kwargs)
    except ZooError as exc:
        fail(str(exc))
    except ModuleNotFoundError as exc:
        fail(f"{exc.name} is not installed; it comes with pip install 'physzoo[train]'")
    except KeyboardInterrupt:
        fail("interrupted", 130)
    except Terminated:
        fail("terminated", 143)


def _catch_sigterm() -> Any:
    def terminate(signum: int, frame: Any) -> None:
        raise Terminated()

    try:
        return signal.signal(signal.SIGTERM, terminate)
    except ValueError:  # not the main thread (an embedding application's worker)
        return None


def did_you_mean(name: str, valid: Iterable[str]) -> str:
    """" (did you mean --top-k?)" for the closest valid option, or ""."""
    close = difflib.get_close_matches(name, list(valid), n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


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


def typed_options(extra: dict[str, str], allowed: dict[str, type], where: str,
                  command_flags: Iterable[str] = ()) -> dict[str, Any]:
    """Check extra options against a task's declared ones and convert their types.

    ``command_flags`` are the command's own options: a typo of one of them (``--topk``) is
    suggested too, not only the task's options.
    """
    out: dict[str, Any] = {}
    for key, value in extra.items():
        if key not in allowed:
            flag = f"--{key.replace('_', '-')}"
            task_flags = [f"--{k.replace('_', '-')}" for k in allowed]
            hint = did_you_mean(flag, [*command_flags, *task_flags])
            valid = ", ".join(task_flags) or "none"
            raise ZooError(f"no such option {flag} for {where}{hint}; task options: {valid}")
        try:
            out[key] = allowed[key](value)
        except ValueError:
            flag = f"--{key.replace('_', '-')}"
            raise ZooError(f"{flag}: {value!r} is not a valid {allowed[key].__name__}") from None
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


def command_flags(command: Callable[..., Any]) -> list[str]:
    """The long option names a Typer command function declares (for did-you-mean hints)."""
    import inspect

    flags: list[str] = []
    for parameter in inspect.signature(command).parameters.values():
        info = parameter.default
        flags.extend(d for d in getattr(info, "param_decls", ()) or () if d.startswith("--"))
    return flags


def one_of(*choices: str) -> Callable[[str], str]:
    """A Typer option callback that accepts only ``choices`` (a usage error names them)."""

    def check(value: str) -> str:
        if value not in choices:
            raise typer.BadParameter(f"{value!r} is not one of {', '.join(choices)}"
                                     + did_you_mean(value, choices))
        return value

    return check
