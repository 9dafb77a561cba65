"""The result every backend returns: a Pareto front of plans, with status and guarantee."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..errors import SolverError
from ..evaluator import Evaluation, evaluate
from ..plans import Plan, Plans
from ..problems.problem import SplitProblem
from ..problems.quantities import QUANTITIES
from .pareto import nondominated
from .resolution import Resolution, thin


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


@dataclass(frozen=True)
class Guarantee:
    """What a front promises about the true Pareto front.

    kind: "exact" (every non-dominated vector), "certified" (every true front point is
    weakly dominated by a returned point within `resolution`), "heuristic" (feasible,
    mutually non-dominated plans, nothing more) or "unknown" (read from a file).
    resolution: for "certified", the additive slack per objective, in objective units.
    """

    kind: str
    resolution: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("exact", "certified", "heuristic", "unknown"):
            raise ValueError(f"guarantee kind must be exact, certified, heuristic or unknown,"
                             f" got {self.kind!r}")
        if (self.kind == "certified") != (self.resolution is not None):
            raise ValueError("a resolution goes with, and only with, a certified guarantee")

    def describe(self, objectives: Sequence[str] = ()) -> str:
        """A short human description."""
        if self.kind != "certified" or self.resolution is None:
            return self.kind
        parts = [f"{name} {r:.4g}" for name, r in zip(objectives, self.resolution, strict=False)]
        return "certified within " + (", ".join(parts) or str(self.resolution))


EXACT = Guarantee("exact")
HEURISTIC = Guarantee("heuristic")


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
    senses, rows sorted by the objectives. Build one with :meth:`Front.from_plans`.

    Example:
        >>> import moosplit
        >>> problem = moosplit.SplitProblem(moosplit.load_profile("portend_resnet20"),
        ...     moosplit.Network(bandwidth_mbps=10), objectives=("latency_ms", "memory_bytes"))
        >>> front = moosplit.solve(problem, "exhaustive")
        >>> front.F.shape[1], front.status.value, front.guarantee.kind
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

    @classmethod
    def from_plans(
        cls,
        problem: SplitProblem,
        plans: Plans,
        *,
        solver: str,
        status: Status,
        guarantee: Guarantee,
        stats: SolveStats | None = None,
        message: str = "",
        evaluation: Evaluation | None = None,
    ) -> Front:
        """Evaluate feasible plans with the shared evaluator and keep the non-dominated ones.

        Duplicated vectors keep the plan that comes first in the SPEC's tie-break order.
        Raises SolverError if a plan is infeasible: backends must only hand in feasible
        plans.
        """
        evaluation = evaluate(problem, plans) if evaluation is None else evaluation
        if not evaluation.feasible.all():
            bad = int(np.flatnonzero(~evaluation.feasible)[0])
            raise SolverError(f"{solver} returned an infeasible plan: {plans.plan(bad, problem)}")
        F = evaluation.objectives(problem.objectives)
        keep = nondominated(F, problem.maximise, order=plans.tie_order())
        return cls(problem, plans.take(keep), evaluation.take(keep), status, guarantee,
                   solver, stats or SolveStats(), message)

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
        rows = []
        for i in range(len(self)):
            plan = self.plan(i)
            rows.append({
                "split": plan.split,
                "edge_nodes": " ".join(plan.edge_nodes),
                **{q: float(self.evaluation.values[q][i]) for q in QUANTITIES},
                "bits_w": " ".join("-" if b is None else str(b) for b in plan.bits_w),
                "bits_a": " ".join(str(b) for b in plan.bits_a),
                "codec": plan.codec,
            })
        columns = ["split", "edge_nodes", *QUANTITIES, "bits_w", "bits_a", "codec"]
        return pd.DataFrame(rows, columns=columns)

    def select(self, by: str | None = None, **limits: float) -> Front:
        """The best point within limits (see :func:`moosplit.results.selection.select`)."""
        from .selection import select

        return select(self, by, **limits)

    def knee(self) -> Front:
        """The knee point (see :func:`moosplit.results.selection.knee`)."""
        from .selection import knee

        return knee(self)

    def extremes(self) -> Front:
        """The best point per objective (see :func:`moosplit.results.selection.extremes`)."""
        from .selection import extremes

        return extremes(self)

    def summary(self) -> str:
        """One line: solver, status, guarantee, size, time."""
        return (f"{self.solver}: {self.status.value}, {len(self)} point(s), "
                f"{self.guarantee.describe(self.objectives)}, {self.stats.time_s:.3g} s, "
                f"{self.stats.evaluations:,} plans evaluated"
                + (f"; {self.message}" if self.message else ""))

    def __repr__(self) -> str:
        return f"Front({self.summary()})"


def certified_subset(front: Front, resolution: Resolution) -> Front:
    """Thin an exact front to a certified approximation within `resolution`.

    The additive slack per objective comes from the resolution and the front's own ideal
    and nadir points; the result keeps every point of `front` covered within that slack.
    """
    if front.guarantee.kind != "exact":
        raise ValueError(f"only an exact front can be thinned with a certificate, got a "
                         f"{front.guarantee.kind} one")
    F = front.F
    if len(front) == 0:
        slack = np.zeros(len(front.objectives))
    else:
        slack = resolution.additive(F.min(axis=0), F.max(axis=0))
    keep = thin(F, front.problem.maximise, slack)
    return Front(front.problem, front.plans.take(keep), front.evaluation.take(keep),
                 front.status, Guarantee("certified", tuple(float(s) for s in slack)),
                 front.solver, front.stats, front.message)
