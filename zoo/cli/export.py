"""``zoo export``: Keras -> ONNX with the parity check; ``--quantize int8`` for a static int8 copy.

fp32: ``zoo export run/model.keras -o model.onnx`` refuses to write a file that does not
reproduce Keras within ``--atol``.

int8: ``zoo export zoo/pretrained/glitch/glitch-singleview.onnx --quantize int8 -o
zoo/pretrained/glitch/glitch-singleview-int8.onnx`` (a .keras input is exported to fp32 first)
calibrates activation ranges on ``--calibration-samples`` training samples of the task's
data (re-created from the weights' metadata, or ``--data FILE``), measures the int8 model
against fp32 on the held-out test split and writes it with its own metadata
(sha256, metrics, ``extra.quantized_from`` and ``extra.int8_loss``). It refuses to write a
model whose headline metric loses more than ``--max-drop``: percentage points of a score
(accuracy, ROC AUC), or percent added to an error metric (scatter, MAE).
"""

from __future__ import annotations

from pathlib import Path

import typer

from zoo.cli.common import console, friendly_errors, invoked_command


@friendly_errors
def export(
    model_path: Path = typer.Argument(..., help="A Keras model (.keras) or, with --quantize, "
                                                "an .onnx weight file with its .json."),
    output: Path = typer.Option(..., "--output", "-o", help="The .onnx file to write."),
    atol: float = typer.Option(1e-4, "--atol", help="Largest allowed |Keras - onnxruntime|."),
    force: bool = typer.Option(False, "--force", help="Replace an existing output file."),
    quantize: str | None = typer.Option(None, "--quantize", help="int8: static quantization."),
    calibration: int = typer.Option(300, "--calibration-samples",
                                    help="Training samples that calibrate the int8 ranges."),
    data: str | None = typer.Option(None, "--data", "-d",
                                    help="Data file for calibration and the accuracy check; "
                                         "default: the source recorded in the weights."),
    fmt: str = typer.Option("qoperator", "--format", help="int8 graph format: qoperator or qdq."),
    max_drop: float = typer.Option(0.5, "--max-drop",
                                   help="Refuse an int8 model losing more of the headline "
                                        "metric: pp of a score, % of an error."),
) -> None:
    """Export a Keras model to ONNX; refuses to write a file that does not match Keras."""
    from zoo.onnx_export import export as run_export

    written = run_export(model_path, output, atol=atol, force=force, quantize=quantize,
                         calibration=calibration, data=data, fmt=fmt, max_drop=max_drop,
                         command=invoked_command())
    if quantize is None:
        console.print(f"wrote {output} (max |Keras - onnxruntime| = "
                      f"{written['max_abs_diff']:.2e} <= {atol:g})", markup=False)
        if written["metadata"]:
            console.print(f"wrote {written['metadata']}", markup=False)
        else:
            console.print(f"note: no model.json beside {model_path}, so {output.name} has no "
                          "metadata; `zoo predict` needs a run folder's model.json to use it",
                          markup=False)
        return
    from zoo.throughput import loss_text

    same = written.get("label_agreement")
    console.print(f"wrote {output}: int8 {written['metric']} {written['int8']:.4f} vs fp32 "
                  f"{written['fp32']:.4f} ({loss_text(written)}) on {written['n']} held-out "
                  "samples" + (f"; same label on {same:.1%}" if same is not None else ""),
                  markup=False)


def register(app: typer.Typer) -> None:
    app.command("export")(export)
