"""Throughput measurement: the same weights and inputs through several runtimes, one run.

Runtimes are timed *interleaved*: every round visits every (batch size, runtime) pair for a
short slice, and the float32 matmul peak is re-measured in the same rounds. On a shared
machine other jobs then slow every runtime alike, so ratios and peak fractions stay honest
even when absolute numbers move. images/s is computed from the median batch latency (one
burst of foreign load does not drag it down); p50 and p99 are per-batch latencies.

Achieved GFLOP/s = images/s x the model's counted FLOPs per sample (:mod:`zoo.flops`),
and its fraction of the matmul peak (:mod:`zoo.peak`) says how close to the hardware a
runtime gets. The file path (raw files -> labels) is measured by :func:`time_files`.

:func:`bench` is what ``zoo bench`` runs: a :class:`Workload` (the models one benchmark
compares, all derived from one weight set) timed on arrays (:func:`bench_arrays`) or on raw
files (:func:`bench_files`); it returns the record that ``--json`` writes.
"""

from __future__ import annotations

import datetime
import functools
import itertools
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from zoo.errors import ZooError
from zoo.predictor import run_split
from zoo.registry import get_task
from zoo.task import Sample, Split, Task
from zoo.weights import WeightSet, WeightsMeta, sha256_file

Runner = Callable[[dict[str, np.ndarray]], Any]
PEAK_SIZE = 512


@dataclass
class BenchRow:
    runtime: str
    batch_size: int
    images_per_s: float
    p50_ms: float
    p99_ms: float
    batches: int
    best_images_per_s: float = 0.0
    gflops: float | None = None
    peak_fraction: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class BenchResult:
    """Rows of one interleaved run plus the matmul peak measured alongside them."""

    rows: list[BenchRow]
    peak_gflops: float | None = None
    peak_by_source: dict[str, float] = field(default_factory=dict)
    flops: dict[str, float] = field(default_factory=dict)

    def speedups(self, reference: str) -> dict[tuple[str, int], float]:
        return speedups(self.rows, reference)


