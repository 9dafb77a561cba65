"""The result every backend returns: a Pareto front of plans, with status and guarantee."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .._pickling import reduce_through_init
from ..errors import OptionError, SolverError
from ..evaluator import Evaluation, evaluate
from ..plans import Plan, Plans
from ..problems.problem import SplitProblem
from ..problems.quantities import QUANTITIES
from . import selection
from .pareto import minimisation_form, nondominated
from .resolution import Resolution, Slack, thin

FRONT_COLUMNS = ("split", "edge_nodes", *QUANTITIES, "bits_w", "bits_a", "codec")
"""The front CSV's columns, in order (SPEC section 7)."""


class Status(str, enum.Enum):
    """How a solve ended; every backend maps its own outcome to one of these."""

    OPTIMAL = "optimal"
    """The front is complete and proven (exactly, or within a certified resolution)."""
    FEASIBLE = "feasible"
    """Feasible plans were found; that they form the whole front is not proven."""
    INFEASIBLE = "infeasible"
    """Proven: no plan satisfies the constraints."""
    UNKNOWN = "unknown"
    """Nothing was found and nothing proven (for example the time limit came first)."""


class GuaranteeKind(str, enum.Enum):
    """What kind of promise a front makes about the true Pareto front."""

    EXACT = "exact"
    """Every non-dominated vector."""
    CERTIFIED = "certified"
    """Every true front point is weakly dominated by a returned point within a slack."""
    HEURISTIC = "heuristic"
    """Feasible, mutually non-dominated plans, nothing more."""
    UNKNOWN = "unknown"
    """Nothing is known of how the front was made (read from a file)."""


@dataclass(frozen=True)
class Guarantee:
    """What a front promises about the true Pareto front.

    kind: a :class:`GuaranteeKind` (its value, such as "exact", is accepted too).
    resolution, factors: for CERTIFIED, the certificate per objective: every true front
    point q has a returned point p with p_j <= factors_j * q_j + resolution_j (objectives
    as minimised; factors default to 1, an additive certificate).
    """

    kind: GuaranteeKind
    resolution: tuple[float, ...] | None = None
    factors: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "kind", GuaranteeKind(self.kind))
        except ValueError:
            raise OptionError("kind", "one of " + ", ".join(k.value for k in GuaranteeKind),
                              self.kind) from None
        if (self.kind is GuaranteeKind.CERTIFIED) != (self.resolution is not None):
            raise OptionError("resolution", "given with, and only with, a certified "
                              "guarantee", self.resolution)
        if self.factors is not None and (self.resolution is None or len(self.factors)
                                         != len(self.resolution)):
            raise OptionError("factors", "one per objective, with a resolution", self.factors)

    @property
    def proven(self) -> bool:
        """Whether the front is the whole front, exactly or within its certificate."""
        return self.kind in (GuaranteeKind.EXACT, GuaranteeKind.CERTIFIED)

    @property
    def slack(self) -> Slack | None:
        """The certificate as a Slack (None unless proven; all zero when exact)."""
        if not self.proven:
            return None
        if self.resolution is None:
            return None
        factors = self.factors or (1.0,) * len(self.resolution)
        return Slack(tuple(factors), tuple(self.resolution))

    @classmethod
    def within(cls, slack: Slack | Sequence[float]) -> Guarantee:
        """Exact if the slack is zero in every objective, else certified within it (a
        Slack, or an additive slack per objective in objective units)."""
        if not isinstance(slack, Slack):
            values = tuple(float(v) for v in np.asarray(slack, float))
            slack = Slack((1.0,) * len(values), values)
        if slack.exact:
            return EXACT
        factors = None if all(f == 1.0 for f in slack.factor) else tuple(slack.factor)
        return cls(GuaranteeKind.CERTIFIED, tuple(slack.additive), factors)

    def covers(self, P: np.ndarray, Q: np.ndarray, maximise: Sequence[bool],
               rtol: float = 1e-6) -> np.ndarray:
        """For each point of Q (natural units), whether some point of P covers it within
        this certificate (exact: weakly dominates it), with a relative `rtol`."""
        k = np.asarray(Q).reshape(len(Q), -1).shape[1]
        slack = self.slack or Slack.none(k)
        return slack.covers(minimisation_form(P, maximise), minimisation_form(Q, maximise),
                            rtol)

    def describe(self, objectives: Sequence[str] = ()) -> str:
        """A short human description."""
        slack = self.slack
        if self.kind is not GuaranteeKind.CERTIFIED or slack is None:
            return self.kind.value
        return "certified within " + slack.describe(objectives)


