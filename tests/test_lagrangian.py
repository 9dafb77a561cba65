"""`lagrangian` (Auto-Split's Algorithm 1): heuristic checks, Remark 5, convex hull."""

import itertools

import numpy as np
import pytest

import moosplit
from moosplit.solvers.lagrangian import lagrangian_allocation
from moosplit.testing.conformance import check_against_reference, conformance_instances


@pytest.mark.parametrize("instance", [i for i in conformance_instances(45, seed=7)
                                      if i.problem.mode == "prefix"], ids=repr)
def test_lagrangian_passes_the_heuristic_checks(instance):
    reference = moosplit.solve(instance.problem, "exhaustive")
    front = moosplit.solve(instance.problem, "lagrangian")
    check_against_reference(front, reference, where=f"lagrangian on {instance.name}")


@pytest.mark.parametrize("seed", range(12))
def test_remark_5_never_slower_than_cloud_only_nor_a_fitting_edge_only(seed):
    problem = moosplit.random_problem(7, kind="dag", seed=seed, bits=(2, 4, 8, 16),
                                      objectives=("latency_ms", "error"),
                                      bounded=seed % 2 == 0)
    front = moosplit.solve(problem, "lagrangian")
    fastest = front.evaluation["latency_ms"].min()
    cloud = moosplit.solve(problem, "cloud_only")
    if len(cloud):
        assert fastest <= cloud.evaluation["latency_ms"][0] + 1e-12
    edge = moosplit.solve(problem, "edge_only")
    sends_less = edge.evaluation["tx_bytes"] <= problem.profile.input_bytes if len(edge) else []
    if len(edge) and sends_less[0]:
        assert fastest <= edge.evaluation["latency_ms"][0] + 1e-12


def lower_hull(points):
    """Vertices of the lower-left convex hull of (rate, distortion) points."""
    pts = sorted(set(map(tuple, points)))
    hull = []
    for p in pts:
        while len(hull) >= 2:
            (x1, y1), (x2, y2) = hull[-2], hull[-1]
            if (x2 - x1) * (p[1] - y1) - (y2 - y1) * (p[0] - x1) <= 0:
                hull.pop()
            else:
                break
        hull.append(p)
    # keep the decreasing part: the Pareto side
    out = [hull[0]]
    for p in hull[1:]:
        if p[1] < out[-1][1]:
            out.append(p)
    return out


@pytest.mark.parametrize("seed", range(10))
def test_allocation_is_the_best_convex_hull_point_within_budget(seed):
    rng = np.random.default_rng(seed)
    items, choices = 4, 3
    rate = np.sort(rng.integers(1, 20, (items, choices)), axis=1).astype(float)
    distortion = np.sort(rng.random((items, choices)), axis=1)[:, ::-1]
    combos = list(itertools.product(range(choices), repeat=items))
    points = [(rate[range(items), c].sum(), distortion[range(items), c].sum()) for c in combos]
    hull = lower_hull(points)
    for budget in np.linspace(rate[:, 0].sum(), rate[:, -1].sum(), 7):
        pick = lagrangian_allocation(distortion, rate, budget)
        r = rate[range(items), pick].sum()
        d = distortion[range(items), pick].sum()
        assert r <= budget + 1e-9
        best_on_hull = min(y for x, y in hull if x <= budget + 1e-9)
        assert d == pytest.approx(best_on_hull), (seed, budget)
        # and the exact optimum can be better: Lagrangian only sees the hull
        exact = min(y for x, y in points if x <= budget + 1e-9)
        assert exact <= d + 1e-12
