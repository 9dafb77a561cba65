"""`cpsat`: the whole problem as one CP-SAT model, swept by epsilon bounds with hints."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from ortools.sat.python import cp_model

from ..evaluator import evaluate
from ..plans import Plans
from ..problems.problem import SplitProblem
from ..results.front import Front, SolveStats
from ..results.pareto import minimisation_form
from ..results.resolution import RESOLUTION, Resolution, Slack
from ..validation import Number, option
from .base import SolveContext, Solver
from .cpsat_model import CpSatSplitModel, ScaledObjective
from .oracle_sweep import (
    Candidate,
    OracleTimeout,
    Step,
    SweepResult,
    epsilon_sweep,
    lex_order,
    payoff_table,
    sweep_front,
)
from .registry import register
from .survey import KnownPlans, plan_survey


class _CpSatOracle:
    """Lexicographic minimisation by successive CP-SAT solves on one model."""

    def __init__(self, built: CpSatSplitModel, objectives: list[ScaledObjective],
                 context: SolveContext, workers: int, known: KnownPlans) -> None:
        self.problem = built.problem
        self.objectives = objectives
        # feasible plans to start each question from (the survey's, then every answer);
        # a hint that breaks the question's bounds would cost CP-SAT a repair instead
        self.known = known
        self.built = built
        self.model = built.model
        self.vars = [o.var for o in objectives]
        self.domains = [self.model.proto.variables[v.index].domain for v in self.vars]
        self.base_upper = [int(d[1]) for d in self.domains]
        self.context = context
        self.solver = cp_model.CpSolver()
        self.solver.parameters.num_workers = workers
        # Ctrl-C must reach Python (and stop the run), not end the search quietly
        self.solver.parameters.catch_sigint_signal = False
        if context.seed is not None:
            self.solver.parameters.random_seed = int(context.seed) % 2**31
        self.solves = 0
        self.excluded = 0
        self.answers: dict = {}
        # certified two-objective sweep: one solve per question, stopped within this gap
        # of f1's optimum (model units); None: exact lexicographic minima
        self.first_gap: int | None = None
        # stages after the first may stop within this relative gap (payoff table rows of a
        # certified run); each answer's `lower` then holds the proven lower bounds
        self.later_gap = 0.0
        self.lower: dict[tuple, np.ndarray] = {}
        # the best solution of a question the time limit cut short (feasible, not proven)
        self.unproven: Candidate | None = None

    def _solve(self) -> int:
        left = self.context.time_left()
        if left is not None:
            if left <= 0:
                raise OracleTimeout
            self.solver.parameters.max_time_in_seconds = left
        self.solves += 1
        return run_interruptibly(self.solver, self.model, lambda: self.context.report(
            self.solves, None, "CP-SAT solves"))

    def lexmin(self, order: Sequence[int], upper: Sequence[float | None]) -> Candidate | None:
        # the sweep's first question repeats the payoff table's first row
        key = (tuple(order), tuple(None if u is None else int(np.floor(u)) for u in upper))
        if key not in self.answers:
            while True:
                answer = self._lexmin(order, upper)
                # bounds on rounded quantities are relaxed by their rounding error: a plan
                # only the relaxation admits is excluded, and the question asked again
                if answer is None or evaluate(self.problem, answer.plans).feasible[0]:
                    break
                self.built.exclude_plan(answer.plans)
                self.excluded += 1
            self.answers[key] = answer
        return self.answers[key]

    def _lexmin(self, order: Sequence[int], upper: Sequence[float | None]) -> Candidate | None:
        try:
            for j, bound in enumerate(upper):
                top = self.base_upper[j] if bound is None else min(self.base_upper[j],
                                                                   int(np.floor(bound)))
                if top < self.domains[j][0]:
                    return None
                self.domains[j][1] = top
            # Hints go from one stage to the next, where the previous optimum is feasible;
            # never across sweep steps: each step's bound excludes the previous point, and
            # an infeasible hint made CP-SAT spend its time repairing it (58 s instead of
            # 0.5 s on a 100-node problem).
            self.model.clear_hints()
            self._hint_known(order, upper)
            stages = list(order) if self.first_gap is None else list(order[:1])
            self.solver.parameters.absolute_gap_limit = float(self.first_gap or 0)
            lower = np.full(len(self.vars), -np.inf)
            for stage, j in enumerate(stages):
                self.model.minimize(self.vars[j])
                self.solver.parameters.relative_gap_limit = self.later_gap if stage else 0.0
                status = self._solve()
                if status == cp_model.INFEASIBLE:
                    return None
                if status != cp_model.OPTIMAL:
                    if status == cp_model.FEASIBLE:
                        self._keep_unproven()
                    raise OracleTimeout
                self.domains[j][1] = int(round(self.solver.objective_value))
                lower[j] = np.ceil(self.solver.best_objective_bound - 1e-9)
                if stage + 1 < len(stages):
                    self.model.clear_hints()
                    for lit in self.built.decision_literals():
                        self.model.add_hint(lit, self.solver.boolean_value(lit))
            values = np.array([self.solver.value(v) for v in self.vars], float)
            self.lower[tuple(order)] = np.maximum(lower, -np.inf)
            plans = self.built.plan_from(self.solver)
            self._remember(plans)
            return Candidate(plans, values)
        finally:
            for j, domain in enumerate(self.domains):
                domain[1] = self.base_upper[j]


    def _keep_unproven(self) -> None:
        plans = self.built.plan_from(self.solver)
        if evaluate(self.problem, plans).feasible[0]:  # (bounds are relaxed by rounding)
            self.unproven = Candidate(plans, np.array([self.solver.value(v)
                                                       for v in self.vars], float))

    def _hint_known(self, order: Sequence[int], upper: Sequence[float | None]) -> None:
        """Hint the known plan that meets the bounds (with its rounding to spare) and is
        lexicographically best in `order`, if there is one."""
        if not len(self.known.F) or any(o.name == "throughput_fps" for o in self.objectives):
            return  # (throughput's model unit is T = batch / throughput)
        ok = np.ones(len(self.known.F), bool)
        for j, (bound, obj) in enumerate(zip(upper, self.objectives, strict=True)):
            if bound is not None:
                ok &= self.known.F[:, j] + obj.rounding <= np.floor(bound) / obj.scale + obj.const
        if ok.any():
            rows = np.flatnonzero(ok)
            best = rows[np.lexsort([self.known.F[rows, j] for j in reversed(order)])[0]]
            self.built.hint(self.known.plans.take([best]))

    def _remember(self, plans: Plans) -> None:
        evaluation = evaluate(self.problem, plans)
        if evaluation.feasible[0]:
            F = minimisation_form(evaluation.objectives(self.problem.objectives),
                                  self.problem.maximise)
            self.known = KnownPlans(Plans.concat([self.known.plans, plans],
                                                 self.problem.profile.n_rows),
                                    np.concatenate([self.known.F, F]))


PAYOFF_GAP = 1e-3
"""Relative gap at which a certified run's payoff-table rows stop after their first stage."""


