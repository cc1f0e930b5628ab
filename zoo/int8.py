"""Static int8 quantization of an exported model with onnxruntime's own tools.

``quantize_static`` needs activation ranges, so a :class:`TaskCalibration` reader feeds it a
few hundred real task samples (never random noise, whose ranges differ from real inputs).
Weights are quantized per output channel (signed int8, symmetric) and activations per
tensor (unsigned int8): the u8 x s8 pair is what onnxruntime's VNNI/AVX2 int8 kernels run
fastest. Two graph formats exist; ``QOperator`` (QLinearConv/QLinearMatMul nodes) is the
default because it measured faster than ``QDQ`` on this project's CNNs (docs/benchmarks.md).

The convolutions that read the raw image (one to four input channels) stay in float32 with
the activation and pooling that follow them. Their int8 GEMMs are only 25 deep, so
requantizing every full-resolution output costs more than the integer products save: on
the glitch CNNs that first layer took 40-50% of the all-int8 run time, against 12% in
float32, where onnxruntime's blocked NCHWc kernels run it. Keeping it float doubled the
int8 speed-up (docs/benchmarks.md). For that to pay, onnxruntime's QDQ propagation must
not hoist the first QuantizeLinear above the float max-pool (a uint8 NCHW max-pool is its
slow generic kernel); the model records that in its metadata (:data:`DISABLED_OPTIMIZERS_KEY`)
and :func:`zoo.predictor.make_session` honours it.

:func:`quantize` (``zoo.quantize``, ``zoo export --quantize int8``) quantizes a weight set,
measures the int8 model against fp32 on the held-out test split, refuses one that loses more
than ``max_drop`` of the headline metric, and writes it with its own metadata.

CPUs without VNNI (pre-Cascade Lake x86) may saturate the u8 x s8 products; there
``reduce_range=True`` (7-bit weights) avoids that at a small accuracy cost.
"""

from __future__ import annotations

import datetime
import logging
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from zoo.errors import ExportError
from zoo.predictor import DISABLED_OPTIMIZERS_KEY

FORMATS = ("qoperator", "qdq")
DEFAULT_CALIBRATION_SAMPLES = 300
#: Convolutions with at most this many input channels read the raw image and stay float.
IMAGE_CHANNELS = 4
#: Ops between an image convolution and the next weighted layer that stay float with it.
_FLOAT_FOLLOWERS = {"Relu", "LeakyRelu", "Clip", "MaxPool", "AveragePool", "BatchNormalization", "Add"}


class TaskCalibration:
    """A ``CalibrationDataReader`` over task inputs: ``{graph input: batch}`` until exhausted.

    ``inputs`` maps task input names (or graph input names) to arrays with a leading sample
    axis; ``graph_names`` are the ONNX input names in graph order.
    """

    def __init__(self, inputs: Mapping[str, np.ndarray], graph_names: list[str],
                 batch_size: int = 32):
        names = list(inputs)
        self._arrays = [np.ascontiguousarray(inputs[n], dtype=np.float32) for n in names]
        self._graph_names = graph_names
        self._batch_size = batch_size
        self._batches = self._iterate()

    def _iterate(self) -> Iterator[dict[str, np.ndarray]]:
        n = len(self._arrays[0])
        for start in range(0, n, self._batch_size):
            yield {g: a[start:start + self._batch_size]
                   for g, a in zip(self._graph_names, self._arrays, strict=True)}

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._batches, None)

    def rewind(self) -> None:
        self._batches = self._iterate()


def graph_input_names(onnx_path: str | Path) -> list[str]:
    import onnx

    model = onnx.load(str(onnx_path), load_external_data=False)
    initializers = {i.name for i in model.graph.initializer}
    return [i.name for i in model.graph.input if i.name not in initializers]


