"""Counted FLOPs of an ONNX model, so that throughput can be stated as achieved GFLOP/s.

Only the operators that do the arithmetic of a CNN or MLP are counted: Conv, ConvTranspose,
Gemm and MatMul (and their quantized forms QLinearConv, ConvInteger, QLinearMatMul,
MatMulInteger), at two FLOPs per multiply-accumulate. Activations, pooling and
normalisation are a few percent of a conv net and are deliberately left out, so the
figure is comparable with a matrix-multiply peak. Shapes come from ONNX shape inference
with the batch axis fixed to 1.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

CONV_OPS = {"Conv", "ConvInteger", "QLinearConv", "ConvTranspose"}
MATMUL_OPS = {"MatMul", "MatMulInteger", "QLinearMatMul", "Gemm", "FusedMatMul"}


def _fixed_batch(model: Any) -> Any:
    """A copy of ``model`` whose graph inputs have batch size 1 (other dims must be known)."""
    import onnx

    model = onnx.ModelProto.FromString(model.SerializeToString())
    for inp in model.graph.input:
        dims = inp.type.tensor_type.shape.dim
        if dims:
            dims[0].ClearField("dim_param")
            dims[0].dim_value = 1
    return model


def _shapes(model: Any) -> dict[str, tuple[int, ...]]:
    """Static shape of every tensor that shape inference resolves."""
    import onnx

    inferred = onnx.shape_inference.infer_shapes(model, data_prop=True)
    shapes: dict[str, tuple[int, ...]] = {}
    graph = inferred.graph
    for value in [*graph.input, *graph.value_info, *graph.output]:
        dims = value.type.tensor_type.shape.dim
        if dims and all(d.HasField("dim_value") for d in dims):
            shapes[value.name] = tuple(int(d.dim_value) for d in dims)
    for init in graph.initializer:
        shapes[init.name] = tuple(int(d) for d in init.dims)
    return shapes


def _attr(node: Any, name: str, default: Any) -> Any:
    import onnx

    for attr in node.attribute:
        if attr.name == name:
            return onnx.helper.get_attribute_value(attr)
    return default


def _conv_macs(node: Any, shapes: dict[str, tuple[int, ...]]) -> int:
    weight_index = 3 if node.op_type == "QLinearConv" else 1
    out = shapes.get(node.output[0])
    weight = shapes.get(node.input[weight_index])
    if out is None or weight is None:
        return 0
    # weight is (C_out, C_in / group, k...) for Conv; every output element needs
    # prod(weight[1:]) multiply-accumulates.
    if node.op_type == "ConvTranspose":
        inp = shapes.get(node.input[0])
        return 0 if inp is None else int(np.prod(inp) * np.prod(weight[1:]))
    return int(np.prod(out) * np.prod(weight[1:]))


def _matmul_macs(node: Any, shapes: dict[str, tuple[int, ...]]) -> int:
    # The output shape fixes M and N (and any batch axes); the first operand gives K.
    a = shapes.get(node.input[0])
    out = shapes.get(node.output[0])
    if a is None or out is None:
        return 0
    k = a[-2] if node.op_type == "Gemm" and _attr(node, "transA", 0) else a[-1]
    return int(np.prod(out) * k)


def count_flops(onnx_path: str | Path) -> dict[str, Any]:
    """FLOPs per sample (2 x MACs of conv and matmul ops) and a per-op-type breakdown."""
    import onnx

    model = _fixed_batch(onnx.load(str(onnx_path)))
    shapes = _shapes(model)
    by_op: dict[str, int] = {}
    unresolved = 0
    for node in model.graph.node:
        if node.op_type in CONV_OPS:
            macs = _conv_macs(node, shapes)
        elif node.op_type in MATMUL_OPS:
            macs = _matmul_macs(node, shapes)
        else:
            continue
        if macs == 0:
            unresolved += 1
        by_op[node.op_type] = by_op.get(node.op_type, 0) + 2 * macs
    return {"flops": sum(by_op.values()), "by_op": by_op, "unresolved_nodes": unresolved}
