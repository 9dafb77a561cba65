"""An archive of the feasible, non-dominated plans a search has met so far."""

from __future__ import annotations

import moocore
import numpy as np

from ..evaluator import Evaluation
from ..plans import Plans
from ..problems.problem import SplitProblem
from .pareto import minimisation_form


class Archive:
    """The feasible non-dominated plans seen so far, with their evaluations.

    Plans added earlier win ties (among equal vectors the first is kept), so a search that
    adds plans in the SPEC's tie-break order keeps its representatives.

    Example:
        >>> import moosplit, numpy as np
        >>> from moosplit.plans import prefix_plans
        >>> problem = moosplit.random_problem(4, seed=0)
        >>> plans = prefix_plans(problem, np.arange(5), 8)
        >>> archive = Archive(problem)
        >>> archive.add(plans, moosplit.evaluate(problem, plans))
        True
        >>> len(archive) <= 5
        True
    """

    def __init__(self, problem: SplitProblem) -> None:
        self.problem = problem
        self.plans = Plans.empty(problem.profile.n_rows)
        self.evaluation: Evaluation | None = None

    def __len__(self) -> int:
        return len(self.plans)

    def add(self, plans: Plans, evaluation: Evaluation) -> bool:
        """Merge the feasible ones of `plans` in; True if one of them is kept."""
        feasible = np.flatnonzero(evaluation.feasible)
        if not feasible.size:
            return False
        problem = self.problem
        candidates = Plans.concat([self.plans, plans.take(feasible)], problem.profile.n_rows)
        values = evaluation.take(feasible)
        if self.evaluation is not None:
            values = Evaluation.concat([self.evaluation, values])
        F = minimisation_form(values.objectives(problem.objectives), problem.maximise)
        keep = np.flatnonzero(moocore.is_nondominated(F, keep_weakly=False))
        added = bool((keep >= len(self.plans)).any())
        self.plans, self.evaluation = candidates.take(keep), values.take(keep)
        return added
