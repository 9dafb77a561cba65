"""PyTorch front end of the profiler: an fx-traceable module as a :class:`LayerGraph`.

:func:`trace_module` traces a module with ``torch.fx.symbolic_trace`` (in eval mode) and
runs ``ShapeProp`` once on a seeded random input; the :class:`TorchModel` it returns
implements :class:`moosplit.profilers.graph.ModelRunner` with ``torch.fx.Interpreter``
subclasses. torch is imported lazily: this module imports without it.

How fx nodes become rows (SPEC section 2; with ``fuse``, the default, BatchNorm modules
are first folded into the convolution or linear module they alone read, and activations
are then fused into their producers by :mod:`moosplit.profilers.fusion`):

- Row 0 is the single ``placeholder`` (op ``input``, named after the ``forward`` argument).
  Every ``call_module``, ``call_function`` and ``call_method`` node is a row, in graph
  (execution) order; ``get_attr`` nodes are not rows and ``output`` is not a row.
- Model outputs are the sinks (rows no other row reads). A value ``forward`` returns that
  other rows read too, or the input itself, gets a zero-cost row of op ``output`` (named
  ``output:ROW``, appended at the end: no MACs, no weights, time 0) reading it, so that it
  counts as a model output. Returned ``get_attr`` tensors (constants) are not rows. Both
  are noted.
- Names: the qualified module name for ``call_module`` (``layer4.0.conv3``), else the fx
  node name; whitespace becomes ``_`` and a repeated name gets a ``_<k>`` suffix (a module
  called twice gives ``relu`` and ``relu_1``).
- ``inputs``: the rows among the node's arguments (searched through tuples, lists and
  kwargs), in order, without repeats. Arguments that are not tensors but come from rows
  (``n = x.size(0)`` feeding ``x.view(n, -1)``) count too: they are real dependencies, and
  their rows have ``out_elems`` 0, so sending them costs nothing. A node reading no row at
  all (``torch.zeros(3)``) is given the input row, so that only row 0 has no inputs.
- Outputs holding several tensors (``torch.split``, a module returning a tuple) are one row
  whose ``out_elems`` is the sum over its tensors; each ``getitem`` on it is a zero-MAC row
  of its own with that tensor's size. Outputs holding no tensor (``size``, shape arithmetic)
  have ``out_elems`` 0 and ``macs`` 0. ``run`` returns each row's tensors as a tuple:
  several for such a row, none for a row without tensors.
- ``out_elems`` and ``macs`` are per sample: the batch total divided by the batch size,
  rounded up.
- ``weight_elems``: the float parameters and buffers of a called module (BatchNorm's
  running statistics included, its integer ``num_batches_tracked`` not), or the float
  tensors of ``get_attr`` nodes the row reads. A tensor is counted once, at the first row
  that uses it: a module called twice, or a tied weight, is owned (and quantised, see
  :meth:`TorchModel.weights`) by that first row only; later uses run at float. Tensors with
  at most one dimension longer than one (biases, normalisation parameters and statistics)
  are not quantised, as in the ONNX front end; a row owning a tensor of two or more such
  dimensions that is not quantised (a 2-D buffer of a module) is named in a note.
- ``macs`` (bias additions not counted): convolutions ``out x in_channels/groups x
  kernel``, transposed convolutions ``in x out_channels/groups x kernel``, linear ``out x
  in_features``, matmul/mm/bmm/addmm ``out x inner dim``, scaled-dot-product attention
  ``(QK^T, softmax, xV)`` (op ``attention``), ``nn.MultiheadAttention`` the same plus its
  four projections, pools ``out x kernel`` (adaptive pools: one per input element),
  reductions (``mean``, ``sum``, ``max``...) one per input element, BatchNorm and
  elementwise operators (``add``, ``mul``, activations...) one per output element, softmax
  three (exp, sum, divide), LayerNorm/GroupNorm/InstanceNorm four (mean, variance,
  normalise, scale-and-shift; the convention of the ONNX front end too) and RMSNorm three
  (mean square, normalise, scale) per output element. Shape and data-movement operators
  (``view``, ``reshape``, ``flatten``, ``cat``, ``getitem``, ``size``, ``permute``,
  ``transpose``, ``contiguous``, ``split``, padding, ``dropout`` in eval mode, ``Identity``,
  ``Embedding`` lookups (a copy of one table row per token, no arithmetic), ...) cost
  zero. Any other operator is counted as one MAC per output element, and says so in
  :attr:`LayerGraph.notes` and with a ``UserWarning``.

Running (:meth:`TorchModel.run`) keeps every row's output, so an in-place operator
(``ReLU(inplace=True)``, ``x.add_(y)``, ``F.relu(x, inplace=True)``) must not overwrite an
output already recorded. One that is the only reader of its argument, whose storage no
other output shares (the usual case), runs out of place: same values, nothing copied.
Otherwise the outputs it modifies (found while tracing, from tensor version counters, which
views share) are recorded as copies. :meth:`TorchModel.time_nodes` runs the graph as
written, in place. Activation quantisation quantises each float tensor of a row's output
on its own scale and leaves integer tensors alone.
"""

from __future__ import annotations

import contextlib
import functools
import io
import math
import operator
import re
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ProfileError, ProfileOptionError
from ..profiles.schema import REFERENCE_BITS
from ..progress import ProgressCallback, Reporter
from .fusion import fuse_activations
from .graph import LayerGraph, ModelRunner
from .onnx_ops import WeightAxis
from .quantise import quantise
from .torch_timing import TIMING as TIMING_ONNXRUNTIME
from .torch_timing import time_rows

TORCH_TIMING = "PyTorch, per node in a torch.fx interpreter, one thread"
"""How rows are timed when the model cannot be timed in onnxruntime."""

_INSTALL_HINT = "pip install 'moosplit[torch]'"
_QUANTISED_CACHE_SIZE = 8


def _torch() -> Any:
    """The torch module, or an ImportError saying how to install it."""
    try:
        import torch
        import torch.fx
        import torch.fx.passes.shape_prop  # noqa: F401
    except ImportError as exc:
        raise ImportError(f"the PyTorch front end needs torch: {_INSTALL_HINT}") from exc
    return torch


# --------------------------------------------------------------------------- public API


