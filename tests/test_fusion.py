"""Fused profiles (issue 13): BatchNorm folding, activation fusion, and the two front ends
agreeing on the same model."""

from __future__ import annotations

import importlib.metadata
import sys
import warnings

import numpy as np
import pytest

from moosplit.profilers.fusion import FusedModel, fused_metadata, fusion_groups
from moosplit.profilers.graph import LayerGraph
from moosplit.testing.torch_models import randomise_batchnorms

torch = pytest.importorskip("torch")
nn = torch.nn


# --------------------------------------------------------------------------- groups


def graph(rows: list[tuple[str, str, tuple[str, ...], int, int]]) -> LayerGraph:
    """A LayerGraph from (name, op, inputs, out_elems, weight_elems) rows after the input."""
    rows = [("x", "input", (), 8, 0), *rows]
    return LayerGraph(model="toy", names=tuple(r[0] for r in rows),
                      ops=tuple(r[1] for r in rows), inputs=tuple(r[2] for r in rows),
                      out_elems=[r[3] for r in rows], weight_elems=[r[4] for r in rows],
                      macs=[r[3] for r in rows], input_shape=(1, 8))


def named_groups(g: LayerGraph) -> list[tuple[str, ...]]:
    return [tuple(g.names[k] for k in group) for group in fusion_groups(g)]


def test_decomposed_hardswish_and_silu_fuse_whole() -> None:
    g = graph([
        ("conv", "conv", ("x",), 16, 9),
        ("add3", "add", ("conv",), 16, 0),  # x * clip(x + 3, 0, 6) / 6, as PP-OCR writes it
        ("clip", "clip", ("add3",), 16, 0),
        ("mul", "mul", ("conv", "clip"), 16, 0),
        ("div6", "div", ("mul",), 16, 0),
        ("fc", "linear", ("div6",), 4, 64),
        ("sig", "sigmoid", ("fc",), 4, 0),  # x * sigmoid(x)
        ("silu", "mul", ("fc", "sig"), 4, 0),
    ])
    assert named_groups(g) == [("x",), ("conv", "add3", "clip", "mul", "div6"),
                               ("fc", "sig", "silu")]


def test_a_producer_read_elsewhere_keeps_its_activation_apart() -> None:
    g = graph([
        ("conv", "conv", ("x",), 16, 9),
        ("relu", "relu", ("conv",), 16, 0),
        ("other", "conv", ("conv",), 16, 9),  # reads the pre-activation tensor
        ("pool", "pool", ("relu",), 4, 0),
        ("relu2", "relu", ("pool",), 4, 0),  # a pool absorbs nothing
        ("bias", "add", ("other",), 16, 0),
        ("scale", "mul", ("bias", "x"), 16, 0),  # reads a row outside the group
    ])
    assert named_groups(g) == [("x",), ("conv",), ("relu",), ("other", "bias"), ("pool",),
                               ("relu2",), ("scale",)]


def test_residual_add_absorbs_its_relu_but_not_its_inputs() -> None:
    g = graph([
        ("conv1", "conv", ("x",), 8, 9),
        ("conv2", "conv", ("conv1",), 8, 9),
        ("add", "add", ("conv2", "x"), 8, 0),
        ("relu", "relu", ("add",), 8, 0),
        ("sink", "relu", ("conv1",), 8, 0),  # conv1 is read twice: no fusion
    ])
    assert named_groups(g) == [("x",), ("conv1",), ("conv2",), ("add", "relu"), ("sink",)]


def test_intermediate_model_output_and_broadcast_are_not_fused() -> None:
    g = graph([
        ("conv", "conv", ("x",), 16, 9),
        ("relu", "relu", ("conv",), 16, 0),  # a sink: a model output
        ("conv2", "conv", ("x",), 16, 9),
        ("grow", "add", ("conv2",), 32, 0),  # broadcasts bigger: not element-wise
        ("prelu", "relu", ("grow",), 32, 5),
    ])
    assert named_groups(g) == [("x",), ("conv", "relu"), ("conv2",), ("grow",), ("prelu",)]


