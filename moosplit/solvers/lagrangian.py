"""`lagrangian`: Auto-Split's Algorithm 1 (potential splits, budget grid, Lagrangian bits)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..costs import cost_model, tensor_bytes, weight_bytes
from ..evaluator import evaluate, evaluate_prefix_splits
from ..plans import Plans, prefix_plans
from ..problems.problem import SplitProblem, meets
from ..results.archive import Archive
from ..results.front import HEURISTIC, Front, SolveStats
from .base import SolveContext, Solver
from .registry import register


def lagrangian_allocation(distortion: np.ndarray, rate: np.ndarray,
                          budget: float) -> np.ndarray:
    """Shoham and Gersho's bit allocation: choice index per item within a rate budget.

    distortion, rate: (items, choices), choices sorted by increasing rate. For a multiplier
    lambda every item independently takes the choice minimising distortion + lambda * rate
    (ties to the lower rate); the result is the allocation at the smallest lambda whose
    total rate fits. Only allocations on the lower convex hull of (total rate, total
    distortion) can come out. If even the lowest rates do not fit, returns the lowest-rate
    choices.

    The allocation changes only where two choices of one item tie, at lambda =
    (d_i - d_j) / (r_j - r_i); the total rate falls as lambda grows, so a binary search over
    those breakpoints finds the smallest fitting one exactly (what bisection on lambda
    converges to), in about log2(items * choices^2) allocations.
    """
    rows = np.arange(len(distortion))

    def pick(lam: float) -> np.ndarray:
        return np.argmin(distortion + lam * rate, axis=1)

    def fits(lam: float) -> bool:
        return bool(rate[rows, pick(lam)].sum() <= budget)

    if fits(0.0):
        return pick(0.0)
    i, j = np.triu_indices(rate.shape[1], k=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ties = (distortion[:, i] - distortion[:, j]) / (rate[:, j] - rate[:, i])
    # just above each tie, so that the lower-rate choice has won it despite rounding
    candidates = np.unique(ties[np.isfinite(ties) & (ties > 0)]) * (1 + 1e-9)
    if not len(candidates) or not fits(float(candidates[-1])):
        return np.zeros(len(distortion), int)
    low, high = -1, len(candidates) - 1  # fits(candidates[high]) holds; low never fits
    while high - low > 1:
        middle = (low + high) // 2
        if fits(float(candidates[middle])):
            high = middle
        else:
            low = middle
    return pick(float(candidates[high]))


@register
class Lagrangian(Solver):
    """Auto-Split's Algorithm 1, as its paper states it.

    1. Potential splits (its Eq. 6): splits n >= 1 whose transmission, with activations at
       the lowest bit-width, is no larger than the raw input, and whose edge memory at the
       lowest bit-width meets the memory bound.
    2. For each potential split, a grid of weight-memory budgets and activation-memory
       budgets, one per uniform bit assignment of the edge nodes. For each pair, the weight
       bits come from Lagrangian allocation of weight error under the weight budget (its
       Eq. 8) and the activation bits from Lagrangian allocation of activation error under
       the activation budget (its Eq. 9), separately. Activation memory in Eq. 9 is the sum
       of the edge activations (a separable budget); the evaluator then checks the true
       working set.
    3. Cloud-only is always in the list; the front is its non-dominated feasible plans.

    Remark 5 of the paper follows: never slower than cloud-only, and not slower than
    edge-only when edge-only fits (its all-16-bit plan is the top of the grid). Lagrangian
    allocation only reaches allocations on the convex hull of rate vs. error, so fronts can
    miss points in the hull's gaps.
    """

    name = "lagrangian"
    exact = False
    modes = ("prefix",)
    citation = ("Banitalebi-Dehkordi et al., Auto-Split, KDD 2021; Shoham and Gersho, "
                "efficient bit allocation, IEEE TASSP 1988")

    def _solve(self, problem: SplitProblem, context: SolveContext) -> Front:
        grid = autosplit_plans(problem, context.expired, context.report)
        message = "time limit reached" if grid.stopped else ""
        stats = SolveStats(context.elapsed, grid.count + (problem.split_bounds[0] == 0),
                           {"potential_splits": grid.potential, "grid_plans": grid.count})
        if not len(grid.archive):
            message = (message + "; " if message else "") + "no feasible plan in its list"
        return Front.from_plans(problem, grid.archive.plans, solver=self.name,
                                guarantee=HEURISTIC, stats=stats,
                                evaluation=grid.archive.evaluation, message=message)


@dataclass
class AutoSplitGrid:
    """The plans of Auto-Split's Algorithm 1 for one problem: the non-dominated feasible
    ones (`archive`), how many were evaluated, how many splits were potential, and whether
    the time limit stopped the grid early."""

    archive: Archive
    count: int
    potential: int
    stopped: bool


def autosplit_plans(problem: SplitProblem, expired: Callable[[], bool] = lambda: False,
                    report: Callable[[int, int, str], None] | None = None) -> AutoSplitGrid:
    """Steps 1 to 3 of :class:`Lagrangian`'s algorithm (prefix mode): every potential
    split with its grid of Lagrangian bit allocations, and cloud-only; `expired` is asked
    before each split, `report(split, last split, "splits")` told after it."""
    profile = problem.profile
    bits = np.array(problem.bit_set)
    low, high = problem.split_bounds
    unconstrained = problem.replace(constraints={})
    splits = np.arange(max(low, 1), high + 1)
    at_lowest = evaluate_prefix_splits(unconstrained, int(bits[0])).take(splits)
    potential = at_lowest["tx_bytes"] <= profile.input_bytes
    if "memory_bytes" in problem.constraints:
        potential &= meets("memory_bytes", at_lowest["memory_bytes"],
                           problem.constraints["memory_bytes"])
    costs = cost_model(profile)
    weight_rate = weight_bytes(profile.weight_elems[:, None], bits[None, :])
    activation_rate = tensor_bytes(profile.out_elems[:, None], bits[None, :], profile.batch)
    weight_error = costs.weight_error[:, bits]
    activation_error = costs.activation_error[:, bits]
    archive = Archive(problem)
    if low == 0:
        cloud_only = prefix_plans(problem, np.array([0]), int(bits[0]))
        archive.add(cloud_only, evaluate(problem, cloud_only))
    count, stopped = 0, False
    for n in splits[potential]:
        if expired():
            stopped = True
            break
        nodes = np.arange(1, n + 1)
        weighted = nodes[profile.has_weights[nodes]]
        w_choices = [lagrangian_allocation(weight_error[weighted], weight_rate[weighted],
                                           weight_rate[weighted, k].sum())
                     for k in range(len(bits))]
        a_choices = [lagrangian_allocation(activation_error[nodes], activation_rate[nodes],
                                           activation_rate[nodes, k].sum())
                     for k in range(len(bits))]
        uniform = prefix_plans(problem, np.full(len(bits) ** 2, n), int(bits[0]))
        bits_w, bits_a = uniform.bits_w.copy(), uniform.bits_a.copy()
        for row, (w, a) in enumerate((w, a) for w in w_choices for a in a_choices):
            bits_w[row, weighted] = bits[w]
            bits_a[row, nodes] = bits[a]
        plans = Plans(uniform.edge, bits_w, bits_a, uniform.codec)
        archive.add(plans, evaluate(problem, plans))
        count += len(plans)
        if report is not None:
            report(int(n), int(splits[-1]), "splits")
    return AutoSplitGrid(archive, count, int(potential.sum()), stopped)
