"""`epsilon`: LMOS's epsilon-constraint method with an exact inner problem solved by DP."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import UnsupportedProblemError
from ..front import Front, SolveStats
from ..plans import Plans
from ..problems.problem import SplitProblem
from ..resolution import Resolution
from .base import SolveContext, Solver
from .bit_dp import BitDP, Closed, LabelLimit, Step
from .enumeration import TooMany, edge_sets
from .registry import register
from .sweep import Candidate, payoff_table, sweep, sweep_front


class _ClosedOracle:
    """Lexicographic minima over the DP's closed plans (a table lookup per query)."""

    def __init__(self, dp: BitDP, blocks: list, F: np.ndarray, refs: np.ndarray) -> None:
        self.dp, self.blocks, self.F, self.refs = dp, blocks, F, refs

    def lexmin(self, order: Sequence[int], upper: Sequence[float | None]) -> Candidate | None:
        mask = np.ones(len(self.F), bool)
        for j, bound in enumerate(upper):
            if bound is not None:
                mask &= self.F[:, j] <= bound
        rows = np.flatnonzero(mask)
        if rows.size == 0:
            return None
        best = rows[np.lexsort([self.F[rows, j] for j in reversed(order)])[0]]
        return Candidate(self.plan(best), self.F[best])

    def plan(self, row: int) -> Plans:
        block, last, label, codec = (int(v) for v in self.refs[row])
        steps, edge = self.blocks[block]
        n_rows = len(edge)
        bits_w = np.zeros((1, n_rows), np.int16)
        bits_a = np.zeros((1, n_rows), np.int16)
        if last >= 0:
            for node, (bw, ba) in self.dp.rebuild(steps, last, label).items():
                bits_w[0, node], bits_a[0, node] = bw, ba
        return Plans(edge[None, :], bits_w, bits_a, [codec])


