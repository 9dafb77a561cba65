"""Choosing plans on a front: under user limits (Auto-Split's threshold), the knee, extremes."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..problems.problem import meets
from ..problems.quantities import QUANTITIES

if TYPE_CHECKING:  # a Front's methods call these; they only use its public methods
    from .front import Front
from .pareto import minimisation_form


def limit_names() -> list[str]:
    """The keyword names `select` takes: max_<q> for minimised q, min_<q> for maximised."""
    return [("min_" if q.maximise else "max_") + q.name for q in QUANTITIES.values()]


def select(front: Front, by: str | None = None, **limits: float) -> Front:
    """The best point, by objective `by` (default: the first), among those within `limits`.

    Limits are keyword arguments `max_<quantity>` (for minimised quantities, e.g.
    `max_error=0.05`) or `min_<quantity>` (for maximised ones, e.g. `min_throughput_fps`),
    over any quantity of SPEC section 4, objective or not: Auto-Split's user threshold.
    Returns a front of one point, or of none if no point qualifies.

    Example:
        >>> import moosplit
        >>> problem = moosplit.random_problem(5, seed=3)
        >>> best = select(moosplit.solve(problem, "exhaustive"), max_error=1.0)
        >>> len(best)
        1
    """
    valid = limit_names()
    mask = np.ones(len(front), bool)
    for key, bound in limits.items():
        if key not in valid:
            raise TypeError(f"select() got an unknown limit {key!r}; valid: {', '.join(valid)}")
        name = key.split("_", 1)[1]
        mask &= meets(name, front.evaluation[name], float(bound))
    by = front.objectives[0] if by is None else by
    if by not in QUANTITIES:
        raise ValueError(f"by must be a quantity ({', '.join(QUANTITIES)}), got {by!r}")
    candidates = np.flatnonzero(mask)
    if candidates.size == 0:
        return front.take([])
    values = front.evaluation[by][candidates] * (-1 if QUANTITIES[by].maximise else 1)
    # ties on `by` go to the point best on the remaining objectives, in order
    others = minimisation_form(front.F[candidates], front.problem.maximise)
    order = np.lexsort([*others.T[::-1], values])
    return front.take([candidates[order[0]]])


def extremes(front: Front) -> Front:
    """For each objective, the point best on it (ties broken by the others); no repeats."""
    if len(front) == 0:
        return front.take([])
    F = minimisation_form(front.F, front.problem.maximise)
    picks = []
    for j in range(F.shape[1]):
        keys = [F[:, i] for i in reversed(range(F.shape[1])) if i != j] + [F[:, j]]
        picks.append(int(np.lexsort(keys)[0]))
    return front.take(sorted(set(picks)))


def knee(front: Front) -> Front:
    """The knee: with objectives normalised to [0, 1] over the front, the point farthest
    from the line through the two extremes (two objectives), or nearest the ideal point
    (three or more, where no single chord exists). One objective: the best point.
    """
    if len(front) <= 2 or front.problem.n_objectives == 1:
        return select(front)
    F = minimisation_form(front.F, front.problem.maximise)
    span = F.max(axis=0) - F.min(axis=0)
    N = (F - F.min(axis=0)) / np.where(span > 0, span, 1.0)
    if N.shape[1] == 2:
        a, b = N[np.argmin(N[:, 0])], N[np.argmin(N[:, 1])]
        direction = (b - a) / max(np.linalg.norm(b - a), 1e-300)
        offset = N - a
        distance = np.abs(offset[:, 0] * direction[1] - offset[:, 1] * direction[0])
        return front.take([int(np.argmax(distance))])
    return front.take([int(np.argmin(np.linalg.norm(N, axis=1)))])
