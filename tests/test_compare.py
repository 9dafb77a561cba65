"""Comparing backends: the library function and `moosplit compare`."""

import numpy as np
import pandas as pd
import pytest

import moosplit
from moosplit.cli import main
from moosplit.results.front import HEURISTIC, Guarantee, certified_subset
from moosplit.results.resolution import Resolution, Slack
from moosplit.workflows import comparison
from moosplit.workflows.comparison import compare_solvers


def test_exact_backends_score_one_and_heuristics_no_more():
    problem = moosplit.random_problem(6, kind="dag", seed=4,
                                      objectives=("latency_ms", "error"))
    result = compare_solvers(problem, ["exhaustive", "cpsat", "lagrangian", "uniform", "dads"])
    table = result.table.set_index("solver")
    assert result.reference_kind == "exact"
    assert table.loc["exhaustive", "hv_ratio"] == 1.0
    assert table.loc["exhaustive", "igd_plus"] == 0.0
    assert abs(table.loc["cpsat", "hv_ratio"] - 1.0) < 1e-6
    for name in ("lagrangian", "uniform"):
        assert table.loc[name, "hv_ratio"] <= 1.0 + 1e-9
        assert table.loc[name, "igd_plus"] >= 0.0
    # dads is cut-mode only: refused and listed, not dropped
    assert table.loc["dads", "status"] == "refused"
    assert "mode 'prefix'" in result.refused["dads"]


def test_a_worse_front_scores_lower():
    problem = moosplit.random_problem(6, kind="chain", seed=2,
                                      objectives=("latency_ms", "memory_bytes"))
    table = compare_solvers(problem, ["exhaustive", "cloud_only"]).table.set_index("solver")
    assert table.loc["cloud_only", "hv_ratio"] < 1.0
    assert table.loc["cloud_only", "igd_plus"] > 0.0


def test_cli_compare_writes_table_and_plot(tmp_path, capsys):
    path = tmp_path / "p.csv"
    moosplit.write_profile(moosplit.random_profile(6, kind="dag", bits=(4, 8), seed=1), path)
    out, plot = tmp_path / "t.csv", tmp_path / "f.png"
    rc = main(["compare", str(path), "--bandwidth-mbps", "1", "--solvers",
               "exhaustive,lagrangian,cloud_only", "--out", str(out), "--plot", str(plot),
               "--quiet"])
    assert rc == 0
    table = pd.read_csv(out)
    assert table["solver"].tolist() == ["exhaustive", "lagrangian", "cloud_only"]
    assert np.isclose(table.loc[0, "hv_ratio"], 1.0)
    assert plot.stat().st_size > 1000 and plot.read_bytes()[:4] == b"\x89PNG"
    rc = main(["compare", str(path), "--bandwidth-mbps", "1", "--solvers", "nope"])
    assert rc == 2 and "--solvers must be registered backends" in capsys.readouterr().err


def test_plot_with_one_objective_is_refused_before_solving(tmp_path, capsys, monkeypatch):
    from pathlib import Path

    monkeypatch.chdir(Path(__file__).parents[1])
    rc = main(["compare", "docs/examples/tiny.csv", "--bandwidth-mbps", "10", "--objectives",
               "latency_ms", "--solvers", "exhaustive", "--plot", str(tmp_path / "x.png")])
    assert rc == 2
    err = capsys.readouterr().err
    assert "at least two" in err and "exhaustive" not in err.split("error:")[0]


def test_resolution_goes_to_the_exact_backends_only():
    problem = moosplit.random_problem(8, kind="chain", seed=5, bits=(2, 4, 8),
                                      objectives=("latency_ms", "error"), bit_latency=True)
    result = compare_solvers(problem, ["epsilon", "cpsat", "nsga2"], resolution=0.1)
    assert result.fronts["epsilon"].guarantee.kind == "certified"
    assert result.fronts["cpsat"].guarantee.kind == "certified"
    assert result.fronts["nsga2"].guarantee.kind == "heuristic"
    assert result.reference_kind == "certified by epsilon, cpsat"
    # the certified reference covers the exact front within the larger certificate
    exact = moosplit.solve(problem, "exhaustive")
    slack = np.maximum(*(np.array(result.fronts[s].guarantee.resolution)
                         for s in ("epsilon", "cpsat")))
    for point in exact.F:
        assert np.any(np.all(result.reference <= point + slack + 1e-9, axis=1))