EXACT = Guarantee(GuaranteeKind.EXACT)
HEURISTIC = Guarantee(GuaranteeKind.HEURISTIC)
UNKNOWN = Guarantee(GuaranteeKind.UNKNOWN)


def outcome_status(found: bool, guarantee: Guarantee) -> Status:
    """The status a run ends with, from what it found and what it can promise.

    A proven front (exact or certified) is OPTIMAL, or INFEASIBLE when empty (the proof
    covers "no plan"); any other front is FEASIBLE, or UNKNOWN when empty.
    """
    if guarantee.proven:
        return Status.OPTIMAL if found else Status.INFEASIBLE
    return Status.FEASIBLE if found else Status.UNKNOWN


@dataclass(frozen=True)
class SolveStats:
    """Run statistics: wall time, plans evaluated, and backend-specific counters."""

    time_s: float = 0.0
    evaluations: int = 0
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class Front:
    """A set of feasible, mutually non-dominated plans and their evaluation.

    `F` always has shape (n_points, n_objectives), in the objectives' natural units and
    senses, rows sorted by the objectives. Build one with :meth:`Front.from_plans`. The
    plans' arrays and the evaluation (its mapping and arrays) are read-only.

    Example:
        >>> import moosplit
        >>> problem = moosplit.SplitProblem(moosplit.load_profile("portend_resnet20"),
        ...     moosplit.Network(bandwidth_mbps=10), objectives=("latency_ms", "memory_bytes"))
        >>> front = moosplit.solve(problem, "exhaustive")
        >>> front.F.shape[1], front.status.value, front.guarantee.kind.value
        (2, 'optimal', 'exact')
    """

    problem: SplitProblem
    plans: Plans
    evaluation: Evaluation
    status: Status
    guarantee: Guarantee
    solver: str
    stats: SolveStats = field(default_factory=SolveStats)
    message: str = ""

    def __post_init__(self) -> None:
        # a front is a record of a result: its plans and values cannot be changed in place
        object.__setattr__(self, "plans", self.plans.read_only())
        object.__setattr__(self, "evaluation", self.evaluation.read_only())

    def __reduce__(self) -> tuple:
        """Pickle through the constructor, so that a copy is read-only too."""
        return reduce_through_init(self)

    @classmethod
    def from_plans(
        cls,
        problem: SplitProblem,
        plans: Plans,
        *,
        solver: str,
        guarantee: Guarantee,
        stats: SolveStats | None = None,
        message: str = "",
        evaluation: Evaluation | None = None,
    ) -> Front:
        """The one way a run's plans become a Front: evaluate them with the shared
        evaluator, keep the non-dominated ones, and take the status from the guarantee
        and whether any plan was found (:func:`outcome_status`).

        Duplicated vectors keep the plan that comes first in the SPEC's tie-break order.
        Raises SolverError if a plan is infeasible: backends must only hand in feasible
        plans. A proven empty front says so in its message.
        """
        evaluation = evaluate(problem, plans) if evaluation is None else evaluation
        if not evaluation.feasible.all():
            bad = int(np.flatnonzero(~evaluation.feasible)[0])
            raise SolverError(f"{solver} returned an infeasible plan: {plans.plan(bad, problem)}")
        F = evaluation.objectives(problem.objectives)
        keep = nondominated(F, problem.maximise, order=plans.tie_order())
        if guarantee.proven and not keep.size and not message:
            message = "no plan satisfies the constraints"
        return cls(problem, plans.take(keep), evaluation.take(keep),
                   outcome_status(bool(keep.size), guarantee), guarantee, solver,
                   stats or SolveStats(), message)

    def take(self, index: np.ndarray | Sequence[int], guarantee: Guarantee | None = None
             ) -> Front:
        """The points at `index` (in that order), with the same status, solver and
        statistics, and the same guarantee unless another is given."""
        index = np.asarray(index, np.intp)
        return dataclasses.replace(self, plans=self.plans.take(index),
                                   evaluation=self.evaluation.take(index),
                                   guarantee=self.guarantee if guarantee is None else guarantee)

    # -------------------------------------------------------------- access
    def __len__(self) -> int:
        return len(self.plans)

    @property
    def objectives(self) -> tuple[str, ...]:
        """The objective names, the columns of F."""
        return self.problem.objectives

    @property
    def F(self) -> np.ndarray:
        """(n_points, n_objectives) objective values in natural units."""
        return self.evaluation.objectives(self.problem.objectives)

    def plan(self, i: int) -> Plan:
        """Point `i`'s plan in node names."""
        return self.plans.plan(i, self.problem)

    def to_frame(self) -> pd.DataFrame:
        """One row per plan with the columns of SPEC section 7."""
        return plans_frame(self.problem, self.plans, self.evaluation)

    def select(self, by: str | None = None, **limits: float) -> Front:
        """The best point within limits (see :func:`moosplit.results.selection.select`)."""
        return selection.select(self, by, **limits)

    def knee(self) -> Front:
        """The knee point (see :func:`moosplit.results.selection.knee`)."""
        return selection.knee(self)

    def extremes(self) -> Front:
        """The best point per objective (see :func:`moosplit.results.selection.extremes`)."""
        return selection.extremes(self)

    def summary(self) -> str:
        """One line: solver, status, guarantee, size, time."""
        return (f"{self.solver}: {self.status.value}, {len(self)} point(s), "
                f"{self.guarantee.describe(self.objectives)}, {self.stats.time_s:.3g} s, "
                f"{self.stats.evaluations:,} plans evaluated"
                + (f"; {self.message}" if self.message else ""))

    def __repr__(self) -> str:
        return f"Front({self.summary()})"


