"""This machine's measured float32 matrix-multiply peak, the yardstick for achieved GFLOP/s.

A model's throughput in images/s says little across machines; as a fraction of what the
same cores reach on a large square float32 matmul it says how close to the hardware the
runtime gets. Two sources are measured and the better one is the peak, so that the
fraction is not flattered by a weak BLAS: numpy's multi-threaded BLAS on one matmul, and
onnxruntime's MatMul kernel (MLAS) run as one single-threaded matmul per core at once
(all cores busy, no synchronisation between them, as :class:`zoo.predictor.Model` runs).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np


@dataclass
class Peak:
    """Best float32 matmul rate seen, in GFLOP/s, and what reached it."""

    gflops: float
    source: str
    size: int
    threads: int
    by_source: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _best_rate(run: Callable[[], Any], flops: float, repeats: int, min_time: float) -> float:
    """Highest GFLOP/s over timed calls of ``run`` (best-of filters out other jobs' load)."""
    run()
    best = 0.0
    start = time.perf_counter()
    done = 0
    while done < repeats or time.perf_counter() - start < min_time:
        t0 = time.perf_counter()
        run()
        best = max(best, flops / (time.perf_counter() - t0) / 1e9)
        done += 1
    return best


def _ort_matmul(size: int) -> Callable[[], Any]:
    """One single-threaded onnxruntime session computing a ``size`` x ``size`` matmul."""
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("MatMul", ["a", "b"], ["c"])], "peak",
        [helper.make_tensor_value_info("a", TensorProto.FLOAT, [size, size]),
         helper.make_tensor_value_info("b", TensorProto.FLOAT, [size, size])],
        [helper.make_tensor_value_info("c", TensorProto.FLOAT, [size, size])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = min(model.ir_version, 9)
    onnx.checker.check_model(model)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(model.SerializeToString(), options,
                                   providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    feed = {"a": rng.random((size, size), dtype=np.float32),
            "b": rng.random((size, size), dtype=np.float32)}
    return lambda: session.run(None, feed)


def matmul_flops(size: int) -> float:
    return 2.0 * size**3


def peak_runners(size: int = 512, threads: int | None = None
                 ) -> dict[str, tuple[Callable[[], Any], float]]:
    """(one call, FLOPs of that call) for numpy's and onnxruntime's float32 matmul."""
    import os
    from concurrent.futures import ThreadPoolExecutor

    threads = threads or os.cpu_count() or 1
    rng = np.random.default_rng(0)
    a = rng.random((size, size), dtype=np.float32)
    b = rng.random((size, size), dtype=np.float32)
    out = np.empty_like(a)
    per_core = [_ort_matmul(size) for _ in range(threads)]
    pool = ThreadPoolExecutor(threads, thread_name_prefix="zoo-peak")

    def ort_all_cores() -> None:
        for future in [pool.submit(run) for run in per_core]:
            future.result()

    return {"numpy": (lambda: np.matmul(a, b, out=out), matmul_flops(size)),
            "onnxruntime": (ort_all_cores, threads * matmul_flops(size))}


def measure_peak(size: int = 512, threads: int | None = None, repeats: int = 5,
                 min_time: float = 1.0) -> Peak:
    """float32 matmul peak (best call) of ``size`` x ``size`` matrices on ``threads`` cores."""
    import os

    threads = threads or os.cpu_count() or 1
    rates = {name: _best_rate(run, flops, repeats, min_time)
             for name, (run, flops) in peak_runners(size, threads).items()}
    source = max(rates, key=rates.__getitem__)
    return Peak(rates[source], source, size, threads, rates)
