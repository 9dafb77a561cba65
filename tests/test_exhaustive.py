"""The exhaustive backend against an independent brute-force reference (tests/reference.py).

Every case builds a small random problem, solves it with `exhaustive` and checks, against
the reference written from SPEC sections 4-6 alone:
- front equality (each point of each front weakly dominated by one of the other, rel. 1e-6);
- every returned plan is well formed, feasible, and its stored quantities are the
  reference's quantities of the same plan; the points are mutually non-dominated and
  distinct (one plan per vector);
- the SPEC tie rule among plans with equal vectors (smallest split, then smallest bits);
- status OPTIMAL and an exact guarantee, or INFEASIBLE with an empty front.
"""

from __future__ import annotations

import math
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import moosplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reference import (  # noqa: E402
    QUANTITY_NAMES,
    ProblemData,
    count_plans,
    fronts_equal,
    iter_plans,
    reference_evaluate,
    reference_front,
    weakly_dominates,
)

LAT_ERR = ("latency_ms", "error")
LAT_MEM_ERR = ("latency_ms", "memory_bytes", "error")
LAT_MACS = ("latency_ms", "edge_macs")
ENERGY_FPS = ("energy_mj", "throughput_fps")
LAT_MEM = ("latency_ms", "memory_bytes")
LAT_TX_ERR = ("latency_ms", "tx_bytes", "error")
ENERGY_ERR_FPS = ("energy_mj", "error", "throughput_fps")
REL = 1e-9  # how closely stored quantities must match the reference's


# --------------------------------------------------------------------------- cases
@dataclass(frozen=True)
class Case:
    """One random problem: the arguments of random_problem plus problem.replace extras."""

    n: int
    kind: str = "chain"
    mode: str = "prefix"
    objectives: tuple[str, ...] = LAT_ERR
    bits: tuple[int, ...] = (2, 4, 8)
    bounded: bool = False
    bit_latency: bool = False
    batch: int = 1
    seed: int = 0
    codecs: bool = False
    min_split: int | None = None
    max_split: int | None = None
    bandwidth_mbps: float | None = None

    def build(self) -> moosplit.SplitProblem:
        problem = moosplit.random_problem(
            self.n, kind=self.kind, mode=self.mode, objectives=self.objectives,
            bits=self.bits, bounded=self.bounded, bit_latency=self.bit_latency,
            batch=self.batch, seed=self.seed)
        changes: dict[str, object] = {}
        if self.bandwidth_mbps is not None:
            net = problem.network
            changes["network"] = moosplit.Network(
                bandwidth_mbps=self.bandwidth_mbps, rtt_ms=net.rtt_ms,
                tx_power_mw=net.tx_power_mw)
        if self.codecs:
            changes["codecs"] = random_codecs(problem.profile, self.seed)
        if self.min_split is not None:
            changes["min_split"] = self.min_split
        if self.max_split is not None:
            changes["max_split"] = self.max_split
        return problem.replace(**changes) if changes else problem

    def __str__(self) -> str:
        parts = [f"seed={self.seed}", f"n={self.n}", self.kind, self.mode,
                 "+".join(self.objectives), "bits=" + ",".join(map(str, self.bits))]
        if self.bounded:
            parts.append("bounded")
        if self.bit_latency:
            parts.append("bit_latency")
        if self.batch != 1:
            parts.append(f"batch={self.batch}")
        if self.codecs:
            parts.append("codecs")
        if self.min_split is not None or self.max_split is not None:
            low = 0 if self.min_split is None else self.min_split
            high = "N" if self.max_split is None else self.max_split
            parts.append(f"splits={low}..{high}")
        if self.bandwidth_mbps is not None:
            parts.append(f"bw={self.bandwidth_mbps}")
        return " ".join(parts)


