"""Bounding: drop a label when a known feasible plan beats every completion of it.

A label's completions are bounded below per objective (:func:`objective_floor`): partial
sums only grow, so the error and memory sums are floors; latency's floor adds the cheapest
completion (the pass's *latency future*). :class:`Incumbents` are objective vectors of
feasible plans the caller returns too; a label whose floor some incumbent beats strictly
in every objective cannot lead to a front point. Under an error or memory bound,
:class:`BudgetFloors` raise latency's floor with what the budget a label has left allows
(Lagrangian bounds).
"""

from __future__ import annotations

from dataclasses import dataclass

import moocore
import numpy as np

MAX_TESTED = 32
"""With three or more objectives, the most incumbents each label is tested against (a
spread subset of them, sorted by the first objective): fewer only weakens bounding."""

BOUNDED_OBJECTIVES = frozenset({"latency_ms", "error", "memory_bytes"})
"""The objectives with a floor: bounding applies when every objective is one of them."""


def objective_floor(objective: str, sums: np.ndarray, dims: list[str],
                    latency_future: float) -> np.ndarray:
    """A lower bound on `objective` over every completion of each label.

    latency_future: a lower bound on what completing a label adds to its edge latency sum
    (to the whole latency if labels do not track edge latency).
    """
    if objective == "error":
        return sums[:, dims.index("error")]
    if objective == "memory_bytes":
        return sums[:, dims.index("weights")] + sums[:, dims.index("peak")]
    if "edge_ms" in dims:
        return sums[:, dims.index("edge_ms")] + latency_future
    return np.full(len(sums), latency_future)


class Incumbents:
    """Non-dominated objective vectors (minimisation form) of known feasible plans.

    With two objectives a label is tested against all of them at once (a staircase and a
    binary search); with three or more, against a spread subset of MAX_TESTED.
    """

    def __init__(self, n_objectives: int) -> None:
        self.F = np.zeros((0, n_objectives))
        self._first = np.zeros(0)          # two objectives: f1 sorted ...
        self._best_second = np.zeros(0)    # ... and the best f2 up to each
        self._tested = np.zeros((0, n_objectives))

    def __len__(self) -> int:
        return len(self.F)

    def add(self, F: np.ndarray) -> None:
        """Add vectors (non-finite ones are left out)."""
        if not len(F):
            return
        F = np.concatenate([self.F, np.asarray(F, float)])
        F = F[np.all(np.isfinite(F), axis=1)]
        self.F = F[moocore.is_nondominated(F, keep_weakly=False)]
        order = np.argsort(self.F[:, 0], kind="stable")
        if self.F.shape[1] == 2:
            self._first = self.F[order, 0]
            self._best_second = np.minimum.accumulate(self.F[order, 1])
        else:
            pick = np.unique(np.linspace(0, len(order) - 1, MAX_TESTED).round().astype(int))
            self._tested = self.F[order[pick]]

    def beat(self, floor: np.ndarray) -> np.ndarray:
        """Rows of `floor` (lower bounds on labels' objective vectors) that some incumbent
        beats strictly in every objective. A relative 1e-9 margin absorbs rounding: the
        floor and the closed value are the same sums taken in another order."""
        if not len(self.F) or not len(floor):
            return np.zeros(len(floor), bool)
        floor = floor - 1e-9 * np.abs(floor) - 1e-12
        if floor.shape[1] == 2:
            at = np.searchsorted(self._first, floor[:, 0], side="right") - 1
            return (at >= 0) & (self._best_second[np.maximum(at, 0)] <= floor[:, 1])
        beaten = np.zeros(len(floor), bool)
        for point in self._tested:
            beaten |= np.all(point <= floor, axis=1)
        return beaten


LAMBDAS = np.r_[0.0, np.geomspace(1e-6, 1e6, 25)]
"""Multipliers tried on error (ms per unit of error) when choosing BudgetFloors' pairs."""

MUS = np.r_[0.0, np.geomspace(1e-12, 1e0, 13)]
"""Multipliers tried on weight bytes (ms per byte)."""

FRACTIONS = (1.0, 0.3, 0.1, 0.03, 0.01, 0.003)
"""Shares of the budgets a label may have left, one multiplier pair chosen for each."""


