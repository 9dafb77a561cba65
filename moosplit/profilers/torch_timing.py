"""Timing a traced PyTorch model's rows in onnxruntime, the runtime its halves deploy on.

``moosplit export`` writes a plan's halves as ONNX graphs from the traced module
(:mod:`moosplit.deploy.torch_split`), and they run in onnxruntime; so the torch front end
times rows there too, and a model profiled through PyTorch and through its ONNX export
gets the same kernels and the same times (PyTorch's own kernels differ from
onnxruntime's, row by row, by up to a factor of two on a CPU).

The whole model is exported as the edge half of an all-edge plan that sends every row's
tensors, so each row's output is a named graph output; onnxruntime optimises it at its
basic level, as the ONNX front end's graph (:func:`~moosplit.profilers.onnx_model.
runtime_graph`). A node of the optimised graph belongs to the row whose output it writes,
else to the earliest row that reads what it writes (shape arithmetic, a convolution before
its activation). The graph is then timed node by node with only the model's outputs as
graph outputs, and a row's time is the sum of its nodes'.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..progress import ProgressCallback
from .graph import LayerGraph
from .onnx_model import basic_optimised, time_kernels

TIMING = ("onnxruntime's profiler on the model exported to ONNX, after onnxruntime's basic "
          "optimisations, one thread")
"""How :func:`time_rows` measures, as a profile's metadata says it."""


def time_rows(gm: Any, values: Mapping[str, Any], graph: LayerGraph, example: Any, *,
              warmup: int, runs: int, progress: ProgressCallback | None = None
              ) -> np.ndarray:
    """Per-row kernel time (ms) in onnxruntime of the module `gm` (from
    ``TorchModel.export_module``, with its `values`) whose rows `graph` lists (row 0 the
    input, 0 ms), on the input tensor `example`. Raises whatever the exporter or
    onnxruntime raises when the module does not export or load."""
    from ..deploy.torch_split import export_halves, node_owners, tensor_names

    names = graph.names
    x = example.detach().cpu().numpy()
    owner = node_owners(values, names)
    sent = [row for row in names[1:] if owner[values[row].node] == row
            and values[row].tensors and not values[row].modified]
    model, _ = export_halves(gm, values, names, set(names[1:]), sent, [], [], {},
                             {names[0]: x})
    optimised = basic_optimised(model, "the exported model")
    for k, node in enumerate(optimised.graph.node):
        node.name = f"moosplit_node_{k}"  # unique and non-empty: the profiler's key
    index = {row: k for k, row in enumerate(names)}
    row_of_tensor = {t: index[row] for row, tensors in tensor_names(values).items()
                     if row in sent for t in tensors}
    row_of = node_rows(optimised.graph, row_of_tensor)
    # time the model as deployed: every row an output keeps every tensor alive (no buffer
    # reuse), which made large element-wise rows up to twice as slow
    read = {row for inputs in graph.inputs for row in inputs}
    outputs = [o for o in optimised.graph.output
               if o.name in row_of_tensor and names[row_of_tensor[o.name]] not in read]
    del optimised.graph.output[:]
    optimised.graph.output.extend(outputs)
    return time_kernels(optimised, {names[0]: x}, row_of, len(names), warmup=warmup, runs=runs,
                        progress=progress)


def node_rows(graph: Any, row_of_tensor: Mapping[str, int]) -> dict[str, int]:
    """Each node of the ONNX `graph` (topologically sorted) with the row it belongs to:
    the row of a tensor it writes (the earliest, if several), else the earliest row of
    the nodes reading its outputs; nodes whose outputs reach no row are left out."""
    readers: dict[str, list[str]] = {}
    for node in graph.node:
        for tensor in node.input:
            readers.setdefault(tensor, []).append(node.name)
    row: dict[str, int] = {}
    for node in reversed(graph.node):
        own = [row_of_tensor[t] for t in node.output if t in row_of_tensor]
        read = [row[r] for t in node.output for r in readers.get(t, ()) if r in row]
        if own or read:
            row[node.name] = min(own or read)
    return row
