"""Sweeps: `moosplit.workflows.sweeps.sweep` and `moosplit sweep`."""

from __future__ import annotations

import io
import time
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor

import moocore
import numpy as np
import pandas as pd
import pytest

import moosplit
from moosplit import cli as cli_package
from moosplit.cli import main
from moosplit.cli import plot as plot_command
from moosplit.cli import sweep as sweep_command
from moosplit.problems.quantities import QUANTITIES
from moosplit.results.pareto import minimisation_form
from moosplit.results.selection import Pick, parse_pick
from moosplit.workflows.sweeps import (
    PLAN_COLUMNS,
    SETTINGS,
    apply_settings,
    sweep,
)

SEED = 2  # random_problem seed used throughout; failures name it through the problem repr
VARY = {"bandwidth_mbps": [0.1, 1.0, 10.0], "memory_bytes": [1500.0, 1e9]}
TABLE_COLUMNS = ["bandwidth_mbps", "max_memory_bytes", "status", "solver", "refusal", "points",
                 "hypervolume", "time_s", *PLAN_COLUMNS]


@pytest.fixture(autouse=True)
def commands(monkeypatch):
    """Register the commands until moosplit.cli lists them itself."""
    missing = tuple(c for c in (sweep_command, plot_command) if c not in cli_package.COMMANDS)
    if missing:
        monkeypatch.setattr(cli_package, "COMMANDS", (*cli_package.COMMANDS, *missing))


@pytest.fixture(scope="module")
def problem() -> moosplit.SplitProblem:
    return moosplit.random_problem(6, seed=SEED, bits=(4, 8, 16),
                                   objectives=("latency_ms", "error"))


@pytest.fixture(scope="module")
def table(problem):
    return sweep(problem, VARY, solver="cpsat", max_workers=1)


def cli(capsys, *argv) -> tuple[int, str, str]:
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def plan_cells(frame: pd.DataFrame) -> pd.DataFrame:
    """The comparable part of a table: everything but the solve times."""
    return frame.drop(columns="time_s").reset_index(drop=True)


# ------------------------------------------------------------------ library
def test_rows_equal_direct_solves(problem, table):
    assert list(table.frame.columns) == TABLE_COLUMNS
    assert table.varied == ("bandwidth_mbps", "memory_bytes")
    combos = [(b, m) for b in VARY["bandwidth_mbps"] for m in VARY["memory_bytes"]]
    assert len(table) == len(combos)
    for i, (bandwidth, memory) in enumerate(combos):
        direct_problem = problem.replace(
            network=moosplit.Network(bandwidth, problem.network.rtt_ms),
            constraints={"memory_bytes": memory})
        front = moosplit.solve(direct_problem, "cpsat", seed=0)
        row = table.frame.iloc[i]
        assert (row["bandwidth_mbps"], row["max_memory_bytes"]) == (bandwidth, memory)
        assert row["status"] == front.status.value and row["points"] == len(front)
        np.testing.assert_array_equal(table.points[i], front.F, err_msg=repr(direct_problem))
        chosen = front.knee().to_frame().iloc[0]
        for column in ("split", "edge_nodes", "bits_w", "bits_a", "codec"):
            assert row[column] == chosen[column], (column, repr(direct_problem))
        for column in QUANTITIES:
            assert row[column] == chosen[column] or (
                np.isnan(row[column]) and np.isnan(chosen[column])), column
        assert row["n_edge"] == len(chosen["edge_nodes"].split())


def test_apply_settings_maps_every_name(problem):
    changed = apply_settings(problem, {"bandwidth_mbps": 3, "rtt_ms": 2, "tx_power_mw": 100,
                                       "memory_mib": 1, "max_error": 0.5,
                                       "max_latency_ms": 40, "min_split": 1, "max_split": 4})
    assert changed.network == moosplit.Network(3, 2, 100)
    assert dict(changed.constraints) == {"memory_bytes": 2**20, "error": 0.5,
                                         "latency_ms": 40}
    assert changed.split_bounds == (1, 4)
    assert apply_settings(problem, {"memory_bytes": 7}).constraints["memory_bytes"] == 7
    assert problem.constraints == {}  # the original is untouched


