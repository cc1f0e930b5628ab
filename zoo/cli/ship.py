"""``zoo ship RUN_DIR --name NAME``: make a trained run a shipped weight set."""

from __future__ import annotations

from pathlib import Path

import typer
from zoo.cli.common import console, friendly_errors


@friendly_errors
def ship(
    run_dir: Path = typer.Argument(..., help="A folder written by `zoo train`."),
    name: str = typer.Option(..., "--name", help="Weight-set name, e.g. digits-cnn."),
    dest: Path = typer.Option(Path("weights"), "--dest", help="The repository's weights/ folder."),
    hub_repo: str | None = typer.Option(None, "--hub-repo", help="Also upload to this Hub repo."),
) -> None:
    """Copy a run's ONNX and metadata into weights/<task>/ (and optionally the Hub)."""
    from zoo.publish import push_to_hub
    from zoo.publish import ship as do_ship

    target = do_ship(run_dir, name, dest)
    console.print(f"shipped {target} and {target.with_suffix('.json').name}")
    if hub_repo:
        console.print(f"uploaded {push_to_hub(target, hub_repo)}")


def register(app: typer.Typer) -> None:
    app.command("ship")(ship)
