"""Choosing plans on a front: limits (Auto-Split's threshold), knee, extremes, CLI --pick."""

import numpy as np
import pytest

import moosplit
from moosplit.cli import main
from moosplit.problems.quantities import QUANTITIES
from moosplit.results.front import certified_subset
from moosplit.results.resolution import Resolution


def front_of(seed, objectives=("latency_ms", "error")):
    problem = moosplit.random_problem(6, kind="dag", mode="cut", seed=seed,
                                      objectives=objectives)
    return moosplit.solve(problem, "exhaustive")


@pytest.mark.parametrize("seed", range(8))
def test_select_is_the_fastest_point_within_the_limits(seed):
    front = front_of(seed)
    error = front.evaluation["error"]
    limit = float(np.median(error))
    chosen = front.select(max_error=limit)
    ok = np.flatnonzero(error <= limit)
    assert len(chosen) == 1
    assert chosen.F[0, 0] == front.evaluation["latency_ms"][ok].min()
    assert chosen.evaluation["error"][0] <= limit


def test_select_on_a_maximised_quantity_and_by_another_objective():
    front = front_of(2, ("latency_ms", "edge_macs"))
    macs = front.evaluation["edge_macs"]
    floor = float(np.sort(macs)[len(macs) // 2])
    chosen = front.select(min_edge_macs=floor)
    assert chosen.evaluation["edge_macs"][0] >= floor
    most = front.select(by="edge_macs")
    assert most.evaluation["edge_macs"][0] == macs.max()


def test_select_with_nothing_within_limits_is_empty_and_typos_are_refused():
    front = front_of(1)
    assert len(front.select(max_latency_ms=0.0)) == 0
    with pytest.raises(ValueError, match="max_latency_ms must be a finite number >= 0"):
        front.select(max_latency_ms=-1.0)  # no quantity is negative: never met, so refused
    with pytest.raises(TypeError, match="unknown limit 'max_eror'"):
        front.select(max_eror=0.1)


@pytest.mark.parametrize("seed", range(5))
def test_extremes_are_the_best_point_of_each_objective(seed):
    front = front_of(seed, ("latency_ms", "memory_bytes", "error"))
    chosen = front.extremes()
    for j, name in enumerate(front.objectives):
        assert chosen.F[:, j].min() == front.F[:, j].min(), name
    assert len(chosen) <= 3


def test_knee_is_the_point_farthest_from_the_chord():
    front = front_of(0)
    F = front.F
    if len(F) < 3:
        pytest.skip("front too small")
    knee = front.knee()
    assert len(knee) == 1
    # normalised distance to the chord is maximal at the knee: check against brute force
    N = (F - F.min(axis=0)) / (F.max(axis=0) - F.min(axis=0))
    a, b = N[np.argmin(N[:, 0])], N[np.argmin(N[:, 1])]
    u, w = b - a, N - a
    d = np.abs(u[0] * w[:, 1] - u[1] * w[:, 0]) / np.linalg.norm(u)
    assert knee.F[0].tolist() == F[int(np.argmax(d))].tolist()


def test_cli_pick(capsys, monkeypatch):
    from pathlib import Path

    monkeypatch.chdir(Path(__file__).parents[1])
    args = ["solve", "docs/examples/tiny.csv", "--bandwidth-mbps", "1", "--rtt-ms", "10",
            "--quiet", "--out", "-"]
    assert main(args + ["--pick", "max_error=0.02"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and float(lines[1].split(",")[4]) <= 0.02
    assert main(args + ["--pick", "extremes"]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 3
    assert main(args + ["--pick", "nonsense"]) == 2
    assert "--pick" in capsys.readouterr().err


# ------------------------------------------------- what a certified front says of a pick
def _best_within(exact, by, limits):
    """Brute force on the exhaustive front: the best `by` of any plan within `limits`
    (quantity -> bound), or None (the exact front holds a point at least as good as any
    plan on every objective)."""
    ok = np.ones(len(exact), bool)
    for name, bound in limits.items():
        values = exact.evaluation[name]
        ok &= values >= bound if QUANTITIES[name].maximise else values <= bound
    if not ok.any():
        return None
    values = exact.evaluation[by][ok]
    return values.max() if QUANTITIES[by].maximise else values.min()


def _tightened(front, limits):
    """The limits tightened by the front's certificate, from its Guarantee."""
    slack = front.guarantee.slack
    out = {}
    for name, bound in limits.items():
        j = front.objectives.index(name)
        f, a = slack.factor[j], slack.additive[j]
        out[name] = (bound + a) / f if QUANTITIES[name].maximise else (bound - a) / f
    return out


MIXED = Resolution({"*": "10%", "error": "x1.3", "latency_ms": "x1.1",
                    "memory_bytes": "x1.2"})


def _certified_fronts(problem, exact):
    yield certified_subset(exact, MIXED)  # the thinnest a certificate allows (greedy)
    yield certified_subset(exact, Resolution(0.2, "relative"))
    yield moosplit.solve(problem, "epsilon", resolution=MIXED, merge_above=0)


@pytest.mark.parametrize("seed", range(10))
def test_a_certified_pick_is_within_its_certificate_of_the_best_plan(seed):
    objectives = [("latency_ms", "error"), ("latency_ms", "memory_bytes", "error"),
                  ("latency_ms", "edge_macs")][seed % 3]
    problem = moosplit.random_problem(6, kind=("chain", "dag")[seed % 2], seed=seed,
                                      bits=(2, 4, 8), objectives=objectives,
                                      bounded=bool(seed % 2))
    exact = moosplit.solve(problem, "exhaustive")
    rng = np.random.default_rng(seed)
    checked = 0
    for front in _certified_fronts(problem, exact):
        assert front.guarantee.kind == "certified", seed
        for _ in range(4):
            # limits on the objectives but latency, at values points of the front attain
            names = [n for n in objectives if n != "latency_ms"]
            limits = {n: float(rng.choice(exact.evaluation[n])) for n in names}
            keys = {("min_" if QUANTITIES[n].maximise else "max_") + n: v
                    for n, v in limits.items()}
            chosen = front.select(**keys)
            tight = _tightened(front, limits)
            best = _best_within(exact, "latency_ms", tight)
            for name, bound in tight.items():
                assert f"{name} {'>=' if QUANTITIES[name].maximise else '<='} {bound:.6g}" \
                    in chosen.message, (seed, chosen.message)
            if min(tight.values()) < 0:
                assert "nothing about this plan" in chosen.message
                continue
            if len(chosen) == 0:  # the certificate's claim: no plan meets the tightened limits
                assert best is None and "certified: no plan has" in chosen.message, seed
                continue
            if best is None:  # nothing to compare with
                continue
            j = front.objectives.index("latency_ms")
            f, a = front.guarantee.slack.factor[j], front.guarantee.slack.additive[j]
            assert chosen.evaluation["latency_ms"][0] <= f * best + a + 1e-9 * best, seed
            checked += 1
    assert checked, "no limit left a plan to compare with"


def test_an_exact_pick_is_the_best_plan_within_the_limits():
    exact = front_of(3, ("latency_ms", "memory_bytes", "error"))
    limits = {"error": float(np.median(exact.evaluation["error"])),
              "memory_bytes": float(np.median(exact.evaluation["memory_bytes"]))}
    chosen = exact.select(max_error=limits["error"], max_memory_bytes=limits["memory_bytes"])
    assert chosen.F[0, 0] == _best_within(exact, "latency_ms", limits)
    assert chosen.message.startswith("exact: the lowest latency_ms of any plan with error <=")
    assert "tightened" not in chosen.message


def test_a_limit_off_the_objectives_or_a_heuristic_front_certifies_nothing():
    exact = front_of(3)
    off = exact.select(max_memory_bytes=float(np.median(exact.evaluation["memory_bytes"])))
    assert off.message.startswith("nothing is certified") and "memory_bytes" in off.message
    assert exact.select(by="energy_mj").message.startswith("nothing is certified")
    heuristic = moosplit.solve(exact.problem, "nsga2", n_gen=5).select(max_error=1.0)
    assert heuristic.message == "nothing is certified about this plan (a heuristic front)"


def test_nothing_within_tightened_limits_is_certified_as_such():
    exact = front_of(1)
    lowest = float(exact.evaluation["error"].min())
    # a certificate wider than the lowest error: the tightened limit admits no plan
    front = certified_subset(exact, Resolution({"error": f"+{2 * lowest + 1}"}))
    chosen = front.select(max_error=lowest)
    assert "nothing about this plan" in chosen.message
    assert len(exact.select(max_latency_ms=0.0)) == 0
    assert exact.select(max_latency_ms=0.0).message == "exact: no plan has latency_ms <= 0"


def test_cli_pick_says_what_the_certificate_makes_of_the_plan(capsys, monkeypatch):
    from pathlib import Path

    monkeypatch.chdir(Path(__file__).parents[1])
    args = ["solve", "docs/examples/tiny.csv", "--bandwidth-mbps", "1", "--rtt-ms", "10",
            "--solver", "epsilon", "--pick", "max_error=0.02"]
    assert main(args + ["--resolution", "error=x1.2"]) == 0
    err = capsys.readouterr().err.splitlines()
    picked = next(i for i, line in enumerate(err) if line.startswith("picked"))
    assert err[picked + 1] == ("certified: the lowest latency_ms of any plan with error <= "
                               f"{0.02 / 1.2:.6g} (error <= 0.02 tightened by the certificate)")
