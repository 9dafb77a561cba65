"""`moosplit export` and its library API (SPEC section 8): plans cut into edge.onnx and
cloud.onnx with plan.json, for torch models and ONNX files built here (nothing downloaded).

Equivalence tolerance: with every bit at the reference 16, edge.onnx then cloud.onnx must
reproduce the full model run by the profiler to within 1e-5 absolute + 1e-5 relative
(float32 kernels may order sums differently when a graph is cut, nothing more).
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

import moosplit
from moosplit.cli import main
from moosplit.deploy import Manifest, export_plan
from moosplit.errors import ExportError, ProblemError
from moosplit.evaluator import evaluate, latency_parts
from moosplit.plans import Plan, Plans
from moosplit.profilers.builder import Measurement, build_profile
from moosplit.profilers.calibration import calibration_batch

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from moosplit.profilers.onnx_model import load_onnx  # noqa: E402
from moosplit.profilers.torch_model import trace_module  # noqa: E402

ATOL = RTOL = 1e-5
SHAPE = (1, 3, 8, 8)


# --------------------------------------------------------------------------- models
class Chain(torch.nn.Module):
    """conv, relu, conv, pool, flatten, linear: every cut sends one tensor."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = torch.nn.Conv2d(3, 6, 3, padding=1)
        self.relu = torch.nn.ReLU(inplace=True)
        self.conv2 = torch.nn.Conv2d(6, 4, 3, padding=1)
        self.pool = torch.nn.AdaptiveAvgPool2d(1)
        self.fc = torch.nn.Linear(4, 5)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.conv2(self.relu(self.conv1(x)))), 1))


class Skip(torch.nn.Module):
    """A residual block: cutting after conv2 sends relu and conv2 (two tensors)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.relu = torch.nn.ReLU()
        self.conv2 = torch.nn.Conv2d(8, 8, 3, padding=1)
        self.bn = torch.nn.BatchNorm2d(8)
        self.fc = torch.nn.Linear(8, 4)

    def forward(self, x):
        y = self.relu(self.conv1(x))
        z = self.bn(self.conv2(y)) + y
        return self.fc(torch.flatten(torch.nn.functional.adaptive_avg_pool2d(z, 1), 1))


class Heads(torch.nn.Module):
    """Two heads and a returned feature map: outputs can be computed on either side; the
    second head reads the raw input too."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = torch.nn.Conv2d(3, 4, 3)
        self.fc1 = torch.nn.Linear(4, 2)
        self.conv2 = torch.nn.Conv2d(4, 4, 3)
        self.fc2 = torch.nn.Linear(7, 3)

    def forward(self, x):
        y = self.conv1(x)
        z = torch.cat([self.conv2(y).mean((2, 3)), x.mean((2, 3))], 1)
        return self.fc1(y.mean((2, 3))), self.fc2(z), y


