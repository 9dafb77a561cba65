"""The ONNX front end of the profiler: an ONNX file as profile rows, run in onnxruntime.

:func:`load_onnx` reads a model into a :class:`~moosplit.profilers.graph.LayerGraph` and
returns an :class:`OnnxModel`, the :class:`~moosplit.profilers.graph.ModelRunner` that
latency measurement and quantisation error use.

How the file becomes rows (with ``fuse``, the default, the file is first replaced by the
graph onnxruntime runs, :func:`runtime_graph`, and activations are then fused into their
producers by :mod:`moosplit.profilers.fusion`; the rules below read that graph):

- The model must have exactly one graph input that is not an initializer. Its dynamic first
  dimension becomes `batch`; other dynamic dimensions come from `input_shape`.
- Constants are folded: ``Constant`` nodes, and every node whose inputs are all constants
  (shape computations, reshaped biases, ...), are evaluated once with onnxruntime and become
  initializers of a cleaned model. Every other node is one row, in a topological order of
  the file; nodes that no graph output depends on are dropped (with a note).
- Model outputs are the sinks (rows no other row reads). A graph output that other rows read
  too, or that is the input itself, gets a zero-cost row of op ``output`` (named
  ``output:NAME``, appended at the end) reading it, so that it counts as a model output
  (sent to the cloud when computed on the edge, compared in output-sensitivity errors).
  A graph output computed from constants alone is not a row. Both are noted.
- ``out_elems`` (per sample) sums, over a node's outputs that another row reads or that are
  graph outputs, the elements divided by the batch (rounded up: shape tensors stay > 0).
  Shapes come from ONNX shape inference; any still unknown are read off one onnxruntime run
  on a random input (data-dependent shapes are therefore those of that input).
- ``weight_elems`` counts the floating-point constant tensors of more than one element a row
  reads as data (after folding): stored in the file (initializers, ``Constant`` values) or
  computed from stored ones (a reshaped bias). Never weights: scalars, integer tensors,
  shape-like operands whatever their type (:data:`~moosplit.profilers.onnx_ops.SHAPE_INPUTS`:
  Resize roi/scales/sizes, Reshape and Expand shapes, Pad pads, Slice starts/ends/axes/steps,
  Tile repeats, reduction axes, ...), and tensors generated from scalars and shapes alone
  (ConstantOfShape, Expand or Tile of a scalar, Range). A constant read by several rows
  belongs to the first of them.
- ``macs`` (per sample, like ``out_elems``) follow one formula per operator, listed in
  :mod:`moosplit.profilers.onnx_ops`, with data-movement operators at 0 by definition. An
  operator without a formula is counted as one MAC per output element, and said so in
  :attr:`LayerGraph.notes <moosplit.profilers.graph.LayerGraph.notes>` and a warning.

Running (:meth:`OnnxModel.run`, :meth:`OnnxModel.time_nodes`) uses the cleaned model in
onnxruntime on the CPU with graph optimisations off (nodes map one to one onto rows; a
fused profile's model is already onnxruntime's optimised graph), one intra-op and one
inter-op thread, sequential execution.

Quantisation follows :func:`moosplit.profilers.quantise.quantise`. Weights: the kernels of
Conv, ConvTranspose, Gemm, MatMul and LSTM/GRU/RNN (for other operators, float constants
with at least two dimensions longer than one) are quantised per output channel and fed to
the session in place of their initializers (biases and normalisation vectors are not
quantised; any other weight with two or more dimensions longer than one that is not
quantised, such as a 2-D Gemm ``C``, is named in a note). Activations: each float output of
a row passes through an ``If`` node whose then-branch fake-quantises it (scale ``max|x|``
of the tensor in that run, unsigned when no value is negative: exactly
:func:`~moosplit.profilers.quantise.quantise`) and whose else-branch passes it on; the
switch and the bit-width's levels are graph inputs. One session gates
:data:`QUANT_GROUP_ROWS` consecutive rows, so a sensitivity analysis (one quantised row per
call, every bit-width) builds one session per group rather than per row or call. The plain
session and several gated ones are cached (at least :data:`SESSION_CACHE_SIZE`; for a small
model every group's, within :data:`SESSION_CACHE_BYTES`). On the PP-OCR direction
classifier (240 rows) a run takes about 3 ms and a run with one quantised row about 4 ms,
in any order of rows and bits.
"""

from __future__ import annotations

import bisect
import dataclasses
import heapq
import json
import math
import os
import re
import tempfile
import warnings
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ProfileError, ProfileOptionError
from ..profiles.schema import REFERENCE_BITS
from ..progress import ProgressCallback, Reporter
from .fusion import fuse_activations
from .graph import LayerGraph, ModelRunner
from .onnx_ops import (
    DEFAULT_DOMAINS,
    SHAPE_INPUTS,
    WeightAxis,
    node_macs,
    op_kind,
    weight_axes,
)
from .quantise import quantise

INSTALL_HINT = "pip install 'moosplit[profile]'"
SESSION_CACHE_SIZE = 4
"""Sessions with fake-quantised activations kept at least, besides the plain one (LRU)."""
SESSION_CACHE_BYTES = 256 * 2**20
"""A small model keeps more sessions: as many as fit this estimate of their memory (each
one's weights plus every row's output), up to one per group of rows."""
QUANT_GROUP_ROWS = 16
"""Rows whose activation fake-quantisation one session can switch on (consecutive rows)."""

_FQ = "moosplit_fq/"  # prefix of every name the fake-quantisation inserts
_OUT = "moosplit_out/"  # prefix of the tensors of output rows
_KERNEL_SUFFIX = "_kernel_time"
_FLOAT_TYPES = frozenset({1, 10, 11, 16})  # FLOAT, FLOAT16, DOUBLE, BFLOAT16
_FLOAT = 1
_BOOL = 9
_GRAPH, _GRAPHS = 5, 10  # AttributeProto types holding subgraphs
_GRAPH_ATTRS = frozenset({_GRAPH, _GRAPHS})


def _import_onnx() -> Any:
    try:
        import onnx
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError(f"reading ONNX models needs the onnx package: {INSTALL_HINT}") from error
    return onnx


def _import_ort() -> Any:
    try:
        import onnxruntime
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError(
            f"running ONNX models needs the onnxruntime package: {INSTALL_HINT}") from error
    return onnxruntime


# --------------------------------------------------------------------------- reading


