"""`moosplit validate` and its library API: equivalence of exported halves with the model,
quantised metrics, and a real run through a paced link to a `moosplit serve` subprocess on
127.0.0.1 (bounded by request count and duration), on small torch models built here
(tests/test_export.py's); nothing is downloaded."""

from __future__ import annotations

import csv
import json
import math
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest

import moosplit
from moosplit.cli import main
from moosplit.deploy import export_plan
from moosplit.deploy.validate import (
    FLOAT16_TOLERANCE,
    FLOAT32_TOLERANCE,
    check_equivalence,
    check_quantised,
    load_setting,
    measure_run,
    validate,
)
from moosplit.errors import DeployError, OptionError

torch = pytest.importorskip("torch")
pytest.importorskip("onnxruntime")

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_export import SHAPE, Skip, plan_of, profiled  # noqa: E402

from moosplit.profilers.torch_model import trace_module  # noqa: E402

BANDWIDTH, RTT = 2.0, 5.0  # Mbit/s, ms: the paced link of the problems here


@pytest.fixture(scope="module")
def skip():
    """The residual block (fused rows: conv1, conv2, add, ...) and its cut-mode problem."""
    torch.manual_seed(0)
    runner = trace_module(Skip().eval(), SHAPE, name="skip")
    problem = moosplit.SplitProblem(profiled(runner),
                                    moosplit.Network(bandwidth_mbps=BANDWIDTH, rtt_ms=RTT),
                                    mode="cut")
    return runner, problem


def exported(skip, folder, nodes, bits_w=16, bits_a=16):
    runner, problem = skip
    export_plan(problem, plan_of(problem, nodes, bits_w, bits_a), runner, folder)
    return load_setting(folder, samples=2, calibration=None, seed=1,
                        profile=problem.profile, model=runner)


# --------------------------------------------------------------------------- (a)
@pytest.mark.parametrize("nodes", [("conv1",), ("conv1", "conv2")],
                         ids=["prefix", "two-tensor cut"])
def test_equivalence_passes_for_a_prefix_and_a_two_tensor_cut(skip, tmp_path, nodes):
    setting = exported(skip, tmp_path, nodes, bits_w=4, bits_a=4)  # re-exported at 16
    assert [t.row for t in setting.manifest.cut_tensors] == list(
        {"conv1": ["conv1"], "conv2": ["conv1", "conv2"]}[nodes[-1]])
    result = check_equivalence(setting)
    assert result.passed and result.samples == 2
    assert result.max_rel <= FLOAT32_TOLERANCE and result.max_abs < 1e-4
    # float16 frames round the cut tensors and the result: a difference, within tolerance
    assert 0 < result.max_rel_float16 <= FLOAT16_TOLERANCE


def test_equivalence_fails_loudly_when_the_cloud_half_is_tampered_with(skip, tmp_path,
                                                                      monkeypatch):
    setting = exported(skip, tmp_path, ("conv1",))
    from moosplit.deploy import export as export_module

    real = export_module.export_plan

    def tampered(*args, **kwargs):
        manifest = real(*args, **kwargs)
        path = Path(args[3]) / "cloud.onnx"
        model = onnx.load(str(path))
        for weight in model.graph.initializer:  # every cloud weight doubled
            array = onnx.numpy_helper.to_array(weight) * 2
            weight.CopyFrom(onnx.numpy_helper.from_array(array, weight.name))
        onnx.save(model, str(path))
        return manifest

    monkeypatch.setattr(export_module, "export_plan", tampered)
    result = check_equivalence(setting)
    assert not result.passed
    assert result.max_rel > 0.1 and result.max_rel_float16 > 0.1


# --------------------------------------------------------------------------- (b)
def test_quantised_metrics_follow_the_bits(skip, tmp_path):
    full = check_quantised(exported(skip, tmp_path / "16", ("conv1", "conv2")))
    # at 16 bits only float16 transport differs from the model
    assert full.mse < 1e-5 and full.relative_mse < 1e-5 and full.top1_agreement == 1.0
    coarse = check_quantised(exported(skip, tmp_path / "2", ("conv1", "conv2"), 2, 2))
    assert coarse.mse > 100 * max(full.mse, 1e-12) and coarse.relative_mse > 1e-3
    assert 0 <= coarse.top1_agreement <= 1


