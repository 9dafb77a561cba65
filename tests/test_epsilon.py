"""The `epsilon` backend: the conformance kit, LMOS's sweep, refusals and time limits."""

import numpy as np
import pytest

import moosplit
from moosplit.front import Status
from moosplit.testing.pytest_backends import BackendConformance


class TestEpsilonExact(BackendConformance):
    solver = "epsilon"


class TestEpsilonCertified(BackendConformance):
    solver = "epsilon"
    options = {"resolution": 0.05}


@pytest.mark.parametrize("seed", range(8))
def test_epsilon_and_cpsat_agree_beyond_exhaustive_sizes(seed):
    # 9-node chains with 3 bit-widths: past what the tests enumerate, still small for both
    problem = moosplit.random_problem(9, kind="chain", seed=seed, bits=(2, 4, 8),
                                      objectives=("latency_ms", "error"), bounded=True)
    a = moosplit.solve(problem, "epsilon")
    b = moosplit.solve(problem, "cpsat")
    slack = np.array(b.guarantee.resolution or (0.0, 0.0))
    assert a.guarantee.kind == "exact"
    # cpsat's front is certified within its scaling slack: epsilon's exact points are
    # covered by it within that slack, and cpsat never beats the exact front
    for point in a.F:
        assert np.any(np.all(b.F <= point + slack + 1e-9 * np.abs(point), axis=1)), seed
    assert moosplit.indicators.covered(b.F, a.F, problem.maximise, rtol=1e-6).all(), seed


def test_sweep_visits_each_front_point_once():
    problem = moosplit.random_problem(6, kind="chain", seed=2, bits=(2, 4, 8),
                                      objectives=("latency_ms", "error"))
    front = moosplit.solve(problem, "epsilon")
    # LMOS: one oracle call per front point, plus the one that finds nothing
    assert front.stats.extra["oracle_calls"] == len(front) + 1


def test_too_many_labels_is_refused_with_advice():
    problem = moosplit.random_problem(30, kind="dag", seed=1, bits=(2, 4, 6, 8),
                                      objectives=("latency_ms", "memory_bytes", "error"))
    with pytest.raises(moosplit.UnsupportedProblemError, match="use cpsat"):
        moosplit.solve(problem, "epsilon", max_labels=10_000)


def test_cut_mode_refuses_too_many_edge_sets():
    problem = moosplit.random_problem(14, kind="dag", mode="cut", seed=0, bits=(8,))
    with pytest.raises(moosplit.UnsupportedProblemError, match="edge sets"):
        moosplit.solve(problem, "epsilon", max_edge_sets=3)


def test_time_limit_returns_unproven_front():
    problem = moosplit.random_problem(10, kind="dag", mode="cut", seed=4, bits=(2, 8))
    front = moosplit.solve(problem, "epsilon", time_limit=1e-6)
    assert front.status in (Status.FEASIBLE, Status.UNKNOWN)
    assert front.guarantee.kind == "heuristic"