def trace_module(
    module: Any, input_shape: Sequence[int], *, name: str | None = None,
    vocab: int | None = None, fuse: bool = True,
) -> ModelRunner:
    """Trace `module` (a ``torch.nn.Module`` taking one tensor) into a profiler model.

    `input_shape` is the full input shape, batch first. The input is a float tensor (of the
    module's parameter dtype), or with `vocab` int64 token ids in ``[0, vocab)`` (a language
    model's; shape propagation then runs on seeded random ids). The module is traced and run in eval
    mode; its own train/eval flags are left as they were. It must be traceable by
    ``torch.fx.symbolic_trace`` (no control flow on tensor values); otherwise export it to
    ONNX and profile that.

    With `fuse` (the default) the rows are the kernels a deployment runs: every BatchNorm
    that is the only reader of a convolution or linear layer is folded into it
    (``torch.nn.utils.fusion``; the folded weights are what is quantised and timed, the
    module itself is left unchanged), and activations are fused into their producers
    (:func:`moosplit.profilers.fusion.fuse_activations`). ``fuse=False`` gives one row per
    node (a :class:`TorchModel`).

    Example:
        >>> import torch
        >>> net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU())
        >>> model = trace_module(net, (1, 3, 32, 32), name="tiny", fuse=False)
        >>> model.graph.names, model.graph.ops
        (('input', '0', '1'), ('input', 'conv', 'relu'))
        >>> model.graph.out_elems.tolist(), model.graph.macs.tolist()
        ([3072, 7200, 7200], [0, 194400, 7200])
        >>> fused = trace_module(net, (1, 3, 32, 32), name="tiny")
        >>> fused.graph.names, fused.graph.fused, fused.graph.macs.tolist()
        (('input', '0'), ((), ('0', '1')), [0, 201600])
    """
    torch = _torch()
    if not isinstance(module, torch.nn.Module):
        raise TypeError(f"trace_module needs a torch.nn.Module, got {type(module).__name__}")
    shape = _check_shape(input_shape)
    gm = _symbolic_trace(torch, module)
    generator = torch.Generator().manual_seed(0)
    if vocab is None:
        dtype = _float_dtype(torch, module)
        example = torch.randn(shape, generator=generator, dtype=dtype)
    else:
        if isinstance(vocab, bool) or not isinstance(vocab, int) or vocab < 1:
            raise ProfileOptionError("vocab", "an integer >= 1 (token ids lie in [0, vocab))",
                                     vocab, owner=name or "")
        dtype = torch.int64
        example = torch.randint(0, vocab, shape, generator=generator, dtype=dtype)
    modules = list(gm.modules())
    with _inference(torch, modules):
        mutated, out_of_place = _propagate(torch, gm, example)
        folded = _fold(torch, gm) if fuse else {}
        if folded:
            mutated, out_of_place = _propagate(torch, gm, example)
    reading = _read_graph(torch, gm, shape, mutated, out_of_place)
    graph = LayerGraph(
        model=name or type(module).__name__, names=reading.names, ops=reading.ops,
        inputs=reading.inputs, out_elems=reading.out_elems, weight_elems=reading.weight_elems,
        macs=reading.macs, input_shape=shape, notes=reading.notes, input_vocab=vocab,
        fused=tuple(folded[row.node].nodes(row.name) if row.node in folded else ()
                    for row in reading.rows))
    for note in reading.notes:
        warnings.warn(note, UserWarning, stacklevel=2)
    model = TorchModel(gm, graph, reading.rows, dtype)
    return fuse_activations(model) if fuse else model


