"""Dynamic split computing (moosplit.workflows.dynamic, `moosplit dynamic`).

The envelope is checked against brute force over dense rate grids on random profiles; the
gain G and the breakpoints against numbers worked out by hand on a three-layer chain.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

import moosplit
import moosplit.cli
from moosplit.cli import dynamic as dynamic_command
from moosplit.errors import ProblemError
from moosplit.results.front_csv import FRONT_COLUMNS
from moosplit.workflows.dynamic import (
    ScenarioStep,
    bottlenecks,
    dynamic_policy,
    latency_lines,
    rate_envelope,
    read_scenario,
    run_scenario,
    scenario_gain,
    split_candidates,
)

COLUMNS = ("name", "op", "inputs", "out_elems", "weight_elems", "macs", "edge_ms", "cloud_ms")
RTOL = 1e-9

# A chain worked by hand. Input 1000 elements at 8 bits = 8000 bits; activations at 16 bits.
# A rate r Mbit/s sends 1000 r bits per ms, so sending B bits costs B / (1000 r) ms.
#   split 0: cloud 0.5+0.5+1           = 2   + 8000/(1000 r) = 2   + 8/r
#   split 1: edge 2, cloud 0.5+1       = 3.5 + 250*16 bits   = 3.5 + 4/r
#   split 2: edge 2+3, cloud 1         = 6   + 100*16 bits   = 6   + 1.6/r
#   split 3: edge 2+3+5 (sends c)      = 10  + 10*16 bits    = 10  + 0.16/r
# Breakpoints: split 2 = split 1 at 6 + 1.6x = 3.5 + 4x, x = 1/r = 25/24, r = 0.96;
# split 1 = split 0 at 3.5 + 4x = 2 + 8x, x = 3/8, r = 8/3; split 3 = split 2 at r = 0.36.
HAND_ROWS = [
    ("input", "input", "", 1000, 0, 0, 0, 0),
    ("a", "conv", "input", 250, 100, 1000, 2, 0.5),
    ("b", "conv", "a", 100, 100, 1000, 3, 0.5),
    ("c", "linear", "b", 10, 100, 1000, 5, 1),
]


def make_profile(rows, batch: int = 1) -> moosplit.Profile:
    frame = pd.DataFrame([dict(zip(COLUMNS, row, strict=True)) for row in rows])
    frame["out_bits"] = ["8"] + [""] * (len(rows) - 1)
    return moosplit.Profile.from_frame(frame, {"model": "hand", "batch": str(batch)},
                                       source=f"hand-b{batch}")


@pytest.fixture
def hand() -> moosplit.Profile:
    return make_profile(HAND_ROWS)


# ------------------------------------------------------------------ envelope vs brute force
def convex_chain(n: int, seed: int) -> moosplit.Profile:
    """A chain whose outputs shrink geometrically while edge time adds up: most splits are
    on the envelope somewhere, so it has many breakpoints."""
    rng = np.random.default_rng(seed)
    rows = [("input", "input", "", 20000, 0, 0, 0, 0)]
    for i in range(1, n + 1):
        rows.append((f"n{i}", "conv", rows[-1][0], int(20000 * 0.85**i * rng.uniform(0.9, 1.1)),
                     100, 1000, float(rng.uniform(0.5, 1.5)), float(rng.uniform(0.01, 0.05))))
    frame = pd.DataFrame([dict(zip(COLUMNS, row, strict=True)) for row in rows])
    for b in (4, 8):
        frame[f"werr_b{b}"] = frame[f"aerr_b{b}"] = [0.0] + [0.1 / b] * n
    return moosplit.Profile.from_frame(frame, {"model": "convex"})


def random_case(kind: str, n: int, seed: int) -> moosplit.Profile:
    """Random profiles; for odd seeds the cloud is made slow (cloud_ms 0.2..1.5 x edge_ms),
    which puts more splits on the envelope."""
    if kind == "convex":
        return convex_chain(n, seed)
    profile = moosplit.random_profile(n, kind=kind, bits=(4, 8), seed=seed)
    if seed % 2 == 0:
        return profile
    frame = profile.to_frame()
    frame["cloud_ms"] = frame["edge_ms"] * np.random.default_rng(seed).uniform(0.2, 1.5,
                                                                                len(frame))
    return moosplit.Profile.from_frame(frame, dict(profile.metadata))


CASES = [(kind, n, seed, bits, rtt, memory)
         for seed, (kind, n) in enumerate([("chain", 6), ("dag", 8), ("chain", 15), ("dag", 20),
                                           ("chain", 30), ("dag", 40), ("chain", 60),
                                           ("dag", 25), ("convex", 40), ("convex", 80)])
         for bits, rtt, memory in [((16,), 0.0, None), ((4, 8, 16), 3.0, 0.5)]]


@pytest.mark.parametrize("kind,n,seed,bits,rtt,memory", CASES)
def test_envelope_matches_brute_force(kind, n, seed, bits, rtt, memory):
    case = f"{kind} n={n} seed={seed} bits={bits} rtt={rtt} memory={memory}"
    profile = random_case(kind, n, seed)
    constraints = {}
    if memory is not None:  # a bound that cuts some plans: a share of the largest memory
        probe = moosplit.SplitProblem(profile, moosplit.Network(1.0), bits=bits)
        sizes = moosplit.evaluate(probe, split_candidates(probe, bits))["memory_bytes"]
        constraints["memory_bytes"] = memory * float(sizes.max())
    problem = moosplit.SplitProblem(profile, moosplit.Network(1.0, rtt_ms=rtt), bits=bits,
                                    constraints=constraints)
    plans = split_candidates(problem, problem.bit_set)
    lo, hi = 0.01, 1e4
    intervals = rate_envelope(problem, plans, (lo, hi))
    assert intervals, case

    # the intervals tile [lo, hi], and neighbours hold different plans
    assert intervals[0].rate_from_mbps == lo and intervals[-1].rate_to_mbps == hi, case
    for left, right in zip(intervals, intervals[1:], strict=False):
        assert left.rate_to_mbps == right.rate_from_mbps, case
        assert left.index != right.index, case
    assert all(i.rate_from_mbps < i.rate_to_mbps for i in intervals), case

    # the lines are the evaluator's latencies at any rate
    fixed, slope, feasible = latency_lines(problem, plans, (lo, hi))
    rng = np.random.default_rng(seed)
    for rate in np.exp(rng.uniform(np.log(lo), np.log(hi), 5)):
        truth = moosplit.evaluate(problem.replace(network=moosplit.Network(rate, rtt)), plans)
        np.testing.assert_allclose(fixed + slope / rate, truth["latency_ms"], rtol=1e-11,
                                   err_msg=case)
        np.testing.assert_array_equal(truth.feasible, feasible, err_msg=case)

    # the envelope's plan is the fastest at every rate of a dense grid and around each
    # breakpoint
    breaks = np.array([i.rate_to_mbps for i in intervals[:-1]])
    grid = np.concatenate([np.geomspace(lo, hi, 20_000), breaks * (1 - 1e-9),
                           breaks * (1 + 1e-9), breaks])
    grid = np.sort(grid[(grid >= lo) & (grid <= hi)])
    ok = np.flatnonzero(feasible)
    latency = fixed[ok, None] + slope[ok, None] / grid[None, :]          # (plans, rates)
    best = latency.min(axis=0)
    uppers = np.array([i.rate_to_mbps for i in intervals])
    chosen = np.searchsorted(uppers, grid, side="left")
    mine = np.array([intervals[k].latency_ms(r) for k, r in zip(chosen, grid, strict=True)])
    worst = int(np.argmax(mine / best))
    assert mine[worst] <= best[worst] * (1 + RTOL), (
        f"{case}: at {grid[worst]} Mbit/s the envelope's plan takes {mine[worst]} ms, the best "
        f"{best[worst]} ms")

    # each breakpoint is where the best plan changes: both neighbours tie there, by the
    # evaluator, and every clear change of the brute-force argmin has a breakpoint nearby
    for left, right in zip(intervals, intervals[1:], strict=False):
        rate = left.rate_to_mbps
        at = moosplit.evaluate(problem.replace(network=moosplit.Network(rate, rtt)),
                               plans.take([left.index, right.index]))["latency_ms"]
        assert at[0] == pytest.approx(at[1], rel=RTOL), f"{case}: breakpoint {rate}"
    dense = np.geomspace(lo, hi, 20_000)
    lat = fixed[ok, None] + slope[ok, None] / dense[None, :]
    two = np.sort(lat, axis=0)[:2]
    clear = (two[1] - two[0]) > RTOL * two[0]
    arg = ok[lat.argmin(axis=0)]
    for k in np.flatnonzero((arg[1:] != arg[:-1]) & clear[1:] & clear[:-1]):
        near = (breaks >= dense[k] * (1 - RTOL)) & (breaks <= dense[k + 1] * (1 + RTOL))
        assert near.any(), f"{case}: the best plan changes in [{dense[k]}, {dense[k + 1]}]"


def test_envelope_of_a_front_in_cut_mode():
    """Any plans will do, e.g. those of a front in cut mode."""
    profile = moosplit.random_profile(7, kind="dag", bits=(8,), seed=11)
    problem = moosplit.SplitProblem(profile, moosplit.Network(1.0), mode="cut",
                                    objectives=("latency_ms", "memory_bytes", "error"))
    front = moosplit.solve(problem, "exhaustive")
    intervals = rate_envelope(problem, front.plans, (0.1, 1000))
    fixed, slope, _ = latency_lines(problem, front.plans, (0.1, 1000))
    for rate in np.geomspace(0.1, 1000, 2000):
        best = (fixed + slope / rate).min()
        interval = next(i for i in intervals if rate <= i.rate_to_mbps)
        assert interval.latency_ms(rate) <= best * (1 + RTOL)


def test_hand_breakpoints_are_exact(hand):
    problem = moosplit.SplitProblem(hand, moosplit.Network(1.0))
    intervals = rate_envelope(problem, split_candidates(problem, (16,)), (0.5, 8))
    assert [i.plan.split for i in intervals] == [2, 1, 0]
    assert [i.rate_to_mbps for i in intervals] == pytest.approx([0.96, 8 / 3, 8], rel=1e-13)
    assert intervals[0].fixed_ms == pytest.approx(6) and intervals[0].per_rate_ms == (
        pytest.approx(1.6))


def test_identical_lines_go_to_the_smallest_split():
    # b is free and as large as a, so splits 1 and 2 have the same latency line
    rows = [("input", "input", "", 10000, 0, 0, 0, 0),
            ("a", "conv", "input", 50, 10, 100, 1, 1),
            ("b", "relu", "a", 50, 0, 50, 0, 0),
            ("c", "linear", "b", 10, 10, 100, 100, 0.1)]
    profile = make_profile(rows)
    problem = moosplit.SplitProblem(profile, moosplit.Network(1.0))
    plans = split_candidates(problem, (16,))
    fixed, slope, _ = latency_lines(problem, plans, (1, 10))
    assert (fixed[1], slope[1]) == (fixed[2], slope[2])
    assert [i.plan.split for i in rate_envelope(problem, plans, (1, 10))] == [1]
    assert [i.plan.split for i in rate_envelope(problem, plans.take([2, 1, 0, 3]),
                                                (1, 10))] == [1]


def test_single_rate(hand):
    problem = moosplit.SplitProblem(hand, moosplit.Network(1.0))
    (only,) = rate_envelope(problem, split_candidates(problem, (16,)), (2, 2))
    assert (only.rate_from_mbps, only.rate_to_mbps, only.plan.split) == (2, 2, 1)


def test_rate_dependent_constraints_are_refused(hand):
    problem = moosplit.SplitProblem(hand, moosplit.Network(1.0),
                                    constraints={"latency_ms": 10})
    with pytest.raises(ProblemError, match="latency_ms"):
        rate_envelope(problem, split_candidates(problem, (16,)), (1, 2))


# ------------------------------------------------------------------ gain along a scenario
def test_gain_by_hand(hand, tmp_path):
    # steps (rate, duration): (0.5, 1), (2, 2), (8, 1)
    #   dynamic: split 2 at 0.5 = 6 + 3.2 = 9.2; split 1 at 2 = 3.5 + 2 = 5.5; split 0 at 8 = 3
    #   static split 1: 3.5 + 8 = 11.5; 5.5; 3.5 + 0.5 = 4
    #   T_dynamic = 9.2 + 2 * 5.5 + 3 = 23.2; T_static = 11.5 + 2 * 5.5 + 4 = 26.5
    #   G = (26.5 - 23.2) / 26.5 = 3.3 / 26.5
    path = tmp_path / "scenario.csv"
    path.write_text("batch,rate_mbps,duration\n1,0.5,1\n1,2,2\n1,8,1\n")
    steps = read_scenario(path)
    assert steps == (ScenarioStep(1, 0.5, 1.0), ScenarioStep(1, 2.0, 2.0),
                     ScenarioStep(1, 8.0, 1.0))
    policy = dynamic_policy(hand, rates=(0.5, 8))
    result = run_scenario(policy, steps, static_split=1)
    np.testing.assert_allclose(result.dynamic_ms, [9.2, 5.5, 3.0], rtol=1e-12)
    np.testing.assert_allclose(result.static_ms, [11.5, 5.5, 4.0], rtol=1e-12)
    assert scenario_gain(policy, steps, static_split=1) == pytest.approx(3.3 / 26.5, rel=1e-12)
    # without durations every step counts once: (11.5+5.5+4 - (9.2+5.5+3)) / 21 = 3.3 / 21
    unweighted = [ScenarioStep(s.batch, s.rate_mbps) for s in steps]
    assert scenario_gain(policy, unweighted, 1) == pytest.approx(3.3 / 21, rel=1e-12)
    assert scenario_gain(policy, [ScenarioStep(1, 2.0)], 1) == 0.0


def test_scenario_errors(hand, tmp_path):
    policy = dynamic_policy(hand, rates=(0.5, 8))
    with pytest.raises(ProblemError, match="outside the policy's rates"):
        scenario_gain(policy, [ScenarioStep(1, 9.0)], 1)
    with pytest.raises(ProblemError, match="no batch size 4"):
        scenario_gain(policy, [ScenarioStep(4, 1.0)], 1)
    with pytest.raises(ProblemError, match="static split"):
        scenario_gain(policy, [ScenarioStep(1, 1.0)], 7)
    bad = tmp_path / "bad.csv"
    bad.write_text("batch,rate_mbps\n1,fast\n")
    with pytest.raises(ProblemError, match=r"row 0, column 'rate_mbps'"):
        read_scenario(bad)
    bad.write_text("batch,rate\n1,2\n")
    with pytest.raises(ProblemError, match="missing scenario column"):
        read_scenario(bad)


# ------------------------------------------------------------------ policy
def test_forbid_full_offload_removes_split_zero(hand):
    free = dynamic_policy(hand, rates=(0.5, 8))
    private = dynamic_policy(hand, rates=(0.5, 8), forbid_full_offload=True)
    assert 0 in {i.plan.split for i in free.intervals[1]}
    assert 0 not in {i.plan.split for i in private.intervals[1]}
    assert [i.plan.split for i in private.intervals[1]] == [2, 1]
    with pytest.raises(ProblemError, match="raw input"):
        scenario_gain(private, [ScenarioStep(1, 1.0)], static_split=0)


def test_policy_per_batch_and_memory():
    one, four = make_profile(HAND_ROWS), make_profile(
        [row[:6] + (row[6] * 2, row[7] * 1.5) for row in HAND_ROWS], batch=4)
    policy = dynamic_policy([four, one], rates=(0.5, 8))
    assert policy.batches == (1, 4)
    assert policy.problems[4].profile is four
    # memory grows with the batch: a bound between the two keeps only small splits for 4
    mem = {b: moosplit.evaluate(policy.problems[b], policy.candidates[b])["memory_bytes"]
           for b in (1, 4)}
    limited = dynamic_policy({1: one, 4: four}, rates=(0.5, 8),
                             constraints={"memory_bytes": float(mem[1].max())})
    assert {i.plan.split for i in limited.intervals[1]} == {0, 1, 2}
    assert max(i.plan.split for i in limited.intervals[4]) < 3
    with pytest.raises(ProblemError, match="both for batch 1"):
        dynamic_policy([one, make_profile(HAND_ROWS)], rates=(1, 2))
    with pytest.raises(ProblemError, match="not rescaled"):
        dynamic_policy({8: one}, rates=(1, 2))
    with pytest.raises(ProblemError, match="rates"):
        dynamic_policy(one, rates=(2, 1))


def test_policy_frame_columns_and_values(hand):
    policy = dynamic_policy(hand, rates=(0.5, 8), network=moosplit.Network(1.0, rtt_ms=1.0))
    frame = policy.to_frame()
    assert list(frame.columns) == ["batch", "rate_from_mbps", "rate_to_mbps", *FRONT_COLUMNS]
    assert list(frame["split"]) == [2, 1, 0]
    # rate-dependent columns at rate_from: split 1 from 0.96 Mbit/s, rtt 1 ms
    assert frame["latency_ms"][1] == pytest.approx(3.5 + 1 + 4 / 0.96, rel=1e-12)
    assert frame["tx_bytes"].tolist() == [200.0, 500.0, 1000.0]


def test_bottlenecks(hand):
    # 16-bit activations vs an 8-bit input of 1000 bytes: a sends 500 B, b 200 B (c, the
    # output, is edge-only and left out); both are new minima, so both are compressive
    natural, compressive = bottlenecks(hand)
    assert natural == [(1, "a", 500.0), (2, "b", 200.0)]
    assert compressive == natural
    rows = [("input", "input", "", 1000, 0, 0, 0, 0),
            ("a", "conv", "input", 100, 1, 1, 1, 1),     # 200 B: natural, compressive
            ("b", "conv", "a", 300, 1, 1, 1, 1),         # 600 B: natural only
            ("c", "conv", "b", 50, 1, 1, 1, 1),          # 100 B: both
            ("d", "linear", "c", 10, 1, 1, 1, 1)]
    natural, compressive = bottlenecks(make_profile(rows))
    assert [b.split for b in natural] == [1, 2, 3]
    assert [b.split for b in compressive] == [1, 3]


def test_plot(hand, tmp_path):
    pytest.importorskip("matplotlib")
    from moosplit.workflows.plots import plot_policy

    policy = dynamic_policy([hand, make_profile(HAND_ROWS, batch=8)], rates=(0.5, 8))
    for name in ("map.png", "map.svg"):
        plot_policy(policy, tmp_path / name)
        assert (tmp_path / name).stat().st_size > 1000
    with pytest.raises(ValueError, match=r"\.png, \.svg or \.pdf"):
        plot_policy(policy, tmp_path / "map.eps")


# ------------------------------------------------------------------ command line
@pytest.fixture
def cli(capsys, monkeypatch):
    """Run `moosplit ...` in process: (exit status, stdout, stderr).

    Registers the `dynamic` command for the run if moosplit.cli does not list it yet.
    """
    if dynamic_command not in moosplit.cli.COMMANDS:
        monkeypatch.setattr(moosplit.cli, "COMMANDS", (*moosplit.cli.COMMANDS, dynamic_command))

    def run(*argv):
        rc = moosplit.cli.main([str(a) for a in argv])
        out, err = capsys.readouterr()
        return rc, out, err
    return run


@pytest.fixture
def hand_files(tmp_path):
    paths = []
    for batch, scale in ((1, 1.0), (8, 5.0)):
        rows = [row[:6] + (row[6] * scale, row[7] * scale) for row in HAND_ROWS]
        path = tmp_path / f"hand_b{batch}.csv"
        moosplit.write_profile(make_profile(rows, batch=batch), path)
        paths.append(str(path))
    scenario = tmp_path / "scenario.csv"
    scenario.write_text("batch,rate_mbps,duration\n1,0.5,1\n1,2,2\n1,8,1\n")
    return paths, str(scenario)


def test_cli_bundled_profile_to_csv(cli, tmp_path):
    out = tmp_path / "policy.csv"
    rc, stdout, err = cli("dynamic", "portend_resnet20", "--rates", "1:128", "--out", out)
    assert rc == 0, err
    frame = pd.read_csv(out, keep_default_na=False)
    assert list(frame.columns) == ["batch", "rate_from_mbps", "rate_to_mbps", *FRONT_COLUMNS]
    assert frame["rate_from_mbps"].iloc[0] == 1 and frame["rate_to_mbps"].iloc[-1] == 128
    assert (frame["rate_from_mbps"].iloc[1:].to_numpy()
            == frame["rate_to_mbps"].iloc[:-1].to_numpy()).all()
    assert set(frame["batch"]) == {1}
    profile = moosplit.load_profile("portend_resnet20")
    for _, row in frame.iterrows():  # latency_ms is the evaluator's at rate_from
        problem = moosplit.SplitProblem(profile, moosplit.Network(row["rate_from_mbps"]))
        plans = moosplit.plans.prefix_plans(problem, np.array([row["split"]]), 16)
        assert row["latency_ms"] == pytest.approx(
            moosplit.evaluate(problem, plans)["latency_ms"][0], rel=1e-12)
    rc, stdout, _ = cli("dynamic", "portend_resnet20", "--rates", "1:128", "--out", "-",
                        "--no-full-offload")
    frame = pd.read_csv(io.StringIO(stdout), keep_default_na=False)
    assert rc == 0 and 0 not in set(frame["split"])


def test_cli_table_with_scenario(cli, hand_files):
    (one, eight), scenario = hand_files
    rc, out, err = cli("dynamic", one, eight, "--rates", "0.5:8", "--scenario", scenario,
                       "--static-split", 1)
    assert rc == 0, err
    assert "batch 1 (" in out and "batch 8 (" in out
    assert "compressive" in out and "natural" in out
    assert f"G = {3.3 / 26.5:.6g}" in out
    rc, out, err = cli("dynamic", one, eight, "--rates", "0.5:8", "--batches", "8",
                       "--out", "-")
    assert rc == 0, err
    assert set(pd.read_csv(io.StringIO(out))["batch"]) == {8}


@pytest.mark.parametrize("argv,needle", [
    (["--rates", "0:10"], "--rates"),
    (["--rates", "fast"], "--rates"),
    (["--rates", "10:1"], "--rates"),
    (["--rates", "1:8", "--batches", "4"], "--batches 4"),
    (["--rates", "1:8", "--bits", "3"], "--bits"),
    (["--rates", "1:8", "--static-split", "1"], "--scenario"),
    (["--rates", "0.5:8", "--scenario", "SCENARIO", "--static-split", "9"], "--static-split"),
    (["--rates", "1:2", "--scenario", "SCENARIO", "--static-split", "1"], "outside"),
    (["--rates", "1:8", "--plot", "map.eps"], "--plot"),
    (["--rates", "1:8", "--memory-mib", "-1"], "--memory-mib"),
])
def test_cli_bad_input_exits_2_with_one_line(cli, hand_files, argv, needle):
    (one, _), scenario = hand_files
    argv = [scenario if a == "SCENARIO" else a for a in argv]
    rc, out, err = cli("dynamic", one, *argv)
    assert rc == 2
    assert len(err.splitlines()) == 1 and needle in err, err


def test_cli_same_batch_twice_and_missing_profile(cli, hand_files):
    (one, _), _ = hand_files
    rc, _, err = cli("dynamic", one, one, "--rates", "1:8")
    assert rc == 2 and len(err.splitlines()) == 1 and "one profile per batch" in err
    rc, _, err = cli("dynamic", "no_such_profile", "--rates", "1:8")
    assert rc == 2 and len(err.splitlines()) == 1 and "no_such_profile" in err