@register
class Epsilon(Solver):
    """LMOS's epsilon-constraint algorithm; the inner problem solved exactly by moosplit.

    The inner problem (best plan under bounds on the other objectives) is answered from an
    exact dynamic programme over bit-widths (see :mod:`moosplit.solvers.bit_dp`): in prefix
    mode one pass over the nodes serves every split; in cut mode each predecessor-closed
    edge set gets its own pass (refused above `max_edge_sets`). Exact without a
    resolution; certified with one (epsilon steps by the resolution).

    The exact joint split/bit-width front can be huge: the DP keeps every non-dominated
    partial assignment, and refuses (UnsupportedProblemError) once a node would need more
    than `max_labels`; cpsat scales further.

    Options:
        resolution: a number (relative to each objective's range) or a Resolution.
        max_edge_sets: cut mode only: the most edge sets it agrees to enumerate.
        max_labels: the most DP labels one node may expand to.
    """

    name = "epsilon"
    exact = True
    supports_resolution = True
    citation = ("LMOS: epsilon-constraint bi-objective DNN partitioning (ideal/nadir points, "
                "epsilon stepped to the next best value); AUGMECON2 for k >= 3")

    def __init__(self, *, resolution: float | Sequence[float] | Resolution | None = None,
                 max_edge_sets: int = 20_000, max_labels: int = 1_000_000) -> None:
        if max_edge_sets < 1 or max_labels < 1:
            raise ValueError(f"max_edge_sets and max_labels must be >= 1, got "
                             f"{max_edge_sets} and {max_labels}")
        self.resolution = None if resolution is None else Resolution.coerce(resolution)
        self.max_edge_sets = max_edge_sets
        self.max_labels = max_labels

    def __repr__(self) -> str:
        return (f"Epsilon(resolution={self.resolution}, max_edge_sets={self.max_edge_sets}, "
                f"max_labels={self.max_labels})")

    # ------------------------------------------------------------ DP passes
    def _prefix(self, problem: SplitProblem, dp: BitDP, context: SolveContext):
        profile = problem.profile
        low, high = problem.split_bounds
        last_consumer = profile.last_consumer
        sinks = profile.sinks
        rows = np.arange(profile.n_rows)
        steps: list[Step] = []  # one list, shared by every split's block
        blocks: list[tuple[list[Step], np.ndarray]] = []
        closed: list[tuple[int, Closed]] = []
        if low == 0:
            closed.append((-1, dp.close(None, rows < 0, (), True)))
            blocks.append((steps, rows < 0))
        previous = None
        complete = True
        for k in range(1, high + 1):
            if context.expired():
                complete = False
                break
            live = tuple(t for t in range(1, k) if last_consumer[t] >= k or sinks[t])
            frontier = tuple(t for t in range(1, k + 1) if last_consumer[t] > k or sinks[t])
            previous = dp.advance(previous, k, live, last_consumer[0] >= k, frontier)
            steps.append(previous)
            if k >= low:
                edge = (rows >= 1) & (rows <= k)
                closed.append((k - 1, dp.close(previous, edge, frontier,
                                               last_consumer[0] > k)))
                blocks.append((steps, edge))
            context.report(k, high, "nodes")
        return blocks, closed, complete, sum(len(step.codes) for step in steps)

    def _cut(self, problem: SplitProblem, dp: BitDP, context: SolveContext):
        profile = problem.profile
        try:
            sets = edge_sets(problem, limit=self.max_edge_sets)
        except TooMany as exc:
            raise UnsupportedProblemError(
                f"epsilon: cut mode here has more than {int(exc.args[0]):,} edge sets, more "
                f"than max_edge_sets={self.max_edge_sets:,}; use cpsat for cut mode on "
                "large DAGs, or raise max_edge_sets") from None
        blocks, closed = [], []
        complete = True
        labels = 0
        for index, edge in enumerate(sets):
            if context.expired():
                complete = False
                break
            nodes = np.flatnonzero(edge)
            last_in = [max((d for d in profile.consumers[t] if edge[d]), default=-1)
                       for t in range(profile.n_rows)]
            cut = [bool(profile.sinks[t] and edge[t])
                   or (bool(edge[t] or t == 0) and any(not edge[d]
                                                       for d in profile.consumers[t]))
                   for t in range(profile.n_rows)]
            steps: list[Step] = []
            previous = None
            for k in nodes:
                live = tuple(t for t in nodes if t < k and (last_in[t] >= k or cut[t]))
                frontier = tuple(t for t in nodes if t <= k and (last_in[t] > k or cut[t]))
                previous = dp.advance(previous, int(k), live, last_in[0] >= k or cut[0],
                                      frontier)
                steps.append(previous)
            sent = tuple(int(t) for t in nodes if cut[t])
            closed.append((len(steps) - 1, dp.close(previous, edge, sent, cut[0])))
            blocks.append((steps, edge))
            labels += sum(len(step.codes) for step in steps)
            context.report(index + 1, len(sets), "edge sets")
        return blocks, closed, complete, labels

    # ---------------------------------------------------------------- solve
    def _solve(self, problem: SplitProblem, context: SolveContext) -> Front:
        dp = BitDP(problem, self.max_labels)
        profile = problem.profile
        try:
            return self._sweep(problem, dp, context)
        except LabelLimit as exc:
            node, count = exc.args
            raise UnsupportedProblemError(
                f"epsilon: the exact DP would need {count:,} labels at node "
                f"{profile.names[node]!r}, more than max_labels={self.max_labels:,}: the "
                "exact front of this problem is too large for it; use cpsat (with "
                "--resolution), fewer bit-widths, or raise max_labels") from None

    def _sweep(self, problem: SplitProblem, dp: BitDP, context: SolveContext) -> Front:
        passes = self._prefix if problem.mode == "prefix" else self._cut
        blocks, closed, complete, labels = passes(problem, dp, context)
        F = np.concatenate([c.F for _, c in closed]) if closed else np.zeros(
            (0, problem.n_objectives))
        refs = np.concatenate([np.column_stack([np.full(len(c.F), b), np.full(len(c.F), last),
                                                c.label, c.codec])
                               for b, (last, c) in enumerate(closed)]) if closed else np.zeros(
            (0, 4), int)
        oracle = _ClosedOracle(dp, blocks, F, refs)
        k = problem.n_objectives
        steps = np.zeros(k)  # 0: the next float down, i.e. exact
        slack = np.zeros(k)
        if self.resolution is not None:
            table = payoff_table(oracle, k)  # LMOS's ideal and nadir points
            if table is not None:
                wanted = self.resolution.additive(table.min(axis=0), table.max(axis=0))
                steps[1:] = slack[1:] = wanted[1:]
        result = sweep(oracle, k, steps)
        result.complete = result.complete and complete
        stats = SolveStats(context.elapsed, len(F), {"labels": labels,
                                                     "oracle_calls": result.oracle_calls})
        return sweep_front(problem, self.name, result, slack, stats)
