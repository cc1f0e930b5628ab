"""``zoo bench TASK``: onnxruntime fp32/int8 and Keras side by side; ``--files`` for raw files.

Array mode times the same weights and inputs through onnxruntime fp32, onnxruntime int8
(static quantization calibrated on the task's own training samples), Keras ``predict`` and
the Keras direct call, interleaved, with achieved GFLOP/s against this machine's measured
float32 matmul peak and the int8 model's accuracy on held-out data beside its speed.

File mode (``--files DIR``) times raw files -> labels through ``zoo predict``'s streaming
path against the one-file-at-a-time pipeline of published code (the task's
``reference_read`` when it declares one, else its own reader, then Keras ``predict`` per
sample), and checks that both give the same labels.
"""

from __future__ import annotations

import datetime
import itertools
import json
import os
import platform
import sys
import tempfile
from pathlib import Path
from typing import Any

import typer
from rich.table import Table
from zoo.cli.common import console, friendly_errors, parse_batch_sizes

from zoo.io.files import atomic_write_text
from zoo.registry import get_task
from zoo.weights import WeightsMeta

FP32, INT8 = "onnxruntime fp32", "onnxruntime int8"
REFERENCE = "keras predict"


def machine() -> dict[str, Any]:
    """What the figures were measured on, including the load of other jobs."""
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {"platform": platform.platform(), "processor": _cpu_name(), "cpus": os.cpu_count(),
            "python": platform.python_version(), "loadavg": load,
            "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
            "command": " ".join(["zoo", *sys.argv[1:]])}


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


class Workload:
    """The models one benchmark compares, all derived from one weight set."""

    def __init__(self, task: str, weights: str, arch: str | None, keras: bool, tmp: Path):
        from zoo.bench import find_keras, temporary_ref
        from zoo.errors import ZooError
        from zoo.weights import resolve

        self.spec = get_task(task)
        self.trained = True
        try:
            self.ref = resolve(task, weights, arch, self.spec.default_weights)
            self.ref.verify()
        except ZooError:
            if not (arch and weights == "default" and keras):
                raise
            self.ref = None  # an architecture without shipped weights: rebuilt below
            self.trained = False
        self.timing_ref = self.ref
        self.keras_model: Any = None
        self.keras_origin = "Keras not measured (--no-keras)"
        if not keras:
            return
        try:
            import keras as keras_module
        except ImportError:
            if self.ref is None:
                raise
            self.keras_origin = "Keras not installed: onnxruntime only"
            return
        keras_file = find_keras(self.ref) if self.ref is not None else None
        if keras_file is not None:
            self.keras_model = keras_module.models.load_model(keras_file, compile=False)
            self.keras_origin = f"{keras_file} (the model these ONNX weights were exported from)"
            return
        from zoo.export import export_onnx
        from zoo.training import create_model

        # No Keras file of these weights: rebuild the architecture (random weights; speed
        # does not depend on weight values) and time onnxruntime on ITS export, so that all
        # runtimes run identical weights.
        arch_name = self.ref.meta.arch if self.ref is not None else str(arch)
        hparams = self.ref.meta.extra.get("hparams", {}) if self.ref is not None else {}
        model = create_model(task, arch_name, **hparams)  # export_onnx calls it once first
        path = tmp / "rebuilt.onnx"
        export_onnx(model, path, {"task": task, "arch": arch_name})
        like = self.ref.meta if self.ref is not None else WeightsMeta(
            task=task, arch=arch_name, name=f"{task}-{arch_name} (random weights)",
            classes=list(self.spec.classes), inputs=[], preprocessing=self.spec.preprocessing,
            metrics={}, command="", data_source={}, num_params=int(model.count_params()), sha256="")
        self.timing_ref = temporary_ref(path, like, like.name if self.ref is None
                                        else f"{like.name}-rebuilt")
        self.timing_ref.meta.save(path.with_suffix(".json"))
        self.ref = self.ref or self.timing_ref
        self.keras_model = model
        self.keras_origin = (f"architecture {arch_name!r} rebuilt with random weights, "
                             "onnxruntime timed on its own export (same weights everywhere)")


