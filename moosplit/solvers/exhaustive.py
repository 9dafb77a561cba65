"""`exhaustive`: evaluate every plan; the reference for small problems."""

from __future__ import annotations

import math
from collections.abc import Sequence

import moocore
import numpy as np

from ..errors import UnsupportedProblemError
from ..evaluator import Evaluation, evaluate
from ..plans import Plans
from ..problems.problem import SplitProblem
from ..results.front import EXACT, HEURISTIC, Front, SolveStats, certified_subset
from ..results.pareto import minimisation_form
from ..results.resolution import Resolution
from .base import SolveContext, Solver
from .enumeration import TooMany, choices_per_set, edge_sets, iterate_plans
from .registry import available_solvers, register


@register
class Exhaustive(Solver):
    """Enumerate every plan (edge set x bit-widths x codec) and keep the non-dominated ones.

    Exact in both modes. Refuses problems with more than `max_plans` plans, saying how many
    there are. With a time limit it returns what it has, with status FEASIBLE and a
    heuristic guarantee (a partial enumeration proves nothing about the rest).

    Options:
        max_plans: largest number of plans it agrees to enumerate.
        chunk_size: plans evaluated per batch (memory vs. overhead).
        resolution: if given, return a certified subset of the exact front (see
            :class:`moosplit.results.resolution.Resolution`; a number is relative to each
            objective's range). Enumeration is the same; only the answer is smaller.
    """

    name = "exhaustive"
    exact = True
    supports_resolution = True

    def __init__(self, *, max_plans: int = 2_000_000, chunk_size: int = 32_768,
                 resolution: float | Sequence[float] | Resolution | None = None) -> None:
        if max_plans < 1 or chunk_size < 1:
            raise ValueError("max_plans and chunk_size must be >= 1")
        self.max_plans = max_plans
        self.chunk_size = chunk_size
        self.resolution = None if resolution is None else Resolution.coerce(resolution)

    def __repr__(self) -> str:
        return (f"Exhaustive(max_plans={self.max_plans}, chunk_size={self.chunk_size}, "
                f"resolution={self.resolution})")

    def _refuse(self, count: int, exact_count: bool) -> UnsupportedProblemError:
        others = [n for n, cls in available_solvers().items() if cls.exact and n != self.name]
        size = f"{count:,}" if count < 10**12 else f"about 10^{math.log10(count):.0f}"
        return UnsupportedProblemError(
            f"exhaustive: this problem has {'' if exact_count else 'more than '}{size} plans, "
            f"more than max_plans={self.max_plans:,}; "
            + (f"use an exact backend that scales ({', '.join(others)}), " if others else "")
            + "shrink it (fewer bits, tighter split bounds), or raise max_plans in Python "
              "(Exhaustive(max_plans=...))")

    def count_plans(self, problem: SplitProblem) -> int:
        """Number of plans within the split bounds (raises past `max_plans`)."""
        try:
            sets = edge_sets(problem, limit=self.max_plans)
        except TooMany as exc:
            raise self._refuse(int(exc.args[0]), exact_count=False) from None
        return sum(choices_per_set(problem, sets))

    def _solve(self, problem: SplitProblem, context: SolveContext) -> Front:
        try:
            sets = edge_sets(problem, limit=self.max_plans)
        except TooMany as exc:
            raise self._refuse(int(exc.args[0]), exact_count=False) from None
        counts = choices_per_set(problem, sets)
        total = sum(counts)
        if total > self.max_plans:
            raise self._refuse(total, exact_count=True)

        maximise = problem.maximise
        archive = Plans.empty(problem.profile.n_rows)
        archive_eval: Evaluation | None = None
        done = 0
        stopped = False
        for batch in iterate_plans(problem, sets, counts, self.chunk_size):
            evaluation = evaluate(problem, batch)
            done += len(batch)
            feasible = np.flatnonzero(evaluation.feasible)
            if feasible.size:
                # archive first: among equal vectors moocore keeps the first, and plans
                # arrive in tie-break order, so the kept plan is the SPEC's representative
                candidates = Plans.concat([archive, batch.take(feasible)],
                                          problem.profile.n_rows)
                values = evaluation.take(feasible)
                if archive_eval is not None:
                    values = Evaluation.concat([archive_eval, values])
                F = minimisation_form(values.objectives(problem.objectives), maximise)
                keep = np.flatnonzero(moocore.is_nondominated(F, keep_weakly=False))
                archive, archive_eval = candidates.take(keep), values.take(keep)
            context.report(done, total, "plans")
            if context.expired() and done < total:
                stopped = True
                break

        stats = SolveStats(context.elapsed, done, {"plans": total, "edge_sets": len(sets)})
        # a partial enumeration proves nothing about the rest
        guarantee = HEURISTIC if stopped else EXACT
        message = f"time limit reached after {done:,} of {total:,} plans" if stopped else ""
        front = Front.from_plans(problem, archive, solver=self.name, guarantee=guarantee,
                                 stats=stats, message=message, evaluation=archive_eval)
        if self.resolution is None or stopped:
            return front
        return certified_subset(front, self.resolution)