def test_cli_resolution_is_checked(tmp_path, capsys):
    path = tmp_path / "p.csv"
    moosplit.write_profile(moosplit.random_profile(5, seed=1), path)
    base = ["compare", str(path), "--bandwidth-mbps", "1", "--quiet"]
    assert main(base + ["--solvers", "nsga2,uniform", "--resolution", "0.01"]) == 2
    assert "--resolution must be left out: none of the solvers" in capsys.readouterr().err
    assert main(base + ["--solvers", "epsilon", "--resolution", "0"]) == 2
    assert "--resolution must be > 0" in capsys.readouterr().err
    out = tmp_path / "t.csv"
    assert main(base + ["--solvers", "epsilon,uniform", "--resolution", "0.05",
                        "--out", str(out)]) == 0
    table = pd.read_csv(out).set_index("solver")
    assert table.loc["epsilon", "guarantee"] == "certified"
    assert table.loc["epsilon", "hv_ratio"] == 1.0


# ------------------------------------------------------------- log scores
def _spanning(result):
    """The objectives whose positive values over every front span more than 2 decades,
    computed here from the fronts alone."""
    F = np.concatenate([f.F for f in result.fronts.values()])
    out = []
    for j, name in enumerate(result.problem.objectives):
        positive = F[F[:, j] > 0, j]
        if positive.size and positive.max() > 100 * positive.min():
            out.append(name)
    return tuple(out)


@pytest.mark.parametrize("seed, objectives, spans", [
    (2, ("latency_ms", "error"), True),
    (3, ("latency_ms", "memory_bytes"), False),
    (1, ("latency_ms", "tx_bytes"), False),
])
def test_log_columns_appear_exactly_when_an_objective_spans_decades(seed, objectives, spans):
    problem = moosplit.random_problem(6, kind="chain", seed=seed, bits=(2, 4, 8),
                                      objectives=objectives)
    result = compare_solvers(problem, ["exhaustive", "lagrangian", "uniform"])
    assert bool(_spanning(result)) == spans, "the instance no longer makes its case"
    assert result.logged == _spanning(result)
    table = result.table.set_index("solver")
    assert ("hv_ratio_log" in table) == spans and ("igd_plus_log" in table) == spans
    if spans:
        assert table.loc["exhaustive", "hv_ratio_log"] == 1.0
        assert table.loc["exhaustive", "igd_plus_log"] == 0.0
        assert (table["hv_ratio_log"] <= 1.0 + 1e-9).all()


def test_log_scale_puts_zeros_one_decade_below_the_smallest_positive_value():
    F = np.array([[1.0, 0.0], [2.0, 1e-3], [3.0, 10.0]])
    columns = comparison.decade_columns(F)
    assert columns == (1,)
    floors = comparison.log_floors(F, columns)
    assert floors == (1e-4,)
    np.testing.assert_allclose(comparison.log_scale(F, columns, floors)[:, 1], [-4, -3, 1])
    np.testing.assert_array_equal(comparison.log_scale(F, columns, floors)[:, 0], F[:, 0])


def test_log_scores_tell_small_errors_apart_where_linear_ones_cannot():
    # two fronts that differ only below 1e-3 error: on a linear scale their difference is
    # a sliver of the range; on log10 it is decades
    reference = np.array([[1.0, 1.0], [2.0, 1e-6], [3.0, 0.0]])
    worse = np.array([[1.0, 1.0], [2.0, 1e-3], [3.0, 0.0]])
    linear = comparison.front_scores(worse, reference, (False, False))[0]
    floors = comparison.log_floors(reference, (1,))
    logged = comparison.front_scores(comparison.log_scale(worse, (1,), floors),
                                     comparison.log_scale(reference, (1,), floors),
                                     (False, False))[0]
    assert linear > 0.99 and logged < 0.9


# ------------------------------------------------------------- broken certificates
def _too_tight(front, keep):
    """`front` cut down to `keep`, claiming a certificate far smaller than the gaps left."""
    k = len(front.objectives)
    return front.take(keep, guarantee=Guarantee.within(Slack((1.0,) * k, (1e-9,) * k)))


@pytest.mark.parametrize("seed", [0, 1, 4, 5])
def test_plans_beating_a_certificate_are_reported(seed):
    problem = moosplit.random_problem(6, kind="dag", seed=seed, bits=(2, 4, 8),
                                      objectives=("latency_ms", "error"))
    exact = moosplit.solve(problem, "exhaustive")
    assert len(exact) >= 3, seed
    keep = np.arange(0, len(exact), 2)
    fake = _too_tight(exact, keep)
    assert fake.guarantee.kind == "certified"
    heuristic = moosplit.solve(problem, "lagrangian")
    found = comparison.certificate_violations(
        {"fake": fake, "exhaustive": exact, "lagrangian": heuristic})
    by_backend = {v.backend: v for v in found if v.proven == "fake"}
    dropped = np.setdiff1d(np.arange(len(exact)), keep)
    np.testing.assert_array_equal(by_backend["exhaustive"].points, dropped)
    # lagrangian's plans the fake front misses are exactly those it does not cover
    missed = ~fake.guarantee.covers(fake.F, heuristic.F, problem.maximise, 1e-6)
    if missed.any():
        np.testing.assert_array_equal(by_backend["lagrangian"].points, np.flatnonzero(missed))
    else:
        assert "lagrangian" not in by_backend
    # the exact front is broken by nobody, not even the fake
    assert not [v for v in found if v.proven == "exhaustive"]


