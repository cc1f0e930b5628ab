"""onnxruntime inference: one session per weight set, fixed-size batches, streamed files.

Files are read by reader processes (threads for small runs: :mod:`zoo.readers`) ahead of
inference through a bounded window, so reading overlaps with ``session.run`` and memory
stays bounded however many files a directory holds.
"""

from __future__ import annotations

import itertools
import os
import tempfile
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from zoo.errors import WeightsError, ZooError
from zoo.ood import OOD_FIELDS, OODCalibration, annotate
from zoo.readers import (
    PROCESS_MIN_SAMPLES,
    ProcessReader,
    Read,
    default_workers,
    read_chunk,
    use_processes,
)
from zoo.task import Sample, Split, Task
from zoo.weights import WeightSet, resolve

Device = str  # "auto" | "cpu" | "gpu"


@dataclass
class Prediction:
    """Result for one sample: the task's decoded output, or the reason it failed."""

    key: str
    result: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    weights: str = ""
    #: what the reader noticed (input kind, redshift used, ...): shown by ``--verbose``
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"key": self.key}
        if self.error is not None:
            data["error"] = self.error
        else:
            data.update(self.result)
            data.update(self.notes)
            data["weights"] = self.weights
        return data


#: ONNX metadata key: comma-separated onnxruntime optimizers a session must leave out (an int8
#: model that :mod:`zoo.int8` writes names the one that would slow it down).
DISABLED_OPTIMIZERS_KEY = "zoo.onnxruntime.disabled_optimizers"


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


def make_session(onnx_path: str | Path, device: Device = "auto", threads: int | None = None,
                 *, fp16: bool = False, spinning: bool = True,
                 disabled_optimizers: list[str] | None = None) -> Any:
    """An InferenceSession with deliberate options.

    Full graph optimisation (on x86 this turns convolutions into onnxruntime's blocked NCHWc
    kernels, which run near the machine's matmul peak), one intra-op thread per core and a
    single inter-op thread (these CNNs are chains: there is nothing to run side by side).
    ``spinning=False`` stops idle intra-op threads from busy-waiting between calls, which
    otherwise steals cores from the threads decoding files in the streaming path.
    ``fp16=True`` converts the graph to float16 (inputs and outputs stay float32) for the
    CUDA provider, where tensor cores make it worthwhile; it is ignored on CPU.
    Optimizers the model's metadata names under ``zoo.onnxruntime.disabled_optimizers`` are
    left out (the int8 models ask that of QDQ propagation: :mod:`zoo.int8`). They are
    known only once a session has read the model, so such a model is loaded twice, unless
    the caller passes ``disabled_optimizers`` from a session it already has.
    """
    import onnxruntime as ort

    providers = providers_for(device)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.intra_op_num_threads = threads or os.cpu_count() or 1
    options.inter_op_num_threads = 1
    if not spinning:
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    source: str | bytes = str(onnx_path)
    try:
        if fp16 and providers[0] == "CUDAExecutionProvider":
            source = _float16_model(onnx_path)
        if disabled_optimizers is None:
            session = ort.InferenceSession(source, options, providers=providers)
            disabled_optimizers = _disabled_optimizers(session)
            if not disabled_optimizers:
                return session
        return ort.InferenceSession(source, options, providers=providers,
                                    disabled_optimizers=disabled_optimizers)
    except ZooError:
        raise
    except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph types
        raise WeightsError(f"{onnx_path}: onnxruntime cannot load it ({exc})") from None


def _disabled_optimizers(session: Any) -> list[str]:
    value = session.get_modelmeta().custom_metadata_map.get(DISABLED_OPTIMIZERS_KEY, "")
    return [name.strip() for name in value.split(",") if name.strip()]


def _float16_model(onnx_path: str | Path) -> bytes:
    """The model with float16 weights and arithmetic, float32 at its inputs and outputs."""
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16

    model = convert_float_to_float16(onnx.load(str(onnx_path)), keep_io_types=True)
    return model.SerializeToString()