def test_top1_is_left_out_for_an_output_that_is_not_a_class_vector(tmp_path):
    class Map(torch.nn.Module):  # a feature map out: no classes
        def __init__(self) -> None:
            super().__init__()
            self.conv1 = torch.nn.Conv2d(3, 4, 3, padding=1)
            self.conv2 = torch.nn.Conv2d(4, 2, 3, padding=1)

        def forward(self, x):
            return self.conv2(torch.relu(self.conv1(x)))

    torch.manual_seed(0)
    runner = trace_module(Map().eval(), SHAPE, name="map")
    problem = moosplit.SplitProblem(profiled(runner), moosplit.Network(bandwidth_mbps=10))
    setting = exported((runner, problem), tmp_path, problem.profile.names[1:2], 8, 8)
    result = check_quantised(setting)
    assert result.top1_agreement is None and "2x8x8 per sample" in result.note
    assert result.mse > 0


# --------------------------------------------------------------------------- (c)
def test_a_real_run_over_loopback_measures_every_part(skip, tmp_path):
    setting = exported(skip, tmp_path, ("conv1", "conv2"), 8, 8)
    run = measure_run(setting, runs=3, warmup=1, timeout=10)
    measured = {p.name: p.measured_ms for p in run.parts}
    assert set(measured) == {"edge", "pack", "transmit+rtt", "cloud", "unpack", "return",
                             "end-to-end"}
    assert all(v is not None for v in measured.values()), measured
    # the answer's return may come out below 0 when the sender is scheduled out after its
    # last send while the server already works (the parts overlap); the others cannot
    assert all(v > 0 for name, v in measured.items() if name != "return"), measured
    paced = RTT + run.frame_bytes * 8 / (BANDWIDTH * 1e3)  # ms
    assert run.frame_bytes >= run.tx_bytes == setting.manifest.predicted["tx_bytes"]
    assert measured["end-to-end"] >= measured["transmit+rtt"] >= paced - 0.5
    assert measured["end-to-end"] >= measured["edge"] + measured["transmit+rtt"]
    assert run.answer_bytes > 0 and run.cores >= 1
    predicted = {p.name: p.predicted_ms for p in run.parts}
    p = setting.manifest.predicted
    assert predicted["transmit+rtt"] == pytest.approx(p["transmit_ms"] + p["rtt_ms"])
    assert predicted["pack"] is None and predicted["unpack"] is None
    assert "not in the prediction" in run.part("pack").note


def test_notes_name_the_modelled_edge_device_only_where_parts_differ(skip, tmp_path):
    runner, problem = skip
    profile = problem.profile
    meta = {**profile.metadata, "edge_device": "slowpoke",
            "edge_ms": "modelled: slowpoke: 1 MAC/s; made up here"}
    frame = profile.to_frame()
    for column in frame.columns:
        if column.startswith("edge_ms"):  # the edge modelled 10^4 times slower
            times = frame[column].astype(float)
            frame[column] = np.where(times > 0, times * 1e4 + 10, 0.0)
    slow = moosplit.Profile.from_frame(frame, meta)
    setting = exported((runner, problem.replace(profile=slow)), tmp_path, ("conv1",), 8, 8)
    run = measure_run(setting, runs=2, warmup=0, timeout=10)
    edge = run.part("edge")
    assert edge.ratio < 0.75
    assert "predicted for edge device slowpoke (modelled: slowpoke: 1 MAC/s)" in edge.note
    assert "on this host" in edge.note
    # the end-to-end latency follows it and says so
    assert run.part("end-to-end").ratio < 0.75 and "follows edge" in run.part(
        "end-to-end").note


