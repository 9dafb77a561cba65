"""Bounding: drop a label when a known feasible plan beats every completion of it.

A label's completions are bounded below per objective (:func:`objective_floor`): partial
sums only grow, so the error and memory sums are floors; latency's floor adds the cheapest
completion (the pass's *latency future*). :class:`Incumbents` are objective vectors of
feasible plans the caller returns too; a label whose floor some incumbent beats strictly
in every objective cannot lead to a front point. Under an error or memory bound,
:class:`BudgetFloors` raise latency's floor with what the budget a label has left allows
(Lagrangian bounds).
"""

from __future__ import annotations

from dataclasses import dataclass

import moocore
import numpy as np

MAX_TESTED = 32
"""With three or more objectives, the most incumbents each label is tested against (a
spread subset of them, sorted by the first objective): fewer only weakens bounding."""

BOUNDED_OBJECTIVES = frozenset({"latency_ms", "error", "memory_bytes"})
"""The objectives with a floor: bounding applies when every objective is one of them."""


def objective_floor(objective: str, sums: np.ndarray, dims: list[str],
                    latency_future: float) -> np.ndarray:
    """A lower bound on `objective` over every completion of each label.

    latency_future: a lower bound on what completing a label adds to its edge latency sum
    (to the whole latency if labels do not track edge latency).
    """
    if objective == "error":
        return sums[:, dims.index("error")]
    if objective == "memory_bytes":
        return sums[:, dims.index("weights")] + sums[:, dims.index("peak")]
    if "edge_ms" in dims:
        return sums[:, dims.index("edge_ms")] + latency_future
    return np.full(len(sums), latency_future)


class Incumbents:
    """Non-dominated objective vectors (minimisation form) of known feasible plans.

    With two objectives a label is tested against all of them at once (a staircase and a
    binary search); with three or more, against a spread subset of MAX_TESTED.
    """

    def __init__(self, n_objectives: int) -> None:
        self.F = np.zeros((0, n_objectives))
        self._first = np.zeros(0)          # two objectives: f1 sorted ...
        self._best_second = np.zeros(0)    # ... and the best f2 up to each
        self._tested = np.zeros((0, n_objectives))

    def __len__(self) -> int:
        return len(self.F)

    def add(self, F: np.ndarray) -> None:
        """Add vectors (non-finite ones are left out)."""
        if not len(F):
            return
        F = np.concatenate([self.F, np.asarray(F, float)])
        F = F[np.all(np.isfinite(F), axis=1)]
        self.F = F[moocore.is_nondominated(F, keep_weakly=False)]
        order = np.argsort(self.F[:, 0], kind="stable")
        if self.F.shape[1] == 2:
            self._first = self.F[order, 0]
            self._best_second = np.minimum.accumulate(self.F[order, 1])
        else:
            pick = np.unique(np.linspace(0, len(order) - 1, MAX_TESTED).round().astype(int))
            self._tested = self.F[order[pick]]

    def beat(self, floor: np.ndarray) -> np.ndarray:
        """Rows of `floor` (lower bounds on labels' objective vectors) that some incumbent
        beats strictly in every objective. A relative 1e-9 margin absorbs rounding: the
        floor and the closed value are the same sums taken in another order."""
        if not len(self.F) or not len(floor):
            return np.zeros(len(floor), bool)
        floor = floor - 1e-9 * np.abs(floor) - 1e-12
        if floor.shape[1] == 2:
            at = np.searchsorted(self._first, floor[:, 0], side="right") - 1
            return (at >= 0) & (self._best_second[np.maximum(at, 0)] <= floor[:, 1])
        beaten = np.zeros(len(floor), bool)
        for point in self._tested:
            beaten |= np.all(point <= floor, axis=1)
        return beaten

    def beat_region(self, floor: np.ndarray, bounds: np.ndarray, lams: np.ndarray,
                    axes: tuple[int, int] = (0, 1)) -> np.ndarray:
        """Two objectives (f1, f2), the incumbents' columns `axes`: rows whose region
        {f >= floor, f1 + lam_g f2 >= bounds_g for every g} lies inside what the incumbents
        beat strictly.

        What no incumbent beats strictly is a down-set whose maximal points are the
        staircase's corners (f1 of one incumbent, f2 of the one before it, sorted by f1) and
        the two ends; the region is an up-set, so it lies inside what they beat if and only
        if it holds none of those corners. Corners are raised by the same relative 1e-9 as
        :meth:`beat` lowers floors (rounding)."""
        if not len(self.F) or not len(floor):
            return np.zeros(len(floor), bool)
        F = self.F[:, list(axes)]
        F = F[np.argsort(F[:, 0], kind="stable")]
        corners = np.concatenate([
            np.column_stack([F[1:, 0], F[:-1, 1]]),
            [[F[0, 0], BEYOND], [BEYOND, F[-1, 1]]]])
        corners = corners + 1e-9 * np.abs(corners) + 1e-12
        beaten = np.ones(len(floor), bool)
        for f1, f2 in corners:
            inside = (f1 >= floor[:, 0]) & (f2 >= floor[:, 1])
            inside &= np.all(f1 + lams[None, :] * f2 >= bounds, axis=1)
            beaten &= ~inside
        return beaten


