"""The `nsga2` backend: heuristic checks, reproducibility, encoding, repair, seeding."""

import numpy as np

import moosplit
from moosplit.front import Status
from moosplit.indicators import covered
from moosplit.solvers.enumeration import choices_per_set, edge_sets, iterate_plans
from moosplit.solvers.nsga2 import PlanEncoding
from moosplit.testing.pytest_backends import BackendConformance


class TestNSGA2(BackendConformance):
    solver = "nsga2"
    options = {"pop_size": 40, "n_gen": 25}


def test_same_seed_same_front_and_other_seed_still_valid():
    problem = moosplit.random_problem(7, kind="dag", mode="cut", seed=3,
                                      objectives=("latency_ms", "memory_bytes", "error"))
    a = moosplit.solve(problem, "nsga2", seed=11, n_gen=20)
    b = moosplit.solve(problem, "nsga2", seed=11, n_gen=20)
    assert np.array_equal(a.F, b.F)
    assert [a.plan(i) for i in range(len(a))] == [b.plan(i) for i in range(len(b))]


def test_encoding_round_trips_every_plan():
    for mode, kind in (("prefix", "chain"), ("cut", "dag")):
        problem = moosplit.random_problem(4, kind=kind, mode=mode, seed=2, bits=(2, 8))
        encoding = PlanEncoding(problem)
        sets = edge_sets(problem)
        for plans in iterate_plans(problem, sets, choices_per_set(problem, sets), 10_000):
            again = encoding.decode(encoding.encode(plans))
            assert np.array_equal(again.edge, plans.edge)
            assert np.array_equal(again.bits_w, plans.bits_w)
            assert np.array_equal(again.bits_a, plans.bits_a)


def test_front_dominates_the_baselines_it_was_seeded_with():
    problem = moosplit.random_problem(8, kind="dag", seed=5, bits=(2, 4, 8, 16),
                                      objectives=("latency_ms", "error"))
    front = moosplit.solve(problem, "nsga2", seed=0, n_gen=10)
    for name in ("cloud_only", "edge_only", "uniform", "qdmp"):
        baseline = moosplit.solve(problem, name)
        assert covered(baseline.F, front.F, problem.maximise, rtol=1e-9).all(), name


def test_memory_repair_finds_feasible_plans_under_a_tight_bound():
    problem = moosplit.random_problem(10, kind="dag", seed=1, bits=(2, 4, 8, 16),
                                      objectives=("latency_ms", "edge_macs"))
    profile = problem.profile
    # room for the weights at 2 bits and little else: most random plans break it
    tight = float(profile.weight_elems.sum() * 2 / 8 + 2 * profile.out_elems.max() * 2 / 8)
    bounded = problem.replace(constraints={"memory_bytes": tight})
    front = moosplit.solve(bounded, "nsga2", seed=0, n_gen=15)
    assert front.status is Status.FEASIBLE and len(front) > 1
    assert (front.evaluation["memory_bytes"] <= tight).all()
    assert front.evaluation["edge_macs"].max() > 0  # not just cloud-only


def test_time_limit_and_progress():
    problem = moosplit.random_problem(10, kind="dag", seed=2)
    reports = []
    front = moosplit.solve(problem, "nsga2", seed=0, time_limit=0.3, n_gen=100_000,
                           progress=reports.append)
    assert "time limit" in front.message
    assert reports and reports[-1].unit == "generations"
    assert front.stats.extra["generations"] < 100_000
