"""Activation fusion: one profile row per deployed kernel, shared by both front ends.

Runtimes run an element-wise activation (ReLU, ReLU6/Clip, HardSwish, SiLU, GELU, ...) as
the epilogue of the kernel that produces its input, so its output is the only tensor that
kernel writes. :func:`fusion_groups` finds these groups in a
:class:`~moosplit.profilers.graph.LayerGraph` and :func:`fuse_activations` wraps a
:class:`~moosplit.profilers.graph.ModelRunner` so that each group is one row. BatchNorm
folding happens before, in each front end (it changes the weights, not only the rows).

The rule, applied to rows in table order:

- An **absorber** (op in :data:`ABSORBERS`: convolutions, linear layers and matrix
  products, an unfolded BatchNorm, and binary element-wise arithmetic such as a residual
  ``add``) that is not yet in a group starts one.
- The group grows by every row whose op is in :data:`EPILOGUE` (activations, and
  element-wise arithmetic on the group's own values and constants), that has no weights,
  has the absorber's ``out_elems`` (element-wise: nothing broadcast bigger) and reads only
  rows of the group. This takes decomposed activations whole: ONNX's HardSwish written
  ``x * clip(x + 3, 0, 6) / 6`` (four nodes reading the convolution twice) and SiLU
  written ``x * sigmoid(x)``.
- A zero padding (ZeroPad2d and its kin) whose one reader is a convolution reading it
  alone joins that convolution's group, first: the convolution pads its own input (what
  onnxruntime's basic optimisations do to a constant zero Pad before a Conv, so the ONNX
  front end never sees it as a row).
- It is cut back to its longest prefix (in table order) whose last row is the only one
  read from outside the group or a model output: the kernel writes one tensor, so no
  intermediate (the pre-activation tensor, say) may be needed elsewhere. A producer read by
  anything besides its activation is therefore never fused.

The fused row takes the absorber's name and op (:func:`main_row`); its ``out_elems`` are
the last row's (the tensor the kernel writes), ``weight_elems`` and ``macs`` the sum over
the group, and ``fused`` every model node of its rows (what they had fused, or
themselves), in order.
Its weights are the absorber's, quantising its activation quantises the last row's output,
and its latency is the sum of its rows' measured times (each front end times nodes one by
one).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ..progress import ProgressCallback
from .graph import LayerGraph, ModelRunner

ACTIVATIONS = frozenset(
    "relu relu6 clip clamp clampmin clampmax hardtanh hardswish hardsigmoid silu swish gelu "
    "sigmoid tanh leakyrelu elu selu celu mish softplus softsign logsigmoid tanhshrink "
    "threshold thresholdedrelu erf".split())
"""Element-wise activations (torch front end kinds and ONNX operator names, lower case)."""

EPILOGUE = ACTIVATIONS | frozenset("add sub rsub mul div neg pow sqrt rsqrt reciprocal".split())
"""Ops a group may take in after its absorber (weightless, element-wise)."""

ABSORBERS = frozenset(
    "conv dwconv convtranspose linear matmul gemm bn batchnorm add sub mul div".split())
"""Ops that start a group: kernels that run an activation as their epilogue."""

PADS = frozenset("zeropad1d zeropad2d zeropad3d".split())
"""Zero padding, which a convolution reading it alone takes in as its own padding (as
onnxruntime's basic optimisations do with a constant zero Pad before a Conv)."""

PADDED = frozenset({"conv", "dwconv"})
"""Ops that take in a zero padding they alone read."""


def fusion_groups(graph: LayerGraph) -> list[tuple[int, ...]]:
    """Row indices of each fused row, in table order (every row is in exactly one group).

    Example:
        >>> g = LayerGraph(model="toy", names=("x", "conv", "relu", "pool"),
        ...                ops=("input", "conv", "relu", "pool"),
        ...                inputs=((), ("x",), ("conv",), ("relu",)),
        ...                out_elems=[4, 8, 8, 2], weight_elems=[0, 9, 0, 0],
        ...                macs=[0, 72, 8, 8], input_shape=(1, 4))
        >>> fusion_groups(g)
        [(0,), (1, 2), (3,)]
    """
    index = {name: k for k, name in enumerate(graph.names)}
    inputs = [frozenset(index[p] for p in preds) for preds in graph.inputs]
    readers: list[list[int]] = [[] for _ in graph.names]
    for k, preds in enumerate(inputs):
        for p in preds:
            readers[p].append(k)
    grouped: set[int] = set()
    groups: list[tuple[int, ...]] = []
    for k in range(graph.n_rows):
        if k in grouped:
            continue
        pad = [k] if _pads_alone(graph, k, inputs, readers) else []
        head = readers[k][0] if pad else k
        members = [head]
        if head > 0 and graph.ops[head] in ABSORBERS:
            members = _prefix(_grow(graph, head, inputs, readers, grouped), readers)
        grouped.update(pad + members)
        groups.append(tuple(pad + members))
    return groups


def main_row(graph: LayerGraph, group: Sequence[int]) -> int:
    """The row a group is named after and takes its op and weights from: its first row
    that is not a padding it took in."""
    return next((m for m in group if graph.ops[m] not in PADS), group[0])


def _pads_alone(graph: LayerGraph, k: int, inputs: Sequence[frozenset[int]],
                readers: Sequence[Sequence[int]]) -> bool:
    """Whether row `k` is a zero padding whose one reader is a convolution reading it
    alone (the convolution takes it in)."""
    return (graph.ops[k] in PADS and len(readers[k]) == 1
            and graph.ops[readers[k][0]] in PADDED and inputs[readers[k][0]] == {k})


def _grow(graph: LayerGraph, head: int, inputs: Sequence[frozenset[int]],
          readers: Sequence[Sequence[int]], grouped: set[int]) -> list[int]:
    """`head` and every epilogue row reading only the group, in table order."""
    members = {head}
    frontier = [head]
    while frontier:
        for r in readers[frontier.pop()]:
            if (r not in members and r not in grouped and graph.ops[r] in EPILOGUE
                    and graph.weight_elems[r] == 0
                    and graph.out_elems[r] == graph.out_elems[head]
                    and inputs[r] <= members):
                members.add(r)
                frontier.append(r)
    return sorted(members)


def _prefix(members: list[int], readers: Sequence[Sequence[int]]) -> list[int]:
    """The longest prefix of `members` whose last row alone is read outside it or is a
    model output (a row no one reads)."""
    for end in range(len(members), 1, -1):
        inside = set(members[:end])
        exits = [m for m in members[:end]
                 if not readers[m] or any(r not in inside for r in readers[m])]
        if exits == [members[end - 1]]:
            return members[:end]
    return members[:1]


def fused_graph(graph: LayerGraph, groups: Sequence[tuple[int, ...]]) -> LayerGraph:
    """`graph` with each group of :func:`fusion_groups` as one row (see the module notes)."""
    main = [main_row(graph, g) for g in groups]
    name_of = {graph.names[m]: graph.names[h] for g, h in zip(groups, main, strict=True)
               for m in g}
    inputs, fused = [], []
    for g, h in zip(groups, main, strict=True):
        reads = [name_of[p] for m in g for p in graph.inputs[m]]
        inputs.append(tuple(dict.fromkeys(p for p in reads if p != graph.names[h])))
        nodes = tuple(n for m in g for n in graph.fused[m] or (graph.names[m],))
        fused.append(nodes if len(nodes) > 1 else ())
    return LayerGraph(
        model=graph.model, names=tuple(graph.names[h] for h in main),
        ops=tuple(graph.ops[h] for h in main), inputs=tuple(inputs),
        out_elems=[graph.out_elems[g[-1]] for g in groups],
        weight_elems=[int(graph.weight_elems[list(g)].sum()) for g in groups],
        macs=[int(graph.macs[list(g)].sum()) for g in groups],
        input_shape=graph.input_shape, notes=graph.notes, fused=tuple(fused),
        input_vocab=graph.input_vocab)


def fuse_activations(runner: ModelRunner) -> ModelRunner:
    """`runner` with activations fused into their producers (:func:`fusion_groups`); the
    runner itself when no row fuses."""
    groups = fusion_groups(runner.graph)
    if len(groups) == runner.graph.n_rows:
        return runner
    return FusedModel(runner, groups)


def fused_metadata(graph: LayerGraph) -> str | None:
    """The profile's ``fused`` metadata value: ``ROW <- NODE NODE ...; ...`` for every row
    that covers several of the model's nodes, listing them in execution order (the row
    included; the last one's output is the row's tensor; names never hold whitespace), or
    None when no row does.

    Example:
        >>> g = LayerGraph(model="toy", names=("x", "conv"), ops=("input", "conv"),
        ...                inputs=((), ("x",)), out_elems=[4, 8], weight_elems=[0, 9],
        ...                macs=[0, 72], input_shape=(1, 4), fused=((), ("conv", "bn", "relu")))
        >>> fused_metadata(g)
        'conv <- conv bn relu'
    """
    parts = [f"{name} <- {' '.join(f)}" for name, f in zip(graph.names, graph.fused,
                                                            strict=True) if f]
    return "; ".join(parts) or None


class FusedModel:
    """A :class:`~moosplit.profilers.graph.ModelRunner` whose rows are groups of another's.

    Made by :func:`fuse_activations`. Weights are the group's first row's, an activation
    bit-width applies to its last row's output, and a row's time is the sum of its rows'.
    """

    def __init__(self, runner: ModelRunner, groups: Sequence[tuple[int, ...]]) -> None:
        self.inner = runner
        self.groups = tuple(tuple(g) for g in groups)
        self.graph = fused_graph(runner.graph, self.groups)
        names = runner.graph.names
        self._head = {self.graph.names[k]: names[main_row(runner.graph, g)]
                      for k, g in enumerate(self.groups)}
        self._tail = {self.graph.names[k]: names[g[-1]] for k, g in enumerate(self.groups)}

    @property
    def timing(self) -> str:
        """How rows are timed: as the inner runner's nodes, summed per group."""
        return f"{self.inner.timing}; a row fusing several nodes is timed as the sum of its nodes"

    def weights(self, name: str) -> list[np.ndarray]:
        """The weights of row `name`: those of the node it is named after."""
        return self.inner.weights(self._inner(name, self._head, "name"))

    def run(
        self,
        batch: np.ndarray,
        *,
        weight_bits: Mapping[str, int] | None = None,
        activation_bits: Mapping[str, int] | None = None,
    ) -> dict[str, tuple[np.ndarray, ...]]:
        """Every row's output (its last node's), as ``ModelRunner.run``."""
        out = self.inner.run(
            batch,
            weight_bits={self._inner(n, self._head, "weight_bits"): b
                         for n, b in (weight_bits or {}).items()},
            activation_bits={self._inner(n, self._tail, "activation_bits"): b
                             for n, b in (activation_bits or {}).items()})
        return {name: out[tail] for name, tail in self._tail.items()}

    def time_nodes(
        self,
        batch: np.ndarray,
        *,
        warmup: int = 3,
        runs: int = 10,
        progress: ProgressCallback | None = None,
    ) -> np.ndarray:
        """Per-row latency (ms): the sum of the inner rows' times."""
        ms = self.inner.time_nodes(batch, warmup=warmup, runs=runs, progress=progress)
        return np.array([ms[list(g)].sum() for g in self.groups])

    def _inner(self, name: str, table: Mapping[str, str], what: str) -> str:
        try:
            return table[name]
        except KeyError:
            raise ValueError(f"{what}: unknown row {name!r} (not a row of "
                             f"{self.graph.model})") from None