# --------------------------------------------------------------------------- all of it
def test_validate_skips_the_run_of_an_edge_only_plan(skip, tmp_path):
    runner, problem = skip
    export_plan(problem, plan_of(problem, problem.profile.names[1:]), runner, tmp_path)
    report = validate(tmp_path, samples=1, profile=problem.profile, model=runner)
    assert report.run is None and "edge-only" in report.skipped
    assert report.equivalence.passed and "real run: skipped" in report.table()
    with pytest.raises(OptionError):
        validate(tmp_path, runs=0, profile=problem.profile, model=runner)


FACTORY = """
import torch

def make():
    torch.manual_seed(1)
    return torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.Flatten(),
                               torch.nn.Linear(144, 3)).eval()
"""


def test_cli_profile_solve_export_validate_and_a_front(tmp_path, monkeypatch, capsys):
    """The whole chain by the command line, with a module:factory model and its profile
    written to disk, then two rows of the front validated and plotted."""
    (tmp_path / "validate_factory.py").write_text(FACTORY, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    model = "validate_factory:make"
    problem = ["--bandwidth-mbps", "1", "--rtt-ms", "2", "--bits", "4,8,16", "--max-split", "2"]
    assert main(["profile", model, "--input-shape", "3x8x8", "--out", "p.csv", "--runs", "1",
                 "--warmup", "0", "--samples", "2"]) == 0
    assert main(["solve", "p.csv", *problem, "--out", "front.csv"]) == 0
    assert main(["export", "front.csv", "--profile", "p.csv", *problem, "--row", "0",
                 "--model", model, "--input-shape", "3x8x8", "--out", "plan"]) == 0
    capsys.readouterr()
    assert main(["validate", "plan", "--samples", "2", "--runs", "2", "--warmup", "1",
                 "--out", "parts.csv"]) == 0
    out = capsys.readouterr().out
    assert "equivalence (2 samples, every bit at 16): pass" in out
    assert "end-to-end" in out
    rows = list(csv.DictReader(open("parts.csv", encoding="utf-8")))
    assert [r["part"] for r in rows] == ["edge", "pack", "transmit+rtt", "cloud", "unpack",
                                         "return", "end-to-end"]
    assert all(float(r["measured_ms"]) > 0 for r in rows if r["part"] != "return")
    # `moosplit profile` measured the packing times, so the prediction has both parts:
    # the cut tensors' elements times the profile's per-element times
    profile = moosplit.read_profile("p.csv")
    manifest = json.loads(open("plan/plan.json", encoding="utf-8").read())
    elements = sum(math.prod(t["shape"]) for t in manifest["cut_tensors"]) * profile.batch
    for row, per_element in ((1, profile.pack_ns_per_element),
                             (4, profile.unpack_ns_per_element)):
        assert per_element > 0
        assert float(rows[row]["predicted_ms"]) == pytest.approx(elements * per_element * 1e-6,
                                                                 rel=1e-5)
    # the manifest's relative profile path is found from inside the plan directory too
    monkeypatch.chdir(tmp_path / "plan")
    assert main(["validate", ".", "--samples", "1", "--runs", "1", "--warmup", "0",
                 "--quiet"]) == 0
    monkeypatch.chdir(tmp_path)
    assert main(["validate", "--front", "front.csv", "--rows", "0,1", "--profile", "p.csv",
                 *problem, "--model", model, "--samples", "1", "--runs", "1", "--warmup",
                 "0", "--plot", "v.png", "--out", "front_parts.csv", "--quiet"]) == 0
    assert (tmp_path / "v.png").stat().st_size > 0
    rows = list(csv.DictReader(open("front_parts.csv", encoding="utf-8")))
    assert {r["plan"] for r in rows} == {"row 0", "row 1"}


def test_cli_refuses_a_bad_directory_in_one_line(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a directory" in err
    assert main(["validate", str(tmp_path)]) == 2
    assert "no plan.json" in capsys.readouterr().err
    (tmp_path / "plan.json").write_text("{", encoding="utf-8")
    assert main(["validate", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot be read as JSON" in err
    assert main(["validate"]) == 2
    assert "give a plan directory DIR or --front" in capsys.readouterr().err
    with pytest.raises(DeployError):
        validate(tmp_path / "missing")
