"""`epsilon`: LMOS's epsilon-constraint method with an exact inner problem solved by DP."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import moocore
import numpy as np

from ..costs import Walk, cost_model
from ..errors import UnsupportedProblemError
from ..evaluator import evaluate
from ..plans import Plans
from ..problems.problem import SplitProblem
from ..results.front import Front, SolveStats
from ..results.pareto import minimisation_form
from ..results.resolution import RESOLUTION, Resolution, Slack, Tolerance
from ..validation import Number, option
from .base import SolveContext, Solver
from .dp import BitDP, Closed, LabelLimit, Labels
from .enumeration import TimeUp, TooMany, edge_sets
from .oracle_sweep import Candidate, Step, epsilon_sweep, payoff_table, sweep_front
from .registry import register
from .survey import KnownPlans, plan_survey

DP_SHARE = 0.75
"""Of each stepped objective's certified slack, the part label merging may spend; the
sweep's epsilon step gets the rest. The first objective is not stepped: merging gets all
of its slack."""

RELAX_SHARE = 0.25
"""Of latency's certified slack, the part that rows whose latency barely depends on their
weight bits may hide when those bits leave the labels (`BitDP(relax_ms=...)`); merging
gets the rest of latency's share."""

FIRST_RUN = 0.9
"""The first run's slack, as a fraction of what the estimated ranges allow: room for the
estimate being a little high, so that the run's own range bounds usually accept it."""


@dataclass
class _Passes:
    """What the DP passes produced: blocks (each a walk's Labels and its edge set) to
    rebuild plans from, and per closing the block's last Labels index and what closed."""

    blocks: list[tuple[list[Labels], np.ndarray]]
    closed: list[tuple[int, Closed]]
    complete: bool
    labels: int


@dataclass(frozen=True)
class _Origins:
    """Where each closed vector's plan comes from: a DP block (`block`, the index `last`
    of its Labels that closed, the `label` there, and the `codec`), or, where `incumbent`,
    the incumbent plan at `label`."""

    block: np.ndarray
    last: np.ndarray
    label: np.ndarray
    codec: np.ndarray
    incumbent: np.ndarray

    @classmethod
    def of(cls, passes: _Passes, n_incumbents: int) -> _Origins:
        """The DP's closed plans, block by block, then the incumbents."""
        parts = [(np.full(len(c.F), b), np.full(len(c.F), last), c.label, c.codec)
                 for b, (last, c) in enumerate(passes.closed)]
        parts.append((np.zeros(n_incumbents, int), np.zeros(n_incumbents, int),
                      np.arange(n_incumbents), np.zeros(n_incumbents, int)))
        columns = [np.concatenate([np.asarray(p[j], int) for p in parts]) for j in range(4)]
        incumbent = np.r_[np.zeros(len(columns[0]) - n_incumbents, bool),
                          np.ones(n_incumbents, bool)]
        return cls(*columns, incumbent)

    def take(self, index: np.ndarray) -> _Origins:
        """The origins at `index`."""
        return _Origins(self.block[index], self.last[index], self.label[index],
                        self.codec[index], self.incumbent[index])


class _Chain(Sequence):
    """A deferred pass's block: the first `length` released Labels of the pass (shared
    by every split) followed by one split's own sent Labels, indexed as one list."""

    def __init__(self, released: list[Labels], length: int, sent: list[Labels]) -> None:
        self.released, self.length, self.sent = released, length, sent

    def __len__(self) -> int:
        return self.length + len(self.sent)

    def __getitem__(self, j: int) -> Labels:  # type: ignore[override]
        return self.released[j] if j < self.length else self.sent[j - self.length]


