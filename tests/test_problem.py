"""SplitProblem construction (SPEC section 6): ill-posed problems fail at construction with
ProblemError, and `replace` validates again and re-resolves defaults."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import moosplit

NET = moosplit.Network(bandwidth_mbps=10, rtt_ms=2, tx_power_mw=300)


@pytest.fixture(scope="module")
def profile():
    # error columns for 2, 4, 8 (plus the reference 16); edge_mj present; 6 nodes
    return moosplit.random_profile(6, bits=(2, 4, 8), energy=True, seed=11)


@pytest.fixture(scope="module")
def plain():
    # no error columns (16 only) and no edge_mj; 11 nodes
    return moosplit.load_profile("portend_resnet20")


def problem_error(match, *args, **kwargs):
    with pytest.raises(moosplit.ProblemError, match=match) as info:
        moosplit.SplitProblem(*args, **kwargs)
    return str(info.value)


def test_a_valid_problem_resolves_defaults(profile):
    problem = moosplit.SplitProblem(profile, NET)
    assert problem.objectives == ("latency_ms", "error")
    assert problem.maximise == (False, False)
    assert problem.bit_set == (2, 4, 8, 16)
    assert problem.split_bounds == (0, 6)
    assert problem.mode == "prefix"
    assert problem.codec_table.names == ("none",)
    senses = moosplit.SplitProblem(profile, NET, objectives=("edge_macs", "throughput_fps",
                                                             "tx_bytes")).maximise
    assert senses == (True, True, False)


@pytest.mark.parametrize("objectives", [("latency",), ("latency_ms", "accuracy"),
                                        ("memory",)])
def test_unknown_objective(profile, objectives):
    message = problem_error("unknown objective", profile, NET, objectives=objectives)
    assert "latency_ms" in message  # lists the valid names


def test_empty_objectives(profile):
    problem_error("objective", profile, NET, objectives=())


def test_duplicate_objectives(profile):
    problem_error("distinct", profile, NET, objectives=("latency_ms", "error", "latency_ms"))


def test_empty_bit_set(profile):
    problem_error("bits", profile, NET, bits=())


@pytest.mark.parametrize("bits", [(3,), (2, 6), (32,), (0,)])
def test_bits_without_error_columns(profile, bits):
    message = problem_error("bits", profile, NET, bits=bits)
    assert "2, 4, 8, 16" in message  # says what is available


def test_only_reference_bits_on_a_profile_without_error_columns(plain):
    assert moosplit.SplitProblem(plain, NET, bits=(16,)).bit_set == (16,)
    problem_error("bits", plain, NET, bits=(8, 16))


@pytest.mark.parametrize("bandwidth", [0, -1, -0.5, math.nan, math.inf])
def test_bad_bandwidth(profile, bandwidth):
    # the Network is part of the problem: a bad one cannot even be built
    with pytest.raises(moosplit.ProblemError, match="bandwidth"):
        moosplit.SplitProblem(profile, moosplit.Network(bandwidth_mbps=bandwidth))


@pytest.mark.parametrize("rtt", [-1, -1e-9, math.nan])
def test_bad_rtt(rtt):
    with pytest.raises(moosplit.ProblemError, match="rtt"):
        moosplit.Network(bandwidth_mbps=10, rtt_ms=rtt)


def test_bad_tx_power():
    with pytest.raises(moosplit.ProblemError, match="tx_power"):
        moosplit.Network(bandwidth_mbps=10, tx_power_mw=-5)


@pytest.mark.parametrize("bandwidth", [np.int64(5), np.float32(2.5)])
def test_numpy_bandwidth_is_a_number(bandwidth):
    assert moosplit.Network(bandwidth_mbps=bandwidth).bandwidth_mbps == float(bandwidth)


def test_unknown_constraint(profile):
    message = problem_error("unknown constrained quantity", profile, NET,
                            constraints={"memory": 1000})
    assert "memory_bytes" in message


def test_constraint_bound_must_be_a_number(profile):
    problem_error("number", profile, NET, constraints={"error": math.nan})
    problem_error("number", profile, NET, constraints={"error": "0.1"})


def test_bad_mode(profile):
    problem_error("mode", profile, NET, mode="dag")


def test_min_split_above_max_split(profile):
    problem_error("min_split", profile, NET, min_split=4, max_split=3)


@pytest.mark.parametrize("kwargs", [{"min_split": -1}, {"min_split": 7}, {"max_split": 7},
                                    {"max_split": -1}, {"min_split": 1.5},
                                    {"max_split": True}])
def test_out_of_range_split_bounds(profile, kwargs):
    message = problem_error("split", profile, NET, **kwargs)
    assert "0..6" in message


def test_split_bounds_at_the_limits_are_fine(profile):
    assert moosplit.SplitProblem(profile, NET, min_split=6).split_bounds == (6, 6)
    assert moosplit.SplitProblem(profile, NET, max_split=0).split_bounds == (0, 0)
    assert moosplit.SplitProblem(profile, NET, min_split=2, max_split=2).split_bounds == (2, 2)


def test_energy_needs_edge_mj(plain):
    problem_error("edge_mj", plain, NET, objectives=("latency_ms", "energy_mj"), bits=(16,))
    problem_error("edge_mj", plain, NET, constraints={"energy_mj": 10})


def test_energy_needs_tx_power(profile):
    no_power = moosplit.Network(bandwidth_mbps=10)
    problem_error("tx_power", profile, no_power, objectives=("energy_mj",))
    problem_error("tx_power", profile, no_power, constraints={"energy_mj": 10})
    # with both, energy is fine
    assert moosplit.SplitProblem(profile, NET, objectives=("energy_mj",)).n_objectives == 1


# ------------------------------------------------------------------------ replace

def test_replace_returns_a_validated_copy(profile):
    problem = moosplit.SplitProblem(profile, NET, bits=(4, 8), max_split=5)
    slower = problem.replace(network=moosplit.Network(bandwidth_mbps=1))
    assert slower is not problem
    assert slower.network.bandwidth_mbps == 1 and problem.network.bandwidth_mbps == 10
    assert slower.bit_set == (4, 8) and slower.split_bounds == (0, 5)

    with pytest.raises(moosplit.ProblemError):
        problem.replace(objectives=("nope",))
    with pytest.raises(moosplit.ProblemError):
        problem.replace(bits=(3,))
    with pytest.raises(moosplit.ProblemError):
        problem.replace(min_split=6)            # above max_split 5
    with pytest.raises(moosplit.ProblemError):
        problem.replace(mode="tree")
    with pytest.raises(moosplit.ProblemError):
        problem.replace(network=moosplit.Network(bandwidth_mbps=1),
                        objectives=("energy_mj",))   # no tx power any more
    # the original is untouched by failed replaces
    assert problem.objectives == ("latency_ms", "error") and problem.mode == "prefix"


def test_replace_profile_re_resolves_defaults(profile, plain):
    problem = moosplit.SplitProblem(profile, NET)
    assert problem.bit_set == (2, 4, 8, 16) and problem.split_bounds == (0, 6)
    moved = problem.replace(profile=plain)
    assert moved.bit_set == (16,)
    assert moved.split_bounds == (0, 11)
    back = moved.replace(profile=profile)
    assert back.bit_set == (2, 4, 8, 16) and back.split_bounds == (0, 6)


def test_replace_profile_keeps_explicit_choices_and_rechecks_them(profile, plain):
    explicit = moosplit.SplitProblem(profile, NET, bits=(8,), min_split=1, max_split=6)
    with pytest.raises(moosplit.ProblemError):
        explicit.replace(profile=plain)          # 8 bits unavailable there
    bounded = moosplit.SplitProblem(profile, NET, bits=(16,), min_split=1)
    moved = bounded.replace(profile=plain)
    assert moved.split_bounds == (1, 11) and moved.bit_set == (16,)
    too_far = moosplit.SplitProblem(plain, NET, bits=(16,), max_split=9)
    with pytest.raises(moosplit.ProblemError):
        too_far.replace(profile=profile)         # 9 > the 6 nodes


def test_replace_profile_rechecks_energy(profile, plain):
    energy = moosplit.SplitProblem(profile, NET, objectives=("latency_ms", "energy_mj"))
    with pytest.raises(moosplit.ProblemError, match="edge_mj"):
        energy.replace(profile=plain)


def codec_table(profile, node):
    frame = pd.DataFrame([("zip", node, 4, 0.01, 0.5)],
                         columns=["codec", "node", "ratio", "err", "encode_ms"])
    return moosplit.CodecTable.from_frame(frame, profile)


def test_codecs_for_another_profile_are_rejected(profile, plain):
    problem = moosplit.SplitProblem(profile, NET, codecs=codec_table(profile, "n3"))
    assert problem.codec_table.names == ("none", "zip")
    with pytest.raises(moosplit.ProblemError, match="codecs"):
        problem.replace(profile=plain)                  # 12 rows, not 7
    with pytest.raises(moosplit.ProblemError, match="codecs"):
        moosplit.SplitProblem(plain, NET, codecs=codec_table(profile, "n3"))


def test_codecs_for_a_same_sized_profile_with_other_names_are_rejected(profile):
    frame = profile.to_frame()
    frame["name"] = ["input"] + [f"layer{i}" for i in range(1, len(frame))]
    frame["inputs"] = [" ".join(f"layer{n[1:]}" if n != "input" else n for n in cell.split())
                       for cell in frame["inputs"]]
    other = moosplit.Profile.from_frame(frame, dict(profile.metadata))
    assert other.n_rows == profile.n_rows and "n3" not in other.index
    problem = moosplit.SplitProblem(profile, NET, codecs=codec_table(profile, "n3"))
    with pytest.raises(moosplit.ProblemError):
        problem.replace(profile=other)


@pytest.mark.parametrize("kwargs", [dict(bandwidth_mbps=True), dict(bandwidth_mbps=1, rtt_ms=None),
                                    dict(bandwidth_mbps=1, rtt_ms="5"),
                                    dict(bandwidth_mbps=1, tx_power_mw=float("inf"))])
def test_network_rejects_non_numbers_with_a_problem_error(kwargs):
    with pytest.raises(moosplit.ProblemError):
        moosplit.Network(**kwargs)


def test_a_bound_met_up_to_float_rounding_is_met():
    # error 0.1 + 0.2 = 0.30000000000000004 must meet the bound 0.3
    frame = pd.DataFrame({
        "name": ["in", "a", "b"], "op": ["input", "conv", "conv"], "inputs": ["", "in", "a"],
        "out_elems": [10, 10, 10], "weight_elems": [0, 1, 1], "macs": [0, 1, 1],
        "edge_ms": [0, 1, 1], "cloud_ms": [0, 1, 1], "werr_b8": [0, 0.1, 0.2],
        "aerr_b8": [0, 0, 0]})
    profile = moosplit.Profile.from_frame(frame)
    problem = moosplit.SplitProblem(profile, moosplit.Network(bandwidth_mbps=1),
                                    constraints={"error": 0.3}, bits=(8,))
    plan = moosplit.Plans.from_plans(problem, [moosplit.Plan(2, ("a", "b"), (8, 8), (8, 8))])
    evaluation = moosplit.evaluate(problem, plan)
    assert evaluation["error"][0] > 0.3
    assert evaluation.feasible[0]
    tighter = problem.replace(constraints={"error": 0.2999999})
    assert not moosplit.evaluate(tighter, plan).feasible[0]


def test_non_finite_constraint_bounds_are_refused():
    profile = moosplit.random_profile(3, seed=0)
    with pytest.raises(moosplit.ProblemError, match="leave the constraint out"):
        moosplit.SplitProblem(profile, moosplit.Network(1.0),
                              constraints={"latency_ms": float("inf")})


def test_problems_and_profiles_pickle_to_equal_objects():
    import pickle

    problem = moosplit.random_problem(6, seed=4, bounded=True)
    copy = pickle.loads(pickle.dumps(problem))
    assert dict(copy.constraints) == dict(problem.constraints)
    assert copy.profile.names == problem.profile.names
    assert dict(copy.profile.metadata) == dict(problem.profile.metadata)
    np.testing.assert_array_equal(moosplit.solve(copy, "exhaustive").F,
                                  moosplit.solve(problem, "exhaustive").F)
