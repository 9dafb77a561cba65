"""Certified label merging: a slack budget per pass, spent on grid cells of relaxed sums.

With a resolution, labels of one state whose relaxed sums fall in one grid cell are
merged, keeping one real partial plan per cell (docs/solvers.md has the argument). Only
sums that feed a minimised objective linearly and that no constraint reads are relaxed
(:func:`relaxable`). Each pass (one edge set's walk) may spend its objective's slack; a
step merges only when it holds more than `merge_above` labels, and spends the slack left
divided by the steps left (:class:`SlackBudget`). Labels that could still reach an
objective's ideal (its *band*) keep that objective's sums exact.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ...problems.problem import SplitProblem

RELAXES = {"error": "error", "edge_ms": "latency_ms", "weights": "memory_bytes",
           "peak": "memory_bytes"}
"""The objective whose slack each tracked sum may spend when labels are merged."""

BANDED = {"error": "error", "memory_bytes": "weights", "latency_ms": "edge_ms"}
"""The objectives that can have a band, with the tracked sum it needs."""


def relaxable(problem: SplitProblem, dim: str) -> bool:
    """Whether merging may relax tracked sum `dim`: it feeds only a minimised objective,
    linearly, and no constraint reads it."""
    objective = RELAXES[dim]
    used = set(problem.objectives) | set(problem.constraints)
    if objective not in problem.objectives or objective in problem.constraints:
        return False
    # throughput is batch / max(edge, ...): not additive in edge latency
    return not (dim == "edge_ms" and "throughput_fps" in used)


class SlackBudget:
    """Per tracked sum, the additive slack one pass may spend on merging, and what it did.

    `budget[d]` is the slack of dim d's objective if d is relaxable (else 0); `spent`
    reports, per objective, the most any pass used.
    """

    def __init__(self, problem: SplitProblem, dims: list[str],
                 slack: Mapping[str, float] | None, merge_above: int) -> None:
        self.dims = dims
        self.merge_above = merge_above
        self.budget = np.array([slack.get(RELAXES[dim], 0.0) if relaxable(problem, dim)
                                else 0.0 for dim in dims]) if slack else np.zeros(len(dims))
        self._left = self.budget.copy()
        self._spent = np.zeros(len(dims))

    def begin_pass(self) -> None:
        """A new pass gets the whole budget again."""
        self._spent = np.maximum(self._spent, self.budget - self._left)
        self._left = self.budget.copy()

    def width(self, count: int, steps_left: int) -> np.ndarray | None:
        """This step's cell widths (None: no merging): the budget left over the steps left.
        A step spends them (:meth:`spend`) only if merging dropped a label: otherwise its
        labels are the exact ones and no slack was used."""
        if count <= self.merge_above or not self._left.any():
            return None
        return self._left / max(1, steps_left)

    def spend(self, width: np.ndarray) -> None:
        """Record that a step merged with cells of `width`."""
        self._left = self._left - width

    @property
    def spent(self) -> dict[str, float]:
        """Slack used by merging, per objective: the most any pass used."""
        used = np.maximum(self._spent, self.budget - self._left)
        out: dict[str, float] = {}
        for dim, value in zip(self.dims, used, strict=True):
            if value > 0:
                out[RELAXES[dim]] = max(out.get(RELAXES[dim], 0.0), float(value))
        return out


def cells(key: np.ndarray, width: np.ndarray, dims: list[str],
          band: Mapping[str, np.ndarray]) -> np.ndarray:
    """Grid keys: a relaxed sum x becomes ceil(x / width) (its cell), or x / width for a
    label in its objective's band. Then key(a) <= key(b) gives a < b + width, and a <= b
    when b is in the band (a cell number is never below x / width)."""
    out = key.copy()
    for d, dim in enumerate(dims):
        if width[d] <= 0:
            continue
        scaled = key[:, d] / width[d]
        exact = band.get(RELAXES[dim])
        out[:, d] = np.ceil(scaled) if exact is None else np.where(exact, scaled,
                                                                    np.ceil(scaled))
    return out