def random_codecs(profile: moosplit.Profile, seed: int) -> moosplit.CodecTable:
    """A lossless codec for every row and a lossy one for a random subset of rows."""
    rng = np.random.default_rng(10_000 + seed)
    rows = []
    for name in profile.names:
        rows.append(("lossless", name, rng.uniform(1.2, 2.5), 0.0, rng.uniform(0.0, 0.3)))
        if rng.random() < 0.5:
            rows.append(("lossy", name, rng.uniform(3.0, 12.0), rng.uniform(0.0, 0.02),
                         rng.uniform(0.05, 0.8)))
    frame = pd.DataFrame(rows, columns=["codec", "node", "ratio", "err", "encode_ms"])
    return moosplit.CodecTable.from_frame(frame, profile)


def _templates(seeds: range) -> list[Case]:
    """Every template over `seeds`; a template's parameters vary with the seed too."""
    cases = []
    for s in seeds:
        low_bw = (0.05, 0.2, 1.0)[s % 3]
        cases += [
            Case(5, seed=s, bits=(2, 4, 8)),
            Case(5, seed=s, bits=(2, 8), bandwidth_mbps=low_bw),
            Case(5, seed=s, objectives=LAT_MEM_ERR, bits=(2, 4, 8), bounded=True,
                 bit_latency=s % 2 == 0, batch=1 + 2 * (s % 2)),
            Case(6, seed=s, objectives=LAT_MACS, bits=(4, 8), bit_latency=True,
                 bandwidth_mbps=low_bw),
            Case(6, seed=s, objectives=LAT_MEM, bits=(2, 8), bounded=True, batch=3,
                 bandwidth_mbps=low_bw),
            Case(5, kind="dag", mode="cut", seed=s, bits=(2, 8), bandwidth_mbps=low_bw),
            Case(6, kind="dag", mode="cut", seed=s, objectives=ENERGY_FPS, bits=(2, 8),
                 batch=1 + 2 * (s % 2), bit_latency=s % 2 == 1),
            Case(5, kind="dag", mode="cut", seed=s, objectives=LAT_MEM_ERR, bits=(2, 8),
                 bounded=True, bandwidth_mbps=low_bw),
            Case(5, kind="dag", mode="prefix", seed=s, objectives=LAT_MEM_ERR, bits=(2, 8),
                 bounded=s % 2 == 0, bit_latency=True),
            Case(4, seed=s, objectives=LAT_TX_ERR, bits=(2, 4, 8), codecs=True,
                 bandwidth_mbps=low_bw),
            Case(4, kind="dag", mode="cut", seed=s, objectives=ENERGY_ERR_FPS, bits=(2, 8),
                 codecs=True, batch=3),
            Case(6, seed=s, bits=(2, 8), min_split=1, max_split=4, bandwidth_mbps=low_bw),
            Case(6, kind="dag", mode="cut", seed=s, objectives=LAT_MEM, bits=(4, 16),
                 min_split=2, max_split=5, bit_latency=True, bandwidth_mbps=low_bw),
            Case(5, seed=s, objectives=LAT_MACS, bits=(2, 4, 8), codecs=True,
                 min_split=1, bounded=True, bandwidth_mbps=low_bw),
        ]
    return cases


DEFAULT_CASES = _templates(range(8))


def _larger(seeds: range) -> list[Case]:
    """Larger instances (7 nodes) for the slow sweep."""
    cases = []
    for s in seeds:
        low_bw = (0.05, 0.2, 1.0)[s % 3]
        cases += [
            Case(7, seed=s, objectives=LAT_MEM_ERR, bits=(2, 8), bounded=True,
                 bit_latency=True, batch=1 + 2 * (s % 2), bandwidth_mbps=low_bw),
            Case(7, kind="dag", mode="cut", seed=s, objectives=LAT_ERR, bits=(2, 8),
                 bandwidth_mbps=low_bw, min_split=s % 2),
            Case(7, kind="dag", mode="prefix", seed=s, objectives=ENERGY_ERR_FPS,
                 bits=(2, 8), codecs=True, batch=3),
        ]
    return cases


SLOW_CASES = _templates(range(8, 23)) + _larger(range(10))  # 210 + 30 more instances