@friendly_errors
def bench(
    ctx: typer.Context,
    task: str = typer.Argument(...),
    weights: str = typer.Option("default", "--weights", "-w"),
    arch: str | None = typer.Option(None, "--arch"),
    batch_sizes: str = typer.Option("1,8,64,256", "--batch-sizes"),
    min_time: float = typer.Option(1.0, "--min-time",
                                   help="Seconds measured per runtime and batch size."),
    rounds: int = typer.Option(3, "--rounds", help="Interleaved rounds over all runtimes."),
    keras: bool = typer.Option(True, "--keras/--no-keras", help="Also time Keras when installed."),
    int8: bool = typer.Option(True, "--int8/--no-int8", help="Also time a static int8 model."),
    int8_format: str = typer.Option("qoperator", "--int8-format", help="qoperator or qdq."),
    calibration: int = typer.Option(300, "--calibration-samples",
                                    help="Training samples that calibrate int8 ranges."),
    device: str = typer.Option("auto", "--device"),
    threads: int | None = typer.Option(None, "--threads", help="onnxruntime intra-op threads."),
    files: Path | None = typer.Option(None, "--files", help="Time raw files -> labels instead."),
    limit: int = typer.Option(400, "--limit", help="At most this many files with --files."),
    repeats: int = typer.Option(1, "--repeats", help="Alternated passes with --files (best counts)."),
    batch_size: int = typer.Option(64, "--batch-size", help="Batch size of the --files path."),
    json_out: Path | None = typer.Option(None, "--json", help="Write the record to this JSON file."),
) -> None:
    """Measure throughput of the same weights through onnxruntime and Keras."""
    from zoo.cli.common import parse_extra, typed_options

    with tempfile.TemporaryDirectory(prefix="zoo-bench-") as tmp:
        work = Workload(task, weights, arch, keras, Path(tmp))
        options = typed_options(parse_extra(ctx.args), work.spec.predict_options,
                                f"zoo bench {task}")
        if files is not None:
            record = bench_files(work, files, limit, batch_size, device, threads, options,
                                 repeats=repeats)
        else:
            record = bench_arrays(work, parse_batch_sizes(batch_sizes), min_time, rounds, int8,
                                  int8_format, calibration, device, threads, Path(tmp))
    record = {"task": task, "weights": work.ref.meta.name, "machine": machine(),
              "keras_model": work.keras_origin, **record}
    if json_out:
        atomic_write_text(json_out, json.dumps(record, indent=2) + "\n")
        console.print(f"wrote {json_out}")


def bench_arrays(work: Workload, sizes: list[int], min_time: float, rounds: int, int8: bool,
                 int8_format: str, calibration: int, device: str, threads: int | None,
                 tmp: Path) -> dict[str, Any]:
    from zoo.bench import (
        calibration_inputs,
        int8_accuracy,
        interleaved,
        keras_runners,
        onnx_runner,
        synthetic_batch,
        temporary_ref,
        tiled_batch,
    )
    from zoo.flops import count_flops

    spec = work.spec
    runners = {FP32: onnx_runner(work.timing_ref, spec, device, threads)}
    notes: list[str] = [f"Keras model: {work.keras_origin}"]
    accuracy = None
    data = None
    if int8:
        from zoo.quantize import quantize_int8

        data = spec.load_data_for(work.ref.meta)
        calib = calibration_inputs(spec, data.train, calibration)
        q_path = quantize_int8(work.timing_ref.onnx, tmp / "int8.onnx", calib, int8_format)
        runners[INT8] = onnx_runner(temporary_ref(q_path, work.timing_ref.meta, "int8"), spec,
                                    device, threads)
        if not work.trained:
            notes.append("random weights: int8 accuracy not measured (needs trained weights)")
        elif work.timing_ref is work.ref:
            trained_int8 = runners[INT8]
        else:  # int8 accuracy is only meaningful for the trained weights
            qt = quantize_int8(work.ref.onnx, tmp / "trained-int8.onnx", calib, int8_format)
            trained_int8 = onnx_runner(temporary_ref(qt, work.ref.meta, "int8"), spec, "cpu")
        if work.trained:
            accuracy = int8_accuracy(spec, onnx_runner(work.ref, spec, "cpu"), trained_int8,
                                     data.test)
            accuracy.update(format=int8_format,
                            calibration_samples=len(next(iter(calib.values()))))
    if work.keras_model is not None:
        runners.update(keras_runners(work.keras_model, spec))
    counted = count_flops(work.timing_ref.onnx)["flops"]
    flops = {name: float(counted) for name in runners}
    inputs = {k: v[:256] for k, v in data.test.x.items()} if data is not None else None
    batches = {bs: tiled_batch(inputs, bs) if inputs else synthetic_batch(spec, bs)
               for bs in sizes}
    result = interleaved(runners, batches, min_time, rounds, threads=threads, flops=flops)
    for row in result.rows:  # int8 ops are not float32 FLOPs: no fraction of the fp32 peak
        if row.runtime == INT8:
            row.peak_fraction = None
    print_table(work, result, accuracy, notes)
    return {"rows": [r.to_dict() for r in result.rows], "flops_per_sample": counted,
            "peak_gflops": result.peak_gflops, "peak_by_source": result.peak_by_source,
            "int8_accuracy": accuracy,
            "speedup_vs_keras_predict": {f"{k[0]}@{k[1]}": v for k, v in
                                         result.speedups(REFERENCE).items()}}


