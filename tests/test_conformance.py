"""The conformance kit itself: its instances, and that its checks catch what they are for."""

import numpy as np
import pytest

import moosplit
from moosplit.results.front import Front, Guarantee
from moosplit.results.resolution import Slack
from moosplit.testing.conformance import (
    BUDGETED_OBJECTIVES,
    SHAPES,
    ConformanceInstance,
    budgeted_instances,
    check_against_reference,
    conformance_instances,
    run_certificate_check,
)
from moosplit.workflows import comparison


def test_budgeted_instances_are_one_objective_under_constraints_in_every_shape():
    instances = budgeted_instances(18, seed=0)
    for instance in instances:
        problem = instance.problem
        assert problem.n_objectives == 1, instance
        # memory and error bounds, and a bound at an attained value off the objective
        assert {"memory_bytes", "error"} <= set(problem.constraints), instance
        attained = instance.name.split(" bound at an attained value")[0].split()[-1]
        assert attained in problem.constraints and attained != problem.objectives[0], instance
    assert {i.problem.objectives for i in instances} == set(BUDGETED_OBJECTIVES)
    assert {(o, f"{kind}-{mode}") for o in BUDGETED_OBJECTIVES for kind, mode in SHAPES} == {
        (i.problem.objectives, i.name.split()[1]) for i in instances}
    names = [i.name for i in instances + conformance_instances(18, seed=0)]
    assert len(set(names)) == len(names)


def _other_plan(problem, exact):
    """A front claiming to be exact that holds a feasible plan worse than the optimum."""
    name = problem.objectives[0]
    second = "latency_ms" if name == "error" else "error"
    wider = moosplit.solve(problem.replace(objectives=(name, second)), "exhaustive")
    worse = np.flatnonzero(~np.isclose(wider.evaluation[name], exact.F[0, 0], rtol=1e-6))
    if not worse.size:
        return None
    return Front.from_plans(problem, wider.plans.take(worse[:1]), solver="fake",
                            guarantee=Guarantee("exact"))


def test_a_budgeted_answer_short_of_the_optimum_fails_the_kit():
    caught = 0
    for instance in budgeted_instances(9, seed=4):
        exact = moosplit.solve(instance.problem, "exhaustive")
        fake = _other_plan(instance.problem, exact) if len(exact) else None
        if fake is None:  # no plan but the optimum meets the constraints
            continue
        with pytest.raises(AssertionError, match="is not covered"):
            check_against_reference(fake, exact, where=instance.name)
        caught += 1
    assert caught >= 3


def test_a_heuristic_beating_a_certificate_fails_the_kit(monkeypatch):
    problem = moosplit.random_problem(7, kind="dag", seed=1, bits=(2, 4, 8),
                                      objectives=("latency_ms", "error"))
    real = comparison.solve

    def too_tight(problem, name, **options):
        front = real(problem, name, **options)
        if name != "epsilon":
            return front
        k = problem.n_objectives  # its first point only, claiming to cover everything
        return front.take([0], guarantee=Guarantee.within(Slack((1.0,) * k, (1e-9,) * k)))

    instance = ConformanceInstance("dag n=7", problem)
    run_certificate_check(instance, "epsilon")  # the genuine front passes
    monkeypatch.setattr(comparison, "solve", too_tight)
    with pytest.raises(AssertionError, match="beats the front beyond its certificate"):
        run_certificate_check(instance, "epsilon")