class _ReversedCompletion(Executor):
    """Threads that finish the later submissions first."""

    def __init__(self, n: int) -> None:
        self.pool, self.n, self.submitted = ThreadPoolExecutor(n), n, 0

    def submit(self, fn, /, *args, **kwargs) -> Future:
        delay = 0.05 * (self.n - self.submitted)
        self.submitted += 1
        return self.pool.submit(lambda: (time.sleep(delay), fn(*args, **kwargs))[1])

    def shutdown(self, wait=True, *, cancel_futures=False) -> None:
        self.pool.shutdown(wait, cancel_futures=cancel_futures)


def test_input_order_whatever_the_completion_order(problem, table):
    done = []
    with _ReversedCompletion(len(table)) as executor:
        reversed_table = sweep(problem, VARY, solver="cpsat", executor=executor,
                               progress=lambda p: done.append(p.done))
    assert done == list(range(1, len(table) + 1))
    pd.testing.assert_frame_equal(plan_cells(reversed_table.frame), plan_cells(table.frame))


def test_process_pool_of_two_workers(problem, table):
    with ProcessPoolExecutor(max_workers=2) as pool:
        pooled = sweep(problem, VARY, solver="cpsat", executor=pool)
    pd.testing.assert_frame_equal(plan_cells(pooled.frame), plan_cells(table.frame))
    default_pool = sweep(problem, VARY, solver="cpsat", max_workers=2)
    pd.testing.assert_frame_equal(plan_cells(default_pool.frame), plan_cells(table.frame))


def test_infeasible_combination_keeps_its_row(problem):
    result = sweep(problem, {"max_latency_ms": [0.001, 1e6]}, solver="cpsat",
                   max_workers=1)
    infeasible, solved = result.frame.iloc[0], result.frame.iloc[1]
    assert infeasible["status"] == "infeasible" and infeasible["points"] == 0
    assert infeasible["hypervolume"] == 0.0
    assert all(pd.isna(infeasible[c]) for c in PLAN_COLUMNS), infeasible
    assert solved["status"] == "optimal" and not pd.isna(solved["split"])
    text = io.StringIO()
    result.to_csv(text)
    first_row = text.getvalue().splitlines()[1].split(",")
    assert first_row[:5] == ["0.001", "infeasible", "cpsat", "", "0"]
    assert set(first_row[7:]) == {""}  # every plan cell empty


def test_invalid_combination_keeps_its_row_and_is_not_solved(problem):
    result = sweep(problem, {"min_split": [0, 3], "max_split": [2, 4]}, solver="exhaustive",
                   max_workers=1)
    statuses = list(result.frame["status"])
    assert statuses[2].startswith("invalid: ") and "min_split" in statuses[2]
    assert [s.startswith("invalid") for s in statuses] == [False, False, True, False]
    direct = moosplit.solve(problem.replace(min_split=3, max_split=4), "exhaustive")
    np.testing.assert_allclose(result.points[3], direct.F)


def test_a_refused_combination_is_a_row_or_falls_back(problem):
    strict = moosplit.get_solver("exhaustive", max_plans=100)  # refuses max_split=6 only
    vary = {"max_split": [1, 6]}
    table = sweep(problem, vary, solver=strict, max_workers=1)
    assert list(table.frame["solver"]) == ["exhaustive", "exhaustive"]
    solved, refused = table.frame.iloc[0], table.frame.iloc[1]
    assert solved["status"] == "optimal"
    np.testing.assert_array_equal(
        table.points[0], moosplit.solve(problem.replace(max_split=1), strict).F)
    assert refused["status"] == "refused" and pd.isna(solved["refusal"])
    assert table.lifted_by == ("max_plans",)  # the option that lifts the refusal
    reason = refused["refusal"]
    assert reason.startswith("exhaustive: ") and "max_plans=100" in reason and "\n" not in reason
    assert refused["points"] == 0 and all(pd.isna(refused[c]) for c in PLAN_COLUMNS)
    table = sweep(problem, vary, solver=strict, fallback="lagrangian", max_workers=1)
    assert list(table.frame["solver"]) == ["exhaustive", "lagrangian"]
    assert table.solver == "exhaustive" and table.frame.iloc[1]["refusal"] == reason
    np.testing.assert_array_equal(table.points[0], moosplit.solve(problem.replace(max_split=1),
                                                                  strict).F)
    heuristic = moosplit.solve(problem.replace(max_split=6), "lagrangian", seed=0)
    assert table.frame.iloc[1]["status"] == heuristic.status.value == "feasible"
    np.testing.assert_array_equal(table.points[1], heuristic.F)
    with pytest.raises(moosplit.OptionError, match="nosuch"):
        sweep(problem, vary, solver=strict, fallback="nosuch", max_workers=1)