class _ClosedOracle:
    """Lexicographic minima over the DP's closed plans (a table lookup per query).

    Only the non-dominated closed vectors are kept (a lexicographic minimum under upper
    bounds is always one of them; of equal vectors the first is kept, as a stable sort
    would pick it), each presorted once per objective order. The incumbents come after
    the DP's own plans, so on a tie the DP's plan is kept.
    """

    def __init__(self, dp: BitDP, passes: _Passes, incumbents: KnownPlans) -> None:
        closed = [c.F for _, c in passes.closed]
        F = np.concatenate([*closed, incumbents.F]) if closed else incumbents.F
        self.n_closed = len(F) - len(incumbents.F)
        origins = _Origins.of(passes, len(incumbents.F))
        keep = (moocore.is_nondominated(F, keep_weakly=False) if len(F)
                else np.zeros(0, bool))
        self.dp, self.blocks = dp, passes.blocks
        self.F, self.origins = F[keep], origins.take(np.flatnonzero(keep))
        self.incumbents = incumbents.plans
        self._sorted: dict[tuple[int, ...], tuple[np.ndarray, np.ndarray]] = {}

    def _by(self, order: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
        if order not in self._sorted:
            rows = np.lexsort([self.F[:, j] for j in reversed(order)])
            self._sorted[order] = rows, self.F[rows]
        return self._sorted[order]

    def lexmin(self, order: Sequence[int], upper: Sequence[float | None]) -> Candidate | None:
        rows, F = self._by(tuple(order))
        mask = np.ones(len(rows), bool)
        for j, bound in enumerate(upper):
            if bound is not None:
                mask &= F[:, j] <= bound
        first = int(np.argmax(mask)) if mask.size else 0
        if not mask.size or not mask[first]:
            return None
        return Candidate(self.plan(rows[first]), F[first])

    def front_plans(self) -> KnownPlans:
        """The oracle's non-dominated plans and vectors (incumbents for another run: their
        values as the evaluator gives them, since relaxed rows underestimate latency)."""
        problem = self.dp.problem
        plans = Plans.concat([self.plan(r) for r in range(len(self.F))],
                             problem.profile.n_rows)
        if not self.dp.relaxed_ms:
            return KnownPlans(plans, self.F.copy())
        F = evaluate(problem, plans).objectives(problem.objectives)
        return KnownPlans(plans, minimisation_form(F, problem.maximise))

    def plan(self, row: int) -> Plans:
        """The plan of row `row` of F, as a batch of one."""
        origins = self.origins
        label = int(origins.label[row])
        if origins.incumbent[row]:
            return self.incumbents.take([label])
        block, last = int(origins.block[row]), int(origins.last[row])
        codec = int(origins.codec[row])
        steps, edge = self.blocks[block]
        n_rows = len(edge)
        bits_w = np.zeros((1, n_rows), np.int16)
        bits_a = np.zeros((1, n_rows), np.int16)
        if last >= 0:
            for node, (bw, ba) in self.dp.rebuild(steps, last, label).items():
                bits_w[0, node], bits_a[0, node] = bw, ba
        return Plans(edge[None, :], bits_w, bits_a, [codec])


def range_floor(F: np.ndarray, slack: np.ndarray, exact_at_ideal: np.ndarray) -> np.ndarray:
    """Valid lower bounds on the true front's range (nadir - ideal) per objective, from a
    set F (minimisation form) that covers the true front within additive `slack`, and
    covers each payoff-table row i exactly in objective i where `exact_at_ideal[i]`.

    The ideal is at most min F. Row i of the payoff table has objective i at its ideal
    and is covered by some f in F with f_i <= min F_i + s_i (s_i = 0 where exact, else
    slack_i) and f_j <= (row i)_j + slack_j. So the nadir of objective j (the largest
    (row i)_j) is at least min{f_j : f_i <= min F_i + s_i} - slack_j, for every i. (The
    set is widened by a relative 1e-9: F mixes vectors summed in different orders, and a
    wider set only lowers the bound.)
    """
    k = F.shape[1]
    floor = np.zeros(k)
    if not len(F):
        return floor
    ideal = F.min(axis=0)
    near = np.where(exact_at_ideal, 0.0, slack) + 1e-9 * np.abs(ideal) + 1e-12
    for j in range(k):
        nadir = max((F[F[:, i] <= ideal[i] + near[i], j].min() for i in range(k) if i != j),
                    default=-np.inf)
        floor[j] = max(0.0, nadir - slack[j] - ideal[j])
    return floor


@register
class Epsilon(Solver):
    """LMOS's epsilon-constraint algorithm; the inner problem solved exactly by moosplit.

    The inner problem (best plan under bounds on the other objectives) is answered from an
    exact dynamic programme over bit-widths (see :mod:`moosplit.solvers.bit_dp`): in prefix
    mode one pass over the nodes serves every split; in cut mode each predecessor-closed
    edge set gets its own pass (refused above `max_edge_sets`). Exact without a
    resolution. With one, certified: the DP merges labels within a slack budget once a
    step holds more than `merge_above` labels, and epsilon steps by what is left of the
    resolution (docs/solvers.md has the argument).

    The exact joint split/bit-width front can be huge: the DP keeps every non-dominated
    partial assignment, and refuses (UnsupportedProblemError) once a node would need more
    than `max_labels`; a resolution, or cpsat, scales further.

    A resolution is a number (relative to each objective's range) or a Resolution.
    """

    name = "epsilon"
    exact = True
    citation = ("LMOS: epsilon-constraint bi-objective DNN partitioning (ideal/nadir points, "
                "epsilon stepped to the next best value); AUGMECON2 for k >= 3")

    resolution: Resolution | None = option(
        None, RESOLUTION, "a certified front within it instead of the exact one")
    max_edge_sets: int = option(20_000, Number(whole=True, at_least=1),
                                "cut mode: the most edge sets it agrees to enumerate")
    max_labels: int = option(1_000_000, Number(whole=True, at_least=1),
                             "the most DP labels one node may expand to")
    merge_above: int = option(2_000, Number(whole=True, at_least=0),
                              "certified mode: merge labels at a step only when more than "
                              "this many survive exact pruning (0: at every step)")

    # ------------------------------------------------------------ DP passes
    def _prefix(self, problem: SplitProblem, dp: BitDP, context: SolveContext) -> _Passes:
        low, high = problem.split_bounds
        walk = cost_model(problem.profile).prefix_walk(high)
        steps: list[Labels] = []  # one list, shared by every split's block
        blocks: list[tuple[list[Labels], np.ndarray]] = []
        closed: list[tuple[int, Closed]] = []
        rows = np.arange(problem.profile.n_rows)
        if low == 0:
            closed.append((-1, dp.close(None, rows < 0, *walk.prefix_cut(0))))
            dp.add_incumbents(closed[-1][1].F)
            blocks.append((steps, rows < 0))
        previous = None
        complete = True
        closes = np.arange(1, len(walk.steps) + 1) >= low  # after step s: split s + 1
        dp.begin_pass(walk, self._prefix_latency_future(problem, dp, walk)
                      if dp.needs_latency_future else None, closes)
        for k, step in enumerate(walk.steps, start=1):
            if context.expired():
                complete = False
                break
            if previous is not None and not len(previous):
                break  # every label was bounded or infeasible: no later split can close
            previous = dp.advance(previous, step)
            steps.append(previous)
            if k >= low:
                edge = (rows >= 1) & (rows <= k)
                closed.append((k - 1, dp.close(previous, edge, *walk.prefix_cut(k))))
                dp.add_incumbents(closed[-1][1].F)
                blocks.append((steps, edge))
            context.report(k, high, "nodes")
        return _Passes(blocks, closed, complete, sum(len(labels) for labels in steps))

    def _deferred_prefix(self, problem: SplitProblem, dp: BitDP, context: SolveContext
                         ) -> _Passes:
        """The prefix pass with deferred bits (docs/solvers.md, *Deferred bits*): a
        node's bits enter the labels when its output is released (no split from then on
        sends it); split n adds the nodes whose outputs it sends, exactly, and closes."""
        low, high = problem.split_bounds
        costs = cost_model(problem.profile)
        walk = costs.prefix_walk(high)
        rows = np.arange(problem.profile.n_rows)
        end = problem.profile.n_rows
        # released at split k: what k-1 held, and k itself, that k no longer holds
        released_at = [tuple(sorted((set(walk.steps[k - 2].frontier if k > 1 else ()) | {k})
                                    - set(walk.steps[k - 1].frontier)))
                       for k in range(1, len(walk.steps) + 1)]
        order = [i for nodes in released_at for i in nodes]
        floor = dp.edge_latency_floor()
        packed = costs.pack_ms + costs.unpack_ms  # per row: packing and unpacking
        cum = np.cumsum(floor)[:high + 1]
        close = np.full(high + 1, np.inf)
        close[max(low, 1):] = dp.prefix_close_latency_floors()[max(low, 1):high + 1]
        best = np.minimum.accumulate((cum + close)[::-1])[::-1]
        split_of = np.repeat(np.arange(1, len(walk.steps) + 1),
                             [len(nodes) for nodes in released_at]).astype(int)
        future = None
        if dp.needs_latency_future:
            future = (best[split_of] - np.cumsum(floor[order]) if dp.tracks_edge_latency
                      else best[split_of])
        released: list[Labels] = []
        blocks: list[tuple[Sequence[Labels], np.ndarray]] = []
        closed: list[tuple[int, Closed]] = []
        labels = 0
        if low == 0:
            closed.append((-1, dp.close(None, rows < 0, *walk.prefix_cut(0))))
            dp.add_incumbents(closed[-1][1].F)
            blocks.append(([], rows < 0))
        dp.begin_deferred_pass(len(order), future)
        previous = None
        complete = True
        for k in range(1, len(walk.steps) + 1):
            if context.expired():
                complete = False
                break
            for node in released_at[k - 1]:
                previous = dp.release(previous, node)
                released.append(previous)
            if previous is not None and not len(previous):
                break  # every label was bounded or infeasible: no later split can close
            if k >= low:
                sent, input_sent = walk.prefix_cut(k)
                edge = (rows >= 1) & (rows <= k)
                # what the close adds beyond edge latency and the bits the labels hold
                # (`BitDP.send` adds those): rtt, cloud, the input, packing what it sends
                beyond = (dp.close_latency_floor(edge, (), input_sent)
                          + float(packed[list(sent)].sum()))
                chain, labels_k = [], previous
                rest = float(floor[list(sent)].sum())
                for j in range(len(sent)):
                    rest -= floor[sent[j]]
                    bound = beyond + (rest if dp.tracks_edge_latency else cum[k])
                    labels_k = dp.send(labels_k, sent[:j + 1], end, float(bound))
                    chain.append(labels_k)
                labels += sum(len(x) for x in chain)
                block = _Chain(released, len(released), chain)
                closed.append((len(block) - 1, dp.close(labels_k, edge, sent, input_sent)))
                dp.add_incumbents(closed[-1][1].F)
                blocks.append((block, edge))
            context.report(k, high, "nodes")
        labels += sum(len(x) for x in released)
        return _Passes(blocks, closed, complete, labels)

    def _cut(self, problem: SplitProblem, dp: BitDP, context: SolveContext) -> _Passes:
        costs = cost_model(problem.profile)
        try:
            sets = edge_sets(problem, limit=self.max_edge_sets, expired=context.expired)
        except TimeUp:  # the time limit came while enumerating edge sets: nothing proven
            return _Passes([], [], False, 0)
        except TooMany as exc:
            raise UnsupportedProblemError(
                f"epsilon: cut mode here has more than {int(exc.args[0]):,} edge sets, more "
                f"than max_edge_sets={self.max_edge_sets:,}; use cpsat for cut mode on "
                "large DAGs, or raise max_edge_sets", options=("max_edge_sets",)) from None
        blocks, closed = [], []
        complete = True
        labels = 0
        for index, edge in enumerate(sets):
            if context.expired():
                complete = False
                break
            walk = costs.walk(edge)
            nodes = np.array([step.node for step in walk.steps], int)
            steps: list[Labels] = []
            previous = None
            future = None
            if dp.needs_latency_future:
                rest = np.cumsum(dp.edge_latency_floor()[nodes][::-1])[::-1]
                close = dp.close_latency_floor(edge, walk.sent, walk.input_sent)
                future = (np.r_[rest[1:], 0.0] + close if dp.tracks_edge_latency
                          else np.full(len(nodes), (rest[0] if len(rest) else 0.0) + close))
            dp.begin_pass(walk, future, np.arange(len(nodes)) == len(nodes) - 1)
            for step in walk.steps:
                previous = dp.advance(previous, step)
                steps.append(previous)
            closed.append((len(steps) - 1, dp.close(previous, edge, walk.sent,
                                                    walk.input_sent)))
            dp.add_incumbents(closed[-1][1].F)
            blocks.append((steps, edge))
            labels += sum(len(step) for step in steps)
            context.report(index + 1, len(sets), "edge sets")
        return _Passes(blocks, closed, complete, labels)

    @staticmethod
    def _prefix_latency_future(problem: SplitProblem, dp: BitDP, walk: Walk) -> np.ndarray:
        """Per step k - 1 (node k added): a lower bound on the latency that completing a
        label adds to its edge latency (to nothing if labels do not track it): the
        cheapest allowed split n >= k, with nodes k+1..n at their fastest bits and the sent
        tensors at the smallest."""
        low, high = problem.split_bounds
        cum = np.cumsum(dp.edge_latency_floor())[:high + 1]
        close = np.full(high + 1, np.inf)
        close[max(low, 1):] = dp.prefix_close_latency_floors()[max(low, 1):high + 1]
        best = np.minimum.accumulate((cum + close)[::-1])[::-1]
        return (best - cum)[1:] if dp.tracks_edge_latency else best[1:]

    def _run(self, problem: SplitProblem, dp: BitDP, incumbents: KnownPlans,
             context: SolveContext) -> tuple[_Passes, _ClosedOracle]:
        """Every DP pass of the problem, bounded by the incumbents, and the oracle over
        their closed vectors and the incumbents."""
        dp.add_incumbents(incumbents.F)
        if problem.mode == "cut":
            passes = self._cut(problem, dp, context)
        elif dp.defers:
            passes = self._deferred_prefix(problem, dp, context)
        else:
            passes = self._prefix(problem, dp, context)
        return passes, _ClosedOracle(dp, passes, incumbents)

    # ---------------------------------------------------------------- solve
    def _solve(self, problem: SplitProblem, context: SolveContext) -> Front:
        try:
            if self.resolution is None:
                return self._exact(problem, context)
            return self._certified(problem, self.resolution, context)
        except LabelLimit as exc:
            raise UnsupportedProblemError(self._refusal(problem, *exc.args),
                                          options=("max_labels",)) from None

    def _refusal(self, problem: SplitProblem, node: int, count: int) -> str:
        """Why the DP gave up at `node`, and what may help. With one objective the DP is
        exact whatever the resolution (constraints are never relaxed, and the one
        objective is never stepped), so only advice that changes the labels is given."""
        budgeted = problem.n_objectives == 1
        merging = self.resolution is not None and not budgeted
        what = "the DP, merging labels at this resolution," if merging else "the exact DP"
        # what keeps the labels apart: sums no merging may relax
        exact = [q for q in ("memory_bytes", "error", "latency_ms") if q in problem.constraints]
        why = (f" (merging never relaxes a bounded quantity: {', '.join(exact)})"
               if exact and merging else "")
        advice = ("for a plan without a proof use the heuristics lagrangian or nsga2; for a "
                  "proven one tighten the budgets, allow fewer bit-widths, use cpsat with a "
                  "time limit, " if budgeted else
                  "for a front without a certificate use the heuristics lagrangian or nsga2; "
                  "for a certified one try a coarser resolution, fewer bit-widths, ")
        return (f"epsilon: {what} would need {count:,} labels at node "
                f"{problem.profile.names[node]!r}, more than max_labels={self.max_labels:,}"
                f"{why}; {advice}or raise max_labels (memory grows with it)")

    def _exact(self, problem: SplitProblem, context: SolveContext) -> Front:
        k = problem.n_objectives
        dp = BitDP(problem, self.max_labels)
        known = plan_survey(problem, context.expired)[2]
        passes, oracle = self._run(problem, dp, known, context)
        result = epsilon_sweep(oracle, k, [Step()] * k)  # the next float down: exact
        result.complete = result.complete and passes.complete
        stats = SolveStats(context.elapsed, oracle.n_closed, {
            "labels": passes.labels, "bounded": dp.bounded,
            "oracle_calls": result.oracle_calls})
        return sweep_front(problem, self.name, result, Slack.none(k), stats)

    def _merging_run(self, problem: SplitProblem, slack: Slack, caps: np.ndarray,
                     incumbents: KnownPlans, context: SolveContext, relax: bool
                     ) -> tuple[BitDP, _Passes, _ClosedOracle, Slack]:
        """One certified DP run whose merging may spend `slack` (per objective), never
        merging the sums of objective q for labels that could still reach `caps[q]`;
        also returns the slack it did spend. With `relax`, RELAX_SHARE of latency's
        slack goes to rows whose weight bits barely change their latency instead."""
        relax_ms = 0.0
        if relax:
            j = problem.objectives.index("latency_ms")
            relax_ms = RELAX_SHARE * slack.additive[j]
            additive = list(slack.additive)
            additive[j] -= relax_ms
            slack = Slack(slack.factor, tuple(additive))
        dp = BitDP(problem, self.max_labels, slack, self.merge_above,
                   dict(zip(problem.objectives, caps, strict=True)), relax_ms)
        passes, oracle = self._run(problem, dp, incumbents, context)
        return dp, passes, oracle, dp.spent

    @staticmethod
    def _range_floor(problem: SplitProblem, dp: BitDP, oracle: _ClosedOracle,
                     spent: Slack) -> np.ndarray:
        """Valid lower bounds on each objective's range after a merging run: LMOS's payoff
        table if nothing was merged, else `range_floor` (objectives with a band, or never
        merged, are exact at their ideal)."""
        if not spent.exact:
            additive = additive_at_ideal(spent, oracle.F)
            # relaxed rows underestimate latency even for labels in its band
            exact = np.array([q in dp.banded and not (q == "latency_ms" and dp.relaxed_ms)
                              for q in problem.objectives]) | (additive == 0)
            return range_floor(oracle.F, additive, exact)
        table = payoff_table(oracle, problem.n_objectives)
        return np.zeros(problem.n_objectives) if table is None else np.ptp(table, axis=0)

    def _certified(self, problem: SplitProblem, resolution: Resolution,
                   context: SolveContext) -> Front:
        """Merging runs, then the sweep with epsilon steps of the slack left.

        A factor or additive tolerance is known before solving: the DP gets its share
        (DP_SHARE of the logarithm of a factor, of an additive slack; all of the first
        objective's, which is never stepped) and the sweep the rest. A relative tolerance
        needs each objective's range: the first run is sized by `plan_survey`; its
        result gives valid lower bounds on the range (`range_floor`, or the exact payoff
        table if nothing was merged). If it spent more slack than those bounds allow, a
        second run uses them.
        """
        k = problem.n_objectives
        tolerances = resolution.tolerances(problem.objectives)
        share = np.r_[1.0, np.full(k - 1, DP_SHARE)]
        relative = np.array([t.kind == "relative" and t.value > 0 for t in tolerances])
        estimate, caps, survey = plan_survey(problem, context.expired)
        first = allowance(tolerances, np.where(relative, FIRST_RUN, 1.0) * share, estimate)
        relax = relaxes_latency(problem, tolerances)
        dp, passes, oracle, spent = self._merging_run(problem, first, caps, survey, context,
                                                      relax)
        runs = 1
        floor = self._range_floor(problem, dp, oracle, spent) if relative.any() else \
            np.zeros(k)
        wanted = allowance(tolerances, np.ones(k), floor)
        # (no plan at all: the problem is infeasible, and the run has proved it)
        overspent = relative & (np.array(spent.additive) > share * wanted.additive)
        if passes.complete and len(oracle.F) and overspent.any():
            dp, passes, oracle, spent = self._merging_run(
                problem, allowance(tolerances, share, floor), caps, oracle.front_plans(),
                context, relax)
            runs = 2
            floor = np.maximum(floor, self._range_floor(problem, dp, oracle, spent))
            wanted = allowance(tolerances, np.ones(k), floor)
        steps = [Step()] + [Step(additive=max(wanted.additive[j] - spent.additive[j], 0.0),
                                 factor=max(wanted.factor[j] / spent.factor[j], 1.0))
                            for j in range(1, k)]
        result = epsilon_sweep(oracle, k, steps, extremes=True)
        result.complete = result.complete and passes.complete
        certificate = Slack(
            tuple(spent.factor[j] * steps[j].factor for j in range(k)),
            tuple(spent.additive[j] + steps[j].additive for j in range(k)))
        stats = SolveStats(context.elapsed, oracle.n_closed, {
            "labels": passes.labels, "peak_labels": dp.peak, "merged": dp.merged,
            "bounded": dp.bounded, "runs": runs, "relaxed_ms": dp.relaxed_ms,
            "merge_slack": spent.additive, "merge_factor": spent.factor,
            "oracle_calls": result.oracle_calls})
        return sweep_front(problem, self.name, result, certificate, stats)


def relaxes_latency(problem: SplitProblem, tolerances: Sequence[Tolerance]) -> bool:
    """Whether a certified run may let rows whose latency barely depends on their weight
    bits hide some latency (`RELAX_SHARE`): the objectives are latency and error, latency
    has an additive or relative slack (a hidden latency is additive), error's is not
    relative (its range is read off the fastest plans, which hidden latency may reorder),
    and no constraint reads latency. docs/solvers.md (*Weight fronts*) has the argument."""
    if set(problem.objectives) != {"latency_ms", "error"}:
        return False
    by_name = dict(zip(problem.objectives, tolerances, strict=True))
    latency, error = by_name["latency_ms"], by_name["error"]
    return (latency.kind in ("additive", "relative") and latency.value > 0
            and not (error.kind == "relative" and error.value > 0)
            and not {"latency_ms", "throughput_fps"} & set(problem.constraints))


def allowance(tolerances: Sequence[Tolerance], share: np.ndarray,
              ranges: np.ndarray) -> Slack:
    """The slack `share` of each objective's tolerance allows: a factor's share of its
    logarithm, an additive slack's share, a relative one's share of `ranges`."""
    factor, additive = [], []
    for j, tolerance in enumerate(tolerances):
        if tolerance.kind == "factor":
            factor.append(tolerance.factor ** float(share[j]))
            additive.append(0.0)
        else:
            factor.append(1.0)
            amount = tolerance.value * (ranges[j] if tolerance.kind == "relative" else 1.0)
            additive.append(float(share[j] * amount))
    return Slack(tuple(factor), tuple(additive))


def additive_at_ideal(slack: Slack, F: np.ndarray) -> np.ndarray:
    """An additive slack that covers as much as `slack` does at each objective's ideal
    (minimisation form; a factor f on objective j gives (f - 1) min F_j, valid near the
    ideal, which is what `range_floor` reads)."""
    if not len(F):
        return np.array(slack.additive)
    low = F.min(axis=0)
    return np.array(slack.additive) + (np.array(slack.factor) - 1.0) * np.maximum(low, 0.0)
