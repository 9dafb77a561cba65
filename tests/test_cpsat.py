"""The `cpsat` backend: the conformance kit, resolution, time limit."""

import numpy as np

import moosplit
from moosplit.results.front import Status
from moosplit.results.resolution import Resolution
from moosplit.testing.pytest_backends import BackendConformance, CertificateConformance


class TestCpSatExact(BackendConformance):
    solver = "cpsat"


class TestCpSatCertified(BackendConformance):
    solver = "cpsat"
    options = {"resolution": 0.05}


class TestCpSatMixedKinds(BackendConformance):
    solver = "cpsat"
    options = {"resolution": Resolution({"*": "5%", "error": "x1.05", "latency_ms": "x1.02",
                                         "memory_bytes": "x1.1", "tx_bytes": "+100"})}


def test_resolution_shrinks_the_front_within_its_certificate():
    problem = moosplit.random_problem(7, kind="dag", seed=11, bits=(2, 4, 8),
                                      objectives=("latency_ms", "error"))
    exact = moosplit.solve(problem, "cpsat")
    coarse = moosplit.solve(problem, "cpsat", resolution=Resolution(0.1, "relative"))
    assert coarse.guarantee.kind == "certified"
    assert len(coarse) < len(exact)
    slack = np.array(coarse.guarantee.resolution)
    ranges = exact.F.max(axis=0) - exact.F.min(axis=0)
    # the step is at most the resolution; the integer scaling adds a rounding term on top
    assert np.all(slack[1:] <= 0.1 * ranges[1:] * (1 + 1e-4))
    # f1 is not stepped: its slack is the gap each sweep solve may leave, half of it
    assert slack[0] <= 0.05 * ranges[0] * (1 + 1e-4) + 2e-6
    assert np.all(slack > 0)
    for point in exact.F:
        assert np.any(np.all(coarse.F <= point + slack + 1e-12, axis=1))
    # each objective's best plan is on the certified front too (up to the rounding)
    np.testing.assert_allclose(coarse.F.min(axis=0), exact.F.min(axis=0), rtol=1e-6)


def test_time_limit_returns_unproven_front():
    problem = moosplit.random_problem(12, kind="dag", seed=3, bits=(2, 4, 8, 16),
                                      objectives=("latency_ms", "memory_bytes", "error"))
    front = moosplit.solve(problem, "cpsat", time_limit=0.05)
    assert front.status in (Status.FEASIBLE, Status.UNKNOWN)
    assert front.guarantee.kind == "heuristic"
    assert "time limit" in front.message


def test_time_limit_keeps_the_best_plan_of_the_question_cut_short():
    """A budgeted query CP-SAT cannot prove in time (the fastest ResNet-50 plan with error
    <= 1 under 8 MiB at 3 Mbit/s; at 10 Mbit/s the rebuilt profile's split after `maxpool`
    makes it easy) still returns the best feasible plan it found, not nothing."""
    problem = moosplit.SplitProblem(moosplit.load_profile("resnet50"), moosplit.Network(3.0),
                                    objectives=("latency_ms",),
                                    constraints={"error": 1.0, "memory_bytes": 8 * 2**20})
    front = moosplit.solve(problem, "cpsat", time_limit=6)
    assert front.status == Status.FEASIBLE and front.guarantee.kind == "heuristic"
    assert len(front) == 1
    assert moosplit.evaluate(problem, front.plans).feasible.all()
    # at least as fast as the cloud-only plan, the one feasible uniform plan it starts from
    cloud = moosplit.solve(problem, "cloud_only")
    assert front.F[0, 0] <= cloud.F[0, 0]


def tiny(**changes):
    from pathlib import Path

    profile = moosplit.read_profile(Path(__file__).parents[1] / "docs/examples/tiny.csv")
    problem = moosplit.SplitProblem(profile, moosplit.Network(bandwidth_mbps=1, rtt_ms=10),
                                    objectives=("latency_ms", "error"))
    return problem.replace(**changes)


def test_a_plan_exactly_on_a_rounded_bound_is_kept():
    # error <= 0: edge-only at 16 bits (error 0) and cloud-only meet it exactly
    problem = tiny(constraints={"error": 0.0})
    exact = moosplit.solve(problem, "exhaustive")
    front = moosplit.solve(problem, "cpsat")
    assert front.status is Status.OPTIMAL
    assert moosplit.compare_fronts(front, exact).equal
    # a latency bound equal to a plan's latency keeps that plan
    latency = float(exact.F[0, 0])
    bounded = tiny(constraints={"latency_ms": latency})
    assert latency in moosplit.solve(bounded, "cpsat").F[:, 0]


def test_throughput_slack_is_stated_in_frames_per_second():
    problem = moosplit.random_problem(4, seed=5, batch=4, bits=(2, 4, 8),
                                      objectives=("throughput_fps", "error"))
    front = moosplit.solve(problem, "cpsat")
    exact = moosplit.solve(problem, "exhaustive")
    slack = np.array(front.guarantee.resolution or (0.0, 0.0))
    # the slack is in frames/s (not seconds of T): small next to the throughputs
    assert 0 < slack[0] < 1e-5 * exact.F[:, 0].max()
    assert moosplit.compare_fronts(front, exact).equal


class TestCpSatCertificateHolds(CertificateConformance):
    solver = "cpsat"
    options = {"resolution": TestCpSatMixedKinds.options["resolution"]}