@register
class CpSat(Solver):
    """The whole problem as one OR-Tools CP-SAT model; the front by an epsilon sweep.

    Exact: every non-dominated vector, up to the integer scaling of float data (about
    2^-30 of each quantity's largest total per term; the front's guarantee states the
    slack). With
    `resolution`, a certified approximation: eps steps by the resolution instead of one
    unit. A time limit returns what was found, with status FEASIBLE (not proven).

    A resolution is a number (relative to each objective's range) or a
    :class:`moosplit.results.resolution.Resolution`.
    """

    name = "cpsat"
    exact = True
    citation = ("Perron and Didier, CP-SAT, OR-Tools (Google); epsilon-constraint sweep as in "
                "LMOS")

    resolution: Resolution | None = option(
        None, RESOLUTION, "a certified front within it instead of the exact one")
    workers: int = option(1, Number(whole=True, at_least=1),
                          "CP-SAT search workers (1 gives reproducible runs)")

    def _solve(self, problem: SplitProblem, context: SolveContext) -> Front:
        try:
            built = CpSatSplitModel(problem, expired=context.expired)
        except OracleTimeout:  # the time limit came while building the model
            return sweep_front(problem, self.name, SweepResult([], False, 0),
                               Slack.none(problem.n_objectives),
                               SolveStats(context.elapsed, 0, {"cpsat_solves": 0}))
        objectives = [built.objectives[name] for name in problem.objectives]
        oracle = _CpSatOracle(built, objectives, context, self.workers,
                              plan_survey(problem, context.expired)[2])
        k = problem.n_objectives
        steps: list[object] = [Step(additive=1.0)] * k
        # slack in model terms (T seconds for throughput): the rounding, both ways
        slack = np.array([2 * o.rounding for o in objectives])
        factors = np.ones(k)
        candidates: list[Candidate] = []

        def found(candidate: Candidate) -> None:
            candidates.append(candidate)
            context.report(len(candidates), None, "points")

        try:
            table = None
            if self.resolution is not None:
                # the range a relative tolerance needs: rows stop within 0.1%, and the range
                # is taken from their proven lower bounds (so it is never overstated)
                oracle.later_gap = PAYOFF_GAP
                table = payoff_table(oracle, k)
                oracle.later_gap = 0.0
            if table is not None:
                low = np.array([np.where(np.isfinite(oracle.lower[tuple(lex_order(j, k))]),
                                         oracle.lower[tuple(lex_order(j, k))], row)
                                for j, row in enumerate(table)])
                steps, factors, slack, gap = self._steps(problem, objectives, low, slack)
                oracle.first_gap = gap if k == 2 else None
            result = epsilon_sweep(oracle, k, steps, on_point=found, extremes=table is not None)
        except OracleTimeout:
            result = SweepResult(candidates, False, oracle.solves)
        if not result.complete and oracle.unproven is not None:
            # a heuristic front: what was proven, and the best plan of the question cut short
            result = SweepResult([*result.candidates, oracle.unproven], False,
                                 result.oracle_calls)
        if candidates:
            slack = self._fps_slack(problem, objectives, candidates, slack)
        stats = SolveStats(context.elapsed, len(candidates), {
            "cpsat_solves": oracle.solves, "excluded_by_evaluator": oracle.excluded,
            "variables": len(built.model.proto.variables)})
        certificate = Slack(tuple(float(f) for f in factors), tuple(float(a) for a in slack))
        return sweep_front(problem, self.name, result, certificate, stats)

    @staticmethod
    def _fps_slack(problem: SplitProblem, objectives: list[ScaledObjective],
                   candidates: list[Candidate], slack: np.ndarray) -> np.ndarray:
        """Throughput's slack is computed on T = batch / throughput; state it in frames/s.

        1/T is convex, so a slack s on T costs the most throughput at the smallest T.
        """
        out = slack.copy()
        batch = problem.profile.batch
        for j, obj in enumerate(objectives):
            if obj.name == "throughput_fps" and slack[j] > 0:
                t_min = min(c.values[j] for c in candidates) / obj.scale
                out[j] = batch / t_min - batch / (t_min + slack[j]) if t_min > 0 else np.inf
        return out

    def _steps(self, problem: SplitProblem, objectives: list[ScaledObjective],
               table: np.ndarray, slack: np.ndarray
               ) -> tuple[list[object], np.ndarray, np.ndarray, int]:
        """Sweep steps (model units), the certificate (factors, and additive slack in model
        terms) for the resolution, and the gap each two-objective question may leave in f1
        (model units).

        With two objectives the sweep's questions need not be lexicographic minima: a plan
        within g of the least f1 under f2 <= eps covers every front point with f2 in (its
        f2 - step, eps] within g in f1 and the step in f2. So each question is one solve,
        stopped at a gap of half f1's resolution (docs/solvers.md). A factor f on f1 allows
        the gap (f - 1) x f1's ideal, which every front point's f1 is at least.
        """
        assert self.resolution is not None
        natural = np.array([[v / o.scale + o.const for v, o in zip(row, objectives,
                                                                      strict=True)]
                            for row in table])
        ideal, nadir = natural.min(axis=0), natural.max(axis=0)
        tolerances = self.resolution.tolerances(problem.objectives)
        wanted = self.resolution.slack(problem.objectives, _as_quantity(problem, ideal),
                                       _as_quantity(problem, nadir)).additive
        steps: list[object] = [Step(additive=1.0)] * len(objectives)
        factors = np.ones(len(objectives))
        out = slack.copy()
        gap = 0
        for j, (obj, tolerance) in enumerate(zip(objectives, tolerances, strict=True)):
            if tolerance.kind == "factor" and j > 0:
                steps[j] = _ModelFactorStep(obj.scale, obj.const, tolerance.factor)
                factors[j] = tolerance.factor
                continue
            delta = (tolerance.factor - 1.0) * max(ideal[j], 0.0) \
                if tolerance.kind == "factor" else wanted[j]
            if obj.name == "throughput_fps":
                # a throughput slack delta at the best T allows this much T anywhere
                t_min, batch = ideal[j], problem.profile.batch
                room = batch - delta * t_min
                delta = delta * t_min**2 / room if room > 0 else np.inf
            units = min(delta, 2.0**62 / obj.scale) * obj.scale  # delta in model units
            if j > 0:
                steps[j] = Step(additive=max(1.0, float(np.floor(units))))
                out[j] = slack[j] + (steps[j].additive - 1) / obj.scale
            elif len(objectives) == 2:
                gap = int(np.floor(0.5 * units))
                if tolerance.kind == "factor":
                    factors[j] = tolerance.factor  # the gap is within (f - 1) x the ideal
                else:
                    out[j] = slack[j] + gap / obj.scale
        return steps, factors, out, gap


