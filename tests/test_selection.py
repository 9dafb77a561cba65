"""Choosing plans on a front: limits (Auto-Split's threshold), knee, extremes, CLI --pick."""

import numpy as np
import pytest

import moosplit
from moosplit.cli import main


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
