"""The bundled real profiles: shapes the literature states, provenance in the metadata."""

from __future__ import annotations

import numpy as np
import pytest

import moosplit
from moosplit.solvers.registry import DEFAULT_RESOLUTION

CLASSIC = ("resnet50", "vgg16", "vgg19", "alexnet", "mobilenet_v2", "googlenet",
           "squeezenet1_1", "densenet121", "vit_b_16", "gpt2_small")
TRAINED = ("ppocr_cls", "ppocr_rec", "ppocr_det", "efficientnet_lite0")


def test_every_promised_profile_is_bundled():
    assert set(CLASSIC + TRAINED) <= set(moosplit.bundled_profiles())


@pytest.mark.parametrize("name", moosplit.bundled_profiles())
def test_bundled_profile_states_where_its_numbers_come_from(name):
    profile = moosplit.load_profile(name)
    for key in ("model", "edge_ms", "cloud_ms", "errors"):
        assert profile.metadata.get(key), f"{name}: metadata {key} missing"
    if name in CLASSIC + TRAINED:
        assert profile.metadata["weights"].startswith("random" if name in CLASSIC
                                                      else "trained")
        assert profile.bit_widths == (2, 4, 6, 8, 16)
        assert profile.edge_ms_bits is not None and profile.edge_mj is not None
        assert (profile.cloud_ms[1:] >= 0).all()
        # quantisation errors shrink with more bits on every row that has them
        for table in (profile.weight_error, profile.activation_error):
            assert (table[2] >= table[8] - 1e-12).all()


def test_resnet50_tensor_sizes():
    profile = moosplit.load_profile("resnet50")
    index = profile.index
    assert profile.out_elems[0] == 150_528
    for block in range(3):
        assert profile.out_elems[index[f"layer4.{block}.conv3"]] == 100_352
    assert profile.out_elems[index["fc"]] == 1_000
    # torchvision's 25,557,032 parameters, less BatchNorm's scale and shift (53,120), plus
    # the bias each folded convolution gains (26,560)
    assert profile.weight_elems.sum() == 25_557_032 - 2 * 26_560 + 26_560
    assert profile.macs[index["fc"]] == 2048 * 1000


def test_resnet50_is_fused():
    """Issue 13: one row per deployed kernel. No BatchNorm or ReLU row is left (each is
    folded or fused into the convolution or add before it), so Auto-Split's Table 10
    candidates, the final convolution of each layer4 block and the classifier, are split
    points; the fused metadata says which nodes each row covers."""
    profile = moosplit.load_profile("resnet50")
    assert profile.n_rows == 74
    assert not {"batchnorm", "bn", "relu"} & set(profile.ops)
    assert not [n for n in profile.names if ".bn" in n or "relu" in n]
    assert profile.ops.count("conv") == 53 and profile.ops.count("add") == 16
    # a split right after each candidate sends its output (16 bits) and, inside a block,
    # the block's input that the residual add still needs (layer3's 200,704 elements for
    # layer4.0, 100,352 for the others)
    for name, skip in (("layer4.0.conv3", 200_704), ("layer4.1.conv3", 100_352),
                       ("layer4.2.conv3", 100_352), ("fc", 0)):
        n = profile.index[name]
        problem = moosplit.SplitProblem(profile, moosplit.Network(10.0), bits=(16,),
                                        objectives=("latency_ms", "tx_bytes"),
                                        min_split=n, max_split=n)
        front = moosplit.solve(problem, "exhaustive")
        assert len(front) == 1, name
        assert front.evaluation["tx_bytes"][0] == 2 * (profile.out_elems[n] + skip), name
    fused = dict(entry.split(" <- ") for entry in profile.metadata["fused"].split("; "))
    assert fused["conv1"].split() == ["conv1", "bn1", "relu"]
    assert fused["layer1.0.conv3"].split() == ["layer1.0.conv3", "layer1.0.bn3"]


def test_vgg16_pooling_sizes():
    profile = moosplit.load_profile("vgg16")
    pools = [int(n) for n, op in zip(profile.out_elems, profile.ops, strict=True)
             if op in ("pool", "maxpool", "maxpool2d")]
    assert pools[:5] == [802_816, 401_408, 200_704, 100_352, 25_088]


def test_a_bundled_name_solves_from_the_command_line(capsys):
    from moosplit.cli import main

    assert main(["solve", "resnet50", "--objectives", "latency_ms,error",
                 "--bandwidth-mbps", "10", "--bits", "8,16", "--solver", "lagrangian",
                 "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "latency_ms" in out


def test_trained_profile_errors_are_output_sensitivities():
    profile = moosplit.load_profile("ppocr_cls")
    assert profile.metadata["errors"].startswith("output")
    assert np.isfinite(profile.weight_error[2]).all()
    assert profile.weight_error[2].max() > 0


def test_text_detector_is_calibrated_on_text_and_its_errors_are_not_degenerate():
    """Issue 13: PP-OCR's detector, calibrated on rendered text (on a photograph its map is
    zero and its 2-bit errors were exactly zero), has output-sensitivity errors that are
    positive at 2 bits on its weighted rows and shrink with more bits on the big ones."""
    profile = moosplit.load_profile("ppocr_det")
    assert profile.metadata["calibration"].split(":")[0].endswith("images of rendered text "
                                                                  "(seed 0)")
    assert profile.metadata["errors"].startswith("output")
    assert profile.out_elems[0] == 3 * 320 * 320
    weighted = profile.weight_elems > 0
    two, eight = profile.weight_error[2], profile.weight_error[8]
    assert np.isfinite(two).all() and np.isfinite(profile.activation_error[2]).all()
    assert (two[weighted] > 0).mean() > 0.9
    assert (profile.activation_error[2][1:] > 0).mean() > 0.9
    big = profile.weight_elems > 10_000
    assert big.sum() >= 10 and (two[big] > 10 * eight[big]).all()


NEW = ("efficientnet_lite0", "vit_b_16", "gpt2_small", "ppocr_det")


@pytest.mark.parametrize("solver", [pytest.param(s, marks=pytest.mark.slow) if s == "cpsat"
                                    else s for s in sorted(moosplit.available_solvers())])
def test_every_backend_solves_the_new_bundled_profiles(solver):
    """Issue 13: EfficientNet-Lite0 and the transformers are bundled, and every backend
    solves them (a front of non-dominated points), as it solves their small versions in
    tests/test_transformers.py."""
    cls = moosplit.available_solvers()[solver]
    mode = "prefix" if "prefix" in cls.modes else "cut"
    # exhaustive enumerates every plan: one bit-width keeps them to one per edge set
    bits = (16,) if solver == "exhaustive" else (8, 16)
    options = {"n_gen": 5, "pop_size": 16} if solver == "nsga2" else {}
    if solver == "epsilon":  # the default's resolution, as `moosplit.solve(problem)` runs it
        options["resolution"] = DEFAULT_RESOLUTION
    for name in NEW:
        problem = moosplit.SplitProblem(moosplit.load_profile(name),
                                        moosplit.Network(bandwidth_mbps=10),
                                        objectives=("latency_ms", "error"), bits=bits,
                                        mode=mode)
        front = moosplit.solve(problem, solver, seed=0, time_limit=30, **options)
        assert len(front) >= 1, (name, front.message)
        F = front.F
        assert np.isfinite(F).all()
        dominated = [(F[j] <= F[i]).all() and (F[j] < F[i]).any()
                     for i in range(len(F)) for j in range(len(F))]
        assert not any(dominated), name