def load_onnx(
    path: str | os.PathLike[str],
    *,
    batch: int = 1,
    input_shape: Sequence[int] | None = None,
    fuse: bool = True,
) -> ModelRunner:
    """Read an ONNX model into profile rows, ready to run, time and quantise.

    `batch` fixes a dynamic first input dimension; `input_shape` (the input shape without
    the batch, e.g. ``(3, 224, 224)``) fixes the other dynamic ones. Raises
    :class:`~moosplit.errors.ProfileError` for a model moosplit cannot profile (several
    inputs, unknown dimensions, a cycle, ...).

    With `fuse` (the default) the rows are the graph onnxruntime runs after its basic
    optimisations (:func:`runtime_graph`: BatchNorm folded into convolutions, identities
    removed), named after the model's nodes, with activations then fused into their
    producers (:func:`moosplit.profilers.fusion.fuse_activations`). ``fuse=False`` gives
    one row per node of the file, run with optimisations off (an :class:`OnnxModel`).

    Example (a one-node model written on the fly):
        >>> import onnx, tempfile
        >>> from onnx import helper, TensorProto
        >>> node = helper.make_node("Relu", ["x"], ["y"], name="act")
        >>> g = helper.make_graph([node], "g",
        ...     [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
        ...     [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])])
        >>> folder = tempfile.TemporaryDirectory()
        >>> path = folder.name + "/tiny.onnx"
        >>> onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), path)
        >>> model = load_onnx(path, batch=2, fuse=False)
        >>> model.graph.names, model.graph.ops, model.graph.out_elems.tolist()
        (('x', 'act'), ('input', 'relu'), [4, 4])
        >>> (y,) = model.run(np.full((2, 4), -1.0, np.float32))["act"]
        >>> float(y.max())
        0.0
        >>> folder.cleanup()
    """
    onnx = _import_onnx()
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise ValueError(f"batch must be a whole number >= 1, got {batch!r}")
    from google.protobuf.message import DecodeError  # comes with onnx

    path = Path(path)
    try:
        model = onnx.load(str(path))
    except DecodeError as error:
        raise ProfileError(f"{path}: not a readable ONNX model (protobuf cannot parse it: "
                           f"{error}); is the file complete, and an ONNX export?") from error
    if model.functions:  # run what onnxruntime runs: model-local functions inlined
        model = onnx.inliner.inline_local_functions(model)
    if not fuse:
        return _Reader(model, str(path), batch, input_shape).read(path.stem)
    optimised, covered = runtime_graph(model, str(path))
    reader = _Reader(optimised, str(path), batch, input_shape, covered=covered)
    return fuse_activations(reader.read(path.stem))


def runtime_graph(model: Any, source: str = "<model>") -> tuple[Any, dict[str, tuple[str, ...]]]:
    """The graph onnxruntime runs, named after the model's nodes, and what each node covers.

    onnxruntime optimises `model` at its basic level (``ORT_ENABLE_BASIC``, saved with
    ``optimized_model_filepath``): constants folded, BatchNorm and constant Add/Mul folded
    into convolutions, Relu merged into Clip, identities and dropouts removed. These
    rewrites keep to standard ONNX operators whatever the execution provider, so the MAC
    formulas, weight axes and fake quantisation read the result as they read any model;
    the extended level's fused kernels (``com.microsoft`` FusedConv, FusedGemm, ...) would
    each need their own formulas and could not be fake-quantised between the convolution
    and its activation. Activations are fused afterwards, the same way in both front ends.

    Before optimising, every node is named as its row would be in the unfused profile;
    nodes onnxruntime keeps keep that name. Returns the optimised model and, per node
    that covers several of the model's nodes, their names in execution order (itself
    included): those its outputs are computed through from its inputs, each removed node
    claimed by the first node that reads past it.
    """
    onnx = _import_onnx()
    named = onnx.ModelProto()
    named.CopyFrom(model)
    rows = _Reader(named, source, 1, None).name_rows()
    optimised = basic_optimised(named, source)
    order = {node.name: k for k, node in enumerate(rows)}
    producer = {o: node for node in rows for o in node.output if o}
    claimed = {node.name for node in optimised.graph.node}  # kept nodes cover themselves
    covered: dict[str, tuple[str, ...]] = {}
    for node in optimised.graph.node:
        found = _replaced(node, producer, claimed - {node.name})
        if not found:
            continue
        claimed |= found
        main = node.name if node.name in found else min(found, key=order.__getitem__)
        node.name = main
        if len(found) > 1:
            covered[main] = tuple(sorted(found, key=order.__getitem__))
    return optimised, covered


def basic_optimised(model: Any, source: str = "<model>") -> Any:
    """`model` as onnxruntime optimises it at its basic level (``ORT_ENABLE_BASIC``, CPU),
    read back from the file onnxruntime saves (``optimized_model_filepath``)."""
    onnx, ort = _import_onnx(), _import_ort()
    options = _session_options(ort)
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    with tempfile.TemporaryDirectory(prefix="moosplit-ort-") as folder:
        options.optimized_model_filepath = os.path.join(folder, "optimised.onnx")
        try:
            ort.InferenceSession(model.SerializeToString(), options,
                                 providers=["CPUExecutionProvider"])
        except Exception as error:  # onnxruntime raises several unrelated types
            raise ProfileError(f"{source}: onnxruntime could not load the model to optimise "
                               f"it: {error}") from error
        return onnx.load(options.optimized_model_filepath)


def _replaced(node: Any, producer: Mapping[str, Any], claimed: set[str]) -> set[str]:
    """Names of the original nodes `node` computes its outputs through: walking back from
    them to its inputs, through nodes onnxruntime removed that no other node `claimed`
    (and through `node` itself)."""
    stops = set(node.input)
    found: set[str] = set()
    stack = [o for o in node.output if o]
    while stack:
        tensor = stack.pop()
        source = producer.get(tensor)
        if tensor in stops or source is None or source.name in found or source.name in claimed:
            continue
        found.add(source.name)
        stack.extend(_reads(source))
    return found


@dataclass(frozen=True)
class _Row:
    """One row's tensors (those other rows read, or graph outputs: what :meth:`OnnxModel.run`
    returns for it) and its kernels."""

    outputs: tuple[str, ...]
    weights: tuple[tuple[str, WeightAxis], ...] = ()