class Model:
    """A weight set loaded into onnxruntime: runs arrays and decodes outputs.

    On CPU a batch of several samples is split into one shard per core, each run by its own
    single-threaded session on a thread of a small pool (onnxruntime releases the GIL). The
    shards need no synchronisation, so a core taken by another job delays only its own shard,
    where one multi-threaded session waits at every layer for its slowest thread (measured:
    docs/benchmarks.md). A single sample goes to one session using every core. Each shard
    is fed in slices of ``micro_batch`` samples, which keeps conv activations closer to the
    caches; results equal one big call. On CUDA the whole batch goes to the GPU session with
    I/O binding, so that each batch is copied once each way.
    """

    def __init__(self, task: Task, ref: WeightSet, device: Device = "auto",
                 threads: int | None = None, verify: bool = True, *, fp16: bool = False,
                 spinning: bool = True, micro_batch: int | None = None):
        if verify:
            ref.verify()
        ref.check_task(task.name, task.preprocessing)
        self.task, self.ref, self.meta = task, ref, ref.meta
        #: out-of-distribution calibration from the metadata (None: results carry no score)
        try:
            self.ood = OODCalibration.from_meta(ref.meta.ood) if ref.meta.ood else None
        except (KeyError, TypeError, ValueError) as exc:
            raise WeightsError(f"{ref.onnx.with_suffix('.json')}: unreadable ood section "
                               f"({exc})") from None
        self.session = make_session(ref.onnx, device, threads, fp16=fp16, spinning=spinning)
        ref.check_graph([(o.name, o.shape) for o in self.session.get_outputs()])
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.output_names = [o.name for o in self.session.get_outputs()]
        self.micro_batch = micro_batch or default_micro_batch(
            [i.shape[1:] for i in self.session.get_inputs()])
        self._cuda = self.providers[0] == "CUDAExecutionProvider"
        self._cores = 1 if self._cuda else (threads or os.cpu_count() or 1)
        self._replicas: list[Any] = []
        self._pool: ThreadPoolExecutor | None = None

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
        n = len(next(iter(feed.values())))
        if self._cuda:
            return self._run_cuda(feed)
        if n < 2 or self._cores < 2:
            return self._run_sliced(self.session, feed)
        pool, replicas = self._data_parallel()
        bounds = np.linspace(0, n, min(n, len(replicas)) + 1).astype(int)
        futures = [pool.submit(self._run_sliced, session, {k: v[lo:hi] for k, v in feed.items()})
                   for session, lo, hi in zip(replicas, bounds[:-1], bounds[1:], strict=False)]
        parts = [f.result() for f in futures]
        return [np.concatenate(outs) for outs in zip(*parts, strict=True)]

    def decode(self, outputs: list[np.ndarray], top_k: int = 1,
               inputs: Mapping[str, np.ndarray] | None = None) -> list[dict[str, Any] | None]:
        """Results decoded with the weights' own classes; None for a sample whose outputs are
        not finite (never reported as a result). Outputs that break their declared kind
        (probabilities outside [0, 1], softmax rows not summing to one) refuse the weights.
        With the batch's ``inputs`` and an OOD calibration, each result gets ``ood`` and
        ``ood_flag`` (:mod:`zoo.ood`)."""
        finite = self.ref.check_outputs(outputs)
        if finite.all():
            results: list[dict[str, Any] | None] = list(self.task.decode(outputs, top_k, self.meta))
        else:
            decoded = iter(self.task.decode([o[finite] for o in outputs], top_k, self.meta))
            results = [next(decoded) if ok else None for ok in finite]
        if inputs is not None and self.ood is not None:
            try:
                annotate(self.ood, self.task, inputs, outputs, results)
            except ValueError as exc:  # calibrated by another zoo version, or edited
                raise WeightsError(f"{self.ref.onnx.with_suffix('.json')}: {exc}") from None
        return results

    def check_shapes(self, inputs: Mapping[str, np.ndarray], what: str = "") -> None:
        """Raise a one-line ZooError when a batch does not fit the graph's input shapes."""
        task_names = self.task.input_names()
        for idx, graph_input in enumerate(self.session.get_inputs()):
            array = inputs.get(graph_input.name, inputs.get(task_names[idx]))
            if array is None:
                continue
            expected = graph_input.shape[1:]
            got = tuple(array.shape[1:])
            if len(expected) != len(got) or any(
                    isinstance(e, int) and e != g for e, g in zip(expected, got, strict=True)):
                raise ZooError(
                    f"weights {self.meta.name} take {graph_input.name} of shape "
                    f"{tuple(expected)} per sample, but the {what or 'given'} samples are {got}"
                    + (" (choose other weights or view)" if what else ""))

    def _data_parallel(self) -> tuple[ThreadPoolExecutor, list[Any]]:
        """One single-threaded session per core and a pool to drive them (made on first use)."""
        if self._pool is None:
            disabled = _disabled_optimizers(self.session)  # read once, not per replica
            self._replicas = [make_session(self.ref.onnx, "cpu", 1, disabled_optimizers=disabled)
                              for _ in range(self._cores)]
            self._pool = ThreadPoolExecutor(self._cores, thread_name_prefix="zoo-ort")
        return self._pool, self._replicas

    def _run_sliced(self, session: Any, feed: dict[str, np.ndarray]) -> list[np.ndarray]:
        n = len(next(iter(feed.values())))
        step = self.micro_batch
        if n <= step:
            return session.run(self.output_names, feed)
        parts = [session.run(self.output_names, {k: v[i:i + step] for k, v in feed.items()})
                 for i in range(0, n, step)]
        return [np.concatenate(outs) for outs in zip(*parts, strict=True)]

    def _run_cuda(self, feed: dict[str, np.ndarray]) -> list[np.ndarray]:
        binding = self.session.io_binding()
        for name, array in feed.items():
            binding.bind_cpu_input(name, array)
        for name in self.output_names:
            binding.bind_output(name, "cuda")
        self.session.run_with_iobinding(binding)
        return binding.copy_outputs_to_cpu()


