"""The epsilon-constraint sweep shared by the exact backends (LMOS, generalised to k >= 3).

An *oracle* answers one question: the lexicographically smallest objective vector (in a
given order of the objectives, all minimised) among plans whose objectives stay within
given upper bounds. The sweep asks it repeatedly:

- two objectives (LMOS): minimise f1 (then f2) with f2 <= eps; start with no bound (the
  nadir), then step eps to just below the f2 found ("the next best value"), until the
  oracle reports no plan. Every non-dominated vector is met exactly once.
- k objectives: the same, recursively: for each bound on f_k, the whole (k-1)-objective
  sweep under it; then step eps_k to just below the largest f_k that sweep found. This is
  an epsilon grid whose steps jump straight over values where nothing changes
  (AUGMECON2's bypass taken to its limit) and that exits a level as soon as the oracle
  finds no plan (its early exit).

With steps larger than one unit the sweep returns a certified approximation: a skipped
vector lies within one step of a returned one in each stepped objective and is no better in
f1 (see docs/solvers.md for the argument).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ..plans import Plans
from ..problems.problem import SplitProblem
from ..results.front import EXACT, HEURISTIC, Front, Guarantee, SolveStats
from ..results.resolution import Slack


class OracleTimeout(Exception):
    """The oracle ran out of time before proving its answer."""


@dataclass(frozen=True)
class Candidate:
    """One oracle answer: a plan and its objective vector in the oracle's units."""

    plans: Plans          # a batch holding the one plan
    values: np.ndarray    # (k,) minimisation-form values in the oracle's units


class LexOracle(Protocol):
    """Answers lexicographic minimisation under upper bounds (None: unbounded)."""

    def lexmin(self, order: Sequence[int], upper: Sequence[float | None]) -> Candidate | None:
        """The lexicographic minimum in `order`, or None if no plan meets the bounds."""
        ...


@dataclass
class SweepResult:
    """What a sweep found and whether it ran to the end."""

    candidates: list[Candidate]
    complete: bool
    oracle_calls: int


def lex_order(first: int, k: int) -> list[int]:
    """Objective `first`, then the others in their order: a payoff table row's order."""
    return [first] + [i for i in range(k) if i != first]


def payoff_table(oracle: LexOracle, k: int) -> np.ndarray | None:
    """Row j: the lexicographic minimum with objective j first (None if infeasible).

    Its diagonal is the ideal point; the column maxima are LMOS's nadir estimate (exact
    for two objectives).
    """
    rows = []
    for j in range(k):
        found = oracle.lexmin(lex_order(j, k), [None] * k)
        if found is None:
            return None
        rows.append(found.values)
    return np.array(rows)


@dataclass(frozen=True)
class Step:
    """How eps_j moves after a round whose largest f_j was `worst`: strictly below it, by
    `additive` (eps = worst - additive) or by `factor` (eps = worst / factor, for
    objectives whose oracle values are >= 0), whichever goes lower; with neither, to the
    next value down (the next float, or the next integer for integer oracles)."""

    additive: float = 0.0
    factor: float = 1.0

    def below(self, worst: float) -> float:
        """The next bound on f_j."""
        bound = float(np.nextafter(worst, -np.inf))
        if self.additive > 0:
            bound = min(bound, worst - self.additive)
        if self.factor > 1 and worst >= 0:
            bound = min(bound, worst / self.factor)
        return bound


class Stepper(Protocol):
    """Anything that says where eps_j goes below the worst f_j found (such as a Step)."""

    def below(self, worst: float) -> float:
        """The next bound, strictly below `worst`."""
        ...


def epsilon_sweep(oracle: LexOracle, k: int, steps: Sequence[Stepper | float],
                  on_point: Callable[[Candidate], None] | None = None, *,
                  extremes: bool = False) -> SweepResult:
    """Run the epsilon-constraint sweep; `steps[j]` says how eps_j moves (j >= 1): a Step
    (or another Stepper), or a number, the additive decrement.

    With the oracle's smallest unit as the steps the result is the complete front (as
    vectors in the oracle's units); larger steps give a certified approximation: a vector
    skipped by a step of `additive` a lies within a of a returned one in objective j, and
    by a `factor` f within a factor f (see docs/solvers.md). Such steps can jump over an
    objective's lexicographic best: `extremes` adds the payoff table's rows, so that a
    certified front spans the exact front's range.
    `on_point(candidate)` is called for every answer (progress). Stops early, with
    `complete=False`, on OracleTimeout.
    """
    found: list[Candidate] = []
    calls = 0
    order = list(range(k))
    steps = [s if hasattr(s, "below") else Step(additive=float(s)) for s in steps]

    def level(j: int, upper: list[float | None]) -> list[Candidate]:
        nonlocal calls
        if j == 0:
            calls += 1
            answer = oracle.lexmin(order, upper)
            if answer is None:
                return []
            found.append(answer)
            if on_point is not None:
                on_point(answer)
            return [answer]
        points: list[Candidate] = []
        bound = upper[j]
        while True:
            inner = list(upper)
            inner[j] = bound
            got = level(j - 1, inner)
            if not got:
                break  # early exit: nothing meets this bound, nor any tighter one
            points += got
            # "the next best value": strictly below the largest f_j found
            bound = steps[j].below(max(c.values[j] for c in got))
        return points

    try:
        level(k - 1, [None] * k)
        if extremes:
            for j in range(1, k):  # row 0 is the sweep's first answer
                calls += 1
                answer = oracle.lexmin(lex_order(j, k), [None] * k)
                if answer is not None:
                    found.append(answer)
    except OracleTimeout:
        return SweepResult(found, False, calls)
    return SweepResult(found, True, calls)


def sweep_front(problem: SplitProblem, solver: str, result: SweepResult,
                slack: Slack | np.ndarray, stats: SolveStats) -> Front:
    """The Front of a sweep: status and guarantee from how it ended and its slack.

    `slack` is the certificate in the objectives' own units (a Slack, or an additive slack
    per objective; zero: exact).
    """
    plans = Plans.concat([c.plans for c in result.candidates], problem.profile.n_rows)
    if not result.complete:
        return Front.from_plans(problem, plans, solver=solver, guarantee=HEURISTIC,
                                stats=stats, message="time limit reached; the front is not "
                                "proven")
    guarantee = Guarantee.within(slack) if len(plans) else EXACT
    return Front.from_plans(problem, plans, solver=solver, guarantee=guarantee, stats=stats)