def test_zero_padding_joins_the_convolution_reading_it_alone() -> None:
    g = graph([
        ("pad", "zeropad2d", ("x",), 10, 0),
        ("conv", "conv", ("pad",), 16, 9),
        ("relu", "relu6", ("conv",), 16, 0),
        ("pad2", "zeropad2d", ("relu",), 20, 0),  # read twice: stays a row
        ("dw", "dwconv", ("pad2",), 16, 9),
        ("pool", "pool", ("pad2",), 4, 0),
        ("pad3", "zeropad2d", ("dw",), 20, 0),  # its convolution reads another row too
        ("cat", "conv", ("pad3", "pool"), 16, 9),
    ])
    assert named_groups(g) == [("x",), ("pad", "conv", "relu"), ("pad2",), ("dw",),
                               ("pool",), ("pad3",), ("cat",)]
    fused = FusedModel(Recorder(g), fusion_groups(g))
    f = fused.graph
    assert f.names[1] == "conv" and f.ops[1] == "conv" and f.inputs[1] == ("x",)
    assert f.fused[1] == ("pad", "conv", "relu") and f.out_elems[1] == 16
    assert fused.weights("conv")[0][0, 0] == 2.0  # the convolution's, not the padding's
    fused.run(None, weight_bits={"conv": 4}, activation_bits={"conv": 2})
    assert fused.inner.calls[-1] == ({"conv": 4}, {"relu": 2})


class Recorder:
    """A ModelRunner over a LayerGraph that records what it was asked."""

    timing = "fake"

    def __init__(self, g: LayerGraph) -> None:
        self.graph = g
        self.calls: list[tuple[dict, dict]] = []

    def weights(self, name: str) -> list[np.ndarray]:
        return [np.full((2, 2), float(self.graph.names.index(name)))]

    def run(self, batch, *, weight_bits=None, activation_bits=None):
        self.calls.append((dict(weight_bits), dict(activation_bits)))
        return {n: (np.full(1, float(k)),) for k, n in enumerate(self.graph.names)}

    def time_nodes(self, batch, *, warmup=3, runs=10, progress=None):
        return np.arange(self.graph.n_rows, dtype=float)


def test_fused_model_maps_rows_onto_the_groups() -> None:
    g = graph([("conv", "conv", ("x",), 16, 9), ("bias", "add", ("conv",), 16, 0),
               ("relu", "relu", ("bias",), 16, 0), ("fc", "linear", ("relu",), 4, 64)])
    inner = Recorder(g)
    fused = FusedModel(inner, fusion_groups(g))
    f = fused.graph
    assert f.names == ("x", "conv", "fc") and f.ops == ("input", "conv", "linear")
    assert f.inputs == ((), ("x",), ("conv",))
    assert f.out_elems.tolist() == [8, 16, 4] and f.weight_elems.tolist() == [0, 9, 64]
    assert f.macs.tolist() == [8, 48, 4]
    assert f.fused == ((), ("conv", "bias", "relu"), ())
    assert fused_metadata(f) == "conv <- conv bias relu"
    assert fused.time_nodes(None).tolist() == [0.0, 1 + 2 + 3, 4]
    out = fused.run(None, weight_bits={"conv": 4}, activation_bits={"conv": 2, "fc": 8})
    assert inner.calls == [({"conv": 4}, {"relu": 2, "fc": 8})]  # activation: the last node's
    assert out["conv"][0].tolist() == [3.0]  # the row outputs the relu's tensor
    assert fused.weights("conv")[0][0, 0] == 1.0
    with pytest.raises(ValueError, match="relu"):
        fused.run(None, weight_bits={"relu": 4})  # fused away: not a row any more


# --------------------------------------------------------------------------- folding


class Small(nn.Module):
    """Conv/BN/ReLU twice (a ReLU6 the second time), a pool, dropout, a linear layer."""

    def __init__(self, width: int = 16, pad: bool = False) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu1 = nn.ReLU(inplace=True)
        # with `pad`, TensorFlow's "same" padding of a stride-2 convolution (as in
        # EfficientNet-Lite): a ZeroPad2d row before it
        self.pad = nn.ZeroPad2d((0, 1, 0, 1)) if pad else None
        self.conv2 = nn.Conv2d(width, 2 * width, 3, stride=2, padding=0 if pad else 1)
        self.bn2 = nn.BatchNorm2d(2 * width)
        self.relu2 = nn.ReLU6()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flat = nn.Flatten()
        self.drop = nn.Dropout(0.2)
        self.fc = nn.Linear(2 * width, 10)

    def forward(self, x):
        x = self.relu1(self.bn1(self.conv1(x)))
        x = self.relu2(self.bn2(self.conv2(x if self.pad is None else self.pad(x))))
        return self.fc(self.drop(self.flat(self.pool(x))))