class TorchModel:
    """A traced PyTorch module that profiling can run, time and fake-quantise.

    Made by :func:`trace_module`; implements :class:`moosplit.profilers.graph.ModelRunner`.
    It shares its parameters with the traced module (nothing is copied); ``run`` swaps a
    quantised weight in only while its node runs. Not safe to call from several threads.
    """

    timing = TIMING_ONNXRUNTIME
    """How :meth:`time_nodes` measured (onnxruntime, unless it had to fall back)."""

    def __init__(self, gm: Any, graph: LayerGraph, rows: tuple[_Row, ...], dtype: Any) -> None:
        self.graph = graph
        self._torch = _torch()
        self._gm = gm
        self._rows = rows
        self._by_name = {row.name: row for row in rows}
        self._dtype = dtype
        self._modules = list(gm.modules())
        self._cache: dict[tuple[str, int, int, int, int], tuple[Any, Any]] = {}
        quant_cls, _ = _interpreters()
        self._runner = quant_cls(gm, rows)

    def weights(self, name: str) -> list[np.ndarray]:
        """The weights of row `name` that quantisation applies to, as float32 (maybe ``[]``).

        Those the row owns (see the module notes) and that have two or more dimensions:
        every such parameter of a called module (Conv, Linear, Embedding, the
        ``weight_ih``/``weight_hh`` of LSTM/GRU/RNN, attention projections, ...), the
        ``get_attr`` kernel of an ``F.conv*d`` / ``F.conv_transpose*d`` / ``F.linear``
        call, a ``get_attr`` operand of a matrix product (``@``, ``matmul``, ``mm``,
        ``bmm``, ``addmm``, ...), and any other ``get_attr`` operand with at least two
        dimensions longer than one. Axis 0 is always the output channel: a transposed
        convolution's weight, stored as ``(in, out/groups, *kernel)``, is returned as
        ``(out, in/groups, *kernel)``; the second operand of ``x @ W``, ``(..., K, N)``,
        as ``(N, ..., K)``; the first of ``W @ x``, ``(..., M, K)``, as ``(M, ..., K)``.
        """
        return [np.array(slot.axis.to_channels_first(slot.tensor(self._gm).detach().cpu()
                                                     .numpy()), dtype=np.float32)
                for slot in self._row(name).slots]

    def run(
        self,
        batch: np.ndarray,
        *,
        weight_bits: Mapping[str, int] | None = None,
        activation_bits: Mapping[str, int] | None = None,
    ) -> dict[str, tuple[np.ndarray, ...]]:
        """Run one batch; return every row's output tensors by row name (input included).

        A row's tuple holds every tensor of its output, in order (nested tuples, lists and
        dicts flattened): one for most rows, several for ``torch.split`` or an LSTM, none
        for ``x.size(0)``. Rows in `weight_bits` run with their weights (see
        :meth:`weights`) fake-quantised per output channel; they are swapped into the
        module only while that node runs (rows without weights ignore the entry). Rows in
        `activation_bits` pass their output, each float tensor fake-quantised on its own
        scale, on to their consumers and return it. Quantisation is
        :func:`moosplit.profilers.quantise.quantise`.
        """
        wbits = self._node_bits(weight_bits, "weight_bits")
        abits = self._node_bits(activation_bits, "activation_bits")
        qweights = {row.node: [(slot, self._quantised_weight(row, k, bits))
                               for k, slot in enumerate(row.slots)]
                    for row, bits in wbits if row.slots and bits < REFERENCE_BITS}
        qacts = {row.node if row.node is not None else row.name: bits
                 for row, bits in abits if bits < REFERENCE_BITS}
        x = self._batch_tensor(batch)
        with _inference(self._torch, self._modules):
            return self._runner.outputs_of(x, qweights, qacts)

    def time_nodes(
        self,
        batch: np.ndarray,
        *,
        warmup: int = 3,
        runs: int = 10,
        progress: ProgressCallback | None = None,
    ) -> np.ndarray:
        """Per-row latency (ms) on this host, one thread: median of `runs` timed runs
        after `warmup` untimed ones; row 0 (the input) is 0.

        Rows are timed in onnxruntime, where exported halves run
        (:mod:`moosplit.profilers.torch_timing`). A module the ONNX exporter or
        onnxruntime cannot take is timed in PyTorch instead, node by node in a torch.fx
        interpreter, with a warning; :attr:`timing` says which was done.
        """
        if warmup < 0 or runs < 1:
            raise ValueError(f"time_nodes needs warmup >= 0 and runs >= 1, got "
                             f"warmup={warmup}, runs={runs}")
        x = self._batch_tensor(batch)
        gm, values = self.export_module()
        try:
            ms = time_rows(gm, values, self.graph, x, warmup=warmup, runs=runs,
                           progress=progress)
        except Exception as error:  # the exporter and onnxruntime raise many types
            warnings.warn(f"{self.graph.model}: rows are timed in PyTorch, as the model "
                          f"could not be timed in onnxruntime: {error}", stacklevel=2)
            self.timing = TORCH_TIMING
            return self._time_in_torch(x, warmup, runs, progress)
        self.timing = TIMING_ONNXRUNTIME
        return ms

    def _time_in_torch(self, x: Any, warmup: int, runs: int,
                       progress: ProgressCallback | None) -> np.ndarray:
        """Per-row latency (ms) of PyTorch's kernels, timed node by node with
        ``time.perf_counter_ns`` (argument gathering excluded)."""
        torch = self._torch
        _, timing_cls = _interpreters()
        timer = timing_cls(self._gm, self._rows)
        samples = np.zeros((runs, self.graph.n_rows), dtype=np.int64)
        total = warmup + runs
        report = Reporter(progress, "profile", "runs")
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            with _inference(torch, self._modules):
                for done in range(1, total + 1):
                    elapsed = timer.time_run(x.clone())
                    if done > warmup:
                        samples[done - warmup - 1] = elapsed
                    report(done, total)
        finally:
            torch.set_num_threads(threads)
        ms = np.median(samples, axis=0) / 1e6
        ms[0] = 0.0
        return ms

    def export_module(self, weight_bits: Mapping[str, int] | None = None
                      ) -> tuple[Any, dict[str, RowValue]]:
        """A deep copy of the traced module to export, and where each row's output is in it.

        In the copy, the weights of the rows in `weight_bits` are fake-quantised as
        :meth:`run` would, and the in-place operators :meth:`run` runs out of place are
        made out of place for good. Each row maps to the node of the copy whose value is its
        output (an ``output`` row: the node it returns), how many tensors that value holds
        (0 for a row holding no tensor, such as ``x.size(0)``, or a dict), and whether a
        later operator modifies it in place (then it cannot be sent: the value would be
        read after the change).
        """
        import copy

        gm = copy.deepcopy(self._gm)
        self._quantise_copy(gm, weight_bits)
        nodes = {n.name: n for n in gm.graph.nodes}
        values: dict[str, RowValue] = {}
        for row in self._rows:
            source = row.node if row.node is not None else row.source
            if row.out_of_place:
                _make_out_of_place(gm, nodes[row.node.name], row.out_of_place)
            metas = _tensor_metas(source.meta.get("tensor_meta"))
            flat = not isinstance(source.meta.get("tensor_meta"), dict)
            values[row.name] = RowValue(nodes[source.name], len(metas) if flat else 0,
                                        row.copy)
        gm.recompile()
        return gm, values

    def _quantise_copy(self, gm: Any, weight_bits: Mapping[str, int] | None) -> None:
        """Put the fake-quantised weights of the rows in `weight_bits` into `gm`, a deep
        copy of the traced module."""
        torch = self._torch
        paths = {id(m): name for name, m in self._gm.named_modules()}
        for row, bits in self._node_bits(weight_bits, "weight_bits"):
            if bits >= REFERENCE_BITS:
                continue
            for k, slot in enumerate(row.slots):
                q = self._quantised_weight(row, k, bits).clone()
                target = (f"{paths[id(slot.module)]}.{slot.param}".lstrip(".")
                          if slot.module is not None else str(slot.attr_node.target))
                path, _, leaf = target.rpartition(".")
                owner = gm.get_submodule(path)
                if isinstance(getattr(owner, leaf), torch.nn.Parameter):
                    q = torch.nn.Parameter(q, requires_grad=False)
                setattr(owner, leaf, q)

    # ----------------------------------------------------------------------- helpers

    def _row(self, name: str) -> _Row:
        try:
            return self._by_name[name]
        except KeyError:
            raise ValueError(f"unknown row {name!r}: not a row of {self.graph.model}") from None

    def _node_bits(self, bits: Mapping[str, int] | None, what: str) -> list[tuple[_Row, int]]:
        if not bits:
            return []
        unknown = [n for n in bits if n not in self._by_name]
        if unknown:
            raise ValueError(f"{what}: unknown row name(s) {', '.join(map(repr, unknown))} "
                             f"(not rows of {self.graph.model})")
        out = []
        for name, b in bits.items():
            if int(b) < 2:
                raise ValueError(f"{what}[{name!r}] must be at least 2 bits, got {b}")
            out.append((self._by_name[name], int(b)))
        return out

    def _batch_tensor(self, batch: np.ndarray) -> Any:
        arr = np.asarray(batch)
        expected = self.graph.input_shape[1:]
        if arr.ndim != len(self.graph.input_shape) or arr.shape[1:] != expected:
            raise ValueError(f"batch must have shape (n, {', '.join(map(str, expected))}) for "
                             f"{self.graph.model}, got {arr.shape}")
        vocab = self.graph.input_vocab
        if vocab is not None and (not np.issubdtype(arr.dtype, np.integer) or (
                arr.size and (arr.min() < 0 or arr.max() >= vocab))):
            raise ValueError(f"{self.graph.model} reads token ids: batch must hold integers in "
                             f"[0, {vocab}), got {arr.dtype} values")
        return self._torch.tensor(arr, dtype=self._dtype)  # a copy: in-place ops stay ours

    def _quantised_weight(self, row: _Row, k: int, bits: int) -> Any:
        """The fake-quantised weight `k` of `row`, in the tensor's own layout (cached)."""
        slot = row.slots[k]
        weight = slot.tensor(self._gm)
        key = (row.name, k, bits, id(weight), weight._version)  # a reloaded weight is new
        cached = self._cache.get(key)
        if cached is None:
            w = weight.detach()
            n = w.cpu().numpy()
            q = np.ascontiguousarray(slot.axis.restore(
                quantise(slot.axis.to_channels_first(n), bits, axis=0), n.shape))
            if len(self._cache) >= _QUANTISED_CACHE_SIZE:
                self._cache.pop(next(iter(self._cache)))
            # the entry holds `weight` too, so that its id cannot be reused while cached
            cached = (weight, self._torch.from_numpy(q).to(dtype=w.dtype, device=w.device))
            self._cache[key] = cached
        return cached[1]


# --------------------------------------------------------------------------- rows


@dataclass(frozen=True)
class RowValue:
    """Where a row's output is in the module :meth:`TorchModel.export_module` returns: the
    fx node computing it, the number of tensors its value holds (0: nothing to send), and
    whether a later operator modifies it in place."""

    node: Any
    tensors: int
    modified: bool = False


