"""The `moosplit` command line against SPEC section 7 (options, front CSV, exit status)."""

from __future__ import annotations

import io
import re
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest

import moosplit
from moosplit.cli import compare as compare_module
from moosplit.cli import main
from moosplit.results.resolution import Resolution

COLUMNS = ["split", "edge_nodes", "latency_ms", "memory_bytes", "error", "edge_macs",
           "energy_mj", "throughput_fps", "tx_bytes", "bits_w", "bits_a", "codec"]
NUMERIC = COLUMNS[2:9]
HEADER = ",".join(COLUMNS)
BW = 2.0  # Mbit/s used by most tests

# A chain whose natural bottlenecks are known by hand: raw input 1000 elements at 8 bits =
# 1000 bytes; at 16-bit activations a sends 1200, b 800 (yes), c 1000 (equal: no),
# d 200 (yes), e 4000, f 20 (yes).
CHAIN_CSV = """\
# model: hand-made chain
name,op,inputs,out_elems,weight_elems,macs,edge_ms,cloud_ms
input,input,,1000,0,0,0,0
a,conv,input,600,10,100,1,0.1
b,conv,a,400,20,200,1,0.1
c,relu,b,500,0,500,0.1,0.01
d,conv,c,100,30,300,1,0.1
e,conv,d,2000,40,400,1,0.1
f,linear,e,10,50,500,1,0.1
"""

# A DAG where the raw input stays a cut tensor until `c` reads it: splits 1 and 2 send the
# input (1000 bytes) plus a or b, so only split 3 (c alone, 200 bytes) is a bottleneck,
# although a chain view that counts only the split node's output would list 1, 2 and 3.
DAG_CSV = """\
name,op,inputs,out_elems,weight_elems,macs,edge_ms,cloud_ms
input,input,,1000,0,0,0,0
a,conv,input,100,10,100,1,0.1
b,conv,a,100,10,100,1,0.1
c,concat,b input,100,0,100,0.1,0.01
d,linear,c,10,1000,1000,0.1,0.01
"""

# Two branches after a stem s: b has heavy weights and few MACs, a the reverse; only cut
# mode can run {s, a} on the edge without b.
BRANCHES_CSV = """\
name,op,inputs,out_elems,weight_elems,macs,edge_ms,cloud_ms
input,input,,1000,0,0,0,0
s,conv,input,100,10,1000,1,0.1
b,conv,s,100,100000,10,1,0.1
a,conv,s,10,10,50000,1,0.1
c,concat,a b,110,0,110,0.1,0.01
"""

CODECS_CSV = "codec,node,ratio,err,encode_ms\n" + "".join(
    f"zip,{node},{ratio},{err},{ms}\n" for node, ratio, err, ms in [
        ("input", 2, 0, 0.01), ("n1", 2, 0, 0.01), ("n2", 4, 0.01, 0.05),
        ("n3", 4, 0.01, 0.05), ("n4", 4, 0.01, 0.05), ("n5", 4, 0.01, 0.05),
        ("n6", 4, 0.01, 0.05)])


# ------------------------------------------------------------------ helpers
def cli(capsys, *argv) -> tuple[int, str, str]:
    """Run `moosplit argv...` in process: (exit status, stdout, stderr)."""
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def read_csv_text(text: str) -> pd.DataFrame:
    frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    for column in NUMERIC:
        frame[column] = pd.to_numeric(frame[column].replace("", np.nan))
    frame["split"] = frame["split"].astype(int)
    return frame


def cli_front(capsys, profile, *options) -> tuple[str, pd.DataFrame]:
    """`moosplit solve PROFILE options --out -`: the CSV text and its frame."""
    rc, out, err = cli(capsys, "solve", profile, "--bandwidth-mbps", BW, *options, "--out", "-")
    assert rc == 0, err
    assert out.splitlines()[0] == HEADER
    return out, read_csv_text(out)


def library_csv(problem: moosplit.SplitProblem, solver: str | None = None) -> str:
    """The front `moosplit.solve` gives (by default, the default backend, as the CLI)."""
    return moosplit.solve(problem, solver).to_frame().to_csv(index=False)


def tokens(frame: pd.DataFrame, column: str) -> set[str]:
    return {t for cell in frame[column] for t in cell.split()}