def skip_onnx(path: str) -> str:
    """The residual block as an ONNX file written with onnx.helper (opset 21, so that
    4-bit activations are native int4/uint4)."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(3)

    def weight(name: str, *shape: int) -> object:
        return numpy_helper.from_array((rng.standard_normal(shape) * 0.3).astype(np.float32),
                                       name)

    nodes = [
        helper.make_node("Conv", ["image", "w1", "b1"], ["t1"], name="conv_a", pads=[1] * 4),
        helper.make_node("Relu", ["t1"], ["t2"], name="relu_a"),
        helper.make_node("Conv", ["t2", "w2", "b2"], ["t3"], name="conv_b", pads=[1] * 4),
        helper.make_node("Add", ["t3", "t2"], ["t4"], name="add"),
        helper.make_node("GlobalAveragePool", ["t4"], ["t5"], name="pool"),
        helper.make_node("Flatten", ["t5"], ["t6"], name="flat"),
        helper.make_node("Gemm", ["t6", "w3", "b3"], ["logits"], name="fc", transB=1),
    ]
    graph = helper.make_graph(
        nodes, "skip", [helper.make_tensor_value_info("image", TensorProto.FLOAT, SHAPE)],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 4])],
        initializer=[weight("w1", 8, 3, 3, 3), weight("b1", 8), weight("w2", 8, 8, 3, 3),
                     weight("b2", 8), weight("w3", 4, 8), weight("b3", 4)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])
    model.ir_version = 10
    onnx.save(model, path)
    return path


def profiled(runner) -> moosplit.Profile:
    calibration, origin = calibration_batch(SHAPE[1:], 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return build_profile(runner, bits=(2, 4, 8), calibration=calibration,
                             calibration_origin=origin, measurement=Measurement(0, 1))


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """name -> (runner, problem in cut mode) for the chain, the block (fused, as profiles are
    by default, and one row per node) and the ONNX file."""
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("models")
    runners = {"chain": trace_module(Chain().eval(), SHAPE, name="chain"),
               "skip": trace_module(Skip().eval(), SHAPE, name="skip"),
               "skip_unfused": trace_module(Skip().eval(), SHAPE, name="skip", fuse=False),
               "onnx": load_onnx(skip_onnx(str(folder / "skip.onnx")))}
    return {name: (runner, moosplit.SplitProblem(profiled(runner),
                                                 moosplit.Network(bandwidth_mbps=10),
                                                 mode="cut"))
            for name, runner in runners.items()}


def plan_of(problem, nodes, bits_w=16, bits_a=16) -> Plan:
    """A plan with `nodes` on the edge, every weight at `bits_w` and activation at
    `bits_a` (a mapping: per node, default 16)."""
    profile = problem.profile
    wanted = dict.fromkeys(nodes, 16) | (bits_a if isinstance(bits_a, dict) else {})
    return Plan(-1 if problem.mode == "cut" else len(nodes), tuple(nodes),
                tuple(bits_w if profile.has_weights[profile.index[n]] else None for n in nodes),
                tuple(wanted[n] if isinstance(bits_a, dict) else bits_a for n in nodes))


def run_split(folder, manifest: Manifest, x: np.ndarray) -> dict[str, np.ndarray]:
    """Run edge.onnx then cloud.onnx as the manifest wires them: the model outputs."""
    values = {manifest.input.name: x}
    if manifest.edge.file:
        session = ort.InferenceSession(str(folder / manifest.edge.file))
        assert [i.name for i in session.get_inputs()] == [manifest.input.name]
        assert [o.name for o in session.get_outputs()] == manifest.edge.outputs
        values.update(zip(manifest.edge.outputs, session.run(None, {manifest.input.name: x}),
                          strict=True))
    if manifest.cloud.file is None:
        return {name: values[name] for name in manifest.edge.outputs}
    session = ort.InferenceSession(str(folder / manifest.cloud.file))
    assert [i.name for i in session.get_inputs()] == [t.cloud_name
                                                      for t in manifest.cut_tensors]
    names = [o.name for o in manifest.cloud.outputs]
    assert [o.name for o in session.get_outputs()] == names
    feeds = {t.cloud_name: values[t.edge_name] for t in manifest.cut_tensors}
    return dict(zip(names, session.run(None, feeds), strict=True))


def sample(seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(SHAPE).astype(np.float32)


# --------------------------------------------------------------------------- cut tensors
def test_cut_tensors_are_the_cost_models_by_name(models):
    _, problem = models["skip"]
    names = problem.profile.names
    # fused rows: conv1 (with its relu), conv2 (BatchNorm folded in), add, ...
    assert names[1:4] == ("conv1", "conv2", "add")
    # after conv2 the block's skip (conv1's relu) and its main path are both still needed
    assert plan_of(problem, names[1:3]).cut_tensors(problem) == ("conv1", "conv2")
    assert plan_of(problem, ()).cut_tensors(problem) == (names[0],)
    assert plan_of(problem, names[1:]).cut_tensors(problem) == (names[-1],)  # the output
    plans = Plans.from_plans(problem, [plan_of(problem, names[1:k])
                                       for k in range(1, len(names) + 1)])
    from moosplit.costs import cost_model

    cut = cost_model(problem.profile).cut(plans.edge)
    for k in range(len(plans)):
        plan = plans.plan(k, problem)
        assert plan.cut_tensors(problem) == tuple(names[t] for t in np.flatnonzero(cut[k]))


def test_latency_parts_add_up_to_the_evaluators_latency():
    problem = moosplit.random_problem(12, seed=4)
    rng = np.random.default_rng(0)
    rows = problem.profile.n_rows
    splits = rng.integers(0, rows, 6)
    from moosplit.plans import prefix_plans

    plans = prefix_plans(problem, splits, max(problem.bit_set))
    parts = latency_parts(problem, plans)
    total = sum(parts.values())
    np.testing.assert_allclose(total, evaluate(problem, plans)["latency_ms"], rtol=1e-12)
    assert (parts["transmit_ms"][splits == 0] > 0).all()


# --------------------------------------------------------------------------- equivalence
@pytest.mark.parametrize("name", ["chain", "skip", "skip_unfused", "onnx"])
def test_every_prefix_at_reference_bits_reproduces_the_model(models, tmp_path, name):
    runner, problem = models[name]
    names = problem.profile.names
    x = sample()
    full = runner.run(x)
    for k in range(len(names)):
        folder = tmp_path / str(k)
        manifest = export_plan(problem, plan_of(problem, names[1:k + 1]), runner, folder)
        got = run_split(folder, manifest, x)
        sink = names[-1]
        (value,) = got.values()
        np.testing.assert_allclose(value, full[sink][0], atol=ATOL, rtol=RTOL,
                                   err_msg=f"{name}, split {k}")
        assert (folder / "edge.onnx").exists() == (k > 0)
        assert (folder / "cloud.onnx").exists() == (k < len(names) - 1)


def test_a_cut_plan_sends_two_tensors_and_reproduces_the_model(models, tmp_path):
    runner, problem = models["skip"]
    plan = plan_of(problem, ("conv1", "conv2"))
    manifest = export_plan(problem, plan, runner, tmp_path)
    assert [t.row for t in manifest.cut_tensors] == ["conv1", "conv2"]
    # a fused row sends its last node's tensor: conv1's is its relu's
    assert manifest.edge.outputs == ["relu", "conv2"]
    assert [t.edge_name for t in manifest.cut_tensors] == ["relu", "conv2"]
    assert [t.shape for t in manifest.cut_tensors] == [[8, 8, 8], [8, 8, 8]]
    assert all(t.bits == 16 and t.packing == "float16" for t in manifest.cut_tensors)
    x = sample(2)
    np.testing.assert_allclose(run_split(tmp_path, manifest, x)["fc"], runner.run(x)["fc"][0],
                               atol=ATOL, rtol=RTOL)
    # the manifest on disk is the one returned, and reads back
    assert Manifest.read(tmp_path / "plan.json") == manifest
    data = json.loads((tmp_path / "plan.json").read_text(encoding="utf-8"))
    assert data["format"] == "moosplit-plan" and data["version"] == 1
    assert data["plan"]["split"] is None and data["plan"]["codec"] is None


def test_model_outputs_computed_on_the_edge_pass_through_the_cloud(tmp_path):
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the note on the output row of conv1
        runner = trace_module(Heads().eval(), SHAPE, name="heads")
        profile = build_profile(runner, errors=None, measurement=Measurement(0, 1))
    problem = moosplit.SplitProblem(profile, moosplit.Network(bandwidth_mbps=10), mode="cut")
    x = sample(3)
    full = runner.run(x)
    cuts = []
    for k, nodes in enumerate([("conv1", "mean_2", "fc1"), ("conv1", "mean_2", "fc1",
                                                          "output:conv1")]):
        manifest = export_plan(problem, plan_of(problem, nodes), runner, tmp_path / str(k))
        assert [o.name for o in manifest.cloud.outputs] == ["fc1", "fc2", "output:conv1"]
        got = run_split(tmp_path / str(k), manifest, x)
        for name, value in got.items():
            np.testing.assert_allclose(value, full[name][0], atol=ATOL, rtol=RTOL)
        cuts.append([t.row for t in manifest.cut_tensors])
        # the cloud reads the raw input: it is sent as received, at the input's bits
        sent = manifest.cut_tensors[0]
        assert (sent.edge_name, sent.cloud_name, sent.bits) == ("x", "x", 8)
    assert cuts == [["x", "conv1", "fc1"], ["x", "conv1", "fc1", "output:conv1"]]


def test_cloud_only_and_edge_only_manifests(models, tmp_path):
    runner, problem = models["chain"]
    profile = problem.profile
    cloud = export_plan(problem, plan_of(problem, ()), runner, tmp_path / "cloud")
    assert cloud.edge.file is None and cloud.edge.outputs == []
    assert not (tmp_path / "cloud" / "edge.onnx").exists()
    (sent,) = cloud.cut_tensors
    assert (sent.row, sent.edge_name, sent.cloud_name) == (profile.names[0],) * 3
    assert sent.bits == profile.input_bits and sent.packing == "lsb-dense"
    assert sent.shape == [3, 8, 8] and cloud.input.shape == [3, 8, 8]
    assert cloud.predicted["edge_ms"] == 0 and cloud.predicted["tx_bytes"] == 3 * 8 * 8

    edge = export_plan(problem, plan_of(problem, profile.names[1:]), runner, tmp_path / "edge")
    assert edge.cloud.file is None and edge.cloud.outputs == [] and edge.cut_tensors == []
    assert edge.edge.outputs == ["fc"]
    assert not (tmp_path / "edge" / "cloud.onnx").exists()
    assert edge.predicted["cloud_ms"] == 0
    parts = sum(edge.predicted[k] for k in ("edge_ms", "transmit_ms", "rtt_ms", "cloud_ms"))
    assert parts == pytest.approx(edge.predicted["latency_ms"])


FACTORY = """
import torch

