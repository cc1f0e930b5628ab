"""onnxruntime inference: one session per weight set, fixed-size batches, streamed files.

Files are decoded by a small thread pool that reads ahead of inference through a bounded
window, so decoding overlaps with ``session.run`` (which releases the GIL) and memory stays
bounded however many files a directory holds.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from zoo.errors import InputError, WeightsError, ZooError
from zoo.task import Sample, Task
from zoo.weights import WeightsRef, resolve

Device = str  # "auto" | "cpu" | "gpu"


@dataclass
class Prediction:
    """Result for one sample: the task's decoded output, or the reason it failed."""

    key: str
    result: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    weights: str = ""

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"key": self.key}
        if self.error is not None:
            data["error"] = self.error
        else:
            data.update(self.result)
            data["weights"] = self.weights
        return data


def providers_for(device: Device) -> list[str]:
    """CUDA then CPU when onnxruntime-gpu is installed and asked for; CPU otherwise."""
    import onnxruntime as ort

    available = ort.get_available_providers()
    if device == "cpu":
        return ["CPUExecutionProvider"]
    if device == "gpu":
        if "CUDAExecutionProvider" not in available:
            raise ZooError(
                "--device gpu needs onnxruntime-gpu with CUDA: pip install 'physzoo[gpu]' "
                f"(available providers: {', '.join(available)})"
            )
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    if "CUDAExecutionProvider" in available:
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    return ["CPUExecutionProvider"]


