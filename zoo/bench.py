"""Throughput measurement: the same weights and inputs through several runtimes, one run.

Each runner is timed on identical random inputs of the task's shape after warm-up; the
result rows carry images/s and per-batch latency percentiles so that ratios between
runtimes are measured side by side on the same machine state.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from zoo.task import Task

Runner = Callable[[dict[str, np.ndarray]], Any]


@dataclass
class BenchRow:
    runtime: str
    batch_size: int
    images_per_s: float
    p50_ms: float
    p99_ms: float
    batches: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def synthetic_batch(task: Task, batch_size: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {s.name: rng.random((batch_size, *s.shape), dtype=np.float32) for s in task.inputs}


def time_runner(run: Runner, batch: dict[str, np.ndarray], min_time: float = 1.0,
                min_batches: int = 5, warmup: int = 2) -> tuple[float, np.ndarray]:
    """Run ``run(batch)`` until ``min_time`` seconds and ``min_batches`` passed; latencies in s."""
    for _ in range(warmup):
        run(batch)
    latencies = []
    start = time.perf_counter()
    while len(latencies) < min_batches or time.perf_counter() - start < min_time:
        t0 = time.perf_counter()
        run(batch)
        latencies.append(time.perf_counter() - t0)
    return time.perf_counter() - start, np.asarray(latencies)


def measure(name: str, run: Runner, task: Task, batch_sizes: list[int],
            min_time: float = 1.0) -> list[BenchRow]:
    rows = []
    for bs in batch_sizes:
        batch = synthetic_batch(task, bs)
        total, lat = time_runner(run, batch, min_time)
        rows.append(BenchRow(name, bs, bs * len(lat) / total, float(np.percentile(lat, 50) * 1e3),
                             float(np.percentile(lat, 99) * 1e3), len(lat)))
    return rows


def onnx_runner(onnx_path: str | Path, task: Task, device: str = "auto",
                threads: int | None = None) -> Runner:
    from zoo.predictor import make_session

    session = make_session(onnx_path, device, threads)
    names = [i.name for i in session.get_inputs()]
    task_names = task.input_names()

    def run(batch: dict[str, np.ndarray]) -> Any:
        return session.run(None, {g: batch[t] for g, t in zip(names, task_names, strict=True)})

    return run


def keras_runners(keras_path: str | Path, task: Task) -> dict[str, Runner]:
    """``model.predict`` and the direct call ``model(x, training=False)`` on the same model."""
    import keras

    model = keras.models.load_model(keras_path, compile=False)
    names = task.input_names()

    def args(batch: Mapping[str, np.ndarray]) -> Any:
        xs = [batch[n] for n in names]
        return xs if len(xs) > 1 else xs[0]

    return {
        "keras predict": lambda b: model.predict(args(b), batch_size=len(next(iter(b.values()))), verbose=0),
        "keras call": lambda b: model(args(b), training=False),
    }


def speedups(rows: list[BenchRow], reference: str) -> dict[tuple[str, int], float]:
    """images/s of every row divided by the ``reference`` runtime's at the same batch size."""
    ref = {r.batch_size: r.images_per_s for r in rows if r.runtime == reference}
    return {(r.runtime, r.batch_size): r.images_per_s / ref[r.batch_size]
            for r in rows if r.batch_size in ref}
