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

import math
from collections.abc import Mapping

import numpy as np

from ...problems.problem import SplitProblem
from ...results.resolution import Slack

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
    """Per tracked sum, the slack one pass may spend on merging, and what it did.

    A relaxable dim d gets its objective's slack: additive (in the objective's units) or,
    for an objective with a factor, multiplicative, as the logarithm of the factor (cells
    of width w in log x put labels within a factor e^w, and factors compose by adding
    logarithms). `spent` reports, per objective, the most any pass used, as a Slack.
    """

    def __init__(self, problem: SplitProblem, dims: list[str], slack: Slack | None,
                 merge_above: int) -> None:
        self.dims = dims
        self.merge_above = merge_above
        self.objectives = problem.objectives
        budget, logarithmic = [], []
        for dim in dims:
            objective = RELAXES[dim]
            j = problem.objectives.index(objective) if objective in problem.objectives else -1
            factor = slack.factor[j] if slack is not None and j >= 0 else 1.0
            additive = slack.additive[j] if slack is not None and j >= 0 else 0.0
            usable = slack is not None and relaxable(problem, dim)
            logarithmic.append(usable and factor > 1.0)
            budget.append(0.0 if not usable else math.log(factor) if factor > 1.0
                          else additive)
        self.budget = np.array(budget, float)
        self.logarithmic = np.array(logarithmic, bool)
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
    def spent(self) -> Slack:
        """Slack used by merging, per objective (the most any pass used): a factor for an
        objective merged multiplicatively, else additive."""
        used = np.maximum(self._spent, self.budget - self._left)
        factor = [1.0] * len(self.objectives)
        additive = [0.0] * len(self.objectives)
        for dim, value, log in zip(self.dims, used, self.logarithmic, strict=True):
            if value <= 0:
                continue
            j = self.objectives.index(RELAXES[dim])
            if log:
                factor[j] = max(factor[j], math.exp(float(value)))
            else:
                additive[j] = max(additive[j], float(value))
        return Slack(tuple(factor), tuple(additive))


def cells(key: np.ndarray, sums: np.ndarray, width: np.ndarray, dims: list[str],
          logarithmic: np.ndarray, band: Mapping[str, np.ndarray]) -> np.ndarray:
    """Grid keys of the first len(dims) columns of `key`: a relaxed sum x becomes
    ceil(x / width) (its cell), or ceil(ln x / width) for a logarithmic dim (x = 0 keeps
    a cell of its own, below every other), and x / width (ln x / width) for a label in its
    objective's band. Then key(a) <= key(b) gives a < b + width (a < e^width b), and
    a <= b when b is in the band (a cell number is never below the scaled value).

    Memory merged by a factor is celled on the raw weights and peak (`sums`), not on the
    two dominance columns: W_a <= f W_b and P_a <= f P_b give W_a + max(P_a, X) <= f (W_b +
    max(P_b, X)) for every X >= 0, which the dominance columns do not.
    """
    out = key.copy()
    for d, dim in enumerate(dims):
        if width[d] <= 0:
            continue
        x = sums[:, d] if logarithmic[d] and dim in ("weights", "peak") else key[:, d]
        if logarithmic[d]:
            with np.errstate(divide="ignore"):
                scaled = np.log(x) / width[d]  # -inf for x = 0: a cell of its own
        else:
            scaled = x / width[d]
        exact = band.get(RELAXES[dim])
        out[:, d] = np.ceil(scaled) if exact is None else np.where(exact, scaled,
                                                                    np.ceil(scaled))
    return out
