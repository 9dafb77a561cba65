"""`cpsat`: the whole problem as one CP-SAT model, swept by epsilon bounds with hints."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from ortools.sat.python import cp_model

from ..front import EXACT, HEURISTIC, Front, Guarantee, SolveStats, Status
from ..plans import Plans
from ..problems.problem import SplitProblem
from ..resolution import Resolution
from .base import SolveContext, Solver
from .cpsat_model import CpSatSplitModel, ScaledObjective
from .registry import register
from .sweep import Candidate, OracleTimeout, payoff_table, sweep


class _CpSatOracle:
    """Lexicographic minimisation by successive CP-SAT solves on one model."""

    def __init__(self, built: CpSatSplitModel, objectives: list[ScaledObjective],
                 context: SolveContext, workers: int) -> None:
        self.built = built
        self.model = built.model
        self.vars = [o.var for o in objectives]
        self.domains = [self.model.proto.variables[v.index].domain for v in self.vars]
        self.base_upper = [int(d[1]) for d in self.domains]
        self.context = context
        self.solver = cp_model.CpSolver()
        self.solver.parameters.num_workers = workers
        if context.seed is not None:
            self.solver.parameters.random_seed = int(context.seed) % 2**31
        self.solves = 0

    def _solve(self) -> int:
        left = self.context.time_left()
        if left is not None:
            if left <= 0:
                raise OracleTimeout
            self.solver.parameters.max_time_in_seconds = left
        self.solves += 1
        return self.solver.solve(self.model)

    def lexmin(self, order: Sequence[int], upper: Sequence[float | None]) -> Candidate | None:
        try:
            for j, bound in enumerate(upper):
                top = self.base_upper[j] if bound is None else min(self.base_upper[j],
                                                                   int(np.floor(bound)))
                if top < self.domains[j][0]:
                    return None
                self.domains[j][1] = top
            for j in order:
                self.model.minimize(self.vars[j])
                status = self._solve()
                if status == cp_model.INFEASIBLE:
                    return None
                if status != cp_model.OPTIMAL:
                    raise OracleTimeout
                self.domains[j][1] = int(round(self.solver.objective_value))
            values = np.array([self.solver.value(v) for v in self.vars], float)
            plans = self.built.plan_from(self.solver)
            self.model.clear_hints()
            for lit in self.built.decision_literals():
                self.model.add_hint(lit, self.solver.boolean_value(lit))
            return Candidate(plans, values)
        finally:
            for j, domain in enumerate(self.domains):
                domain[1] = self.base_upper[j]


@register
class CpSat(Solver):
    """The whole problem as one OR-Tools CP-SAT model; the front by an epsilon sweep.

    Exact: every non-dominated vector, up to the integer scaling of float data (about
    2^-30 of each quantity's largest total per term; the front's guarantee states the
    slack). With
    `resolution`, a certified approximation: eps steps by the resolution instead of one
    unit. A time limit returns what was found, with status FEASIBLE (not proven).

    Options:
        resolution: a number (relative to each objective's range) or a
            :class:`moosplit.resolution.Resolution`.
        workers: CP-SAT search workers (1 gives reproducible runs).
    """

    name = "cpsat"
    exact = True
    supports_resolution = True
    citation = ("Perron and Didier, CP-SAT, OR-Tools (Google); epsilon-constraint sweep as in "
                "LMOS")

    def __init__(self, *, resolution: float | Sequence[float] | Resolution | None = None,
                 workers: int = 1) -> None:
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        self.resolution = None if resolution is None else Resolution.coerce(resolution)
        self.workers = workers

    def __repr__(self) -> str:
        return f"CpSat(resolution={self.resolution}, workers={self.workers})"

    def _solve(self, problem: SplitProblem, context: SolveContext) -> Front:
        built = CpSatSplitModel(problem)
        objectives = [built.objectives[name] for name in problem.objectives]
        oracle = _CpSatOracle(built, objectives, context, self.workers)
        k = problem.n_objectives
        steps = np.ones(k)
        slack = np.array([2 * o.rounding for o in objectives])
        candidates: list[Candidate] = []
        complete = True
        try:
            if self.resolution is not None:
                table = payoff_table(oracle, k)
                if table is not None:
                    steps, slack = self._steps(problem, objectives, table, slack)
        except OracleTimeout:
            complete = False
        if complete:
            result = sweep(oracle, k, steps,
                           on_point=lambda c: context.report(len(candidates), None, "points")
                           or candidates.append(c))
            complete = result.complete
        plans = Plans.concat([c.plans for c in candidates], problem.profile.n_rows)
        stats = SolveStats(context.elapsed, len(plans), {"cpsat_solves": oracle.solves,
                                                          "variables": len(
                                                              built.model.proto.variables)})
        if not complete:
            return Front.from_plans(problem, plans, solver=self.name,
                                    status=Status.FEASIBLE if len(plans) else Status.UNKNOWN,
                                    guarantee=HEURISTIC, stats=stats,
                                    message="time limit reached; the front is not proven")
        if not len(plans):
            return Front.from_plans(problem, plans, solver=self.name, status=Status.INFEASIBLE,
                                    guarantee=EXACT, stats=stats,
                                    message="no plan satisfies the constraints")
        guarantee = EXACT if not slack.any() else Guarantee("certified", tuple(map(float,
                                                                                   slack)))
        return Front.from_plans(problem, plans, solver=self.name, status=Status.OPTIMAL,
                                guarantee=guarantee, stats=stats)

    def _steps(self, problem: SplitProblem, objectives: list[ScaledObjective],
               table: np.ndarray, slack: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Sweep steps (model units) and the certified slack (natural units)."""
        assert self.resolution is not None
        natural = np.array([[v / o.scale + o.const for v, o in zip(row, objectives,
                                                                      strict=True)]
                            for row in table])
        ideal, nadir = natural.min(axis=0), natural.max(axis=0)
        batch = problem.profile.batch
        wanted = self.resolution.additive(_as_quantity(problem, ideal),
                                          _as_quantity(problem, nadir))
        steps = np.ones(len(objectives))
        out = slack.copy()
        for j, obj in enumerate(objectives):
            delta = wanted[j]
            if obj.name == "throughput_fps":
                # model unit is T = batch / throughput; a throughput slack delta at the
                # best T costs at most this much T anywhere else (1/T is convex)
                t_min = ideal[j]
                room = batch - delta * t_min
                delta = delta * t_min**2 / room if room > 0 else np.inf
            if j > 0 and np.isfinite(delta):
                steps[j] = max(1.0, np.floor(delta * obj.scale))
            step_natural = (steps[j] - 1) / obj.scale if j > 0 else 0.0
            if obj.name == "throughput_fps":
                t_min = ideal[j]
                extra = step_natural + slack[j]
                out[j] = batch / t_min - batch / (t_min + extra) if extra else 0.0
            else:
                out[j] = slack[j] + step_natural
        return steps, out


def _as_quantity(problem: SplitProblem, minimised: np.ndarray) -> np.ndarray:
    """Model-form values (minimised; T for throughput) back in the quantities' own terms."""
    out = minimised.astype(float).copy()
    for j, name in enumerate(problem.objectives):
        if name == "throughput_fps":
            out[j] = problem.profile.batch / minimised[j] if minimised[j] > 0 else np.inf
        elif problem.maximise[j]:
            out[j] = -minimised[j]
    return out
