"""Per-operator facts for the ONNX front end: MAC formulas, operator kinds, weight axes.

Pure Python on shapes and attributes (no onnx import), used by
:mod:`moosplit.profilers.onnx_model`. Shapes are whole-batch tensor shapes (batch first);
the caller turns totals into per-sample values.

MAC conventions (multiply-accumulates, biases not counted):

- Conv: output elements x (input channels / group) x kernel elements (dilation changes the
  output size, not the work per output); ConvTranspose: input elements x (output channels /
  group) x kernel elements; Gemm and MatMul: output elements x the reduced dimension K;
  LSTM/GRU/RNN: steps x batch x directions x (gates x hidden x (input + hidden) + one per
  gate element); Einsum: the product of every index's size.
- BatchNormalization (inference, an affine map): 1 per output element; Instance/Layer/Group
  normalisation: 4 (mean, variance, normalise, scale-and-shift), the convention of the
  PyTorch front end too; MeanVarianceNormalization, which has no scale and shift: 3;
  LpNormalization: 2; LRN: ``size + 1``.
- Elementwise arithmetic, comparisons and activation functions: 1 per output element;
  variadic Sum/Max/Min/Mean: one per extra input per output element.
- MaxPool/AveragePool/LpPool: kernel elements per output element; global pools, reductions,
  ArgMax/ArgMin, TopK, CumSum: 1 per input element; Softmax/LogSoftmax: 3 per element
  (exponential, sum, division).
- Resize/Upsample: ``nearest`` is a gather (0); ``linear`` 2**k and ``cubic`` 4**k per output
  element, k being the number of resized axes.
- :data:`ZERO_MAC_OPS` (reshapes, transposes, copies, slicing, casts, shape queries, ...):
  0 by definition, since they only move data.

Any other operator (including every operator outside the default ONNX domain) has no
formula: :func:`node_macs` returns None and the caller falls back to one MAC per output
element with a note.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

Shape = tuple[int, ...]

ZERO_MAC_OPS: frozenset[str] = frozenset({
    "Cast", "CastLike", "Compress", "Concat", "ConcatFromSequence", "ConstantOfShape",
    "DepthToSpace", "Dropout", "Expand", "EyeLike", "Flatten", "Gather", "GatherElements",
    "GatherND", "Identity", "NonZero", "OneHot", "Optional", "OptionalGetElement",
    "OptionalHasElement", "Pad", "Range", "Reshape", "ReverseSequence", "Scatter",
    "ScatterElements", "ScatterND", "SequenceAt", "SequenceConstruct", "SequenceEmpty",
    "SequenceErase", "SequenceInsert", "SequenceLength", "Shape", "Size", "Slice",
    "SpaceToDepth", "Split", "SplitToSequence", "Squeeze", "Tile", "Transpose", "Trilu",
    "Unsqueeze",
})
"""Operators that only move, copy or describe data: 0 MACs by definition."""

ELEMENTWISE_OPS: frozenset[str] = frozenset({
    # arithmetic and comparisons (binary, broadcasting)
    "Add", "And", "BitShift", "BitwiseAnd", "BitwiseOr", "BitwiseXor", "Div", "Equal",
    "Greater", "GreaterOrEqual", "Less", "LessOrEqual", "Mod", "Mul", "Or", "Pow", "PRelu",
    "Sub", "Where", "Xor",
    # unary math and activation functions
    "Abs", "Acos", "Acosh", "Asin", "Asinh", "Atan", "Atanh", "BitwiseNot", "Ceil", "Celu",
    "Clip", "Cos", "Cosh", "DequantizeLinear", "Elu", "Erf", "Exp", "Floor", "Gelu",
    "HardSigmoid", "HardSwish", "IsInf", "IsNaN", "LeakyRelu", "Log", "Mish", "Neg", "Not",
    "QuantizeLinear", "Reciprocal", "Relu", "Round", "Selu", "Shrink", "Sigmoid", "Sign",
    "Sin", "Sinh", "Softplus", "Softsign", "Sqrt", "Swish", "Tan", "Tanh", "ThresholdedRelu",
})
"""Operators costing one MAC per output element."""

VARIADIC_OPS = frozenset({"Max", "Mean", "Min", "Sum"})
WINDOW_POOLS = frozenset({"AveragePool", "LpPool", "MaxPool"})
GLOBAL_POOLS = frozenset({"GlobalAveragePool", "GlobalLpPool", "GlobalMaxPool"})
PER_INPUT_OPS = frozenset({
    "ArgMax", "ArgMin", "CumSum", "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp",
    "ReduceMax", "ReduceMean", "ReduceMin", "ReduceProd", "ReduceSum", "ReduceSumSquare", "TopK",
}) | GLOBAL_POOLS
NORMALISATIONS = {"GroupNormalization": 4, "InstanceNormalization": 4, "LayerNormalization": 4,
                  "MeanVarianceNormalization": 3, "LpNormalization": 2, "BatchNormalization": 1,
                  "Softmax": 3, "LogSoftmax": 3, "Hardmax": 1}
RECURRENT_GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}

SHAPE_INPUTS: dict[str, frozenset[int]] = {op: frozenset(indices) for op, indices in {
    "AffineGrid": (1,), "CenterCropPad": (1, 2), "Clip": (1, 2), "Col2Im": (1, 2, 3),
    "ConstantOfShape": (0,), "CumSum": (1,), "Dropout": (1, 2), "Expand": (1,),
    "OneHot": (1, 2), "Pad": (1, 2, 3), "Range": (0, 1, 2), "ReduceL1": (1,),
    "ReduceL2": (1,), "ReduceLogSum": (1,), "ReduceLogSumExp": (1,), "ReduceMax": (1,),
    "ReduceMean": (1,), "ReduceMin": (1,), "ReduceProd": (1,), "ReduceSum": (1,),
    "ReduceSumSquare": (1,), "Reshape": (1,), "Resize": (1, 2, 3), "Slice": (1, 2, 3, 4),
    "Split": (1,), "Squeeze": (1,), "TopK": (1,), "Tile": (1,), "Trilu": (1,),
    "Unsqueeze": (1,), "Upsample": (1,),
}.items()}
"""Input positions of shape-like operands (shapes, sizes, scales, pads, axes, bounds, counts
and fill values): read as arguments, never as weights, whatever their type and size."""

_KINDS = {
    "Conv": "conv", "ConvInteger": "conv", "QLinearConv": "conv",
    "ConvTranspose": "convtranspose", "Gemm": "linear",
    "BatchNormalization": "batchnorm", "InstanceNormalization": "instancenorm",
    "LayerNormalization": "layernorm", "GroupNormalization": "groupnorm",
} | {op: "pool" for op in WINDOW_POOLS | GLOBAL_POOLS}

DEFAULT_DOMAINS = ("", "ai.onnx")


def _prod(shape: Sequence[int]) -> int:
    return int(math.prod(shape))


def _attr_str(value: object, default: str) -> str:
    if value is None:
        return default
    return value.decode() if isinstance(value, bytes) else str(value)


def node_macs(
    op_type: str,
    attrs: Mapping[str, object],
    in_shapes: Sequence[Shape | None],
    out_shapes: Sequence[Shape | None],
) -> int | None:
    """MACs of one node for the whole batch, or None when the operator has no formula.

    `in_shapes` and `out_shapes` follow the node's inputs and outputs (None: absent).

    Example:
        >>> node_macs("Conv", {"group": 1}, [(1, 3, 8, 8), (16, 3, 3, 3)], [(1, 16, 8, 8)])
        27648
        >>> node_macs("Reshape", {}, [(1, 16), (2,)], [(1, 4, 4)])
        0
        >>> node_macs("MyCustomOp", {}, [(1, 4)], [(1, 4)]) is None
        True
    """
    out = out_shapes[0] if out_shapes else None
    first = in_shapes[0] if in_shapes else None
    if op_type in ZERO_MAC_OPS:
        return 0
    if op_type in ELEMENTWISE_OPS and out is not None:
        return _prod(out)
    if op_type in VARIADIC_OPS and out is not None:
        return max(len(in_shapes) - 1, 1) * _prod(out)
    if op_type in PER_INPUT_OPS and first is not None:
        return _prod(first)
    if op_type in NORMALISATIONS and out is not None:
        return NORMALISATIONS[op_type] * _prod(out)
    formula = _FORMULAS.get(op_type)
    if formula is None:
        return None
    try:
        return formula(attrs, in_shapes, out_shapes)
    except (TypeError, IndexError, ValueError, ZeroDivisionError):
        return None  # shapes missing or inconsistent: no formula applies


def _conv(attrs, ins, outs, weight_index: int = 1) -> int:
    return _prod(outs[0]) * _prod(ins[weight_index][1:])


def _conv_transpose(attrs, ins, outs) -> int:
    return _prod(ins[0]) * _prod(ins[1][1:])


def _gemm(attrs, ins, outs) -> int:
    a = ins[0]
    k = a[0] if attrs.get("transA", 0) else a[1]
    return _prod(outs[0]) * int(k)


def _matmul(attrs, ins, outs) -> int:
    return _prod(outs[0]) * int(ins[0][-1])


def _window_pool(attrs, ins, outs) -> int:
    return _prod(outs[0]) * _prod(attrs["kernel_shape"])


def _lrn(attrs, ins, outs) -> int:
    return _prod(outs[0]) * (int(attrs["size"]) + 1)


def _resize(attrs, ins, outs) -> int:
    mode = _attr_str(attrs.get("mode"), "nearest")
    if mode == "nearest":
        return 0
    resized = sum(1 for a, b in zip(ins[0], outs[0], strict=True) if a != b)
    per_output = {"linear": 2, "bilinear": 2, "cubic": 4}[mode] ** resized
    return _prod(outs[0]) * per_output


def _recurrent(gates: int):
    def formula(attrs, ins, outs) -> int:
        x, w = ins[0], ins[1]
        steps, batch = (x[1], x[0]) if attrs.get("layout", 0) else (x[0], x[1])
        hidden = int(attrs.get("hidden_size") or w[1] // gates)
        directions, features = int(w[0]), int(w[2])
        per_step = gates * hidden * (features + hidden) + gates * hidden
        return int(steps) * int(batch) * directions * per_step
    return formula


def _einsum(attrs, ins, outs) -> int:
    equation = _attr_str(attrs["equation"], "").replace(" ", "")
    operands = equation.split("->")[0].split(",")
    if "..." in equation or len(operands) != len(ins):
        raise ValueError("ellipsis or operand mismatch")
    sizes: dict[str, int] = {}
    for letters, shape in zip(operands, ins, strict=True):
        for letter, size in zip(letters, shape, strict=True):
            sizes[letter] = int(size)
    return _prod(sizes.values())


_FORMULAS = {
    "Conv": _conv,
    "ConvInteger": _conv,
    "QLinearConv": lambda a, i, o: _conv(a, i, o, weight_index=3),
    "ConvTranspose": _conv_transpose,
    "Gemm": _gemm,
    "MatMul": _matmul,
    "MatMulInteger": _matmul,
    "QLinearMatMul": _matmul,
    "LRN": _lrn,
    "Resize": _resize,
    "Upsample": _resize,
    "Einsum": _einsum,
    "MaxPool": _window_pool,
    "AveragePool": _window_pool,
    "LpPool": _window_pool,
} | {op: _recurrent(g) for op, g in RECURRENT_GATES.items()}


def op_kind(
    op_type: str,
    attrs: Mapping[str, object],
    in_shapes: Sequence[Shape | None],
    constant_inputs: Sequence[bool],
) -> str:
    """The profile's short operator kind (``conv``, ``dwconv``, ``linear``, ``pool``, ...).

    Example:
        >>> op_kind("Conv", {"group": 8}, [(1, 8, 4, 4), (8, 1, 3, 3)], [False, True])
        'dwconv'
        >>> op_kind("MatMul", {}, [(1, 4), (4, 2)], [False, True])
        'linear'
        >>> op_kind("HardSigmoid", {}, [(1, 4)], [False])
        'hardsigmoid'
    """
    if op_type == "Conv":
        group = int(attrs.get("group", 1))
        channels = in_shapes[0][1] if in_shapes and in_shapes[0] else None
        return "dwconv" if group > 1 and group == channels else "conv"
    if op_type in ("MatMul", "MatMulInteger", "QLinearMatMul"):
        return "linear" if any(constant_inputs) else "matmul"
    return _KINDS.get(op_type, op_type.lower())


@dataclass(frozen=True)
class WeightAxis:
    """Where a weight tensor keeps its output channels.

    :meth:`to_channels_first` returns the tensor with one output channel per slice along
    axis 0 (what :func:`moosplit.profilers.quantise.quantise` with ``axis=0`` expects);
    :meth:`restore` undoes it. `groups` > 1 is a grouped ConvTranspose, whose kernel
    ``(C_in, C_out / groups, k...)`` holds output channel ``g * C_out / groups + j`` in
    rows ``g`` of axis 0 and column ``j`` of axis 1.

    Example:
        >>> w = np.arange(6.0).reshape(2, 3)  # MatMul (K, N): output channels on axis 1
        >>> WeightAxis(1).to_channels_first(w).shape
        (3, 2)
    """

    axis: int = 0
    groups: int = 1

    def to_channels_first(self, w: np.ndarray) -> np.ndarray:
        """The tensor with output channels along axis 0."""
        if self.groups == 1:
            return np.moveaxis(w, self.axis, 0)
        g = self.groups
        rest = w.shape[2:]
        blocks = w.reshape(g, w.shape[0] // g, w.shape[1], *rest).swapaxes(1, 2)
        return blocks.reshape(g * w.shape[1], w.shape[0] // g, *rest)

    def restore(self, w: np.ndarray, shape: Shape) -> np.ndarray:
        """Inverse of :meth:`to_channels_first` for a tensor originally of `shape`."""
        if self.groups == 1:
            return np.moveaxis(w, 0, self.axis)
        g = self.groups
        rest = shape[2:]
        blocks = w.reshape(g, shape[1], shape[0] // g, *rest).swapaxes(1, 2)
        return blocks.reshape(shape)


def weight_axes(op_type: str, attrs: Mapping[str, object]) -> dict[int, WeightAxis] | None:
    """Input index -> output-channel layout of the kernels of a weighted operator.

    None for operators without a known kernel operand (the caller then applies its
    generic rule). Biases, normalisation vectors and quantisation parameters are absent.
    For MatMul both operands are listed; only a constant one is a weight.
    """
    if op_type in ("Conv", "ConvInteger"):
        return {1: WeightAxis(0)}
    if op_type == "QLinearConv":
        return {3: WeightAxis(0)}
    if op_type == "ConvTranspose":
        return {1: WeightAxis(1, int(attrs.get("group", 1)))}
    if op_type == "Gemm":
        # A (M, K) or (K, M) with transA; B (K, N), or (N, K) with transB
        return {0: WeightAxis(1 if attrs.get("transA", 0) else 0),
                1: WeightAxis(0 if attrs.get("transB", 0) else 1)}
    if op_type in ("MatMul", "MatMulInteger"):
        # A (..., M, K): rows are outputs; B (..., K, N): columns are outputs
        return {0: WeightAxis(-2), 1: WeightAxis(-1)}
    if op_type in RECURRENT_GATES:
        # W (directions, gates * hidden, input), R (directions, gates * hidden, hidden)
        return {1: WeightAxis(1), 2: WeightAxis(1)}
    return None
