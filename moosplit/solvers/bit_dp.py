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
"""

from __future__ import annotations

from dataclasses import dataclass

import moocore
import numpy as np

from ..pareto import minimisation_form
from ..problems.problem import SplitProblem, limit, meets
from ..problems.quantities import QUANTITIES


@dataclass
class Step:
    """Labels after one node: their frontier codes, partial sums, parent and choice."""

    node: int
    frontier: tuple[int, ...]    # tensors still needed later (their ba is in the code)
    codes: np.ndarray            # (L,) mixed-radix code of the frontier's ba indices
    sums: np.ndarray             # (L, d) partial sums of the tracked dims
    parent: np.ndarray           # (L,) label index in the previous step
    choice: np.ndarray           # (L,) index into the node's (bw, ba) choices


@dataclass
class Closed:
    """Full objective vectors of finished plans, with what it takes to rebuild them."""

    F: np.ndarray        # (P, k) objectives in minimisation form
    label: np.ndarray    # (P,) label index in the closed step
    codec: np.ndarray    # (P,)


class LabelLimit(Exception):
    """Raised when a step would need more labels than the DP was allowed."""


class BitDP:
    """The DP machinery for one problem: `advance` adds a node, `close` finishes plans.

    `max_labels` caps the labels one step may hold; past it LabelLimit is raised (exact
    fronts of the joint problem can be very large, and the caller must say so rather than
    exhaust memory).
    """

    def __init__(self, problem: SplitProblem, max_labels: int = 1_000_000) -> None:
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

    def _forward_bounds(self) -> dict[str, float]:
        """Bounds the partial sums can be pruned by (they only grow)."""
        out = {}
        for name, bound in self.problem.constraints.items():
            if not QUANTITIES[name].maximise:
                out[name] = limit(name, bound)
        return out

    # --------------------------------------------------------------- stepping
    def _root(self) -> Step:
        """The one empty label before any node (nothing on the edge yet)."""
        return Step(0, (), np.zeros(1, np.int64), np.zeros((1, len(self.dims))),
                    np.full(1, -1), np.full(1, -1))

    def _digit(self, codes: np.ndarray, position: int) -> np.ndarray:
        return (codes // self.base**position) % self.base

    def _prune(self, step: Step) -> Step:
        sums = step.sums
        keep = np.ones(len(step.codes), bool)
        if "error" in self.bounds and "error" in self.dims:
            keep &= sums[:, self.dims.index("error")] <= self.bounds["error"]
        if "memory_bytes" in self.bounds and "weights" in self.dims:
            memory = sums[:, self.dims.index("weights")] + sums[:, self.dims.index("peak")]
            keep &= memory <= self.bounds["memory_bytes"]
        if "latency_ms" in self.bounds and "edge_ms" in self.dims:
            floor = sums[:, self.dims.index("edge_ms")] + self.problem.network.rtt_ms
            keep &= floor <= self.bounds["latency_ms"]
        index = np.flatnonzero(keep)
        # non-dominated labels per frontier state
        order = index[np.lexsort((*sums[index].T[::-1], step.codes[index]))] \
            if sums.shape[1] else index[np.argsort(step.codes[index], kind="stable")]
        codes = step.codes[order]
        cuts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]]) if codes.size else codes
        kept = []
        for lo, hi in zip(cuts, np.r_[cuts[1:], codes.size][:cuts.size], strict=True):
            group = order[lo:hi]
            if not sums.shape[1] or group.size == 1:
                kept.append(group[:1])
            else:
                kept.append(group[moocore.is_nondominated(sums[group], keep_weakly=False)])
        chosen = np.concatenate(kept) if kept else np.zeros(0, int)
        return Step(step.node, step.frontier, step.codes[chosen], step.sums[chosen],
                    step.parent[chosen], step.choice[chosen])

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
        parent = np.repeat(np.arange(n_labels), n_choices)
        choice = np.tile(np.arange(n_choices), n_labels)
        sums = previous.sums[parent] + costs[choice]
        a_new = choices[choice, 1]
        if "peak" in self.dims:
            working = self.sizes[node, a_new] + (self.input_size if input_live else 0.0)
            for t in live:
                position = previous.frontier.index(t)
                working = working + self.sizes[t, self._digit(previous.codes[parent], position)]
            p = self.dims.index("peak")
            sums[:, p] = np.maximum(sums[:, p], working)
        codes = np.zeros(len(parent), np.int64)
        for position, t in enumerate(frontier):
            digit = (a_new if t == node
                     else self._digit(previous.codes[parent], previous.frontier.index(t)))
            codes += digit * self.base**position
        return self._prune(Step(node, frontier, codes, sums, parent, choice))

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
                bits = self.bits[self._digit(step.codes, step.frontier.index(t))]
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