def print_table(work: Workload, result: Any, accuracy: dict[str, Any] | None,
                notes: list[str]) -> None:
    from zoo.bench import PEAK_SIZE, loss_text

    ratio = result.speedups(REFERENCE)
    title = (f"{work.spec.name} / {work.ref.meta.name}: "
             f"{result.flops.get(FP32, 0) / 1e6:,.0f} MFLOP per sample on {_cpu_name()}")
    table = Table(title=title, header_style="bold")
    table.add_column("runtime", no_wrap=True)
    for col in ("batch", "images/s", "p50 ms", "p99 ms", "GFLOP/s", "of peak", "x predict"):
        table.add_column(col, justify="right")
    for r in result.rows:
        x = ratio.get((r.runtime, r.batch_size))
        table.add_row(r.runtime, str(r.batch_size), f"{r.images_per_s:,.0f}", f"{r.p50_ms:.2f}",
                      f"{r.p99_ms:.2f}", f"{r.gflops:.1f}" if r.gflops else "-",
                      f"{r.peak_fraction:.0%}" if r.peak_fraction else "-",
                      _times(x))
    console.print(table)
    if result.peak_gflops:
        sources = ", ".join(f"{k} {v:.0f}" for k, v in result.peak_by_source.items())
        console.print(f"float32 matmul peak ({PEAK_SIZE}x{PEAK_SIZE}, best call, same rounds): "
                      f"{result.peak_gflops:.0f} GFLOP/s ({sources}); GFLOP/s and 'of peak' use "
                      "each runtime's best batch; images/s and x predict its median batch")
    if accuracy:
        console.print(f"int8 on held-out data ({accuracy['n']} samples): {accuracy['metric']} "
                      f"{accuracy['int8']:.4f} vs fp32 {accuracy['fp32']:.4f} "
                      f"({loss_text(accuracy)})" + (
                          f", same label on {accuracy['label_agreement']:.1%}"
                          if "label_agreement" in accuracy else ""))
    for note in notes:
        console.print(note)


def _times(x: float | None) -> str:
    if not x:
        return "-"
    return f"{x:.0f}x" if x >= 100 else f"{x:.1f}x" if x >= 10 else f"{x:.2f}x"


def bench_files(work: Workload, folder: Path, limit: int, batch_size: int, device: str,
                threads: int | None, options: dict[str, Any], reader: Any = None,
                reference_name: str = "", repeats: int = 1) -> dict[str, Any]:
    """Raw files -> labels, zoo's streaming path vs one file at a time, alternated ``repeats``
    times (the best pass of each counts), with a check that both give the same labels."""
    from zoo.bench import one_at_a_time, task_reader, time_files
    from zoo.errors import ZooError
    from zoo.io.files import expand_inputs
    from zoo.predictor import Predictor

    if not folder.exists():
        raise ZooError(f"{folder}: no such file or directory")
    if work.keras_model is None:
        raise ZooError("--files compares against Keras one file at a time: install the train "
                       "extra and keep --keras")
    spec = work.spec
    onnx_path = work.timing_ref.onnx
    # Pin the weights (and their architecture's view) for the task's sample grouping.
    options = {"weights": str(onnx_path), "arch": work.ref.meta.arch, **options}
    predictor = Predictor(spec, onnx_path, device=device, threads=threads)

    def zoo_path() -> Any:
        for pred in predictor.iter_predict(itertools.islice(expand_inputs([folder]), limit),
                                           1, batch_size, **options):
            yield pred.key, pred.result.get("label") if pred.ok else None

    reader = reader or getattr(spec, "reference_read", None) or task_reader(spec, options)
    reference_name = reference_name or getattr(spec, "reference_name", "") or \
        "task reader + keras predict per file"
    paths = [str(p) for p in itertools.islice(expand_inputs([folder]), limit)]
    ours_runs, ref_runs = [], []
    for _ in range(max(1, repeats)):
        ours_runs.append(time_files("zoo predict (streaming onnxruntime)", zoo_path))
        ref_runs.append(time_files(f"reference: {reference_name}",
                                   lambda: one_at_a_time(spec, work.keras_model, reader, paths)))
    ours = min(ours_runs, key=lambda r: r.seconds)
    ref = min(ref_runs, key=lambda r: r.seconds)
    same = sum(ours.labels.get(k) == v for k, v in ref.labels.items())
    table = Table(title=f"{spec.name}: {len(paths)} files from {folder} -> labels",
                  header_style="bold")
    table.add_column("pipeline")
    for col in ("files", "seconds", "files/s", "speed-up"):
        table.add_column(col, justify="right")
    for run in (ours, ref):
        table.add_row(run.name, str(run.files), f"{run.seconds:.2f}", f"{run.files_per_s:,.1f}",
                      f"{run.files_per_s / ref.files_per_s:.2f}x")
    console.print(table)
    console.print(f"identical labels: {same}/{len(ref.labels)}; errors: zoo {ours.errors}, "
                  f"reference {ref.errors}; Keras model: {work.keras_origin}")
    return {"files": len(paths), "batch_size": batch_size, "repeats": repeats,
            "runs": [{"name": r.name, "files": r.files, "seconds": r.seconds,
                      "files_per_s": r.files_per_s, "errors": r.errors}
                     for r in (*ours_runs, *ref_runs)],
            "speedup": ours.files_per_s / ref.files_per_s, "identical_labels": same,
            "compared": len(ref.labels)}


def register(app: typer.Typer) -> None:
    from zoo.cli.common import EXTRA_ARGS

    app.command("bench", context_settings=EXTRA_ARGS)(bench)
