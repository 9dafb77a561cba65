"""Fronts: construction, shapes, ties, indicators, comparison and the CSV round trip."""

import numpy as np
import pandas as pd
import pytest

import moosplit
from moosplit.results.front import EXACT, HEURISTIC, Front, Guarantee, GuaranteeKind, Status


def tiny_problem(**changes):
    profile = moosplit.read_profile("docs/examples/tiny.csv")
    problem = moosplit.SplitProblem(profile, moosplit.Network(bandwidth_mbps=1, rtt_ms=10),
                                    objectives=("latency_ms", "memory_bytes", "error"))
    return problem.replace(**changes) if changes else problem


@pytest.fixture(autouse=True)
def _root(monkeypatch):
    from pathlib import Path
    monkeypatch.chdir(Path(__file__).resolve().parents[1])


def plans_of(problem, rows):
    """Plans from (split, {node: (bw, ba)}) pairs."""
    named = []
    for split, bits in rows:
        nodes = problem.profile.names[1:split + 1]
        named.append(moosplit.Plan(split, nodes, tuple(bits[n][0] for n in nodes),
                                   tuple(bits[n][1] for n in nodes)))
    return moosplit.Plans.from_plans(problem, named)


def test_empty_front_keeps_its_shape():
    problem = tiny_problem(constraints={"latency_ms": 1.0})
    front = moosplit.solve(problem, "exhaustive")
    assert front.status is Status.INFEASIBLE
    assert front.F.shape == (0, 3)
    assert list(front.to_frame().columns) == list(moosplit.results.front_csv.FRONT_COLUMNS)


def test_from_plans_keeps_nondominated_and_sorts():
    problem = tiny_problem()
    eight = {"conv": (8, 8), "pool": (None, 8), "fc": (8, 8)}
    sixteen = {"conv": (16, 16), "pool": (None, 16), "fc": (16, 16)}
    # cloud-only: 10 + 8 (1000 B) + 0.8 = 18.8 ms, 0 bytes, error 0.
    # split 2 at 8 bits: 18.7 ms, 3400 bytes, error 0.034: on the front (fastest).
    # split 2 at 16 bits: 4.5 + 10 + 8 (500 x 16 bits) + 0.2 = 22.7 ms, error 0: dominated
    # by cloud-only; split 1 at 16 bits: 4 + 10 + 32 + 0.3 = 46.3 ms: dominated too.
    plans = plans_of(problem, [(1, sixteen), (2, eight), (0, {}), (2, sixteen)])
    front = Front.from_plans(problem, plans, solver="test", guarantee=EXACT)
    assert front.status is Status.OPTIMAL  # an exact guarantee makes the front proven
    assert [front.plan(i).split for i in range(len(front))] == [2, 0]
    assert front.F[0] == pytest.approx([18.7, 3400, 0.034])
    assert np.all(np.diff(front.F[:, 0]) >= 0)


def test_from_plans_refuses_infeasible_plans():
    problem = tiny_problem(constraints={"memory_bytes": 100.0})
    eight = {"conv": (8, 8), "pool": (None, 8)}
    with pytest.raises(moosplit.SolverError, match="infeasible"):
        Front.from_plans(problem, plans_of(problem, [(2, eight)]), solver="test",
                         guarantee=EXACT)


@pytest.mark.parametrize(("guarantee", "found", "status"), [
    (EXACT, True, Status.OPTIMAL), (EXACT, False, Status.INFEASIBLE),
    (Guarantee("certified", (1.0, 1.0, 1.0)), True, Status.OPTIMAL),
    (HEURISTIC, True, Status.FEASIBLE), (HEURISTIC, False, Status.UNKNOWN),
    (Guarantee("unknown"), False, Status.UNKNOWN)])
def test_status_follows_from_guarantee_and_plans(guarantee, found, status):
    problem = tiny_problem()
    plans = plans_of(problem, [(0, {})] if found else [])
    front = Front.from_plans(problem, plans, solver="test", guarantee=guarantee)
    assert front.status is status
    assert (front.message == "no plan satisfies the constraints") == (status is
                                                                      Status.INFEASIBLE)
    assert isinstance(front.guarantee.kind, GuaranteeKind)