BEYOND = 1e30
"""Stands for an unbounded objective at the staircase's ends (finite: 0 x it is 0)."""

LAMBDAS = np.r_[0.0, np.geomspace(1e-6, 1e6, 25)]
"""Multipliers tried on error (ms per unit of error) when choosing BudgetFloors' pairs."""

MUS = np.r_[0.0, np.geomspace(1e-12, 1e0, 13)]
"""Multipliers tried on weight bytes (ms per byte)."""

FRACTIONS = (1.0, 0.3, 0.1, 0.03, 0.01, 0.003)
"""Shares of the budgets a label may have left, one multiplier pair chosen for each."""


@dataclass
class PassCosts:
    """What a pass's latency floors need, per step s of the walk (its node) and choice c
    (inf where a node has fewer choices): `edge`, `error`, `weights` (0 where not
    tracked) and `send`, the least transmit time of the node's output at the choice's
    activation bits (best codec). `rest[s]`: rtt, cloud time and the raw input's transmit
    time of a close right after step s (inf where the pass does not close there);
    `frontier[s]`: the step indices of the tensors held after step s (a close there
    sends them), `until[s]` the step at which each stops being sent (its release: a
    close before it sends it), and `groups[s]` the releases of the labels' held-bit
    groups after step s, ascending (`Labels.groups`, as steps). `tracked`: labels carry
    their own edge latency sum."""

    edge: np.ndarray
    error: np.ndarray
    weights: np.ndarray
    send: np.ndarray
    rest: np.ndarray
    frontier: list[np.ndarray]
    until: list[np.ndarray]
    groups: list[np.ndarray]
    tracked: bool