def make():
    torch.manual_seed(1)
    return torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.Flatten(),
                               torch.nn.Linear(144, 3)).eval()
"""


@pytest.mark.parametrize("fuse", [True, False])
def test_a_module_factory_given_by_name(tmp_path, monkeypatch, fuse):
    """Export reads the model as the profile was made: fused (the ReLU in its convolution)
    or one row per node."""
    (tmp_path / "export_factory.py").write_text(FACTORY, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    from moosplit.profilers.loading import load_model

    runner, _ = load_model("export_factory:make", batch=1, shape=SHAPE[1:], fuse=fuse)
    profile = build_profile(runner, errors=None, measurement=Measurement(0, 1))
    assert profile.metadata["input_shape"] == "3x8x8"  # what export loads the model at
    problem = moosplit.SplitProblem(profile, moosplit.Network(bandwidth_mbps=10))
    assert profile.names == (("input", "0", "2", "3") if fuse else ("input", "0", "1", "2", "3"))
    manifest = export_plan(problem, plan_of(problem, ("0",)), "export_factory:make",
                           tmp_path / "plan")
    assert manifest.model == "export_factory:make"
    # row 0 of the fused profile sends its ReLU's output
    assert [(t.row, t.edge_name, t.shape) for t in manifest.cut_tensors] == [
        ("0", "1" if fuse else "0", [4, 6, 6])]
    x = sample(4)
    (got,) = run_split(tmp_path / "plan", manifest, x).values()
    np.testing.assert_allclose(got, runner.run(x)["3"][0], atol=ATOL, rtol=RTOL)


@pytest.mark.slow
def test_a_bundled_architecture_by_name(tmp_path):
    """The bundled AlexNet profile and the built-in architecture it was made from (random
    weights, seed 0): a prefix split at 16 bits reproduces the model (about 30 s)."""
    problem = moosplit.SplitProblem(moosplit.load_profile("alexnet"),
                                    moosplit.Network(bandwidth_mbps=10))
    names = problem.profile.names
    manifest = export_plan(problem, plan_of(problem, names[1:6]), "alexnet", tmp_path)
    assert [t.row for t in manifest.cut_tensors] == [names[5]]
    from moosplit.profilers.loading import load_model

    runner, _ = load_model("alexnet", batch=1)
    x = np.random.default_rng(0).standard_normal((1, 3, 224, 224)).astype(np.float32)
    (got,) = run_split(tmp_path, manifest, x).values()
    np.testing.assert_allclose(got, runner.run(x)[names[-1]][0], atol=ATOL, rtol=RTOL)


@pytest.mark.parametrize("name", ["skip", "onnx"])
def test_moosplit_serve_answers_the_exported_plan(models, tmp_path, name):
    """The cloud half of `serve` loads the directory and answers frames of the edge half's
    outputs at the plan's bits with the model's output (float16 frames at 16 bits)."""
    from moosplit.deploy import CloudHalf, Frame, FrameKind, TensorEntry

    runner, problem = models[name]
    names = problem.profile.names
    for k, nodes in enumerate([names[1:4], ()]):
        folder = tmp_path / str(k)
        manifest = export_plan(problem, plan_of(problem, nodes), runner, folder)
        x = sample(6)
        values = {manifest.input.name: x}
        if manifest.edge.file:
            edge = ort.InferenceSession(str(folder / manifest.edge.file))
            values.update(zip(manifest.edge.outputs, edge.run(None, {manifest.input.name: x}),
                              strict=True))
        entries = tuple(TensorEntry.from_values(t.row, values[t.edge_name], t.bits)
                        for t in manifest.cut_tensors)
        half = CloudHalf.load(folder)
        answer = half.answer(Frame(FrameKind.TENSORS, entries))
        assert answer.kind == FrameKind.RESULT
        (result,) = answer.tensors
        assert result.name == manifest.cloud.outputs[0].name
        full = runner.run(x)[names[-1]][0]
        np.testing.assert_allclose(result.values(), full, rtol=5e-3,
                                   atol=5e-3 * np.abs(full).max())


# --------------------------------------------------------------------------- quantisation
def distinct_levels(array: np.ndarray) -> int:
    """The most distinct values in one output channel (axis 0)."""
    return max(len(np.unique(channel)) for channel in array.reshape(len(array), -1))


@pytest.mark.parametrize("name", ["skip", "onnx"])
def test_edge_weights_have_at_most_2_to_the_b_levels_per_channel(models, tmp_path, name):
    runner, problem = models[name]
    names = problem.profile.names
    manifest = export_plan(problem, plan_of(problem, names[1:4], bits_w=2), runner, tmp_path)
    edge = onnx.load(str(tmp_path / "edge.onnx"))
    kernels = [onnx.numpy_helper.to_array(t) for t in edge.graph.initializer if len(t.dims) >= 2]
    assert len(kernels) == 2  # both convolutions
    assert all(distinct_levels(k) <= 2**2 for k in kernels)
    cloud = onnx.load(str(tmp_path / "cloud.onnx"))
    floats = [onnx.numpy_helper.to_array(t) for t in cloud.graph.initializer if len(t.dims) >= 2]
    assert floats and all(distinct_levels(k) > 2**2 for k in floats)  # cloud: float weights
    assert "at 2 bits" in manifest.weights


@pytest.mark.parametrize("name, native_4", [("skip", False), ("onnx", True)])
def test_activations_below_16_bits_get_quantisers(models, tmp_path, name, native_4):
    runner, problem = models[name]
    names = problem.profile.names
    bits = {names[1]: 8, names[3]: 4}
    manifest = export_plan(problem, plan_of(problem, names[1:4], bits_a=bits), runner, tmp_path)
    ops = [n.op_type for n in onnx.load(str(tmp_path / "edge.onnx")).graph.node]
    assert "QuantizeLinear" in ops and "DequantizeLinear" in ops
    assert ("Round" in ops) == (not native_4)
    assert ("emulated" in manifest.activations) == (not native_4)
    # the cut tensor (the residual add, at 4 bits) takes at most 2^4 values
    (cut,) = manifest.cut_tensors
    assert cut.row == names[3] == "add" and cut.bits == 4 and cut.packing == "lsb-dense"
    x = sample(5)
    session = ort.InferenceSession(str(tmp_path / "edge.onnx"))
    (sent,) = session.run(None, {manifest.input.name: x})
    assert 2 < len(np.unique(sent)) <= 2**4
    # and the split still computes the model approximately (8 and 4 bits on two layers)
    out = run_split(tmp_path, manifest, x)[manifest.cloud.outputs[0].name]
    full = runner.run(x)[names[-1]][0]
    assert np.abs(out - full).max() < 0.5 * np.abs(full).max()


def test_no_quantiser_at_reference_bits(models, tmp_path):
    runner, problem = models["onnx"]
    names = problem.profile.names
    manifest = export_plan(problem, plan_of(problem, names[1:4]), runner, tmp_path)
    ops = {n.op_type for n in onnx.load(str(tmp_path / "edge.onnx")).graph.node}
    assert not ops & {"QuantizeLinear", "Round"}
    assert manifest.activations.startswith("none")


# --------------------------------------------------------------------------- refusals
def test_a_plan_of_another_model_is_refused(models, tmp_path):
    _, chain_problem = models["chain"]
    skip_runner, skip_problem = models["skip"]
    plan = plan_of(chain_problem, chain_problem.profile.names[1:3])
    with pytest.raises(ExportError, match=r"^the profile chain does not describe model skip: "
                                          r"row 'conv1' outputs 512 elements per sample in "
                                          r"the model, 384 in the profile$"):
        export_plan(chain_problem, plan, skip_runner, tmp_path)
    with pytest.raises(ExportError, match=r"row 'x' is not a row of the model \(its rows are "
                                          r"named 'image', 'conv_a', 'conv_b', ...\)"):
        export_plan(chain_problem, plan, models["onnx"][0], tmp_path)
    # same names, another size
    frame = skip_problem.profile.to_frame()
    frame.loc[2, "out_elems"] += 1
    other = moosplit.Profile.from_frame(frame, skip_problem.profile.metadata, source="edited")
    problem = moosplit.SplitProblem(other, skip_problem.network, mode="cut")
    with pytest.raises(ExportError, match=r"row 'conv2' outputs 512 elements per sample in "
                                          r"the model, 513 in the profile"):
        export_plan(problem, plan_of(problem, ("conv1",)), skip_runner, tmp_path)
    assert not list(tmp_path.iterdir())  # nothing written


class Awkward(torch.nn.Module):
    """A shape computation (size) and an output modified in place after another read."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 2, 3)
        self.fc = torch.nn.Linear(74, 2)

    def forward(self, x):
        y = self.conv(x)
        n = y.size(0)
        z = torch.relu(y)
        total = z.sum((2, 3))
        z.mul_(2)
        return self.fc(torch.cat([total, z.view(n, -1)], 1))