class _Reader:
    """The steps of :func:`load_onnx`, sharing the model being read."""

    def __init__(self, model: Any, source: str, batch: int,
                 input_shape: Sequence[int] | None,
                 covered: Mapping[str, tuple[str, ...]] | None = None) -> None:
        self.onnx = _import_onnx()
        self.model = model
        self.covered = covered  # runtime_graph's: the model is onnxruntime's optimised graph
        self.source = source
        self.batch = batch
        self.input_shape = None if input_shape is None else tuple(int(d) for d in input_shape)
        self.notes: list[str] = []
        self.output_nodes: set[int] = set()  # ids of the Identity nodes of output rows

    def name_rows(self) -> list[Any]:
        """Name every node that would be a row (in place) as its row; those nodes."""
        graph = self.model.graph
        data_input = self._data_input()
        initializers = {t.name for t in graph.initializer}
        nodes = _topological(graph.node, initializers | {data_input.name}, self.source)
        rows = self._live(_split_constant_nodes(nodes, initializers)[1])
        for node, name in zip(rows, _row_names(data_input.name, rows)[1:], strict=True):
            node.name = name
        return rows

    def read(self, stem: str) -> OnnxModel:
        graph = self.model.graph
        data_input = self._data_input()
        shape, dynamic_batch = self._fixed_shape(data_input)
        initializers = {t.name: t for t in graph.initializer}
        nodes = _topological(graph.node, set(initializers) | {data_input.name}, self.source)
        folded, rows = _split_constant_nodes(nodes, set(initializers))
        rows, renamed = self._output_rows(data_input.name, self._live(rows))
        constants = self._constants(folded, rows, initializers)
        generated = _generated(folded, initializers)
        names = _row_names(data_input.name, rows)
        elem_type = data_input.type.tensor_type.elem_type
        clean = self._clean_model(data_input.name, elem_type, shape, rows, names, constants,
                                  initializers, renamed)
        shapes, types = self._shapes(clean, data_input.name, shape, rows, constants)
        return self._assemble(stem, clean, data_input.name, elem_type, shape, dynamic_batch,
                              rows, names, constants, generated, shapes, types)

    # ---------------------------------------------------------------- the input
    def _data_input(self) -> Any:
        graph = self.model.graph
        initializers = {t.name for t in graph.initializer}
        inputs = [i for i in graph.input if i.name not in initializers]
        if len(inputs) != 1:
            listed = ", ".join(repr(i.name) for i in inputs) or "none"
            raise ProfileError(
                f"{self.source}: a model to profile must have exactly one input that is not an "
                f"initializer, this one has {len(inputs)} ({listed}); export the model with a "
                "single input tensor")
        if not inputs[0].type.HasField("tensor_type"):
            raise ProfileError(f"{self.source}: input {inputs[0].name!r} is not a tensor")
        return inputs[0]

    def _fixed_shape(self, data_input: Any) -> tuple[tuple[int, ...], bool]:
        """The input shape with batch and `input_shape` filled in; is the batch dynamic?"""
        name = data_input.name
        tensor = data_input.type.tensor_type
        dims: list[int | None] = (
            [d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else None
             for d in tensor.shape.dim] if tensor.HasField("shape") else [])
        given = self.input_shape
        if not dims and given is not None:
            dims = [None] * (len(given) + 1)
        if not dims:
            raise ProfileOptionError(
                "input_shape", f"given: input {name!r} declares no shape (the shape per "
                "sample, without the batch dimension)", None, owner=self.source)
        if given is not None and len(given) != len(dims) - 1:
            raise ProfileOptionError(
                "input_shape", f"{len(dims) - 1} dimensions (input {name!r} has rank "
                f"{len(dims)}, batch first)", given, owner=self.source)
        dynamic_batch = dims[0] is None
        if not dynamic_batch and dims[0] != self.batch:
            raise ProfileOptionError(
                "batch", f"{dims[0]}, the fixed batch dimension of input {name!r}",
                self.batch, owner=self.source)
        shape = [self.batch]
        for axis, dim in enumerate(dims[1:], start=1):
            want = None if given is None else given[axis - 1]
            if dim is not None and want is not None and dim != want:
                raise ProfileOptionError(
                    "input_shape", f"{dim} in dimension {axis}, where the model fixes "
                    f"input {name!r}", given, owner=self.source)
            shape.append(dim if dim is not None else want)
        unknown = [axis for axis, dim in enumerate(shape) if dim is None]
        if unknown:
            labels = [_dim_label(tensor.shape.dim[a]) for a in unknown]
            raise ProfileOptionError(
                "input_shape", f"given: input {name!r} has dynamic dimensions {unknown} "
                f"({', '.join(labels)}); the full shape without the batch, "
                f"{len(dims) - 1} values", given, owner=self.source)
        if any(d < 1 for d in shape):
            raise ProfileOptionError("input_shape", "positive", given, owner=self.source)
        return tuple(int(d) for d in shape), dynamic_batch

    # -------------------------------------------------------------- structure
    def _live(self, rows: list[Any]) -> list[Any]:
        """Rows some graph output depends on; the others are dropped with a note."""
        needed = {o.name for o in self.model.graph.output}
        live = []
        for node in reversed(rows):
            if any(o in needed for o in node.output if o):
                live.append(node)
                needed.update(_reads(node))
        live.reverse()
        kept = {id(n) for n in live}
        dropped = [n.name or n.op_type for n in rows if id(n) not in kept]
        if dropped:
            self.notes.append(f"dropped {len(dropped)} node(s) no graph output depends on: "
                              f"{_short_list(dropped)}")
        if not live:
            raise ProfileError(f"{self.source}: no node computes a graph output from the input")
        return live

    def _output_rows(self, input_name: str, rows: list[Any]) -> tuple[list[Any], dict[str, str]]:
        """`rows` and an ``output`` row for each graph output that would not be a sink.

        A sink is a row no other row reads: the profile's model outputs. A graph output that
        other rows read too, or the input itself, gets a zero-cost row (an ``Identity`` in the
        cleaned model, op ``output``) reading it, appended; a graph output no row computes
        (a constant) is left out. Both are noted. Returns the rows and, per graph output with
        an output row, the tensor that stands for it in the cleaned model.
        """
        produced = {o for node in rows for o in node.output if o}
        read = {r for node in rows for r in _reads(node)}
        helper = self.onnx.helper
        renamed: dict[str, str] = {}
        extra, constant = [], []
        for out in self.model.graph.output:
            if out.name == input_name or (out.name in produced and out.name in read):
                renamed[out.name] = f"{_OUT}{out.name}"
                extra.append(helper.make_node("Identity", [out.name], [renamed[out.name]],
                                              name=f"output:{out.name}"))
            elif out.name not in produced:
                constant.append(out.name)
        if renamed:
            self.notes.append(_output_rows_note("graph output(s)", list(renamed), input_name))
        if constant:
            self.notes.append(
                f"graph output(s) {_short_list(constant)} do not depend on the input "
                "(constants): no row computes them and the profile leaves them out")
        self.output_nodes = {id(node) for node in extra}
        return rows + extra, renamed

    def _constants(self, folded: list[Any], rows: list[Any],
                   initializers: Mapping[str, Any]) -> dict[str, np.ndarray]:
        """Every constant tensor a row reads, folded subgraphs evaluated."""
        numpy_helper = self.onnx.numpy_helper
        wanted = list(dict.fromkeys(r for node in rows for r in _reads(node)))
        produced = {o for node in folded for o in node.output if o}
        constants = {name: numpy_helper.to_array(initializers[name])
                     for name in wanted if name in initializers}
        to_fold = [name for name in wanted if name in produced]
        if to_fold:
            constants.update(self._fold(folded, to_fold, initializers))
        return constants

    def _fold(self, folded: list[Any], names: list[str],
              initializers: Mapping[str, Any]) -> dict[str, np.ndarray]:
        helper = self.onnx.helper
        needed, nodes = set(names), []
        for node in reversed(folded):
            if any(o in needed for o in node.output):
                nodes.append(node)
                needed.update(_reads(node))
        nodes.reverse()
        graph = helper.make_graph(
            nodes, "moosplit_constants", [],
            [helper.make_empty_tensor_value_info(n) for n in names],
            initializer=[initializers[n] for n in sorted(needed) if n in initializers])
        try:
            values = _plain_session(self._derived(graph)).run(names, {})
        except Exception as error:  # onnxruntime raises several unrelated types
            raise ProfileError(f"{self.source}: could not evaluate its constant subgraphs "
                               f"({len(nodes)} nodes): {error}") from error
        return {n: np.asarray(v) for n, v in zip(names, values, strict=True)}

    def _derived(self, graph: Any) -> Any:
        """A model holding `graph` with the original's opsets and functions."""
        model = self.onnx.helper.make_model(graph, opset_imports=list(self.model.opset_import))
        model.ir_version = max(self.model.ir_version, 4)
        model.functions.extend(self.model.functions)
        return model

    def _clean_model(self, input_name: str, elem_type: int, shape: tuple[int, ...],
                     rows: list[Any], names: list[str], constants: Mapping[str, np.ndarray],
                     initializers: Mapping[str, Any], renamed: Mapping[str, str]) -> Any:
        """Rows only, named as rows, constants as initializers, the input shape fixed.

        Nodes inside subgraphs (Loop, If, Scan bodies) are renamed ``"{row} / {name}"``:
        names with spaces, which no row has, so that the profiler's events of body nodes are
        never taken for a row's (the Loop or If row's own kernel time includes its body).
        """
        onnx, helper = self.onnx, self.onnx.helper
        nodes = []
        for node, name in zip(rows, names[1:], strict=True):
            copy = onnx.NodeProto()
            copy.CopyFrom(node)
            copy.name = name
            _rename_subgraph_nodes(copy)
            nodes.append(copy)
        inits = [initializers[n] if n in initializers
                 else onnx.numpy_helper.from_array(np.asarray(v), n)
                 for n, v in constants.items()]
        produced = {o for node in rows for o in node.output}
        outputs = []
        for out in self.model.graph.output:
            if out.name in renamed:
                outputs.append(_without_shape(onnx, out))
                outputs[-1].name = renamed[out.name]
            elif out.name in produced:
                outputs.append(_without_shape(onnx, out))
        graph = helper.make_graph(
            nodes, self.model.graph.name or "model",
            [helper.make_tensor_value_info(input_name, elem_type, shape)], outputs,
            initializer=inits)
        return self._derived(graph)

    # ----------------------------------------------------------------- shapes
    def _shapes(self, clean: Any, input_name: str, shape: tuple[int, ...], rows: list[Any],
                constants: Mapping[str, np.ndarray],
                ) -> tuple[dict[str, tuple[int, ...]], dict[str, int]]:
        """Shapes (whole batch) and element types of every tensor the rows touch."""
        shapes, types = _inferred(self.onnx, clean)
        shapes[input_name] = shape
        types[input_name] = clean.graph.input[0].type.tensor_type.elem_type
        for name, value in constants.items():
            shapes[name] = tuple(value.shape)
        read = _consumed(rows, clean)
        missing = [o for node in rows for o in node.output if o in read and o not in shapes]
        if missing:
            try:
                measured = _measure(self.onnx, clean, missing)
            except Exception as error:  # onnxruntime raises several unrelated types
                raise ProfileError(
                    f"{self.source}: shape inference left {len(missing)} tensor shape(s) "
                    f"unknown ({_short_list(missing)}) and onnxruntime could not run the "
                    f"model to measure them: {error}") from error
            for name, value in measured.items():
                shapes[name] = tuple(np.shape(value))
                types.setdefault(name, _onnx_type(self.onnx, value))
        return shapes, types

    # --------------------------------------------------------------- assembly
    def _assemble(self, stem: str, clean: Any, input_name: str, elem_type: int,
                  shape: tuple[int, ...], dynamic_batch: bool, rows: list[Any],
                  names: list[str], constants: dict[str, np.ndarray], generated: set[str],
                  shapes: Mapping[str, tuple[int, ...]], types: Mapping[str, int]) -> OnnxModel:
        producer = {input_name: names[0]}
        for node, name in zip(rows, names[1:], strict=True):
            producer.update({o: name for o in node.output if o})
        tables = _Tables(producer, _consumed(rows, clean), shapes, constants, generated,
                         self.batch)
        records = [_Record("input", (), tables.per_sample(input_name), 0, 0, _Row((input_name,)))]
        for node, name in zip(rows, names[1:], strict=True):
            record = _record(self.onnx, node, name, tables)
            if id(node) in self.output_nodes:
                record = dataclasses.replace(record, op="output")
            records.append(record)
        fallbacks: dict[str, list[str]] = {}
        for name, record in zip(names, records, strict=True):
            if record.fallback:
                fallbacks.setdefault(record.fallback, []).append(name)
        for label, which in fallbacks.items():
            self.notes.append(
                f"no MAC formula for operator {label} ({len(which)} row(s): "
                f"{_short_list(which)}); counted one MAC per output element")
        unquantised = [f"{name} ({', '.join(record.unquantised)})"
                       for name, record in zip(names, records, strict=True) if record.unquantised]
        if unquantised:
            self.notes.append(
                f"weights counted in weight_elems but not quantised, so werr leaves them out, "
                f"in {len(unquantised)} row(s): {_short_list(unquantised)}")
        for note in self.notes:
            warnings.warn(f"{self.source}: {note}", UserWarning, stacklevel=4)
        graph = LayerGraph(
            model=stem, names=tuple(names), ops=tuple(r.op for r in records),
            inputs=tuple(r.inputs for r in records),
            out_elems=[r.out_elems for r in records],
            weight_elems=[r.weight_elems for r in records],
            macs=[r.macs for r in records], input_shape=shape, notes=tuple(self.notes),
            fused=tuple((self.covered or {}).get(n, ()) for n in names))
        return OnnxModel(_Loaded(
            graph=graph, model=clean, rows=tuple(r.row for r in records), constants=constants,
            types=dict(types), input_name=input_name, input_type=elem_type,
            dynamic_batch=dynamic_batch, opset=_default_opset(self.model),
            optimised=self.covered is not None))


