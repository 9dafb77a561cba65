"""`exhaustive`: evaluate every plan; the reference for small problems."""

from __future__ import annotations

import math

import moocore
import numpy as np

from ..errors import UnsupportedProblemError
from ..evaluator import Evaluation, evaluate
from ..plans import Plans
from ..problems.problem import SplitProblem
from ..results.front import EXACT, HEURISTIC, Front, SolveStats, certified_subset
from ..results.pareto import minimisation_form
from ..results.resolution import RESOLUTION, Resolution
from ..validation import Number, option
from .base import SolveContext, Solver
from .enumeration import TooMany, choices_per_set, edge_sets, iterate_plans
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
