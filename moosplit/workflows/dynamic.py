"""Dynamic split computing: the best plan as a function of the data rate and the batch size.

After Bakhtiarnia, Milošević, Zhang, Bajović and Iosifidis, "Dynamic Split Computing for
Efficient Deep Edge Intelligence" (ICML 2022 workshop on dynamic neural networks; ICASSP
2023; arXiv:2205.11269). A static split is chosen once; a dynamic one is re-chosen whenever
the uplink data rate or the batch size changes. Every candidate plan's latency is affine in
1 / rate,

    latency(rate) = a + b / rate      (a: edge + cloud compute + rtt + encode, in ms;
                                       b: transmitted megabits x 1000, in ms·Mbit/s),

so the best plan over a range of rates is the lower envelope of lines in 1 / rate. It is
computed here exactly (rational arithmetic on the lines the shared evaluator gives), so the
breakpoints are the rates where the best plan truly changes, not samples of a grid.

Note on the paper's equations. The text of the paper's Eq. 3 (natural and compressive
bottlenecks) and Eq. 7 (gain of dynamic over static split along a scenario) could not be
retrieved while writing this module; only its abstract and summaries were. The definitions
below are the obvious ones, stated in each docstring: a natural bottleneck sends fewer bytes
than the raw input; a compressive one sends fewer than the input and every earlier split;
the gain is the share of the static split's total latency that the dynamic policy saves.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from types import MappingProxyType
from typing import NamedTuple

import numpy as np
import pandas as pd

from ..costs import bytes_of, cost_model, tensor_bits
from ..errors import ProblemError, ProblemOptionError, ProfileError, shown
from ..evaluator import evaluate
from ..plans import Plan, Plans, prefix_plans
from ..problems.network import MIN_BANDWIDTH_MBPS
from ..problems.problem import Network, SplitProblem
from ..profiles.cells import number as cell_number
from ..profiles.csv_io import read_table, read_text_file
from ..profiles.profile import Profile
from ..profiles.schema import REFERENCE_BITS
from ..results.front import FRONT_COLUMNS, plans_frame

RATE_DEPENDENT = ("latency_ms", "energy_mj", "throughput_fps")
"""Quantities that change with the data rate: a policy cannot be constrained on them."""

INTERVAL_COLUMNS = ("batch", "rate_from_mbps", "rate_to_mbps")
"""The columns a policy CSV puts before the front CSV's columns (SPEC section 7)."""


# --------------------------------------------------------------------------- bottlenecks
class Bottleneck(NamedTuple):
    """A prefix split worth considering: after `node` (split n), sending `tx_bytes`."""

    split: int
    node: str
    tx_bytes: float


def prefix_tx_bytes(profile: Profile, bits: int = REFERENCE_BITS) -> np.ndarray:
    """Bytes sent at each prefix split n = 0..N, every edge activation at `bits`.

    Counts every cut tensor (SPEC section 4), so in a DAG a split also pays for the tensors
    a skip connection still needs on the cloud, the raw input included. The cut tensors of
    every prefix come from the walk of the edge-only set
    (:meth:`moosplit.costs.CostModel.prefix_cut_sums`), so the work grows with N and the
    edges, not N^2.
    """
    tensor = tensor_bits(profile.out_elems.astype(float), float(bits), profile.batch)
    tensor[0] = tensor_bits(float(profile.out_elems[0]), profile.input_bits, profile.batch)
    return bytes_of(cost_model(profile).prefix_cut_sums(tensor))


def natural_bottlenecks(profile: Profile) -> list[Bottleneck]:
    """Splits 1..N-1 that send fewer bytes than the raw input (activations at 16 bits).

    Edge-only (split N) is left out: it sends the model's outputs, which says nothing about
    where to split.
    """
    tx = prefix_tx_bytes(profile)
    return [Bottleneck(n, profile.names[n], float(tx[n])) for n in range(1, profile.n_nodes)
            if tx[n] < tx[0]]