def quantize_int8(onnx_path: str | Path, output: str | Path,
                  calibration: Mapping[str, np.ndarray], fmt: str = "qoperator",
                  per_channel: bool = True, reduce_range: bool = False,
                  float_image_layers: bool = True) -> Path:
    """Write a statically int8-quantized copy of ``onnx_path`` to ``output`` (atomically).

    ``calibration`` holds the task inputs (sample axis first) whose activation ranges fix the
    int8 scales; a few hundred samples of the task's own data are enough.
    ``float_image_layers`` keeps the image-reading convolutions in float32 (module docstring).
    """
    from onnxruntime.quantization import (
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    if fmt not in FORMATS:
        raise ExportError(f"unknown quantization format {fmt!r}; valid: {', '.join(FORMATS)}")
    if not calibration or len(next(iter(calibration.values()))) == 0:
        raise ExportError(f"{output}: no calibration samples to fix the int8 ranges")
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    names = graph_input_names(onnx_path)
    with tempfile.TemporaryDirectory(prefix="zoo-quant-") as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        # Shape inference and graph clean-up first, as onnxruntime recommends: quantization
        # decisions need tensor shapes, and folded constants quantize once, not per call.
        quant_pre_process(str(onnx_path), str(prepared), skip_symbolic_shape=True)
        keep_float = image_layer_nodes(prepared) if float_image_layers else []
        staged = Path(tmp) / output.name
        root = logging.getLogger()
        level = root.level
        # quantize_static warns on the root logger about every integer shape tensor it
        # (rightly) leaves alone; that is noise for a user, not a problem with the model.
        root.setLevel(logging.ERROR)
        try:
            quantize_static(
                str(prepared), str(staged), TaskCalibration(calibration, names),
                quant_format=QuantFormat.QOperator if fmt == "qoperator" else QuantFormat.QDQ,
                per_channel=per_channel, reduce_range=reduce_range,
                activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                calibrate_method=CalibrationMethod.MinMax, nodes_to_exclude=keep_float,
                extra_options={"WeightSymmetric": True, "ActivationSymmetric": False},
            )
        except Exception as exc:  # onnxruntime raises assorted types for unsupported graphs
            raise ExportError(f"{output}: int8 quantization failed ({exc})") from None
        finally:
            root.setLevel(level)
        _copy_metadata(Path(onnx_path), staged, fmt, keep_float)
        fd, tmp_out = tempfile.mkstemp(prefix=f".{output.stem}.", suffix=".onnx",
                                       dir=output.parent)
        os.close(fd)
        os.replace(staged, tmp_out)
        os.replace(tmp_out, output)
    return output


def image_layer_nodes(onnx_path: str | Path) -> list[str]:
    """Names of the image-reading convolutions and the float ops up to the next weighted layer.

    A convolution reads the image when its weight has at most :data:`IMAGE_CHANNELS` input
    channels; the activation/pooling chain after it (single consumer each) stays with it, so
    that the float32 kernels run it whole and one QuantizeLinear follows the pooled output.
    """
    import onnx

    graph = onnx.load(str(onnx_path), load_external_data=False).graph
    weights = {i.name: i for i in graph.initializer}
    consumers: dict[str, list[onnx.NodeProto]] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    keep: list[str] = []
    for node in graph.node:
        kernel = weights.get(node.input[1]) if node.op_type == "Conv" else None
        if kernel is None or len(kernel.dims) < 2 or kernel.dims[1] > IMAGE_CHANNELS:
            continue
        keep.append(node.name)
        tail = node
        while len(tail.output) == 1 and len(nexts := consumers.get(tail.output[0], [])) == 1 \
                and nexts[0].op_type in _FLOAT_FOLLOWERS:
            tail = nexts[0]
            keep.append(tail.name)
    return keep


def _copy_metadata(source: Path, target: Path, fmt: str, keep_float: list[str]) -> None:
    """Keep the fp32 model's metadata props (task, classes...) and record the quantization."""
    import onnx

    props = {p.key: p.value for p in onnx.load(str(source)).metadata_props}
    props.update(quantization=f"int8 static, {fmt}, per-channel weights"
                 + (f", {len(keep_float)} image-layer ops kept float32" if keep_float else ""))
    if keep_float:
        props[DISABLED_OPTIMIZERS_KEY] = "QDQPropagationTransformer"
    model = onnx.load(str(target))
    del model.metadata_props[:]
    for key, value in props.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(model, str(target))


def agreement(fp32: list[np.ndarray], int8: list[np.ndarray],
              labels: bool = True) -> dict[str, Any]:
    """How far int8 outputs are from fp32: the largest change of the first output and, for
    classifiers (``labels``), the share of samples given the same label."""
    a, b = np.asarray(fp32[0]), np.asarray(int8[0])
    if not labels:
        return {"max_abs_diff": float(np.max(np.abs(a - b)))}
    if a.ndim == 2 and a.shape[1] > 1:
        same = float(np.mean(a.argmax(1) == b.argmax(1)))
    else:
        same = float(np.mean((a.reshape(-1) >= 0.5) == (b.reshape(-1) >= 0.5)))
    return {"label_agreement": same, "max_abs_diff": float(np.max(np.abs(a - b)))}


def quantize(weights: str | Path, output: str | Path, *,
             calibration: int = DEFAULT_CALIBRATION_SAMPLES, data: str | None = None,
             fmt: str = "qoperator", max_drop: float = 0.5, command: str = "") -> dict[str, Any]:
    """Quantize ``weights`` (an .onnx with its .json) to int8 at ``output``, with metadata.

    Activation ranges come from ``calibration`` training samples of the data the weights
    were measured on (re-created from their metadata, or ``data``). The int8 model is run
    over the held-out test split beside fp32; one whose headline metric drops by more than
    ``max_drop`` (points of a score, percent of an error) is refused and nothing is written.
    Returns the comparison report (metric, fp32, int8, loss, label agreement, ``output``).
    """
    from zoo.predictor import run_split
    from zoo.registry import get_task
    from zoo.throughput import calibration_inputs, compare_int8, loss_text, onnx_runner, temporary_ref
    from zoo.weights import WeightSet, WeightsMeta, sha256_file, with_changes

    source, output = Path(weights), Path(output)
    if fmt not in FORMATS:
        raise ExportError(f"int8 format {fmt!r} is not supported; valid: {', '.join(FORMATS)}")
    meta_file = source.with_suffix(".json")
    if not meta_file.exists():
        raise ExportError(f"{source}: metadata {meta_file.name} missing beside it (it names the "
                          "task and data)")
    fp32 = WeightSet(source, WeightsMeta.from_file(meta_file))
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
            raise ExportError(f"{output}: not written: int8 {report['metric']} "
                              f"{report['int8']:.4f} vs fp32 {report['fp32']:.4f} is "
                              f"{loss_text(report)} (> --max-drop {max_drop:g})")
        metrics = task.evaluate(dataset.test, out8)
        n_calib = len(next(iter(calib.values())))
        kept_float = image_layer_nodes(source)
        meta = with_changes(
            fp32.meta, name=output.stem, sha256=sha256_file(staged), metrics=metrics,
            command=command, file=output.name,
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
    return {**report, "output": str(output)}