# --------------------------------------------------------------------------- checks
def plan_to_reference(problem, plan):
    """A Front's Plan (names) as the reference's (edge rows, bits_w, bits_a, codec)."""
    index = problem.profile.index
    edge = tuple(index[name] for name in plan.edge_nodes)
    bits_w = {t: bw for t, bw in zip(edge, plan.bits_w, strict=True) if bw is not None}
    bits_a = dict(zip(edge, plan.bits_a, strict=True))
    return edge, bits_w, bits_a, plan.codec


def check_well_formed(problem, plan, where: str) -> None:
    profile = problem.profile
    edge = [profile.index[name] for name in plan.edge_nodes]
    assert edge == sorted(edge) and 0 not in edge, f"{where}: edge nodes {plan.edge_nodes}"
    if problem.mode == "prefix":
        assert edge == list(range(1, len(edge) + 1)), f"{where}: not a prefix: {edge}"
        assert plan.split == len(edge), f"{where}: split {plan.split} vs {len(edge)} nodes"
    else:
        assert plan.split == -1, f"{where}: split {plan.split} in cut mode"
        for t in edge:
            for pred in profile.inputs[t]:
                assert pred == 0 or pred in edge, f"{where}: edge set {edge} not closed"
    for t, bw, ba in zip(edge, plan.bits_w, plan.bits_a, strict=True):
        if profile.weight_elems[t] > 0:
            assert bw in problem.bit_set, f"{where}: bits_w {bw} of row {t}"
        else:
            assert bw is None, f"{where}: bits_w {bw} for weightless row {t}"
        assert ba in problem.bit_set, f"{where}: bits_a {ba} of row {t}"
    assert plan.codec in problem.codec_table.names, f"{where}: codec {plan.codec}"


def same_value(a: float, b: float, rel: float = REL) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if a == b:
        return True
    return abs(a - b) <= rel * max(abs(a), abs(b)) + 1e-12


def tie_keys(problem, plan_ref):
    """The two readings of "lexicographically smallest bits" (bits_w then bits_a over the
    edge nodes, or (bits_w, bits_a) node by node); weightless bits_w count as 0."""
    edge, bits_w, bits_a, _ = plan_ref
    bw = [bits_w.get(t, 0) for t in edge]
    ba = [bits_a[t] for t in edge]
    return tuple(bw + ba), tuple(x for pair in zip(bw, ba, strict=True) for x in pair)


def check_tie_rule(problem, front, feasible_plans, label: str) -> None:
    """Each front point's plan is the SPEC's pick among feasible plans with that vector.

    Smallest split (fewest edge nodes) first; then, among plans with the same edge set,
    the smallest bits (either reading of the order). Which of two equal-size edge sets (cut
    mode) or which codec wins is not fixed by SPEC and is not checked.
    """
    for i in range(len(front)):
        plan = front.plan(i)
        mine = plan_to_reference(problem, plan)
        vector = tuple(float(x) for x in front.F[i])
        tied = [p for v, p in feasible_plans
                if all(same_value(x, y, 1e-12) for x, y in zip(v, vector, strict=True))]
        assert tied, f"{label}: point {i} {vector} matches no feasible reference plan"
        fewest = min(len(p[0]) for p in tied)
        assert len(mine[0]) == fewest, (
            f"{label}: point {i} {vector} kept a plan with {len(mine[0])} edge nodes "
            f"({plan}), but a tied plan has {fewest}")
        same_edge = [p for p in tied if p[0] == mine[0]]
        key_a, key_b = tie_keys(problem, mine)
        best_a = min(tie_keys(problem, p)[0] for p in same_edge)
        best_b = min(tie_keys(problem, p)[1] for p in same_edge)
        assert key_a == best_a or key_b == best_b, (
            f"{label}: point {i} {vector} kept bits {key_a} ({plan}), but a tied plan with "
            f"the same edge set has bits {best_a}")


