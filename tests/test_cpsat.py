"""The `cpsat` backend: the conformance kit, resolution, time limit."""

import numpy as np

import moosplit
from moosplit.front import Status
from moosplit.testing.pytest_backends import BackendConformance


class TestCpSatExact(BackendConformance):
    solver = "cpsat"


class TestCpSatCertified(BackendConformance):
    solver = "cpsat"
    options = {"resolution": 0.05}


def test_resolution_shrinks_the_front_within_its_certificate():
    problem = moosplit.random_problem(7, kind="dag", seed=11, bits=(2, 4, 8),
                                      objectives=("latency_ms", "error"))
    exact = moosplit.solve(problem, "cpsat")
    coarse = moosplit.solve(problem, "cpsat", resolution=0.1)
    assert coarse.guarantee.kind == "certified"
    assert len(coarse) < len(exact)
    slack = np.array(coarse.guarantee.resolution)
    ranges = exact.F.max(axis=0) - exact.F.min(axis=0)
    # the step is at most the resolution; the integer scaling adds a rounding term on top
    assert np.all(slack[1:] <= 0.1 * ranges[1:] * (1 + 1e-4))
    assert np.all(slack > 0)


def test_time_limit_returns_unproven_front():
    problem = moosplit.random_problem(12, kind="dag", seed=3, bits=(2, 4, 8, 16),
                                      objectives=("latency_ms", "memory_bytes", "error"))
    front = moosplit.solve(problem, "cpsat", time_limit=0.05)
    assert front.status in (Status.FEASIBLE, Status.UNKNOWN)
    assert front.guarantee.kind == "heuristic"
    assert "time limit" in front.message
