"""Exact dynamic programming over bit-widths for a fixed edge set (or every prefix at once).

Walk the edge nodes in table order (a :class:`moosplit.costs.Walk`). Node k's working set
is its own output plus the earlier tensors live at k; for a fixed edge set, which tensors
are live at k does not depend on the bits, only on the edge set. Those tensors' bits matter
later only through sums (working sets and transmitted bits), so the *state* after node k is
their held bits per release position, and everything else is a partial sum
(:mod:`.labels`). Labels in the same state are compared
and dominated ones dropped (:mod:`.pruning`); labels a known plan beats are dropped too
(:mod:`.bounding`); in certified mode labels within a grid cell are merged
(:mod:`.merging`). After node n of a prefix walk, the frontier holds exactly the tensors a
plan with edge set 1..n sends, so the same pass *closes* every split n
(:mod:`.closing`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import moocore
import numpy as np

from ...costs import (
    Walk,
    WalkStep,
    bytes_of,
    cost_model,
    latency_ms,
    tensor_bits,
    tensor_bytes,
    transmit_ms,
    transmit_seconds,
)
from ...problems.problem import SplitProblem, limit
from ...problems.quantities import QUANTITIES
from ...results.resolution import Slack
from .bounding import (
    BOUNDED_OBJECTIVES,
    BudgetFloors,
    Incumbents,
    PassCosts,
    objective_floor,
)
from .closing import Closed, close, close_latency_floor, prefix_close_latency_floors
from .labels import LabelLimit, Labels
from .merging import BANDED, SlackBudget, cells
from .pruning import dominance_key, held_key, nondominated_rows
from .weights import WeightFronts, WeightOptions

BOUND_SET_GAIN = 0.25
"""Bound sets are skipped for a while after a step where they dropped less than this share
of the labels the box floors kept: their table costs about as much as the step, so a step
must shrink by a good part to repay it (on GoogLeNet under 4 MiB they dropped 1 to 20% of
each step's labels and made the solve 5 times slower than without them)."""

BOUND_SET_PROBE = 2_000
"""Past this many labels, bound sets are first tried on this many (evenly spread): if they
drop too few of those, the step skips the full table."""

BOUND_SET_BACKOFF = 3
"""Steps skipped after the first such step; each further one in a row doubles the wait, and
a step where they drop more resets it (dropping labels is never needed for correctness,
only for speed, and on a model where they never help their table would otherwise cost a
quarter of every step)."""


class BitDP:
    """The DP machinery for one problem: `advance` adds a node, `close` finishes plans.

    `max_labels` caps the labels one step may hold; past it LabelLimit is raised (exact
    fronts of the joint problem can be very large, and the caller must say so rather than
    exhaust memory).

    Certified mode (`slack` given, a Slack over the problem's objectives): the slack (a
    factor or additive, per objective) one pass (one `begin_pass` to the next) may spend
    on merging labels; a step merges only when more than `merge_above` labels survive
    exact pruning. `ideal_at_most[q]` (the
    value of some feasible plan) bounds objective q's ideal: labels that could still reach
    it (q's *band*) are never merged in q's sums, so the plans at q's ideal keep their
    exact q (what `epsilon` needs to bound each objective's range). Bands exist for error,
    memory and bit-dependent latency.
    """

    def __init__(self, problem: SplitProblem, max_labels: int = 1_000_000,
                 slack: Slack | None = None, merge_above: int = 0,
                 ideal_at_most: Mapping[str, float] | None = None,
                 relax_ms: float = 0.0) -> None:
        self.problem = problem
        self.max_labels = max_labels
        profile = problem.profile
        costs = cost_model(profile)
        choices = costs.choices(problem.bit_set)
        self.bits = choices.bits
        self.base = len(self.bits)
        needed = set(problem.objectives) | set(problem.constraints)
        self.dims: list[str] = []
        if "error" in needed:
            self.dims.append("error")
        if "memory_bytes" in needed:
            self.dims += ["weights", "peak"]
        if choices.edge_ms is not None and needed & {"latency_ms", "throughput_fps",
                                                     "energy_mj"}:
            self.dims.append("edge_ms")
        self.latency_table = costs.edge_latency
        # transmitted bits of each tensor at each activation bit index under each codec
        # (codec 0, none: plain bits); their bytes are what it holds in memory
        codecs = problem.codec_table
        self.n_codecs = len(codecs)
        plain = tensor_bits(profile.out_elems[:, None], self.bits[None, :], profile.batch)
        self.tensor_bits = plain[:, :, None] / codecs.ratio.T[:, None, :]
        self.input_size = tensor_bytes(profile.out_elems[0], profile.input_bits, profile.batch)
        columns = {"error": choices.error, "weights": choices.weight_bytes,
                   "edge_ms": choices.edge_ms}
        self.choices = [np.zeros((0, 2), int)]  # per row: (C, 2) (bw value, ba index)
        self.costs = [np.zeros((0, len(self.dims)))]  # per row: (C, dims); peak unused
        for i in range(1, profile.n_rows):
            self.choices.append(np.column_stack([choices.bits_w[i], choices.a_index[i]]))
            cost = np.zeros((len(choices.bits_w[i]), len(self.dims)))
            for d, dim in enumerate(self.dims):
                if dim != "peak":
                    cost[:, d] = columns[dim][i]
            self.costs.append(cost)
        self.bounds = {name: limit(name, bound) for name, bound in problem.constraints.items()
                       if not QUANTITIES[name].maximise}
        # weight bits out of the labels (weights.py): the full (bw, ba) choices stay for
        # the budget floors, which bound what any completion adds
        self.joint = (list(self.choices), list(self.costs))
        self.weight_fronts: WeightFronts | None = None
        self._weight_options: list[WeightOptions] | None = None
        self._step_of: dict[int, int] = {}
        self.relaxed_ms = 0.0  # the latency the relaxed rows may hide (see _relax)
        # per row: how much its weight bits change its edge latency, and whether they
        # left the labels (read by benchmarks/bench_weight_coupling.py)
        self.weight_spread = self._weight_latency_spread(costs)
        self.weights_out = np.zeros(profile.n_rows, bool)
        free = self._free_weights(self.weight_spread)
        if free is not None:
            relaxed = self._relax(self.weight_spread, free, relax_ms)
            self.weights_out = free | relaxed
            if self.weights_out.any():
                self._leave_weights_out(costs, self.weights_out, relaxed)
        self.certified = slack is not None
        self.budget = SlackBudget(problem, self.dims, slack, merge_above)
        self.merged = 0               # labels dropped by merging, beyond exact dominance
        self.peak = 0                 # the most labels one step expanded to
        # (caps widened a little: the same sums taken in another order)
        self.caps = {q: v * (1 + 1e-9) + 1e-12 for q, v in (ideal_at_most or {}).items()
                     if q in BANDED and BANDED[q] in self.dims and q in problem.objectives
                     and np.isfinite(v)}
        self.bounding = set(problem.objectives) <= BOUNDED_OBJECTIVES
        self.incumbents = Incumbents(problem.n_objectives)
        self.bounded = 0              # labels dropped by bounding
        self._n_steps, self._position = 1, 0
        self._latency_future = np.zeros(1)
        self._future_peak = np.zeros(0)
        self._budget_floors: BudgetFloors | None = None
        self._bound_sets_idle = 0     # steps left before bound sets are tried again
        self._bound_sets_wait = BOUND_SET_BACKOFF  # the next wait after a poor step
        self._closing_future: float | None = None
        if self.certified:
            self._drop_dominated_choices()

    def _weight_latency_spread(self, costs) -> np.ndarray:
        """Per row, the most its weight bits change its edge latency at one activation
        width (0 where latency does not depend on bits, and for rows without weights)."""
        spread = np.zeros(self.problem.profile.n_rows)
        if costs.edge_latency is not None:
            for i in np.flatnonzero(self.problem.profile.has_weights):
                block = costs.edge_latency[i][np.ix_(self.bits, self.bits)]  # (bw, ba)
                spread[i] = float(np.max(block.max(axis=0) - block.min(axis=0)))
        return spread

    def _free_weights(self, spread: np.ndarray) -> np.ndarray | None:
        """Per row, whether its weight bits can leave the labels (weights.py): in prefix
        mode, under a memory bound that is not an objective, a row with weights whose edge
        latency does not depend on its weight bits. None if the problem rules it out."""
        problem = self.problem
        if (problem.mode != "prefix" or "memory_bytes" not in self.bounds
                or "memory_bytes" in problem.objectives):
            return None
        return problem.profile.has_weights & (spread == 0)

    def _relax(self, spread: np.ndarray, free: np.ndarray, relax_ms: float) -> np.ndarray:
        """Rows whose edge latency depends on their weight bits, yet little: taken in
        ascending order of that dependence (`spread`) while its sum stays within
        `relax_ms`. Their weight bits leave the labels too, each charged, at every
        activation width, its least latency over weight widths: every plan's latency is
        then underestimated by at most that sum, `relaxed_ms`, which the certificate adds
        to latency's slack."""
        relaxed = np.zeros_like(free)
        if relax_ms <= 0 or "edge_ms" not in self.dims:
            return relaxed
        rows = np.flatnonzero(self.problem.profile.has_weights & ~free)
        total = 0.0
        for i in rows[np.argsort(spread[rows], kind="stable")]:
            if total + spread[i] > relax_ms:
                break
            total += spread[i]
            relaxed[i] = True
        self.relaxed_ms = total
        return relaxed

    def _leave_weights_out(self, costs, free: np.ndarray, relaxed: np.ndarray) -> None:
        """For each free row, keep one choice per activation bit-width (weight error and
        bytes out of its costs) and give its weight choices to the weight fronts; other
        rows keep their (bw, ba) choices and a weight front choice of nothing (bits -1).
        A relaxed row's choices take their least latency over weight widths, here and in
        `joint` (what the floors read)."""
        options = [WeightOptions(np.full(1, -1), np.zeros(1), np.zeros(1))
                   for _ in range(len(self.choices))]
        e = self.dims.index("error") if "error" in self.dims else None
        w = self.dims.index("weights")
        for i in np.flatnonzero(free):
            pairs, cost = self.choices[i], self.costs[i]
            if relaxed[i]:
                edge = self.dims.index("edge_ms")
                cost = cost.copy()
                for a in np.unique(pairs[:, 1]):
                    same = pairs[:, 1] == a
                    cost[same, edge] = cost[same, edge].min()
                self.joint[1][i] = cost
            first = pairs[:, 0] == pairs[0, 0]  # one bw: its rows cover every ba
            weight_error = costs.weight_error[i, pairs[:, 0]]
            per_bw = np.unique(pairs[:, 0], return_index=True)[1]
            options[i] = WeightOptions(pairs[per_bw, 0], cost[per_bw, w].copy(),
                                       weight_error[per_bw])
            cost = cost[first].copy()
            if e is not None:
                cost[:, e] -= weight_error[first]
            cost[:, w] = 0.0
            self.choices[i], self.costs[i] = pairs[first], cost
        self._weight_options = options

    def _drop_dominated_choices(self) -> None:
        """Certified mode: drop a node's (bw, ba) choice when another with the same ba (so
        the same held bits and working set) costs no more in every tracked sum."""
        if not self.dims:
            return
        for i in range(1, len(self.choices)):
            pairs, costs = self.choices[i], self.costs[i]
            keep = np.zeros(len(pairs), bool)
            for a in range(self.base):
                same = np.flatnonzero(pairs[:, 1] == a)
                keep[same[moocore.is_nondominated(costs[same], keep_weakly=False)]] = True
            self.choices[i], self.costs[i] = pairs[keep], costs[keep]

    # ------------------------------------------------------------ passes
    @property
    def needs_latency_future(self) -> bool:
        """Whether `begin_pass` needs `latency_future` (a latency band, or bounding with a
        latency objective, is in use)."""
        return ((self.certified and "latency_ms" in self.caps)
                or (self.bounding and "latency_ms" in self.problem.objectives))

    @property
    def tracks_edge_latency(self) -> bool:
        """Whether labels carry their edge latency (bit-dependent edge latency)."""
        return "edge_ms" in self.dims

    @property
    def banded(self) -> set[str]:
        """The objectives with a band: merging never raises their ideal."""
        return set(self.caps) if self.certified else set()

    @property
    def spent(self) -> Slack:
        """Slack used by merging, per objective (the most any pass used), plus, on
        latency, what the relaxed rows may hide (`relaxed_ms`)."""
        spent = self.budget.spent
        if not self.relaxed_ms:
            return spent
        j = self.problem.objectives.index("latency_ms")
        additive = list(spent.additive)
        additive[j] += self.relaxed_ms
        return Slack(spent.factor, tuple(additive))

    def add_incumbents(self, F: np.ndarray) -> None:
        """Objective vectors (minimisation form) of feasible plans the caller will return
        with the DP's own: labels they beat are dropped from then on (bounding)."""
        if self.bounding:
            self.incumbents.add(F)

    def begin_pass(self, walk: Walk, latency_future: np.ndarray | None = None,
                   closes: np.ndarray | None = None) -> None:
        """Start a pass over `walk`'s nodes: certified mode gives it the whole budget.

        latency_future[s]: after the pass's step s, a lower bound on a completed label's
        latency minus its edge latency sum if labels track one (`tracks_edge_latency`),
        else on the whole latency (needed if `needs_latency_future`). closes[s]: whether
        the pass closes right after step s; with it, bounding under an error or memory
        bound also uses the bits each label holds and the budget it has left
        (:class:`.bounding.BudgetFloors`).
        """
        self.budget.begin_pass()
        self._bound_sets_idle = 0
        self._bound_sets_wait = BOUND_SET_BACKOFF
        self._n_steps, self._position = max(1, len(walk.steps)), 0
        self._future_peak = self._future_peaks(walk)
        if latency_future is not None:
            self._latency_future = np.asarray(latency_future, float)
        elif self.needs_latency_future:
            raise ValueError("this pass needs latency_future (a latency band is in use)")
        self._budget_floors = None
        if self._weight_options is not None:
            nodes = [step.node for step in walk.steps]
            self._step_of = {node: s for s, node in enumerate(nodes)}
            self.weight_fronts = WeightFronts(nodes, [self._weight_options[n] for n in nodes],
                                              self.bounds["memory_bytes"])
        if closes is not None and self.uses_budget_floors and len(walk.steps):
            self._budget_floors = self._build_budget_floors(walk, np.asarray(closes, bool))

    @property
    def defers(self) -> bool:
        """Whether a prefix pass may defer each node's bits until the node's output is
        released (:meth:`begin_deferred_pass`): nothing tracks working sets (no memory
        objective or bound). Budget floors need held bits, so a budgeted query under an
        error bound alone goes without them (docs/solvers.md, *Deferred bits*)."""
        return "peak" not in self.dims

    def begin_deferred_pass(self, n_steps: int, latency_future: np.ndarray | None) -> None:
        """Start a deferred prefix pass of `n_steps` released nodes (docs/solvers.md,
        *Deferred bits*): labels hold no bits; a node enters them when its output is
        released (:meth:`release`), and each split adds its cut tensors' nodes
        (:meth:`send`). latency_future[p]: after the pass's p-th release, a lower bound on
        a completed label's latency minus its edge latency sum (the whole latency if labels
        do not track one)."""
        self.budget.begin_pass()
        self._n_steps, self._position = max(1, n_steps), 0
        self._future_peak = np.zeros(0)
        self._budget_floors = None
        if latency_future is not None:
            self._latency_future = np.asarray(latency_future, float)
        elif self.needs_latency_future:
            raise ValueError("this pass needs latency_future (a latency band is in use)")

    def release(self, previous: Labels | None, node: int) -> Labels:
        """A deferred pass: add `node`, whose output no later split sends or holds."""
        return self.advance(previous, WalkStep(node, (), False, (), ()))

    def send(self, previous: Labels | None, nodes: tuple[int, ...], end: int,
             latency_future: float) -> Labels:
        """A deferred pass's close: add `nodes[-1]`, the last of the sent nodes
        `nodes` (the earlier ones are in `previous`), holding their bits as one group
        released at `end`. No merging (each split's close is a branch of its own, and the
        pass's slack is spent along the releases); `latency_future` bounds what the close
        adds beyond the labels' edge latency sums (the whole latency if untracked)."""
        step = WalkStep(nodes[-1], (), False, nodes, (end,) * len(nodes))
        self._closing_future = latency_future
        try:
            return self.advance(previous, step)
        finally:
            self._closing_future = None

    @property
    def _sends_as_latency(self) -> bool:
        """Whether the bits a deferred close sends matter only through latency: one codec,
        and nothing else (tx_bytes, energy, throughput) reads them or edge latency."""
        used = set(self.problem.objectives) | set(self.problem.constraints)
        return self.n_codecs == 1 and used <= {"latency_ms", "error", "edge_macs"}

    def _send_key(self, sums: np.ndarray, held: np.ndarray) -> np.ndarray:
        """A deferred close's dominance key when sent bits matter only through latency:
        edge latency plus the time to send what is held, as one column (exact: the close
        adds the same rtt, cloud time and input transmission to every label)."""
        send = transmit_ms(held[:, :, 0].sum(axis=1), self.problem.network)
        key = sums.copy()
        if "edge_ms" in self.dims:
            key[:, self.dims.index("edge_ms")] += send
            return key
        return np.column_stack([key, send])

    @property
    def uses_budget_floors(self) -> bool:
        """Whether bounding can use the budget left (latency bounded below, under an error
        or memory bound): then `begin_pass` wants `closes`."""
        return (self.bounding and "latency_ms" in self.problem.objectives
                and bool({"error", "memory_bytes"} & set(self.bounds)))

    def _build_budget_floors(self, walk: Walk, closes: np.ndarray) -> BudgetFloors:
        profile, network = self.problem.profile, self.problem.network
        nodes = np.array([step.node for step in walk.steps])
        choices, costs_of = self.joint  # every (bw, ba): what any completion may add
        width = max(len(choices[i]) for i in nodes)
        ratio = self.problem.codec_table.best_ratio
        # per row and activation bit index, its bits at the best codec available to it
        best_bits = self.tensor_bits[:, :, 0] / ratio[:, None]  # codec 0 (none): plain

        def column(values: Callable[[int], np.ndarray | float]) -> np.ndarray:
            out = np.full((len(nodes), width), np.inf)
            for s, i in enumerate(nodes):
                out[s, :len(choices[i])] = values(i)
            return out

        def dim(name: str) -> Callable[[int], np.ndarray | float]:
            return lambda i: (costs_of[i][:, self.dims.index(name)] if name in self.dims
                              else 0.0)

        edge = column(dim("edge_ms") if self.tracks_edge_latency
                      else lambda i: float(profile.edge_ms[i]))
        costs = cost_model(profile)
        packed = costs.pack_ms + costs.unpack_ms  # a sent tensor's packing and unpacking
        send = column(lambda i: transmit_ms(best_bits[i, choices[i][:, 1]], network)
                      + packed[i])
        step_of = {int(node): s for s, node in enumerate(nodes)}
        held = [[(step_of[f], u) for f, u in zip(step.frontier, step.until, strict=True)
                 if f in step_of] for step in walk.steps]
        frontier = [np.array([f for f, _ in pairs], int) for pairs in held]
        until = [np.searchsorted(nodes, np.array([u for _, u in pairs], int))
                 for pairs in held]
        # the release groups of the labels after each step (`Labels.groups`), as steps
        groups = [np.searchsorted(nodes, np.array(sorted(set(step.until)), int))
                  for step in walk.steps]
        cloud = float(profile.cloud_ms[1:].sum()) - np.cumsum(profile.cloud_ms[nodes])
        raw = tensor_bits(profile.out_elems[0], profile.input_bits, profile.batch) / ratio[0]
        input_bits = np.where(walk.live_until[0] > nodes, float(raw), 0.0)
        input_packed = np.where(walk.live_until[0] > nodes, packed[0], 0.0)
        rest = np.where(closes, latency_ms(input_packed, transmit_seconds(input_bits, network),
                                           cloud, network), np.inf)
        costs = PassCosts(edge, column(dim("error")), column(dim("weights")), send, rest,
                          frontier, until, groups, self.tracks_edge_latency)
        return BudgetFloors.build(costs, float(transmit_ms(1.0, network)),
                                  self.bounds.get("error", np.inf),
                                  self.bounds.get("memory_bytes", np.inf),
                                  bound_set=self._bound_set_axes is not None)

    @property
    def _bound_set_axes(self) -> tuple[int, int] | None:
        """The columns of latency and error among the objectives when bounding may use
        bound sets (the objectives are exactly those two, and error is tracked)."""
        objectives = self.problem.objectives
        if sorted(objectives) != ["error", "latency_ms"] or "error" not in self.dims:
            return None
        return objectives.index("latency_ms"), objectives.index("error")

    def _future_peaks(self, walk: Walk) -> np.ndarray:
        """Per step s of the walk, a bound on the largest working set of the nodes after s
        (every tensor at the widest bits; 0 after the last step)."""
        widest = bytes_of(self.tensor_bits[:, -1, 0])
        working = np.array([widest[step.node] + widest[list(step.live)].sum()
                            + (self.input_size if step.input_live else 0.0)
                            for step in walk.steps])
        after = np.maximum.accumulate(working[::-1])[::-1]
        return np.r_[after[1:], 0.0]

    def edge_latency_floor(self) -> np.ndarray:
        """Per row, the least edge latency any of its choices takes (0 for the input)."""
        if self.latency_table is None:
            return self.problem.profile.edge_ms.astype(float).copy()
        if "edge_ms" in self.dims:  # what the choices charge (relaxed rows: their least)
            edge = self.dims.index("edge_ms")
            return np.r_[0.0, [cost[:, edge].min() for cost in self.joint[1][1:]]]
        floor = np.zeros(len(self.choices))
        for i in range(1, len(floor)):
            pairs = self.choices[i]
            floor[i] = self.latency_table[i, pairs[:, 0], self.bits[pairs[:, 1]]].min()
        return floor

    def close_latency_floor(self, edge: np.ndarray, sent: tuple[int, ...],
                            input_sent: bool) -> float:
        """See :func:`.closing.close_latency_floor` (at the bit set's smallest width)."""
        return close_latency_floor(self.problem, int(self.bits.min()), edge, sent, input_sent)

    def prefix_close_latency_floors(self) -> np.ndarray:
        """`close_latency_floor` of every prefix split n = 0..N at once, in O(N)."""
        return prefix_close_latency_floors(self.problem, int(self.bits.min()))

    # ------------------------------------------------------------ stepping
    def _floor(self, objective: str, sums: np.ndarray, labels: Labels | None = None
               ) -> np.ndarray:
        """A lower bound on `objective` over every completion of each label (`sums`); for
        latency, with the labels themselves given, also the budget floors."""
        sums = self._with_least_weights(sums)
        future = (self._closing_future if self._closing_future is not None else
                  self._latency_future[min(self._position, len(self._latency_future) - 1)])
        floor = objective_floor(objective, sums, self.dims, future)
        if objective == "latency_ms" and self._closing_future is not None and labels:
            # a deferred close sends what the labels hold (at best under the best codec)
            return floor + transmit_ms(labels.held.sum(axis=1).min(axis=1),
                                       self.problem.network)
        if objective != "latency_ms" or self._budget_floors is None or labels is None:
            return floor
        return np.maximum(floor, self._budget_floors.floor(*self._budget_inputs(labels)))

    def _budget_inputs(self, labels: Labels) -> tuple[int, np.ndarray, np.ndarray | None,
                                                      np.ndarray | None, np.ndarray | None]:
        """What the budget floors read of `labels`: the step, their held bits per release
        group at their best codec, and their edge latency, error and weights + peak sums
        (None where not tracked)."""
        sums = self._with_least_weights(labels.sums)
        column = {d: sums[:, self.dims.index(d)] for d in ("edge_ms", "error")
                  if d in self.dims}
        memory = (objective_floor("memory_bytes", sums, self.dims, 0.0)
                  if "weights" in self.dims else None)
        held = labels.held.min(axis=2) if labels.held.size else np.zeros((len(sums), 0))
        return (min(self._position, self._n_steps - 1), held, column.get("edge_ms"),
                column.get("error"), memory)

    def _with_least_weights(self, sums: np.ndarray) -> np.ndarray:
        """With weight bits out of the labels, `sums` with lower bounds on the weights of
        the nodes walked so far: the lightest assignment's bytes, and, added to the
        error, the least weight error within the memory a label leaves (M - P: its
        completions leave no more). Else `sums` itself."""
        fronts = self.weight_fronts
        if fronts is None or not len(sums):
            return sums
        step = min(self._position, len(fronts.nodes) - 1)
        out = sums.copy()
        out[:, self.dims.index("weights")] += fronts.least_bytes(step)
        if "error" in self.dims:
            out[:, self.dims.index("error")] += fronts.chosen(step, self._weights_left(sums))[1]
        return out

    def _weights_left(self, sums: np.ndarray) -> np.ndarray:
        """The bytes the memory bound leaves the weight fronts' rows: M - P - W, with W
        the weights of the rows the labels carry."""
        return (self.bounds["memory_bytes"] - sums[:, self.dims.index("peak")]
                - sums[:, self.dims.index("weights")])

    def _with_weights(self, labels: Labels) -> Labels:
        """A closed prefix's labels with their weight bits chosen (see weights.py): the
        bytes and error of the least-error assignment within M - P (inf bytes where none
        fits, which the close finds infeasible)."""
        fronts = self.weight_fronts
        if fronts is None or labels.node not in self._step_of:
            return labels
        weights, error = fronts.chosen(self._step_of[labels.node],
                                       self._weights_left(labels.sums))
        sums = labels.sums.copy()
        sums[:, self.dims.index("weights")] += weights
        if "error" in self.dims:  # inf where nothing fits: the close drops it on memory
            sums[:, self.dims.index("error")] += np.where(np.isfinite(weights), error, 0.0)
        return Labels(labels.node, labels.groups, labels.held, sums, labels.parent,
                      labels.choice)

    def _within_bounds(self, sums: np.ndarray) -> np.ndarray:
        """Labels whose partial sums do not already break a constraint (they only grow)."""
        keep = np.ones(len(sums), bool)
        if "error" in self.bounds and "error" in self.dims:
            keep &= self._floor("error", sums) <= self.bounds["error"]
        if "memory_bytes" in self.bounds and "weights" in self.dims:
            keep &= self._floor("memory_bytes", sums) <= self.bounds["memory_bytes"]
        if "latency_ms" in self.bounds and "edge_ms" in self.dims:
            floor = sums[:, self.dims.index("edge_ms")] + self.problem.network.rtt_ms
            keep &= floor <= self.bounds["latency_ms"]
        return keep

    def _prune(self, labels: Labels) -> Labels:
        """Bound, dominance (per state) and incumbent pruning, then, in certified mode and
        past `merge_above` labels, merging within grid cells."""
        index = np.flatnonzero(self._within_bounds(labels.sums))
        future_peak = self._future_peak[min(self._position, len(self._future_peak) - 1)] \
            if len(self._future_peak) else 0.0
        if self._closing_future is not None and self._sends_as_latency:
            key = self._send_key(labels.sums[index], labels.held[index])
        else:
            key = np.column_stack([dominance_key(labels.sums[index], self.dims,
                                                 future_peak),
                                   held_key(labels.held[index])])
        kept = nondominated_rows(key)
        # bounding after dominance: it tests every label against incumbents, and fewer
        # labels are left by now (a label dominated by a beaten one is beaten too)
        beaten = self._beaten(labels.take(index[kept]))
        self.bounded += int(beaten.sum())
        kept = kept[~beaten]
        if self._closing_future is not None:
            return labels.take(index[np.sort(kept)])
        width = (self.budget.width(kept.size, self._n_steps - self._position)
                 if self.certified else None)
        if width is not None:
            sums = labels.sums[index[kept]]
            band = {q: self._floor(q, sums) <= cap for q, cap in self.caps.items()}
            merged = kept[nondominated_rows(cells(key[kept], sums, width, self.dims,
                                                  self.budget.logarithmic, band))]
            if merged.size < kept.size:
                self.budget.spend(width)
                self.merged += kept.size - merged.size
                kept = merged
        self._position += 1
        return labels.take(index[np.sort(kept)])

    def _beaten(self, labels: Labels) -> np.ndarray:
        """Labels whose every completion some incumbent beats strictly in every objective."""
        if not len(self.incumbents) or not len(labels):
            return np.zeros(len(labels), bool)
        floor = np.column_stack([self._floor(q, labels.sums, labels)
                                 for q in self.problem.objectives])
        beaten = self.incumbents.beat(floor)
        axes = self._bound_set_axes
        floors = self._budget_floors
        if axes is None or floors is None or floors.region is None or beaten.all():
            return beaten
        if self._bound_sets_idle > 0:  # they dropped too little lately: not worth the table
            self._bound_sets_idle -= 1
            return beaten
        # bound sets: latency + lam x error bounded below, per label (bounding.BudgetFloors)
        rest = np.flatnonzero(~beaten)
        if len(rest) > BOUND_SET_PROBE:  # tried on an even sample first: is the table worth it?
            probe = rest[np.linspace(0, len(rest) - 1, BOUND_SET_PROBE).astype(int)]
            if self._region_beaten(labels, floor, probe).sum() < BOUND_SET_GAIN * len(probe):
                self._back_off_bound_sets()
                return beaten
        region = self._region_beaten(labels, floor, rest)
        beaten[rest] = region
        if region.sum() < BOUND_SET_GAIN * len(rest):
            self._back_off_bound_sets()
        else:
            self._bound_sets_wait = BOUND_SET_BACKOFF
        return beaten

    def _region_beaten(self, labels: Labels, floor: np.ndarray, rows: np.ndarray
                       ) -> np.ndarray:
        """Whether the incumbents beat every completion of labels `rows` by bound sets."""
        assert self._budget_floors is not None and self._bound_set_axes is not None
        axes = list(self._bound_set_axes)
        lams, bounds = self._budget_floors.bound_set(*self._budget_inputs(labels.take(rows)))
        return self.incumbents.beat_region(floor[rows][:, axes], bounds, lams,
                                           self._bound_set_axes)

    def _back_off_bound_sets(self) -> None:
        """Skip bound sets for the next wait steps, and wait twice as long after the next
        poor step."""
        self._bound_sets_idle = self._bound_sets_wait
        self._bound_sets_wait *= 2

    def advance(self, previous: Labels | None, step: WalkStep) -> Labels:
        """Add the walk step's node to every label of `previous` (None: the root).

        The step's live tensors are all in the previous frontier; its frontier is a subset
        of the previous frontier and the node.
        """
        previous = self._root() if previous is None else previous
        node = step.node
        choices, costs = self.choices[node], self.costs[node]
        n_labels, n_choices = len(previous), len(choices)
        if n_labels * n_choices > self.max_labels:
            raise LabelLimit(node, n_labels * n_choices)
        self.peak = max(self.peak, n_labels * n_choices)
        parent = np.repeat(np.arange(n_labels), n_choices)
        choice = np.tile(np.arange(n_choices), n_labels)
        sums = previous.sums[parent] + costs[choice]
        new_bits = self.tensor_bits[node, choices[choice, 1]]  # (L', codecs)
        held = previous.held[parent]
        if "peak" in self.dims:
            # every held tensor is live at this node (the walk's live set)
            working = (bytes_of(new_bits[:, 0] + held[:, :, 0].sum(axis=1))
                       + (self.input_size if step.input_live else 0.0))
            p = self.dims.index("peak")
            sums[:, p] = np.maximum(sums[:, p], working)
        groups = tuple(sorted(set(step.until)))
        regrouped = np.zeros((len(parent), len(groups), self.n_codecs))
        for j, release in enumerate(groups):
            if release in previous.groups:  # still held (its release is after this node)
                regrouped[:, j] = held[:, previous.groups.index(release)]
            if node in step.frontier and step.until[step.frontier.index(node)] == release:
                regrouped[:, j] += new_bits
        return self._prune(Labels(node, groups, regrouped, sums, parent, choice))

    def _root(self) -> Labels:
        return Labels.root(len(self.dims), self.n_codecs)

    # ------------------------------------------------------------ finishing
    def close(self, labels: Labels | None, edge: np.ndarray, sent: tuple[int, ...],
              input_sent: bool) -> Closed:
        """Full objective vectors of every label (None: the root) for edge set `edge`."""
        labels = self._root() if labels is None else self._with_weights(labels)
        return close(self.problem, self.dims, labels, edge, sent, input_sent)

    def rebuild(self, steps: list[Labels], last: int, label: int) -> dict[int, tuple[int, int]]:
        """(bw, ba) of every node along the label's history, walking parents back."""
        bits: dict[int, tuple[int, int]] = {}
        weight_bits: dict[int, int] = {}
        if self.weight_fronts is not None and last >= 0:
            step = self._step_of[steps[last].node]
            left = self._weights_left(steps[last].sums[label:label + 1])
            index = int(self.weight_fronts.entry(step, left)[0])
            if index >= 0:  # else the plan was infeasible, and is never rebuilt
                weight_bits = self.weight_fronts.bits(step, index)
        j = last
        while j >= 0 and label >= 0:
            labels = steps[j]
            bw, a = self.choices[labels.node][labels.choice[label]]
            bits[labels.node] = (weight_bits.get(labels.node, int(bw)), int(self.bits[a]))
            label = int(labels.parent[label])
            j -= 1
        return bits


__all__ = ["BitDP", "LabelLimit"]
