"""The one evaluator (SPEC section 4) every backend uses, vectorised over plans."""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from .plans import Plans
from .problems.problem import SplitProblem, meets
from .problems.quantities import QUANTITIES

_CHUNK_ELEMENTS = 1 << 21  # plans x edges per chunk: bounds the temporary arrays


@dataclass(frozen=True, eq=False)
class Evaluation:
    """Every quantity of SPEC section 4 for a batch of plans, plus feasibility.

    values: quantity name -> (P,) float array (`energy_mj` is NaN where the profile has no
        `edge_mj` or the network no transmit power).
    feasible: (P,) bool: within the split bounds, every cut tensor covered by the plan's
        codec, and every constraint met.
    """

    values: Mapping[str, np.ndarray]
    feasible: np.ndarray

    def __len__(self) -> int:
        return self.feasible.shape[0]

    def __getitem__(self, name: str) -> np.ndarray:
        return self.values[name]

    def objectives(self, names: tuple[str, ...]) -> np.ndarray:
        """The (P, k) matrix of the named quantities, in their natural units and senses."""
        if not names:
            return np.zeros((len(self), 0))
        return np.column_stack([self.values[name] for name in names])

    @staticmethod
    def concat(parts: list[Evaluation]) -> Evaluation:
        """The evaluations of several batches, in order (at least one part)."""
        if len(parts) == 1:
            return parts[0]
        values = {name: np.concatenate([p.values[name] for p in parts]) for name in QUANTITIES}
        return Evaluation(MappingProxyType(values), np.concatenate([p.feasible for p in parts]))

    def take(self, index: np.ndarray) -> Evaluation:
        """The evaluation of a subset of the plans."""
        return Evaluation({k: v[index] for k, v in self.values.items()}, self.feasible[index])


@dataclass(frozen=True, eq=False)
class _Tables:
    """Per-problem lookup tables, built once."""

    weight_error: np.ndarray       # (V, bmax+1)
    activation_error: np.ndarray   # (V, bmax+1)
    edge_latency: np.ndarray | None  # (V, bmax+1, bmax+1)
    consumer_starts: np.ndarray    # start of each source's run in the edge list
    consumer_sources: np.ndarray   # the source row of each run
    edge_dst: np.ndarray


_TABLES: weakref.WeakKeyDictionary[SplitProblem, _Tables] = weakref.WeakKeyDictionary()


def _tables(problem: SplitProblem) -> _Tables:
    tables = _TABLES.get(problem)
    if tables is None:
        profile = problem.profile
        src, dst = profile.edges
        starts = np.flatnonzero(np.r_[True, src[1:] != src[:-1]]) if src.size else src
        tables = _Tables(profile.error_table("weight"), profile.error_table("activation"),
                         profile.edge_latency_table(), starts, src[starts], dst)
        _TABLES[problem] = tables
    return tables


