"""The cost model of SPEC section 4: each formula written once, and the tables it reads.

Every backend and the evaluator derive plan costs from here:

- **Formulas** (module functions): a tensor's bits and bytes, weight bytes, transmit time,
  and how the parts of a plan add up to latency, memory, energy and throughput
  (:func:`quantities`).
- **Per profile** (:class:`CostModel`, built once per profile by :func:`cost_model`): error
  and edge-latency tables indexed by bit value, each node's (weight, activation) bit
  choices with their costs, and the structural sets: cut tensors C(S), how long each
  tensor stays live (Live(k)), the walk of one edge set node by node, and the predecessor
  closure of cut-mode edge sets.

The evaluator applies these to batches of plans; the dynamic programme and the CP-SAT
model apply the same definitions to partial plans and to decision variables, and the
baselines to the splits they consider. What a tensor costs, when it is cut and when it is
live are stated here and nowhere else.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from .profiles.profile import Profile
from .profiles.schema import REFERENCE_BITS

if TYPE_CHECKING:  # read for its attributes only
    from .problems.network import Network

T = TypeVar("T")

# --------------------------------------------------------------------------- formulas
def tensor_bits(out_elems: np.ndarray | float, bits: np.ndarray | float,
                batch: int) -> np.ndarray | float:
    """Bits of a tensor of `out_elems` elements per sample at `bits` bits, whole batch."""
    return out_elems * bits * batch


def tensor_bytes(out_elems: np.ndarray | float, bits: np.ndarray | float,
                 batch: int) -> np.ndarray | float:
    """Bytes of a tensor of `out_elems` elements per sample at `bits` bits, whole batch."""
    return out_elems * bits / 8.0 * batch


def weight_bytes(weight_elems: np.ndarray | float, bits: np.ndarray | float
                 ) -> np.ndarray | float:
    """Bytes of `weight_elems` parameters stored at `bits` bits."""
    return weight_elems * bits / 8.0


def transmit_seconds(bits: np.ndarray | float, network: Network) -> np.ndarray | float:
    """Seconds to send `bits` over the network's uplink (bandwidth in 10^6 bit/s)."""
    return bits / (network.bandwidth_mbps * 1e6)


def transmit_ms(bits: np.ndarray | float, network: Network) -> np.ndarray | float:
    """The latency sending `bits` adds, in ms (latency_ms's transmit term)."""
    return 1000.0 * transmit_seconds(bits, network)


def packing_ms(profile: Profile) -> tuple[np.ndarray, np.ndarray]:
    """Per row (the input's included), the time to pack its tensor for sending on the edge
    and to unpack it on the cloud, whole batch, ms: out_elems x batch x the profile's
    per-element times (`pack_ns_per_element`, `unpack_ns_per_element`; 0 where a profile
    states none). A cut tensor adds the first to edge compute and the second to cloud
    compute (SPEC section 4 as amended in docs/formulation.md); the times do not depend on
    the bit-width (docs/benchmarks.md, *Packing*: below 16 bits the float work dominates)."""
    elements = profile.out_elems.astype(float) * profile.batch
    return (elements * profile.pack_ns_per_element * 1e-6,
            elements * profile.unpack_ns_per_element * 1e-6)


def latency_ms(edge_ms: np.ndarray | float, tx_seconds: np.ndarray | float,
               cloud_ms: np.ndarray | float, network: Network) -> np.ndarray | float:
    """End-to-end latency: edge compute (encoding included) + rtt + transmit + cloud."""
    return edge_ms + network.rtt_ms + 1000.0 * tx_seconds + cloud_ms  # as transmit_ms


def bytes_of(bits: T) -> T:
    """Bytes of `bits` bits."""
    return bits / 8.0


def energy_mj(edge_mj: np.ndarray | float, tx_seconds: np.ndarray | float,
              network: Network) -> np.ndarray | float:
    """Edge energy: compute energy plus transmit power times transmit time."""
    return edge_mj + network.tx_power_mw * tx_seconds


def pipeline_stages(edge_ms: T, tx_seconds: T, cloud_ms: T) -> tuple[T, T, T]:
    """Seconds of the three pipelined stages: edge (encoding included), link, cloud."""
    return edge_ms / 1000.0, tx_seconds, cloud_ms / 1000.0


def throughput_fps(edge_ms: np.ndarray, tx_seconds: np.ndarray, cloud_ms: np.ndarray | float,
                   batch: int) -> np.ndarray:
    """Frames per second of the edge / link / cloud pipeline: batch over its slowest stage
    (inf when every stage takes no time)."""
    edge_s, link_s, cloud_s = pipeline_stages(edge_ms, tx_seconds, cloud_ms)
    slowest = np.maximum(np.maximum(edge_s, cloud_s), link_s)
    with np.errstate(divide="ignore"):
        return np.where(slowest > 0, batch / slowest, np.inf)


