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

import datetime
import tempfile
from pathlib import Path
from typing import Any

import typer
from zoo.cli.common import console, fail, friendly_errors, invoked_command


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
    if not model_path.is_file():
        fail(f"{model_path}: no such file")
    if output.exists() and not force:
        fail(f"{output}: exists; pass --force to replace it")
    if quantize is None:
        error = export_fp32(model_path, output, atol)
        console.print(f"wrote {output} (max |Keras - onnxruntime| = {error:.2e} <= {atol:g})")
        metadata = metadata_beside(model_path, output)
        console.print(f"wrote {metadata}" if metadata else
                      f"[yellow]note:[/] no model.json beside {model_path}, so {output.name} has no "
                      "metadata; `zoo predict` needs a run folder's model.json to use it")
        return
    if quantize != "int8":
        fail(f"--quantize: {quantize!r} is not supported; valid: int8")
    with tempfile.TemporaryDirectory(prefix="zoo-export-") as tmp:
        source = model_path
        if model_path.suffix == ".keras":
            source = Path(tmp) / "model.onnx"
            export_fp32(model_path, source, atol)
            meta_file = model_path.with_name("model.json")
            if meta_file.exists():
                from zoo.weights import WeightsMeta, sha256_file

                meta = WeightsMeta.from_file(meta_file)
                meta.sha256 = sha256_file(source)
                meta.save(source.with_suffix(".json"))
        quantize_weights(source, output, calibration, data, fmt, max_drop)


def metadata_beside(model_path: Path, output: Path) -> Path | None:
    """The run's ``model.json`` re-stamped for ``output`` (name, file, sha256) and written
    beside it, so `zoo predict -w output.onnx` can use the file; None without a model.json."""
    meta_file = model_path.with_name("model.json")
    if not meta_file.exists():
        return None
    from zoo.weights import WeightsMeta, sha256_file, with_changes

    target = output.with_suffix(".json")
    meta = WeightsMeta.from_file(meta_file)
    with_changes(meta, name=output.stem, file=output.name, sha256=sha256_file(output)).save(target)
    return target


def export_fp32(model_path: Path, output: Path, atol: float) -> float:
    """The parity-checked Keras -> ONNX export, with the run's metadata as model props."""
    from zoo.export import export_onnx
    from zoo.training import require_keras

    keras = require_keras()
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
    return export_onnx(model, output, metadata, atol=atol)


def quantize_weights(source: Path, output: Path, calibration: int, data: str | None, fmt: str,
                     max_drop: float) -> dict[str, Any]:
    """Quantize ``source`` (an .onnx with its .json) to int8, check it, write model + metadata."""
    from dataclasses import replace

    from zoo.bench import (
        calibration_inputs,
        compare_int8,
        loss_text,
        onnx_runner,
        temporary_ref,
    )
    from zoo.predictor import run_split
    from zoo.quantize import image_layer_nodes, quantize_int8
    from zoo.registry import get_task
    from zoo.weights import WeightsMeta, WeightsRef, sha256_file

    meta_file = source.with_suffix(".json")
    if not meta_file.exists():
        fail(f"{source}: metadata {meta_file.name} missing beside it (it names the task and data)")
    fp32 = WeightsRef(source, WeightsMeta.from_file(meta_file))
    fp32.verify()
    task = get_task(fp32.meta.task)
    dataset = task.load_data_for(fp32.meta, data)
    calib = calibration_inputs(task, dataset.train, calibration)
    output.parent.mkdir(parents=True, exist_ok=True)  # staged beside it: the final rename is atomic
    with tempfile.TemporaryDirectory(prefix=".zoo-int8-", dir=output.parent) as tmp:
        staged = quantize_int8(source, Path(tmp) / output.name, calib, fmt)
        int8 = temporary_ref(staged, fp32.meta, output.stem)
        out8 = run_split(onnx_runner(int8, task, "cpu"), task, dataset.test)
        out32 = run_split(onnx_runner(fp32, task, "cpu"), task, dataset.test)
        report = compare_int8(task, dataset.test, out32, out8)
        if report["loss"] > max_drop:
            fail(f"{output}: not written: int8 {report['metric']} {report['int8']:.4f} vs fp32 "
                 f"{report['fp32']:.4f} is {loss_text(report)} (> --max-drop {max_drop:g})")
        metrics = task.evaluate(dataset.test, out8)
        n_calib = len(next(iter(calib.values())))
        kept_float = image_layer_nodes(source)
        meta = replace(
            fp32.meta, name=output.stem, sha256=sha256_file(staged), metrics=metrics,
            command=invoked_command(), file=output.name,
            created=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            notes=(f"{fp32.meta.name} statically quantized to int8 ({fmt}, per-channel weights, "
                   f"MinMax ranges from {n_calib} training samples"
                   + (", the image-reading convolution kept float32" if kept_float else "")
                   + "); metrics on the same held-out test split. " + fp32.meta.notes).strip(),
            extra={**fp32.meta.extra, "quantized_from": {"name": fp32.meta.name,
                                                          "sha256": fp32.meta.sha256},
                   "int8_loss": {"metric": report["metric"], "value": report["loss"],
                                 "unit": report["loss_unit"]},
                   "quantization": {"format": fmt, "per_channel": True, "activations": "uint8",
                                    "weights": "int8", "calibration_samples": n_calib,
                                    "float32_nodes": kept_float,
                                    **{k: report[k] for k in ("label_agreement", "max_abs_diff")
                                       if k in report}}},
        )
        # The .onnx first: weights are listed by their .json, which must never lack its model.
        staged.replace(output)
        meta.save(output.with_suffix(".json"))
    same = report.get("label_agreement")
    console.print(f"wrote {output}: int8 {report['metric']} {report['int8']:.4f} vs fp32 "
                  f"{report['fp32']:.4f} ({loss_text(report)}) on {report['n']} held-out samples"
                  + (f"; same label on {same:.1%}" if same is not None else ""))
    return report


def register(app: typer.Typer) -> None:
    app.command("export")(export)