def evaluate(problem: SplitProblem, plans: Plans) -> Evaluation:
    """Evaluate plans with the semantics of SPEC section 4.

    Plans are assumed well formed (see :func:`moosplit.plans.check_plans`); the evaluator
    does not re-check them, as it sits in every backend's hot path.

    Example:
        >>> import moosplit, numpy as np
        >>> problem = moosplit.SplitProblem(moosplit.load_profile("portend_resnet20"),
        ...                                 moosplit.Network(bandwidth_mbps=10))
        >>> rows = problem.profile.n_rows
        >>> cloud_only = moosplit.Plans(np.zeros((1, rows), bool), np.zeros((1, rows)),
        ...                             np.zeros((1, rows)), [0])
        >>> float(evaluate(problem, cloud_only)["tx_bytes"][0])  # 3x32x32 8-bit image
        3072.0
    """
    n_plans, n_rows = plans.edge.shape
    chunk = max(1, _CHUNK_ELEMENTS // max(1, n_rows + problem.profile.edges[0].size))
    parts = [_evaluate_chunk(problem, plans.take(slice(lo, lo + chunk)))
             for lo in range(0, n_plans, chunk)] or [_evaluate_chunk(problem, plans)]
    return Evaluation.concat(parts)


def _evaluate_chunk(problem: SplitProblem, plans: Plans) -> Evaluation:
    profile, network, codecs = problem.profile, problem.network, problem.codec_table
    tables = _tables(problem)
    edge = plans.edge
    n_plans, n_rows = edge.shape
    bits_w = plans.bits_w.astype(np.intp)
    bits_a = plans.bits_a.astype(np.intp)
    codec = plans.codec.astype(np.intp)
    batch = profile.batch

    # --- cut tensors C(S): held by S or the input, read outside S, or a sink on the edge
    holder = edge.copy()
    holder[:, 0] = True
    consumer_on_edge = edge[:, tables.edge_dst]                       # (P, E)
    read_outside = np.zeros_like(edge)
    last_edge_consumer = np.full(edge.shape, -1, np.int64)
    if tables.edge_dst.size:
        read_outside[:, tables.consumer_sources] = np.logical_or.reduceat(
            ~consumer_on_edge, tables.consumer_starts, axis=1)
        last_edge_consumer[:, tables.consumer_sources] = np.maximum.reduceat(
            np.where(consumer_on_edge, tables.edge_dst[None, :], -1),
            tables.consumer_starts, axis=1)
    cut = holder & (read_outside | (edge & profile.sinks[None, :]))

    # --- transmission, with the plan's codec on every cut tensor
    tensor_bits = bits_a.astype(float)
    tensor_bits[:, 0] = profile.input_bits
    ratio, codec_err = codecs.ratio[codec], codecs.err[codec]
    tx_bits = (cut * (profile.out_elems * tensor_bits * batch) / ratio).sum(axis=1)
    codec_ok = ~(cut & ~codecs.available[codec]).any(axis=1)
    encode_ms = (cut * codecs.encode_ms[codec]).sum(axis=1)
    tx_seconds = tx_bits / (network.bandwidth_mbps * 1e6)

    # --- latency
    if tables.edge_latency is None:
        edge_ms = edge @ profile.edge_ms
    else:
        per_node = tables.edge_latency[np.arange(n_rows)[None, :], bits_w, bits_a]
        edge_ms = np.where(edge, per_node, 0.0).sum(axis=1)
    edge_ms = edge_ms + encode_ms
    cloud_ms = (~edge) @ profile.cloud_ms
    latency = edge_ms + network.rtt_ms + 1000.0 * tx_seconds + cloud_ms

    # --- memory: weights plus the largest working set over the edge nodes, in table order.
    # Tensor t (in S or the input) is live at edge node k > t while an edge consumer at or
    # after k still needs it, or until the end if it is a cut tensor: the interval
    # (t, end_t]. A difference array over k sums the live tensors of every k at once.
    weights = (profile.weight_elems * bits_w).sum(axis=1) / 8.0
    size = np.where(holder, profile.out_elems * tensor_bits / 8.0, 0.0)
    end = np.where(cut, n_rows - 1, last_edge_consumer)
    width = n_rows + 1
    offsets = (np.arange(n_plans) * width)[:, None]
    diff = np.zeros((n_plans, width))
    diff[:, 1:] += size
    diff -= np.bincount((offsets + np.maximum(end, 0) + 1).ravel(), weights=size.ravel(),
                        minlength=n_plans * width).reshape(n_plans, width)
    live_before = np.cumsum(diff, axis=1)[:, :n_rows]
    working = np.where(edge, live_before + size, 0.0).max(axis=1, initial=0.0) * batch
    memory = weights + working

    # --- error, MACs, energy, throughput
    rows = np.arange(n_rows)[None, :]
    error = (tables.weight_error[rows, bits_w].sum(axis=1)
             + tables.activation_error[rows, bits_a].sum(axis=1)
             + (cut * codec_err).sum(axis=1))
    edge_macs = (edge @ profile.macs).astype(float)
    if profile.edge_mj is not None and network.tx_power_mw is not None:
        energy = edge @ profile.edge_mj + network.tx_power_mw * tx_seconds
    else:
        energy = np.full(n_plans, np.nan)
    slowest = np.maximum(np.maximum(edge_ms, cloud_ms) / 1000.0, tx_seconds)
    with np.errstate(divide="ignore"):
        throughput = np.where(slowest > 0, batch / slowest, np.inf)

    values = {
        "latency_ms": latency, "memory_bytes": memory, "error": error,
        "edge_macs": edge_macs, "energy_mj": energy, "throughput_fps": throughput,
        "tx_bytes": tx_bits / 8.0,
    }
    low, high = problem.split_bounds
    n_edge = edge.sum(axis=1)
    feasible = codec_ok & (n_edge >= low) & (n_edge <= high)
    for name, bound in problem.constraints.items():
        feasible &= meets(name, values[name], bound)
    return Evaluation(MappingProxyType(values), feasible)