def test_a_fallback_that_refuses_too_is_named_with_both_reasons(problem):
    strict = moosplit.get_solver("exhaustive", max_plans=100)
    no_reference_bits = problem.replace(bits=(4, 8))  # the baselines need 16 bits
    table = sweep(no_reference_bits, {"max_split": [6]}, solver=strict,
                  fallback="neurosurgeon", max_workers=1)
    row = table.frame.iloc[0]
    assert row["status"] == "refused" and row["solver"] == "neurosurgeon"
    assert row["refusal"].startswith("exhaustive: ") and "max_plans=100" in row["refusal"]
    assert "the fallback refused too: neurosurgeon runs the edge at the reference" in (
        row["refusal"])
    assert table.lifted_by == ("max_plans",)  # no option lifts the fallback's refusal


@pytest.mark.parametrize("vary,message", [
    ({"bandwidth": [1]}, "valid names: bandwidth_mbps, rtt_ms"),
    ({"memory_mib": [1], "memory_bytes": [1]}, "not both"),
    ({"min_split": [1.5]}, "whole numbers"),
    ({"max_error": [-1]}, ">= 0"),
    ({"rtt_ms": []}, "non-empty"),
    ({"bandwidth_mbps": [1, 0]}, "bandwidth_mbps=0: bandwidth_mbps must be"),
])
def test_bad_vary_is_refused_before_solving(problem, vary, message):
    with pytest.raises(ValueError, match=message):
        sweep(problem, vary, solver="cpsat", max_workers=1)


def test_unknown_name_lists_every_valid_one(problem):
    with pytest.raises(moosplit.ProblemError) as info:
        sweep(problem, {"latency": [1]})
    assert all(name in str(info.value) for name in SETTINGS)


def test_hypervolume_reference_is_common_to_the_sweep(problem, table):
    """Each objective normalised by the sweep's ideal and nadir, reference 1.1 (the nadir
    plus 10% of the range): the same as the natural-unit hypervolume against
    `table.reference`, divided by the product of the ranges."""
    every = np.concatenate([minimisation_form(F, problem.maximise) for F in table.points])
    np.testing.assert_array_equal(table.ideal, every.min(axis=0))
    np.testing.assert_array_equal(table.nadir, every.max(axis=0))
    span = table.nadir - table.ideal
    assert (span > 0).all()
    np.testing.assert_allclose(table.reference, table.nadir + 0.1 * span)
    for i, F in enumerate(table.points):
        normalised = (minimisation_form(F, problem.maximise) - table.ideal) / span
        expected = moocore.hypervolume(normalised, ref=np.full(2, 1.1))
        assert table.frame["hypervolume"][i] == pytest.approx(expected, rel=1e-12)
        bandwidth, memory = table.frame.iloc[i][["bandwidth_mbps", "max_memory_bytes"]]
        front = moosplit.solve(apply_settings(problem, {"bandwidth_mbps": bandwidth,
                                                        "memory_bytes": memory}), "cpsat")
        natural = moosplit.hypervolume(front, table.reference) / np.prod(span)
        assert table.frame["hypervolume"][i] == pytest.approx(natural, rel=1e-9)
    # a looser memory bound can only add points: its front dominates at least as much
    hv = table.frame.set_index(["bandwidth_mbps", "max_memory_bytes"])["hypervolume"]
    for bandwidth in VARY["bandwidth_mbps"]:
        assert hv[(bandwidth, 1e9)] >= hv[(bandwidth, 1500.0)] - 1e-12


def test_maximised_objective_reference_lies_below_the_worst(problem):
    result = sweep(problem.replace(objectives=("latency_ms", "edge_macs")),
                   {"bandwidth_mbps": [0.1, 10]}, solver="cpsat", max_workers=1)
    assert result.reference[1] < result.nadir[1] <= result.ideal[1]  # edge_macs: lower
    assert result.reference[0] > result.nadir[0] >= result.ideal[0]  # latency: higher


