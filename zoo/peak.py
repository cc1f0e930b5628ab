"""This machine's measured float32 matrix-multiply peak, the yardstick for achieved GFLOP/s.

A model's throughput in images/s says little across machines; as a fraction of what the
same cores reach on a large square float32 matmul it says how close to the hardware the
runtime gets. Both numpy's BLAS and onnxruntime's MatMul kernel (MLAS) are measured and
the better one is the peak, so that the fraction is not flattered by a weak BLAS.
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


def _ort_matmul(size: int, threads: int) -> Callable[[], Any]:
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
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(model.SerializeToString(), options,
                                   providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    feed = {"a": rng.random((size, size), dtype=np.float32),
            "b": rng.random((size, size), dtype=np.float32)}
    return lambda: session.run(None, feed)


def matmul_flops(size: int) -> float:
    return 2.0 * size**3


def peak_runners(size: int = 2048, threads: int | None = None) -> dict[str, Callable[[], Any]]:
    """One call each of numpy's and onnxruntime's ``size`` x ``size`` float32 matmul."""
    import os

    threads = threads or os.cpu_count() or 1
    rng = np.random.default_rng(0)
    a = rng.random((size, size), dtype=np.float32)
    b = rng.random((size, size), dtype=np.float32)
    out = np.empty_like(a)
    return {"numpy": lambda: np.matmul(a, b, out=out), "onnxruntime": _ort_matmul(size, threads)}


def measure_peak(size: int = 2048, threads: int | None = None, repeats: int = 5,
                 min_time: float = 1.0) -> Peak:
    """float32 matmul peak (best call) of ``size`` x ``size`` matrices on ``threads`` cores."""
    import os

    threads = threads or os.cpu_count() or 1
    rates = {name: _best_rate(run, matmul_flops(size), repeats, min_time)
             for name, run in peak_runners(size, threads).items()}
    source = max(rates, key=rates.__getitem__)
    return Peak(rates[source], source, size, threads, rates)