def test_what_cannot_be_sent_is_refused(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        runner = trace_module(Awkward().eval(), SHAPE, name="awkward")
        profile = build_profile(runner, errors=None, measurement=Measurement(0, 1))
    assert profile.names[1:4] == ("conv", "size", "relu")
    problem = moosplit.SplitProblem(profile, moosplit.Network(bandwidth_mbps=10), mode="cut")
    with pytest.raises(ExportError, match=r"^row 'relu' is a cut tensor of this plan but is "
                                          r"modified in place by a later operator"):
        export_plan(problem, plan_of(problem, ("conv", "relu")), runner, tmp_path)
    with pytest.raises(ExportError, match=r"^row 'size' is a cut tensor of this plan but holds "
                                          r"no tensor that can be sent"):
        export_plan(problem, plan_of(problem, ("conv", "size", "relu")), runner, tmp_path)
    # with both on the edge, nothing awkward is sent, and the split computes the model
    plan = plan_of(problem, profile.names[1:-2])
    manifest = export_plan(problem, plan, runner, tmp_path)
    # mul_'s own value is read by no row: a sink, so a model output sent to the host
    assert [t.row for t in manifest.cut_tensors] == ["sum_1", "mul_", "view"]
    x = sample(8)
    got = run_split(tmp_path, manifest, x)
    np.testing.assert_allclose(got["fc"], runner.run(x)["fc"][0], atol=ATOL, rtol=RTOL)


def test_a_plan_that_is_not_of_the_problem_is_refused(models, tmp_path):
    runner, problem = models["skip"]
    with pytest.raises(ProblemError, match="closed under predecessors"):
        export_plan(problem, plan_of(problem, ("conv2",)), runner, tmp_path)


# --------------------------------------------------------------------------- command line
def test_cli_profile_solve_export(models, tmp_path, capsys):
    path = skip_onnx(str(tmp_path / "skip.onnx"))
    csv, front = tmp_path / "skip.csv", tmp_path / "front.csv"
    common = ["--bandwidth-mbps", "1", "--bits", "4,8,16"]
    assert main(["profile", path, "--out", str(csv), "--bits", "4,8", "--samples", "2",
                 "--runs", "1", "--warmup", "0", "--quiet"]) == 0
    assert main(["solve", str(csv), *common, "--out", str(front), "--quiet"]) == 0
    capsys.readouterr()
    out = tmp_path / "plan"
    assert main(["export", str(front), "--profile", str(csv), *common, "--row", "0",
                 "--model", path, "--out", str(out)]) == 0
    err = capsys.readouterr().err
    manifest = Manifest.read(out / "plan.json")
    assert f"wrote {out / 'plan.json'}" in err or str(out / "plan.json") in err
    assert "predicted: latency" in err
    assert manifest.model == path and manifest.profile == str(csv)
    assert manifest.bits == [4, 8, 16] and manifest.network["bandwidth_mbps"] == 1
    # the prediction is the front's own row 0
    first = moosplit.read_front(front, moosplit.SplitProblem(
        moosplit.read_profile(csv), moosplit.Network(bandwidth_mbps=1), bits=(4, 8, 16)))
    assert manifest.predicted["latency_ms"] == pytest.approx(first.evaluation["latency_ms"][0])
    # bad input: one line, exit 2
    assert main(["export", str(front), "--profile", str(csv), *common, "--row", "99",
                 "--model", path, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--row 99" in err
    assert main(["export", str(front), "--profile", str(csv), *common, "--pick", "knee",
                 "--model", "no_such_arch", "--out", str(out)]) == 2
    assert capsys.readouterr().err.count("\n") == 1
