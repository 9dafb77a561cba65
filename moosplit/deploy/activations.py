"""Static activation quantisers for an exported edge model (bits_a below 16).

The profiler fake-quantises an activation with :func:`moosplit.profilers.quantise.quantise`
on the tensor's own range in each run; a deployed model needs a fixed scale, so each
quantised tensor gets the range seen on calibration data: :func:`grid` turns it into the
same grid the profiler's quantiser uses (symmetric with ``2^(b-1) - 1`` levels a side, or
``2^b - 1`` levels on ``[0, max]`` for a tensor with no negative value). In the ONNX graph a
grid is a QuantizeLinear/DequantizeLinear pair where onnxruntime has a native type for the
bit-width (uint8/int8 at 8 bits; uint4/int4 at 4 bits from opset 21), and is emulated in
float32 otherwise (Div, Round, Clip, Mul: the same values).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ProblemError

NATIVE_OPSET = {8: 10, 4: 21}
"""Bit-widths onnxruntime quantises natively (QuantizeLinear/DequantizeLinear), with the
opset each needs."""

FLOAT_SUFFIX = "/moosplit_float"
"""Suffix of the unquantised tensor a quantiser reads (the quantised one keeps the name)."""


@dataclass(frozen=True)
class Grid:
    """The static quantiser of one activation tensor: values ``clip(round(x / scale),
    low, high) * scale``."""

    bits: int
    scale: float
    low: int
    high: int

    @property
    def unsigned(self) -> bool:
        """Whether the grid has no negative level."""
        return self.low == 0


def grid(top: float, unsigned: bool, bits: int) -> Grid:
    """The grid of :func:`moosplit.profilers.quantise.quantise` for a tensor whose largest
    magnitude is `top` (scale 1 for an all-zero tensor).

    Example:
        >>> grid(2.0, False, 2), grid(3.0, True, 2)
        (Grid(bits=2, scale=2.0, low=-1, high=1), Grid(bits=2, scale=1.0, low=0, high=3))
    """
    levels = 2**bits - 1 if unsigned else 2 ** (bits - 1) - 1
    scale = float(np.float32(top / levels)) if top > 0 else 1.0
    return Grid(int(bits), scale, 0 if unsigned else -levels, levels)


def native(bits: int, opset: int) -> bool:
    """Whether a `bits`-bit grid is a native QuantizeLinear/DequantizeLinear pair at
    `opset`."""
    return bits in NATIVE_OPSET and opset >= NATIVE_OPSET[bits]


def describe(grids: Mapping[str, Grid], opset: int, native_bits: tuple[int, ...] | None = None
             ) -> str:
    """How the activations were quantised, for the manifest's ``activations``.
    `native_bits` lists the bit-widths done natively (default: :func:`native` at `opset`)."""
    if not grids:
        return "none: every activation at the reference precision (float32)"
    used = sorted({g.bits for g in grids.values()})
    done = [b for b in used if (b in native_bits if native_bits is not None
                                else native(b, opset))]
    parts = []
    if done:
        parts.append("native QuantizeLinear/DequantizeLinear at "
                     + ", ".join(f"{b} bits (uint{b}/int{b})" for b in done))
    others = [b for b in used if b not in done]
    if others:
        parts.append("emulated in float32 (Div, Round, Clip, Mul) at "
                     + ", ".join(f"{b}" for b in others) + " bits")
    return ("; ".join(parts) + "; static per-tensor scales from calibration data, "
            "symmetric (unsigned where no calibration value is negative)")


def opset_of(model: Any) -> int:
    """The model's default-domain opset."""
    return max((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")),
               default=0)


def insert_quantisers(model: Any, grids: Mapping[str, Grid]) -> None:
    """Quantise the tensors named in `grids` in `model` (an ``onnx.ModelProto``, changed in
    place): each producer's output is renamed ``NAME/moosplit_float`` and the quantiser
    after it produces ``NAME``, so every reader (and a graph output of that name) sees the
    quantised tensor. ProblemError if the model's opset is below 11 (Round and Clip's
    inputs need it)."""
    from onnx import TensorProto, helper, numpy_helper

    if not grids:
        return
    opset = opset_of(model)
    if opset < 11:
        raise ProblemError(f"quantised activations need ONNX opset >= 11, the model uses "
                           f"{opset}; convert it with onnx.version_converter")
    graph = model.graph
    nodes = []
    for node in graph.node:
        nodes.append(node)
        for k, out in enumerate(node.output):
            if out not in grids:
                continue
            node.output[k] = out + FLOAT_SUFFIX
            g = grids[out]
            scale = numpy_helper.from_array(np.array(g.scale, np.float32), out + "/scale")
            graph.initializer.append(scale)
            if native(g.bits, opset):
                elem = {(8, True): TensorProto.UINT8, (8, False): TensorProto.INT8,
                        (4, True): TensorProto.UINT4, (4, False): TensorProto.INT4}
                zero = helper.make_tensor(out + "/zero", elem[(g.bits, g.unsigned)], [], [0])
                graph.initializer.append(zero)
                nodes += [
                    helper.make_node("QuantizeLinear", [out + FLOAT_SUFFIX, scale.name,
                                                        zero.name], [out + "/q"],
                                     name=out + "/quantise"),
                    helper.make_node("DequantizeLinear", [out + "/q", scale.name, zero.name],
                                     [out], name=out + "/dequantise")]
            else:
                low = numpy_helper.from_array(np.array(g.low, np.float32), out + "/low")
                high = numpy_helper.from_array(np.array(g.high, np.float32), out + "/high")
                graph.initializer.extend([low, high])
                nodes += [
                    helper.make_node("Div", [out + FLOAT_SUFFIX, scale.name], [out + "/div"],
                                     name=out + "/div"),
                    helper.make_node("Round", [out + "/div"], [out + "/round"],
                                     name=out + "/round"),
                    helper.make_node("Clip", [out + "/round", low.name, high.name],
                                     [out + "/clip"], name=out + "/clip"),
                    helper.make_node("Mul", [out + "/clip", scale.name], [out],
                                     name=out + "/mul")]
    del graph.node[:]
    graph.node.extend(nodes)