def quantities(*, edge_ms: np.ndarray, tx_bits: np.ndarray, cloud_ms: np.ndarray | float,
               network: Network, batch: int, error: np.ndarray | None = None,
               memory: np.ndarray | None = None, edge_macs: np.ndarray | None = None,
               edge_mj: np.ndarray | float | None = None) -> dict[str, np.ndarray]:
    """The quantities of SPEC section 4 from a plan's parts (arrays over plans).

    edge_ms: edge compute with encoding; tx_bits: bits sent; cloud_ms: cloud compute;
    error, memory (weights + working set), edge_macs and edge_mj (edge compute energy) as
    summed by the caller. A part left None leaves its quantity out, as does energy
    without a transmit power.
    """
    tx_s = transmit_seconds(tx_bits, network)
    values = {"latency_ms": latency_ms(edge_ms, tx_s, cloud_ms, network)}
    if error is not None:
        values["error"] = error
    if memory is not None:
        values["memory_bytes"] = memory
    if edge_macs is not None:
        values["edge_macs"] = edge_macs
    if edge_mj is not None and network.tx_power_mw is not None:
        values["energy_mj"] = energy_mj(edge_mj, tx_s, network)
    values["throughput_fps"] = throughput_fps(edge_ms, tx_s, cloud_ms, batch)
    values["tx_bytes"] = bytes_of(tx_bits)
    return values


# --------------------------------------------------------------------------- walks
@dataclass(frozen=True)
class WalkStep:
    """One edge node of a walk: the earlier tensors live while it runs (Live(k) without
    k itself), whether the raw input is among them, the tensors still live after it (its
    *frontier*: needed by a later edge node, or waiting to be sent) and, for each of
    those, the position it is live until (`Walk.live_until`)."""

    node: int
    live: tuple[int, ...]
    input_live: bool
    frontier: tuple[int, ...]
    until: tuple[int, ...]


@dataclass(frozen=True, eq=False)
class Walk:
    """An edge set's nodes in table order, with what is live at each, and what is sent.

    sent: the cut tensors C(S) held by edge nodes; input_sent: whether the raw input is
    one. `live_until[t]` is the position of t's last use: its last consumer, or
    n_rows for a cut tensor (held until it is sent, after every node).
    """

    edge: np.ndarray
    steps: tuple[WalkStep, ...]
    sent: tuple[int, ...]
    input_sent: bool
    live_until: np.ndarray

    def prefix_cut(self, n: int) -> tuple[tuple[int, ...], bool]:
        """For a walk of S = rows 1..N', the cut tensors of the prefix S_n = rows 1..n
        (n <= N'): (the edge tensors sent, whether the input is sent).

        A tensor held by S_n is cut for S_n iff a consumer outside S_n reads it or it is
        a sink; both mean it is still live after node n in the walk of S (a consumer
        beyond n, or held until sent). So C(S_n) is the frontier after node n, plus the
        input if it is live after n.
        """
        frontier = self.steps[n - 1].frontier if n > 0 else ()
        return frontier, bool(self.live_until[0] > n)


# --------------------------------------------------------------------------- choices
@dataclass(frozen=True, eq=False)
class NodeChoices:
    """Each node's (weight, activation) bit choices for one bit set, with their costs.

    Per row i (row 0, the input, has none): `bits_w[i]` (0 for a node without weights) and
    `bits_a[i]` hold the values of choice c, `a_index[i]` the index of bits_a in `bits`;
    error[i][c] = werr_i(bw) + aerr_i(ba), weight_bytes[i][c], and edge_ms[i][c] when the
    profile's edge latency depends on bit-width (else None: latency is edge_ms[i]).
    Choices are ordered by weight bits, then activation bits.
    """

    bits: np.ndarray
    bits_w: tuple[np.ndarray, ...]
    bits_a: tuple[np.ndarray, ...]
    a_index: tuple[np.ndarray, ...]
    error: tuple[np.ndarray, ...]
    weight_bytes: tuple[np.ndarray, ...]
    edge_ms: tuple[np.ndarray, ...] | None