def one_line_error(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1, f"expected one stderr line, got {len(lines)}:\n{err}"
    return lines[0]


def covered(point: np.ndarray, front: np.ndarray, rtol: float = 1e-9) -> bool:
    """Whether a (minimised) point is weakly dominated by a row of front."""
    slack = rtol * np.maximum(np.abs(point), 1.0)
    return bool(np.any(np.all(front <= point + slack, axis=1)))


@pytest.fixture(scope="module")
def dag(tmp_path_factory) -> tuple[str, moosplit.Profile]:
    path = tmp_path_factory.mktemp("profiles") / "dag6.csv"
    moosplit.write_profile(moosplit.random_profile(6, kind="dag", bits=(4, 8), seed=1), path)
    return str(path), moosplit.read_profile(path)


@pytest.fixture(scope="module")
def energy(tmp_path_factory) -> tuple[str, moosplit.Profile]:
    path = tmp_path_factory.mktemp("profiles") / "energy5.csv"
    moosplit.write_profile(moosplit.random_profile(5, kind="chain", bits=(8,), energy=True,
                                                   seed=2), path)
    return str(path), moosplit.read_profile(path)


@pytest.fixture(scope="module")
def codecs(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("codecs") / "codecs.csv"
    path.write_text(CODECS_CSV)
    return str(path)


def exe() -> str:
    path = shutil.which("moosplit")
    if path is None:
        pytest.skip("the moosplit executable is not on PATH")
    return path


def run_many(argvs) -> list[subprocess.CompletedProcess]:
    """Run several `moosplit` commands at once (start-up dominates their time)."""
    procs = [(argv, subprocess.Popen([exe(), *map(str, argv)], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)) for argv in argvs]
    done = []
    for argv, proc in procs:
        out, err = proc.communicate(timeout=60)
        done.append(subprocess.CompletedProcess(argv, proc.returncode, out, err))
    return done


# ------------------------------------------------- the CSV is the library's front
LIBRARY_CASES = {
    # id: (CLI options, SplitProblem keyword arguments, Network keyword arguments)
    "defaults": ([], {}, {}),
    "objectives": (["--objectives", "latency_ms,memory_bytes,edge_macs"],
                   {"objectives": ("latency_ms", "memory_bytes", "edge_macs")}, {}),
    "rtt": (["--rtt-ms", "7.5"], {}, {"rtt_ms": 7.5}),
    "memory-mib": (["--memory-mib", "0.008"], {"constraints": {"memory_bytes": 0.008 * 2**20}},
                   {}),
    "memory-bytes": (["--memory-bytes", "6000"], {"constraints": {"memory_bytes": 6000}}, {}),
    "max-error": (["--max-error", "0.001"], {"constraints": {"error": 0.001}}, {}),
    "max-latency": (["--max-latency-ms", "10"], {"constraints": {"latency_ms": 10}}, {}),
    "bits": (["--bits", "4,16"], {"bits": (4, 16)}, {}),
    "split-bounds": (["--min-split", "1", "--max-split", "4"],
                     {"min_split": 1, "max_split": 4}, {}),
    "mode-cut": (["--mode", "cut", "--objectives", "latency_ms,memory_bytes,error"],
                 {"mode": "cut", "objectives": ("latency_ms", "memory_bytes", "error")}, {}),
    "mode-prefix": (["--mode", "prefix"], {"mode": "prefix"}, {}),
    "solver-seed-timelimit": (["--solver", "exhaustive", "--seed", "3", "--time-limit", "60"],
                              {}, {}),
}


@pytest.mark.parametrize("case", LIBRARY_CASES, ids=list(LIBRARY_CASES))
def test_solve_csv_is_the_library_front(capsys, tmp_path, dag, case):
    path, profile = dag
    options, problem_kw, network_kw = LIBRARY_CASES[case]
    problem = moosplit.SplitProblem(profile, moosplit.Network(BW, **network_kw), **problem_kw)
    text, frame = cli_front(capsys, path, *options)
    assert len(frame) > 0
    solver = options[options.index("--solver") + 1] if "--solver" in options else None
    assert text == library_csv(problem, solver)
    # written to a file, it reads back as a front of the same problem, equal to solve()'s
    out = tmp_path / "front.csv"
    rc, stdout, err = cli(capsys, "solve", path, "--bandwidth-mbps", BW, *options, "--out", out)
    assert rc == 0 and stdout == "", err
    assert f"wrote {len(frame)} plan(s) to {out}" in err
    assert out.read_text() == text
    read = moosplit.read_front(out, problem)
    assert moosplit.compare_fronts(read, moosplit.solve(problem, solver)).equal
    assert len(read) == len(frame)


def test_bundled_profile_readme_command(capsys, tmp_path):
    argv = ["portend_resnet20", "--objectives", "latency_ms,edge_macs", "--rtt-ms", "20"]
    _, frame = cli_front(capsys, *argv)
    profile = moosplit.load_profile("portend_resnet20")
    problem = moosplit.SplitProblem(profile, moosplit.Network(BW, rtt_ms=20),
                                    objectives=("latency_ms", "edge_macs"))
    front = moosplit.solve(problem)
    out = tmp_path / "resnet.csv"
    assert cli(capsys, "solve", *argv, "--bandwidth-mbps", BW, "--out", out)[0] == 0
    assert moosplit.compare_fronts(moosplit.read_front(out, problem), front).equal
    # edge_macs is maximised: edge-only (all MACs) and cloud-only (0 MACs) are both on it
    assert frame["edge_macs"].max() == profile.macs.sum()
    assert frame["edge_macs"].min() == 0
    # without --out a table: the objectives come first after split and the edge column
    rc, out_text, err = cli(capsys, "solve", *argv, "--bandwidth-mbps", BW)
    assert rc == 0
    header = out_text.splitlines()[0].split()
    assert header[:4] == ["split", "last_edge_node", "latency_ms", "edge_macs"]
    assert len(out_text.splitlines()) == 1 + len(frame)
    # the default backend: epsilon, certified
    assert re.fullmatch(r"epsilon: optimal, \d+ point\(s\), (exact|certified within .*), .*",
                        err.strip())


# ------------------------------------------------------- what each option changes
def test_csv_columns_and_cells(capsys, dag):
    path, profile = dag
    _, frame = cli_front(capsys, path, "--objectives", "latency_ms,memory_bytes,error")
    assert list(frame.columns) == COLUMNS
    for _, row in frame.iterrows():
        nodes = row["edge_nodes"].split()
        assert row["split"] == len(nodes)
        assert nodes == list(profile.names[1:1 + row["split"]])
        bits_w, bits_a = row["bits_w"].split(), row["bits_a"].split()
        assert len(bits_w) == len(bits_a) == len(nodes)
        for node, bw in zip(nodes, bits_w, strict=True):
            assert (bw == "-") == (not profile.has_weights[profile.index[node]])
        assert row["codec"] == "none"
    # energy needs edge_mj and a transmit power: this profile has neither -> empty cells
    assert frame["energy_mj"].isna().all()


def test_objectives_front_is_nondominated_in_the_chosen_senses(capsys, dag):
    path, _ = dag
    _, frame = cli_front(capsys, path, "--objectives", "latency_ms,edge_macs")
    F = np.column_stack([frame["latency_ms"], -frame["edge_macs"]])  # macs maximised
    for i in range(len(F)):
        others = np.delete(F, i, axis=0)
        assert not np.any(np.all(others <= F[i], axis=1) & np.any(others < F[i], axis=1))
    assert frame["edge_macs"].max() > 0  # a maximised objective pulls work onto the edge


@pytest.mark.parametrize("option,quantity,objectives", [
    ("--memory-bytes", "memory_bytes", "latency_ms,memory_bytes"),
    ("--memory-mib", "memory_bytes", "latency_ms,memory_bytes"),
    ("--max-error", "error", "latency_ms,error"),
    ("--max-latency-ms", "latency_ms", "latency_ms,error"),
])
def test_constraint_on_an_objective_filters_the_front(capsys, dag, option, quantity,
                                                      objectives):
    """A bound on an objective keeps exactly the unconstrained front's points within it."""
    path, _ = dag
    _, free = cli_front(capsys, path, "--objectives", objectives)
    values = np.unique(free[quantity])
    assert len(values) >= 2
    limit = (values[-1] + values[-2]) / 2  # drops the largest
    given = limit / 2**20 if option == "--memory-mib" else limit
    _, bound = cli_front(capsys, path, "--objectives", objectives, option, repr(float(given)))
    assert 0 < len(bound) < len(free)
    assert (bound[quantity] <= limit * (1 + 1e-12)).all()
    kept = free[free[quantity] <= limit].reset_index(drop=True)
    pd.testing.assert_frame_equal(bound, kept)


def test_memory_mib_and_memory_bytes_agree(capsys, dag):
    path, _ = dag
    by_mib, _ = cli_front(capsys, path, "--memory-mib", "0.0075")
    by_bytes, _ = cli_front(capsys, path, "--memory-bytes", str(0.0075 * 2**20))
    assert by_mib == by_bytes


def test_constraint_on_a_non_objective(capsys, dag):
    path, _ = dag
    _, free = cli_front(capsys, path)  # latency_ms, error
    limit = free["memory_bytes"].max() - 1
    _, bound = cli_front(capsys, path, "--memory-bytes", repr(float(limit)))
    assert len(bound) > 0 and (bound["memory_bytes"] <= limit).all()


def test_rtt_shifts_every_latency(capsys, dag):
    path, _ = dag
    _, base = cli_front(capsys, path)
    _, shifted = cli_front(capsys, path, "--rtt-ms", "25")
    assert base["edge_nodes"].tolist() == shifted["edge_nodes"].tolist()
    np.testing.assert_allclose(shifted["latency_ms"], base["latency_ms"] + 25, rtol=1e-12)


@pytest.mark.parametrize("bandwidth", [0.5, 2.0, 40.0])
def test_bandwidth_latency_decomposition(capsys, dag, bandwidth):
    """Latency = edge ms + rtt + transmit ms + cloud ms, recomputed from the profile."""
    path, profile = dag
    rc, out, err = cli(capsys, "solve", path, "--bandwidth-mbps", bandwidth, "--rtt-ms", 3,
                       "--out", "-")
    assert rc == 0, err
    frame = read_csv_text(out)
    for _, row in frame.iterrows():
        n = row["split"]
        expected = (profile.edge_ms[1:n + 1].sum() + 3 + profile.cloud_ms[n + 1:].sum()
                    + row["tx_bytes"] * 8 / (bandwidth * 1e6) * 1e3)
        assert row["latency_ms"] == pytest.approx(expected, rel=1e-9)
    cloud_only = frame[frame["split"] == 0]
    if len(cloud_only):  # the raw input at its own 8 bits
        assert cloud_only["tx_bytes"].iloc[0] == profile.input_bytes


def test_lower_bandwidth_moves_work_to_the_edge(capsys, dag):
    path, _ = dag
    rc, fast, _ = cli(capsys, "solve", path, "--bandwidth-mbps", 1000, "--objectives",
                      "latency_ms", "--out", "-")
    rc2, slow, _ = cli(capsys, "solve", path, "--bandwidth-mbps", 0.01, "--objectives",
                       "latency_ms", "--out", "-")
    assert rc == rc2 == 0
    fast_split = read_csv_text(fast)["split"].iloc[0]
    slow_frame = read_csv_text(slow)
    assert fast_split == 0  # cloud is ~5x faster and the link is free
    assert slow_frame["split"].iloc[0] > 0
    assert slow_frame["tx_bytes"].iloc[0] < read_csv_text(fast)["tx_bytes"].iloc[0]


@pytest.mark.parametrize("bits,allowed", [("8", {"8"}), ("4,16", {"4", "16"}),
                                          ("16", {"16"})])
def test_bits_restrict_every_edge_bit_width(capsys, dag, bits, allowed):
    path, _ = dag
    _, frame = cli_front(capsys, path, "--bits", bits, "--objectives", "latency_ms,edge_macs")
    assert tokens(frame, "bits_a") <= allowed
    assert tokens(frame, "bits_w") <= allowed | {"-"}
    assert tokens(frame, "bits_a")  # some plan runs something on the edge


def test_default_bits_are_every_width_of_the_profile(capsys, dag):
    path, _ = dag
    _, frame = cli_front(capsys, path, "--mode", "cut",
                         "--objectives", "latency_ms,memory_bytes,error")
    assert tokens(frame, "bits_a") | tokens(frame, "bits_w") - {"-"} == {"4", "8", "16"}


def test_min_split_one_removes_split_zero(capsys, dag):
    path, _ = dag
    _, free = cli_front(capsys, path)
    assert (free["split"] == 0).any()
    _, bound = cli_front(capsys, path, "--min-split", "1")
    assert len(bound) > 0 and (bound["split"] >= 1).all()


@pytest.mark.parametrize("low,high", [(0, 1), (2, 4), (6, 6), (3, 3)])
def test_split_bounds(capsys, dag, low, high):
    path, _ = dag
    _, frame = cli_front(capsys, path, "--min-split", low, "--max-split", high,
                         "--objectives", "latency_ms,memory_bytes")
    assert len(frame) > 0
    assert frame["split"].between(low, high).all()


def test_mode_cut(capsys, dag):
    path, profile = dag
    objectives = "latency_ms,memory_bytes,error"
    _, cut = cli_front(capsys, path, "--mode", "cut", "--objectives", objectives)
    _, prefix = cli_front(capsys, path, "--objectives", objectives)
    assert (cut["split"] == -1).all()
    assert (prefix["split"] >= 0).all()
    for cell in cut["edge_nodes"]:
        edge = {profile.index[name] for name in cell.split()}
        for node in edge:  # closed under predecessors (the input row is not a decision)
            assert all(p == 0 or p in edge for p in profile.inputs[node])
    # every prefix set is predecessor-closed, so the cut front covers the prefix front
    cols = objectives.split(",")
    for point in prefix[cols].to_numpy():
        assert covered(point, cut[cols].to_numpy())


def test_mode_cut_finds_a_plan_no_prefix_has(capsys, tmp_path):
    """{s, a} skips the heavy-weight branch b: more MACs and less memory than {s, b}."""
    path = tmp_path / "branches.csv"
    path.write_text(BRANCHES_CSV)
    options = ["--objectives", "edge_macs,memory_bytes", "--solver", "exhaustive"]
    _, prefix = cli_front(capsys, path, *options)
    _, cut = cli_front(capsys, path, *options, "--mode", "cut")
    assert "s a" not in set(prefix["edge_nodes"])
    assert "s b" in set(prefix["edge_nodes"])
    assert "s a" in set(cut["edge_nodes"])
    assert "s b" not in set(cut["edge_nodes"])
    row = cut[cut["edge_nodes"] == "s a"].iloc[0]
    assert row["split"] == -1 and row["edge_macs"] == 51000


def test_mode_cut_on_a_chain_equals_prefix(capsys):
    _, prefix = cli_front(capsys, "portend_resnet20", "--objectives", "latency_ms,memory_bytes")
    _, cut = cli_front(capsys, "portend_resnet20", "--objectives", "latency_ms,memory_bytes",
                       "--mode", "cut")
    assert (cut["split"] == -1).all()
    pd.testing.assert_frame_equal(prefix.drop(columns="split"), cut.drop(columns="split"))


def test_seed_does_not_change_a_deterministic_backend(capsys, dag):
    path, _ = dag
    outputs = {cli_front(capsys, path, *seed)[0] for seed in ([], ["--seed", "1"],
                                                              ["--seed", "99"])}
    assert len(outputs) == 1


def test_time_limit_stops_early_with_feasible_plans(capsys, tmp_path):
    path = tmp_path / "chain7.csv"
    profile = moosplit.random_profile(7, kind="chain", bits=(4, 8), seed=3)
    moosplit.write_profile(profile, path)  # about 1.8 million plans
    out = tmp_path / "front.csv"
    rc, stdout, err = cli(capsys, "solve", path, "--bandwidth-mbps", BW, "--time-limit",
                          "0.001", "--out", out)
    assert rc == 0, err
    assert "time limit" in err and "feasible" in err
    problem = moosplit.SplitProblem(moosplit.read_profile(path), moosplit.Network(BW))
    moosplit.read_front(out, problem)  # re-evaluates: feasible, non-dominated, consistent


def test_time_limited_front_does_not_claim_exact(capsys, tmp_path):
    path = tmp_path / "chain7.csv"
    moosplit.write_profile(moosplit.random_profile(7, kind="chain", bits=(4, 8), seed=3), path)
    rc, _, err = cli(capsys, "solve", path, "--bandwidth-mbps", BW, "--time-limit", "0.001")
    assert rc == 0 and "time limit" in err
    assert "exact" not in err


def test_tx_power_and_energy(capsys, energy):
    path, profile = energy
    _, frame = cli_front(capsys, path, "--objectives", "latency_ms,energy_mj",
                         "--tx-power-mw", "800")
    assert frame["energy_mj"].notna().all()
    for _, row in frame.iterrows():
        n = row["split"]
        transmit_s = row["tx_bytes"] * 8 / (BW * 1e6)
        assert row["energy_mj"] == pytest.approx(profile.edge_mj[1:n + 1].sum()
                                                 + 800 * transmit_s, rel=1e-9)
    problem = moosplit.SplitProblem(profile, moosplit.Network(BW, tx_power_mw=800),
                                    objectives=("latency_ms", "energy_mj"))
    assert cli_front(capsys, path, "--objectives", "latency_ms,energy_mj",
                     "--tx-power-mw", "800")[0] == library_csv(problem)
    # energy is reported (not only optimised) once the power is known
    _, other = cli_front(capsys, path, "--tx-power-mw", "800")
    assert other["energy_mj"].notna().all()
    # and left empty when it is not
    _, none = cli_front(capsys, path)
    assert none["energy_mj"].isna().all()


def test_codecs(capsys, dag, codecs):
    path, profile = dag
    _, frame = cli_front(capsys, path, "--codecs", codecs)
    assert set(frame["codec"]) <= {"none", "zip"}
    assert (frame["codec"] == "zip").any()
    problem = moosplit.SplitProblem(profile, moosplit.Network(BW),
                                    codecs=moosplit.read_codecs(codecs, profile))
    assert cli_front(capsys, path, "--codecs", codecs)[0] == library_csv(problem)
    # zip halves the raw input (ratio 2) and adds its encode time on the edge
    # (input row: ratio 2, err 0, encode 0.01 ms, so at split 0 zip dominates none)
    _, plain = cli_front(capsys, path, "--max-split", "0")
    _, zipped = cli_front(capsys, path, "--codecs", codecs, "--max-split", "0")
    assert plain["codec"].tolist() == ["none"] and zipped["codec"].tolist() == ["zip"]
    assert plain["tx_bytes"][0] == pytest.approx(profile.input_bytes)
    assert zipped["tx_bytes"][0] == pytest.approx(profile.input_bytes / 2)
    saved_ms = profile.input_bytes / 2 * 8 / (BW * 1e6) * 1e3
    assert zipped["latency_ms"][0] == pytest.approx(plain["latency_ms"][0] - saved_ms + 0.01)
    # the table shows a codec column when a codec is used
    rc, table, _ = cli(capsys, "solve", path, "--bandwidth-mbps", BW, "--codecs", codecs)
    assert rc == 0 and table.splitlines()[0].split()[-1] == "codec"


def test_resolution_with_a_solver_that_takes_it(capsys, dag):
    takers = [n for n, c in moosplit.available_solvers().items() if c.supports_resolution]
    if not takers:
        pytest.skip("no registered backend takes --resolution yet")
    path, profile = dag
    problem = moosplit.SplitProblem(profile, moosplit.Network(float(BW)),
                                    objectives=("latency_ms", "error"))
    exact = moosplit.solve(problem, "exhaustive").F
    slack = 0.2 * (exact.max(axis=0) - exact.min(axis=0))
    for solver in takers:
        rc, out, err = cli(capsys, "solve", path, "--bandwidth-mbps", BW, "--solver", solver,
                           "--resolution", "0.2", "--out", "-")
        assert rc == 0, err
        assert out.splitlines()[0] == HEADER
        F = pd.read_csv(io.StringIO(out))[["latency_ms", "error"]].to_numpy()
        # (a certified front keeps each objective's best plan: on a 3-point front it may
        # keep all of them)
        assert 0 < len(F) <= len(exact)
        assert "certified" in err
        # every exact point is covered within 0.2 x its objective's range
        for point in exact:
            assert np.any(np.all(F <= point + slack + 1e-12, axis=1)), point


def test_default_is_certified_and_resolution_exact_is_exact(capsys, dag):
    path, profile = dag
    problem = moosplit.SplitProblem(profile, moosplit.Network(float(BW)),
                                    objectives=("latency_ms", "error"))
    exact = moosplit.solve(problem, "exhaustive")
    rc, out, err = cli(capsys, "solve", path, "--bandwidth-mbps", BW, "--out", "-")
    assert rc == 0 and "certified within" in err and "error x1.1" in err
    default = pd.read_csv(io.StringIO(out))[["latency_ms", "error"]].to_numpy()
    assert np.all(Resolution.parse("error=x1.1,1%").slack(
        ("latency_ms", "error"), exact.F.min(axis=0), exact.F.max(axis=0)).covers(
        default, exact.F, rtol=1e-9))
    for argv in (("--resolution", "exact"), ("--solver", "epsilon")):
        rc, out, err = cli(capsys, "solve", path, "--bandwidth-mbps", BW, *argv, "--out", "-")
        assert rc == 0 and "epsilon: optimal" in err and "exact" in err, argv
        F = pd.read_csv(io.StringIO(out))[["latency_ms", "error"]].to_numpy()
        assert len(F) == len(exact) and np.allclose(np.sort(F, axis=0),
                                                    np.sort(exact.F, axis=0), rtol=1e-9)


# ------------------------------------------------- infeasible problems and bad input
def test_infeasible_is_success_with_an_empty_front(capsys, dag, tmp_path):
    path, _ = dag
    rc, out, err = cli(capsys, "solve", path, "--bandwidth-mbps", BW,
                       "--max-latency-ms", "0.0001", "--out", "-")
    assert rc == 0
    assert out == HEADER + "\n"
    assert "no feasible plan" in err or "infeasible" in err
    rc, out, err = cli(capsys, "solve", "portend_resnet20", "--bandwidth-mbps", BW,
                       "--max-latency-ms", "0.0001")
    assert rc == 0 and "empty" in out and "infeasible" in err
    file = tmp_path / "empty.csv"
    assert cli(capsys, "solve", path, "--bandwidth-mbps", BW, "--memory-bytes", "0",
               "--min-split", "1", "--out", file)[0] == 0
    assert file.read_text() == HEADER + "\n"


BAD_PROFILES = {
    "nonnumeric": ("name,op,inputs,out_elems,weight_elems,macs,edge_ms,cloud_ms\n"
                   "input,input,,100,0,0,0,0\na,conv,input,abc,10,10,1,1\n", "out_elems"),
    "unknown-input": ("name,op,inputs,out_elems,weight_elems,macs,edge_ms,cloud_ms\n"
                      "input,input,,100,0,0,0,0\na,conv,nosuch,10,10,10,1,1\n", "nosuch"),
    "missing-column": ("name,op,inputs,out_elems,weight_elems,macs,edge_ms\n"
                       "input,input,,100,0,0,0\na,conv,input,10,10,10,1\n", "cloud_ms"),
    "duplicate": ("name,op,inputs,out_elems,weight_elems,macs,edge_ms,cloud_ms\n"
                  "input,input,,100,0,0,0,0\na,conv,input,10,10,10,1,1\n"
                  "a,conv,a,10,10,10,1,1\n", "duplicate"),
    "cycle": ("name,op,inputs,out_elems,weight_elems,macs,edge_ms,cloud_ms\n"
              "input,input,,100,0,0,0,0\na,conv,b,10,10,10,1,1\nb,conv,a,10,10,10,1,1\n",
              "cycle"),
    "negative": ("name,op,inputs,out_elems,weight_elems,macs,edge_ms,cloud_ms\n"
                 "input,input,,100,0,0,0,0\na,conv,input,10,10,10,-1,1\n", "edge_ms"),
    "ragged": ("name,op,inputs,out_elems,weight_elems,macs,edge_ms,cloud_ms\n"
               "input,input,,100,0,0,0,0\na,conv,input,10,10,10,1,1,7\n", "bad.csv"),
    "empty": ("", "bad.csv"),
    "header-only": ("name,op,inputs,out_elems,weight_elems,macs,edge_ms,cloud_ms\n", "rows"),
}


@pytest.mark.parametrize("case", BAD_PROFILES, ids=list(BAD_PROFILES))
@pytest.mark.parametrize("command", ["solve", "info"])
def test_malformed_profile_exits_2_with_one_line(capsys, tmp_path, case, command):
    text, word = BAD_PROFILES[case]
    path = tmp_path / "bad.csv"
    path.write_text(text)
    argv = [command, path] + (["--bandwidth-mbps", BW] if command == "solve" else [])
    rc, out, err = cli(capsys, *argv)
    assert rc == 2 and out == ""
    line = one_line_error(err)
    assert line.startswith("moosplit: error:")
    assert "bad.csv" in line and word in line


BAD_OPTIONS = {
    # id: (argv after `solve`, words the one stderr line must contain)
    "missing-file": (["nosuch.csv", "--bandwidth-mbps", "1"], ["nosuch.csv"]),
    "unknown-bundled": (["portend_resnet", "--bandwidth-mbps", "1"],
                        ["portend_resnet", "portend_resnet20"]),
    "unknown-objective": (["@dag", "--bandwidth-mbps", "1", "--objectives", "latency,error"],
                          ["objective", "'latency'", "latency_ms"]),
    "duplicate-objective": (["@dag", "--bandwidth-mbps", "1", "--objectives",
                             "error,error"], ["objectives"]),
    "empty-objectives": (["@dag", "--bandwidth-mbps", "1", "--objectives", ","],
                         ["--objectives"]),
    "bits-text": (["@dag", "--bandwidth-mbps", "1", "--bits", "4,x"], ["--bits", "4,x"]),
    "bits-float": (["@dag", "--bandwidth-mbps", "1", "--bits", "4.5"], ["--bits"]),
    "bits-missing-width": (["@dag", "--bandwidth-mbps", "1", "--bits", "2,8"],
                           ["bits", "[2]", "4, 8, 16"]),
    "bits-bundled": (["portend_resnet20", "--bandwidth-mbps", "1", "--bits", "8"],
                     ["bits", "[8]"]),
    "negative-bandwidth": (["@dag", "--bandwidth-mbps", "-1"], ["bandwidth", "-1"]),
    "zero-bandwidth": (["@dag", "--bandwidth-mbps", "0"], ["bandwidth"]),
    "text-bandwidth": (["@dag", "--bandwidth-mbps", "fast"], ["--bandwidth-mbps", "fast"]),
    "negative-rtt": (["@dag", "--bandwidth-mbps", "1", "--rtt-ms", "-3"], ["rtt"]),
    "negative-tx-power": (["@dag", "--bandwidth-mbps", "1", "--tx-power-mw", "-1"],
                          ["--tx-power-mw"]),
    "both-memory": (["@dag", "--bandwidth-mbps", "1", "--memory-mib", "1", "--memory-bytes",
                     "5"], ["--memory-bytes", "--memory-mib"]),
    "negative-memory": (["@dag", "--bandwidth-mbps", "1", "--memory-mib", "-3"],
                        ["--memory-mib"]),
    "negative-error": (["@dag", "--bandwidth-mbps", "1", "--max-error", "-1"],
                       ["--max-error"]),
    "nan-latency": (["@dag", "--bandwidth-mbps", "1", "--max-latency-ms", "nan"],
                    ["--max-latency-ms"]),
    "min-split-range": (["@dag", "--bandwidth-mbps", "1", "--min-split", "7"],
                        ["--min-split", "0..6"]),
    "min-above-max": (["@dag", "--bandwidth-mbps", "1", "--min-split", "4", "--max-split",
                       "2"], ["--min-split", "max_split"]),
    "bad-mode": (["@dag", "--bandwidth-mbps", "1", "--mode", "tree"], ["--mode", "tree"]),
    "resolution-negative": (["@dag", "--bandwidth-mbps", "1", "--resolution", "-0.1"],
                            ["--resolution"]),
    "unknown-solver": (["@dag", "--bandwidth-mbps", "1", "--solver", "magic"],
                       ["--solver", "magic"]),
    "missing-bandwidth": (["@dag"], ["--bandwidth-mbps", "required"]),
    "missing-profile": (["--bandwidth-mbps", "1"], ["PROFILE", "required"]),
    "bad-seed": (["@dag", "--bandwidth-mbps", "1", "--seed", "abc"], ["--seed"]),
    "zero-time-limit": (["@dag", "--bandwidth-mbps", "1", "--time-limit", "0"],
                        ["--time-limit"]),
    "energy-without-column": (["@dag", "--bandwidth-mbps", "1", "--objectives", "energy_mj",
                               "--tx-power-mw", "5"], ["energy_mj", "edge_mj"]),
    "energy-without-power": (["@energy", "--bandwidth-mbps", "1", "--objectives",
                              "energy_mj"], ["--tx-power-mw"]),
    "missing-codecs": (["@dag", "--bandwidth-mbps", "1", "--codecs", "nocodecs.csv"],
                       ["nocodecs.csv"]),
    "codec-unknown-node": (["@dag", "--bandwidth-mbps", "1", "--codecs", "@badcodecs"],
                           ["badcodecs.csv", "nosuch"]),
    "profile-is-directory": (["@dir", "--bandwidth-mbps", "1"], ["Is a directory"]),
    "too-many-plans": (["@big", "--bandwidth-mbps", "1", "--solver", "exhaustive"],
                       ["exhaustive", "plans",
                        "raise max_plans; from the command line: --solver-opt max_plans=N"]),
    # --solver-opt reaches the backend: epsilon refuses a problem past its max_labels
    "too-many-labels": (["alexnet", "--bandwidth-mbps", "10", "--solver", "epsilon",
                         "--solver-opt", "max_labels=10"],
                        ["epsilon:", "would need", "more than max_labels=10",
                         "raise max_labels (memory grows with it); from the command line: "
                         "--solver-opt max_labels=N"]),
    "solver-opt-unknown": (["@dag", "--bandwidth-mbps", "1", "--solver-opt", "nosuch=1"],
                           ["--solver-opt nosuch", "not an option of epsilon", "max_labels"]),
    "solver-opt-of-another-backend": (["@dag", "--bandwidth-mbps", "1", "--solver", "epsilon",
                                       "--solver-opt", "n_gen=5"],
                                      ["--solver-opt n_gen", "not an option of epsilon"]),
    "solver-opt-text": (["@dag", "--bandwidth-mbps", "1", "--solver-opt", "max_labels=abc"],
                        ["--solver-opt max_labels", "whole number", "'abc'"]),
    "solver-opt-zero": (["@dag", "--bandwidth-mbps", "1", "--solver-opt", "max_labels=0"],
                        ["--solver-opt max_labels", ">= 1", "got 0"]),
    "solver-opt-no-value": (["@dag", "--bandwidth-mbps", "1", "--solver-opt", "max_labels"],
                            ["--solver-opt", "KEY=VALUE", "'max_labels'"]),
    "solver-opt-no-key": (["@dag", "--bandwidth-mbps", "1", "--solver-opt", "=3"],
                          ["--solver-opt", "KEY=VALUE", "'=3'"]),
    "solver-opt-resolution": (["@dag", "--bandwidth-mbps", "1", "--solver-opt",
                               "resolution=0.5"], ["--solver-opt resolution", "--resolution"]),
}


@pytest.mark.parametrize("case", BAD_OPTIONS, ids=list(BAD_OPTIONS))
def test_bad_input_exits_2_with_one_line(capsys, tmp_path, dag, energy, case):
    big = tmp_path / "big.csv"
    moosplit.write_profile(moosplit.random_profile(12, bits=(2, 4, 8), seed=3), big)
    badcodecs = tmp_path / "badcodecs.csv"
    badcodecs.write_text("codec,node,ratio,err,encode_ms\nzip,nosuch,2,0,0\n")
    paths = {"@dag": dag[0], "@energy": energy[0], "@big": str(big),
             "@badcodecs": str(badcodecs), "@dir": str(tmp_path)}
    argv, words = BAD_OPTIONS[case]
    rc, out, err = cli(capsys, "solve", *[paths.get(a, a) for a in argv])
    assert rc == 2
    assert out == ""
    line = one_line_error(err)
    assert line.startswith("moosplit: error:")
    for word in words:
        assert word in line, f"{word!r} not in {line!r}"


def test_info_unknown_profile_exits_2(capsys):
    rc, out, err = cli(capsys, "info", "portend_resnet")
    assert rc == 2 and out == ""
    assert "portend_resnet20" in one_line_error(err)


def test_solve_without_a_solver_falls_back_to_a_heuristic_when_the_default_refuses(capsys):
    argv = ["solve", "alexnet", "--bandwidth-mbps", "10", "--solver-opt", "max_labels=10",
            "--seed", "1", "--out", "-"]
    rc, out, err = cli(capsys, *argv)
    assert rc == 0, err
    notes = [line for line in err.splitlines() if line.startswith("note: epsilon")]
    assert len(notes) == 1 and "more than max_labels=10" in notes[0]
    assert "nsga2's, a heuristic, not certified" in notes[0]
    assert re.search(r"^nsga2: feasible, \d+ point\(s\), heuristic", err, re.M), err
    front = pd.read_csv(io.StringIO(out))
    assert len(front) > 1 and front["error"].min() == 0  # cloud-only is on every front
    # a named backend is never replaced
    rc, out, err = cli(capsys, *argv[:-2], "--solver", "epsilon")
    assert rc == 2 and "more than max_labels=10" in one_line_error(err)


# ------------------------------------------- --solver-opt and defaults of sweep, compare
def test_sweep_passes_solver_options_to_its_backend(capsys):
    argv = ["sweep", "alexnet", "--vary", "bandwidth_mbps=5,10", "--out", "-"]
    # a named backend's refusals are rows that say why
    rc, out, err = cli(capsys, *argv, "--solver", "epsilon", "--solver-opt", "max_labels=10")
    assert rc == 0, err
    notes = [line for line in err.splitlines() if line.startswith("note: ")]
    assert notes[0] == "note: 2 of 2 combination(s) have no front: epsilon refused them " \
        "(status refused)"
    # reasons alike but for their counts and nodes are one note
    assert len(notes) == 3 and notes[1].startswith("note: refused because: epsilon: ")
    assert "max_labels=10" in notes[1] and "(and 1 more combination(s) alike" in notes[1]
    assert notes[2] == "note: from the command line: --solver-opt max_labels=N"
    assert re.search(r"\(2 refused\)", err), err
    rows = pd.read_csv(io.StringIO(out))
    assert list(rows["solver"]) == ["epsilon"] * 2 and list(rows["points"]) == [0, 0]
    assert list(rows["status"]) == ["refused"] * 2
    assert all("max_labels=10" in s for s in rows["refusal"])
    rc, out, err = cli(capsys, *argv, "--solver-opt", "max_labels=5000000")
    assert rc == 0, err
    rows = pd.read_csv(io.StringIO(out))
    assert list(rows["status"]) == ["optimal"] * 2 and list(rows["solver"]) == ["epsilon"] * 2
    rc, out, err = cli(capsys, *argv, "--solver-opt", "nosuch=1")
    assert rc == 2 and "--solver-opt nosuch" in one_line_error(err)


def test_sweep_without_a_solver_falls_back_to_a_heuristic_where_the_default_refuses(capsys):
    argv = ["sweep", "alexnet", "--vary", "bandwidth_mbps=5,10", "--solver-opt",
            "max_labels=10", "--workers", "1"]
    rc, out, err = cli(capsys, *argv, "--out", "-")
    assert rc == 0, err
    rows = pd.read_csv(io.StringIO(out))
    assert list(rows["solver"]) == ["nsga2"] * 2 and list(rows["status"]) == ["feasible"] * 2
    assert (rows["points"] > 0).all() and rows["split"].notna().all()
    assert rows["refusal"].str.contains("more than max_labels=10").all()
    notes = [line for line in err.splitlines() if line.startswith("note: ")]
    assert notes[0] == ("note: epsilon refused 2 of 2 combination(s); their rows are nsga2's "
                        "fronts, a heuristic, not certified (name --solver to choose a "
                        "backend)")
    assert len(notes) == 3 and notes[1].startswith("note: refused because: epsilon: ")
    assert notes[2] == "note: from the command line: --solver-opt max_labels=N"
    # the terminal table shows whose rows they are; --quiet keeps the notes
    rc, out, quiet_err = cli(capsys, *argv, "--quiet")
    assert rc == 0 and out.splitlines()[0].split()[:3] == ["bandwidth_mbps", "status", "solver"]
    assert [line for line in quiet_err.splitlines() if line.startswith("note: ")] == notes
    assert "sweep: " not in quiet_err


def test_compare_passes_solver_options_to_the_backends_that_take_them(capsys, dag):
    path, _ = dag
    rc, out, err = cli(capsys, "compare", path, "--bandwidth-mbps", BW, "--solvers",
                       "epsilon,nsga2,lagrangian", "--solver-opt", "max_labels=1",
                       "--solver-opt", "n_gen=2", "--out", "-")
    assert rc == 0, err
    table = pd.read_csv(io.StringIO(out)).set_index("solver")
    assert table.loc["epsilon", "status"] == "refused"
    assert table.loc["lagrangian", "status"] == "feasible" and table.loc["nsga2", "points"] > 0
    assert re.search(r"note: epsilon refused: .*more than max_labels=1\b", err), err
    rc, out, err = cli(capsys, "compare", path, "--bandwidth-mbps", BW, "--solvers",
                       "epsilon,lagrangian", "--solver-opt", "n_gen=2")
    assert rc == 2 and "--solver-opt n_gen" in one_line_error(err)


def test_sweep_without_solver_is_the_certified_default(capsys):
    rc, out, err = cli(capsys, "sweep", "alexnet", "--vary", "bandwidth_mbps=5,10", "--quiet",
                       "--out", "-")
    assert rc == 0, err
    rows = pd.read_csv(io.StringIO(out))
    profile = moosplit.load_profile("alexnet")
    for bandwidth, points in zip(rows["bandwidth_mbps"], rows["points"], strict=True):
        problem = moosplit.SplitProblem(profile, moosplit.Network(float(bandwidth)))
        default = moosplit.solve(problem)
        assert default.guarantee.kind == "certified"
        assert points == len(default)
        # (which tells it from the exact front: hundreds of points on AlexNet)
        assert points < len(moosplit.solve(problem, "epsilon"))


def test_compare_without_solvers_has_a_certified_reference(capsys, dag):
    path, _ = dag
    rc, out, err = cli(capsys, "compare", path, "--bandwidth-mbps", BW, "--out", "-")
    assert rc == 0, err
    assert re.search(r"^reference front: \d+ point\(s\), certified by epsilon$", err, re.M), err
    table = pd.read_csv(io.StringIO(out)).set_index("solver")
    assert table.loc["epsilon", "guarantee"] == "certified"
    assert len(table) == len(compare_module.DEFAULT.split(","))
    rc, out, err = cli(capsys, "compare", path, "--bandwidth-mbps", BW, "--resolution", "exact",
                       "--out", "-")
    assert rc == 0 and re.search(r"^reference front: \d+ point\(s\), exact$", err, re.M), err


# ------------------------------------------------------------ the real executable
def test_executable_success_and_stream_split(tmp_path):
    table, csv, quiet = run_many([
        ("solve", "portend_resnet20", "--objectives", "latency_ms,edge_macs",
         "--bandwidth-mbps", 10, "--rtt-ms", 20),
        ("solve", "portend_resnet20", "--bandwidth-mbps", 10, "--out", "-"),
        ("solve", "portend_resnet20", "--bandwidth-mbps", 10, "--quiet", "--out",
         tmp_path / "f.csv"),
    ])
    assert table.returncode == 0, table.stderr
    assert table.stdout.splitlines()[0].split()[:3] == ["split", "last_edge_node", "latency_ms"]
    assert one_line_error(table.stderr).startswith("epsilon: optimal")  # the default
    assert csv.returncode == 0
    assert csv.stdout.splitlines()[0] == HEADER
    assert "point(s)" in csv.stderr and HEADER not in csv.stderr
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "", "")
    assert (tmp_path / "f.csv").read_text().splitlines()[0] == HEADER


EXE_BAD_INPUT = [  # a sample; the in-process tests above cover every case
    (["solve", "nosuch.csv", "--bandwidth-mbps", 1], "nosuch.csv"),
    (["solve", "portend_resnet20", "--bandwidth-mbps", -1], "bandwidth"),
    (["solve", "portend_resnet20", "--bandwidth-mbps", 1, "--objectives", "speed"], "speed"),
    (["solve", "portend_resnet20", "--bits", "4"], "--bandwidth-mbps"),
    (["info", "nosuch"], "nosuch"),
]


def test_executable_infeasible_and_bad_input(tmp_path):
    bad_profile = tmp_path / "bad.csv"
    bad_profile.write_text(BAD_PROFILES["nonnumeric"][0])
    cases = EXE_BAD_INPUT + [(["solve", bad_profile, "--bandwidth-mbps", 1], "bad.csv")]
    infeasible, *bad = run_many(
        [("solve", "portend_resnet20", "--bandwidth-mbps", 10, "--max-latency-ms", 0.0001,
          "--out", "-")] + [argv for argv, _ in cases])
    assert infeasible.returncode == 0
    assert infeasible.stdout == HEADER + "\n"
    assert "no feasible plan" in infeasible.stderr
    for (argv, word), proc in zip(cases, bad, strict=True):
        assert proc.returncode == 2, (argv, proc.stderr)
        assert proc.stdout == ""
        line = one_line_error(proc.stderr)
        assert line.startswith("moosplit: error:") and word in line


def test_executable_help_and_version():
    solve, version = run_many([("solve", "--help"), ("--version",)])
    assert solve.returncode == 0
    for option in ("--objectives", "--bandwidth-mbps", "--rtt-ms", "--memory-mib",
                   "--memory-bytes", "--max-error", "--max-latency-ms", "--bits",
                   "--min-split", "--max-split", "--mode", "--solver", "--seed",
                   "--time-limit", "--tx-power-mw", "--codecs", "--resolution", "--out"):
        assert option in solve.stdout
    assert version.returncode == 0 and version.stdout.strip() == moosplit.__version__


def test_help(capsys):
    for argv, words in ((["--help"], ["solve", "info"]), (["info", "--help"], ["PROFILE"])):
        with pytest.raises(SystemExit) as exit_:
            main(argv)
        out, err = capsys.readouterr()
        assert exit_.value.code == 0 and err == ""
        assert out.startswith("usage: moosplit")
        assert all(word in out for word in words)


def _write_non_utf8(path):
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x01binary")
    return path


def test_out_into_missing_directory_exits_2(capsys, tmp_path):
    rc, _, err = cli(capsys, "solve", "portend_resnet20", "--bandwidth-mbps", 1, "--out",
                     tmp_path / "nodir" / "front.csv")
    assert rc == 2
    assert "nodir" in one_line_error(err)


def test_binary_profile_exits_2(capsys, tmp_path):
    rc, _, err = cli(capsys, "solve", _write_non_utf8(tmp_path / "model.csv"),
                     "--bandwidth-mbps", 1)
    assert rc == 2
    assert "model.csv" in one_line_error(err)


def test_binary_codecs_exits_2(capsys, tmp_path):
    rc, _, err = cli(capsys, "solve", "portend_resnet20", "--bandwidth-mbps", 1, "--codecs",
                     _write_non_utf8(tmp_path / "codecs.csv"))
    assert rc == 2
    assert "codecs.csv" in one_line_error(err)


def test_no_command_is_one_line(capsys):
    rc, _, err = cli(capsys)
    assert rc == 2
    assert "solve" in one_line_error(err)


# ------------------------------------------------------------------------ info
def info_bottlenecks(out: str) -> dict[int, tuple[str, float]]:
    found = {}
    for match in re.finditer(r"^\s+split\s+(\d+) after (\S+): ([\d,]+) bytes", out, re.M):
        found[int(match[1])] = (match[2], float(match[3].replace(",", "")))
    count = int(re.search(r"natural bottlenecks .*: (\d+)$", out, re.M)[1])
    assert count == len(found)
    return found


def my_bottlenecks(profile: moosplit.Profile) -> dict[int, tuple[str, float]]:
    """Splits 1..N-1 of a chain whose 16-bit output is smaller than the raw input."""
    assert profile.is_chain
    raw = profile.out_elems[0] * profile.input_bits / 8 * profile.batch
    return {n: (profile.names[n], float(profile.out_elems[n] * 2 * profile.batch))
            for n in range(1, profile.n_nodes) if profile.out_elems[n] * 2 * profile.batch < raw}


@pytest.mark.parametrize("variant,expected", [
    ("plain", {2, 4}),                    # split 6 is edge-only: not listed
    ("batch2-input16", {1, 2, 3, 4}),  # raw input 4000 bytes, every split x2
])
def test_info_bottlenecks_on_a_hand_made_chain(capsys, tmp_path, variant, expected):
    text = CHAIN_CSV
    if variant != "plain":
        text = "# batch: 2\n" + text.replace(
            "cloud_ms\n", "cloud_ms,out_bits\n").replace("input,input,,1000,0,0,0,0",
                                                         "input,input,,1000,0,0,0,0,16")
        text = re.sub(r"^([a-f],.*)$", r"\1,", text, flags=re.M)
    path = tmp_path / "chain.csv"
    path.write_text(text)
    profile = moosplit.read_profile(path)
    rc, out, err = cli(capsys, "info", path)
    assert rc == 0, err
    found = info_bottlenecks(out)
    assert set(found) == expected
    assert found == my_bottlenecks(profile)
    raw = 1000 * (1 if variant == "plain" else 4)
    assert f"= {raw:,} bytes per inference" in out
    assert "nodes: 6 (chain" in out
    assert "total MACs: 2,000" in out
    assert "total weights: 150 elements" in out
    assert "outputs (sinks): f" in out


def test_info_bottlenecks_on_a_dag_count_every_cut_tensor(capsys, tmp_path):
    path = tmp_path / "dag.csv"
    path.write_text(DAG_CSV)
    rc, out, _ = cli(capsys, "info", path)
    assert rc == 0
    assert info_bottlenecks(out) == {3: ("c", 200.0)}
    assert "nodes: 4 (DAG" in out


def test_info_random_and_bundled_profiles(capsys, dag):
    path, profile = dag
    rc, out, err = cli(capsys, "info", path)
    assert rc == 0 and err == ""
    assert f"nodes: {profile.n_nodes} (DAG" in out
    assert (f"raw input: {int(profile.out_elems[0]):,} elements per sample at 8 bits = "
            f"{profile.input_bytes:,.0f} bytes") in out
    assert f"total MACs: {int(profile.macs.sum()):,}" in out
    assert f"total weights: {int(profile.weight_elems.sum()):,} elements" in out
    assert "bit-widths: 4, 8, 16" in out
    info_bottlenecks(out)
    rc, out, _ = cli(capsys, "info", "portend_resnet20")
    resnet = moosplit.load_profile("portend_resnet20")
    assert rc == 0
    assert "nodes: 11 (chain" in out
    assert "= 3,072 bytes per inference" in out
    assert f"total MACs: {int(resnet.macs.sum()):,}" in out
    assert info_bottlenecks(out) == my_bottlenecks(resnet)



def test_transmitter_preset_sets_bandwidth_and_power(capsys):
    from moosplit.cli import main
    from moosplit.problems.network import TRANSMITTER_PRESETS

    radio = TRANSMITTER_PRESETS["ko2018-2mbps"]
    assert main(["solve", "mobilenet_v2", "--objectives", "latency_ms,energy_mj", "--bits", "16",
                 "--transmitter", "ko2018-2mbps", "--out", "-", "--quiet"]) == 0
    with_preset = capsys.readouterr().out
    assert main(["solve", "mobilenet_v2", "--objectives", "latency_ms,energy_mj", "--bits", "16",
                 "--bandwidth-mbps", str(radio.bandwidth_mbps), "--tx-power-mw",
                 str(radio.power_mw), "--out", "-", "--quiet"]) == 0
    assert capsys.readouterr().out == with_preset
    assert main(["solve", "portend_resnet20", "--transmitter", "smoke-signals"]) == 2
    assert "--transmitter" in capsys.readouterr().err
    assert main(["solve", "portend_resnet20"]) == 2
    err = capsys.readouterr().err
    assert "--bandwidth-mbps must be given: it is required unless a transmitter" in err