def test_an_infeasible_claim_is_broken_by_any_plan():
    problem = moosplit.random_problem(5, seed=1)
    exact = moosplit.solve(problem, "exhaustive")
    empty = exact.take([], guarantee=moosplit.Guarantee("exact"))
    found = comparison.certificate_violations({"empty": empty, "exhaustive": exact})
    assert [(v.backend, v.proven, len(v.points)) for v in found] == [
        ("exhaustive", "empty", len(exact))]


MIXED = Resolution({"*": "5%", "error": "x1.05", "latency_ms": "x1.02",
                    "memory_bytes": "x1.1"})


@pytest.mark.parametrize("seed", range(6))
def test_genuine_certified_fronts_are_never_reported(seed):
    kind, mode = [("chain", "prefix"), ("dag", "prefix"), ("dag", "cut")][seed % 3]
    objectives = [("latency_ms", "error"), ("latency_ms", "memory_bytes", "error")][seed % 2]
    problem = moosplit.random_problem(6, kind=kind, mode=mode, seed=seed, bits=(2, 4, 8),
                                      objectives=objectives, bounded=bool(seed % 2))
    solvers = ["epsilon", "exhaustive", "nsga2"] + (["lagrangian"] if mode == "prefix" else [])
    result = compare_solvers(problem, solvers, options={
        "epsilon": {"resolution": MIXED, "merge_above": 0}, "nsga2": {"n_gen": 20}})
    assert result.fronts["epsilon"].guarantee.kind == "certified", seed
    assert result.violations == (), seed


def _unproven(front):
    return front.take(np.arange(len(front)), guarantee=HEURISTIC)


def _patched(monkeypatch, fronts):
    """compare_solvers solving by name from `fronts` (name -> function of the problem)."""
    real = comparison.solve

    def fake(problem, name, **options):
        return fronts[name](problem) if name in fronts else real(problem, name, **options)
    monkeypatch.setattr(comparison, "solve", fake)


def test_cli_reports_a_broken_certificate_as_a_bug(tmp_path, capsys, monkeypatch):
    path = tmp_path / "p.csv"
    moosplit.write_profile(moosplit.random_profile(6, kind="dag", bits=(2, 4, 8), seed=0), path)
    _patched(monkeypatch, {"epsilon": lambda problem: _too_tight(
        moosplit.solve(problem, "exhaustive"), [0]),
        "lagrangian": lambda problem: moosplit.solve(problem, "exhaustive")})
    rc = main(["compare", str(path), "--bandwidth-mbps", "1", "--solvers",
               "epsilon,lagrangian", "--resolution", "exact", "--bits", "2,4,8", "--quiet"])
    assert rc == 0
    bugs = [line for line in capsys.readouterr().err.splitlines() if line.startswith("bug:")]
    assert len(bugs) == 1
    assert "lagrangian's plan (latency_ms=" in bugs[0] and "beats epsilon's front" in bugs[0]


def test_cli_explains_a_hypervolume_ratio_above_one(tmp_path, capsys, monkeypatch):
    path = tmp_path / "p.csv"
    moosplit.write_profile(moosplit.random_profile(6, kind="chain", bits=(2, 4, 8), seed=0),
                           path)
    # a genuine certificate (the exact front thinned within it), and a "heuristic" that
    # found the whole exact front
    _patched(monkeypatch, {"epsilon": lambda problem: certified_subset(
        moosplit.solve(problem, "exhaustive"), Resolution(0.3, "relative")),
        "lagrangian": lambda problem: _unproven(moosplit.solve(problem, "exhaustive"))})
    rc = main(["compare", str(path), "--bandwidth-mbps", "1", "--solvers",
               "epsilon,lagrangian", "--resolution", "exact", "--objectives",
               "latency_ms,memory_bytes", "--bits", "2,4,8"])
    assert rc == 0
    captured = capsys.readouterr()
    notes = [line for line in captured.err.splitlines() if line.startswith("note: hv_ratio")]
    assert len(notes) == 1 and "lagrangian" in notes[0] and "certified, not exact" in notes[0]
    assert "bug:" not in captured.err