#: Input bytes per onnxruntime call on CPU. Measured through ``Model.run`` at batch 64/256
#: (docs/benchmarks.md): slices of 8 samples ran as fast as or faster than bigger ones for
#: every conv net with real images (glitch, jet-quench: 10,273 vs 6,159 images/s for slices of
#: 120, cluster-mass), whose activations then stay in L2; only tiny inputs (digits' 8x8) want
#: big slices, where the ~15 us per call dominates. 64 KiB gives both.
MICRO_BATCH_BYTES = 64 << 10


def default_micro_batch(shapes: list[list[Any]]) -> int:
    """Samples per onnxruntime call on CPU: about 64 KiB of float32 input, within [8, 256].

    ``shapes`` are the graph's per-sample input shapes (the model's own, so that the glitch
    multi-view mosaic counts four times a spectrogram). Glitch spectrograms (95 kB), jet
    images (8.7 kB) and cluster images get the floor of 8; digits (256 B) get 256.
    """
    per_sample = 4 * sum(int(np.prod([d if isinstance(d, int) else 1 for d in shape]))
                         for shape in shapes)
    return int(min(256, max(8, MICRO_BATCH_BYTES // max(per_sample, 1))))


class Predictor:
    """Classifies (or regresses) samples from files with shipped or trained weights.

    ``weights="default"`` lets the task pick a weight set per sample group (the glitch task
    sends single spectrograms to a single-view model and four-duration samples to its
    multi-view model); any other value pins one weight set for every sample.
    """

    def __init__(self, task: Task, weights: str | Path = "default", arch: str | None = None,
                 device: Device = "auto", threads: int | None = None, *, fp16: bool = False,
                 micro_batch: int | None = None):
        self.task, self.weights, self.arch = task, weights, arch
        self.device, self.threads = device, threads
        self.fp16, self.micro_batch = fp16, micro_batch
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
            # No spinning: between batches the cores belong to the file readers.
            self._models[key] = Model(self.task, ref, self.device, self.threads, fp16=self.fp16,
                                      spinning=False, micro_batch=self.micro_batch)
        return self._models[key]

    def __repr__(self) -> str:
        loaded = ", ".join(m.ref.tag for m in self._models.values())
        return (f"Predictor(task={self.task.name!r}, weights={loaded!r}, "
                f"providers={self.model.providers!r})")

    def __call__(self, inputs: Any, top_k: int = 1, **options: Any
                 ) -> Prediction | list[Prediction]:
        """Predict whatever a user holds: a path, a PIL image, a numpy array, or a list of them.

        One item gives one :class:`Prediction`, a list (or a batch array) a list of them.
        Arrays whose trailing shape is the model's input shape are model inputs (already
        preprocessed; a dict maps input names to arrays for multi-input tasks); any other
        array, and every PIL image, is an image read by the task's own file reader, exactly
        as the same picture saved to a PNG file would be.
        """
        if isinstance(inputs, Mapping) or (isinstance(inputs, np.ndarray)
                                           and self._is_model_input(inputs)):
            return self._predict_model_inputs(inputs, top_k)
        single = not isinstance(inputs, (list, tuple))
        items = [inputs] if single else list(inputs)
        if items and all(isinstance(i, np.ndarray) and i.ndim == len(self.task.inputs[0].shape)
                         and self._is_model_input(i) for i in items):
            return self._predict_model_inputs(np.stack(items), top_k)
        preds = self._predict_items(items, top_k, **options)
        return preds[0] if single and len(preds) == 1 else preds

    def _is_model_input(self, array: np.ndarray) -> bool:
        shape = tuple(self.task.inputs[0].shape)
        return tuple(array.shape[-len(shape):]) == shape and array.ndim in (len(shape), len(shape) + 1)

    def _predict_model_inputs(self, inputs: Mapping[str, np.ndarray] | np.ndarray,
                              top_k: int) -> Prediction | list[Prediction]:
        arrays = dict(inputs) if isinstance(inputs, Mapping) else {self.task.input_names()[0]: inputs}
        ndim = len(self.task.inputs[0].shape)
        first = np.asarray(next(iter(arrays.values())))
        single = first.ndim == ndim
        if single:
            arrays = {k: np.asarray(v)[None] for k, v in arrays.items()}
        self.model.check_shapes(arrays)
        tag = self.model.ref.tag
        preds = [Prediction(f"array[{i}]", result, weights=self.model.meta.name) if result is not None
                 else Prediction(f"array[{i}]", error=non_finite(f"array[{i}]", tag))
                 for i, result in enumerate(self._decode_arrays(arrays, top_k))]
        return preds[0] if single else preds

    def _predict_items(self, items: list[Any], top_k: int, **options: Any) -> list[Prediction]:
        """Paths as they are; images and image arrays through a temporary PNG file each."""
        from PIL import Image

        with tempfile.TemporaryDirectory(prefix="zoo-images-") as tmp:
            paths, keys = [], {}
            for i, item in enumerate(items):
                if isinstance(item, (str, Path)):
                    paths.append(str(item))
                    continue
                if isinstance(item, np.ndarray):
                    item = Image.fromarray(item)
                if not isinstance(item, Image.Image):
                    raise ZooError(f"cannot predict a {type(item).__name__}: give paths, PIL "
                                   "images or numpy arrays")
                path = str(Path(tmp) / f"image-{i}.png")
                item.save(path)
                paths.append(path)
                keys[path] = f"image[{i}]"
            preds = self.predict(paths, top_k, **options)
        for pred in preds:
            if pred.key in keys:
                if pred.error:
                    pred.error = pred.error.replace(pred.key, keys[pred.key])
                pred.key = keys[pred.key]
        # Streaming yields failures first; give results back in the order of the inputs.
        order = {key: i for i, key in reversed(list(enumerate(keys.get(p, p) for p in paths)))}
        return sorted(preds, key=lambda pred: order.get(pred.key, len(order)))

    def predict_arrays(self, inputs: Mapping[str, np.ndarray] | np.ndarray, top_k: int = 1,
                       batch_size: int = 256) -> list[dict[str, Any]]:
        """Decoded results for already-preprocessed arrays (batch axis first)."""
        if isinstance(inputs, np.ndarray):
            inputs = {self.task.input_names()[0]: inputs}
        results = self._decode_arrays(inputs, top_k, batch_size)
        for i, result in enumerate(results):
            if result is None:
                raise WeightsError(f"weights {self.model.ref.tag} gave a non-finite output "
                                   f"for sample {i}")
        return results  # type: ignore[return-value]

    def _decode_arrays(self, inputs: Mapping[str, np.ndarray], top_k: int,
                       batch_size: int = 256) -> list[dict[str, Any] | None]:
        n = len(next(iter(inputs.values())))
        results: list[dict[str, Any] | None] = []
        for start in range(0, n, batch_size):
            batch = {k: v[start:start + batch_size] for k, v in inputs.items()}
            results.extend(self.model.decode(self.model.run(batch), top_k, batch))
        return results

    def __getstate__(self) -> None:
        raise TypeError("a Predictor holds onnxruntime sessions and is never pickled; "
                        "engines send zoo.jobs.spec_of(predictor) to their workers")

    def result_keys(self, top_k: int = 1) -> list[str]:
        """The fields of a successful result, known before any file is read (a CSV header
        needs them before the first row, which may be a failure): the task's decoding of one
        all-zero sample through the default weights, then the OOD score's fields, which every
        weight set with an OOD calibration adds (the columns stay, empty, for weights without
        one: another weight set of the same run may have one)."""
        inputs = {i.name: np.zeros([1, *(d if isinstance(d, int) else 1 for d in i.shape[1:])],
                                   np.float32) for i in self.model.session.get_inputs()}
        (result,) = self.model.decode(self.model.run(inputs), top_k)
        return [*(k for k in result or {} if k not in OOD_FIELDS), *OOD_FIELDS]

    def loaded_weights(self) -> dict[str, str]:
        """name -> sha256 of every weight set this predictor has loaded so far."""
        return {m.meta.name: m.meta.sha256 for m in self._models.values()}

    def predict(self, items: Iterable[str | Path] | str | Path, top_k: int = 1,
                batch_size: int = 64, workers: int | None = None, *, engine: str = "local",
                client: Any = None, **options: Any) -> list[Prediction]:
        """Predict every sample named by ``items``; failures come back with ``error`` set.

        ``engine="dask"`` runs jobs of a few hundred samples on a Dask cluster: ``client``
        (a ``distributed.Client``), the current default client, or else a LocalCluster of
        ``workers`` processes (one per core by default). See :mod:`zoo.dask_engine`.
        """
        if isinstance(items, (str, Path)):
            items = [items]
        if engine == "dask":
            from zoo.dask_engine import iter_predict

            return list(iter_predict(self, items, client=client, workers=workers, top_k=top_k,
                                     batch_size=batch_size, **options))
        if engine != "local":
            raise ZooError(f"unknown engine {engine!r}; valid: local, dask")
        return list(self.iter_predict(items, top_k, batch_size, workers, **options))

    def sample_options(self, options: Mapping[str, Any]) -> dict[str, Any]:
        """``options`` plus the pinned weights and architecture, as ``Task.samples`` sees them.

        The task groups samples for the pinned weights (the glitch task tiles four durations
        only for multi-view weights).
        """
        pinned = {"weights": str(self.weights)} if self.weights != "default" else {}
        if self.arch:
            pinned["arch"] = self.arch
        return {**pinned, **options}

    def iter_predict(self, items: Iterable[str | Path], top_k: int = 1, batch_size: int = 64,
                     workers: int | None = None, *, processes: bool | None = None,
                     **options: Any) -> Iterator[Prediction]:
        """Stream predictions for files, folders and globs (see :meth:`iter_samples`)."""
        options = self.sample_options(options)
        samples = self.task.samples((str(i) for i in items), options)
        return self.iter_samples(samples, top_k, batch_size, workers, processes=processes,
                                 **options)

    def iter_samples(self, samples: Iterable[Sample], top_k: int = 1, batch_size: int = 64,
                     workers: int | None = None, *, processes: bool | None = None,
                     **options: Any) -> Iterator[Prediction]:
        """Stream predictions: read ahead in other processes or threads, run full batches,
        bounded memory.

        Runs of :data:`zoo.readers.PROCESS_MIN_SAMPLES` samples or more are read by
        ``workers`` reader processes (default: one per core), smaller ones by ``workers``
        threads (default: cores + 1, at most 4), where starting processes would cost more
        than it saves; ``processes`` forces one or the other (the Dask engine's workers, one
        process per core already, read in threads). Either way, samples go out in chunks (one
        future per chunk, not per file) and at most ``window`` chunks are in flight, so memory
        is bounded by about ``2 * batch_size`` decoded samples plus one pending batch per
        group, whatever the number of files, and reading overlaps ``session.run`` here (which
        releases the GIL). Deciding draws up to that many samples (names, not data) ahead.
        """
        stream = iter(samples)
        head = list(itertools.islice(stream, PROCESS_MIN_SAMPLES)) if processes is None else []
        if processes is None:
            processes = use_processes(self.task, len(head))
        workers = workers or default_workers(processes)
        chunk = max(1, min(16, batch_size // (2 * workers)))
        window = max(2 * workers, (2 * batch_size) // chunk)
        pending: dict[str, list[tuple[Sample, dict[str, np.ndarray]]]] = {}
        with ExitStack() as stack:
            submit: Callable[[list[Sample], Mapping[str, Any]], Future[list[Read]]]
            if processes:
                submit = ProcessReader(self.task, workers).submit
            else:
                threads = stack.enter_context(
                    ThreadPoolExecutor(max_workers=workers, thread_name_prefix="zoo-read"))

                def submit(part: list[Sample], opts: Mapping[str, Any]) -> Future[list[Read]]:
                    return threads.submit(read_chunk, self.task, part, opts)
            inflight: deque[tuple[list[Sample], Future[list[Read]]]] = deque()
            # Futures not yet collected are cancelled however the stream ends (Ctrl-C, an
            # error, a consumer that stops early); a chunk being read finishes on its own.
            stack.callback(lambda: [future.cancel() for _, future in inflight])
            for part in _chunks(itertools.chain(head, stream), chunk):
                inflight.append((part, submit(part, options)))
                if len(inflight) >= window:
                    yield from self._collect(_read_result(*inflight.popleft()), pending,
                                             batch_size, top_k)
            while inflight:
                yield from self._collect(_read_result(*inflight.popleft()), pending, batch_size,
                                         top_k)
        for group in list(pending):
            yield from self._flush(group, pending, top_k)

    def _collect(self, read: list[Read],
                 pending: dict[str, list[tuple[Sample, dict[str, np.ndarray]]]],
                 batch_size: int, top_k: int) -> Iterator[Prediction]:
        for sample, arrays in read:
            if isinstance(arrays, str):
                yield Prediction(sample.key, error=arrays)
                continue
            group = pending.setdefault(sample.group, [])
            group.append((sample, arrays))
            if len(group) >= batch_size:
                yield from self._flush(sample.group, pending, top_k)

    def _flush(self, group: str, pending: dict[str, list[tuple[Sample, dict[str, np.ndarray]]]],
               top_k: int) -> Iterator[Prediction]:
        batch = pending.pop(group, [])
        if not batch:
            return
        model = self.model_for(group)
        names = self.task.input_names()
        stacked = {name: np.stack([arrays[name] for _, arrays in batch]) for name in names}
        model.check_shapes(stacked, group)
        decoded = model.decode(model.run(stacked), top_k, stacked)
        for (sample, arrays), result in zip(batch, decoded, strict=True):
            if result is None:
                yield Prediction(sample.key, error=non_finite(sample.key, model.ref.tag))
                continue
            # Keys starting with "_" are notes from the reader (e.g. which input kind it saw).
            notes = {k[1:]: v for k, v in arrays.items() if k.startswith("_")}
            yield Prediction(sample.key, result, weights=model.meta.name, notes=notes)


def non_finite(key: str, tag: str) -> str:
    """The one-line failure of a sample the weights answered with NaN or inf: it becomes an
    error row, never a number in the output."""
    return f"{key}: weights {tag} gave a non-finite output (NaN or inf) for it"


def _chunks(samples: Iterable[Sample], size: int) -> Iterator[list[Sample]]:
    """Consecutive lists of ``size`` samples, drawn lazily from ``samples``."""
    part: list[Sample] = []
    for sample in samples:
        part.append(sample)
        if len(part) >= size:
            yield part
            part = []
    if part:
        yield part


def _read_result(part: list[Sample], future: Future[list[Read]]) -> list[Read]:
    """A chunk's reads; a reader process that died (killed, out of memory, a crash in a
    decoder) fails the samples of its chunks with one line each, and the run goes on."""
    try:
        return future.result()
    except BrokenProcessPool as exc:
        return [(sample, f"{sample.key}: the process reading it died ({exc})") for sample in part]


def run_split(run: Callable[[dict[str, np.ndarray]], Any], task: Task, split: Split,
              batch_size: int = 256) -> list[np.ndarray]:
    """Outputs of ``run`` (one batch -> list of output arrays) over a whole split."""
    names = task.input_names()
    n = len(split)
    parts = [run({k: split.x[k][i:i + batch_size] for k in names}) for i in range(0, n, batch_size)]
    return [np.concatenate([np.asarray(p[j]) for p in parts]) for j in range(len(parts[0]))]


def load(task: str, arch: str | None = None, weights: str | Path = "default",
         device: Device = "auto", threads: int | None = None, *, fp16: bool = False) -> Predictor:
    """An onnxruntime predictor for ``task`` with shipped (or given) weights.

    ``fp16=True`` runs a float16 copy of the graph on CUDA (no effect on CPU).
    """
    from zoo.registry import get_task

    return Predictor(get_task(task), weights, arch, device, threads, fp16=fp16)