def trace(net: nn.Module, shape: tuple[int, ...], fuse: bool = True):
    from moosplit.profilers.torch_model import trace_module

    return trace_module(net, shape, fuse=fuse)


def test_folded_convolution_equals_convolution_then_batchnorm() -> None:
    net = randomise_batchnorms(Small(), seed=1)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    x = np.random.default_rng(2).standard_normal((2, 3, 12, 12)).astype(np.float32)
    plain = trace(net, x.shape, fuse=False).run(x)
    fused = trace(net, x.shape)
    out = fused.run(x)
    assert fused.graph.fused[1:3] == (("conv1", "bn1", "relu1"), ("conv2", "bn2", "relu2"))
    assert fused.graph.fused[-1] == ("drop", "fc")  # removed, as onnxruntime removes it
    # rows covering a folded BatchNorm and an activation output what the activation did
    np.testing.assert_allclose(out["conv1"][0], plain["relu1"][0], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(out["conv2"][0], plain["relu2"][0], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(out["fc"][0], plain["fc"][0], rtol=1e-5, atol=1e-5)
    # the BatchNorm (non-trivial statistics) really changed the convolution's weights
    assert not np.allclose(fused.weights("conv1")[0], net.conv1.weight.detach().numpy())
    assert all(torch.equal(v, net.state_dict()[k]) for k, v in before.items())  # untouched
    assert isinstance(net.bn1, nn.BatchNorm2d) and net.conv1.bias is None


def test_linear_batchnorm_folds_and_shared_modules_do_not() -> None:
    class Heads(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(6, 5)
            self.bn = nn.BatchNorm1d(5)
            self.conv = nn.Conv2d(1, 1, 1)
            self.bn2 = nn.BatchNorm2d(1)

        def forward(self, x):
            y = self.bn(self.fc(x))
            z = self.bn2(self.conv(y.view(-1, 1, 5, 1)))
            return self.bn2(self.conv(z))  # called twice: folding would change both

    net = randomise_batchnorms(Heads(), seed=3)
    x = np.random.default_rng(4).standard_normal((3, 6)).astype(np.float32)
    with pytest.warns(UserWarning, match="called 2 times"):
        model = trace(net, x.shape)
    assert model.graph.names[1] == "fc" and model.graph.fused[1] == ("fc", "bn")
    assert "bn2" in model.graph.names and "bn" not in model.graph.names
    with pytest.warns(UserWarning, match="called 2 times"):
        (expected,) = trace(net, x.shape, fuse=False).run(x)["bn2_1"]
    np.testing.assert_allclose(model.run(x)[model.graph.names[-1]][0], expected,
                               rtol=1e-5, atol=1e-5)


def test_resnet50_structure_after_fusion() -> None:
    from moosplit.profilers.architectures import build_architecture

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g = trace(build_architecture("resnet50", seed=0), (1, 3, 224, 224)).graph
    out = dict(zip(g.names, g.out_elems.tolist(), strict=True))
    assert g.out_elems[0] == 150_528
    table_10 = ["layer4.0.conv3", "layer4.1.conv3", "layer4.2.conv3", "fc"]
    assert [out[n] for n in table_10] == [100_352] * 3 + [1_000]  # rows: split points
    assert not {"bn", "relu"} & set(g.ops)
    assert g.ops.count("conv") == 53 and g.ops.count("add") == 16
    fused = dict(zip(g.names, g.fused, strict=True))
    assert fused["conv1"] == ("conv1", "bn1", "relu")
    assert fused["layer4.0.conv3"] == ("layer4.0.conv3", "layer4.0.bn3")  # ReLU: after add
    assert fused["add_15"] == ("add_15", "layer4.2.relu_2")


def test_no_fuse_keeps_one_row_per_node(tmp_path) -> None:
    from moosplit.cli import main

    path = tmp_path / "net.py"
    path.write_text("import torch\n\ndef make():\n    return torch.nn.Sequential(\n"
                    "        torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4),\n"
                    "        torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(64, 2))\n")
    sys.path.insert(0, str(tmp_path))
    try:
        rows = {}
        for flag in ((), ("--no-fuse",)):
            out = tmp_path / f"p{len(flag)}.csv"
            assert main(["profile", "net:make", "--input-shape", "3x6x6", "--out", str(out),
                         "--runs", "1", "--warmup", "0", "--errors", "none", "--quiet",
                         *flag]) == 0
            from moosplit import read_profile

            profile = read_profile(out)
            rows[flag] = (profile.names, profile.metadata["fused"])
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("net", None)
    assert rows[()] == (("input", "0", "3", "4"), "0 <- 0 1 2")
    assert rows[("--no-fuse",)][0] == ("input", "0", "1", "2", "3", "4")
    assert rows[("--no-fuse",)][1].startswith("none")


# --------------------------------------------------------------------------- ONNX


def ppocr_cls() -> str:
    try:
        dist = importlib.metadata.distribution("rapidocr-onnxruntime")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("rapidocr-onnxruntime (ships the PP-OCR models) is not installed")
    return str(dist.locate_file("rapidocr_onnxruntime/models/ch_ppocr_mobile_v2.0_cls_infer.onnx"))


def test_onnx_profiles_the_graph_onnxruntime_runs() -> None:
    pytest.importorskip("onnxruntime")
    from moosplit.profilers.onnx_model import load_onnx

    path = ppocr_cls()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = load_onnx(path, input_shape=(3, 48, 192), fuse=False)
        fused = load_onnx(path, input_shape=(3, 48, 192))
    g = fused.graph
    assert "batchnorm" not in g.ops and "relu" not in g.ops and "clip" not in g.ops
    # the first convolution: BatchNorm folded by onnxruntime, HardSwish's four nodes fused
    assert g.names[1] == "Conv@0"
    assert g.fused[1] == ("Conv@0", "BatchNormalization@0", "Add@0", "Clip@0", "Mul@0",
                          "Div@0")
    assert g.fused[-1] == ("Softmax@0", "Identity@0")  # removed by onnxruntime
    covered = [n for name, f in zip(g.names, g.fused, strict=True) for n in f or (name,)]
    assert len(covered) == len(set(covered))
    assert set(covered) <= set(plain.graph.names)  # named after the model's nodes
    assert plain.graph.out_elems.sum() > g.out_elems.sum()
    assert plain.graph.out_elems[0] == g.out_elems[0]
    x = np.random.default_rng(0).standard_normal((1, 3, 48, 192)).astype(np.float32)
    plain_out, fused_out = plain.run(x), fused.run(x)
    for name, f in zip(g.names, g.fused, strict=True):  # each row outputs its last node's
        np.testing.assert_allclose(fused_out[name][0], plain_out[f[-1] if f else name][0],
                                   rtol=1e-3, atol=1e-4)


# --------------------------------------------------------------------------- agreement


def exported(net: nn.Module, shape: tuple[int, ...], path) -> str:
    pytest.importorskip("onnxruntime")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(net, (torch.randn(shape),), str(path), dynamo=False,
                          input_names=["x"], output_names=["y"])
    return str(path)


def both_front_ends(net: nn.Module, shape: tuple[int, ...], tmp_path):
    from moosplit.profilers.onnx_model import load_onnx

    path = exported(net, shape, tmp_path / "net.onnx")
    return trace(net, shape), load_onnx(path)


def best_totals(a, b, x: np.ndarray, rounds: int, runs: int) -> tuple[float, float]:
    """Each runner's total over rows of the smallest per-row time in `rounds` alternating
    measurements (a busy machine only ever adds time)."""
    times = [[], []]
    for _ in range(rounds):
        for k, runner in enumerate((a, b)):
            times[k].append(runner.time_nodes(x, warmup=2, runs=runs))
    return float(np.min(times[0], axis=0).sum()), float(np.min(times[1], axis=0).sum())


def test_torch_and_its_onnx_export_give_the_same_rows(tmp_path) -> None:
    net = randomise_batchnorms(Small(), seed=5)
    shape = (1, 3, 32, 32)
    a, b = both_front_ends(net, shape, tmp_path)
    ga, gb = a.graph, b.graph
    assert ga.n_rows == gb.n_rows == 6
    assert ga.ops == gb.ops == ("input", "conv", "conv", "pool", "flatten", "linear")
    assert ga.out_elems.tolist() == gb.out_elems.tolist()
    assert ga.weight_elems.tolist() == gb.weight_elems.tolist()
    assert ga.macs.tolist() == gb.macs.tolist()
    assert [len(f) for f in ga.fused] == [0, 3, 3, 0, 0, 2]  # conv, BatchNorm, act.; dropout
    x = np.random.default_rng(6).standard_normal(shape).astype(np.float32)
    np.testing.assert_allclose(a.run(x)["fc"][0], b.run(x)[gb.names[-1]][0], rtol=1e-4,
                               atol=1e-5)
    ta, tb = best_totals(a, b, x, rounds=2, runs=5)
    assert 1 / 2 < ta / tb < 2  # loose: tiny kernels, a busy machine (the 15% check: slow)


def test_zero_padding_gives_the_same_rows_through_both_front_ends(tmp_path) -> None:
    net = randomise_batchnorms(Small(pad=True), seed=9)
    shape = (1, 3, 32, 32)
    a, b = both_front_ends(net, shape, tmp_path)
    ga, gb = a.graph, b.graph
    assert ga.ops == gb.ops == ("input", "conv", "conv", "pool", "flatten", "linear")
    assert ga.out_elems.tolist() == gb.out_elems.tolist()
    assert ga.macs.tolist() == gb.macs.tolist()
    assert ga.weight_elems.tolist() == gb.weight_elems.tolist()
    assert ga.fused[2] == ("pad", "conv2", "bn2", "relu2")
    assert [n.split("/")[-1] for n in gb.fused[2]] == ["Pad", "Conv", "Clip"]
    x = np.random.default_rng(10).standard_normal(shape).astype(np.float32)
    np.testing.assert_allclose(a.run(x)["fc"][0], b.run(x)[gb.names[-1]][0], rtol=1e-4,
                               atol=1e-5)


def test_torch_rows_are_timed_in_onnxruntime(tmp_path) -> None:
    from moosplit.profilers.torch_timing import TIMING

    a = trace(randomise_batchnorms(Small(pad=True), seed=11), (2, 3, 32, 32))
    x = np.random.default_rng(12).standard_normal((2, 3, 32, 32)).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # no fallback to PyTorch's kernels
        ms = a.time_nodes(x, warmup=1, runs=3)
    assert a.timing.startswith(TIMING)
    assert ms[0] == 0 and (ms[[1, 2, 3, 5]] > 0).all()  # flatten may be a free Reshape


def test_a_model_onnxruntime_cannot_take_is_timed_in_pytorch(monkeypatch) -> None:
    import moosplit.profilers.torch_model as torch_model

    def refuse(*args, **kwargs):
        raise RuntimeError("no exporter for this operator")

    a = trace(Small(), (1, 3, 16, 16))
    monkeypatch.setattr(torch_model, "time_rows", refuse)
    x = np.zeros((1, 3, 16, 16), np.float32)
    with pytest.warns(UserWarning, match="timed in PyTorch.*no exporter for this operator"):
        ms = a.time_nodes(x, warmup=0, runs=2)
    assert a.timing.startswith(torch_model.TORCH_TIMING)
    assert ms[0] == 0 and (ms[1:3] > 0).all()


def test_onnx_nodes_belong_to_the_row_they_write_or_feed() -> None:
    from onnx import helper

    from moosplit.profilers.torch_timing import node_rows

    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], name="conv"),
             helper.make_node("Relu", ["c"], ["r"], name="relu"),  # writes row 1's tensor
             helper.make_node("Shape", ["r"], ["s"], name="shape"),  # feeds rows 2 and 3
             helper.make_node("Reshape", ["r", "s"], ["y"], name="reshape"),
             helper.make_node("Add", ["y", "s"], ["z"], name="add"),
             helper.make_node("Relu", ["c"], ["dead"], name="unread")]  # reaches no row
    g = helper.make_graph(nodes, "g", [], [])
    assert node_rows(g, {"r": 1, "y": 2, "z": 3}) == {
        "conv": 1, "relu": 1, "shape": 2, "reshape": 2, "add": 3}


@pytest.mark.slow
def test_front_ends_measure_the_same_latency_within_15_percent(tmp_path) -> None:
    net = randomise_batchnorms(Small(width=32), seed=7)
    shape = (1, 3, 96, 96)
    a, b = both_front_ends(net, shape, tmp_path)
    x = np.random.default_rng(8).standard_normal(shape).astype(np.float32)
    ta, tb = best_totals(a, b, x, rounds=5, runs=10)
    assert abs(ta - tb) <= 0.15 * max(ta, tb), (ta, tb)


# --------------------------------------------------------------------------- reference dtype


@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_metadata_states_the_dtype_sent_at_reference_precision(dtype: str) -> None:
    from moosplit.profilers.builder import Measurement, build_profile

    net = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4)).to(getattr(torch, dtype))
    profile = build_profile(trace(net, (2, 8)), errors=None,
                            measurement=Measurement(warmup=0, runs=1))
    assert profile.metadata["reference_dtype"] == dtype
    assert profile.metadata["fused"] == "0 <- 0 1"
