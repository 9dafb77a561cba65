"""Bounding: drop a label when a known feasible plan beats every completion of it.

A label's completions are bounded below per objective (:func:`objective_floor`): partial
sums only grow, so the error and memory sums are floors; latency's floor adds the cheapest
completion (the pass's *latency future*). :class:`Incumbents` are objective vectors of
feasible plans the caller returns too; a label whose floor some incumbent beats strictly
in every objective cannot lead to a front point.
"""

from __future__ import annotations

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