def test_tie_break_keeps_smallest_split_then_smallest_bits():
    # two identical weightless nodes after the input: every split has the same latency
    # when edge and cloud times are 0 and all tensors are the same size
    frame = pd.DataFrame({
        "name": ["in", "a", "b"], "op": ["input", "relu", "relu"], "inputs": ["", "in", "a"],
        "out_elems": [100, 100, 100], "weight_elems": [0, 0, 0], "macs": [0, 0, 0],
        "edge_ms": [0, 0, 0], "cloud_ms": [0, 0, 0], "werr_b8": [0, 0, 0],
        "aerr_b8": [0, 0, 0], "out_bits": [16, "", ""]})
    problem = moosplit.SplitProblem(moosplit.Profile.from_frame(frame),
                                    moosplit.Network(bandwidth_mbps=1),
                                    objectives=("latency_ms", "error"), bits=(8, 16))
    front = moosplit.solve(problem, "exhaustive")
    # cloud-only sends 100 x 16 bits; a at 8 bits sends 100 x 8 bits: faster, same error 0
    assert len(front) == 1
    plan = front.plan(0)
    # split 1 (a at 8) and split 2 (a at any, b at 8) tie; the smallest split wins
    assert plan.split == 1 and plan.bits_a == (8,)


def test_indicators_on_a_hand_made_front():
    problem = tiny_problem(objectives=("latency_ms", "error"))
    front = moosplit.solve(problem, "exhaustive")
    F = front.F
    ref = F.max(axis=0) + 1.0
    # 2-D hypervolume by hand: sweep points sorted by latency
    hv, prev_err = 0.0, ref[1]
    for lat, err in F[np.argsort(F[:, 0])]:
        hv += (ref[0] - lat) * (prev_err - err)
        prev_err = err
    assert moosplit.hypervolume(front, ref) == pytest.approx(hv)
    assert moosplit.igd_plus(front, front) == 0.0
    assert moosplit.epsilon_additive(front, front) == pytest.approx(0.0)
    with pytest.raises(ValueError, match="one value per objective"):
        moosplit.hypervolume(front, [1.0])


def test_indicators_see_a_missing_point():
    problem = moosplit.random_problem(5, seed=3, objectives=("latency_ms", "error"))
    full = moosplit.solve(problem, "exhaustive")
    assert len(full) >= 3
    worse = Front(problem, full.plans.take(slice(1, None)),
                  full.evaluation.take(np.arange(1, len(full))), Status.FEASIBLE,
                  moosplit.Guarantee("heuristic"), "partial")
    comparison = moosplit.compare_fronts(worse, full)
    assert not comparison.equal
    assert comparison.missing_from_a.tolist() == [0]
    assert comparison.missing_from_b.size == 0
    assert moosplit.igd_plus(worse, full) > 0
    assert moosplit.epsilon_additive(worse, full) > 0
    ref = full.F.max(axis=0) + 1
    assert moosplit.hypervolume(worse, ref) < moosplit.hypervolume(full, ref)


def test_maximised_objectives_are_handled_in_indicators():
    problem = tiny_problem(objectives=("latency_ms", "edge_macs"))
    front = moosplit.solve(problem, "exhaustive")
    macs = front.F[:, 1]
    assert macs.max() > 0  # edge_macs is maximised: edge-only is on the front
    ref = np.array([front.F[:, 0].max() + 1, -1.0])
    assert moosplit.hypervolume(front, ref) > 0


def test_front_csv_round_trip(tmp_path):
    problem = moosplit.random_problem(6, kind="dag", mode="cut", seed=4,
                                      objectives=("latency_ms", "memory_bytes", "error"))
    front = moosplit.solve(problem, "exhaustive")
    path = tmp_path / "front.csv"
    moosplit.write_front(front, path)
    back = moosplit.read_front(path, problem)
    assert len(back) == len(front)
    for name in moosplit.problems.QUANTITIES:
        np.testing.assert_array_equal(back.evaluation[name], front.evaluation[name])
    assert back.guarantee.kind == "unknown"
    # the same file read against another problem is refused, naming a row and column
    other = problem.replace(network=moosplit.Network(bandwidth_mbps=123.0))
    with pytest.raises(moosplit.ProblemError, match=r"row \d+, column 'latency_ms'"):
        moosplit.read_front(path, other)


def test_read_front_refuses_dominated_rows(tmp_path):
    problem = tiny_problem(objectives=("latency_ms", "error"))
    front = moosplit.solve(problem, "exhaustive")
    frame = front.to_frame()
    frame = pd.concat([frame, frame.iloc[[0]]])  # a repeated plan
    path = tmp_path / "front.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(moosplit.ProblemError, match="not a front"):
        moosplit.read_front(path, problem)


def test_weight_bits_on_a_weightless_node_are_refused():
    problem = tiny_problem()
    plan = moosplit.Plan(2, ("conv", "pool"), (8, 8), (8, 8))  # pool has no weights
    with pytest.raises(moosplit.ProblemError, match="'pool' has no weights"):
        moosplit.Plans.from_plans(problem, [plan])