@pytest.mark.parametrize("profile_name", ["random", "portend_resnet20"])
def test_best_latency_never_worse_with_more_memory_or_bandwidth(problem, profile_name):
    """What LMOS's Figures 2-3 show and is provable: a looser memory bound enlarges the
    feasible set, and more bandwidth lowers every plan's latency, so the minimum latency
    (pick 'first' with latency first) never rises along either axis."""
    if profile_name != "random":
        problem = moosplit.SplitProblem(moosplit.load_profile(profile_name),
                                        moosplit.Network(1.0),
                                        objectives=("latency_ms", "edge_macs"))
    memory = sorted({0.0, 2000.0, 50_000.0, 700_000.0, 1e9})
    bandwidths = [0.05, 0.5, 2.0, 20.0]
    result = sweep(problem, {"bandwidth_mbps": bandwidths, "memory_bytes": memory},
                   solver="cpsat", pick="first", max_workers=1)
    grid = result.frame.pivot(index="bandwidth_mbps", columns="max_memory_bytes",
                              values="latency_ms").to_numpy()
    assert np.isfinite(grid).all()  # cloud-only (no edge memory) is always feasible
    slack = 1e-9 * grid
    assert (np.diff(grid, axis=1) <= slack[:, 1:]).all(), (repr(problem), grid)
    assert (np.diff(grid, axis=0) <= slack[1:, :]).all(), (repr(problem), grid)
    assert (result.frame["n_edge"] == [len(n.split()) for n in result.frame["edge_nodes"]]
            ).all()


def test_pick_specs(problem):
    assert parse_pick("knee") == Pick("knee")
    assert parse_pick("first") == Pick("select")
    assert parse_pick("max_error=0.01,by=latency_ms") == Pick(
        "select", "latency_ms", (("max_error", 0.01),))
    assert parse_pick({"max_error": 0.01}) == Pick("select", None, (("max_error", 0.01),))
    for bad in ("kne", "max_eror=1", "by=speed", "max_error=x"):
        with pytest.raises(moosplit.ProblemError, match="pick"):
            parse_pick(bad)
    limited = sweep(problem, {"bandwidth_mbps": [1.0]}, solver="cpsat", max_workers=1,
                    pick="max_error=0")
    front = moosplit.solve(problem.replace(network=moosplit.Network(1.0)), "cpsat")
    assert limited.frame["split"][0] == front.select(max_error=0).plans.plan(0, front.problem
                                                                             ).split
    assert limited.frame["error"][0] == 0