# --------------------------------------------------------------------------- the model
@dataclass(frozen=True, eq=False)
class CostModel:
    """Tables and structural sets of one profile (build with :func:`cost_model`).

    weight_error, activation_error: (rows, max bits + 1) error of each row at each bit
    value; NaN where unavailable, column 0 zero (a node off the edge, or the weight bits of
    a weightless node, add nothing). edge_latency: (rows, max bits + 1, max bits + 1) edge
    latency by weight and activation bits, weight index 0 holding weightless rows' values;
    None when the profile has no bit-dependent latency. pack_ms, unpack_ms: per row, the
    time to pack its tensor on the edge and unpack it on the cloud (:func:`packing_ms`).
    node_inputs: each row's inputs among the nodes (the input row left out).
    """

    profile: Profile
    weight_error: np.ndarray
    activation_error: np.ndarray
    edge_latency: np.ndarray | None
    pack_ms: np.ndarray
    unpack_ms: np.ndarray
    node_inputs: tuple[tuple[int, ...], ...]
    _consumer_starts: np.ndarray
    _consumer_sources: np.ndarray
    _consumer_rows: np.ndarray
    _choices: dict = field(default_factory=dict, repr=False)

    # ------------------------------------------------------------ plan costs
    def cut(self, edge: np.ndarray) -> np.ndarray:
        """C(S) of each plan, (P, V) bool: tensors held by S or the input that a node
        outside S reads, plus every sink in S (edge outputs are sent to the host too)."""
        profile = self.profile
        holder = edge.copy()
        holder[:, 0] = True
        read_outside = np.zeros_like(edge)
        if self._consumer_rows.size:
            read_outside[:, self._consumer_sources] = np.logical_or.reduceat(
                ~edge[:, self._consumer_rows], self._consumer_starts, axis=1)
        return holder & (read_outside | (edge & profile.sinks[None, :]))

    def live_until(self, cut: np.ndarray) -> np.ndarray:
        """Per plan and tensor, the last position it is live at: its last consumer, or
        n_rows for a cut tensor (held until sent). A tensor held by S ∪ {input} is in
        Live(k) for the edge nodes k with t < k <= live_until (SPEC section 4).

        (A held tensor that is not cut has every consumer in S, so its last consumer is
        its last edge consumer; see also :meth:`read_at_or_after`.)
        """
        last = np.asarray(self.profile.last_consumer)
        return np.where(cut, self.profile.n_rows, last[None, :])

    def read_at_or_after(self, t: int, k: int) -> bool:
        """Whether a node at or after row k reads tensor t. If so, t (when held) is live at
        edge node k > t whatever else is on the edge: that consumer is on the edge, or t is
        cut and held until sent. If not, t is live at k only if it is cut."""
        return self.profile.last_consumer[t] >= k

    def edge_compute_ms(self, edge: np.ndarray, bits_w: np.ndarray,
                        bits_a: np.ndarray) -> np.ndarray:
        """Edge compute latency of each plan (no encoding), (P,)."""
        if self.edge_latency is None:
            return edge @ self.profile.edge_ms
        rows = np.arange(edge.shape[1])[None, :]
        per_node = self.edge_latency[rows, bits_w, bits_a]
        return np.where(edge, per_node, 0.0).sum(axis=1)

    # ------------------------------------------------------------ one edge set
    def walk(self, edge: np.ndarray) -> Walk:
        """The walk of one edge set (V,) bool, from the same C(S) and live_until as the
        evaluator's."""
        edge = np.asarray(edge, bool)
        cut = self.cut(edge[None, :])[0]
        until = self.live_until(cut[None, :])[0]
        held = [int(t) for t in np.flatnonzero(edge)]
        steps = []
        frontier: tuple[int, ...] = ()
        for k in held:
            # the tensors live at k are those live after the previous edge node: a held
            # tensor that is not cut has all its consumers on the edge, so none is released
            # between two consecutive edge nodes
            live = frontier
            frontier = tuple(t for t in (*live, k) if until[t] > k)
            steps.append(WalkStep(k, live, bool(until[0] >= k), frontier,
                                  tuple(int(until[t]) for t in frontier)))
        sent = tuple(t for t in held if cut[t])
        return Walk(edge, tuple(steps), sent, bool(cut[0]), until)

    def prefix_cut_sums(self, values: np.ndarray) -> np.ndarray:
        """For every prefix S_n = rows 1..n (n = 0..N), the sum of `values[t]` over its cut
        tensors C(S_n), the input included when it is one: (N + 1,), in O(N + edges).

        By the argument of :meth:`Walk.prefix_cut`, t is in C(S_n) iff t is held by S_n
        (t <= n, or t is the input) and still live after node n in the walk of the whole
        edge set: t <= n < live_until(t). So each tensor adds its value over one run of
        prefixes, summed with a difference array.
        """
        rows = np.arange(self.profile.n_rows)
        edge = (rows >= 1)[None, :]
        until = np.clip(self.live_until(self.cut(edge))[0], rows, self.profile.n_rows)
        diff = np.zeros(self.profile.n_rows + 1)
        np.add.at(diff, rows, values)
        np.add.at(diff, until, -np.asarray(values, float))
        return np.cumsum(diff)[:-1]

    def prefix_walk(self, n: int) -> Walk:
        """The walk of the prefix edge set rows 1..n."""
        rows = np.arange(self.profile.n_rows)
        return self.walk((rows >= 1) & (rows <= n))

    # ------------------------------------------------------------ every prefix at once
    def prefix_working_sets(self, sizes: np.ndarray) -> np.ndarray:
        """Per row k = 1..N, the working set of edge node k in any prefix S_n with n >= k
        (the same for every such n: as for :meth:`prefix_cut_sums`, a tensor is live at k
        iff t < k <= live_until(t) in the walk of the whole edge set), for tensor `sizes`
        (one per row, the input's included); row 0 gets 0. In O(N + edges)."""
        rows = np.arange(self.profile.n_rows)
        until = self.live_until(self.cut((rows >= 1)[None, :]))[0]
        live = until > rows
        diff = np.zeros(self.profile.n_rows + 2)
        np.add.at(diff, rows[live] + 1, np.asarray(sizes, float)[live])
        np.add.at(diff, until[live] + 1, -np.asarray(sizes, float)[live])
        working = np.cumsum(diff)[:self.profile.n_rows] + sizes
        working[0] = 0.0
        return working

    def closed_under_predecessors(self, edge: np.ndarray) -> np.ndarray:
        """Each (P, V) edge set with every node dropped whose inputs are not all on the
        edge (in table order, so the result is closed under predecessors)."""
        edge = np.array(edge, bool)
        for i in range(1, edge.shape[1]):
            for p in self.node_inputs[i]:
                edge[:, i] &= edge[:, p]
        return edge

    # ------------------------------------------------------------ bit choices
    def choices(self, bits: tuple[int, ...]) -> NodeChoices:
        """Every node's (bw, ba) choices over bit set `bits`, with their costs."""
        bits = tuple(int(b) for b in bits)
        if bits not in self._choices:
            self._choices[bits] = self._build_choices(bits)
        return self._choices[bits]

    def _build_choices(self, bits: tuple[int, ...]) -> NodeChoices:
        profile = self.profile
        values = np.array(bits)
        base = len(values)
        empty = np.zeros(0, int)
        bits_w, bits_a, a_index = [empty], [empty], [empty]
        error, weights, edge_ms = [np.zeros(0)], [np.zeros(0)], [np.zeros(0)]
        for i in range(1, profile.n_rows):
            bws = values if profile.has_weights[i] else np.array([0])
            w = np.repeat(bws, base)
            a = np.tile(np.arange(base), len(bws))
            ba = values[a]
            bits_w.append(w)
            bits_a.append(ba)
            a_index.append(a)
            error.append(self.weight_error[i, w] + self.activation_error[i, ba])
            weights.append(weight_bytes(profile.weight_elems[i], w))
            if self.edge_latency is not None:
                edge_ms.append(self.edge_latency[i, w, ba])
        return NodeChoices(values, tuple(bits_w), tuple(bits_a), tuple(a_index),
                           tuple(error), tuple(weights),
                           tuple(edge_ms) if self.edge_latency is not None else None)