@dataclass
class _Tables:
    """What the rows of one model are computed from."""

    producer: dict[str, str]  # tensor -> row name
    read: set[str]  # tensors some row reads, and graph outputs
    shapes: Mapping[str, tuple[int, ...]]  # whole-batch shapes
    constants: Mapping[str, np.ndarray]
    generated: set[str]  # constants made from scalars and shapes alone: never weights
    batch: int
    owner: dict[str, str] = field(default_factory=dict)  # constant -> first reading row

    def elements(self, tensor: str) -> int:
        return _prod(self.shapes[tensor])

    def per_sample(self, tensor: str) -> int:
        return _per_sample(self.elements(tensor), self.batch)


@dataclass(frozen=True)
class _Record:
    """One row's columns, its tensors, and the operator label if its MACs are a fallback."""

    op: str
    inputs: tuple[str, ...]
    out_elems: int
    weight_elems: int
    macs: int
    row: _Row
    fallback: str | None = None
    unquantised: tuple[str, ...] = ()  # weights of 2+ long axes not quantised: "name shape"


def _record(onnx: Any, node: Any, name: str, tables: _Tables) -> _Record:
    """The profile columns of the row `name` computing `node`."""
    reads = _reads(node)
    outputs = tuple(o for o in node.output if o and o in tables.read)
    weight_elems = 0
    claimed = []
    for tensor in _data_reads(node):
        if (tensor in tables.constants and tensor not in tables.owner
                and tensor not in tables.generated
                and _weight_size(tables.constants[tensor])):
            tables.owner[tensor] = name
            weight_elems += _weight_size(tables.constants[tensor])
            claimed.append(tensor)
    attrs = _attributes(onnx, node)
    in_shapes = [tables.shapes.get(i) if i else None for i in node.input]
    out_shapes = [tables.shapes.get(o) if o else None for o in node.output]
    standard = node.domain in DEFAULT_DOMAINS
    macs = node_macs(node.op_type, attrs, in_shapes, out_shapes) if standard else None
    fallback = None
    if macs is None:
        fallback = node.op_type if standard else f"{node.domain}:{node.op_type}"
        macs = sum(tables.elements(o) for o in outputs)
    kernels = _kernels(node, attrs, name, tables.owner, tables.constants)
    quantised = {t for t, _ in kernels}
    unquantised = tuple(f"{t} {'x'.join(map(str, tables.constants[t].shape))}" for t in claimed
                        if t not in quantised and _long_axes(tables.constants[t]) >= 2)
    return _Record(
        op=op_kind(node.op_type, attrs, in_shapes, [i in tables.constants for i in node.input]),
        inputs=tuple(dict.fromkeys(tables.producer[r] for r in reads if r in tables.producer)),
        out_elems=sum(tables.per_sample(o) for o in outputs),
        weight_elems=weight_elems,
        macs=_per_sample(macs, tables.batch),
        row=_Row(outputs, kernels),
        fallback=fallback, unquantised=unquantised)


def _output_rows_note(what: str, names: Sequence[str], input_name: str) -> str:
    """The note saying which model outputs got an ``output`` row, and why."""
    inside = [n for n in names if n != input_name]
    parts = ([f"{_short_list(inside)} also read by other rows"] if inside else []) + (
        [f"{input_name} the input itself"] if input_name in names else [])
    return (f"{what} {'; '.join(parts)}: each is a zero-cost row of op 'output' "
            "(output:NAME) reading it, so that it counts as a model output")