def check_case(problem, label: str, *, tie_rule: bool = False) -> moosplit.Front:
    front = moosplit.solve(problem, "exhaustive")
    expected, feasible_plans = reference_front(problem, with_plans=True)
    k = problem.n_objectives
    maximise = problem.maximise
    F = np.asarray(front.F, float)
    assert F.shape == (len(front), k), f"{label}: F has shape {F.shape}"

    if len(expected) == 0:
        assert front.status == moosplit.Status.INFEASIBLE, (
            f"{label}: no feasible plan, status {front.status}")
        assert len(front) == 0 and F.shape == (0, k), f"{label}: front not empty: {F}"
        return front

    assert front.status == moosplit.Status.OPTIMAL, f"{label}: status {front.status}"
    assert front.guarantee.kind == "exact", f"{label}: guarantee {front.guarantee}"
    equal, why = fronts_equal(expected, F, maximise)
    assert equal, f"{label}: fronts differ (reference first, exhaustive second): {why}"

    data = ProblemData(problem)
    for i in range(len(front)):
        plan = front.plan(i)
        where = f"{label}: point {i} ({plan})"
        check_well_formed(problem, plan, where)
        ref = reference_evaluate(problem, *plan_to_reference(problem, plan), data=data)
        assert ref["feasible"], f"{where}: the reference finds this plan infeasible"
        for name in QUANTITY_NAMES:
            got = float(front.evaluation.values[name][i])
            assert same_value(got, ref[name]), (
                f"{where}: {name} stored {got!r}, reference {ref[name]!r}")
        for j, name in enumerate(problem.objectives):
            assert same_value(float(F[i, j]), ref[name]), f"{where}: F[{i}, {j}] vs {name}"

    for i in range(len(front)):
        for j in range(len(front)):
            if i != j:
                assert not weakly_dominates(tuple(F[j]), tuple(F[i]), maximise), (
                    f"{label}: point {i} {tuple(F[i])} is weakly dominated by (or equal to) "
                    f"point {j} {tuple(F[j])}")
    if tie_rule:
        check_tie_rule(problem, front, feasible_plans, label)
    return front


# --------------------------------------------------------------------------- tests
@pytest.mark.parametrize("case", DEFAULT_CASES, ids=str)
def test_exhaustive_matches_reference(case: Case) -> None:
    check_case(case.build(), str(case), tie_rule=True)


@pytest.mark.slow
@pytest.mark.parametrize("case", SLOW_CASES, ids=str)
def test_exhaustive_matches_reference_slow(case: Case) -> None:
    check_case(case.build(), str(case), tie_rule=True)


INFEASIBLE_CASES = [
    Case(5, seed=3, objectives=LAT_ERR),
    Case(5, kind="dag", mode="cut", seed=4, objectives=LAT_MEM_ERR, bits=(2, 8)),
    Case(4, seed=5, objectives=LAT_MACS, codecs=True),
]


@pytest.mark.parametrize("case", INFEASIBLE_CASES, ids=str)
def test_impossible_constraint_gives_infeasible_empty_front(case: Case) -> None:
    problem = case.build()
    # no plan has zero latency (bounds below zero are refused: no quantity is negative)
    problem = problem.replace(constraints={**problem.constraints, "latency_ms": 0.0})
    assert len(reference_front(problem)) == 0
    front = check_case(problem, f"{case} latency_ms<=0")
    assert len(front) == 0 and front.status == moosplit.Status.INFEASIBLE


CONSTRAINT_SETS = [
    (LAT_ERR, ("latency_ms", "edge_macs")),
    (LAT_ERR, ("throughput_fps", "tx_bytes")),
    (ENERGY_FPS, ("energy_mj", "memory_bytes")),
    (LAT_MACS, ("error", "throughput_fps")),
    (LAT_MEM, ("tx_bytes", "edge_macs", "error")),
]


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("objectives, constrained", CONSTRAINT_SETS,
                         ids=lambda v: "+".join(v))
