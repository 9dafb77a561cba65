"""A model's graph reduced to profile rows, and the interface the profiler front ends share.

A front end (ONNX in :mod:`moosplit.profilers.onnx_model`, PyTorch in
:mod:`moosplit.profilers.torch_model`) reads a model into a :class:`LayerGraph` (the
structural columns of SPEC section 2) and implements :class:`ModelRunner`, which is all that
latency measurement (:meth:`ModelRunner.time_nodes`) and quantisation error
(:mod:`moosplit.profilers.quant_error`) need from a model.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from ..progress import ProgressCallback


@dataclass(frozen=True, eq=False)
class LayerGraph:
    """The structure of a profile read off a model, before any costs are attached.

    Row 0 is the model input (op ``input``); the other rows are the model's nodes in a
    topological order, named so that names are unique and contain no whitespace.
    ``out_elems`` are per sample; ``input_shape`` is the full input shape, batch first.
    ``notes`` hold warnings raised while reading (an operator without a MAC formula, weights
    that cannot be quantised, model outputs that are constants, ...), which profilers also
    emit as Python warnings and record in the profile's metadata. ``input_vocab`` is set
    when the input is token ids (integers in ``[0, input_vocab)``), None for a real-valued
    input.

    ``fused`` names, per row that covers several of the model's nodes (a convolution with
    the BatchNorm folded into it and the activation fused into it), all of them in
    execution order, the row's own included: the row outputs the last one's tensor. Empty
    for a row that is one node, and for every row (the default, normalised to one ``()``
    per row) in an unfused graph.
    """

    model: str
    names: tuple[str, ...]
    ops: tuple[str, ...]
    inputs: tuple[tuple[str, ...], ...]
    out_elems: np.ndarray
    weight_elems: np.ndarray
    macs: np.ndarray
    input_shape: tuple[int, ...]
    notes: tuple[str, ...] = field(default=())
    fused: tuple[tuple[str, ...], ...] = field(default=())
    input_vocab: int | None = None

    def __post_init__(self) -> None:
        for name in ("out_elems", "weight_elems", "macs"):
            object.__setattr__(self, name, np.asarray(getattr(self, name), dtype=np.int64))
        n = len(self.names)
        object.__setattr__(self, "fused", tuple(tuple(f) for f in self.fused) or ((),) * n)
        lengths = {len(self.ops), len(self.inputs), len(self.out_elems),
                   len(self.weight_elems), len(self.macs), len(self.fused)}
        if lengths != {n}:
            raise ValueError(f"LayerGraph columns differ in length: {sorted(lengths | {n})}")

    @property
    def batch(self) -> int:
        """Samples per inference: the first dimension of the input."""
        return int(self.input_shape[0])

    @property
    def n_rows(self) -> int:
        """Rows, the input row included."""
        return len(self.names)


class ModelRunner(Protocol):
    """A loaded model that profiling can run, time and quantise.

    Fake quantisation follows :func:`moosplit.profilers.quantise.quantise`: weights per
    output channel (axis 0 of what :meth:`weights` returns), activations per tensor;
    bit-widths of 16 or more leave a tensor unchanged (16 bits is the reference precision).
    Rows with op ``output`` (a model output that other rows also read, or the input passed
    through) are zero-cost: they compute nothing, :meth:`time_nodes` gives them 0, and their
    output is the tensor they read as the model returns it.
    """

    graph: LayerGraph
    timing: str
    """How :meth:`time_nodes` measures, for the profile's metadata (runtime, threads)."""

    def weights(self, name: str) -> list[np.ndarray]:
        """The weight tensors of row `name` that quantisation applies to (may be empty),
        each with its output channels along axis 0."""
        ...

    def run(
        self,
        batch: np.ndarray,
        *,
        weight_bits: Mapping[str, int] | None = None,
        activation_bits: Mapping[str, int] | None = None,
    ) -> dict[str, tuple[np.ndarray, ...]]:
        """Run one batch; return every row's output tensors by row name (input included).

        A row's value is the tuple of the tensors its ``out_elems`` counts, whole batch
        each, in a fixed order: one for most rows, several for a row with several outputs
        (a split, a module returning a tuple), none for a row that outputs no tensor (a
        shape query). Rows named in `weight_bits` use fake-quantised weights; rows named
        in `activation_bits` pass fake-quantised outputs (each float tensor on its own
        scale) on to their consumers (and return them). Other rows run in float32.
        """
        ...

    def time_nodes(
        self,
        batch: np.ndarray,
        *,
        warmup: int = 3,
        runs: int = 10,
        progress: ProgressCallback | None = None,
    ) -> np.ndarray:
        """Per-row latency (ms) of one inference on `batch` on this host: the median over
        `runs` timed runs after `warmup` untimed ones, one thread. Row 0 (input) is 0."""
        ...