def _dim_label(dim: Any) -> str:
    return repr(dim.dim_param) if dim.dim_param else "unnamed"


def _short_list(items: Sequence[str], limit: int = 5) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f", ... ({len(items) - limit} more)" if len(items) > limit else "")


def _prod(shape: Iterable[int]) -> int:
    return int(math.prod(shape))


def _per_sample(total: int, batch: int) -> int:
    return -(-int(total) // batch)


def _weight_size(value: np.ndarray) -> int:
    """Elements of a constant counted as weights: float tensors of more than one element."""
    return int(value.size) if np.issubdtype(value.dtype, np.floating) and value.size > 1 else 0


def _long_axes(value: np.ndarray) -> int:
    """Axes of `value` longer than one (a bias or a scale vector has at most one)."""
    return sum(d > 1 for d in value.shape)


def _data_reads(node: Any) -> list[str]:
    """What :func:`_reads` gives, less the shape-like operands (``SHAPE_INPUTS``)."""
    skip = SHAPE_INPUTS.get(node.op_type, frozenset()) if node.domain in DEFAULT_DOMAINS \
        else frozenset()
    names = [name for k, name in enumerate(node.input) if name and k not in skip]
    for sub in _subgraphs(node):
        names.extend(sorted(_outer_names(sub)))
    return list(dict.fromkeys(names))


def _generated(folded: Sequence[Any], initializers: Mapping[str, Any]) -> set[str]:
    """Folded tensors computed from no stored float tensor of more than one element: made
    from scalars and shapes alone (ConstantOfShape, Expand or Tile of a scalar, Range, ...).
    Stored tensors are initializers and ``Constant`` values; shape-like operands do not
    count as sources. Such tensors are generated data, not weights."""
    def stored(tensor: Any) -> bool:
        return tensor.data_type in _FLOAT_TYPES and math.prod(tensor.dims) > 1

    data = {name for name, t in initializers.items() if stored(t)}
    made: set[str] = set()
    for node in folded:
        if node.op_type == "Constant":
            attr = node.attribute[0] if node.attribute else None
            source = attr is not None and (
                (attr.name == "value" and stored(attr.t)) or attr.name == "sparse_value"
                or (attr.name == "value_floats" and len(attr.floats) > 1))
        else:
            source = any(r in data for r in _data_reads(node))
        outputs = {o for o in node.output if o}
        (data if source else made).update(outputs)
    return made


def _default_opset(model: Any) -> int:
    return max((o.version for o in model.opset_import if o.domain in DEFAULT_DOMAINS), default=0)


def _without_shape(onnx: Any, value_info: Any) -> Any:
    copy = onnx.ValueInfoProto()
    copy.CopyFrom(value_info)
    if copy.type.HasField("tensor_type"):
        copy.type.tensor_type.ClearField("shape")
    return copy


def _attributes(onnx: Any, node: Any) -> dict[str, object]:
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute
            if a.type not in _GRAPH_ATTRS}


def _outer_names(graph: Any) -> set[str]:
    """Names a subgraph reads from enclosing scopes."""
    defined = {i.name for i in graph.input} | {t.name for t in graph.initializer}
    used: set[str] = set()
    for node in graph.node:
        used.update(_reads(node))
        defined.update(node.output)
    return used - defined


def _rename_subgraph_nodes(node: Any) -> None:
    """Name every node inside `node`'s subgraphs ``"{outer name} / {own name or op}"``."""
    for sub in _subgraphs(node):
        for inner in sub.node:
            inner.name = f"{node.name} / {inner.name or inner.op_type}"
            _rename_subgraph_nodes(inner)


def _subgraphs(node: Any) -> list[Any]:
    found = []
    for attr in node.attribute:
        if attr.type == _GRAPH:
            found.append(attr.g)
        elif attr.type == _GRAPHS:
            found.extend(attr.graphs)
    return found


def _reads(node: Any) -> list[str]:
    """Tensors a node reads: its inputs, then names its subgraphs take from outside."""
    names = [i for i in node.input if i]
    for sub in _subgraphs(node):
        names.extend(sorted(_outer_names(sub)))
    return list(dict.fromkeys(names))


def _topological(nodes: Sequence[Any], available: set[str], source: str) -> list[Any]:
    """Nodes in a topological order, keeping the file's order where it is one."""
    producer = {o: k for k, node in enumerate(nodes) for o in node.output if o}
    waiting: list[set[int]] = []
    users: dict[int, list[int]] = {}
    for k, node in enumerate(nodes):
        deps = set()
        for name in _reads(node):
            if name in producer:
                deps.add(producer[name])
            elif name not in available:
                raise ProfileError(
                    f"{source}: node {(node.name or node.op_type)!r} reads {name!r}, which no "
                    "node, initializer or input provides")
        waiting.append(deps)
        for d in deps:
            users.setdefault(d, []).append(k)
    ready = [k for k, deps in enumerate(waiting) if not deps]
    heapq.heapify(ready)
    order = []
    while ready:
        k = heapq.heappop(ready)
        order.append(nodes[k])
        for user in users.get(k, ()):
            waiting[user].discard(k)
            if not waiting[user]:
                heapq.heappush(ready, user)
    if len(order) != len(nodes):
        stuck = [nodes[k].name or nodes[k].op_type for k, deps in enumerate(waiting) if deps]
        raise ProfileError(f"{source}: the graph has a cycle through {_short_list(stuck)}")
    return order


def _split_constant_nodes(nodes: Sequence[Any], constant: set[str]) -> tuple[list[Any], list[Any]]:
    """(constant-foldable nodes, the other nodes): a node is constant when it is a Constant
    or reads only constants."""
    constant = set(constant)
    folded, rows = [], []
    for node in nodes:
        if node.op_type == "Constant" or all(r in constant for r in _reads(node)):
            folded.append(node)
            constant.update(o for o in node.output if o)
        else:
            rows.append(node)
    return folded, rows


def _row_names(input_name: str, rows: Sequence[Any]) -> list[str]:
    """Unique row names without whitespace: node names, or ``{op_type}_{k}`` when empty."""
    used: set[str] = set()
    counters: dict[str, int] = {}
    names = []
    for op_type, raw in [("input", input_name)] + [(n.op_type, n.name) for n in rows]:
        if not raw:
            count = counters.get(op_type, 0)
            counters[op_type] = count + 1
            raw = f"{op_type}_{count}"
        base = re.sub(r"\s", "_", raw)
        name, suffix = base, 2
        while name in used:
            name, suffix = f"{base}_{suffix}", suffix + 1
        used.add(name)
        names.append(name)
    return names


def _consumed(rows: Sequence[Any], clean: Any) -> set[str]:
    """Tensors some row reads, and the graph outputs."""
    read = {o.name for o in clean.graph.output}
    for node in rows:
        read.update(_reads(node))
    return read


def _inferred(onnx: Any, model: Any) -> tuple[dict[str, tuple[int, ...]], dict[str, int]]:
    """Fully known shapes and element types from ONNX shape inference (strict if it can)."""
    inferred = None
    for strict in (True, False):
        try:
            inferred = onnx.shape_inference.infer_shapes(
                model, check_type=strict, strict_mode=strict, data_prop=True)
            break
        except Exception:  # onnx raises InferenceError, ValidationError or RuntimeError
            continue
    shapes: dict[str, tuple[int, ...]] = {}
    types: dict[str, int] = {}
    if inferred is None:
        return shapes, types
    graph = inferred.graph
    for info in [*graph.value_info, *graph.output]:
        tensor = info.type.tensor_type
        if not info.type.HasField("tensor_type"):
            continue
        if tensor.elem_type:
            types[info.name] = tensor.elem_type
        if tensor.HasField("shape") and all(d.HasField("dim_value") for d in tensor.shape.dim):
            shapes[info.name] = tuple(int(d.dim_value) for d in tensor.shape.dim)
    return shapes, types


