"""Certified resolution: thinned fronts cover the exact front within the stated slack."""

import numpy as np
import pytest

import moosplit
from moosplit.results.front import EXACT
from moosplit.results.resolution import Resolution, Slack, thin


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
    coarse = moosplit.solve(problem, "exhaustive", resolution=Resolution(0.1, "relative"))
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


# ------------------------------------------------------------------ kinds per objective
def test_a_bare_number_is_a_factor_on_error_and_relative_elsewhere():
    tolerances = Resolution(0.01).tolerances(("latency_ms", "error", "memory_bytes"))
    assert [(t.kind, t.value) for t in tolerances] == [
        ("relative", 0.01), ("factor", 0.01), ("relative", 0.01)]
    assert [t.kind for t in Resolution(0.01, "relative").tolerances(("error",))] == ["relative"]


@pytest.mark.parametrize("text, expected", [
    ("0.001", ["0.1%", "x1.001", "0.1%"]),
    ("error=x1.01,latency_ms=0.1%", ["0.1%", "x1.01", "+0"]),
    ("0.5%,error=x1.02,memory_bytes=+4096", ["0.5%", "x1.02", "+4096"]),
    ("x1.05", ["x1.05", "x1.05", "x1.05"]),
])
def test_resolution_text(text, expected):
    tolerances = Resolution.parse(text).tolerances(("latency_ms", "error", "memory_bytes"))
    assert [str(t) for t in tolerances] == expected
    assert Resolution.coerce(text) == Resolution.parse(text)


@pytest.mark.parametrize("bad, word", [
    ("error=x0.9", "factor"), ("error=abc", "resolution"), ("speed=0.1", "speed"),
    ("", "resolution"), ("error=0,latency_ms=0", "> 0")])
def test_bad_resolution_text_is_refused(bad, word):
    with pytest.raises(moosplit.OptionError, match=word):
        Resolution.parse(bad).check(("latency_ms", "error"), (False, False))


def test_a_factor_on_a_maximised_objective_is_refused_before_solving():
    problem = moosplit.random_problem(4, seed=0, objectives=("latency_ms", "edge_macs"))
    with pytest.raises(moosplit.OptionError, match="edge_macs, which is maximised"):
        moosplit.solve(problem, "epsilon", resolution="edge_macs=x1.1")


def test_certificates_compose_factors_and_additive_slack():
    slack = Slack((1.1, 1.0), (0.0, 2.0))
    P = np.array([[11.0, 5.0]])
    assert slack.covers(P, np.array([[10.0, 3.0]])).tolist() == [True]  # 11 <= 1.1 x 10
    assert slack.covers(P, np.array([[9.9, 3.0]])).tolist() == [False]
    assert slack.covers(P, np.array([[10.0, 2.9]])).tolist() == [False]  # 5 > 2.9 + 2
    guarantee = moosplit.Guarantee.within(slack)
    assert guarantee.describe(("error", "latency_ms")) == (
        "certified within error x1.1, latency_ms 2")
    assert moosplit.Guarantee.within(Slack.none(2)) is EXACT


@pytest.mark.parametrize("seed", range(4))
def test_exhaustive_thins_with_factors(seed):
    problem = moosplit.random_problem(5, kind="dag", mode="cut", seed=seed,
                                      objectives=("latency_ms", "error"))
    exact = moosplit.solve(problem, "exhaustive")
    coarse = moosplit.solve(problem, "exhaustive", resolution="error=x1.5,latency_ms=x1.05")
    assert coarse.guarantee.factors == (1.05, 1.5)
    assert coarse.guarantee.covers(coarse.F, exact.F, problem.maximise, rtol=0).all()
    assert moosplit.compare_fronts(coarse, exact).missing_from_b.size == 0
