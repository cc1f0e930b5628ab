"""``zoo export model.keras -o model.onnx``: convert with the onnxruntime parity check."""

from __future__ import annotations

from pathlib import Path

import typer
from zoo.cli.common import console, fail, friendly_errors


@friendly_errors
def export(
    model_path: Path = typer.Argument(..., help="A Keras model file (.keras) of the zoo."),
    output: Path = typer.Option(..., "--output", "-o", help="The .onnx file to write."),
    atol: float = typer.Option(1e-4, "--atol", help="Largest allowed |Keras - onnxruntime|."),
    force: bool = typer.Option(False, "--force", help="Replace an existing output file."),
) -> None:
    """Export a Keras model to ONNX; refuses to write a file that does not match Keras."""
    from zoo.export import export_onnx
    from zoo.training import require_keras

    keras = require_keras()
    if not model_path.is_file():
        fail(f"{model_path}: no such file")
    if output.exists() and not force:
        fail(f"{output}: exists; pass --force to replace it")
    try:
        model = keras.models.load_model(model_path, compile=False)
    except Exception as exc:  # Keras raises many types for unreadable files
        fail(f"{model_path}: not a loadable Keras model ({type(exc).__name__}: {exc})")
    meta_file = model_path.with_name("model.json")
    metadata = {"source": model_path.name}
    if meta_file.exists():
        from zoo.weights import WeightsMeta

        meta = WeightsMeta.from_file(meta_file)
        metadata.update(task=meta.task, arch=meta.arch, classes=",".join(meta.classes),
                        preprocessing=meta.preprocessing)
    error = export_onnx(model, output, metadata, atol=atol)
    console.print(f"wrote {output} (max |Keras - onnxruntime| = {error:.2e} <= {atol:g})")


def register(app: typer.Typer) -> None:
    app.command("export")(export)