def compressive_bottlenecks(profile: Profile) -> list[Bottleneck]:
    """Splits 1..N-1 that send fewer bytes than the raw input and every earlier split.

    tx(n) < min(tx(0), ..., tx(n-1)): each is a new running minimum of the transmitted
    size, so it is also a natural bottleneck. This is the obvious reading of the paper's
    compressive layers (its Eq. 3 could not be retrieved): a split that compresses the
    data further than anything before it.

    Example:
        >>> from moosplit.profiles.bundled import load_profile
        >>> [b.split for b in compressive_bottlenecks(load_profile("portend_resnet20"))]
        []
    """
    tx = prefix_tx_bytes(profile)
    best = np.minimum.accumulate(tx)
    return [Bottleneck(n, profile.names[n], float(tx[n])) for n in range(1, profile.n_nodes)
            if tx[n] < best[n - 1]]


def bottlenecks(profile: Profile) -> tuple[list[Bottleneck], list[Bottleneck]]:
    """(natural, compressive) bottlenecks of a profile; see the two functions."""
    return natural_bottlenecks(profile), compressive_bottlenecks(profile)


# --------------------------------------------------------------------------- envelope
@dataclass(frozen=True)
class Interval:
    """A range of data rates over which one plan is the fastest.

    index: the plan's row in the candidate plans. fixed_ms (a) and per_rate_ms (b) give the
    plan's latency a + b / rate in ms, rate in Mbit/s.
    """

    rate_from_mbps: float
    rate_to_mbps: float
    index: int
    plan: Plan
    fixed_ms: float
    per_rate_ms: float

    def latency_ms(self, rate_mbps: float | np.ndarray) -> float | np.ndarray:
        """The plan's latency at a data rate (any rate, not only inside the interval)."""
        return self.fixed_ms + self.per_rate_ms / rate_mbps


def check_rates(rates: tuple[float, float]) -> tuple[float, float]:
    """(lo, hi) as floats; a ProblemOptionError on `rates` unless
    MIN_BANDWIDTH_MBPS (one bit per second) <= lo <= hi < inf."""
    expected = f"a pair (lo, hi) of Mbit/s with {MIN_BANDWIDTH_MBPS:g} <= lo <= hi < inf"
    try:
        lo, hi = (float(r) for r in rates)
    except (TypeError, ValueError):
        raise ProblemOptionError("rates", expected, rates) from None
    if not (MIN_BANDWIDTH_MBPS <= lo <= hi and math.isfinite(hi)):
        raise ProblemOptionError("rates", expected, f"{lo:g}:{hi:g}")
    return lo, hi


def at_rate(problem: SplitProblem, rate_mbps: float) -> SplitProblem:
    """The problem with its bandwidth set to `rate_mbps` (rtt and transmit power kept)."""
    return problem.replace(network=replace(problem.network, bandwidth_mbps=rate_mbps))