def test_constraints_on_every_quantity(objectives, constrained, seed: int) -> None:
    """Bounds at the median over all plans of each constrained quantity (upper bounds for
    minimised quantities, lower bounds for edge_macs and throughput_fps)."""
    case = Case(5, kind="dag" if seed % 2 else "chain", seed=seed, objectives=objectives,
                bits=(2, 8), bandwidth_mbps=0.2)
    problem = case.build()
    data = ProblemData(problem)
    columns: dict[str, list[float]] = {name: [] for name in constrained}
    for plan in iter_plans(problem):
        values = reference_evaluate(problem, *plan, data=data)
        for name in constrained:
            columns[name].append(values[name])
    bounds = {name: float(np.median(columns[name])) for name in constrained}
    check_case(problem.replace(constraints=bounds), f"{case} constraints={bounds}",
               tie_rule=True)


def test_only_codec_coverage_makes_plans_infeasible() -> None:
    """A codec listed for no row: only the `none` plans are feasible."""
    problem = Case(4, seed=2, objectives=LAT_TX_ERR, bits=(2, 8), bandwidth_mbps=0.2).build()
    frame = pd.DataFrame([("ghost", problem.profile.names[1], 100.0, 0.0, 0.0)],
                         columns=["codec", "node", "ratio", "err", "encode_ms"])
    # "ghost" compresses 100x but only node n1's output: any plan cutting elsewhere is out
    problem = problem.replace(codecs=moosplit.CodecTable.from_frame(frame, problem.profile))
    front = check_case(problem, "ghost codec", tie_rule=True)
    for i in range(len(front)):
        plan = front.plan(i)
        if plan.codec == "ghost":
            assert plan.edge_nodes == (problem.profile.names[1],), plan


def skip_profile() -> moosplit.Profile:
    """input -> n1 -> n2 -> n3, and n3 also reads the input: every plan but edge-only sends
    the raw input next to what it cuts."""
    frame = pd.DataFrame({
        "name": ["input", "n1", "n2", "n3"],
        "op": ["input", "conv", "relu", "add"],
        "inputs": ["", "input", "n1", "n2 input"],
        "out_elems": [1000, 500, 500, 10],
        "weight_elems": [0, 40, 0, 0],
        "macs": [0, 4000, 500, 500],
        "edge_ms": [0.0, 2.0, 0.2, 0.2],
        "cloud_ms": [0.0, 0.2, 0.02, 0.02],
        "werr_b2": [0.0, 0.05, 0.0, 0.0],
        "werr_b8": [0.0, 0.001, 0.0, 0.0],
        "aerr_b2": [0.0, 0.03, 0.02, 0.01],
        "aerr_b8": [0.0, 0.0002, 0.0001, 0.0001],
        "out_bits": [12, "", "", ""],
    })
    return moosplit.Profile.from_frame(frame, {"model": "skip"}, source="skip")


@pytest.mark.parametrize("mode", ["prefix", "cut"])
def test_codec_missing_for_one_cut_tensor_makes_the_plan_infeasible(mode: str) -> None:
    """`squeeze` lists n1..n3 but not the input: only edge-only plans (which do not send
    the input) may use it, though it would compress the other cut tensors a lot."""
    profile = skip_profile()
    frame = pd.DataFrame([("squeeze", name, 50.0, 0.001, 0.01) for name in ("n1", "n2", "n3")],
                         columns=["codec", "node", "ratio", "err", "encode_ms"])
    problem = moosplit.SplitProblem(
        profile, moosplit.Network(bandwidth_mbps=0.5, rtt_ms=1.0),
        objectives=("latency_ms", "tx_bytes", "error"), bits=(2, 8), mode=mode,
        codecs=moosplit.CodecTable.from_frame(frame, profile))
    # the reference itself: split 1 with squeeze sends input and n1, the input uncovered
    assert not reference_evaluate(problem, (1,), {1: 8}, {1: 8}, "squeeze")["feasible"]
    assert reference_evaluate(problem, (1, 2, 3), {1: 8}, {1: 8, 2: 8, 3: 8},
                              "squeeze")["feasible"]
    front = check_case(problem, f"skip {mode} squeeze", tie_rule=True)
    for i in range(len(front)):
        plan = front.plan(i)
        if plan.codec == "squeeze":
            assert len(plan.edge_nodes) == 3, f"squeeze cannot send the input: {plan}"