@dataclass(frozen=True)
class _WeightSlot:
    """Where one quantisable weight of a row lives, and where its output channels are: a
    parameter of the called module (`param`, a dotted name inside `module`) or the value
    of a get_attr node."""

    axis: WeightAxis
    module: Any = None
    param: str = ""
    attr_node: Any = None

    def tensor(self, gm: Any) -> Any:
        """The weight as it is now (read at each use: the module may have been reloaded)."""
        if self.module is not None:
            return self.module.get_parameter(self.param)
        return _fetch_attr(gm, self.attr_node.target)


@dataclass(frozen=True)
class _Row:
    """One profile row: its fx node, name, and how ``run`` treats it. An ``output`` row
    has no node of its own: `source` is the node whose value it returns."""

    node: Any
    name: str
    copy: bool  # the output is later modified in place: record a copy
    slots: tuple[_WeightSlot, ...] = ()
    out_of_place: str | None = None  # an in-place node that run() may run out of place
    source: Any = None


@dataclass(frozen=True)
class _Reading:
    rows: tuple[_Row, ...]
    names: tuple[str, ...]
    ops: tuple[str, ...]
    inputs: tuple[tuple[str, ...], ...]
    out_elems: list[int]
    weight_elems: list[int]
    macs: list[int]
    notes: tuple[str, ...]


def _check_shape(input_shape: Sequence[int]) -> tuple[int, ...]:
    try:
        shape = tuple(int(d) for d in input_shape)
    except (TypeError, ValueError):
        raise ValueError(f"input_shape must be a sequence of positive integers, got "
                         f"{input_shape!r}") from None
    if not shape or min(shape) < 1:
        raise ValueError(f"input_shape must be a non-empty sequence of positive integers "
                         f"(batch first), got {input_shape!r}")
    return shape


def _float_dtype(torch: Any, module: Any) -> Any:
    """The dtype of the module's first float parameter (float32 if it has none)."""
    for p in module.parameters():
        if p.is_floating_point():
            return p.dtype
    return torch.float32


def _symbolic_trace(torch: Any, module: Any) -> Any:
    with _inference(torch, list(module.modules())):
        try:
            return torch.fx.symbolic_trace(module)
        except Exception as exc:
            raise ProfileError(
                f"cannot trace {type(module).__name__} with torch.fx.symbolic_trace "
                f"({type(exc).__name__}: {exc}). The PyTorch profiler needs an fx-traceable "
                "model (no Python control flow on tensor values, one tensor input); "
                "otherwise export it with torch.onnx.export and run "
                "`moosplit profile MODEL.onnx`") from exc


@dataclass
class _Covered:
    """Nodes of the traced model a row's node covers besides itself: removed pass-through
    nodes it reads past (`before`) and a BatchNorm folded into it (`after`)."""

    before: list[str]
    after: list[str]

    def nodes(self, name: str) -> tuple[str, ...]:
        """Every node the row `name` covers, in execution order."""
        return (*self.before, name, *self.after)


def _fold(torch: Any, gm: Any) -> dict[Any, _Covered]:
    """Remove what a runtime does not run, in `gm` only (the model is left unchanged).

    ``Identity`` and (eval-mode) dropout modules are removed, their readers reading their
    input instead (onnxruntime removes them too); each is recorded with its first reader.
    An eval-mode BatchNorm that is the only reader of a convolution or linear module is
    folded into it (both called once; a linear only on 2-D outputs, where BatchNorm1d
    normalises its features) with ``torch.nn.utils.fusion``, and removed. Returns what
    each remaining node covers."""
    from torch.nn.utils.fusion import fuse_conv_bn_eval, fuse_linear_bn_eval

    nn = torch.nn
    calls: dict[str, int] = {}
    for node in gm.graph.nodes:
        if node.op == "call_module":
            calls[node.target] = calls.get(node.target, 0) + 1
    covered: dict[Any, _Covered] = {}

    def record(node: Any) -> _Covered:
        return covered.setdefault(node, _Covered([], []))

    for node in list(gm.graph.nodes):
        if node.op != "call_module" or len(node.args) != 1 or node.kwargs:
            continue
        module, source = gm.get_submodule(node.target), node.args[0]
        if isinstance(module, (nn.Identity, nn.modules.dropout._DropoutNd)):
            readers = list(node.users)
            if not readers or any(r.op == "output" for r in readers):
                continue
            record(readers[0]).before[:0] = [*covered.pop(node, _Covered([], [])).before,
                                             _preferred_name(node)]
        elif (isinstance(module, nn.modules.batchnorm._BatchNorm)
              and module.running_mean is not None and calls[node.target] == 1
              and getattr(source, "op", None) == "call_module"
              and calls[source.target] == 1 and len(source.users) == 1):
            layer = gm.get_submodule(source.target)
            if isinstance(layer, nn.modules.conv._ConvNd):
                merged = fuse_conv_bn_eval(layer, module, transpose=bool(layer.transposed))
            elif (isinstance(layer, nn.Linear) and isinstance(module, nn.BatchNorm1d)
                  and len(_tensor_metas(source.meta.get("tensor_meta"))[0].shape) == 2):
                merged = fuse_linear_bn_eval(layer, module)
            else:
                continue
            parent, _, leaf = source.target.rpartition(".")
            setattr(gm.get_submodule(parent), leaf, merged)
            record(source).after.extend([*covered.pop(node, _Covered([], [])).before,
                                         _preferred_name(node)])
        else:
            continue
        node.replace_all_uses_with(source)
        gm.graph.erase_node(node)
    if covered:
        gm.recompile()
    return covered


def _propagate(torch: Any, gm: Any, example: Any) -> tuple[set[Any], dict[Any, str]]:
    """Run ShapeProp (shapes into ``node.meta``) as ``run`` will run the graph.

    Returns the nodes whose output is modified in place later (directly or through a
    view: ``run`` records a copy of it) and the in-place nodes that can run out of place
    (see :func:`_out_of_place_form`)."""
    placeholders = [n for n in gm.graph.nodes if n.op == "placeholder"]
    if len(placeholders) != 1:
        raise ProfileError(
            f"the PyTorch profiler needs a model with exactly one tensor input, got "
            f"{len(placeholders)} ({', '.join(str(n.target) for n in placeholders) or 'none'})"
            ": wrap it in a module whose forward takes one tensor")
    prop_cls = _shape_prop_class()
    prop = prop_cls(gm)
    try:
        with contextlib.redirect_stderr(io.StringIO()):  # ShapeProp prints its tracebacks
            prop.propagate(example)
    except Exception as exc:
        cause = exc.__cause__ or exc
        # an embedding fed the float example: the model reads token ids
        hint = (" (if the model reads token ids, give their vocabulary: vocab)"
                if example.is_floating_point() and "indices" in str(cause) else "")
        raise ProfileError(
            f"running the traced model on an input of shape {tuple(example.shape)} failed: "
            f"{type(cause).__name__}: {cause}{hint}") from exc
    return {m for changed in prop.mutators.values() for m in changed}, prop.forms