def latency_lines(problem: SplitProblem, plans: Plans,
                  rates: tuple[float, float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(a, b, feasible) of each plan: latency = a + b / rate, from the shared evaluator.

    The evaluator is run at the two ends of `rates` (at lo and 2 lo when lo == hi) and the
    line through both values is solved for, so the lines are exact, to rounding, over the
    range. Feasibility is the evaluator's at lo (rate-independent constraints only).
    """
    lo, hi = check_rates(rates)
    hi = hi if hi > lo else 2.0 * lo
    low = evaluate(at_rate(problem, lo), plans)
    high = evaluate(at_rate(problem, hi), plans)
    slope = (low["latency_ms"] - high["latency_ms"]) / (1.0 / lo - 1.0 / hi)
    fixed = high["latency_ms"] - slope / hi
    return fixed, slope, low.feasible


def rate_envelope(problem: SplitProblem, plans: Plans,
                  rates: tuple[float, float]) -> list[Interval]:
    """The fastest feasible plan over every data rate in `rates` = (lo, hi) Mbit/s.

    The problem's own bandwidth is ignored (the rate varies); its rtt, transmit power,
    split bounds and constraints are kept, and constraints must not depend on the rate.
    Returns intervals sorted by rate, covering [lo, hi] (empty if no plan is feasible);
    consecutive intervals hold different plans and meet at a breakpoint, the rate where
    both plans' latencies are equal. Plans with identical latency lines are decided by the
    SPEC's tie-break (smallest split, then smallest bits).

    Example:
        >>> import moosplit, numpy as np
        >>> from moosplit.plans import prefix_plans
        >>> profile = moosplit.load_profile("portend_resnet20")
        >>> problem = moosplit.SplitProblem(profile, moosplit.Network(bandwidth_mbps=1),
        ...                                 bits=(16,))
        >>> plans = prefix_plans(problem, np.arange(profile.n_rows), 16)
        >>> [(round(i.rate_from_mbps, 3), i.plan.split) for i in
        ...  rate_envelope(problem, plans, (1, 128))]
        [(1.0, 11), (1.682, 0)]
    """
    lo, hi = check_rates(rates)
    bad = [name for name in problem.constraints if name in RATE_DEPENDENT]
    if bad:
        raise ProblemError(f"constraints on {', '.join(bad)} depend on the data rate; a rate "
                           "envelope takes only rate-independent constraints")
    fixed, slope, feasible = latency_lines(problem, plans, (lo, hi))
    rank = np.empty(len(plans), np.int64)
    rank[plans.tie_order()] = np.arange(len(plans))
    lines = _undominated(np.flatnonzero(feasible), fixed, slope, rank)
    if not lines:
        return []
    a = {i: Fraction(float(fixed[i])) for i in lines}
    b = {i: Fraction(float(slope[i])) for i in lines}
    x_lo, x_hi = 1 / Fraction(hi), 1 / Fraction(lo)
    if lo == hi:  # a single rate: the fastest line there, ties by the SPEC's order
        best = min(lines, key=lambda i: (a[i] + b[i] * x_lo, int(rank[i])))
        pieces = [(best, x_lo, x_hi)]
    else:
        pieces = _clip(_hull(lines, a, b), a, b, x_lo, x_hi)
    out = []
    for i, x_from, x_to in reversed(pieces):  # rates ascending = 1/rate descending
        out.append(Interval(lo if x_to == x_hi else float(1 / x_to),
                            hi if x_from == x_lo else float(1 / x_from),
                            int(i), plans.plan(int(i), problem), float(fixed[i]),
                            float(slope[i])))
    return out


def _undominated(candidates: np.ndarray, a: np.ndarray, b: np.ndarray,
                 rank: np.ndarray) -> list[int]:
    """Lines no other line beats or ties at every rate; a strictly up, b strictly down.

    Sorted by (a, b, tie rank), a line is kept iff its b is below every kept line's b: any
    line with a' <= a and b' <= b is never slower, and wins the tie if identical.
    """
    order = candidates[np.lexsort((rank[candidates], b[candidates], a[candidates]))]
    kept: list[int] = []
    for i in order:
        if not kept or b[i] < b[kept[-1]]:
            kept.append(int(i))
    return kept


def _overtake(i: int, j: int, a: Mapping[int, Fraction], b: Mapping[int, Fraction]) -> Fraction:
    """x = 1/rate from which line j (smaller slope, larger a) is below line i."""
    return (a[j] - a[i]) / (b[i] - b[j])


def _hull(lines: list[int], a: Mapping[int, Fraction],
          b: Mapping[int, Fraction]) -> list[int]:
    """The lines of the lower envelope over x = 1/rate > 0, in order of increasing x."""
    hull: list[int] = []
    for j in lines:
        while len(hull) >= 2 and _overtake(hull[-2], j, a, b) <= _overtake(hull[-2], hull[-1],
                                                                            a, b):
            hull.pop()
        hull.append(j)
    return hull


def _clip(hull: list[int], a: Mapping[int, Fraction], b: Mapping[int, Fraction],
          x_lo: Fraction, x_hi: Fraction) -> list[tuple[int, Fraction, Fraction]]:
    """(line, x_from, x_to) pieces of the envelope within [x_lo, x_hi], x increasing."""
    cuts = [Fraction(0)] + [_overtake(i, j, a, b) for i, j in zip(hull, hull[1:], strict=False)]
    ends = cuts[1:] + [x_hi]
    pieces = []
    for i, start, end in zip(hull, cuts, ends, strict=True):
        start, end = max(start, x_lo), min(end, x_hi)
        if start < end:
            pieces.append((i, start, end))
    return pieces


# --------------------------------------------------------------------------- policy
@dataclass(frozen=True, eq=False)
class Policy:
    """The best plan per batch size and data rate (the paper's policy map, Figure 2).

    problems: per batch, the problem its candidates were evaluated in (its bandwidth is a
    placeholder). candidates: per batch, the candidate plans. intervals: per batch, the
    rate envelope over `rates` (empty when no candidate is feasible).
    """

    rates: tuple[float, float]
    bits: tuple[int, ...]
    forbid_full_offload: bool
    problems: Mapping[int, SplitProblem]
    candidates: Mapping[int, Plans]
    intervals: Mapping[int, tuple[Interval, ...]]

    @property
    def batches(self) -> tuple[int, ...]:
        """The batch sizes, ascending."""
        return tuple(sorted(self.intervals))

    def interval_at(self, batch: int, rate_mbps: float) -> Interval:
        """The interval holding `rate_mbps` for `batch` (at a breakpoint: the lower one)."""
        if batch not in self.intervals:
            raise ProblemError(f"the policy has no batch size {batch}; it has "
                               f"{', '.join(map(str, self.batches))}")
        lo, hi = self.rates
        if not lo <= rate_mbps <= hi:
            raise ProblemError(f"rate {rate_mbps:g} Mbit/s is outside the policy's rates "
                               f"{lo:g}:{hi:g}")
        intervals = self.intervals[batch]
        if not intervals:
            raise ProblemError(f"no feasible plan for batch size {batch}")
        for interval in intervals:
            if rate_mbps <= interval.rate_to_mbps:
                return interval
        return intervals[-1]

    def plan_at(self, batch: int, rate_mbps: float) -> Plan:
        """The fastest plan for `batch` at `rate_mbps`."""
        return self.interval_at(batch, rate_mbps).plan

    def to_frame(self) -> pd.DataFrame:
        """One row per batch and rate interval: `batch`, `rate_from_mbps`, `rate_to_mbps`,
        then the plan's front-CSV columns (SPEC section 7).

        Rate-dependent columns (latency_ms, energy_mj, throughput_fps) are evaluated at the
        interval's lower rate, `rate_from_mbps`: the worst case over the interval.
        """
        parts = []
        for batch in self.batches:
            problem, candidates = self.problems[batch], self.candidates[batch]
            for interval in self.intervals[batch]:
                at = at_rate(problem, interval.rate_from_mbps)
                plans = candidates.take([interval.index])
                frame = plans_frame(at, plans, evaluate(at, plans))
                frame.insert(0, "rate_to_mbps", interval.rate_to_mbps)
                frame.insert(0, "rate_from_mbps", interval.rate_from_mbps)
                frame.insert(0, "batch", batch)
                parts.append(frame)
        if not parts:
            return pd.DataFrame(columns=[*INTERVAL_COLUMNS, *FRONT_COLUMNS])
        return pd.concat(parts, ignore_index=True)


def profiles_by_batch(profiles: Mapping[int, Profile] | Sequence[Profile] | Profile
              ) -> dict[int, Profile]:
    """Profiles keyed by their metadata `batch`; each batch once, one model throughout."""
    if isinstance(profiles, Profile):
        profiles = [profiles]
    if isinstance(profiles, Mapping):
        for batch, profile in profiles.items():
            if batch != profile.batch:
                raise ProblemError(
                    f"profile {profile.source} is for batch {profile.batch}, not {batch}: "
                    "latencies are per profiled batch and are not rescaled")
        by_batch = dict(profiles)
    else:
        by_batch = {}
        for profile in profiles:
            if profile.batch in by_batch:
                raise ProblemError(
                    f"profiles {by_batch[profile.batch].source} and {profile.source} are both "
                    f"for batch {profile.batch} (metadata 'batch'); give one profile per batch "
                    "size")
            by_batch[profile.batch] = profile
    if not by_batch:
        raise ProblemError("profiles must hold at least one profile, got none")
    first = next(iter(by_batch.values()))
    for profile in by_batch.values():
        if profile.names != first.names:
            raise ProblemError(f"profiles {first.source} and {profile.source} describe "
                               "different models (their node names differ)")
    return dict(sorted(by_batch.items()))


def split_candidates(problem: SplitProblem, bits: Sequence[int]) -> Plans:
    """Every prefix split at each uniform bit-width: split 0 once, then 1..N per bit-width."""
    n_rows = problem.profile.n_rows
    batches = [prefix_plans(problem, np.array([0]), bits[0])]
    batches += [prefix_plans(problem, np.arange(1, n_rows), b) for b in bits]
    return Plans.concat(batches, n_rows)


def dynamic_policy(
    profiles: Mapping[int, Profile] | Sequence[Profile] | Profile,
    *,
    rates: tuple[float, float],
    bits: Sequence[int] = (REFERENCE_BITS,),
    network: Network | None = None,
    forbid_full_offload: bool = False,
    constraints: Mapping[str, float] | None = None,
) -> Policy:
    """The fastest prefix split per batch size and data rate.

    profiles: one profile per batch size, each keyed by its metadata `batch` (a latency is
    for the profiled batch; nothing is rescaled). rates: (lo, hi) in Mbit/s. bits: uniform
    bit-widths for the edge part (default: reference precision only, as in the paper:
    splits alone). network: rtt and transmit power (its bandwidth is ignored).
    forbid_full_offload: never choose split 0, which sends the raw input (privacy); in a
    DAG a later split may still send the input as a cut tensor. constraints: bounds on
    rate-independent quantities, e.g. {"memory_bytes": 4 * 2**20}.

    Example:
        >>> import moosplit
        >>> policy = dynamic_policy(moosplit.load_profile("portend_resnet20"), rates=(1, 128),
        ...                         forbid_full_offload=True)
        >>> [(i.plan.split, round(i.rate_from_mbps, 2)) for i in policy.intervals[1]]
        [(11, 1.0), (1, 18.62)]
    """
    lo, hi = check_rates(rates)
    network = Network(bandwidth_mbps=1.0) if network is None else network
    raw = [bits] if isinstance(bits, (int, np.integer)) else list(bits)
    if not raw:
        raise ProblemError("bits must hold at least one bit-width, got none")
    problems, candidates, intervals = {}, {}, {}
    for batch, profile in profiles_by_batch(profiles).items():
        problem = SplitProblem(profile, network, objectives=("latency_ms",),
                               constraints=dict(constraints or {}), bits=tuple(raw),
                               min_split=1 if forbid_full_offload else 0)
        plans = split_candidates(problem, problem.bit_set)
        problems[batch], candidates[batch] = problem, plans
        intervals[batch] = tuple(rate_envelope(problem, plans, (lo, hi)))
    return Policy((lo, hi), problems[next(iter(problems))].bit_set, forbid_full_offload,
                  MappingProxyType(problems), MappingProxyType(candidates),
                  MappingProxyType(intervals))


# --------------------------------------------------------------------------- scenarios
@dataclass(frozen=True)
class ScenarioStep:
    """One step of a scenario: batch size and data rate, weighted by `duration`."""

    batch: int
    rate_mbps: float
    duration: float = 1.0


def read_scenario(path: str | os.PathLike) -> tuple[ScenarioStep, ...]:
    """Read a scenario CSV: columns `batch`, `rate_mbps`, optional `duration` (default 1).

    Raises ProblemError naming the file, row and column of a bad cell.
    """
    source = str(path)
    frame, lines = read_table(read_text_file(path, ProblemError), source, error=ProblemError)
    columns = list(frame.columns)
    missing = [c for c in ("batch", "rate_mbps") if c not in columns]
    unknown = [c for c in columns if c not in ("batch", "rate_mbps", "duration")]
    if missing or unknown or len(set(columns)) != len(columns):
        what = (f"missing scenario column(s) {', '.join(missing)}" if missing else
                f"unknown column(s) {', '.join(unknown)}" if unknown else "a repeated column")
        raise ProblemError(f"{source}: {what} (expected batch,rate_mbps[,duration])")
    if frame.empty:
        raise ProblemError(f"{source}: the scenario has no steps")
    steps = []
    for row, record in frame.iterrows():
        def number(column: str, whole: bool = False, _r=record, _row=row) -> float:
            where = f"{source}: line {lines[_row]}, row {_row}, column {column!r}"
            try:
                value = cell_number(_r[column], where, whole=whole)
            except ProfileError as exc:
                raise ProblemError(str(exc)) from None
            if value <= 0:
                raise ProblemError(f"{where}: must be > 0, got {_r[column]!r}")
            return value
        duration = number("duration") if "duration" in frame.columns else 1.0
        steps.append(ScenarioStep(int(number("batch", whole=True)), number("rate_mbps"), duration))
    return tuple(steps)


@dataclass(frozen=True, eq=False)
class ScenarioResult:
    """Per-step latencies (ms) of the dynamic policy and of a static split, and weights."""

    dynamic_ms: np.ndarray
    static_ms: np.ndarray
    duration: np.ndarray

    @property
    def total_dynamic_ms(self) -> float:
        """Duration-weighted sum of the dynamic policy's latencies."""
        return float(self.duration @ self.dynamic_ms)

    @property
    def total_static_ms(self) -> float:
        """Duration-weighted sum of the static split's latencies."""
        return float(self.duration @ self.static_ms)

    @property
    def gain(self) -> float:
        """G = (T_static - T_dynamic) / T_static (see :func:`scenario_gain`)."""
        return (self.total_static_ms - self.total_dynamic_ms) / self.total_static_ms


def run_scenario(policy: Policy, scenario: Sequence[ScenarioStep], static_split: int, *,
                 static_bits: int | None = None) -> ScenarioResult:
    """Latency of each step, dynamic and static, both from the shared evaluator.

    Dynamic: the policy's plan at the step's batch and rate. Static: prefix split
    `static_split` at `static_bits` (default: the policy's highest bit-width) for every
    step; it must be feasible (split bounds, constraints) for every batch of the scenario.
    """
    if not scenario:
        raise ProblemError("the scenario has no steps")
    bits = max(policy.bits) if static_bits is None else int(static_bits)
    if bits not in policy.bits:
        raise ProblemError(f"static bits {bits} are not among the policy's bits {policy.bits}")
    dynamic, static = np.empty(len(scenario)), np.empty(len(scenario))
    statics: dict[int, Plans] = {}
    for k, step in enumerate(scenario):
        try:
            interval = policy.interval_at(step.batch, step.rate_mbps)
        except ProblemError as exc:
            raise ProblemError(f"scenario step {k}: {exc}") from None
        problem = at_rate(policy.problems[step.batch], step.rate_mbps)
        if step.batch not in statics:
            statics[step.batch] = _static_plan(policy, step.batch, static_split, bits)
        plans = Plans.concat([policy.candidates[step.batch].take([interval.index]),
                              statics[step.batch]], problem.profile.n_rows)
        dynamic[k], static[k] = evaluate(problem, plans)["latency_ms"]
    duration = np.array([float(step.duration) for step in scenario])
    return ScenarioResult(dynamic, static, duration)


def _static_plan(policy: Policy, batch: int, split: int, bits: int) -> Plans:
    problem = policy.problems[batch]
    n = problem.profile.n_nodes
    if isinstance(split, bool) or not isinstance(split, (int, np.integer)) or not 0 <= split <= n:
        raise ProblemError(f"static split must be a whole number in 0..{n}, got {shown(split)}")
    plans = prefix_plans(problem, np.array([split]), bits)
    if not evaluate(problem, plans).feasible[0]:
        why = ("split 0 sends the raw input, which the policy forbids" if split
               < problem.split_bounds[0] else "it breaks a constraint "
               f"({', '.join(f'{k} <= {v:g}' for k, v in problem.constraints.items())})")
        raise ProblemError(f"static split {split} is infeasible for batch {batch}: {why}")
    return plans


def scenario_gain(policy: Policy, scenario: Sequence[ScenarioStep], static_split: int, *,
                  static_bits: int | None = None) -> float:
    """Gain G of the dynamic policy over a static split along a scenario.

    G = (T_static - T_dynamic) / T_static with T = sum over steps of duration x latency:
    the share of the static split's inference time that re-choosing the split at every
    step saves (0 when the static split is always the best; never negative, as the
    policy is optimal at every step). The paper's Eq. 7 could not be retrieved; this is
    the obvious definition. Latencies are per batch, as profiled.

    Example:
        >>> import moosplit
        >>> policy = dynamic_policy(moosplit.load_profile("portend_resnet20"), rates=(1, 128))
        >>> steps = [ScenarioStep(1, 2.0), ScenarioStep(1, 100.0)]  # cloud-only best at both
        >>> round(scenario_gain(policy, steps, static_split=11), 4)  # vs edge-only
        0.454
    """
    return run_scenario(policy, scenario, static_split, static_bits=static_bits).gain