# ------------------------------------------------------------------ command line
@pytest.fixture(scope="module")
def profile_path(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("sweep") / "chain6.csv"
    moosplit.write_profile(moosplit.random_profile(6, kind="chain", bits=(4, 8), seed=SEED),
                           path)
    return str(path)


def test_cli_sweep_csv(capsys, tmp_path, profile_path):
    out = tmp_path / "sweep.csv"
    rc, stdout, err = cli(capsys, "sweep", profile_path, "--vary", "bandwidth_mbps=0.5,5",
                          "--vary", "memory_mib=0.001,1", "--max-latency-ms", "1e6",
                          "--workers", "1", "--pick", "first", "--out", out)
    assert rc == 0, err
    assert stdout == ""
    assert "[sweep] 4/4 solves (100%)" in err and f"wrote 4 row(s) to {out}" in err
    frame = pd.read_csv(out, keep_default_na=False)
    assert list(frame.columns) == ["bandwidth_mbps", "memory_mib", *TABLE_COLUMNS[2:]]
    assert frame[["bandwidth_mbps", "memory_mib"]].values.tolist() == [
        [0.5, 0.001], [0.5, 1.0], [5.0, 0.001], [5.0, 1.0]]
    profile = moosplit.read_profile(profile_path)
    problem = moosplit.SplitProblem(profile, moosplit.Network(1.0),
                                    constraints={"latency_ms": 1e6})
    library = sweep(problem, {"bandwidth_mbps": [0.5, 5], "memory_mib": [0.001, 1]},
                    pick="first", max_workers=1)
    assert frame["edge_nodes"].tolist() == library.frame["edge_nodes"].tolist()
    np.testing.assert_allclose(frame["latency_ms"], library.frame["latency_ms"], rtol=1e-15)
    np.testing.assert_allclose(frame["hypervolume"], library.frame["hypervolume"],
                               rtol=1e-15)


def test_cli_sweep_table_plot_and_bandwidth_from_vary(capsys, tmp_path, profile_path):
    plot = tmp_path / "sweep.svg"
    rc, stdout, err = cli(capsys, "sweep", profile_path, "--vary", "bandwidth_mbps=0.1,1,100",
                          "--vary", "memory_bytes=0,1e9", "--workers", "2", "--plot", plot,
                          "--plot-y", "latency_ms", "--solver", "exhaustive")
    assert rc == 0, err
    lines = stdout.splitlines()
    assert lines[0].split()[:4] == ["bandwidth_mbps", "max_memory_bytes", "status", "points"]
    assert len(lines) == 1 + 6
    assert "sweep: 6 combination(s) with exhaustive (6 optimal)" in err
    assert plot.read_text().lstrip().startswith("<?xml") and "<svg" in plot.read_text()


@pytest.mark.parametrize("options,message", [
    (["--vary", "bandwidth=1,2"], "--vary: cannot vary 'bandwidth'; valid names"),
    (["--vary", "bandwidth_mbps"], "--vary: expected NAME=V1,V2"),
    (["--vary", "rtt_ms=1,x"], "--vary rtt_ms: expected comma-separated numbers"),
    (["--vary", "rtt_ms=1", "--vary", "rtt_ms=2"], "given twice"),
    (["--vary", "rtt_ms=1"], "--bandwidth-mbps is required (or --transmitter, or --vary"),
    (["--vary", "bandwidth_mbps=1", "--plot", "x.eps"], "--plot must be a file name ending"),
    (["--vary", "bandwidth_mbps=1", "--pick", "best"], "--pick must be 'knee'"),
    (["--vary", "bandwidth_mbps=1", "--workers", "0"], "--workers must be a whole number >= 1"),
    (["--vary", "bandwidth_mbps=1,-2"], "bandwidth_mbps=-2: "),
])
def test_cli_sweep_bad_input_exits_2(capsys, tmp_path, profile_path, options, message):
    rc, stdout, err = cli(capsys, "sweep", profile_path, *options)
    assert rc == 2
    assert len(err.splitlines()) == 1 and message in err, err
    assert not (tmp_path / "x.eps").exists()


def test_cli_dask_without_distributed_names_the_package(capsys, monkeypatch, profile_path):
    import sys

    monkeypatch.setitem(sys.modules, "distributed", None)
    rc, _, err = cli(capsys, "sweep", profile_path, "--vary", "bandwidth_mbps=1",
                     "--dask", "tcp://127.0.0.1:1")
    assert rc == 2 and "pip install distributed" in err


def test_dask_cluster_executor(problem, table, capsys, profile_path):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, processes=False, dashboard_address=None
                                  ) as cluster, distributed.Client(cluster) as client:
        on_dask = sweep(problem, VARY, solver="cpsat", executor=client.get_executor())
        pd.testing.assert_frame_equal(plan_cells(on_dask.frame), plan_cells(table.frame))
        rc, stdout, err = cli(capsys, "sweep", profile_path, "--vary",
                              "bandwidth_mbps=0.5,5", "--dask", cluster.scheduler_address,
                              "--out", "-", "--quiet")
    assert rc == 0, err
    assert len(pd.read_csv(io.StringIO(stdout))) == 2


def test_notes_say_when_the_fallback_refused_too_and_group_alike_reasons(problem):
    from moosplit.cli.sweep import _notes

    strict = moosplit.get_solver("exhaustive", max_plans=100)
    table = sweep(problem.replace(bits=(4, 8)), {"max_split": [5, 6]}, solver=strict,
                  fallback="neurosurgeon", max_workers=1)
    assert list(table.frame["status"]) == ["refused", "refused"]
    notes = _notes(table)
    assert notes[0] == ("2 of 2 combination(s) have no front: exhaustive refused them, and so "
                        "did the fallback (status refused)")
    # the two reasons differ only in their plan counts: one note for both
    assert len(notes) == 3 and "(and 1 more combination(s) alike" in notes[1]
    assert notes[2] == "from the command line: --solver-opt max_plans=N"