def _read_graph(torch: Any, gm: Any, shape: tuple[int, ...], mutated: set[Any],
                out_of_place: Mapping[Any, str]) -> _Reading:
    """Rows, names, structure and costs of a traced, shape-propagated graph."""
    nodes = [n for n in gm.graph.nodes
             if n.op in ("placeholder", "call_module", "call_function", "call_method")]
    names = _unique_names([_preferred_name(n) for n in nodes])  # output rows: appended
    row_of = dict(zip(nodes, names, strict=True))
    batch = shape[0]
    seen: set[int] = set()
    calls: dict[str, list[str]] = {}
    unknown: dict[str, list[str]] = {}
    unquantised: list[str] = []
    rows, ops, inputs, outs, weights, macs = [], [], [], [], [], []
    for node, name in zip(nodes, names, strict=True):
        module = gm.get_submodule(node.target) if node.op == "call_module" else None
        if module is not None:
            calls.setdefault(node.target, []).append(name)
        owned = _claim_tensors(torch, gm, node, module, seen)
        slots, left = _weight_slots(torch, gm, node, module, owned)
        if left:
            unquantised.append(f"{name} ({', '.join('x'.join(map(str, t.shape)) for t in left)})")
        op, total_macs = ("input", 0) if node.op == "placeholder" else _classify(node, module)
        out_total = _numel(node.meta.get("tensor_meta"))
        if total_macs is None:
            total_macs = out_total
            if out_total:
                unknown.setdefault(op, []).append(name)
        rows.append(_Row(node, name, node in mutated, slots, out_of_place.get(node)))
        ops.append(op)
        inputs.append(_row_inputs(node, row_of, names[0]))
        outs.append(-(-out_total // batch))
        weights.append(sum(t.numel() for t in owned))
        macs.append(-(-int(total_macs) // batch))
    notes = [f"no MAC formula for operator {op!r} (rows {', '.join(rows_)}): counted one MAC "
             "per output element" for op, rows_ in unknown.items()]
    notes += [f"module {target!r} is called {len(rows_)} times (rows {', '.join(rows_)}): its "
              f"parameters are counted and quantised at its first call only"
              for target, rows_ in calls.items()
              if len(rows_) > 1 and weights[names.index(rows_[0])] > 0]
    if unquantised:
        notes.append(f"weights counted in weight_elems but not quantised, so werr leaves them "
                     f"out, in {len(unquantised)} row(s): {', '.join(unquantised)}")
    sources, constant = _output_sources(gm, row_of)
    for source in sources:  # zero-cost output rows, appended
        name = _unique_names([*names, f"output:{row_of[source]}"])[-1]
        names.append(name)
        rows.append(_Row(None, name, False, source=source))
        ops.append("output")
        inputs.append((row_of[source],))
        outs.append(outs[nodes.index(source)])
        weights.append(0)
        macs.append(0)
    if sources:
        inside = [row_of[n] for n in sources if n.op != "placeholder"]
        parts = ([f"{', '.join(inside)} also read by other rows"] if inside else []) + (
            [f"{names[0]} the input itself"] if len(inside) < len(sources) else [])
        notes.append(f"returned value(s) of row(s) {'; '.join(parts)}: each is a zero-cost "
                     "row of op 'output' (output:ROW) reading it, so that it counts as a "
                     "model output")
    if constant:
        notes.append(f"model output(s) {', '.join(constant)} do not depend on the input "
                     "(constants): no row computes them and the profile leaves them out")
    return _Reading(tuple(rows), tuple(names), tuple(ops), tuple(inputs), outs, weights, macs,
                    tuple(notes))


def _output_sources(gm: Any, row_of: Mapping[Any, str]) -> tuple[list[Any], list[str]]:
    """The row nodes that need an ``output`` row (returned by ``forward`` and read by other
    rows too, or the input itself), and the returned ``get_attr`` tensors (constants)."""
    from torch.fx.node import map_arg

    returned: list[Any] = []
    for node in gm.graph.nodes:
        if node.op == "output":
            map_arg(node.args, lambda a: returned.append(a) or a)
    returned = list(dict.fromkeys(returned))
    sources = [n for n in returned if n in row_of and (
        n.op == "placeholder" or any(u.op != "output" for u in n.users))]
    return sources, [str(n.target) for n in returned if n.op == "get_attr"]


def _preferred_name(node: Any) -> str:
    if node.op in ("call_module", "placeholder"):
        name = str(node.target).lstrip("*")
    else:
        name = node.name
    return re.sub(r"\s+", "_", name) or node.name


def _unique_names(preferred: list[str]) -> list[str]:
    """`preferred`, with repeats renamed ``<name>_<k>`` (never clashing with another name)."""
    taken: set[str] = set()
    wanted = set(preferred)
    out = []
    for name in preferred:
        unique, k = name, 0
        while unique in taken or (unique != name and unique in wanted):
            k += 1
            unique = f"{name}_{k}"
        taken.add(unique)
        out.append(unique)
    return out


def _row_inputs(node: Any, row_of: Mapping[Any, str], input_row: str) -> tuple[str, ...]:
    if node.op == "placeholder":
        return ()
    preds = dict.fromkeys(row_of[a] for a in node.all_input_nodes if a in row_of)
    return tuple(preds) or (input_row,)


_IN_PLACE_OPERATORS = {"iadd": "add", "isub": "sub", "imul": "mul", "itruediv": "truediv",
                       "ifloordiv": "floordiv", "ipow": "pow", "iand": "and_", "ior": "or_"}


def _out_of_place_form(torch: Any, gm: Any, node: Any) -> str | None:
    """How in-place `node` can run out of place, if it may, else None.

    An in-place operator modifies its first argument only. When nothing else reads that
    argument (and, checked while running, no other output shares its storage), running it
    out of place changes no value and spares copying the argument's recorded output. Forms:
    ``module`` (a module whose ``inplace`` is True), ``kwarg`` (``inplace=True``),
    ``method`` (``x.relu_()``), ``operator`` (``x += y`` on a tensor).
    """
    if node.op not in ("call_module", "call_function", "call_method") or not node.args:
        return None
    first = node.args[0]
    if getattr(first, "op", "get_attr") == "get_attr" or len(first.users) != 1:
        return None
    if node.op == "call_module":
        module = gm.get_submodule(node.target)
        return "module" if getattr(module, "inplace", None) is True else None
    if node.kwargs.get("inplace") is True:
        return "kwarg"
    if node.op == "call_method":
        name = str(node.target)
        in_place = name.endswith("_") and not name.endswith("__")
        return "method" if in_place and hasattr(torch.Tensor, name[:-1]) else None
    if getattr(node.target, "__name__", "") in _IN_PLACE_OPERATORS:
        return "operator"
    return None


def _run_out_of_place(interpreter: Any, n: Any, form: str) -> Any:
    """Run in-place node `n` out of place (a form of :func:`_out_of_place_form`)."""
    args, kwargs = interpreter.fetch_args_kwargs_from_env(n)
    if form == "module":
        module = interpreter.fetch_attr(n.target)
        module.inplace = False
        try:
            return module(*args, **kwargs)
        finally:
            module.inplace = True
    if form == "kwarg":
        return getattr(interpreter, n.op)(n.target, args, {**kwargs, "inplace": False})
    if form == "method":
        return getattr(args[0], n.target[:-1])(*args[1:], **kwargs)
    return getattr(operator, _IN_PLACE_OPERATORS[n.target.__name__])(*args, **kwargs)


def _make_out_of_place(gm: Any, n: Any, form: str) -> None:
    """Rewrite in-place node `n` of `gm` to run out of place, for good (a form of
    :func:`_out_of_place_form`; see :func:`_run_out_of_place` for running it so once)."""
    if form == "module":
        gm.get_submodule(n.target).inplace = False
    elif form == "kwarg":
        n.kwargs = {**n.kwargs, "inplace": False}
    elif form == "method":
        n.target = n.target[:-1]
    else:
        n.target = getattr(operator, _IN_PLACE_OPERATORS[n.target.__name__])


def _fetch_attr(gm: Any, target: str) -> Any:
    value = gm
    for part in target.split("."):
        value = getattr(value, part)
    return value


def _claim_tensors(torch: Any, gm: Any, node: Any, module: Any, seen: set[int]) -> list[Any]:
    """The float tensors that `node` owns, not counted at an earlier row (marks them seen)."""
    candidates: list[Any] = []
    if module is not None:
        candidates += [*module.parameters(), *module.buffers()]
    for arg in node.all_input_nodes:
        if arg.op == "get_attr":
            candidates.append(_fetch_attr(gm, arg.target))
    owned = []
    for t in candidates:
        if isinstance(t, torch.Tensor) and t.is_floating_point() and id(t) not in seen:
            seen.add(id(t))
            owned.append(t)
    return owned


_FUNCTIONAL_WEIGHTED = re.compile(r"conv[123]d|linear")
_FUNCTIONAL_TRANSPOSED = re.compile(r"convtranspose[123]d")
_MATRIX_PRODUCTS = {  # kind -> (position, keyword) of the left and the right matrix
    "matmul": ((0, "input"), (1, "other")), "mm": ((0, "input"), (1, "mat2")),
    "bmm": ((0, "input"), (1, "mat2")), "addmm": ((1, "mat1"), (2, "mat2")),
    "baddbmm": ((1, "batch1"), (2, "batch2")), "addbmm": ((1, "batch1"), (2, "batch2"))}


def _long_axes(shape: Sequence[int]) -> int:
    """Dimensions longer than one (a bias or a scale vector has at most one)."""
    return sum(int(d) > 1 for d in shape)


def _arg(node: Any, position: int, keyword: str, default: Any = None) -> Any:
    if len(node.args) > position:
        return node.args[position]
    return node.kwargs.get(keyword, default)


def _weight_slots(torch: Any, gm: Any, node: Any, module: Any,
                  owned: list[Any]) -> tuple[tuple[_WeightSlot, ...], list[Any]]:
    """The row's quantisable weights (see :meth:`TorchModel.weights`), and the tensors it
    owns that have two or more dimensions longer than one but are not quantised."""
    owned_ids = {id(t) for t in owned}
    slots: list[_WeightSlot] = []
    if module is not None:
        transposed = bool(getattr(module, "transposed", False))
        for param, p in module.named_parameters():
            if id(p) in owned_ids and p.ndim >= 2:
                axis = WeightAxis(1, int(module.groups)) if transposed and param == "weight" \
                    else WeightAxis(0)
                slots.append(_WeightSlot(axis, module=module, param=param))
    elif node.op in ("call_function", "call_method"):
        kind = _kind(node, None)
        known: list[tuple[Any, WeightAxis]] = []
        if _FUNCTIONAL_WEIGHTED.fullmatch(kind):
            known = [(_arg(node, 1, "weight"), WeightAxis(0))]
        elif _FUNCTIONAL_TRANSPOSED.fullmatch(kind):
            known = [(_arg(node, 1, "weight"), WeightAxis(1, int(_arg(node, 6, "groups", 1))))]
        elif kind in _MATRIX_PRODUCTS:
            (left, left_kw), (right, right_kw) = _MATRIX_PRODUCTS[kind]
            known = [(_arg(node, left, left_kw), WeightAxis(-2)),
                     (_arg(node, right, right_kw), WeightAxis(-1))]
        generic = [(arg, None) for arg in node.all_input_nodes]
        done: set[int] = set()
        for arg, axis in known + generic:
            if getattr(arg, "op", None) != "get_attr":
                continue
            w = _fetch_attr(gm, arg.target)
            if id(w) not in owned_ids or id(w) in done:
                continue
            if (w.ndim >= 2) if axis is not None else (_long_axes(w.shape) >= 2):
                slots.append(_WeightSlot(axis or WeightAxis(0), attr_node=arg))
                done.add(id(w))
    quantised = {id(slot.tensor(gm)) for slot in slots}
    left = [t for t in owned if id(t) not in quantised and _long_axes(t.shape) >= 2]
    return tuple(slots), left


# --------------------------------------------------------------------------- operators

_ALIASES = {"iadd": "add", "isub": "sub", "imul": "mul", "truediv": "div", "itruediv": "div",
            "floordiv": "div", "cat": "concat", "concatenate": "concat", "mm": "matmul",
            "bmm": "matmul", "addmm": "matmul", "baddbmm": "matmul"}
_ELEMENTWISE = frozenset(
    "add sub rsub mul div neg abs exp log sqrt rsqrt pow square reciprocal clamp clip "
    "clampmin clampmax maximum minimum where maskedfill relu relu6 leakyrelu prelu rrelu "
    "gelu silu sigmoid tanh hardswish hardsigmoid hardtanh elu selu celu mish softplus "
    "softsign logsigmoid tanhshrink threshold erf sin cos floor ceil round sign eq ne lt gt "
    "le ge bn".split())
_ZERO_MACS = frozenset(
    "view reshape flatten unflatten concat stack getitem getattr size dim numel permute "
    "transpose t contiguous dropout identity squeeze unsqueeze expand expandas split chunk "
    "unbind narrow select repeat tile to type float half double detach clone pad embedding "
    "pixelshuffle pixelunshuffle channelshuffle flip roll movedim viewas reshapeas zeros "
    "ones zeroslike oneslike full fulllike arange".split())
_REDUCTIONS = frozenset("mean sum amax amin max min prod argmax argmin".split())
_NORMS = re.compile(r"layernorm|groupnorm|instancenorm([123]d)?")
_SOFTMAX = frozenset({"softmax", "logsoftmax", "softmin"})
_PAD = re.compile(r"(zero|constant|reflection|replication|circular)pad[123]d")
_DROPOUT = re.compile(r"(feature)?(alpha)?dropout([123]d)?")
_BATCHNORM = re.compile(r"(lazy)?(sync)?batchnorm([123]d)?")
_CONV = re.compile(r"(lazy)?conv([123])d")
_CONV_T = re.compile(r"(lazy)?convtranspose([123])d")
_POOL = re.compile(r"(max|avg|lp)pool([123])d")
_ADAPTIVE_POOL = re.compile(r"adaptive(max|avg)pool[123]d")


def _kind(node: Any, module: Any) -> str:
    """A canonical lowercase operator name: class, function or method name, no ``_``."""
    if module is not None:
        raw = type(module).__name__
    elif node.op == "call_function":
        raw = getattr(node.target, "__name__", str(node.target))
    else:
        raw = str(node.target)
    return raw.strip("_").lower().replace("_", "")


def _classify(node: Any, module: Any) -> tuple[str, int | None]:
    """The row's op and its MACs for the whole batch (None: no formula known)."""
    kind = _kind(node, module)
    out = _numel(node.meta.get("tensor_meta"))
    shapes = _tensor_arg_shapes(node)
    if _CONV.fullmatch(kind):
        return _conv(node, module, out, shapes)
    if _CONV_T.fullmatch(kind):
        per_input = (module.out_channels // module.groups * _prod(module.kernel_size)
                     if module is not None else _weight_per_output(shapes))
        return "convtranspose", _prod(shapes[0]) * per_input if shapes else None
    if _BATCHNORM.fullmatch(kind):
        return "bn", out
    if m := _POOL.fullmatch(kind):
        kernel = _pool_kernel(node, module, kind)
        return "pool", None if kernel is None else out * _kernel_elems(kernel, int(m[2]))
    if _ADAPTIVE_POOL.fullmatch(kind):
        return "pool", _prod(shapes[0]) if shapes else None
    if _DROPOUT.fullmatch(kind) or _PAD.fullmatch(kind):
        return kind if _PAD.fullmatch(kind) else "dropout", 0
    op = _ALIASES.get(kind, kind)
    if op == "linear":
        inner = module.in_features if module is not None else _last_dim(shapes, 1)
        return op, None if inner is None else out * inner
    if op == "matmul":
        return op, None if len(shapes) < 2 else out * shapes[-2][-1]
    if op == "scaleddotproductattention" and len(shapes) >= 3:
        q, k, v = shapes[:3]
        return "attention", _prod(q[:-1]) * k[-2] * (q[-1] + v[-1] + 3)
    if op == "multiheadattention" and module is not None and len(shapes) >= 3:
        return op, _multihead_attention(module, shapes)
    if op in _ZERO_MACS:
        return op, 0
    if op in _ELEMENTWISE:
        return op, out
    if op in _REDUCTIONS:
        return op, _prod(shapes[0]) if shapes else out
    if op in _SOFTMAX:
        return op, 3 * out
    if _NORMS.fullmatch(op):
        return op, 4 * out
    if op == "rmsnorm":
        return op, 3 * out
    return op, None


def _multihead_attention(module: Any, shapes: list[tuple[int, ...]]) -> int:
    """MACs of an ``nn.MultiheadAttention`` call on (query, key, value): the four
    projections, ``QK^T`` and ``xV`` (one MAC per score and embedding channel each) and
    softmax (three per score and head); averaging returned attention weights is not
    counted."""
    q, k = shapes[0], shapes[1]
    embed, heads = module.embed_dim, module.num_heads
    batch = 1 if len(q) < 3 else q[0] if module.batch_first else q[1]
    queries, keys = _prod(q[:-1]), _prod(k[:-1])  # over the batch
    projections = queries * embed * embed * 2 + keys * embed * (module.kdim + module.vdim)
    return projections + queries * (keys // batch) * (2 * embed + 3 * heads)


def _conv(node: Any, module: Any, out: int, shapes: list[tuple[int, ...]]
          ) -> tuple[str, int | None]:
    if module is not None:
        depthwise = module.groups == module.in_channels > 1
        per_output = module.in_channels // module.groups * _prod(module.kernel_size)
        return ("dwconv" if depthwise else "conv"), out * per_output
    if len(shapes) < 2:
        return "conv", None
    weight, channels = shapes[1], shapes[0][1] if len(shapes[0]) > 1 else 1
    depthwise = weight[1] == 1 and channels > 1
    return ("dwconv" if depthwise else "conv"), out * _weight_per_output(shapes)


def _weight_per_output(shapes: list[tuple[int, ...]]) -> int:
    """Elements of the weight (second tensor argument) per output channel."""
    return _prod(shapes[1][1:]) if len(shapes) > 1 else 0


def _last_dim(shapes: list[tuple[int, ...]], index: int) -> int | None:
    return shapes[index][-1] if len(shapes) > index and shapes[index] else None


def _pool_kernel(node: Any, module: Any, kind: str) -> Any:
    if module is not None:
        return module.kernel_size
    position = 2 if kind.startswith("lp") else 1
    if "kernel_size" in node.kwargs:
        return node.kwargs["kernel_size"]
    return node.args[position] if len(node.args) > position else None


def _kernel_elems(kernel: Any, dims: int) -> int:
    if isinstance(kernel, int):
        return kernel**dims
    return _prod(kernel)


def _prod(values: Any) -> int:
    if isinstance(values, int):
        return values
    return math.prod(int(v) for v in values)


def _tensor_metas(meta: Any) -> list[Any]:
    """The TensorMetadata records inside a (possibly nested) ShapeProp meta."""
    from torch.fx.passes.shape_prop import TensorMetadata

    if isinstance(meta, TensorMetadata):
        return [meta]
    if isinstance(meta, (tuple, list)):
        return [t for item in meta for t in _tensor_metas(item)]
    if isinstance(meta, dict):
        return [t for item in meta.values() for t in _tensor_metas(item)]
    return []


def _numel(meta: Any) -> int:
    return sum(_prod(m.shape) for m in _tensor_metas(meta))


def _tensor_arg_shapes(node: Any) -> list[tuple[int, ...]]:
    """Shapes of the node's tensor-valued arguments, in order (args, then kwargs)."""
    from torch.fx.node import map_arg

    args: list[Any] = []
    map_arg((node.args, node.kwargs), lambda a: args.append(a) or a)  # repeats kept
    shapes = []
    for arg in args:
        metas = _tensor_metas(arg.meta.get("tensor_meta"))
        if len(metas) == 1:
            shapes.append(tuple(int(d) for d in metas[0].shape))
    return shapes


# --------------------------------------------------------------------------- execution


@contextlib.contextmanager
def _inference(torch: Any, modules: list[Any]) -> Iterator[None]:
    """Eval mode and no autograd for the duration; the modules' own flags are restored."""
    training = [m for m in modules if m.training]
    for m in training:
        m.training = False
    try:
        with torch.no_grad():
            yield
    finally:
        for m in training:
            m.training = True


def _map_tensors(torch: Any, value: Any, fn: Callable[[Any], Any]) -> Any:
    if isinstance(value, torch.Tensor):
        return fn(value)
    if isinstance(value, (tuple, list)):
        mapped = [_map_tensors(torch, v, fn) for v in value]
        return value._make(mapped) if hasattr(value, "_make") else type(value)(mapped)
    if isinstance(value, dict):
        return {k: _map_tensors(torch, v, fn) for k, v in value.items()}
    return value


def _flat_tensors(torch: Any, value: Any) -> list[Any]:
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, (tuple, list)):
        return [t for v in value for t in _flat_tensors(torch, v)]
    if isinstance(value, dict):
        return [t for v in value.values() for t in _flat_tensors(torch, v)]
    return []


def _to_numpy(torch: Any, value: Any, copy: bool) -> tuple[np.ndarray, ...]:
    """A row's output as the tuple of its tensors in numpy (copies if `copy`)."""
    arrays = (t.detach().cpu().numpy() for t in _flat_tensors(torch, value))
    return tuple(a.copy() if copy else a for a in arrays)


@functools.cache
def _out_of_place_interpreter() -> type:
    """An fx.Interpreter that runs the nodes in its ``forms`` out of place."""
    torch = _torch()

    class _OutOfPlaceInterpreter(torch.fx.Interpreter):
        forms: Mapping[Any, str] = {}

        def run_node(self, n: Any) -> Any:
            form = self.forms.get(n)
            return super().run_node(n) if form is None else _run_out_of_place(self, n, form)

    return _OutOfPlaceInterpreter


@functools.cache
def _shape_prop_class() -> type:
    torch = _torch()
    from torch.fx.passes.shape_prop import ShapeProp

    class _VersionedShapeProp(ShapeProp, _out_of_place_interpreter()):
        """ShapeProp that chooses the in-place nodes to run out of place, runs them so, and
        notes which nodes still modify earlier outputs in place.

        It watches the version counters (shared by a tensor and its views) of every output,
        holding them all as ``run`` does (weak references would lose a tensor whose storage
        lives on in a detached alias).
        """

        def __init__(self, gm: Any) -> None:
            super().__init__(gm)
            self.forms: dict[Any, str] = {}
            self.versions: dict[Any, list[tuple[Any, int]]] = {}  # node -> (tensor, version)
            self.mutators: dict[Any, set[Any]] = {}

        def run_node(self, n: Any) -> Any:
            form = _out_of_place_form(torch, self.module, n)
            if form is not None and self._storage_is_private(n.args[0]):
                self.forms[n] = form
            result = super().run_node(n)
            changed = {m for m, seen in self.versions.items()
                       if any(t._version != v for t, v in seen)}
            for m in changed:
                self.versions[m] = [(t, t._version) for t, _ in self.versions[m]]
            if changed:
                self.mutators[n] = changed
            self.versions[n] = [(t, t._version) for t in _flat_tensors(torch, result)]
            return result

        def _storage_is_private(self, arg: Any) -> bool:
            """Whether `arg`'s output is a tensor sharing storage with no other output."""
            value = self.env.get(arg)
            if not isinstance(value, torch.Tensor):
                return False
            ptr = value.untyped_storage().data_ptr()
            return not any(m is not arg and t.untyped_storage().data_ptr() == ptr
                           for m, seen in self.versions.items() for t, _ in seen)

    return _VersionedShapeProp


@functools.cache
def _interpreters() -> tuple[type, type]:
    """The fx.Interpreter subclasses behind ``run`` and ``time_nodes`` (made on first use,
    so that this module imports without torch)."""
    torch = _torch()

    class _QuantisingInterpreter(_out_of_place_interpreter()):
        """Runs the graph, swapping in quantised weights and quantising outputs per row."""

        def __init__(self, gm: Any, rows: tuple[_Row, ...]) -> None:
            super().__init__(gm)
            self.rows = {row.node: row for row in rows if row.node is not None}
            self.output_rows = [row for row in rows if row.node is None]
            self.forms = {row.node: row.out_of_place for row in rows if row.out_of_place}
            self.weights: dict[Any, list[tuple[_WeightSlot, Any]]] = {}
            self.activation_bits: dict[Any, int] = {}
            self.outputs: dict[str, tuple[np.ndarray, ...]] = {}

        def outputs_of(self, x: Any, weights: dict[Any, list[tuple[_WeightSlot, Any]]],
                       activation_bits: dict[Any, int]) -> dict[str, tuple[np.ndarray, ...]]:
            """Row outputs; `activation_bits` is keyed by node (output rows: by name)."""
            self.weights, self.activation_bits, self.outputs = weights, activation_bits, {}
            try:
                self.run(x)
                return self.outputs
            finally:
                self.weights, self.activation_bits, self.outputs = {}, {}, {}
                self.env = {}

        def run_node(self, n: Any) -> Any:
            if n.op == "output":
                for row in self.output_rows:  # the values forward returns
                    self._record(row, self.env[row.source], self.activation_bits.get(row.name))
            row = self.rows.get(n)
            if row is None:
                return super().run_node(n)
            q = self.weights.get(n)
            out = super().run_node(n) if q is None else self._with_weights(n, q)
            return self._record(row, out, self.activation_bits.get(n))

        def _record(self, row: _Row, out: Any, bits: int | None) -> Any:
            if bits is not None:
                out = _map_tensors(torch, out, functools.partial(_quantise_tensor, bits=bits))
            self.outputs[row.name] = _to_numpy(torch, out, row.copy)
            return out

        def _with_weights(self, n: Any, quantised: list[tuple[_WeightSlot, Any]]) -> Any:
            swapped: list[tuple[Any, Any, Any]] = []  # (module or None, key, original)
            try:
                for slot, q in quantised:
                    if slot.module is None:
                        swapped.append((None, slot.attr_node, self.env[slot.attr_node]))
                        self.env[slot.attr_node] = q
                        continue
                    path, _, leaf = slot.param.rpartition(".")
                    owner = slot.module.get_submodule(path)
                    swapped.append((owner, leaf, owner._parameters[leaf]))
                    # setattr, not _parameters[...]: LSTM & co. keep their own weight list
                    setattr(owner, leaf, torch.nn.Parameter(q, requires_grad=False))
                return super().run_node(n)
            finally:
                for owner, key, original in reversed(swapped):
                    if owner is None:
                        self.env[key] = original
                    else:
                        setattr(owner, key, original)

    class _TimingInterpreter(torch.fx.Interpreter):
        """Runs the graph, timing each row's own execution in nanoseconds."""

        def __init__(self, gm: Any, rows: tuple[_Row, ...]) -> None:
            super().__init__(gm)
            self.index = {row.node: i for i, row in enumerate(rows) if row.node is not None}
            self.n_rows = len(rows)
            self.elapsed = np.zeros(len(rows), dtype=np.int64)

        def time_run(self, x: Any) -> np.ndarray:
            self.elapsed = np.zeros(self.n_rows, dtype=np.int64)
            self.run(x)
            self.env = {}
            return self.elapsed

        def run_node(self, n: Any) -> Any:
            i = self.index.get(n)
            if i is None or n.op == "placeholder":
                return super().run_node(n)
            args, kwargs = self.fetch_args_kwargs_from_env(n)
            start = time.perf_counter_ns()
            out = getattr(self, n.op)(n.target, args, kwargs)
            self.elapsed[i] = time.perf_counter_ns() - start
            return out

    def _quantise_tensor(t: Any, bits: int) -> Any:
        if not t.is_floating_point():
            return t
        q = quantise(t.detach().cpu().numpy(), bits)
        return torch.from_numpy(q).to(dtype=t.dtype, device=t.device)

    return _QuantisingInterpreter, _TimingInterpreter