# --------------------------------------------------------------------------- ties
def tie_profile() -> moosplit.Profile:
    """A chain whose node n2 is free (no cost, no error, output the size of n1's) and whose
    n1 has the same weight error at every bit-width and no activation error: many plans
    share objective vectors.

    Split 1 and split 2 tie (same sent size, latency and error) whenever bits_a agree; the
    weight bits of n1 never matter; bits_a of n1 and n2 matter only when sent.
    """
    frame = pd.DataFrame({
        "name": ["input", "n1", "n2", "n3"],
        "op": ["input", "conv", "relu", "linear"],
        "inputs": ["", "input", "n1", "n2"],
        "out_elems": [1000, 100, 100, 10],
        "weight_elems": [0, 50, 0, 1000],
        "macs": [0, 5000, 100, 10000],
        "edge_ms": [0.0, 1.0, 0.0, 0.1],
        "cloud_ms": [0.0, 0.1, 0.0, 0.5],
        "werr_b2": [0.0, 0.1, 0.0, 0.3],
        "werr_b8": [0.0, 0.1, 0.0, 0.001],
        "aerr_b2": [0.0, 0.0, 0.0, 0.02],
        "aerr_b8": [0.0, 0.0, 0.0, 0.0001],
    })
    return moosplit.Profile.from_frame(frame, {"model": "tie chain"}, source="tie")


def test_tie_rule_smallest_split_then_smallest_bits() -> None:
    profile = tie_profile()
    problem = moosplit.SplitProblem(profile, moosplit.Network(bandwidth_mbps=1.0, rtt_ms=5.0),
                                    objectives=LAT_ERR, bits=(2, 8))
    front = check_case(problem, "tie chain", tie_rule=True)
    plans = [front.plan(i) for i in range(len(front))]
    splits = sorted(p.split for p in plans)
    # cloud-only (error 0), split 1 (n2 adds nothing, so split 2 only ties), edge-only
    assert 2 not in splits and 0 in splits and 1 in splits, plans
    for plan in plans:
        if plan.split >= 1:
            assert plan.bits_w[0] == 2, f"n1's weight bits never matter, kept {plan}"
        if plan.split == 1:
            assert plan.bits_a == (2,), f"sending n1 at 8 bits is dominated, kept {plan}"
        if plan.split == 3:
            # n1 and n2 are not sent and have no activation error: smallest bits win
            assert plan.bits_a[:2] == (2, 2), f"kept {plan}"
            assert plan.bits_w[1] is None
    assert any(p.split == 3 for p in plans), plans


def test_tie_rule_single_objective_all_plans_tied() -> None:
    """Objective `error` only, splits 1..2: every plan has error 0.1 (n1's weight error at
    any bit-width), so all of them tie and the kept one is split 1 with all bits at 2."""
    profile = tie_profile()
    problem = moosplit.SplitProblem(profile, moosplit.Network(bandwidth_mbps=1.0),
                                    objectives=("error",), bits=(2, 8), max_split=2,
                                    min_split=1)
    front = check_case(problem, "tie chain, error only", tie_rule=True)
    assert len(front) == 1
    plan = front.plan(0)
    assert plan.split == 1 and plan.bits_w == (2,) and plan.bits_a == (2,), plan


# --------------------------------------------------------------------------- size limit
def _stated_count(message: str) -> float:
    """The plan count a refusal message states: an exact number or `about 10^k`."""
    about = re.search(r"about 10\^(\d+)", message)
    if about:
        return 10.0 ** int(about.group(1))
    exact = re.search(r"(\d[\d,]*) plans", message)
    assert exact, f"no plan count in {message!r}"
    return float(exact.group(1).replace(",", ""))