def _error_table(profile: Profile, table: Mapping[int, np.ndarray]) -> np.ndarray:
    out = np.full((profile.n_rows, max(table) + 1), np.nan)
    out[:, 0] = 0.0
    for bits, values in table.items():
        out[:, bits] = values
    return out


def _latency_table(profile: Profile) -> np.ndarray | None:
    if profile.edge_ms_bits is None:
        return None
    size = max(profile.bit_widths) + 1
    table = np.full((profile.n_rows, size, size), np.nan)
    pairs = dict(profile.edge_ms_bits)
    pairs[(REFERENCE_BITS, REFERENCE_BITS)] = profile.edge_ms
    for (bw, ba), values in pairs.items():
        table[:, bw, ba] = values
    # weight bits do not matter for weightless rows (validated): store under bw = 0
    table[:, 0, :] = table[:, REFERENCE_BITS, :]
    return table


_MODELS: weakref.WeakKeyDictionary[Profile, CostModel] = weakref.WeakKeyDictionary()


def cost_model(profile: Profile) -> CostModel:
    """The cost model of `profile`, built once per profile (tables depend on it alone).

    Example:
        >>> import moosplit
        >>> model = cost_model(moosplit.load_profile("portend_resnet20"))
        >>> model.prefix_walk(11).sent  # edge-only: the output is sent
        (11,)
    """
    model = _MODELS.get(profile)
    if model is None:
        src, dst = profile.edges
        starts = np.flatnonzero(np.r_[True, src[1:] != src[:-1]]) if src.size else src
        inputs = tuple(tuple(p for p in preds if p > 0) for preds in profile.inputs)
        model = CostModel(profile, _error_table(profile, profile.weight_error),
                          _error_table(profile, profile.activation_error),
                          _latency_table(profile), *packing_ms(profile), inputs, starts,
                          src[starts], dst)
        _MODELS[profile] = model
    return model
