"""The classic baselines: each against its own definition, and the heuristic checks."""

import numpy as np
import pandas as pd
import pytest

import moosplit
from moosplit.testing.conformance import check_against_reference, conformance_instances

BASELINES = ("cloud_only", "edge_only", "uniform", "neurosurgeon", "qdmp", "dads")


@pytest.mark.parametrize("instance", conformance_instances(24, seed=5), ids=repr)
def test_baselines_pass_the_heuristic_checks(instance):
    reference = moosplit.solve(instance.problem, "exhaustive")
    for name in BASELINES:
        try:
            front = moosplit.solve(instance.problem, name)
        except moosplit.UnsupportedProblemError:
            continue  # edge_only without 16 bits, dads in prefix mode, ...
        assert front.guarantee.kind == "heuristic"
        check_against_reference(front, reference, where=f"{name} on {instance.name}")


def reference_precision(problem):
    return problem.replace(bits=(16,), objectives=("latency_ms",))


@pytest.mark.parametrize("seed", range(10))
def test_qdmp_is_the_fastest_split_at_reference_precision(seed):
    problem = moosplit.random_problem(7, kind="dag", seed=seed, bits=(4, 8, 16))
    best = moosplit.solve(reference_precision(problem), "exhaustive").F[0, 0]
    front = moosplit.solve(problem, "qdmp")
    assert len(front) == 1
    assert front.evaluation["latency_ms"][0] == pytest.approx(best, rel=1e-12)


@pytest.mark.parametrize("seed", range(10))
def test_dads_finds_the_fastest_closed_edge_set(seed):
    problem = moosplit.random_problem(8, kind="dag", mode="cut", seed=seed, bits=(8, 16))
    best = moosplit.solve(reference_precision(problem), "exhaustive").F[0, 0]
    front = moosplit.solve(problem, "dads")
    assert front.evaluation["latency_ms"][0] == pytest.approx(best, rel=1e-6)


@pytest.mark.parametrize("seed", range(6))
def test_neurosurgeon_equals_qdmp_on_chains(seed):
    problem = moosplit.random_problem(8, kind="chain", seed=seed, bits=(8, 16))
    a = moosplit.solve(problem, "neurosurgeon")
    b = moosplit.solve(problem, "qdmp")
    assert a.plan(0) == b.plan(0)


def test_neurosurgeon_misjudges_a_skip_connection():
    # input -> a -> b -> add(a-path skip from input); splitting after b looks cheap to
    # Neurosurgeon (b's output is small) but the raw input also crosses (the skip)
    frame = pd.DataFrame({
        "name": ["input", "a", "b", "add", "fc"], "op": ["input", "conv", "conv", "add", "linear"],
        "inputs": ["", "input", "a", "b input", "add"],
        "out_elems": [1000, 4000, 10, 1000, 10], "weight_elems": [0, 10, 10, 0, 10],
        "macs": [0, 10, 10, 10, 10], "edge_ms": [0, 1, 1, 1, 1],
        "cloud_ms": [0, 0.1, 0.1, 0.1, 0.1]})
    profile = moosplit.Profile.from_frame(frame)
    problem = moosplit.SplitProblem(profile, moosplit.Network(bandwidth_mbps=0.1),
                                    objectives=("latency_ms",))
    neuro = moosplit.solve(problem, "neurosurgeon")
    qdmp = moosplit.solve(problem, "qdmp")
    assert neuro.plan(0).split == 2  # its estimate: b's 10 elements only
    assert neuro.F[0, 0] > qdmp.F[0, 0]


def test_uniform_gives_one_plan_per_bit_width_before_filtering():
    problem = moosplit.random_problem(5, seed=1, bits=(2, 4, 8, 16),
                                      objectives=("error", "memory_bytes"))
    front = moosplit.solve(problem, "uniform")
    # error falls and memory grows with the bit-width: all four are non-dominated
    assert len(front) == 4
    assert sorted(set(front.plan(i).bits_a[0] for i in range(4))) == [2, 4, 8, 16]
    assert all(len(set(front.plan(i).bits_a)) == 1 for i in range(4))


def test_a_baseline_whose_plan_breaks_a_constraint_returns_nothing_and_says_why():
    problem = moosplit.random_problem(5, seed=1, bits=(8, 16))
    tight = problem.replace(constraints={"memory_bytes": 1.0})
    front = moosplit.solve(tight, "edge_only")
    assert len(front) == 0 and front.status is moosplit.Status.UNKNOWN
    assert "break the constraints" in front.message
    assert len(moosplit.solve(tight, "cloud_only")) == 1  # uses no edge memory


def test_reference_precision_baselines_need_16_bits():
    problem = moosplit.random_problem(4, seed=0, bits=(4, 8))
    with pytest.raises(moosplit.UnsupportedProblemError, match="add 16"):
        moosplit.solve(problem, "edge_only")


def test_dads_is_for_cut_mode():
    problem = moosplit.random_problem(4, kind="dag", seed=0, bits=(8, 16))
    with pytest.raises(moosplit.UnsupportedProblemError, match="mode 'prefix'"):
        moosplit.solve(problem, "dads")
    np.testing.assert_equal(len(moosplit.solve(problem.replace(mode="cut"), "dads")), 1)
