"""Cutting a traced PyTorch model into its edge and cloud halves, exported to ONNX.

The profiler's torch front end traces a module with torch.fx; every ``call_*`` node is a
profile row. The halves are built from that same graph (a copy from
:meth:`moosplit.profilers.torch_model.TorchModel.export_module`, weights of the edge rows
already fake-quantised), so row names match: the edge half holds the input and the edge
rows, with an activation quantiser after each row quantised below 16 bits, and returns
the cut tensors; the cloud half takes the cut tensors as inputs and runs every other row.
Each half is exported by ``torch.onnx.export`` (the TorchScript exporter, offline).
Tensors are named after rows (``ROW#k`` for the k-th tensor of a row of several).

Activation quantisers are ``torch.fake_quantize_per_tensor_affine`` at 8 bits, which the
exporter writes as QuantizeLinear/DequantizeLinear (uint8, or int8 with the range
-128..127), and ``clamp(round(x / scale), low, high) * scale`` otherwise (Div, Round,
Clip, Mul in ONNX).
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from ..errors import ExportError
from .activations import Grid

OPSET = 17
"""The ONNX opset the halves are exported at."""

NATIVE_BITS = (8,)
"""Bit-widths whose quantisers export as QuantizeLinear/DequantizeLinear."""


def tensor_names(values: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    """Each row's tensor names: the row name for a row of one tensor, ``ROW#k`` for a row
    of several, none for a row holding no tensor that can be sent (see
    :class:`moosplit.profilers.torch_model.RowValue`)."""
    return {row: (row,) if v.tensors == 1 else tuple(f"{row}#{k}" for k in range(v.tensors))
            for row, v in values.items()}


def quantise_value(value: Any, grids: tuple[tuple[int, float, int, int] | None, ...]) -> Any:
    """`value` (a tensor, or a tuple or list of them) with its k-th tensor on grid k, given
    as (bits, scale, low, high) (None: left alone); what the edge graph calls after a
    quantised row (plain tuples, which fx writes into its generated code as literals)."""
    import torch

    remaining = iter(grids)

    def one(x: Any) -> Any:
        g = next(remaining, None)
        if g is None or not isinstance(x, torch.Tensor) or not x.is_floating_point():
            return x
        bits, scale, low, high = g
        if bits in NATIVE_BITS:
            low = low if low == 0 else -(2 ** (bits - 1))  # the exporter's int8 range
            return torch.fake_quantize_per_tensor_affine(x, scale, 0, low, high)
        return torch.clamp(torch.round(x / scale), low, high) * scale

    return _map(value, one)


def _map(value: Any, fn: Callable[[Any], Any]) -> Any:
    if isinstance(value, (tuple, list)):
        return type(value)(_map(v, fn) for v in value)
    return fn(value)


def node_owners(values: Mapping[str, Any], order: Sequence[str]) -> dict[Any, str]:
    """Each fx node with the row that computes it: the first row, in `order`, whose value
    it is (a later row with the same node, such as an ``output`` row, only returns it)."""
    owner: dict[Any, str] = {}
    for row in order:
        owner.setdefault(values[row].node, row)
    return owner


def export_halves(
    gm: Any, values: Mapping[str, Any], order: Sequence[str], edge: set[str],
    sent: Sequence[str], cut: Sequence[str], outputs: Sequence[str],
    grids: Mapping[str, Grid], examples: Mapping[str, np.ndarray],
) -> tuple[Any | None, Any | None]:
    """The edge and cloud halves as ``onnx.ModelProto`` (None for an empty side).

    gm, values: from ``TorchModel.export_module``; order: every row in table order (row
    0 the input); edge: the edge rows; sent: the rows the edge half returns (the cut
    tensors it computes, or an edge-only plan's outputs); cut: the cut tensors' rows (the
    input's included when it is one), the cloud half's inputs in order; outputs: the
    model outputs (sink rows); grids: activation grids by tensor name; examples: a value
    of the input and of each cut tensor, by row (the halves are traced on them).
    """
    import torch

    names = tensor_names(values)
    owner = node_owners(values, order)
    computes = {row for row in order[1:] if owner[values[row].node] == row}
    edge_model = cloud_model = None
    if edge:
        graph = _edge_graph(gm, values, edge & computes, sent, grids, names, owner)
        edge_model = _export(gm, graph, (torch.from_numpy(np.array(examples[order[0]])),),
                             [order[0]], [n for row in sent for n in names[row]])
    if any(row not in edge for row in order[1:]):
        graph = _cloud_graph(gm, values, computes - edge, cut, outputs)
        args = tuple(torch.from_numpy(np.ascontiguousarray(examples[row])) for row in cut)
        cloud_model = _export(gm, graph, args, [names[row][0] for row in cut],
                              [n for row in outputs for n in names[row]])
    return edge_model, cloud_model


def _edge_graph(gm: Any, values: Mapping[str, Any], computed: set[str], sent: Sequence[str],
                grids: Mapping[str, Grid], names: Mapping[str, tuple[str, ...]],
                owner: Mapping[Any, str]) -> Any:
    """Input, edge rows (quantisers after those in `grids`), and the `sent` rows out."""
    import torch.fx

    def quantised(value: Any, row: str) -> Any:
        if not any(n in grids for n in names[row]):
            return value
        specs = tuple(None if n not in grids else
                      (grids[n].bits, grids[n].scale, grids[n].low, grids[n].high)
                      for n in names[row])
        return graph.call_function(quantise_value, (value, specs))

    graph = torch.fx.Graph()
    env: dict[Any, Any] = {}
    for node in gm.graph.nodes:
        if node.op in ("placeholder", "get_attr") or owner.get(node) in computed:
            env[node] = graph.node_copy(node, lambda n: env[n])
            if owner.get(node) in computed:
                env[node] = quantised(env[node], owner[node])
    # an output row returns another row's value, quantised again at its own bits
    result = [env[values[row].node] if row in computed
              else quantised(env[values[row].node], row) for row in sent]
    graph.output(tuple(result))
    return graph


def _cloud_graph(gm: Any, values: Mapping[str, Any], computed: set[str], cut: Sequence[str],
                 outputs: Sequence[str]) -> Any:
    """The cut tensors in, the rows in `computed`, the model outputs out."""
    import torch.fx

    graph = torch.fx.Graph()
    held = {row: graph.placeholder(f"cut_{k}") for k, row in enumerate(cut)}
    env: dict[Any, Any] = {}
    for row in cut:
        env.setdefault(values[row].node, held[row])
    nodes = {values[row].node for row in computed}
    for node in gm.graph.nodes:
        if node.op == "get_attr" or (node in nodes and node not in env):
            env[node] = graph.node_copy(node, lambda n: env[n])
    graph.output(tuple(held[row] if row in held else env[values[row].node]
                       for row in outputs))
    return graph


def _export(gm: Any, graph: Any, args: tuple, input_names: list[str],
            output_names: list[str]) -> Any:
    """`graph` (nodes of `gm`) exported by the TorchScript exporter, as a ModelProto whose
    inputs and outputs carry the given names (exported under stand-ins, as TorchScript
    refuses some row names, such as ``0``, and renamed after)."""
    import onnx
    import torch
    import torch.fx

    module = torch.fx.GraphModule(gm, graph).eval()
    module.graph.eliminate_dead_code()
    module.recompile()
    wanted = [*input_names, *output_names]
    stand_ins = [f"moosplit_io_{k}" for k in range(len(wanted))]
    buffer = io.BytesIO()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, args, buffer, dynamo=False, opset_version=OPSET,
                          input_names=stand_ins[:len(input_names)],
                          output_names=stand_ins[len(input_names):])
    model = onnx.load_from_string(buffer.getvalue())
    _rename(model, dict(zip(stand_ins, wanted, strict=True)))
    return model


def _rename(model: Any, names: Mapping[str, str]) -> None:
    """Rename tensors of `model`'s main graph (inputs, outputs, node ends, value infos)."""
    graph = model.graph
    taken = {t for node in graph.node for t in (*node.input, *node.output)} - set(names)
    clash = sorted(set(names.values()) & taken)
    if clash:
        raise ExportError(f"cannot name a tensor {clash[0]!r} in the exported model: the "
                          "exporter already uses that name")
    for info in (*graph.input, *graph.output, *graph.value_info):
        info.name = names.get(info.name, info.name)
    for node in graph.node:
        node.input[:] = [names.get(t, t) for t in node.input]
        node.output[:] = [names.get(t, t) for t in node.output]
    # a model output that is a model input (a tensor the edge computed, passed through)
    # was an Identity between two stand-ins; under one name it needs no node
    same = [n for n in graph.node if n.op_type == "Identity" and n.input[:] == n.output[:]]
    for node in same:
        graph.node.remove(node)
