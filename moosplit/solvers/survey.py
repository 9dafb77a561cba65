"""Plans every exact backend can start from: every prefix split at every uniform width,
and for a budgeted query (one objective under constraints) Auto-Split's plans too."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import moocore
import numpy as np

from ..evaluator import Evaluation, evaluate_prefix_splits
from ..plans import Plans, prefix_plans
from ..problems.problem import SplitProblem
from ..results.pareto import minimisation_form
from .lagrangian import autosplit_plans


@dataclass
class KnownPlans:
    """Feasible plans known before a search, with their objective vectors (minimisation
    form): `epsilon`'s DP bounds against them (its oracle returns them with its own), and
    `cpsat` starts its solves from them."""

    plans: Plans
    F: np.ndarray


def plan_survey(problem: SplitProblem, expired: Callable[[], bool] = lambda: False
                ) -> tuple[np.ndarray, np.ndarray, KnownPlans]:
    """Every split at every uniform bit-width, evaluated, and for a budgeted query in
    prefix mode the plans of Auto-Split's grid (:func:`.lagrangian.autosplit_plans`, until
    `expired`): uniform widths rarely meet an error budget and a memory bound at once, and
    bounding needs a good plan under them. Returns a rough range per objective (the spread
    of the non-dominated feasible plans, where it is not 0, else of every finite uniform
    one; not a bound) to size the first merging
    run, the best feasible value per objective (an upper bound on its ideal; inf if none
    is feasible), and the non-dominated feasible plans. Minimisation form."""
    low, high = problem.split_bounds
    splits = np.arange(low, high + 1)
    n_rows = problem.profile.n_rows
    bits = problem.bit_set
    evaluation = Evaluation.concat([evaluate_prefix_splits(problem, b).take(splits)
                                    for b in bits])  # every split at one width: O(N) each
    F = minimisation_form(evaluation.objectives(problem.objectives), problem.maximise)
    finite = np.all(np.isfinite(F), axis=1)
    spread = np.ptp(F[finite], axis=0) if finite.any() else np.zeros(F.shape[1])
    usable = np.flatnonzero(finite & evaluation.feasible)
    found = F[usable]
    grid = autosplit_plans(problem, expired).archive if budgeted(problem) else None
    if grid is not None and len(grid):
        found = np.concatenate([found, minimisation_form(
            grid.evaluation.objectives(problem.objectives), problem.maximise)])
    if not len(found):
        return (spread, np.full(F.shape[1], np.inf),
                KnownPlans(Plans.empty(n_rows), np.zeros((0, F.shape[1]))))
    keep = np.flatnonzero(moocore.is_nondominated(found, keep_weakly=False))
    uniform = keep[keep < usable.size]  # kept uniform plans, then kept grid plans
    plans = Plans.concat([prefix_plans(problem, splits[[i % len(splits)]],
                                       bits[i // len(splits)]) for i in usable[uniform]]
                         + ([grid.plans.take(keep[keep >= usable.size] - usable.size)]
                            if grid is not None and len(grid) else []), n_rows)
    # (with Auto-Split's plans the problem has one objective, and any front's spread is 0)
    rough = np.ptp(found[keep], axis=0)
    return (np.where(rough > 0, rough, spread), found.min(axis=0),
            KnownPlans(plans, found[keep]))


def budgeted(problem: SplitProblem) -> bool:
    """A budgeted query in prefix mode: one objective under constraints."""
    return problem.n_objectives == 1 and bool(problem.constraints) and problem.mode == "prefix"
