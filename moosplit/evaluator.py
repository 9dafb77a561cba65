"""The one evaluator (SPEC section 4) every backend uses, vectorised over plans."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from ._pickling import reduce_through_init
from .costs import (
    cost_model,
    quantities,
    tensor_bits,
    tensor_bytes,
    transmit_ms,
    weight_bytes,
)
from .plans import Plans, read_only
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

    def __reduce__(self) -> tuple:
        """Pickle through the constructor (a read-only mapping does not pickle as such)."""
        return reduce_through_init(self)

    def read_only(self) -> Evaluation:
        """This evaluation with a read-only mapping of read-only arrays (views, no copy),
        as a Front holds it."""
        return Evaluation(MappingProxyType({k: read_only(v) for k, v in self.values.items()}),
                          read_only(self.feasible))

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


@dataclass(frozen=True, eq=False)
class _Parts:
    """What a batch of plans computes and sends: the cut tensors, each row's bits (the
    input's at its own bit-width), the bits sent (after the codec), edge compute with
    encoding, packing the cut tensors, unpacking them, cloud compute, and whether the codec
    covers every cut tensor."""

    cut: np.ndarray
    bits: np.ndarray
    tx_bits: np.ndarray
    edge_ms: np.ndarray
    pack_ms: np.ndarray
    unpack_ms: np.ndarray
    cloud_ms: np.ndarray
    codec_ok: np.ndarray


def _parts(problem: SplitProblem, plans: Plans) -> _Parts:
    profile, codecs = problem.profile, problem.codec_table
    costs = cost_model(profile)
    edge = plans.edge
    codec = plans.codec.astype(np.intp)
    # cut tensors, sent with the plan's codec; the input at its own bit-width
    cut = costs.cut(edge)
    bits = plans.bits_a.astype(float)
    bits[:, 0] = profile.input_bits
    ratio = codecs.ratio[codec]
    tx_bits = (cut * tensor_bits(profile.out_elems, bits, profile.batch) / ratio).sum(axis=1)
    encode_ms = (cut * codecs.encode_ms[codec]).sum(axis=1)
    edge_ms = costs.edge_compute_ms(edge, plans.bits_w.astype(np.intp),
                                    plans.bits_a.astype(np.intp)) + encode_ms
    return _Parts(cut, bits, tx_bits, edge_ms, cut @ costs.pack_ms, cut @ costs.unpack_ms,
                  (~edge) @ profile.cloud_ms, ~(cut & ~codecs.available[codec]).any(axis=1))


def latency_parts(problem: SplitProblem, plans: Plans) -> dict[str, np.ndarray]:
    """Each plan's latency split into its terms (SPEC section 4), (P,) arrays in ms:
    ``edge_ms`` (edge compute with encoding), ``pack_ms`` (packing the cut tensors on the
    edge), ``transmit_ms``, ``rtt_ms``, ``unpack_ms`` (unpacking them on the cloud) and
    ``cloud_ms``; they add up to :func:`evaluate`'s ``latency_ms`` (packing is 0 for a
    profile that states no packing times).

    Example (cloud-only: the 3072-byte input over 10 Mbit/s, then the whole model):
        >>> import moosplit
        >>> from moosplit.plans import prefix_plans
        >>> problem = moosplit.SplitProblem(moosplit.load_profile("portend_resnet20"),
        ...                                 moosplit.Network(bandwidth_mbps=10, rtt_ms=5))
        >>> parts = latency_parts(problem, prefix_plans(problem, [0], 16))
        >>> {name: round(float(v[0]), 4) for name, v in parts.items()}["transmit_ms"]
        2.4576
    """
    parts = _parts(problem, plans)
    return {"edge_ms": parts.edge_ms, "pack_ms": parts.pack_ms,
            "transmit_ms": transmit_ms(parts.tx_bits, problem.network),
            "rtt_ms": np.full(len(plans), float(problem.network.rtt_ms)),
            "unpack_ms": parts.unpack_ms, "cloud_ms": parts.cloud_ms}


def _evaluate_chunk(problem: SplitProblem, plans: Plans) -> Evaluation:
    profile, codecs = problem.profile, problem.codec_table
    costs = cost_model(profile)
    edge = plans.edge
    n_plans, n_rows = edge.shape
    bits_w = plans.bits_w.astype(np.intp)
    bits_a = plans.bits_a.astype(np.intp)
    codec = plans.codec.astype(np.intp)
    batch = profile.batch
    parts = _parts(problem, plans)
    cut, bits, tx_bits = parts.cut, parts.bits, parts.tx_bits
    holder = edge.copy()
    holder[:, 0] = True
    codec_err = codecs.err[codec]

    # --- memory: weights plus the largest working set over the edge nodes, in table order.
    # A held tensor t is live at the edge nodes k with t < k <= live_until(t): the
    # interval (t, end]. A difference array over k sums the live tensors of every k at once.
    weights = weight_bytes(profile.weight_elems, bits_w).sum(axis=1)
    size = np.where(holder, tensor_bytes(profile.out_elems, bits, batch), 0.0)
    end = np.minimum(costs.live_until(cut), n_rows - 1)
    width = n_rows + 1
    offsets = (np.arange(n_plans) * width)[:, None]
    diff = np.zeros((n_plans, width))
    diff[:, 1:] += size
    diff -= np.bincount((offsets + np.maximum(end, 0) + 1).ravel(), weights=size.ravel(),
                        minlength=n_plans * width).reshape(n_plans, width)
    live_before = np.cumsum(diff, axis=1)[:, :n_rows]
    working = np.where(edge, live_before + size, 0.0).max(axis=1, initial=0.0)

    rows = np.arange(n_rows)[None, :]
    error = (costs.weight_error[rows, bits_w].sum(axis=1)
             + costs.activation_error[rows, bits_a].sum(axis=1)
             + (cut * codec_err).sum(axis=1))
    values = quantities(
        edge_ms=parts.edge_ms + parts.pack_ms, tx_bits=tx_bits,
        cloud_ms=parts.cloud_ms + parts.unpack_ms, network=problem.network, batch=batch,
        error=error, memory=weights + working, edge_macs=(edge @ profile.macs).astype(float),
        edge_mj=None if profile.edge_mj is None else edge @ profile.edge_mj)
    values.setdefault("energy_mj", np.full(n_plans, np.nan))
    values = {name: values[name] for name in QUANTITIES}

    low, high = problem.split_bounds
    n_edge = edge.sum(axis=1)
    feasible = parts.codec_ok & (n_edge >= low) & (n_edge <= high)
    for name, bound in problem.constraints.items():
        feasible &= meets(name, values[name], bound)
    return Evaluation(MappingProxyType(values), feasible)


def evaluate_prefix_splits(problem: SplitProblem, bits: int) -> Evaluation:
    """Every prefix split n = 0..N with every edge node at `bits` (weights too, where a
    node has them; codec `none`), evaluated as :func:`evaluate` would, in O(rows + edges)
    instead of O(rows^2): row n of the result is split n.

    Example:
        >>> import moosplit
        >>> problem = moosplit.SplitProblem(moosplit.load_profile("portend_resnet20"),
        ...                                 moosplit.Network(bandwidth_mbps=10))
        >>> float(evaluate_prefix_splits(problem, 16)["tx_bytes"][0])  # split 0: the input
        3072.0
    """
    profile = problem.profile
    costs = cost_model(profile)
    batch = profile.batch
    rows = np.arange(profile.n_rows)
    bits_w = np.where(profile.has_weights, bits, 0)
    bits_w[0] = 0
    bits_a = np.full(profile.n_rows, bits)
    bits_a[0] = 0

    def prefix(values: np.ndarray) -> np.ndarray:
        out = np.cumsum(np.asarray(values, float))
        out[0] = 0.0
        return out

    error = prefix(costs.weight_error[rows, bits_w] + costs.activation_error[rows, bits_a])
    if costs.edge_latency is None:
        edge_ms = prefix(profile.edge_ms)
    else:
        edge_ms = prefix(np.where(rows > 0, costs.edge_latency[rows, bits_w, bits_a], 0.0))
    cloud_ms = float(profile.cloud_ms[1:].sum()) - prefix(profile.cloud_ms)
    edge_ms = edge_ms + costs.prefix_cut_sums(costs.pack_ms)
    cloud_ms = cloud_ms + costs.prefix_cut_sums(costs.unpack_ms)
    tensor = np.full(profile.n_rows, float(bits))
    tensor[0] = profile.input_bits
    tx_bits = costs.prefix_cut_sums(tensor_bits(profile.out_elems, tensor, batch))
    working = costs.prefix_working_sets(tensor_bytes(profile.out_elems, tensor, batch))
    memory = prefix(weight_bytes(profile.weight_elems, bits_w)) + np.maximum.accumulate(working)
    values = quantities(
        edge_ms=edge_ms, tx_bits=tx_bits, cloud_ms=cloud_ms, network=problem.network,
        batch=batch, error=error, memory=memory, edge_macs=prefix(profile.macs),
        edge_mj=None if profile.edge_mj is None else prefix(profile.edge_mj))
    values.setdefault("energy_mj", np.full(profile.n_rows, np.nan))
    values = {name: values[name] for name in QUANTITIES}
    low, high = problem.split_bounds
    feasible = (rows >= low) & (rows <= high)
    for name, bound in problem.constraints.items():
        feasible &= meets(name, values[name], bound)
    return Evaluation(MappingProxyType(values), feasible)