def _random_input(onnx: Any, model: Any) -> dict[str, np.ndarray]:
    """A random float (zero integer) input of the model's fixed input shape."""
    info = model.graph.input[0]
    tensor = info.type.tensor_type
    dtype = onnx.helper.tensor_dtype_to_np_dtype(tensor.elem_type)
    shape = tuple(d.dim_value for d in tensor.shape.dim)
    if np.issubdtype(dtype, np.floating):
        value = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    else:
        value = np.zeros(shape, dtype)
    return {info.name: value}


def _measure(onnx: Any, model: Any, names: Sequence[str]) -> dict[str, Any]:
    """Run the model once with `names` exposed as outputs; their values."""
    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    del probe.graph.output[:]
    probe.graph.output.extend(onnx.helper.make_empty_tensor_value_info(n) for n in names)
    values = _plain_session(probe).run(list(names), _random_input(onnx, model))
    return dict(zip(names, values, strict=True))


def _onnx_type(onnx: Any, value: Any) -> int:
    try:
        return int(onnx.helper.np_dtype_to_tensor_dtype(np.asarray(value).dtype))
    except (KeyError, ValueError, TypeError):
        return 0


def _kernels(node: Any, attrs: Mapping[str, object], name: str, owner: Mapping[str, str],
             constants: Mapping[str, np.ndarray]) -> tuple[tuple[str, WeightAxis], ...]:
    """The weight tensors of a row that quantisation applies to, with their channel axis."""
    def owned_float(tensor: str) -> bool:
        value = constants.get(tensor)
        return (value is not None and owner.get(tensor) == name and value.ndim >= 2
                and np.issubdtype(value.dtype, np.floating))

    axes = weight_axes(node.op_type, attrs) \
        if node.domain in DEFAULT_DOMAINS else None
    if axes is None:
        return tuple((t, WeightAxis(0)) for t in dict.fromkeys(node.input)
                     if t and owned_float(t) and sum(d > 1 for d in constants[t].shape) >= 2)
    found = []
    for index, axis in axes.items():
        if index < len(node.input) and owned_float(node.input[index]):
            found.append((node.input[index], axis))
    return tuple(found)


# --------------------------------------------------------------------- sessions


def _session_options(ort: Any) -> Any:
    """Options of every session: optimisations off, one thread, sequential, quiet."""
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3
    return options


def _plain_session(model: Any, profile_prefix: str | None = None) -> Any:
    """An onnxruntime CPU session: optimisations off, one thread, sequential."""
    ort = _import_ort()
    options = _session_options(ort)
    if profile_prefix is not None:
        options.enable_profiling = True
        options.profile_file_prefix = profile_prefix
    return ort.InferenceSession(model.SerializeToString(), options,
                                providers=["CPUExecutionProvider"])


@dataclass(frozen=True)
class _Loaded:
    """What :class:`OnnxModel` needs from the reader."""

    graph: LayerGraph
    model: Any  # the cleaned onnx.ModelProto (fixed input shape)
    rows: tuple[_Row, ...]
    constants: dict[str, np.ndarray]
    types: dict[str, int]
    input_name: str
    input_type: int
    dynamic_batch: bool
    opset: int
    optimised: bool = False  # the model is onnxruntime's optimised graph (runtime_graph)


@dataclass(frozen=True)
class _Gate:
    """The graph inputs switching one row's activation fake-quantisation on, with the
    levels of its bit-width (unsigned levels, signed levels, minus signed levels)."""

    enable: str
    levels: tuple[str, str, str]

    def feeds(self, bits: int | None) -> dict[str, np.ndarray]:
        """Inputs for `bits`, or for quantisation off (None)."""
        b = 8 if bits is None else bits
        unsigned, signed = 2**b - 1, 2 ** (b - 1) - 1
        out = {n: np.array(v, np.float32)
               for n, v in zip(self.levels, (unsigned, signed, -signed), strict=True)}
        out[self.enable] = np.array(bits is not None)
        return out


@dataclass(frozen=True)
class _Variant:
    """A session of the run model able to fake-quantise the activations of some rows."""

    session: Any
    outputs: tuple[tuple[str, ...], ...]  # output names per row 1..N
    row0: str | None  # output holding the (maybe quantised) input, when row 0 is gated
    gates: dict[int, _Gate]
    defaults: dict[str, np.ndarray]  # every gate off

    def fetched(self) -> list[str]:
        """The session's outputs: every row's tensors, then `row0` if set."""
        names = [t for tensors in self.outputs for t in tensors]
        return list(dict.fromkeys(names + ([self.row0] if self.row0 else [])))


