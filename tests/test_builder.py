"""build_profile and the `profile`, `codecs` and `profiles` commands, end to end."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, distribution

import numpy as np
import pandas as pd
import pytest

import moosplit
from moosplit.cli import main
from moosplit.problems.codecs import read_codecs
from moosplit.profilers.builder import Measurement, build_profile
from moosplit.profilers.calibration import calibration_batch
from moosplit.profilers.devices import get_device

torch = pytest.importorskip("torch")


class SmallResNet(torch.nn.Module):
    """conv-bn-relu stem, one residual block, pooled classifier."""

    def __init__(self) -> None:
        super().__init__()
        nn = torch.nn
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1, bias=False)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(8, 4)

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        y = torch.relu(self.conv2(y) + y)
        return self.fc(torch.flatten(self.pool(y), 1))


def small_runner(batch: int = 1):
    from moosplit.profilers.torch_model import trace_module

    torch.manual_seed(0)
    return trace_module(SmallResNet().eval(), (batch, 3, 16, 16), name="small")


FAST = Measurement(warmup=0, runs=2)


def test_profile_with_a_roofline_edge_and_measured_cloud():
    runner = small_runner()
    calibration, origin = calibration_batch((3, 16, 16), 4)
    profile = build_profile(runner, edge="autosplit-eyeriss", cloud="host", bits=(4, 8),
                            calibration=calibration, calibration_origin=origin,
                            measurement=FAST)
    device = get_device("autosplit-eyeriss")
    assert profile.names == runner.graph.names
    np.testing.assert_array_equal(profile.macs, runner.graph.macs)
    np.testing.assert_allclose(profile.edge_ms, device.latency_ms(runner.graph))
    np.testing.assert_allclose(profile.edge_ms_bits[(4, 8)], device.latency_ms(runner.graph, 4, 8))
    np.testing.assert_allclose(profile.edge_mj, device.energy_mj(runner.graph))
    assert profile.bit_widths == (4, 8, 16)
    assert (profile.cloud_ms[1:] > 0).all() and profile.cloud_ms[0] == 0
    conv = profile.index["conv1"]
    assert profile.weight_error[4][conv] > profile.weight_error[8][conv] > 0
    assert profile.activation_error[4][conv] > profile.activation_error[8][conv] > 0
    for key in ("model", "edge_ms", "cloud_ms", "errors", "calibration", "structure"):
        assert profile.metadata[key]
    assert "autosplit-eyeriss" in profile.metadata["edge_ms"]
    assert "measured on this host" in profile.metadata["cloud_ms"]
    # the profile round-trips through CSV and solves
    problem = moosplit.SplitProblem(profile, moosplit.Network(bandwidth_mbps=5))
    assert len(moosplit.solve(problem, "cpsat")) >= 1


def test_reference_only_profile_has_no_error_or_bit_columns():
    profile = build_profile(small_runner(), edge="raspberry-pi-4", errors=None,
                            measurement=FAST)
    assert profile.bit_widths == (16,)
    assert profile.edge_ms_bits is None
    assert "reference precision only" in profile.metadata["errors"]


def test_errors_need_calibration_in_whole_batches():
    with pytest.raises(ValueError, match="calibration"):
        build_profile(small_runner(), measurement=FAST)
    runner = small_runner(batch=2)
    with pytest.raises(ValueError, match="multiple of the profile's batch"):
        build_profile(runner, bits=(4,), calibration=calibration_batch((3, 16, 16), 5)[0],
                      measurement=FAST)
    calibration, _ = calibration_batch((3, 16, 16), 4)
    profile = build_profile(runner, bits=(4,), calibration=calibration, measurement=FAST)
    assert profile.batch == 2
    assert "4 calibration samples" in profile.metadata["errors"]


def test_profile_command_on_a_built_in_architecture(tmp_path, capsys):
    out = tmp_path / "alexnet.csv"
    assert main(["profile", "alexnet", "--out", str(out), "--errors", "none", "--runs", "1",
                 "--warmup", "0", "--quiet"]) == 0
    profile = moosplit.read_profile(out)
    assert profile.metadata["weights"].startswith("random")
    assert profile.out_elems[0] == 3 * 224 * 224
    assert profile.names[-1] == "classifier.6" and profile.out_elems[-1] == 1000


@pytest.mark.parametrize("argv, message", [
    (["profile", "nosuchmodel", "--out", "x.csv"], "not an .onnx file"),
    (["profile", "missing.onnx", "--out", "x.csv"], "no such ONNX file"),
    (["profile", "alexnet", "--out", "x.csv", "--input-shape", "3by224"], "--input-shape"),
    (["profile", "alexnet", "--out", "x.csv", "--bits", "1,4"], "--bits"),
    (["profile", "alexnet", "--out", "x.csv", "--edge", "abacus"], "abacus"),
    (["profile", "json:nope", "--out", "x.csv", "--input-shape", "3x8x8"], "cannot import"),
    (["profile", "torch.nn:Linear", "--out", "x.csv", "--input-shape", "8"], "no arguments"),
    (["profile", "math:pi", "--out", "x.csv", "--input-shape", "8"], "not a torch.nn.Module"),
    (["profile", "alexnet", "--out", "x.csv", "--runs", "0"], "--runs"),
    (["profile", "alexnet", "--out", "x.csv", "--calibration", ".", "--text-calibration"],
     "give one"),
    (["profile", "gpt2_small", "--out", "x.csv", "--text-calibration", "--samples", "1"],
     "reads token ids"),
    (["profile", "alexnet", "--out", "x.csv", "--batch", "4", "--samples", "6"], "--samples"),
    (["profile", "alexnet", "--out", "no/such/folder/x.csv"], "does not exist"),
    (["profile", "alexnet", "--out", "x.csv", "--calibration", "no_such_folder", "--runs",
      "1"], "no_such_folder"),
])
def test_profile_command_bad_input(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def ppocr_cls() -> str:
    try:
        dist = distribution("rapidocr-onnxruntime")
    except PackageNotFoundError:
        pytest.skip("rapidocr-onnxruntime (ships the PP-OCR models) is not installed")
    pytest.importorskip("onnxruntime")
    return str(dist.locate_file("rapidocr_onnxruntime/models/ch_ppocr_mobile_v2.0_cls_infer.onnx"))


def test_profile_and_codecs_commands_on_a_shipped_trained_onnx_model(tmp_path):
    model = ppocr_cls()
    profile_csv, codecs_csv = tmp_path / "cls.csv", tmp_path / "codecs.csv"
    assert main(["profile", model, "--input-shape", "3x48x192", "--out", str(profile_csv),
                 "--samples", "4", "--quiet"]) == 0
    profile = moosplit.read_profile(profile_csv)
    assert 60 < profile.n_nodes < 120  # fused: 240 nodes unfused
    assert profile.bit_widths == (2, 4, 6, 8, 16)
    frame = profile.to_frame()
    assert not frame.drop(columns=["out_bits"]).isna().any().any()  # every column filled
    assert profile.metadata["weights"].startswith("as stored in")
    assert main(["codecs", model, "--input-shape", "3x48x192", "--out", str(codecs_csv)]) == 0
    codecs = read_codecs(codecs_csv, profile)  # node names agree with the profile's
    assert codecs.available.all()
    table = pd.read_csv(codecs_csv)
    assert set(table.codec) == {"zlib", "q4+zlib", "q2+zlib"}
    problem = moosplit.SplitProblem(profile, moosplit.Network(bandwidth_mbps=1), bits=(8, 16),
                                    objectives=("latency_ms", "error"), codecs=codecs)
    front = moosplit.solve(problem, "cpsat", time_limit=60)
    assert len(front) >= 1


def test_profiles_command_lists_bundled_profiles(capsys):
    assert main(["profiles"]) == 0
    out = capsys.readouterr().out
    for name in moosplit.bundled_profiles():
        assert name in out
