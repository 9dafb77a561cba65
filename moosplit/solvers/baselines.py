"""The classic baselines: each picks its plan(s) its own way; the shared evaluator scores them.

`cloud_only`, `edge_only` (reference precision), `uniform` (edge-only at one bit-width for
every node, one plan per bit-width), `neurosurgeon` (best split by its own estimate, which
counts only the split node's output), `qdmp` (fastest split at reference precision, every
crossing tensor counted). `dads` (cut mode, min-cut) lives in its own module.

A baseline's plan that breaks a constraint is not returned: its front is then empty, with a
message naming the plan. Neurosurgeon and QDMP choose among the splits that meet the
constraints (a baseline that ignored a memory limit would answer a different question).
"""

from __future__ import annotations

import numpy as np

from ..costs import latency_ms, tensor_bits, transmit_seconds
from ..errors import UnsupportedProblemError
from ..evaluator import Evaluation, evaluate, evaluate_prefix_splits
from ..plans import Plans, prefix_plans
from ..problems.problem import SplitProblem
from ..profiles.schema import REFERENCE_BITS
from ..results.front import HEURISTIC, Front, SolveStats
from .base import SolveContext, Solver
from .registry import register


class Baseline(Solver):
    """A baseline: candidate plans, then the feasible non-dominated ones as its front."""

    exact = False
    needs_reference_bits = True

    def check(self, problem: SplitProblem) -> None:
        super().check(problem)
        if self.needs_reference_bits and REFERENCE_BITS not in problem.bit_set:
            raise UnsupportedProblemError(
                f"{self.name} runs the edge at the reference precision ({REFERENCE_BITS} "
                f"bits), which the problem's bit set {problem.bit_set} leaves out; add "
                f"{REFERENCE_BITS} to the bits")

    def candidates(self, problem: SplitProblem) -> Plans:
        """The baseline's plan(s)."""
        raise NotImplementedError

    def _solve(self, problem: SplitProblem, context: SolveContext) -> Front:
        plans = self.candidates(problem)
        evaluation = evaluate(problem, plans)
        keep = np.flatnonzero(evaluation.feasible)
        stats = SolveStats(context.elapsed, len(plans))
        message = ""
        if keep.size < len(plans):
            dropped = [plans.plan(i, problem) for i in np.flatnonzero(~evaluation.feasible)]
            message = (f"{len(dropped)} of its {len(plans)} plan(s) break the constraints or "
                       f"split bounds (first: split {dropped[0].split}, "
                       f"{len(dropped[0].edge_nodes)} edge nodes)")
        return Front.from_plans(problem, plans.take(keep), solver=self.name,
                                guarantee=HEURISTIC, stats=stats, message=message,
                                evaluation=evaluation.take(keep))


@register
class CloudOnly(Baseline):
    """Everything on the cloud: the raw input is sent."""

    name = "cloud_only"
    needs_reference_bits = False

    def candidates(self, problem: SplitProblem) -> Plans:
        return prefix_plans(problem, np.array([0]), REFERENCE_BITS)


@register
class EdgeOnly(Baseline):
    """Everything on the edge at the reference precision; the outputs are sent."""

    name = "edge_only"

    def candidates(self, problem: SplitProblem) -> Plans:
        return prefix_plans(problem, np.array([problem.profile.n_nodes]), REFERENCE_BITS)


@register
class Uniform(Baseline):
    """Edge-only with one bit-width for every weight and activation (U2, U4, ...).

    One plan per bit-width of the problem's bit set; as every backend, it returns the
    non-dominated ones.
    """

    name = "uniform"
    needs_reference_bits = False

    def candidates(self, problem: SplitProblem) -> Plans:
        n = problem.profile.n_nodes
        return Plans.concat([prefix_plans(problem, np.array([n]), b) for b in problem.bit_set],
                            problem.profile.n_rows)


class _BestSplit(Baseline):
    """The split, at reference precision, that minimises an estimate of latency."""

    modes = ("prefix",)

    def estimate(self, problem: SplitProblem, splits: Evaluation) -> np.ndarray:
        """The estimated latency of every split n = 0..N (`splits`: their evaluation)."""
        raise NotImplementedError

    def candidates(self, problem: SplitProblem) -> Plans:
        splits = evaluate_prefix_splits(problem, REFERENCE_BITS)  # O(N), not N plans
        feasible = splits.feasible
        if not feasible.any():  # reported as breaking the constraints
            return prefix_plans(problem, np.array([problem.split_bounds[0]]), REFERENCE_BITS)
        estimate = np.where(feasible, self.estimate(problem, splits), np.inf)
        return prefix_plans(problem, np.array([int(np.argmin(estimate))]), REFERENCE_BITS)


@register
class Neurosurgeon(_BestSplit):
    """Neurosurgeon: the chain view. Its estimate of split n's latency counts edge time up to
    n, the transfer of node n's output alone (the raw input for n = 0) at reference
    precision, and cloud time after n; the chosen split is then evaluated truly, so on a
    DAG, where more tensors cross, its real latency can be worse than it thought.
    """

    name = "neurosurgeon"
    citation = "Kang et al., Neurosurgeon, ASPLOS 2017"

    def estimate(self, problem: SplitProblem, splits: Evaluation) -> np.ndarray:
        profile, network = problem.profile, problem.network
        n = np.arange(profile.n_rows)
        edge_ms = np.cumsum(profile.edge_ms)[n]
        cloud_ms = profile.cloud_ms.sum() - np.cumsum(profile.cloud_ms)[n]
        bits = np.where(n == 0, profile.input_bits, REFERENCE_BITS)
        sent = tensor_bits(profile.out_elems[n], bits, profile.batch)
        return latency_ms(edge_ms, transmit_seconds(sent, network), cloud_ms, network)


@register
class QDMP(_BestSplit):
    """QDMP's criterion on a split: the fastest split at reference precision, with every
    tensor that crosses it counted (the shared evaluator's latency)."""

    name = "qdmp"
    citation = "Zhang et al., QDMP: quick DNN model partition, 2020"

    def estimate(self, problem: SplitProblem, splits: Evaluation) -> np.ndarray:
        return splits["latency_ms"]
