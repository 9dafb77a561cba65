"""Exact dynamic programming over bit-widths for a fixed edge set (or every prefix at once).

Walk the edge nodes in table order. Node k's working set is its own output plus the earlier
tensors live at k; in prefix mode, and for a fixed edge set in cut mode, which tensors are
live at k does not depend on the bits, only on the edge set. So the *state* after node k
is the activation bit-width of every tensor still needed later (the frontier), and
everything else is a partial sum. A *label* is one partial assignment: its state and its
partial sums of the quantities that bits change (error, weight bytes, peak working set,
edge latency), with a pointer to its parent label.

Labels in the same state are compared component-wise and dominated ones dropped. That is
exact: every quantity at the end is a non-decreasing function of those partial sums (plus
what the rest of the plan adds to both alike), so a dominated label can never lead to a
better plan. After node n, the frontier holds exactly the tensors a plan with edge set
1..n sends (prefix mode), so the same pass *closes* every split n: transmission, codec and
cloud terms are added and each label becomes a full objective vector.

Certified mode (a slack budget per objective, see docs/solvers.md): labels within a grid
cell of the relaxed sums are merged too, keeping one real partial plan per cell. Sums that a
constraint reads are never relaxed.

Bounding (objectives among latency, memory and error; both modes): a label whose lower
bound on the final objective vector is strictly beaten in every objective by an
*incumbent* (a feasible plan the caller returns too, such as one closed earlier in the
pass) cannot lead to a front point, and is dropped. Partial sums only grow, so the error
and memory sums are floors; latency's floor adds the cheapest completion (`begin_pass`'s
`latency_future`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import moocore
import numpy as np

from ..problems.problem import SplitProblem, limit, meets
from ..problems.quantities import QUANTITIES
from ..results.pareto import minimisation_form


@dataclass
class Step:
    """Labels after one node: their frontier state, partial sums, parent and choice."""

    node: int
    frontier: tuple[int, ...]    # tensors still needed later (their ba is in the state)
    digits: np.ndarray           # (L, len(frontier)) the frontier tensors' ba indices
    codes: np.ndarray            # (L,) the state as one integer (equal iff digits equal)
    sums: np.ndarray             # (L, d) partial sums of the tracked dims
    parent: np.ndarray           # (L,) label index in the previous step
    choice: np.ndarray           # (L,) index into the node's (bw, ba) choices

    def take(self, index: np.ndarray) -> Step:
        """The labels at `index`, in that order."""
        return Step(self.node, self.frontier, self.digits[index], self.codes[index],
                    self.sums[index], self.parent[index], self.choice[index])


@dataclass
class Closed:
    """Full objective vectors of finished plans, with what it takes to rebuild them."""

    F: np.ndarray        # (P, k) objectives in minimisation form
    label: np.ndarray    # (P,) label index in the closed step
    codec: np.ndarray    # (P,)


RELAXES = {"error": "error", "edge_ms": "latency_ms", "weights": "memory_bytes",
           "peak": "memory_bytes"}
"""The objective whose slack each tracked sum may spend when labels are merged."""


def relaxable(problem: SplitProblem, dim: str) -> bool:
    """Whether merging may relax tracked sum `dim`: it feeds only a minimised objective,
    linearly, and no constraint reads it."""
    objective = RELAXES[dim]
    used = set(problem.objectives) | set(problem.constraints)
    if objective not in problem.objectives or objective in problem.constraints:
        return False
    # throughput is batch / max(edge, ...): not additive in edge latency
    return not (dim == "edge_ms" and "throughput_fps" in used)


MAX_TESTED = 32
"""With three or more objectives, the most incumbents each label is tested against (a
spread subset of them, sorted by the first objective): fewer only weakens bounding."""


class LabelLimit(Exception):
    """Raised when a step would need more labels than the DP was allowed."""


class BitDP:
    """The DP machinery for one problem: `advance` adds a node, `close` finishes plans.

    `max_labels` caps the labels one step may hold; past it LabelLimit is raised (exact
    fronts of the joint problem can be very large, and the caller must say so rather than
    exhaust memory).

    Certified mode (`slack` given): `slack[q]` is the additive slack in objective q that
    one pass (one `begin_pass` to the next) may spend on merging labels. A step merges
    only when more than `merge_above` labels survive exact pruning, and then spends the
    pass's remaining slack divided by its remaining steps. `spent` says how much was used.
    `ideal_at_most[q]` (the value of some feasible plan) bounds objective q's ideal: labels
    that could still reach it (q's *band*) are never merged in q's sums, so the plans at
    q's ideal keep their exact q (what `epsilon` needs to bound each objective's range).
    Bands exist for error, memory and bit-dependent latency.
    """

    def __init__(self, problem: SplitProblem, max_labels: int = 1_000_000,
                 slack: Mapping[str, float] | None = None, merge_above: int = 0,
                 ideal_at_most: Mapping[str, float] | None = None) -> None:
        self.problem = problem
        self.max_labels = max_labels
        profile = problem.profile
        self.bits = np.array(problem.bit_set)
        self.base = len(self.bits)
        needed = set(problem.objectives) | set(problem.constraints)
        bit_latency = profile.edge_ms_bits is not None
        self.dims: list[str] = []
        if "error" in needed:
            self.dims.append("error")
        if "memory_bytes" in needed:
            self.dims += ["weights", "peak"]
        if bit_latency and needed & {"latency_ms", "throughput_fps", "energy_mj"}:
            self.dims.append("edge_ms")
        self.latency_table = profile.edge_latency_table()
        batch = profile.batch
        # size in bytes of each tensor at each ba index
        self.sizes = profile.out_elems[:, None] * self.bits[None, :] / 8.0 * batch
        self.input_size = profile.out_elems[0] * profile.input_bits / 8.0 * batch
        self.choices = []   # per node: (C, 2) array of (bw, ba index)
        self.costs = []     # per node: (C, d) additive costs (peak column unused)
        for i in range(profile.n_rows):
            if i == 0:
                self.choices.append(np.zeros((0, 2), int))
                self.costs.append(np.zeros((0, len(self.dims))))
                continue
            bws = self.bits if profile.has_weights[i] else np.array([0])
            pairs = np.array([(bw, a) for bw in bws for a in range(self.base)])
            costs = np.zeros((len(pairs), len(self.dims)))
            for c, (bw, a) in enumerate(pairs):
                ba = self.bits[a]
                for d, dim in enumerate(self.dims):
                    if dim == "error":
                        costs[c, d] = ((profile.weight_error[bw][i] if bw else 0.0)
                                       + profile.activation_error[ba][i])
                    elif dim == "weights":
                        costs[c, d] = profile.weight_elems[i] * bw / 8.0
                    elif dim == "edge_ms":
                        costs[c, d] = self.latency_table[i, bw, ba]
            self.choices.append(pairs)
            self.costs.append(costs)
        self.bounds = self._forward_bounds()
        self.certified = slack is not None
        self.merge_above = merge_above
        self.budget = np.array([slack.get(RELAXES[dim], 0.0) if relaxable(problem, dim)
                                else 0.0 for dim in self.dims]) if slack else np.zeros(
            len(self.dims))
        self.merged = 0               # labels dropped by merging, beyond exact dominance
        self.peak = 0                 # the most labels one step expanded to
        bandable = {"error": "error" in self.dims, "memory_bytes": "weights" in self.dims,
                    "latency_ms": "edge_ms" in self.dims}
        self.caps = {q: v * (1 + 1e-9) + 1e-12 for q, v in (ideal_at_most or {}).items()
                     if bandable.get(q) and q in problem.objectives and np.isfinite(v)}
        # (caps widened a little: the same sums taken in another order)
        self._left = self.budget.copy()
        self._spent = np.zeros(len(self.dims))
        self._n_steps, self._done = 1, 0
        self._latency_future = np.zeros(1)
        objectives = problem.objectives
        self.bounding = set(objectives) <= {"latency_ms", "error", "memory_bytes"}
        self._incumbents = np.zeros((0, len(objectives)))
        self._staircase = (np.zeros(0), np.zeros(0))  # two objectives: f1 sorted, best f2
        self._tested = np.zeros((0, len(objectives)))  # three or more: MAX_TESTED of them
        self.bounded = 0              # labels dropped by bounding
        if self.certified:
            self._drop_dominated_choices()

    def _forward_bounds(self) -> dict[str, float]:
        """Bounds the partial sums can be pruned by (they only grow)."""
        out = {}
        for name, bound in self.problem.constraints.items():
            if not QUANTITIES[name].maximise:
                out[name] = limit(name, bound)
        return out

    def _drop_dominated_choices(self) -> None:
        """Certified mode: drop a node's (bw, ba) choice when another with the same ba (so
        the same frontier code and working set) costs no more in every tracked sum."""
        if not self.dims:
            return
        for i in range(1, len(self.choices)):
            pairs, costs = self.choices[i], self.costs[i]
            keep = np.zeros(len(pairs), bool)
            for a in range(self.base):
                same = np.flatnonzero(pairs[:, 1] == a)
                keep[same[moocore.is_nondominated(costs[same], keep_weakly=False)]] = True
            self.choices[i], self.costs[i] = pairs[keep], costs[keep]

    # ---------------------------------------------------------- slack budget
    @property
    def needs_latency_future(self) -> bool:
        """Whether `begin_pass` needs `latency_future` (a latency band, or bounding with a
        latency objective, is in use)."""
        return ((self.certified and "latency_ms" in self.caps)
                or (self.bounding and "latency_ms" in self.problem.objectives))

    @property
    def tracks_edge_latency(self) -> bool:
        """Whether labels carry their edge latency (bit-dependent edge latency)."""
        return "edge_ms" in self.dims

    def add_incumbents(self, F: np.ndarray) -> None:
        """Objective vectors (minimisation form) of feasible plans the caller will return
        with the DP's own: labels they beat are dropped from then on (bounding)."""
        if not self.bounding or not len(F):
            return
        F = np.concatenate([self._incumbents, np.asarray(F, float)])
        F = F[np.all(np.isfinite(F), axis=1)]
        self._incumbents = F[moocore.is_nondominated(F, keep_weakly=False)]
        order = np.argsort(self._incumbents[:, 0], kind="stable")
        first = self._incumbents[order, 0]
        if self._incumbents.shape[1] == 2:
            self._staircase = first, np.minimum.accumulate(self._incumbents[order, 1])
        else:  # a spread subset: each label is tested against every one of them
            pick = np.unique(np.linspace(0, len(order) - 1, MAX_TESTED).round().astype(int))
            self._tested = self._incumbents[order[pick]]

    def _beaten(self, sums: np.ndarray) -> np.ndarray:
        """Labels whose every completion some incumbent beats strictly in every objective
        (a relative 1e-9 margin absorbs rounding: the floor and the closed value are the
        same sums taken in another order)."""
        if not len(self._incumbents) or not len(sums):
            return np.zeros(len(sums), bool)
        floor = np.column_stack([self._floor(q, sums) for q in self.problem.objectives])
        floor = floor - 1e-9 * np.abs(floor) - 1e-12
        if floor.shape[1] == 2:
            first, best_second = self._staircase
            at = np.searchsorted(first, floor[:, 0], side="right") - 1
            return (at >= 0) & (best_second[np.maximum(at, 0)] <= floor[:, 1])
        beaten = np.zeros(len(floor), bool)
        for point in self._tested:
            beaten |= np.all(point <= floor, axis=1)
        return beaten

    def _floor(self, objective: str, sums: np.ndarray) -> np.ndarray:
        """A lower bound on `objective` over every completion of each label."""
        dims = self.dims
        if objective == "error":
            return sums[:, dims.index("error")]
        if objective == "memory_bytes":
            return sums[:, dims.index("weights")] + sums[:, dims.index("peak")]
        future = self._latency_future[min(self._done, len(self._latency_future) - 1)]
        if self.tracks_edge_latency:
            return sums[:, dims.index("edge_ms")] + future
        return np.full(len(sums), future)

    @property
    def banded(self) -> set[str]:
        """The objectives with a band: merging never raises their ideal."""
        return set(self.caps) if self.certified else set()

    def begin_pass(self, n_steps: int, latency_future: np.ndarray | None = None) -> None:
        """Start a pass of `n_steps` nodes: certified mode gives it the whole budget.

        latency_future[s]: after the pass's step s, a lower bound on a completed label's
        latency minus its edge latency sum if labels track one (`tracks_edge_latency`),
        else on the whole latency (needed if `needs_latency_future`).
        """
        self._spent = np.maximum(self._spent, self.budget - self._left)
        self._left = self.budget.copy()
        self._n_steps, self._done = max(1, n_steps), 0
        if latency_future is not None:
            self._latency_future = np.asarray(latency_future, float)
        elif self.needs_latency_future:
            raise ValueError("this pass needs latency_future (a latency band is in use)")

    def edge_latency_floor(self) -> np.ndarray:
        """Per row, the least edge latency any of its choices takes (0 for the input)."""
        floor = np.zeros(len(self.choices))
        if self.latency_table is None:
            return self.problem.profile.edge_ms.astype(float).copy()
        for i in range(1, len(floor)):
            pairs = self.choices[i]
            floor[i] = self.latency_table[i, pairs[:, 0], self.bits[pairs[:, 1]]].min()
        return floor

    def close_latency_floor(self, edge: np.ndarray, cut: tuple[int, ...],
                            input_cut: bool) -> float:
        """A lower bound on the latency a plan with edge set `edge` adds beyond its edge
        compute: rtt, cloud time, and sending `cut` (and the input) at the smallest bits
        with the best codec."""
        problem, profile = self.problem, self.problem.profile
        codecs = problem.codec_table
        ratio = np.where(codecs.available, codecs.ratio, 0.0).max(axis=0)
        encode = np.minimum(0.0, np.where(codecs.available, codecs.encode_ms, np.inf).min(axis=0))
        tensors = ([0] if input_cut else []) + list(cut)
        bits = np.array([profile.input_bits if t == 0 else self.bits.min() for t in tensors])
        tx_bits = float(np.sum(profile.out_elems[tensors] * bits / ratio[tensors])) * profile.batch
        return (problem.network.rtt_ms + float(profile.cloud_ms[~edge].sum())
                + 1000.0 * tx_bits / (problem.network.bandwidth_mbps * 1e6)
                + float(encode[tensors].sum()))

    @property
    def spent(self) -> dict[str, float]:
        """Slack used by merging, per objective: the most any pass used."""
        used = np.maximum(self._spent, self.budget - self._left)
        out: dict[str, float] = {}
        for dim, value in zip(self.dims, used, strict=True):
            if value > 0:
                out[RELAXES[dim]] = max(out.get(RELAXES[dim], 0.0), float(value))
        return out

    def _step_width(self, count: int) -> np.ndarray | None:
        """This step's cell widths (None: no merging): the budget left over the steps left.

        A step spends them (`_spend`) only if merging dropped a label: otherwise its
        labels are the exact ones and no slack was used.
        """
        steps_left = max(1, self._n_steps - self._done)
        if count <= self.merge_above or not self._left.any():
            return None
        return self._left / steps_left

    def _spend(self, width: np.ndarray) -> None:
        self._left = self._left - width

    # --------------------------------------------------------------- stepping
    def _root(self) -> Step:
        """The one empty label before any node (nothing on the edge yet)."""
        return Step(0, (), np.zeros((1, 0), np.uint8), np.zeros(1, np.int64),
                    np.zeros((1, len(self.dims))), np.full(1, -1), np.full(1, -1))

    def _within_bounds(self, sums: np.ndarray) -> np.ndarray:
        """Labels whose partial sums do not already break a constraint (they only grow)."""
        keep = np.ones(len(sums), bool)
        if "error" in self.bounds and "error" in self.dims:
            keep &= sums[:, self.dims.index("error")] <= self.bounds["error"]
        if "memory_bytes" in self.bounds and "weights" in self.dims:
            memory = sums[:, self.dims.index("weights")] + sums[:, self.dims.index("peak")]
            keep &= memory <= self.bounds["memory_bytes"]
        if "latency_ms" in self.bounds and "edge_ms" in self.dims:
            floor = sums[:, self.dims.index("edge_ms")] + self.problem.network.rtt_ms
            keep &= floor <= self.bounds["latency_ms"]
        return keep

    def _prune(self, step: Step) -> Step:
        """Bound, dominance (per state, on `_key`) and incumbent pruning, then, in
        certified mode and past `merge_above` labels, merging within grid cells."""
        index = np.flatnonzero(self._within_bounds(step.sums))
        key = self._key(step.sums[index])
        codes = step.codes[index]
        kept = _pareto_per_code(codes, key)
        # bounding after dominance: it tests every label against incumbents, and fewer
        # labels are left by now (a label dominated by a beaten one is beaten too)
        beaten = self._beaten(step.sums[index[kept]])
        self.bounded += int(beaten.sum())
        kept = kept[~beaten]
        width = self._step_width(kept.size) if self.certified else None
        if width is not None:
            cells = self._cells(key[kept], step.sums[index[kept]], width)
            merged = kept[_pareto_per_code(codes[kept], cells)]
            if merged.size < kept.size:
                self._spend(width)
                self.merged += kept.size - merged.size
                kept = merged
        self._done += 1
        return step.take(index[np.sort(kept)])

    def _key(self, sums: np.ndarray) -> np.ndarray:
        """What labels of one state are compared on: the sums, with memory as (weights,
        weights + peak). Final memory is weights + future weights + max(peak, future
        working sets), non-decreasing in both, so a label no worse in both is no worse for
        any completion (weaker than comparing the peak)."""
        key = sums.copy()
        if "peak" in self.dims:
            key[:, self.dims.index("peak")] += sums[:, self.dims.index("weights")]
        return key

    def _cells(self, key: np.ndarray, sums: np.ndarray, width: np.ndarray) -> np.ndarray:
        """Grid keys: a relaxed sum x becomes ceil(x / width) (its cell), or x / width for a
        label in its objective's band. Then key(a) <= key(b) gives a < b + width, and a <= b
        when b is in the band (a cell number is never below x / width)."""
        band = self._in_band(sums)
        cells = key.copy()
        for d, dim in enumerate(self.dims):
            if width[d] <= 0:
                continue
            scaled = key[:, d] / width[d]
            exact = band.get(RELAXES[dim])
            cells[:, d] = np.ceil(scaled) if exact is None else np.where(exact, scaled,
                                                                          np.ceil(scaled))
        return cells

    def _in_band(self, sums: np.ndarray) -> dict[str, np.ndarray]:
        """Per banded objective: the labels whose best completion could still reach its cap
        (a lower bound on their final value is at most it)."""
        dims = self.dims
        out = {}
        for objective, cap in self.caps.items():
            if objective == "error":
                floor = sums[:, dims.index("error")]
            elif objective == "memory_bytes":
                floor = sums[:, dims.index("weights")] + sums[:, dims.index("peak")]
            else:  # latency, with a bit-dependent edge latency
                future = self._latency_future[min(self._done, len(self._latency_future) - 1)]
                floor = sums[:, dims.index("edge_ms")] + future
            out[objective] = floor <= cap
        return out

    def advance(self, previous: Step | None, node: int, live: tuple[int, ...],
                input_live: bool, frontier: tuple[int, ...]) -> Step:
        """Add `node` to every label of `previous`.

        live: earlier tensors (all in the previous frontier) live while `node` runs.
        frontier: tensors needed after `node` (a subset of the previous frontier and node).
        """
        if previous is None:
            previous = self._root()
        choices, costs = self.choices[node], self.costs[node]
        n_labels, n_choices = len(previous.codes), len(choices)
        if n_labels * n_choices > self.max_labels:
            raise LabelLimit(node, n_labels * n_choices)
        self.peak = max(self.peak, n_labels * n_choices)
        parent = np.repeat(np.arange(n_labels), n_choices)
        choice = np.tile(np.arange(n_choices), n_labels)
        sums = previous.sums[parent] + costs[choice]
        a_new = choices[choice, 1]
        if "peak" in self.dims:
            working = self.sizes[node, a_new] + (self.input_size if input_live else 0.0)
            for t in live:
                position = previous.frontier.index(t)
                working = working + self.sizes[t, previous.digits[parent, position]]
            p = self.dims.index("peak")
            sums[:, p] = np.maximum(sums[:, p], working)
        digits = np.empty((len(parent), len(frontier)), np.uint8)
        for position, t in enumerate(frontier):
            digits[:, position] = (a_new if t == node
                                   else previous.digits[parent, previous.frontier.index(t)])
        return self._prune(Step(node, frontier, digits, self._codes(digits), sums, parent,
                                choice))

    def _codes(self, digits: np.ndarray) -> np.ndarray:
        """One integer per state: mixed radix while it fits in int64, else the rank of the
        row among the distinct rows (wide frontiers of DAGs with long skips)."""
        width = digits.shape[1]
        if self.base ** width < 2**63:
            return digits.astype(np.int64) @ (self.base ** np.arange(width, dtype=np.int64))
        return np.unique(digits, axis=0, return_inverse=True)[1].astype(np.int64).ravel()

    # ---------------------------------------------------------------- closing
    def close(self, step: Step | None, edge: np.ndarray, cut: tuple[int, ...],
              input_cut: bool) -> Closed:
        """Full objective vectors of every label of `step` for the edge set `edge`.

        cut: the edge tensors sent (all in the step's frontier); input_cut: the raw input
        is sent too.
        """
        problem, profile = self.problem, self.problem.profile
        network, codecs = problem.network, problem.codec_table
        if step is None:
            step = self._root()
        n_labels = len(step.codes)
        batch = profile.batch
        cloud_ms = profile.cloud_ms[~edge].sum()
        edge_mj = None if profile.edge_mj is None else profile.edge_mj[edge].sum()
        macs = float(profile.macs[edge].sum())
        if "edge_ms" in self.dims:
            edge_ms = step.sums[:, self.dims.index("edge_ms")]
        else:
            edge_ms = np.full(n_labels, profile.edge_ms[edge].sum())
        tensors = ([0] if input_cut else []) + list(cut)
        out_F, out_label, out_codec = [], [], []
        for c in range(len(codecs)):
            if not codecs.available[c, tensors].all():
                continue
            tx_bits = np.zeros(n_labels)
            if input_cut:
                tx_bits += profile.out_elems[0] * profile.input_bits * batch / codecs.ratio[c, 0]
            for t in cut:
                bits = self.bits[step.digits[:, step.frontier.index(t)]]
                tx_bits += profile.out_elems[t] * bits * batch / codecs.ratio[c, t]
            encode = codecs.encode_ms[c, tensors].sum()
            tx_s = tx_bits / (network.bandwidth_mbps * 1e6)
            values = {}
            values["latency_ms"] = (edge_ms + encode + network.rtt_ms + 1000.0 * tx_s
                                    + cloud_ms)
            if "error" in self.dims:
                values["error"] = (step.sums[:, self.dims.index("error")]
                                   + codecs.err[c, tensors].sum())
            if "weights" in self.dims:
                values["memory_bytes"] = (step.sums[:, self.dims.index("weights")]
                                          + step.sums[:, self.dims.index("peak")])
            values["edge_macs"] = np.full(n_labels, macs)
            if edge_mj is not None and network.tx_power_mw is not None:
                values["energy_mj"] = edge_mj + network.tx_power_mw * tx_s
            slowest = np.maximum(np.maximum(edge_ms + encode, cloud_ms) / 1000.0, tx_s)
            with np.errstate(divide="ignore"):
                values["throughput_fps"] = np.where(slowest > 0, batch / slowest, np.inf)
            values["tx_bytes"] = tx_bits / 8.0
            feasible = np.ones(n_labels, bool)
            for name, bound in problem.constraints.items():
                feasible &= meets(name, values[name], bound)
            F = minimisation_form(np.column_stack([values[q] for q in problem.objectives]),
                                  problem.maximise)[feasible]
            out_F.append(F)
            out_label.append(np.flatnonzero(feasible))
            out_codec.append(np.full(len(F), c))
        if not out_F:
            k = problem.n_objectives
            return Closed(np.zeros((0, k)), np.zeros(0, int), np.zeros(0, int))
        F = np.concatenate(out_F)
        keep = moocore.is_nondominated(F, keep_weakly=False) if len(F) else np.zeros(0, bool)
        return Closed(F[keep], np.concatenate(out_label)[keep], np.concatenate(out_codec)[keep])

    def rebuild(self, steps: list[Step], last: int, label: int) -> dict[int, tuple[int, int]]:
        """(bw, ba) of every node along the label's history, walking parents back."""
        bits: dict[int, tuple[int, int]] = {}
        j = last
        while j >= 0 and label >= 0:
            step = steps[j]
            bw, a = self.choices[step.node][step.choice[label]]
            bits[step.node] = (int(bw), int(self.bits[a]))
            label = int(step.parent[label])
            j -= 1
        return bits


def _pareto_per_code(codes: np.ndarray, key: np.ndarray) -> np.ndarray:
    """Indices of the rows of `key` that no row with the same code dominates (of equal
    rows, the first is kept)."""
    if codes.size == 0:
        return np.zeros(0, np.intp)
    order = np.argsort(codes, kind="stable")
    sorted_codes = codes[order]
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    if not key.shape[1]:
        return order[starts]
    kept = []
    for lo, hi in zip(starts, np.r_[starts[1:], order.size], strict=True):
        group = order[lo:hi]
        kept.append(group if group.size == 1
                    else group[moocore.is_nondominated(key[group], keep_weakly=False)])
    return np.concatenate(kept)