@dataclass
class BudgetFloors:
    """Latency floors from the budgets a label has left (Lagrangian relaxation).

    Let a label after step s have error e and weights + peak W + P, under bounds E on
    error and M on memory. A completion (the nodes after s on the edge up to the split,
    each at some choice c) adds error sum err_i(c) <= E - e and weights sum w_i(c) <= M - W
    - P (final memory is at least W + P plus the weights added), and latency sum
    edge_i(c) + close(t), close(t) the floor of `close_floors` at the last step t. For any
    lam, mu >= 0 the latency it adds is therefore at least

        sum (edge_i(c) + lam err_i(c) + mu w_i(c)) + close(t) - lam (E - e) - mu (M - W - P)
        >= H(s) - lam (E - e) - mu (M - W - P),

    with H(s) = min over t >= s of sum_{s < i <= t} m_i + close(t) and m_i = min_c (edge_i(c)
    + lam err_i(c) + mu w_i(c)): each term minimised on its own. Every (lam, mu) gives a
    valid floor; a label takes the largest over `pairs`, which are chosen at the start of
    the pass to be the best at the first step for several shares of the budgets left
    (FRACTIONS). `H[g, s]` holds H for pair g; `edge[s]` is the edge latency of steps up
    to s when labels do not track it (0 when they do, and their own sum is added).
    """

    pairs: np.ndarray          # (G, 2): lam, mu
    H: np.ndarray              # (G, steps)
    edge: np.ndarray           # (steps,)
    error_bound: float         # E (inf: none)
    memory_bound: float        # M (inf: none)

    @classmethod
    def build(cls, edge_ms: np.ndarray, error: np.ndarray, weights: np.ndarray,
              close_floors: np.ndarray, tracked: bool, error_bound: float,
              memory_bound: float) -> BudgetFloors:
        """edge_ms, error, weights: (steps, choices) per step's node and choice, inf where a
        node has fewer choices; close_floors: (steps,) the least latency a close after
        each step adds beyond edge compute (inf where none may close)."""
        lams = LAMBDAS if np.isfinite(error_bound) else np.zeros(1)
        mus = MUS if np.isfinite(memory_bound) else np.zeros(1)
        grid = np.array([(lam, mu) for lam in lams for mu in mus])
        H = _futures(grid, edge_ms, error, weights, close_floors)
        budgets = np.array([error_bound if np.isfinite(error_bound) else 0.0,
                            memory_bound if np.isfinite(memory_bound) else 0.0])
        chosen = {int(np.argmax(H[:, 0] - grid @ (share * budgets))) for share in FRACTIONS}
        chosen.add(0)  # (0, 0): the plain latency future
        pairs = grid[sorted(chosen)]
        steps = len(close_floors)
        edge = np.zeros(steps) if tracked else np.cumsum(np.min(edge_ms, axis=1))
        return cls(pairs, H[sorted(chosen)], edge, error_bound, memory_bound)

    def floor(self, step: int, edge: np.ndarray | None, error: np.ndarray | None,
              memory: np.ndarray | None) -> np.ndarray:
        """The latency floor of labels after `step`: edge latency sums (None: not
        tracked), error sums and weights + peak (None where unbounded)."""
        n = len(error if error is not None else memory if memory is not None else edge)
        base = self.H[:, step][None, :] + (self.edge[step] if edge is None
                                           else edge[:, None])
        base = np.broadcast_to(base, (n, len(self.pairs))).copy()
        if error is not None and np.isfinite(self.error_bound):
            base -= np.outer(self.error_bound - error, self.pairs[:, 0])
        if memory is not None and np.isfinite(self.memory_bound):
            base -= np.outer(self.memory_bound - memory, self.pairs[:, 1])
        return base.max(axis=1)


def _futures(grid: np.ndarray, edge_ms: np.ndarray, error: np.ndarray, weights: np.ndarray,
             close_floors: np.ndarray) -> np.ndarray:
    """H[g, s] of :class:`BudgetFloors` for every pair of `grid`."""
    H = np.empty((len(grid), len(close_floors)))
    for g, (lam, mu) in enumerate(grid):
        with np.errstate(invalid="ignore"):  # inf * 0 for padded choices
            cost = edge_ms + lam * error + mu * weights
        m = np.min(np.where(np.isnan(cost), np.inf, cost), axis=1)
        cum = np.cumsum(m)
        best = np.minimum.accumulate((cum + close_floors)[::-1])[::-1]
        H[g] = best - cum
    return H
