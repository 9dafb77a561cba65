"""Tests of the PyTorch front end of the profiler (moosplit.profilers.torch_model)."""

from __future__ import annotations

import copy
import re

import numpy as np
import pytest

from moosplit.errors import ProfileError
from moosplit.profilers.quantise import quantise
from moosplit.profilers.torch_model import TorchModel, trace_module

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional

SHAPE = (1, 3, 16, 16)


class Block(nn.Module):
    """A residual block with a strided 1x1 downsample shortcut; its ReLU is called twice."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(8, 16, 3, stride=2, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(16, 16, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(16)
        self.downsample = nn.Conv2d(8, 16, 1, stride=2, bias=False)

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.downsample(x))


class ResNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.relu = nn.ReLU()
        self.layer1 = Block()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer1(x)
        return self.fc(torch.flatten(self.pool(x), 1))


def make_resnet(seed: int = 0) -> ResNet:
    """The test network with random weights and non-trivial BatchNorm statistics."""
    torch.manual_seed(seed)
    net = ResNet()
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
    return net


def batch(shape=SHAPE, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


# name, op, out_elems, weight_elems, macs: computed by hand for a 3x16x16 input
EXPECTED = [
    ("x", "input", 3 * 16 * 16, 0, 0),
    ("conv1", "conv", 8 * 16 * 16, 8 * 3 * 9 + 8, 8 * 16 * 16 * 3 * 9),
    ("bn1", "bn", 2048, 4 * 8, 2048),
    ("relu", "relu", 2048, 0, 2048),
    ("layer1.conv1", "conv", 16 * 8 * 8, 16 * 8 * 9, 1024 * 8 * 9),
    ("layer1.bn1", "bn", 1024, 4 * 16, 1024),
    ("layer1.relu", "relu", 1024, 0, 1024),
    ("layer1.conv2", "conv", 1024, 16 * 16 * 9, 1024 * 16 * 9),
    ("layer1.bn2", "bn", 1024, 4 * 16, 1024),
    ("layer1.downsample", "conv", 1024, 16 * 8, 1024 * 8),
    ("add", "add", 1024, 0, 1024),
    ("layer1.relu_1", "relu", 1024, 0, 1024),
    ("pool", "pool", 16, 0, 1024),
    ("flatten", "flatten", 16, 0, 0),
    ("fc", "linear", 10, 16 * 10 + 10, 16 * 10),
]


@pytest.fixture(scope="module")
def resnet() -> tuple[ResNet, TorchModel]:
    net = make_resnet()
    return net, trace_module(net, SHAPE, name="tiny-resnet", fuse=False)


def test_structure_of_residual_network(resnet) -> None:
    _, model = resnet
    g = model.graph
    assert g.model == "tiny-resnet"
    assert g.input_shape == SHAPE and g.batch == 1
    assert g.names == tuple(e[0] for e in EXPECTED)
    assert g.ops == tuple(e[1] for e in EXPECTED)
    assert g.out_elems.tolist() == [e[2] for e in EXPECTED]
    assert g.weight_elems.tolist() == [e[3] for e in EXPECTED]
    assert g.macs.tolist() == [e[4] for e in EXPECTED]
    inputs = dict(zip(g.names, g.inputs, strict=True))
    assert inputs["x"] == ()
    assert inputs["add"] == ("layer1.bn2", "layer1.downsample")
    assert inputs["layer1.downsample"] == ("relu",)
    assert inputs["layer1.relu_1"] == ("add",)
    assert g.notes == ()


def test_per_sample_counts_do_not_depend_on_batch() -> None:
    model = trace_module(make_resnet(), (3, *SHAPE[1:]), fuse=False)
    assert model.graph.batch == 3
    assert model.graph.out_elems.tolist() == [e[2] for e in EXPECTED]
    assert model.graph.macs.tolist() == [e[4] for e in EXPECTED]


def test_model_name_defaults_to_class_and_training_flag_is_kept() -> None:
    net = make_resnet()
    net.train()
    model = trace_module(net, SHAPE, fuse=False)
    model.run(batch())
    assert model.graph.model == "ResNet"
    assert all(m.training for m in net.modules())


def test_two_inputs_are_refused() -> None:
    class TwoInputs(nn.Module):
        def forward(self, a, b):
            return a + b

    with pytest.raises(ProfileError, match="exactly one tensor input"):
        trace_module(TwoInputs(), (1, 4), fuse=False)


def test_data_dependent_control_flow_is_refused() -> None:
    class Branchy(nn.Module):
        def forward(self, x):
            if x.sum() > 0:
                return x
            return -x

    with pytest.raises(ProfileError, match="fx-traceable") as info:
        trace_module(Branchy(), (1, 4), fuse=False)
    assert "moosplit profile MODEL.onnx" in str(info.value)


def test_unknown_operator_warns_and_counts_one_mac_per_output_element() -> None:
    class Cumulative(nn.Module):
        def forward(self, x):
            return torch.cumsum(x, 1) * 2

    with pytest.warns(UserWarning, match="cumsum"):
        model = trace_module(Cumulative(), (2, 5, 3), fuse=False)
    assert model.graph.ops == ("input", "cumsum", "mul")
    assert model.graph.macs.tolist() == [0, 15, 15]
    assert len(model.graph.notes) == 1 and "cumsum" in model.graph.notes[0]


def test_run_without_quantisation_matches_the_module(resnet) -> None:
    net, model = resnet
    x = batch((2, *SHAPE[1:]))
    outputs = model.run(x)
    assert list(outputs) == list(model.graph.names)
    np.testing.assert_array_equal(outputs["x"][0], x)
    with torch.no_grad():
        expected = net.eval()(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(outputs["fc"][0], expected, rtol=1e-5, atol=1e-6)
    assert outputs["layer1.conv2"][0].shape == (2, 16, 8, 8)


def test_weight_quantisation_of_one_conv(resnet) -> None:
    net, model = resnet
    x = batch()
    before = net.layer1.conv2.weight.detach().clone()
    quantised = model.run(x, weight_bits={"layer1.conv2": 3})
    assert torch.equal(net.layer1.conv2.weight, before)  # restored
    assert isinstance(net.layer1.conv2.weight, nn.Parameter)
    reference = copy.deepcopy(net).eval()
    q = quantise(before.numpy(), 3, axis=0)
    with torch.no_grad():
        reference.layer1.conv2.weight.copy_(torch.from_numpy(q))
        expected = reference(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(quantised["fc"][0], expected, rtol=1e-5, atol=1e-6)
    plain = model.run(x)
    np.testing.assert_array_equal(quantised["layer1.bn1"][0], plain["layer1.bn1"][0])  # upstream
    assert not np.allclose(quantised["layer1.conv2"][0], plain["layer1.conv2"][0])
    np.testing.assert_array_equal(model.weights("layer1.conv2")[0], before.numpy())


def test_activation_quantisation_of_one_row(resnet) -> None:
    _, model = resnet
    x = batch()
    plain = model.run(x)
    quantised = model.run(x, activation_bits={"layer1.bn1": 4})
    expected = quantise(plain["layer1.bn1"][0], 4)
    np.testing.assert_array_equal(quantised["layer1.bn1"][0], expected)
    np.testing.assert_allclose(quantised["layer1.relu"][0], np.maximum(expected, 0))  # consumers
    np.testing.assert_array_equal(quantised["layer1.downsample"][0], plain["layer1.downsample"][0])
    assert not np.allclose(quantised["fc"][0], plain["fc"][0])


def test_sixteen_bits_and_weightless_rows_change_nothing(resnet) -> None:
    _, model = resnet
    x = batch()
    plain = model.run(x)
    same = model.run(x, weight_bits={"conv1": 16, "relu": 4}, activation_bits={"conv1": 16})
    for name in model.graph.names:
        np.testing.assert_array_equal(same[name][0], plain[name][0])


def test_unknown_row_names_are_refused(resnet) -> None:
    _, model = resnet
    with pytest.raises(ValueError, match="layer9"):
        model.run(batch(), weight_bits={"layer9": 4})
    with pytest.raises(ValueError, match="shape"):
        model.run(np.zeros((1, 3, 8, 8), np.float32))


def test_weights_of_rows(resnet) -> None:
    _, model = resnet
    assert model.weights("fc")[0].shape == (10, 16)
    assert model.weights("fc")[0].dtype == np.float32
    assert model.weights("bn1") == []
    assert model.weights("add") == []


def test_conv_transpose_weights_have_output_channels_first() -> None:
    torch.manual_seed(0)
    net = nn.Sequential(nn.ConvTranspose2d(4, 6, 3, groups=2, bias=False))
    model = trace_module(net, (1, 4, 5, 5), fuse=False)
    g = model.graph
    assert g.ops[1] == "convtranspose"
    assert g.macs[1] == 4 * 5 * 5 * 3 * 9  # input elements x out_channels/groups x kernel
    stored = net[0].weight.detach().numpy()  # (in, out/groups, 3, 3) = (4, 3, 3, 3)
    w = model.weights("0")[0]
    assert w.shape == (6, 2, 3, 3)
    for o in range(6):  # output channel o of group o // 3 reads input channels 2 (o//3) + i
        for i in range(2):
            np.testing.assert_array_equal(w[o, i], stored[2 * (o // 3) + i, o % 3])
    x = batch((1, 4, 5, 5))
    q = quantise(w, 3, axis=0)
    back = np.concatenate([q[3 * k:3 * k + 3].swapaxes(0, 1) for k in range(2)])
    with torch.no_grad():
        expected = F.conv_transpose2d(torch.from_numpy(x), torch.from_numpy(back), groups=2)
    (out,) = model.run(x, weight_bits={"0": 3})["0"]
    np.testing.assert_allclose(out, expected.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(net[0].weight.detach().numpy(), stored)


def test_in_place_activation_does_not_overwrite_recorded_outputs() -> None:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(inplace=True), nn.Conv2d(4, 2, 1))
    model = trace_module(net, (1, 3, 6, 6), fuse=False)
    x = batch((1, 3, 6, 6))
    outputs = model.run(x)
    assert outputs["0"][0].min() < 0  # the conv output before the in-place ReLU
    np.testing.assert_array_equal(outputs["1"][0], np.maximum(outputs["0"][0], 0))


def test_every_in_place_form_keeps_recorded_outputs() -> None:
    class InPlace(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3)
            self.conv2 = nn.Conv2d(4, 4, 1)
            self.act = nn.ReLU(inplace=True)

        def forward(self, x):
            a = F.relu(self.conv(x), inplace=True)
            return self.act(self.conv2(a).add_(-0.1))

    torch.manual_seed(0)
    net = InPlace()
    model = trace_module(net, (1, 3, 6, 6), fuse=False)
    assert model.graph.names == ("x", "conv", "relu", "conv2", "add_", "act")
    outputs = model.run(batch((1, 3, 6, 6)))
    assert outputs["conv"][0].min() < 0 and outputs["conv2"][0].min() < 0
    np.testing.assert_array_equal(outputs["relu"][0], np.maximum(outputs["conv"][0], 0))
    np.testing.assert_allclose(outputs["add_"][0], outputs["conv2"][0] - 0.1, rtol=1e-6)
    np.testing.assert_array_equal(outputs["act"][0], np.maximum(outputs["add_"][0], 0))
    with torch.no_grad():
        expected = net(torch.from_numpy(batch((1, 3, 6, 6)))).numpy()
    np.testing.assert_allclose(outputs["act"][0], expected, rtol=1e-6)
    assert net.act.inplace is True


def test_in_place_on_a_tensor_read_again_later() -> None:
    class Shared(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3)

        def forward(self, x):
            y = self.conv(x)
            z = y.relu_()
            return z + y  # y is the modified tensor: 2 relu(conv(x))

    torch.manual_seed(0)
    net = Shared()
    model = trace_module(net, (1, 3, 6, 6), fuse=False)
    x = batch((1, 3, 6, 6))
    outputs = model.run(x)
    assert outputs["conv"][0].min() < 0
    np.testing.assert_array_equal(outputs["relu_"][0], np.maximum(outputs["conv"][0], 0))
    with torch.no_grad():
        expected = net(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(outputs["add"][0], expected, rtol=1e-6)
    np.testing.assert_allclose(expected, 2 * outputs["relu_"][0], rtol=1e-6)


def test_operator_kinds_and_macs() -> None:
    class Ops(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.dw = nn.Conv2d(4, 4, 3, padding=1, groups=4)
            self.pool = nn.MaxPool2d(2)

        def forward(self, x):
            z = self.pool(self.dw(x)).flatten(2)  # (n, 4, 9)
            att = torch.softmax(z @ z.transpose(1, 2), dim=-1)  # (n, 4, 4)
            return att.matmul(z)

    model = trace_module(Ops(), (2, 4, 6, 6), fuse=False)
    g = model.graph
    assert g.names == ("x", "dw", "pool", "flatten", "transpose", "matmul", "softmax",
                       "matmul_1")
    assert g.ops == ("input", "dwconv", "pool", "flatten", "transpose", "matmul", "softmax",
                     "matmul")
    assert g.out_elems.tolist() == [144, 144, 36, 36, 36, 16, 16, 36]
    assert g.weight_elems.tolist() == [0, 36 + 4, 0, 0, 0, 0, 0, 0]
    assert g.macs.tolist() == [0, 144 * 9, 36 * 4, 0, 0, 16 * 9, 3 * 16, 36 * 4]
    assert g.inputs[5] == ("flatten", "transpose")


def test_tuples_sizes_and_functional_weights() -> None:
    class Mixed(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.weight = nn.Parameter(torch.randn(5, 12))

        def forward(self, x):
            a, b = torch.split(x, 2, dim=1)
            n = x.size(0)
            y = (a * b).view(n, -1)
            return F.linear(y, self.weight)

    torch.manual_seed(0)
    net = Mixed()
    model = trace_module(net, (1, 4, 3, 2), fuse=False)
    g = model.graph
    rows = {n: i for i, n in enumerate(g.names)}
    assert g.ops == ("input", "split", "getitem", "getitem", "size", "mul", "view", "linear")
    assert g.out_elems[rows["split"]] == 24
    assert g.out_elems[rows["getitem"]] == g.out_elems[rows["getitem_1"]] == 12
    assert g.out_elems[rows["size"]] == 0
    assert g.inputs[rows["getitem_1"]] == ("split",)
    assert g.inputs[rows["view"]] == ("mul", "size")
    assert g.weight_elems[rows["linear"]] == 60 and g.macs[rows["linear"]] == 60
    x = batch((1, 4, 3, 2))
    outputs = model.run(x, weight_bits={"linear": 4})
    assert outputs["size"] == () and [t.shape for t in outputs["split"]] == [(1, 2, 3, 2)] * 2
    q = quantise(net.weight.detach().numpy(), 4, axis=0)
    expected = (x[:, :2] * x[:, 2:]).reshape(1, -1) @ q.T
    np.testing.assert_allclose(outputs["linear"][0], expected, rtol=1e-5, atol=1e-5)


def test_time_nodes(resnet) -> None:
    _, model = resnet
    threads = torch.get_num_threads()
    calls = []
    ms = model.time_nodes(batch(), warmup=1, runs=3,
                          progress=lambda p: calls.append((p.done, p.total)))
    assert ms.shape == (model.graph.n_rows,)
    assert ms[0] == 0 and (ms >= 0).all() and ms.sum() > 0
    assert calls == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert torch.get_num_threads() == threads


def test_every_tensor_of_a_multi_output_row_is_returned_and_quantised() -> None:
    class Two(nn.Module):
        def forward(self, x):
            a, b = torch.split(x * 3, [1, 3], dim=1)
            return a + b.sum(1, keepdim=True)

    model = trace_module(Two(), (2, 4), fuse=False)
    x = batch((2, 4))
    split = model.run(x)["split"]
    assert [t.shape for t in split] == [(2, 1), (2, 3)]
    assert model.graph.out_elems[model.graph.names.index("split")] == 4
    q = model.run(x, activation_bits={"split": 3})["split"]
    for tq, t in zip(q, split, strict=True):  # each tensor on its own scale
        np.testing.assert_array_equal(tq, quantise(t, 3))


def test_recurrent_weights_are_quantised_per_output_channel() -> None:
    class Recurrent(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lstm = nn.LSTM(5, 6, num_layers=2, batch_first=True)
            self.fc = nn.Linear(6, 3)

        def forward(self, x):
            out, _ = self.lstm(x)
            return self.fc(out[:, -1])

    torch.manual_seed(0)
    net = Recurrent()
    with pytest.warns(UserWarning, match="no MAC formula for operator 'lstm'"):
        model = trace_module(net, (2, 4, 5), fuse=False)
    weights = model.weights("lstm")
    assert [w.shape for w in weights] == [(24, 5), (24, 6), (24, 6), (24, 6)]  # ih, hh x 2
    assert not any("not quantised" in note for note in model.graph.notes)
    x = batch((2, 4, 5))
    reference = copy.deepcopy(net).eval()
    with torch.no_grad():
        for p in reference.lstm.parameters():
            if p.ndim == 2:
                p.copy_(torch.from_numpy(quantise(p.numpy(), 3, axis=0)))
        expected = reference(torch.from_numpy(x)).numpy()
    (out,) = model.run(x, weight_bits={"lstm": 3})["fc"]
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)
    (plain,) = model.run(x)["fc"]
    assert not np.allclose(out, plain)
    with torch.no_grad():  # the module's own weights were put back
        np.testing.assert_allclose(net(torch.from_numpy(x)).numpy(), plain, rtol=1e-6)


def test_matrix_product_and_elementwise_parameters_are_quantised() -> None:
    class Products(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.right = nn.Parameter(torch.randn(4, 6))  # x @ right: outputs on axis 1
            self.left = nn.Parameter(torch.randn(3, 2))  # left @ y: outputs on axis 0
            self.mask = nn.Parameter(torch.randn(3, 6))  # elementwise: axis 0 (generic)

        def forward(self, x):
            y = x @ self.right  # (2, 6)
            return torch.matmul(self.left, y) * self.mask

    torch.manual_seed(0)
    net = Products()
    model = trace_module(net, (2, 4), fuse=False)
    g = model.graph
    assert g.names == ("x", "matmul", "matmul_1", "mul")
    assert g.weight_elems.tolist() == [0, 24, 6, 18]
    (right,) = model.weights("matmul")
    np.testing.assert_array_equal(right, net.right.detach().numpy().T)
    assert [w.shape for w in model.weights("matmul_1")] == [(3, 2)]
    assert [w.shape for w in model.weights("mul")] == [(3, 6)]
    x = batch((2, 4))
    right, left, mask = (p.detach().numpy() for p in (net.right, net.left, net.mask))
    rq = quantise(right.T, 3, axis=0).T
    lq, mq = quantise(left, 3, axis=0), quantise(mask, 3, axis=0)
    for row, expected in [("matmul", left @ (x @ rq) * mask),
                          ("matmul_1", lq @ (x @ right) * mask),
                          ("mul", left @ (x @ right) * mq)]:
        (out,) = model.run(x, weight_bits={row: 3})["mul"]
        np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5, err_msg=row)


def test_weights_that_cannot_be_quantised_are_noted() -> None:
    class Masked(nn.Linear):
        """A leaf module (torch.nn namespace) holding a 2-D buffer."""

        def __init__(self) -> None:
            super().__init__(4, 4)
            self.register_buffer("table", torch.ones(4, 4))

        def forward(self, x):
            return super().forward(x) * self.table[0]

    Masked.__module__ = "torch.nn.masked"
    net = nn.Sequential(Masked(), nn.ReLU())
    with pytest.warns(UserWarning) as record:
        model = trace_module(net, (1, 4), fuse=False)
    assert any(re.search(r"not quantised.*werr leaves them out.*0 \(4x4\)", str(w.message))
               for w in record)
    assert model.graph.weight_elems[1] == 16 + 4 + 16
    assert [w.shape for w in model.weights("0")] == [(4, 4)]  # the Linear weight only


def test_returned_values_read_inside_and_the_input_get_output_rows() -> None:
    class Outputs(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3)
            self.register_buffer("const", torch.ones(2))

        def forward(self, x):
            y = self.conv(x)
            return y, torch.relu(y), x, self.const

    torch.manual_seed(0)
    with pytest.warns(UserWarning) as record:
        model = trace_module(Outputs(), (2, 3, 6, 6), fuse=False)
    g = model.graph
    assert g.names == ("x", "conv", "relu", "output:conv", "output:x")
    assert g.ops == ("input", "conv", "relu", "output", "output")
    assert g.inputs[3:] == (("conv",), ("x",))
    assert g.out_elems.tolist() == [108, 64, 64, 64, 108]
    assert g.weight_elems[3:].tolist() == [0, 0] and g.macs[3:].tolist() == [0, 0]
    messages = " | ".join(str(w.message) for w in record)
    assert "row(s) conv also read by other rows; x the input itself" in messages
    assert "model output(s) const do not depend on the input" in messages
    x = batch((2, 3, 6, 6))
    outputs = model.run(x)
    np.testing.assert_array_equal(outputs["output:conv"][0], outputs["conv"][0])
    np.testing.assert_array_equal(outputs["output:x"][0], x)
    q = model.run(x, activation_bits={"output:conv": 3})
    np.testing.assert_array_equal(q["output:conv"][0], quantise(outputs["conv"][0], 3))
    np.testing.assert_array_equal(q["relu"][0], outputs["relu"][0])  # only the output moves
    assert model.time_nodes(x, warmup=0, runs=1)[3:].tolist() == [0.0, 0.0]
    from moosplit.profilers.quant_error import output_sensitivity, sink_rows

    assert [g.names[i] for i in sink_rows(model)] == ["relu", "output:conv", "output:x"]
    cols = output_sensitivity(model, x, (4,), batch_size=2)
    assert "output:conv" in cols.method and cols.activation[4][1] > 0


def test_normalisation_macs_follow_the_shared_convention() -> None:
    net = nn.Sequential(nn.LayerNorm(8), nn.GroupNorm(2, 4), nn.RMSNorm(8))
    model = trace_module(nn.Sequential(nn.Unflatten(1, (4, 8)), *net), (1, 32), fuse=False)
    assert model.graph.macs.tolist() == [0, 0, 4 * 32, 4 * 32, 3 * 32]