def run_interruptibly(solver: cp_model.CpSolver, model: cp_model.CpModel,
                      tick: Callable[[], None], every_s: float = 1.0) -> int:
    """`solver.solve(model)` in a worker thread (CP-SAT releases the GIL), so that this
    thread stays in Python: Ctrl-C stops the search and raises KeyboardInterrupt once the
    worker has ended, and `tick` runs every `every_s` seconds meanwhile (progress).

    In the main thread Ctrl-C is caught by a handler that stops the search (an exception
    raised while waiting for the worker left CP-SAT's threads to abort the process at
    exit); elsewhere, where no handler can be set, the solve just runs.
    """
    if threading.current_thread() is not threading.main_thread():
        return solver.solve(model)
    status: list[int] = []
    interrupted: list[bool] = []

    def on_interrupt(signum: int, frame: object) -> None:
        interrupted.append(True)
        solver.stop_search()

    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        worker = threading.Thread(target=lambda: status.append(solver.solve(model)),
                                  daemon=True)
        worker.start()
        while worker.is_alive():
            worker.join(every_s)
            if worker.is_alive() and not interrupted:
                tick()
    finally:
        signal.signal(signal.SIGINT, previous)
    if interrupted:
        raise KeyboardInterrupt
    return status[0]


@dataclass(frozen=True)
class _ModelFactorStep:
    """A factor step on an objective in model units (natural = units / scale + const):
    the next bound is the largest whole number of units whose natural value is at most
    the worst found over the factor, and below the worst."""

    scale: float
    const: float
    factor: float

    def below(self, worst: float) -> float:
        natural = worst / self.scale + self.const
        units = np.floor((natural / self.factor - self.const) * self.scale)
        return float(min(worst - 1.0, units))


def _as_quantity(problem: SplitProblem, minimised: np.ndarray) -> np.ndarray:
    """Model-form values (minimised; T for throughput) back in the quantities' own terms."""
    out = minimised.astype(float).copy()
    for j, name in enumerate(problem.objectives):
        if name == "throughput_fps":
            out[j] = problem.profile.batch / minimised[j] if minimised[j] > 0 else np.inf
        elif problem.maximise[j]:
            out[j] = -minimised[j]
    return out
