"""Comparing backends: the library function and `moosplit compare`."""

import numpy as np
import pandas as pd

import moosplit
from moosplit.cli import main
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