def test_refuses_large_problem_stating_the_plan_count() -> None:
    problem = moosplit.random_problem(40, bits=(2, 4, 6, 8, 16), seed=1)
    expected = count_plans(problem)
    with pytest.raises(moosplit.UnsupportedProblemError) as info:
        moosplit.solve(problem, "exhaustive")
    stated = _stated_count(str(info.value))
    assert abs(math.log10(stated) - math.log10(expected)) <= 0.5, (str(info.value), expected)


@pytest.mark.parametrize("case", [
    Case(12, seed=1, bits=(2, 4, 8)),
    Case(5, seed=2, bits=(2, 4, 8), codecs=True),
    Case(6, kind="dag", mode="cut", seed=3, bits=(2, 8), min_split=2, max_split=4),
], ids=str)
def test_plan_count_is_exact_at_the_limit(case: Case) -> None:
    """Refused with max_plans = count - 1 (stating the exact count), solved at count."""
    problem = case.build()
    expected = count_plans(problem)
    with pytest.raises(moosplit.UnsupportedProblemError) as info:
        moosplit.solve(problem, "exhaustive", max_plans=expected - 1)
    assert _stated_count(str(info.value)) == expected, (str(info.value), expected)
    if expected <= 200_000:
        front = moosplit.solve(problem, "exhaustive", max_plans=expected)
        assert front.status in (moosplit.Status.OPTIMAL, moosplit.Status.INFEASIBLE)


def test_iter_plans_counts_match() -> None:
    """Self-check of the reference: enumeration and counting agree."""
    for case in (Case(4, seed=0, codecs=True), Case(5, kind="dag", mode="cut", seed=1,
                                                       bits=(2, 8), min_split=1)):
        problem = case.build()
        assert sum(1 for _ in iter_plans(problem)) == count_plans(problem), str(case)


def test_reference_hand_computed_plan() -> None:
    """Self-check of the reference on the tie chain, by hand from SPEC section 4."""
    profile = tie_profile()
    problem = moosplit.SplitProblem(
        profile, moosplit.Network(bandwidth_mbps=1.0, rtt_ms=5.0, tx_power_mw=100.0),
        objectives=LAT_ERR, bits=(2, 8))
    # split 2, n1 at w8 a8, n2 at a2: sends n2 (100 elems x 2 bits = 200 bits = 0.2 ms)
    values = reference_evaluate(problem, (1, 2), {1: 8}, {1: 8, 2: 2})
    assert values["cut"] == (2,)
    assert values["tx_bytes"] == 25.0
    assert values["latency_ms"] == pytest.approx(1.0 + 0.0 + 5.0 + 0.2 + 0.5)
    # weights 50 x 8 / 8 = 50. Live(n1) = {n1, input} (the input is read at n1):
    # 100 x 8 / 8 + 1000 x 8 / 8 = 1100; Live(n2) = {n2, n1} = 25 + 100: max 1100
    assert values["memory_bytes"] == pytest.approx(50 + 1100)
    assert values["error"] == pytest.approx(0.1)
    assert values["edge_macs"] == 5100
    assert math.isnan(values["energy_mj"])  # no edge_mj column
    assert values["throughput_fps"] == pytest.approx(1 / max(1.0e-3, 0.2e-3, 0.5e-3))
    # cloud-only: sends the raw input at 8 bits: 8000 bits = 8 ms
    values = reference_evaluate(problem, (), {}, {})
    assert values["cut"] == (0,) and values["memory_bytes"] == 0
    assert values["latency_ms"] == pytest.approx(5.0 + 8.0 + 0.6)
    # edge-only: sends the sink n3 (10 elems at 2 bits)
    values = reference_evaluate(problem, (1, 2, 3), {1: 2, 3: 8}, {1: 2, 2: 2, 3: 2})
    assert values["cut"] == (3,) and values["tx_bytes"] == 2.5
    assert values["error"] == pytest.approx(0.1 + 0.001 + 0.02)
