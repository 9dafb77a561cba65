"""The `nsga2` backend: heuristic checks, reproducibility, encoding, repair, seeding."""

import numpy as np
import pytest

import moosplit
from moosplit.results.front import Status
from moosplit.results.indicators import covered
from moosplit.solvers.enumeration import choices_per_set, edge_sets, iterate_plans
from moosplit.solvers.nsga2 import NSGA2Solver, PlanEncoding, StepMutation, uniform_pairs
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
                           patience=None, progress=reports.append)
    assert "time limit" in front.message
    assert reports and reports[-1].unit == "generations"
    assert front.stats.extra["generations"] < 100_000


def _population(problem, encoding, seed, size=200):
    """Random integer vectors within the encoding's bounds."""
    rng = np.random.default_rng(seed)
    return rng.integers(encoding.xl, encoding.xu + 1, (size, len(encoding.xl)))


@pytest.mark.parametrize("mode, kind", [("prefix", "chain"), ("cut", "dag")])
def test_step_mutation_moves_exactly_n_active_bit_genes_by_one_step(mode, kind):
    problem = moosplit.random_problem(12, kind=kind, mode=mode, seed=4, bits=(2, 4, 8, 16))
    encoding = PlanEncoding(problem)
    X = _population(problem, encoding, seed=4)
    bits = slice(encoding.head, encoding.head + 2 * encoding.n)
    for n_genes in (1, 3):
        mutation = StepMutation(encoding, n_genes=n_genes, head_prob=0.0)
        Y = mutation._do(None, X.astype(float), random_state=np.random.default_rng(9))
        assert Y.dtype.kind == "i"
        assert ((Y >= encoding.xl) & (Y <= encoding.xu)).all()
        changed = Y != X
        assert not changed[:, :encoding.head].any() and not changed[:, -1].any()
        active = encoding.active_bits(X)
        assert not (changed[:, bits] & ~active).any(), "an off-edge or weightless gene moved"
        expected = np.minimum(active.sum(axis=1), n_genes)
        assert np.array_equal(changed.sum(axis=1), expected), f"seed 4, n_genes {n_genes}"
        assert (np.abs(Y - X)[changed] == 1).all()


def test_step_mutation_moves_the_split_a_few_nodes_and_is_reproducible():
    problem = moosplit.random_problem(30, seed=6, bits=(2, 4, 8))
    encoding = PlanEncoding(problem)
    X = _population(problem, encoding, seed=6)
    mutation = StepMutation(encoding, n_genes=1, head_prob=1.0, max_split_step=3)
    Y = mutation._do(None, X, random_state=np.random.default_rng(1))
    again = mutation._do(None, X, random_state=np.random.default_rng(1))
    assert np.array_equal(Y, again)
    step = np.abs(Y[:, 0] - X[:, 0])
    assert (step <= 3).all() and (step > 0).any()
    low, high = problem.split_bounds
    assert ((Y[:, 0] >= low) & (Y[:, 0] <= high)).all()


def test_step_mutation_in_cut_mode_flips_one_node_of_the_edge_set():
    problem = moosplit.random_problem(10, kind="dag", mode="cut", seed=2)
    encoding = PlanEncoding(problem)
    X = _population(problem, encoding, seed=2)
    Y = StepMutation(encoding, head_prob=1.0)._do(None, X, random_state=np.random.default_rng(0))
    assert ((Y[:, :encoding.head] != X[:, :encoding.head]).sum(axis=1) == 1).all()


def test_active_bits_in_prefix_mode_are_the_edge_nodes_genes():
    problem = moosplit.random_problem(9, seed=3)
    encoding = PlanEncoding(problem)
    X = _population(problem, encoding, seed=3, size=20)
    active = encoding.active_bits(X)
    nodes = np.arange(1, encoding.n + 1)
    on_edge = nodes[None, :] <= X[:, :1]
    assert np.array_equal(active[:, encoding.n:], on_edge)
    assert np.array_equal(active[:, :encoding.n], on_edge & problem.profile.has_weights[None, 1:])


def test_uniform_pairs_cover_every_pair_of_different_widths():
    problem = moosplit.random_problem(6, seed=1, bits=(2, 4, 8, 16))
    plans = uniform_pairs(problem, np.random.default_rng(0))
    assert len(plans) == 4 * 3
    assert plans.edge[:, 1:].all()
    weighted = problem.profile.has_weights
    pairs = {(int(plans.bits_w[i, weighted].max()), int(plans.bits_a[i, 1])) for i in
             range(len(plans))}
    assert len(pairs) == 12 and all(w != a for w, a in pairs)
    assert all(len(set(plans.bits_a[i, 1:])) == 1 for i in range(len(plans)))


def test_patience_stops_a_converged_run_and_none_runs_every_generation():
    problem = moosplit.random_problem(5, seed=0, bits=(2, 8))
    early = moosplit.solve(problem, "nsga2", seed=0, n_gen=2000, patience=20)
    assert early.stats.extra["generations"] < 2000
    assert "no new non-dominated plan in 20 generations" in early.message
    full = moosplit.solve(problem, "nsga2", seed=0, n_gen=60, patience=None)
    assert full.stats.extra["generations"] == 60 and full.message == ""


def test_default_sizes_grow_with_the_number_of_bit_genes():
    small = moosplit.random_problem(20, seed=0)
    assert NSGA2Solver.sizes(small) == (50, 1)
    large = moosplit.random_problem(450, seed=0)
    assert NSGA2Solver.sizes(large) == (100, 2)
    front = moosplit.solve(small, "nsga2", seed=0, n_gen=3)
    assert front.stats.extra["pop_size"] == 50


@pytest.mark.parametrize("options", [{"pop_size": 1}, {"n_gen": 0}, {"n_genes": 0},
                                     {"patience": 0}])
def test_bad_options_are_refused(options):
    with pytest.raises(ValueError, match=next(iter(options))):
        NSGA2Solver(**options)
