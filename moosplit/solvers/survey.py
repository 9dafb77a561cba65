"""Plans every exact backend can start from: every prefix split at every uniform width."""

from __future__ import annotations

from dataclasses import dataclass

import moocore
import numpy as np

from ..evaluator import Evaluation, evaluate_prefix_splits
from ..plans import Plans, prefix_plans
from ..problems.problem import SplitProblem
from ..results.pareto import minimisation_form


@dataclass
class KnownPlans:
    """Feasible plans known before a search, with their objective vectors (minimisation
    form): `epsilon`'s DP bounds against them (its oracle returns them with its own), and
    `cpsat` starts its solves from them."""

    plans: Plans
    F: np.ndarray


def uniform_survey(problem: SplitProblem) -> tuple[np.ndarray, np.ndarray, KnownPlans]:
    """Every split at every uniform bit-width, evaluated: a rough range per objective (the
    spread of the non-dominated feasible ones; not a bound) to size the first merging
    run, the best feasible value per objective (an upper bound on its ideal; inf if
    none is feasible), and the non-dominated feasible plans. Minimisation form."""
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
    if not usable.size:
        return (spread, np.full(F.shape[1], np.inf),
                KnownPlans(Plans.empty(n_rows), np.zeros((0, F.shape[1]))))
    keep = usable[moocore.is_nondominated(F[usable], keep_weakly=False)]
    front = F[keep]
    plans = Plans.concat([prefix_plans(problem, splits[[i % len(splits)]],
                                       bits[i // len(splits)]) for i in keep], n_rows)
    return (np.where(np.ptp(front, axis=0) > 0, np.ptp(front, axis=0), spread),
            F[usable].min(axis=0), KnownPlans(plans, front))
