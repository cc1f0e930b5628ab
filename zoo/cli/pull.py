"""``zoo pull ORG/REPO[@REVISION][/NAME]``: install weight sets from the Hugging Face Hub."""

from __future__ import annotations

import typer

from zoo.cli.common import console, friendly_errors


@friendly_errors
def pull(
    reference: str = typer.Argument(..., help="ORG/REPO, ORG/REPO@REVISION or ORG/REPO@REVISION/NAME."),
    force: bool = typer.Option(False, "--force",
                               help="Install new bytes under a taken name (as its next version), "
                                    "or shadow a shipped name."),
) -> None:
    """Download through huggingface_hub's cache, check sha256, install into $ZOO_HOME/weights.

    Pulled weight sets are then used by name (`zoo predict TASK -w NAME`), also offline.
    """
    from zoo.hub import pull as do_pull
    from zoo.weights import WeightsMeta

    for onnx in do_pull(reference, force=force):
        meta = WeightsMeta.from_file(onnx.with_suffix(".json"))
        commit = (meta.hub or {}).get("commit", "?")
        console.print(f"pulled {meta.name}.v{meta.version} ({meta.task}) at commit {commit[:12]} "
                      f"-> {onnx}", markup=False)


def register(app: typer.Typer) -> None:
    app.command("pull")(pull)