def plans_frame(problem: SplitProblem, plans: Plans, evaluation: Evaluation) -> pd.DataFrame:
    """One row per plan with the front CSV's columns (SPEC section 7)."""
    rows = []
    for i in range(len(plans)):
        plan = plans.plan(i, problem)
        rows.append({
            "split": plan.split,
            "edge_nodes": " ".join(plan.edge_nodes),
            **{q: float(evaluation.values[q][i]) for q in QUANTITIES},
            "bits_w": " ".join("-" if b is None else str(b) for b in plan.bits_w),
            "bits_a": " ".join(str(b) for b in plan.bits_a),
            "codec": plan.codec,
        })
    return pd.DataFrame(rows, columns=list(FRONT_COLUMNS))


def certified_subset(front: Front, resolution: Resolution) -> Front:
    """Thin an exact front to a certified approximation within `resolution`.

    Relative tolerances are taken on the front's own range (ideal to nadir); the result
    keeps every point of `front` covered within the certificate.
    """
    if front.guarantee.kind is not GuaranteeKind.EXACT:
        raise OptionError("front", "an exact front (only one can be thinned with a "
                          "certificate)", f"a {front.guarantee.kind.value} front")
    F = front.F
    k = len(front.objectives)
    if len(front) == 0:
        slack = Slack.none(k)
    else:
        slack = resolution.slack(front.objectives, F.min(axis=0), F.max(axis=0))
    keep = thin(F, front.problem.maximise, slack)
    return front.take(keep, Guarantee.within(slack) if not slack.exact else EXACT)