class OnnxModel:
    """An ONNX model read into profile rows; runs, times and fake-quantises it.

    Build one with :func:`load_onnx`. Implements
    :class:`~moosplit.profilers.graph.ModelRunner`.
    """

    def __init__(self, loaded: _Loaded) -> None:
        self.graph: LayerGraph = loaded.graph
        self.timing = ("onnxruntime's profiler on the graph it runs after its basic "
                       "optimisations, one thread" if loaded.optimised else
                       "onnxruntime's profiler, graph optimisations off, one thread")
        self._loaded = loaded
        self._index = {name: k for k, name in enumerate(loaded.graph.names)}
        self._variants: OrderedDict[tuple[int, ...], _Variant] = OrderedDict()
        self._cache_size = _cache_size(loaded)

    def __repr__(self) -> str:
        g = self.graph
        return f"OnnxModel({g.model!r}, rows={g.n_rows}, input_shape={g.input_shape})"

    # ----------------------------------------------------------------- weights
    def weights(self, name: str) -> list[np.ndarray]:
        """Row `name`'s kernels (copies), each with output channels along axis 0.

        A Gemm ``B`` without ``transB`` or a MatMul's constant second operand keeps its
        output channels on the last axis in the file; it is returned transposed (moved to
        axis 0), as are ConvTranspose and recurrent kernels, so that
        ``quantise(w, bits, axis=0)`` is per output channel. Biases and normalisation
        vectors are not included.
        """
        row = self._loaded.rows[self._row(name, "name")]
        return [np.array(axis.to_channels_first(self._loaded.constants[t]))
                for t, axis in row.weights]

    def to_onnx(self, weight_bits: Mapping[str, int] | None = None
                ) -> tuple[Any, dict[str, tuple[str, ...]]]:
        """The model as rows see it, for export: a copy of the cleaned ``onnx.ModelProto``
        (constants folded, the input shape fixed, an ``Identity`` per ``output`` row) with
        the kernels of the rows in `weight_bits` fake-quantised as :meth:`run` would (float
        initialisers on the quantiser's grid), and each row's output tensor names, in the
        order :meth:`run` returns them."""
        onnx = _import_onnx()
        model = onnx.ModelProto()
        model.CopyFrom(self._loaded.model)
        quantised: dict[str, np.ndarray] = {}
        for row, bits in self._bits(weight_bits, "weight_bits").items():
            if bits < REFERENCE_BITS:
                quantised.update(self._quantised_weights(row, bits))
        for k, tensor in enumerate(model.graph.initializer):
            if tensor.name in quantised:
                model.graph.initializer[k].CopyFrom(
                    onnx.numpy_helper.from_array(quantised[tensor.name], tensor.name))
        return model, {name: row.outputs
                       for name, row in zip(self.graph.names, self._loaded.rows, strict=True)}

    def _quantised_weights(self, row: int, bits: int) -> dict[str, np.ndarray]:
        constants = self._loaded.constants
        feeds = {}
        for tensor, axis in self._loaded.rows[row].weights:
            w = constants[tensor]
            q = quantise(axis.to_channels_first(w), bits, axis=0)
            feeds[tensor] = np.ascontiguousarray(axis.restore(q, w.shape)).astype(w.dtype)
        return feeds

    # --------------------------------------------------------------------- run
    def run(
        self,
        batch: np.ndarray,
        *,
        weight_bits: Mapping[str, int] | None = None,
        activation_bits: Mapping[str, int] | None = None,
    ) -> dict[str, tuple[np.ndarray, ...]]:
        """Run one batch; every row's output tensors by row name (see ``ModelRunner.run``).

        A row's tuple holds the node's outputs that other rows read or that are graph
        outputs, in the node's order (what ``out_elems`` counts). Activation quantisation
        applies to each of its float outputs, on its own scale; integer and boolean outputs
        (shapes, indices) are never quantised.
        """
        x = self._input(batch, exact=not self._loaded.dynamic_batch)
        wbits = self._bits(weight_bits, "weight_bits")
        abits = self._bits(activation_bits, "activation_bits")
        quantised = {k: b for k, b in abits.items() if b < REFERENCE_BITS and self._float_row(k)}
        variant = self._variant(tuple(sorted({k // QUANT_GROUP_ROWS for k in quantised})))
        feeds = dict(variant.defaults)
        feeds[self._loaded.input_name] = x
        for row, bits in wbits.items():
            if bits < REFERENCE_BITS:
                feeds.update(self._quantised_weights(row, bits))
        for row, bits in quantised.items():
            feeds.update(variant.gates[row].feeds(bits))
        fetched = variant.fetched()
        values = dict(zip(fetched, variant.session.run(fetched, feeds), strict=True))
        names = self.graph.names
        result = {names[0]: (values[variant.row0] if variant.row0 else x,)}
        result.update((name, tuple(values[t] for t in tensors))
                      for name, tensors in zip(names[1:], variant.outputs, strict=True))
        return result

    def _row(self, name: str, what: str) -> int:
        try:
            return self._index[name]
        except KeyError:
            # ValueError, as the torch front end and FusedModel raise (bad input, not a
            # lookup bug); the command line reports it on one line
            raise ValueError(f"{what}: {name!r} is not a row of {self.graph.model}") from None

    def _bits(self, bits: Mapping[str, int] | None, what: str) -> dict[int, int]:
        out = {}
        for name, b in (bits or {}).items():
            if isinstance(b, bool) or not isinstance(b, (int, np.integer)) or b < 2:
                raise ValueError(f"{what}[{name!r}] must be a whole number >= 2, got {b!r}")
            out[self._row(name, what)] = int(b)
        return out

    def _float_row(self, row: int) -> bool:
        types = self._loaded.types
        return any(types.get(t) in _FLOAT_TYPES for t in self._loaded.rows[row].outputs)

    def _input(self, batch: np.ndarray, *, exact: bool) -> np.ndarray:
        onnx = _import_onnx()
        dtype = onnx.helper.tensor_dtype_to_np_dtype(self._loaded.input_type)
        x = np.ascontiguousarray(batch, dtype=dtype)
        want = self.graph.input_shape
        if x.shape[1:] != want[1:] or (exact and x.shape[:1] != want[:1]) or x.ndim == 0:
            expected = want if exact else ("N", *want[1:])
            raise ValueError(f"batch must have shape {expected} for {self.graph.model}, "
                             f"got {x.shape}")
        return x

    def _variant(self, groups: tuple[int, ...]) -> _Variant:
        """The session gating rows ``g * QUANT_GROUP_ROWS ...`` for `groups` (LRU cache)."""
        if groups in self._variants:
            self._variants.move_to_end(groups)
            return self._variants[groups]
        variant = self._build_variant(groups)
        self._variants[groups] = variant
        keep = self._cache_size + (1 if () in self._variants else 0)
        while len(self._variants) > keep:
            oldest = next(k for k in self._variants if k != ())
            del self._variants[oldest]
        return variant

    def _build_variant(self, groups: tuple[int, ...]) -> _Variant:
        onnx = _import_onnx()
        loaded = self._loaded
        n_rows = self.graph.n_rows
        gated = [r for g in groups
                 for r in range(g * QUANT_GROUP_ROWS, min((g + 1) * QUANT_GROUP_ROWS, n_rows))
                 if self._float_row(r)]
        if gated and loaded.opset < 11:
            raise ProfileError(
                f"{self.graph.model}: fake-quantised activations need ONNX opset >= 11, the "
                f"model uses {loaded.opset}; convert it with onnx.version_converter")
        model = onnx.ModelProto()
        model.CopyFrom(loaded.model)
        graph = model.graph
        if loaded.dynamic_batch:
            dim = graph.input[0].type.tensor_type.shape.dim[0]
            dim.ClearField("dim_value")
            dim.dim_param = "batch"
        kernels = dict.fromkeys(t for row in loaded.rows for t, _ in row.weights)
        inits = {t.name: t for t in graph.initializer}
        graph.input.extend(onnx.helper.make_tensor_value_info(
            t, inits[t].data_type, list(inits[t].dims)) for t in kernels)
        renamed, gates = _insert_fake_quant(onnx, graph, loaded, gated)
        outputs = tuple(tuple(renamed.get(t, t) for t in row.outputs)
                        for row in loaded.rows[1:])
        row0 = renamed.get(loaded.input_name)
        variant = _Variant(None, outputs, row0, gates, {
            name: value for gate in gates.values() for name, value in gate.feeds(None).items()})
        del graph.output[:]
        graph.output.extend(onnx.helper.make_empty_tensor_value_info(n)
                            for n in variant.fetched())
        return dataclasses.replace(variant, session=_plain_session(model))

    # ------------------------------------------------------------------- time
    def time_nodes(
        self,
        batch: np.ndarray,
        *,
        warmup: int = 3,
        runs: int = 10,
        progress: ProgressCallback | None = None,
    ) -> np.ndarray:
        """Per-row kernel time (ms) from onnxruntime's profiler: the median over `runs`
        timed runs after `warmup` untimed ones, one thread. Row 0 (input) and ``output``
        rows are 0. Events are matched to rows by node name; a Loop or If row's time is its
        own kernel time, which includes its body (body nodes are renamed so that their
        events never match a row)."""
        if warmup < 0 or runs < 1:
            raise ValueError(f"time_nodes needs warmup >= 0 and runs >= 1, got "
                             f"warmup={warmup}, runs={runs}")
        feeds = {self._loaded.input_name: self._input(batch, exact=True)}
        times = time_kernels(self._loaded.model, feeds, self._index, self.graph.n_rows,
                             warmup=warmup, runs=runs, progress=progress)
        times[[k for k, op in enumerate(self.graph.ops) if op == "output"]] = 0.0
        return times


def time_kernels(model: Any, feeds: Mapping[str, np.ndarray], row_of: Mapping[str, int],
                 n_rows: int, *, warmup: int, runs: int,
                 progress: ProgressCallback | None = None) -> np.ndarray:
    """Per-row kernel time (ms) of `model` in onnxruntime's profiler, one thread,
    optimisations off: the median over `runs` timed runs after `warmup` untimed ones of
    the summed times of the nodes `row_of` maps to each row (by node name). Row 0 is 0,
    as is a row no node maps to; a row some node maps to must show a kernel time in every
    run."""
    total = warmup + runs
    report = Reporter(progress, "profile", "runs")
    with tempfile.TemporaryDirectory(prefix="moosplit-ort-") as folder:
        session = _plain_session(model, os.path.join(folder, "profile"))
        for done in range(1, total + 1):
            session.run(None, dict(feeds))
            report(done, total)
        path = session.end_profiling()
        with open(path, encoding="utf-8") as handle:
            events = json.load(handle)
    return _row_times(events, row_of, n_rows, warmup, runs)


def _cache_size(loaded: _Loaded) -> int:
    """Gated sessions to keep: see :data:`SESSION_CACHE_BYTES`."""
    graph = loaded.graph
    weights = sum(v.nbytes for v in loaded.constants.values())
    activations = int(graph.out_elems.sum()) * graph.batch * 4
    groups = -(-graph.n_rows // QUANT_GROUP_ROWS)
    fit = SESSION_CACHE_BYTES // max(weights + activations, 1)
    return max(SESSION_CACHE_SIZE, min(groups, fit))


def _insert_fake_quant(onnx: Any, graph: Any, loaded: _Loaded, rows: Sequence[int],
                       ) -> tuple[dict[str, str], dict[int, _Gate]]:
    """Gate fake quantisation onto the float outputs of `rows`; rewire their readers.

    Each such tensor passes through an ``If`` on its row's enable input: the then-branch
    quantises, the else-branch passes the tensor on. Returns the new name of each gated
    tensor and each row's gate.
    """
    helper = onnx.helper
    renamed: dict[str, str] = {}
    gates: dict[int, _Gate] = {}
    after: dict[str, list[Any]] = {}  # tensor -> nodes to insert after its producer
    for row in rows:
        prefix = f"{_FQ}{row}/"
        gate = _Gate(prefix + "on", (prefix + "unsigned", prefix + "signed", prefix + "low"))
        gates[row] = gate
        graph.input.append(helper.make_tensor_value_info(gate.enable, _BOOL, []))
        graph.input.extend(helper.make_tensor_value_info(n, _FLOAT, []) for n in gate.levels)
        for tensor in loaded.rows[row].outputs:
            elem = loaded.types.get(tensor)
            if elem in _FLOAT_TYPES:
                node = _gated_fake_quant(helper, tensor, f"{prefix}{tensor}/", gate, elem)
                renamed[tensor] = node.output[0]
                after.setdefault(tensor, []).append(node)
    inserted = {id(n) for group in after.values() for n in group}
    order = list(after.get(loaded.input_name, []))
    for node in graph.node:
        order.append(node)
        for out in node.output:
            order.extend(after.get(out, []))
    for node in order:
        if id(node) not in inserted:
            _rename_reads(node, renamed)
    del graph.node[:]
    graph.node.extend(order)
    return renamed, gates


def _gated_fake_quant(helper: Any, tensor: str, prefix: str, gate: _Gate, elem_type: int) -> Any:
    """``If(gate.enable)``: ``quantise(tensor, bits)`` or `tensor` unchanged."""
    nodes, quantised = _fake_quant_nodes(helper, tensor, prefix, gate.levels, elem_type)
    then = helper.make_graph(nodes, prefix + "then", [],
                             [helper.make_tensor_value_info(quantised, elem_type, None)])
    same = prefix + "same"
    otherwise = helper.make_graph(
        [helper.make_node("Identity", [tensor], [same], name=same)], prefix + "else", [],
        [helper.make_tensor_value_info(same, elem_type, None)])
    return helper.make_node("If", [gate.enable], [prefix + "out"], name=prefix + "out",
                            then_branch=then, else_branch=otherwise)


def _fake_quant_nodes(helper: Any, tensor: str, prefix: str, levels: tuple[str, str, str],
                      elem_type: int) -> tuple[list[Any], str]:
    """Nodes computing ``quantise(tensor, bits)`` with the bits given as level inputs."""
    unsigned, signed, low_signed = levels
    nodes: list[Any] = []

    def add(op: str, inputs: list[str], out: str, **attrs: Any) -> str:
        nodes.append(helper.make_node(op, inputs, [prefix + out], name=prefix + out, **attrs))
        return prefix + out

    def constant(out: str, value: float) -> str:
        tensor_value = helper.make_tensor(prefix + out, _FLOAT, [], [value])
        return add("Constant", [], out, value=tensor_value)

    x = tensor if elem_type == _FLOAT else add("Cast", [tensor], "x", to=_FLOAT)
    zero, one = constant("zero", 0.0), constant("one", 1.0)
    top = add("ReduceMax", [add("Abs", [x], "abs")], "top", keepdims=0)
    negative = add("Less", [add("ReduceMin", [x], "min", keepdims=0), zero], "negative")
    level = add("Where", [negative, signed, unsigned], "levels")
    low = add("Where", [negative, low_signed, zero], "lowest")
    ratio = add("Div", [top, level], "ratio")
    scale = add("Where", [add("Greater", [top, zero], "positive"), ratio, one], "scale")
    rounded = add("Round", [add("Div", [x, scale], "scaled")], "rounded")
    clipped = add("Max", [add("Min", [rounded, level], "upper"), low], "clipped")
    out = add("Mul", [clipped, scale], "q")
    if elem_type != _FLOAT:
        out = add("Cast", [out], "q_cast", to=elem_type)
    return nodes, out


def _rename_reads(node: Any, renamed: Mapping[str, str]) -> None:
    """Point `node` (and names its subgraphs read from outside) at renamed tensors."""
    for k, name in enumerate(node.input):
        if name in renamed:
            node.input[k] = renamed[name]
    for sub in _subgraphs(node):
        for inner in sub.node:
            _rename_reads(inner, renamed)


def _row_times(events: Sequence[Mapping[str, Any]], row_of: Mapping[str, int], n_rows: int,
               warmup: int, runs: int) -> np.ndarray:
    """Median kernel time (ms) per row over the timed runs of an onnxruntime profile, a
    row's time in a run being the sum over the nodes `row_of` maps to it."""
    starts = sorted(e["ts"] for e in events
                    if e.get("cat") == "Session" and e.get("name") == "model_run")
    if len(starts) != warmup + runs:
        raise RuntimeError(f"onnxruntime's profile shows {len(starts)} runs, "
                           f"{warmup + runs} were made")
    per_run = np.zeros((runs, n_rows))
    seen = np.zeros((runs, n_rows), dtype=bool)
    for event in events:
        title = str(event.get("name", ""))
        if event.get("cat") != "Node" or not title.endswith(_KERNEL_SUFFIX):
            continue
        node = event.get("args", {}).get("node_name") or title[:-len(_KERNEL_SUFFIX)]
        run = bisect.bisect_right(starts, event["ts"]) - 1 - warmup
        k = row_of.get(node)
        if k is not None and run >= 0:
            per_run[run, k] += float(event["dur"]) / 1000.0
            seen[run, k] = True
    owned = sorted(set(row_of.values()) - {0})
    names = {k: node for node, k in row_of.items()}
    missing = [names[k] for k in owned if not seen[:, k].all()]
    if missing:
        raise RuntimeError(f"onnxruntime's profile has no kernel time in some runs for "
                           f"{len(missing)} row(s): {_short_list(missing)}")
    times = np.median(per_run, axis=0)
    times[0] = 0.0
    return times
