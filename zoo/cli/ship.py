"""``zoo ship RUN_DIR --name NAME``: make a trained run a weight set every command can use."""

from __future__ import annotations

from pathlib import Path

import typer

from zoo.cli.common import console, friendly_errors


@friendly_errors
def ship(
    run_dir: Path = typer.Argument(..., help="A folder written by `zoo train`."),
    name: str = typer.Option(..., "--name", help="Weight-set name, e.g. digits-mine."),
    dest: Path | None = typer.Option(None, "--dest",
                                     help="Folder of <task>/ sub-folders; default: the user "
                                          "weights folder ($ZOO_HOME/weights)."),
    force: bool = typer.Option(False, "--force",
                               help="Install new bytes under a taken name (as its next version), "
                                    "or shadow a shipped name."),
    hub_repo: str | None = typer.Option(None, "--hub-repo",
                                        help="Also upload to this Hub model repo (ORG/REPO)."),
) -> None:
    """Install a run as a weight set that `zoo list` and `zoo predict` see (optionally on the Hub).

    The run's ONNX, Keras weights and metadata go to $ZOO_HOME/weights (or --dest); with
    --hub-repo they are also published on the Hugging Face Hub.
    """
    from zoo.hub import push_to_hub
    from zoo.publish import ship as do_ship

    target = do_ship(run_dir, name, dest, force=force)
    console.print(f"shipped {target} and {target.with_suffix('.json').name}", markup=False)
    if hub_repo:
        console.print(f"uploaded to {push_to_hub(target, hub_repo)}", markup=False)


def register(app: typer.Typer) -> None:
    app.command("ship")(ship)