def make_session(onnx_path: str | Path, device: Device = "auto", threads: int | None = None) -> Any:
    """An InferenceSession with deliberate options: full graph optimisation, all cores."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.intra_op_num_threads = threads or os.cpu_count() or 1
    options.inter_op_num_threads = 1
    try:
        return ort.InferenceSession(str(onnx_path), options, providers=providers_for(device))
    except ZooError:
        raise
    except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph types
        raise WeightsError(f"{onnx_path}: onnxruntime cannot load it ({exc})") from None


class Model:
    """A weight set loaded into onnxruntime: runs arrays and decodes outputs."""

    def __init__(self, task: Task, ref: WeightsRef, device: Device = "auto",
                 threads: int | None = None, verify: bool = True):
        if verify:
            ref.verify()
        self.task, self.ref, self.meta = task, ref, ref.meta
        self.session = make_session(ref.onnx, device, threads)
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.output_names = [o.name for o in self.session.get_outputs()]

    @property
    def providers(self) -> list[str]:
        return self.session.get_providers()

    def run(self, inputs: Mapping[str, np.ndarray]) -> list[np.ndarray]:
        """Run one batch; ``inputs`` may be keyed by task input name or graph input name."""
        feed = {}
        task_names = self.task.input_names()
        for idx, graph_name in enumerate(self.input_names):
            key = graph_name if graph_name in inputs else task_names[idx]
            feed[graph_name] = np.ascontiguousarray(inputs[key], dtype=np.float32)
        return self.session.run(self.output_names, feed)


class Predictor:
    """Classifies (or regresses) samples from files with shipped or trained weights.

    ``weights="default"`` lets the task pick a weight set per sample group (the glitch task
    sends single spectrograms to a single-view model and four-duration samples to its
    multi-view model); any other value pins one weight set for every sample.
    """

    def __init__(self, task: Task, weights: str | Path = "default", arch: str | None = None,
                 device: Device = "auto", threads: int | None = None):
        self.task, self.weights, self.arch = task, weights, arch
        self.device, self.threads = device, threads
        self._models: dict[str, Model] = {}
        # Load the default model eagerly so that bad weights fail before any file is read.
        self.model = self.model_for("single")

    def model_for(self, group: str) -> Model:
        """The loaded model serving samples of ``group`` (loaded once, then reused)."""
        name = self.task.weights_for_group(group) if self.weights == "default" and not self.arch \
            else None
        ref = resolve(self.task.name, name or self.weights, self.arch, self.task.default_weights)
        key = str(ref.onnx)
        if key not in self._models:
            self._models[key] = Model(self.task, ref, self.device, self.threads)
        return self._models[key]

    def predict_arrays(self, inputs: Mapping[str, np.ndarray] | np.ndarray, top_k: int = 1,
                       batch_size: int = 256) -> list[dict[str, Any]]:
        """Decoded results for already-preprocessed arrays (batch axis first)."""
        if isinstance(inputs, np.ndarray):
            inputs = {self.task.input_names()[0]: inputs}
        n = len(next(iter(inputs.values())))
        results: list[dict[str, Any]] = []
        for start in range(0, n, batch_size):
            batch = {k: v[start:start + batch_size] for k, v in inputs.items()}
            results.extend(self.task.decode(self.model.run(batch), top_k))
        return results

    def predict(self, items: Iterable[str | Path] | str | Path, top_k: int = 1,
                batch_size: int = 64, workers: int | None = None,
                **options: Any) -> list[Prediction]:
        """Predict every sample named by ``items``; failures come back with ``error`` set."""
        if isinstance(items, (str, Path)):
            items = [items]
        return list(self.iter_predict(items, top_k, batch_size, workers, **options))

    def iter_predict(self, items: Iterable[str | Path], top_k: int = 1, batch_size: int = 64,
                     workers: int | None = None, **options: Any) -> Iterator[Prediction]:
        """Stream predictions: decode ahead in threads, run full batches, bounded memory."""
        samples = self.task.samples((str(i) for i in items), options)
        workers = workers or min(4, (os.cpu_count() or 1) + 1)
        window = max(2 * batch_size, 4 * workers)
        pending: dict[str, list[tuple[Sample, dict[str, np.ndarray]]]] = {}
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="zoo-read") as pool:
            inflight: deque[tuple[Sample, Future]] = deque()
            for sample in samples:
                inflight.append((sample, pool.submit(self.task.read, sample, options)))
                if len(inflight) >= window:
                    yield from self._collect(inflight.popleft(), pending, batch_size, top_k)
            while inflight:
                yield from self._collect(inflight.popleft(), pending, batch_size, top_k)
        for group in list(pending):
            yield from self._flush(group, pending, top_k)

    def _collect(self, item: tuple[Sample, Future], pending: dict, batch_size: int,
                 top_k: int) -> Iterator[Prediction]:
        sample, future = item
        try:
            arrays = future.result()
        except InputError as exc:
            yield Prediction(sample.key, error=str(exc))
            return
        except ZooError as exc:
            yield Prediction(sample.key, error=f"{sample.key}: {exc}")
            return
        except Exception as exc:  # a reader bug must not kill a million-file run
            yield Prediction(sample.key, error=f"{sample.key}: {type(exc).__name__}: {exc}")
            return
        pending.setdefault(sample.group, []).append((sample, arrays))
        if len(pending[sample.group]) >= batch_size:
            yield from self._flush(sample.group, pending, top_k)

    def _flush(self, group: str, pending: dict, top_k: int) -> Iterator[Prediction]:
        batch = pending.pop(group, [])
        if not batch:
            return
        model = self.model_for(group)
        names = self.task.input_names()
        stacked = {name: np.stack([arrays[name] for _, arrays in batch]) for name in names}
        decoded = self.task.decode(model.run(stacked), top_k)
        for (sample, arrays), result in zip(batch, decoded, strict=True):
            # Keys starting with "_" are notes from the reader (e.g. which input kind it saw).
            notes = {k[1:]: v for k, v in arrays.items() if k.startswith("_")}
            yield Prediction(sample.key, {**result, **notes}, weights=model.meta.name)


def load(task: str, arch: str | None = None, weights: str | Path = "default",
         device: Device = "auto", threads: int | None = None) -> Predictor:
    """An onnxruntime predictor for ``task`` with shipped (or given) weights."""
    from zoo.registry import get_task

    return Predictor(get_task(task), weights, arch, device, threads)
