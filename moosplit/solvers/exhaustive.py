"""`exhaustive`: evaluate every plan; the reference for small problems."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from ..errors import UnsupportedProblemError
from ..evaluator import evaluate
from ..plans import Plans
from ..problems.problem import SplitProblem
from ..results.archive import Archive
from ..results.front import EXACT, HEURISTIC, Front, SolveStats, certified_subset
from ..results.resolution import RESOLUTION, Resolution
from ..validation import Number, option
from .base import SolveContext, Solver
from .enumeration import (
    TimeUp,
    TooMany,
    choices_per_set,
    edge_sets,
    iterate_plans,
    prefix_plan_count,
)
from .registry import available_solvers, register


@register
class Exhaustive(Solver):
    """Enumerate every plan (edge set x bit-widths x codec) and keep the non-dominated ones.

    Exact in both modes. Refuses problems with more than `max_plans` plans, saying how many
    there are. With a time limit it returns what it has, with status FEASIBLE and a
    heuristic guarantee (a partial enumeration proves nothing about the rest).

    With a resolution (see :class:`moosplit.results.resolution.Resolution`; a number is
    relative to each objective's range) it returns a certified subset of the exact front:
    enumeration is the same, only the answer is smaller.
    """

    name = "exhaustive"
    exact = True

    max_plans: int = option(2_000_000, Number(whole=True, at_least=1),
                            "the most plans it agrees to enumerate")
    chunk_size: int = option(32_768, Number(whole=True, at_least=1),
                             "plans evaluated per batch (memory vs. overhead)")
    resolution: Resolution | None = option(
        None, RESOLUTION, "a certified subset of the exact front instead of all of it")

    def _refuse(self, count: float, exact_count: bool) -> UnsupportedProblemError:
        others = [n for n, cls in available_solvers().items() if cls.exact and n != self.name]
        if count < 10**12:
            size = f"{int(count):,}"
        elif math.isfinite(count):
            size = f"about 10^{math.log10(count):.0f}"
        else:
            size = "10^308"  # (the message says "more than")
        return UnsupportedProblemError(
            f"exhaustive: this problem has {'' if exact_count else 'more than '}{size} plans, "
            f"more than max_plans={self.max_plans:,}; "
            + (f"use an exact backend that scales ({', '.join(others)}), " if others else "")
            + "shrink it (fewer bits, tighter split bounds), or raise max_plans",
            options=("max_plans",))

    def count_plans(self, problem: SplitProblem) -> int:
        """Number of plans within the split bounds (raises past `max_plans`)."""
        return sum(choices_per_set(problem, self._edge_sets(problem)))

    def _edge_sets(self, problem: SplitProblem,
                   expired: Callable[[], bool] | None = None) -> np.ndarray:
        """Every edge set, refusing (before building anything large) past `max_plans`.

        The prefix sets' plans are counted first, in O(N): in cut mode they are some of the
        plans, so a count past the limit refuses before any enumeration.
        """
        try:
            prefix_plan_count(problem.replace(mode="prefix"), self.max_plans)
            return edge_sets(problem, limit=self.max_plans, expired=expired)
        except TooMany as exc:
            raise self._refuse(exc.args[0], exact_count=exc.args[1:] == (True,)) from None

    def _solve(self, problem: SplitProblem, context: SolveContext) -> Front:
        try:
            sets = self._edge_sets(problem, context.expired)
        except TimeUp:
            return Front.from_plans(problem, Plans.empty(problem.profile.n_rows),
                                    solver=self.name, guarantee=HEURISTIC,
                                    stats=SolveStats(context.elapsed, 0),
                                    message="time limit reached while listing edge sets")
        counts = choices_per_set(problem, sets)
        total = sum(counts)
        if total > self.max_plans:
            raise self._refuse(total, exact_count=True)

        archive = Archive(problem)
        done = 0
        stopped = False
        for batch in iterate_plans(problem, sets, counts, self.chunk_size):
            # plans arrive in tie-break order, and the archive keeps the first of equal
            # vectors: its plans are the SPEC's representatives
            archive.add(batch, evaluate(problem, batch))
            done += len(batch)
            context.report(done, total, "plans")
            if context.expired() and done < total:
                stopped = True
                break

        stats = SolveStats(context.elapsed, done, {"plans": total, "edge_sets": len(sets)})
        # a partial enumeration proves nothing about the rest
        guarantee = HEURISTIC if stopped else EXACT
        message = f"time limit reached after {done:,} of {total:,} plans" if stopped else ""
        front = Front.from_plans(problem, archive.plans, solver=self.name, guarantee=guarantee,
                                 stats=stats, message=message, evaluation=archive.evaluation)
        if self.resolution is None or stopped:
            return front
        return certified_subset(front, self.resolution)