@dataclass
class BudgetFloors:
    """Latency floors from the bits a label holds and the budgets it has left.

    Let a label after step s have edge latency a, error e, weights + peak W + P and held
    bits, under bounds E on error and M on memory (either may be absent). A completion
    closing after step t >= s runs the nodes i of steps s+1..t at choices c_i and sends
    the tensors held after t: the label's own held tensors still live (their transmit
    time T_L(t), exact from the held bits), and those of nodes s < i <= t still live
    (send_i(c_i)). It adds error sum err_i(c_i) <= E - e and weights sum w_i(c_i) <= M - W
    - P (final memory is at least W + P plus the weights added). So for any lam, mu >= 0
    its latency is at least

        a + T_L(t) + sum_{s<i<=t} (edge_i + lam err_i + mu w_i + [i sent] send_i)(c_i)
          + rest(t) - lam (E - e) - mu (M - W - P),

    and each node's term is at least m_i = min_c (edge + lam err + mu w) or, if it is
    sent, m'_i = m_i + d_i (min_c with send_i added). With prefix sums M_s of m and D_t the
    sum of d_i over the tensors held after t, the sum is (M_t - M_s) + D_t - (the d_i of
    the label's own tensors held after t). The label's tensors held after t are its
    release groups with release > t, the same for every label of the step: so t runs
    over segments between releases, and per segment j the floor is

        a + T_L(j) + min_{t in j} (M_t + D_t + rest(t)) - M_s - Dheld(j) - lam (...) - mu (...),

    the minimum a range-minimum query (a sparse table over Q_t = M_t + D_t + rest(t)).
    A label takes the least over segments and the largest over `pairs` of (lam, mu),
    chosen at the start of the pass as the best at the first step for several shares of
    the budgets left (FRACTIONS); (0, 0) is always among them.
    """

    pairs: np.ndarray          # (G, 2): lam, mu
    sparse: list[np.ndarray]   # level k: (G, steps - 2^k + 1) minima of Q over 2^k steps
    prefix: np.ndarray         # (G, steps) M_s
    d: np.ndarray              # (G, steps) d_i of each step's node
    edge: np.ndarray           # (steps,) edge latency up to s when not tracked, else 0
    costs: PassCosts           # the walk's structure: frontier, until, groups per step
    ms_per_bit: float
    error_bound: float         # E (inf: none)
    memory_bound: float        # M (inf: none)
    region: BudgetFloors | None = None  # the bound set's pairs (:meth:`bound_set`)

    @classmethod
    def build(cls, costs: PassCosts, ms_per_bit: float, error_bound: float,
              memory_bound: float, bound_set: bool = False) -> BudgetFloors:
        """Choose the pairs and tabulate Q for them; with `bound_set`, also the pairs of
        :meth:`bound_set` (every lam of LAMBDAS, each with mu = 0 and, under a memory
        bound, the mu best at the first step for the whole budget and a tenth of it)."""
        lams = LAMBDAS if np.isfinite(error_bound) else np.zeros(1)
        mus = MUS if np.isfinite(memory_bound) else np.zeros(1)
        grid = np.array([(lam, mu) for lam in lams for mu in mus])
        prefix, d, Q = _tables(grid, costs)
        budgets = np.array([error_bound if np.isfinite(error_bound) else 0.0,
                            memory_bound if np.isfinite(memory_bound) else 0.0])
        root = Q.min(axis=1)  # before any node: nothing held
        chosen = sorted({int(np.argmax(root - grid @ (share * budgets)))
                         for share in FRACTIONS} | {0})
        edge = (np.zeros(len(costs.rest)) if costs.tracked
                else np.cumsum(np.min(costs.edge, axis=1)))
        region = (cls._region(costs, ms_per_bit, error_bound, memory_bound, edge)
                  if bound_set else None)
        return cls(grid[chosen], _sparse(Q[chosen]), prefix[chosen], d[chosen], edge, costs,
                   ms_per_bit, error_bound, memory_bound, region)

    @classmethod
    def _region(cls, costs: PassCosts, ms_per_bit: float, error_bound: float,
                memory_bound: float, edge: np.ndarray) -> BudgetFloors:
        """The bound set's pairs and tables: every lam of LAMBDAS with mu = 0 and, under a
        memory bound, the mu best at the first step for the whole budget and a tenth."""
        mus = MUS if np.isfinite(memory_bound) else np.zeros(1)
        every = np.array([(lam, mu) for lam in LAMBDAS for mu in mus])
        prefix, d, Q = _tables(every, costs)
        root = Q.min(axis=1)  # before any node: nothing held
        budget = memory_bound if np.isfinite(memory_bound) else 0.0
        picked = set()
        for lam in LAMBDAS:
            rows = np.flatnonzero(every[:, 0] == lam)
            picked.add(int(rows[0]))  # mu = 0
            for share in (1.0, 0.1):
                picked.add(int(rows[np.argmax(root[rows] - every[rows, 1] * share * budget)]))
        rows = np.array(sorted(picked))
        return cls(every[rows], _sparse(Q[rows]), prefix[rows], d[rows], edge, costs,
                   ms_per_bit, error_bound, memory_bound)

    def _range_min(self, low: int, high: int) -> np.ndarray:
        """min of Q over steps low..high - 1 per pair (inf if empty)."""
        if high <= low:
            return np.full(len(self.pairs), np.inf)
        level = int(np.log2(high - low))
        table = self.sparse[level]
        return np.minimum(table[:, low], table[:, high - 2 ** level])

    def _best(self, step: int, held: np.ndarray, edge: np.ndarray | None) -> np.ndarray:
        """(L, G): per label and pair, the least over closes of the latency plus lam x the
        error and mu x the weight bytes its completion adds (see the class notes)."""
        releases = self.costs.groups[step]
        frontier, until = self.costs.frontier[step], self.costs.until[step]
        n_groups = len(releases)
        bounds = np.r_[step, releases, len(self.edge)]
        suffix_bits = np.concatenate([np.cumsum(held[:, ::-1], axis=1)[:, ::-1],
                                      np.zeros((len(held), 1))], axis=1)  # (L, m + 1)
        d_held = np.zeros((len(self.pairs), n_groups + 1))
        for j in range(n_groups):
            later = frontier[until >= releases[j]]
            d_held[:, j] = self.d[:, later].sum(axis=1)
        segment = np.stack([self._range_min(max(step, int(bounds[j])), int(bounds[j + 1]))
                            for j in range(n_groups + 1)], axis=1)  # (G, m + 1)
        segment = segment - self.prefix[:, step][:, None] - d_held
        # (L, G): the least over segments of the held bits' time plus the segment's term
        best = np.min(self.ms_per_bit * suffix_bits[:, None, :] + segment[None, :, :], axis=2)
        return best + (self.edge[step] if edge is None else edge[:, None])

    def floor(self, step: int, held: np.ndarray, edge: np.ndarray | None,
              error: np.ndarray | None, memory: np.ndarray | None) -> np.ndarray:
        """The latency floor of the labels after `step`: held, (L, groups) their held bits
        per release group at their best codec; edge (None: not tracked), error and memory
        (weights + peak; None where unbounded), their sums."""
        best = self._best(step, held, edge)
        if error is not None and np.isfinite(self.error_bound):
            best -= np.outer(self.error_bound - error, self.pairs[:, 0])
        if memory is not None and np.isfinite(self.memory_bound):
            best -= np.outer(self.memory_bound - memory, self.pairs[:, 1])
        return best.max(axis=1)

    def bound_set(self, step: int, held: np.ndarray, edge: np.ndarray | None,
                  error: np.ndarray, memory: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """Lower bounds on latency + lam x error over every completion of each label: the
        multipliers lam (G,) and the bounds (L, G) (built with `bound_set`).

        For a pair (lam, mu), a completion's latency plus lam x the error and mu x the
        weight bytes it adds is at least :meth:`_best`; its weight bytes are at most the
        memory left, M - W - P, and the final error is the label's plus what it adds, so
        latency + lam x error >= best + lam x e - mu x (M - W - P).
        """
        region = self.region
        if region is None:
            raise ValueError("these budget floors were built without a bound set")
        bounds = region._best(step, held, edge) + np.outer(error, region.pairs[:, 0])
        if memory is not None and np.isfinite(self.memory_bound):
            bounds -= np.outer(self.memory_bound - memory, region.pairs[:, 1])
        return region.pairs[:, 0], bounds


def _sparse(Q: np.ndarray) -> list[np.ndarray]:
    """The sparse table of range minima over Q's columns, level by level."""
    sparse = [Q]
    level = 1
    while 2 ** level <= Q.shape[1]:
        half = 2 ** (level - 1)
        sparse.append(np.minimum(sparse[-1][:, :-half], sparse[-1][:, half:]))
        level += 1
    return sparse


def _tables(grid: np.ndarray, costs: PassCosts) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per pair of `grid`: prefix sums M_s of m, each step's d, and Q_t = M_t + D_t +
    rest(t) (see :class:`BudgetFloors`)."""
    steps = len(costs.rest)
    sizes = np.array([len(f) for f in costs.frontier])
    members = (np.concatenate(costs.frontier) if sizes.sum() else np.zeros(0, int))
    owner = np.repeat(np.arange(steps), sizes)
    prefix = np.empty((len(grid), steps))
    d = np.empty((len(grid), steps))
    Q = np.empty((len(grid), steps))
    for g, (lam, mu) in enumerate(grid):
        with np.errstate(invalid="ignore"):  # inf * 0 for padded choices
            base = costs.edge + lam * costs.error + mu * costs.weights
        base = np.where(np.isnan(base), np.inf, base)
        m = base.min(axis=1)
        d[g] = (base + costs.send).min(axis=1) - m
        prefix[g] = np.cumsum(m)
        D = np.bincount(owner, weights=d[g, members], minlength=steps)
        Q[g] = prefix[g] + D + costs.rest
    return prefix, d, Q
