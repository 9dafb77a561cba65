"""The registry, `solve()`, capability checks, time limits and progress."""

import pytest

import moosplit
from moosplit.results.front import Status
from moosplit.solvers import Solver, available_solvers, get_solver


def test_registry_lists_exhaustive_with_capabilities():
    solvers = available_solvers()
    assert "exhaustive" in solvers
    assert solvers["exhaustive"].exact
    assert set(solvers["exhaustive"].modes) == {"prefix", "cut"}


def test_unknown_solver_names_the_available_ones():
    with pytest.raises(ValueError, match="unknown solver 'nope'; available: .*exhaustive"):
        get_solver("nope")


def test_unknown_option_is_not_swallowed():
    with pytest.raises(TypeError):
        get_solver("exhaustive", max_plan=10)


def test_options_with_a_solver_instance_are_refused():
    problem = moosplit.random_problem(3, seed=0)
    with pytest.raises(TypeError, match="already built"):
        moosplit.solve(problem, get_solver("exhaustive"), max_plans=5)


def test_solver_instance_and_name_give_the_same_front():
    problem = moosplit.random_problem(4, seed=2)
    a = moosplit.solve(problem, "exhaustive")
    b = moosplit.solve(problem, get_solver("exhaustive", chunk_size=7))
    assert moosplit.compare_fronts(a, b, rtol=0).equal
    assert [a.plan(i) for i in range(len(a))] == [b.plan(i) for i in range(len(b))]


def test_a_backend_refuses_an_unsupported_mode():
    class PrefixOnly(Solver):
        name = "prefix_only_test"
        exact = False
        modes = ("prefix",)

        def _solve(self, problem, context):
            raise AssertionError("must not be reached")

    problem = moosplit.random_problem(3, kind="dag", mode="cut", seed=0)
    with pytest.raises(moosplit.UnsupportedProblemError, match="does not support mode 'cut'"):
        moosplit.solve(problem, PrefixOnly())


def test_refusal_message_states_the_plan_count():
    problem = moosplit.random_problem(12, seed=0, bits=(2, 4, 8))
    solver = get_solver("exhaustive", max_plans=1000)
    # 12 nodes, 3 bit-widths: far more than 1000 plans; the message gives the exact count
    expected = get_solver("exhaustive", max_plans=10**30).count_plans(problem)
    with pytest.raises(moosplit.UnsupportedProblemError, match=f"has {expected:,} plans"):
        moosplit.solve(problem, solver)


def test_time_limit_stops_early_and_says_so():
    problem = moosplit.random_problem(6, kind="dag", seed=1, bits=(2, 4, 8, 16))
    front = moosplit.solve(problem, "exhaustive", time_limit=1e-9, chunk_size=64)
    assert front.status in (Status.FEASIBLE, Status.UNKNOWN)
    assert "time limit" in front.message
    assert front.stats.evaluations < front.stats.extra["plans"]
    with pytest.raises(ValueError, match="time_limit"):
        moosplit.solve(problem, "exhaustive", time_limit=0)


def test_progress_reports_reach_the_callback():
    problem = moosplit.random_problem(5, seed=1, bits=(2, 4, 8))
    reports = []
    front = moosplit.solve(problem, "exhaustive", chunk_size=100, progress=reports.append)
    assert len(reports) > 1
    assert reports[-1].done == reports[-1].total == front.stats.evaluations
    assert all(r.solver == "exhaustive" and r.unit == "plans" for r in reports)
    assert [r.done for r in reports] == sorted(r.done for r in reports)
