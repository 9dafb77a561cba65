"""Certified resolution: thinned fronts cover the exact front within the stated slack."""

import numpy as np
import pytest

import moosplit
from moosplit.results.resolution import Resolution, thin


@pytest.mark.parametrize("seed", range(12))
def test_thin_covers_every_point_within_the_slack(seed):
    rng = np.random.default_rng(seed)
    k = 2 + seed % 2
    F = rng.random((200, k))
    maximise = [bool(b) for b in rng.integers(0, 2, k)]
    slack = rng.uniform(0.0, 0.2, k)
    kept = thin(F, maximise, slack)
    M = np.where(maximise, -F, F)
    covered = np.all(M[kept][None, :, :] <= M[:, None, :] + slack, axis=2).any(axis=1)
    assert covered.all(), f"seed {seed}"
    assert len(kept) < len(F)


def test_zero_slack_keeps_every_nondominated_point():
    problem = moosplit.random_problem(5, kind="dag", mode="cut", seed=7,
                                      objectives=("latency_ms", "memory_bytes", "error"))
    exact = moosplit.solve(problem, "exhaustive")
    assert len(thin(exact.F, problem.maximise, np.zeros(3))) == len(exact)


@pytest.mark.parametrize("seed", range(6))
def test_exhaustive_with_resolution_is_a_certified_subset(seed):
    problem = moosplit.random_problem(5, kind="dag", mode="cut", seed=seed,
                                      objectives=("latency_ms", "memory_bytes", "error"))
    exact = moosplit.solve(problem, "exhaustive")
    coarse = moosplit.solve(problem, "exhaustive", resolution=0.1)
    assert coarse.guarantee.kind == "certified"
    slack = np.array(coarse.guarantee.resolution)
    np.testing.assert_allclose(slack, 0.1 * (exact.F.max(axis=0) - exact.F.min(axis=0)))
    assert len(coarse) <= len(exact)
    # a subset of the exact front...
    assert moosplit.compare_fronts(coarse, exact).missing_from_b.size == 0
    # ...that covers all of it within the slack (objectives all minimised here)
    for point in exact.F:
        assert np.any(np.all(coarse.F <= point + slack + 1e-12, axis=1)), f"seed {seed}"


def test_additive_resolution_and_bad_values():
    assert Resolution((1.0, 2.0), "additive").additive([0, 0], [10, 10]).tolist() == [1, 2]
    with pytest.raises(ValueError, match=">= 0"):
        Resolution(-0.1)
    with pytest.raises(ValueError, match="relative"):
        Resolution(0.1, "fraction")


@pytest.mark.parametrize("solver", ["exhaustive", "epsilon", "cpsat"])
def test_a_resolution_of_the_wrong_length_is_refused_before_solving(solver):
    problem = moosplit.random_problem(4, seed=0, objectives=("latency_ms", "memory_bytes",
                                                             "error"))
    with pytest.raises(ValueError, match="one per objective"):
        moosplit.solve(problem, solver, resolution=(0.1, 0.2))


@pytest.mark.parametrize("seed", range(4))
def test_epsilon_resolution_is_relative_to_the_front_range(seed):
    problem = moosplit.random_problem(6, kind="dag", seed=seed,
                                      objectives=("latency_ms", "memory_bytes"))
    exact = moosplit.solve(problem, "exhaustive")
    coarse = moosplit.solve(problem, "epsilon", resolution=0.05)
    ranges = exact.F.max(axis=0) - exact.F.min(axis=0)
    np.testing.assert_allclose(coarse.guarantee.resolution[1], 0.05 * ranges[1], rtol=1e-9)