def synthetic_batch(task: Task, batch_size: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {s.name: rng.random((batch_size, *s.shape), dtype=np.float32) for s in task.inputs}


def tiled_batch(inputs: Mapping[str, np.ndarray], batch_size: int) -> dict[str, np.ndarray]:
    """``batch_size`` real samples, repeating ``inputs`` when there are fewer."""
    out = {}
    for name, array in inputs.items():
        reps = -(-batch_size // len(array))
        out[name] = np.ascontiguousarray(np.concatenate([array] * reps)[:batch_size],
                                         dtype=np.float32)
    return out


def _time_slice(run: Callable[[], Any], seconds: float, min_calls: int = 2) -> list[float]:
    """Latencies of back-to-back calls for ``seconds``, after one untimed settling call.

    The settling call absorbs what switching runtimes costs (caches and buffers left by the
    previous runtime, its threads still winding down): a real job runs one runtime alone.
    """
    run()
    latencies: list[float] = []
    start = time.perf_counter()
    while len(latencies) < min_calls or time.perf_counter() - start < seconds:
        t0 = time.perf_counter()
        run()
        latencies.append(time.perf_counter() - t0)
    return latencies


def interleaved(runners: Mapping[str, Runner], batches: Mapping[int, dict[str, np.ndarray]],
                min_time: float = 1.0, rounds: int = 3, peak: bool = True,
                peak_size: int = PEAK_SIZE, threads: int | None = None,
                flops: Mapping[str, float] | None = None) -> BenchResult:
    """Time every runner at every batch size, ``rounds`` times round-robin.

    ``min_time`` seconds per (runner, batch size) are split over the rounds; with ``peak``
    the float32 matmul peak is timed in each round too. ``flops`` (per sample, by runner
    name) turns images/s into GFLOP/s.
    """
    from zoo.peak import peak_runners

    latencies: dict[tuple[str, int], list[float]] = {(n, b): [] for n in runners for b in batches}
    for run in runners.values():  # warm-up: first calls allocate and JIT
        for batch in batches.values():
            run(batch)
    peaks = peak_runners(peak_size, threads) if peak else {}
    peak_lat: dict[str, list[float]] = {n: [] for n in peaks}
    for peak_run, _ in peaks.values():
        peak_run()
    slice_s = min_time / rounds
    for _ in range(rounds):
        for bs, batch in batches.items():
            for name, run in runners.items():
                latencies[name, bs] += _time_slice(functools.partial(run, batch), slice_s)
        for name, (peak_run, _) in peaks.items():
            # At least 0.3 s and 5 calls per round: the best call must be a fair one.
            peak_lat[name] += _time_slice(peak_run, max(slice_s, 0.3), min_calls=5)
    by_source = {n: peaks[n][1] / min(v) / 1e9 for n, v in peak_lat.items()}
    peak_gflops = max(by_source.values()) if by_source else None
    rows = []
    for (name, bs), lat in latencies.items():
        arr = np.asarray(lat)
        best = bs / float(arr.min())
        per_sample = (flops or {}).get(name)
        gflops = best * per_sample / 1e9 if per_sample else None
        rows.append(BenchRow(name, bs, bs / float(np.median(arr)),
                             float(np.percentile(arr, 50) * 1e3),
                             float(np.percentile(arr, 99) * 1e3), len(arr), best, gflops,
                             gflops / peak_gflops if gflops and peak_gflops else None))
    rows.sort(key=lambda r: (r.batch_size, list(runners).index(r.runtime)))
    return BenchResult(rows, peak_gflops, by_source, dict(flops or {}))


def speedups(rows: list[BenchRow], reference: str) -> dict[tuple[str, int], float]:
    """images/s of every row divided by the ``reference`` runtime's at the same batch size."""
    ref = {r.batch_size: r.images_per_s for r in rows if r.runtime == reference}
    return {(r.runtime, r.batch_size): r.images_per_s / ref[r.batch_size]
            for r in rows if r.batch_size in ref}


# ---- runtimes ---------------------------------------------------------------------------

def temporary_ref(onnx_path: str | Path, like: WeightsMeta, name: str) -> WeightSet:
    """A WeightSet for a model written by the benchmark itself (export or quantization)."""
    meta = WeightsMeta(**{**asdict(like), "name": name, "sha256": sha256_file(onnx_path)})
    return WeightSet(Path(onnx_path), meta)


def onnx_runner(ref: WeightSet, task: Task, device: str = "auto",
                threads: int | None = None, micro_batch: int | None = None) -> Runner:
    """The exact path ``zoo predict`` takes: :class:`zoo.predictor.Model` ``.run``."""
    from zoo.predictor import Model

    model = Model(task, ref, device, threads, verify=False, micro_batch=micro_batch)
    return model.run


def keras_runners(model: Any, task: Task) -> dict[str, Runner]:
    """``model.predict`` and the direct call ``model(x, training=False)`` on the same model."""
    names = task.input_names()

    def args(batch: Mapping[str, np.ndarray]) -> Any:
        xs = [batch[n] for n in names]
        return xs if len(xs) > 1 else xs[0]

    def predict(batch: dict[str, np.ndarray]) -> Any:
        return model.predict(args(batch), batch_size=len(next(iter(batch.values()))), verbose=0)

    return {"keras predict": predict, "keras call": lambda b: model(args(b), training=False)}


def find_keras(ref: WeightSet) -> Path | None:
    """The Keras file this ONNX was exported from, when it is still on disk.

    Looks beside the ONNX file, then in the run folder named by ``--out`` in the recorded
    training command, accepting it only if that folder's ``model.onnx`` has our sha256.
    """
    beside = ref.onnx.with_suffix(".keras")
    if beside.is_file():
        return beside
    words = ref.meta.command.split()
    for flag in ("--out", "-o"):
        if flag in words[:-1]:
            run_dir = Path(words[words.index(flag) + 1])
            keras_file, onnx_file = run_dir / "model.keras", run_dir / "model.onnx"
            if keras_file.is_file() and onnx_file.is_file() and \
                    sha256_file(onnx_file) == ref.meta.sha256:
                return keras_file
    return None


# ---- data for calibration and accuracy ------------------------------------------------------

def calibration_inputs(task: Task, split: Split, n: int) -> dict[str, np.ndarray]:
    """The first ``n`` samples of the model inputs in ``split`` (not the extra arrays some
    tasks keep beside them, such as jet-quench's observables for its baseline)."""
    return {name: split.x[name][:n] for name in task.input_names()}


def int8_accuracy(task: Task, fp32: Runner, int8: Runner, split: Split) -> dict[str, Any]:
    """The task's headline metric for fp32 and int8 on held-out data, and their agreement."""
    return compare_int8(task, split, run_split(fp32, task, split), run_split(int8, task, split))


def compare_int8(task: Task, split: Split, out32: list[np.ndarray],
                 out8: list[np.ndarray]) -> dict[str, Any]:
    """:func:`int8_accuracy` from outputs already computed.

    ``loss`` is how much worse int8 is (negative: better): percentage points of a score
    (accuracy, ROC AUC), or percent of an error metric (scatter, MAE) that int8 adds.
    """
    from zoo.int8 import agreement

    metric = task.headline_metric
    m32 = float(task.evaluate(split, out32, None)[metric])
    m8 = float(task.evaluate(split, out8, None)[metric])
    if task.headline_higher_is_better:
        loss, unit = 100.0 * (m32 - m8), "pp"
    else:
        loss, unit = 100.0 * (m8 - m32) / abs(m32), "%"
    return {"metric": metric, "n": len(split), "fp32": m32, "int8": m8, "loss": loss,
            "loss_unit": unit, **agreement(out32, out8, labels=task.kind != "regression")}


def loss_text(report: Mapping[str, Any]) -> str:
    """A :func:`compare_int8` loss in words: "0.23 pp worse", "2.10% worse", "no change"."""
    loss, unit = report["loss"], report["loss_unit"]
    if loss == 0:
        return "no change"
    return f"{abs(loss):.2f}{' ' if unit == 'pp' else ''}{unit} {'worse' if loss > 0 else 'better'}"


# ---- the file path ----------------------------------------------------------------------------

@dataclass
class FileRun:
    """Labels and wall time of one pass over files."""

    name: str
    files: int
    seconds: float
    labels: dict[str, str]
    errors: int = 0

    @property
    def files_per_s(self) -> float:
        return self.files / self.seconds if self.seconds else 0.0


def time_files(name: str, predict: Callable[[], Iterable[tuple[str, str | None]]]) -> FileRun:
    """Wall time of ``predict()``, which yields (key, label or None on error) per file."""
    labels: dict[str, str] = {}
    errors = 0
    start = time.perf_counter()
    for key, label in predict():
        if label is None:
            errors += 1
        else:
            labels[key] = label
    return FileRun(name, len(labels) + errors, time.perf_counter() - start, labels, errors)


def one_at_a_time(task: Task, model: Any, read: Callable[[str], dict[str, np.ndarray]],
                  files: Iterable[str]) -> Iterable[tuple[str, str | None]]:
    """The simple pipeline most published code runs: read one file, ``model.predict`` it."""
    names = task.input_names()
    for path in files:
        arrays = read(path)
        xs = [arrays[n][None] for n in names]
        out = model.predict(xs if len(xs) > 1 else xs[0], verbose=0)
        yield path, task.decode([np.asarray(out)], 1)[0]["label"]


def task_reader(task: Task, options: Mapping[str, Any] | None = None
                ) -> Callable[[str], dict[str, np.ndarray]]:
    """``path -> arrays`` through the task's own reader (one file = one sample)."""
    return lambda path: task.read(Sample(path, (path,)), options or {})


# ---- one benchmark: the workload, arrays or files -------------------------------------------

FP32, INT8 = "onnxruntime fp32", "onnxruntime int8"
REFERENCE = "keras predict"


def machine() -> dict[str, Any]:
    """What the figures were measured on, including the load of other jobs."""
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {"platform": platform.platform(), "processor": cpu_name(), "cpus": os.cpu_count(),
            "python": platform.python_version(), "loadavg": load,
            "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
            "command": " ".join(["zoo", *sys.argv[1:]])}


def cpu_name() -> str:
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
        from zoo.weights import resolve

        self.spec = get_task(task)
        self.trained = True
        self.ref: WeightSet | None
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
        from zoo.onnx_export import export_onnx
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
            task=task, arch=arch_name, name=f"{task}-{arch_name}-random",
            classes=list(self.spec.classes), inputs=[], preprocessing=self.spec.preprocessing,
            metrics={}, command="", data_source={}, num_params=int(model.count_params()),
            sha256=sha256_file(path))
        self.timing_ref = temporary_ref(path, like, like.name if self.ref is None
                                        else f"{like.name}-rebuilt")
        self.timing_ref.meta.save(path.with_suffix(".json"))
        self.ref = self.ref or self.timing_ref
        self.keras_model = model
        self.keras_origin = (f"architecture {arch_name!r} rebuilt with random weights, "
                             "onnxruntime timed on its own export (same weights everywhere)")


def bench(task: str, weights: str = "default", *, arch: str | None = None,
          batch_sizes: Sequence[int] = (1, 8, 64, 256), min_time: float = 1.0, rounds: int = 3,
          keras: bool = True, int8: bool = True, int8_format: str = "qoperator",
          calibration: int = 300, device: str = "auto", threads: int | None = None,
          files: str | Path | None = None, limit: int = 400, repeats: int = 1,
          batch_size: int = 64, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Throughput of one weight set through onnxruntime (fp32, int8) and Keras, interleaved;
    with ``files``, raw files -> labels through zoo's streaming path against one file at a
    time. Returns the record (machine, rows or runs, int8 accuracy, notes)."""
    with tempfile.TemporaryDirectory(prefix="zoo-bench-") as tmp:
        work = Workload(task, weights, arch, keras, Path(tmp))
        if files is not None:
            record = bench_files(work, Path(files), limit, batch_size, device, threads,
                                 dict(options or {}), repeats=repeats)
        else:
            record = bench_arrays(work, list(batch_sizes), min_time, rounds, int8, int8_format,
                                  calibration, device, threads, Path(tmp))
    assert work.ref is not None
    return {"task": task, "weights": work.ref.meta.name, "machine": machine(),
            "keras_model": work.keras_origin, **record}


def bench_arrays(work: Workload, sizes: list[int], min_time: float, rounds: int, int8: bool,
                 int8_format: str, calibration: int, device: str, threads: int | None,
                 tmp: Path) -> dict[str, Any]:
    """Batches of the task's held-out inputs (synthetic ones without data) through every
    runtime of ``work``; int8 accuracy on held-out data beside its speed."""
    from zoo.flops import count_flops

    spec = work.spec
    assert work.timing_ref is not None and work.ref is not None
    runners = {FP32: onnx_runner(work.timing_ref, spec, device, threads)}
    notes: list[str] = [f"Keras model: {work.keras_origin}"]
    accuracy = None
    data = None
    if int8:
        from zoo.int8 import quantize_int8

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
    return {"rows": [r.to_dict() for r in result.rows], "flops_per_sample": counted,
            "peak_gflops": result.peak_gflops, "peak_by_source": result.peak_by_source,
            "int8_accuracy": accuracy, "notes": notes, "processor": cpu_name(),
            "speedup_vs_keras_predict": {f"{k[0]}@{k[1]}": v for k, v in
                                         result.speedups(REFERENCE).items()}}


def bench_files(work: Workload, folder: Path, limit: int, batch_size: int, device: str,
                threads: int | None, options: dict[str, Any], reader: Any = None,
                reference_name: str = "", repeats: int = 1) -> dict[str, Any]:
    """Raw files -> labels, zoo's streaming path vs one file at a time, alternated ``repeats``
    times (the best pass of each counts), with a check that both give the same labels."""
    from zoo.io.files import expand_inputs
    from zoo.predictor import Predictor

    if not folder.exists():
        raise ZooError(f"{folder}: no such file or directory")
    if work.keras_model is None:
        raise ZooError("--files compares against Keras one file at a time: install the train "
                       "extra and keep --keras")
    assert work.timing_ref is not None and work.ref is not None
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

    def summary(run: FileRun) -> dict[str, Any]:
        return {"name": run.name, "files": run.files, "seconds": run.seconds,
                "files_per_s": run.files_per_s, "errors": run.errors}

    return {"folder": str(folder), "files": len(paths), "batch_size": batch_size,
            "repeats": repeats, "runs": [summary(r) for r in (*ours_runs, *ref_runs)],
            "best": [summary(ours), summary(ref)],
            "speedup": ours.files_per_s / ref.files_per_s, "identical_labels": same,
            "compared": len(ref.labels)}
