"""The ONNX front end: rows, hand-computed costs, runs, fake quantisation and timing."""

from __future__ import annotations

import importlib.metadata
import warnings
from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from moosplit.errors import ProfileError  # noqa: E402
from moosplit.profilers.onnx_model import SESSION_CACHE_SIZE, load_onnx  # noqa: E402
from moosplit.profilers.quantise import quantise  # noqa: E402

F = TensorProto.FLOAT
SEED = 0


def _save(tmp_path: Path, nodes, inputs, outputs, initializers=(), name="net", opset=13,
          extra_opsets=()) -> Path:
    graph = helper.make_graph(nodes, name, inputs, outputs, initializer=list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset),
                                                    *extra_opsets])
    model.ir_version = 8
    path = tmp_path / f"{name}.onnx"
    onnx.save(model, str(path))
    return path


def _init(name: str, value: np.ndarray):
    return numpy_helper.from_array(np.asarray(value), name)


def _plain(path: Path, x: np.ndarray, outputs: list[str] | None = None) -> list[np.ndarray]:
    """onnxruntime's own answer, with its default settings, on the untouched file."""
    model = onnx.load(str(path))
    if outputs:
        model.graph.output.extend(helper.make_empty_tensor_value_info(o) for o in outputs)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})


# ------------------------------------------------------------------ the residual net
@pytest.fixture(scope="module")
def residual_path(tmp_path_factory) -> Path:
    """x (N,3,8,8) -> conv 3x3 -> relu -> 1x1 conv, + relu (residual) -> GAP -> flatten -> gemm.

    Node names exercise sanitising ("conv 1"), an empty name (Relu) and a name
    taken by the input row ("x").
    The 1x1 kernel is also listed as a graph input (old-style initializer input).
    """
    rng = np.random.default_rng(SEED)
    w1 = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    b1 = rng.standard_normal(4).astype(np.float32)
    w2 = rng.standard_normal((4, 4, 1, 1)).astype(np.float32)
    wg = rng.standard_normal((4, 3)).astype(np.float32)  # Gemm B (K, N), transB = 0
    bg = rng.standard_normal(3).astype(np.float32)
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], name="conv 1", pads=[1, 1, 1, 1],
                         kernel_shape=[3, 3]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("Conv", ["r1", "w2"], ["c2"], name="blk"),
        helper.make_node("Add", ["r1", "c2"], ["s"], name="x"),
        helper.make_node("GlobalAveragePool", ["s"], ["p"], name="gap"),
        helper.make_node("Flatten", ["p"], ["f"], name="flat"),
        helper.make_node("Gemm", ["f", "wg", "bg"], ["y"], name="fc"),
    ]
    inputs = [helper.make_tensor_value_info("x", F, ["N", 3, 8, 8]),
              helper.make_tensor_value_info("w2", F, [4, 4, 1, 1])]
    outputs = [helper.make_tensor_value_info("y", F, ["N", 3])]
    inits = [_init("w1", w1), _init("b1", b1), _init("w2", w2), _init("wg", wg), _init("bg", bg)]
    return _save(tmp_path_factory.mktemp("residual"), nodes, inputs, outputs, inits, "residual")


@pytest.fixture(scope="module")
def residual(residual_path):
    return load_onnx(residual_path, batch=2, fuse=False)


@pytest.fixture(scope="module")
def x2() -> np.ndarray:
    return np.random.default_rng(SEED + 1).standard_normal((2, 3, 8, 8)).astype(np.float32)


def test_residual_rows_and_hand_computed_costs(residual):
    g = residual.graph
    assert g.model == "residual"
    assert g.input_shape == (2, 3, 8, 8)
    assert g.names == ("x", "conv_1", "Relu_0", "blk", "x_2", "gap", "flat", "fc")
    assert g.ops == ("input", "conv", "relu", "conv", "add", "pool", "flatten", "linear")
    assert g.inputs == ((), ("x",), ("conv_1",), ("Relu_0",), ("Relu_0", "blk"), ("x_2",),
                        ("gap",), ("flat",))
    assert g.out_elems.tolist() == [192, 256, 256, 256, 256, 4, 4, 3]
    # conv1: 4*3*3*3 kernel + 4 bias; conv2 4*4; gemm 4*3 + 3
    assert g.weight_elems.tolist() == [0, 112, 0, 16, 0, 0, 0, 15]
    # per sample: conv1 256 outputs x 27; relu/add 1 each; 1x1 conv 256 x 4; GAP reads 256;
    # flatten moves data; gemm 3 outputs x K=4
    assert g.macs.tolist() == [0, 256 * 27, 256, 256 * 4, 256, 256, 0, 12]
    assert g.notes == ()


def test_weights_have_output_channels_first(residual):
    (w1,) = residual.weights("conv_1")
    assert w1.shape == (4, 3, 3, 3)
    (wg,) = residual.weights("fc")  # Gemm B (4, 3) without transB: transposed
    assert wg.shape == (3, 4)
    assert residual.weights("Relu_0") == []
    assert residual.weights("x_2") == []
    with pytest.raises(ValueError, match="nope"):
        residual.weights("nope")


def test_run_matches_onnxruntime(residual, residual_path, x2):
    out = residual.run(x2)
    assert set(out) == set(residual.graph.names)
    (y, r1, c2) = _plain(residual_path, x2, ["r1", "c2"])
    np.testing.assert_allclose(out["fc"][0], y, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(out["Relu_0"][0], r1, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(out["blk"][0], c2, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(out["x"][0], x2)
    assert out["gap"][0].shape == (2, 4, 1, 1)


@pytest.mark.parametrize("row, bits", [("Relu_0", 4), ("blk", 3), ("conv_1", 2), ("x", 4)])
def test_activation_fake_quant_equals_quantise(residual, x2, row, bits):
    plain = residual.run(x2)
    quantised = residual.run(x2, activation_bits={row: bits})
    np.testing.assert_allclose(quantised[row][0], quantise(plain[row][0], bits), rtol=0, atol=1e-6)
    assert not np.allclose(quantised["fc"][0], plain["fc"][0]), f"seed {SEED}: output unchanged"
    upstream = residual.graph.names[:residual.graph.names.index(row)]
    for name in upstream:
        np.testing.assert_array_equal(quantised[name][0], plain[name][0])


def test_relu_output_uses_unsigned_levels(residual, x2):
    plain = residual.run(x2)["Relu_0"][0]
    q = residual.run(x2, activation_bits={"Relu_0": 2})["Relu_0"][0]
    assert len(np.unique(q)) <= 4 and q.min() >= 0  # 2 bits unsigned: 0..3 steps
    assert np.isclose(q.max(), plain.max())


def test_sixteen_bits_change_nothing(residual, x2):
    plain = residual.run(x2)
    same = residual.run(x2, activation_bits={"blk": 16}, weight_bits={"fc": 16})
    for name in plain:
        np.testing.assert_array_equal(same[name][0], plain[name][0])


def test_weight_quantisation_is_per_output_channel(residual, residual_path, x2):
    plain = residual.run(x2)
    q = residual.run(x2, weight_bits={"fc": 3})
    assert not np.allclose(q["fc"][0], plain["fc"][0])
    np.testing.assert_array_equal(q["flat"][0], plain["flat"][0])
    file = onnx.load(str(residual_path))
    inits = {t.name: numpy_helper.to_array(t) for t in file.graph.initializer}
    wq = quantise(residual.weights("fc")[0], 3, axis=0)  # (N, K), one scale per output
    np.testing.assert_allclose(q["fc"][0], plain["flat"][0] @ wq.T + inits["bg"], rtol=1e-5,
                               atol=1e-5)


def test_conv_weight_quantisation_changes_downstream(residual, x2):
    plain = residual.run(x2)
    q = residual.run(x2, weight_bits={"conv_1": 2, "blk": 2})
    assert not np.allclose(q["conv_1"][0], plain["conv_1"][0])
    assert not np.allclose(q["fc"][0], plain["fc"][0])
    # the quantised weights are not kept: the next plain run is the plain run
    np.testing.assert_array_equal(residual.run(x2)["fc"][0], plain["fc"][0])


def test_run_rejects_bad_arguments(residual, x2):
    with pytest.raises(ValueError, match="activation_bits"):
        residual.run(x2, activation_bits={"missing": 4})
    with pytest.raises(ValueError, match=">= 2"):
        residual.run(x2, weight_bits={"fc": 1})
    with pytest.raises(ValueError, match="shape"):
        residual.run(x2[:, :2])


def test_run_accepts_another_batch_when_the_model_allows(residual, x2):
    out = residual.run(x2[:1])
    np.testing.assert_allclose(out["fc"][0], residual.run(x2)["fc"][0][:1], rtol=1e-5, atol=1e-6)


def test_session_cache_stays_bounded(residual, x2):
    plain = residual.run(x2)
    for row in residual.graph.names[1:]:
        for bits in (4, 8):
            out = residual.run(x2, activation_bits={row: bits})
            np.testing.assert_allclose(out[row][0], quantise(plain[row][0], bits), atol=1e-6)
    assert len(residual._variants) <= SESSION_CACHE_SIZE + 1


def test_time_nodes(residual, x2):
    calls = []
    times = residual.time_nodes(x2, warmup=1, runs=3,
                                progress=lambda p: calls.append((p.done, p.total)))
    assert times.shape == (residual.graph.n_rows,)
    assert times[0] == 0.0 and (times >= 0).all() and times[1:].sum() > 0
    assert calls == [(1, 4), (2, 4), (3, 4), (4, 4)]
    with pytest.raises(ValueError, match="shape"):
        residual.time_nodes(x2[:1])


# ------------------------------------------------------------------- input handling
def _spatial(tmp_path: Path) -> Path:
    w = np.ones((2, 3, 3, 3), np.float32)
    nodes = [helper.make_node("Conv", ["x", "w"], ["y"], name="conv", strides=[2, 2])]
    inputs = [helper.make_tensor_value_info("x", F, ["N", 3, "H", "W"])]
    outputs = [helper.make_tensor_value_info("y", F, ["N", 2, "h", "w"])]
    return _save(tmp_path, nodes, inputs, outputs, [_init("w", w)], "spatial")


def test_dynamic_spatial_dims_need_input_shape(tmp_path):
    path = _spatial(tmp_path)
    with pytest.raises(ProfileError, match=r"'x'.*dynamic dimensions \[2, 3\].*'H', 'W'"):
        load_onnx(path, fuse=False)
    model = load_onnx(path, input_shape=(3, 17, 21), fuse=False)
    assert model.graph.input_shape == (1, 3, 17, 21)
    # (17 - 3) // 2 + 1 = 8, (21 - 3) // 2 + 1 = 10
    assert model.graph.out_elems.tolist() == [3 * 17 * 21, 2 * 8 * 10]
    assert model.graph.macs.tolist() == [0, 2 * 8 * 10 * 27]
    x = np.ones((1, 3, 17, 21), np.float32)
    np.testing.assert_allclose(model.run(x)["conv"][0], 27.0)


def test_input_shape_must_fit_the_model(tmp_path):
    path = _spatial(tmp_path)
    with pytest.raises(ProfileError, match="dimension 1"):
        load_onnx(path, input_shape=(4, 16, 16), fuse=False)
    with pytest.raises(ProfileError, match="3 dimensions"):
        load_onnx(path, input_shape=(16, 16), fuse=False)


def test_fixed_batch_conflict(tmp_path):
    nodes = [helper.make_node("Relu", ["x"], ["y"], name="r")]
    path = _save(tmp_path, nodes, [helper.make_tensor_value_info("x", F, [1, 4])],
                 [helper.make_tensor_value_info("y", F, [1, 4])], name="fixed")
    assert load_onnx(path, fuse=False).graph.input_shape == (1, 4)
    with pytest.raises(ProfileError, match="fixed batch"):
        load_onnx(path, batch=2, fuse=False)


def test_two_inputs_are_refused(tmp_path):
    nodes = [helper.make_node("Add", ["a", "b"], ["y"], name="add")]
    inputs = [helper.make_tensor_value_info(n, F, [1, 4]) for n in ("a", "b")]
    path = _save(tmp_path, nodes, inputs, [helper.make_tensor_value_info("y", F, [1, 4])],
                 name="two")
    with pytest.raises(ProfileError, match=r"exactly one input.*2 \('a', 'b'\)"):
        load_onnx(path, fuse=False)


# --------------------------------------------------------- operators without formula
def test_unknown_operators_get_fallback_note_and_warning(tmp_path):
    """A contrib op (shape unknown to ONNX: measured in onnxruntime) and Det (no formula)."""
    nodes = [helper.make_node("Gelu", ["x"], ["g"], domain="com.microsoft", name="gelu"),
             helper.make_node("Det", ["g"], ["d"], name="det")]
    path = _save(tmp_path, nodes, [helper.make_tensor_value_info("x", F, ["N", 3, 3])],
                 [helper.make_tensor_value_info("d", F, ["N"])], name="custom",
                 extra_opsets=[helper.make_opsetid("com.microsoft", 1)])
    with pytest.warns(UserWarning) as record:
        model = load_onnx(path, batch=2, fuse=False)
    messages = " | ".join(str(w.message) for w in record)
    assert "com.microsoft:Gelu" in messages and "Det" in messages
    assert record[0].filename == __file__  # points at the caller of load_onnx
    g = model.graph
    assert len(g.notes) == 2
    assert "no MAC formula for operator com.microsoft:Gelu" in g.notes[0]
    assert g.out_elems.tolist() == [9, 9, 1]
    assert g.macs.tolist() == [0, 9, 1]  # one per output element, never a silent zero
    x = np.random.default_rng(SEED).standard_normal((2, 3, 3)).astype(np.float32)
    out = model.run(x, activation_bits={"gelu": 4})
    np.testing.assert_allclose(out["gelu"][0], quantise(model.run(x)["gelu"][0], 4), atol=1e-6)


# ------------------------------------------------------------------------- folding
def test_constant_subgraphs_are_folded(tmp_path):
    """Shape arithmetic and a reshaped bias fold away; a float scalar is no weight."""
    bias = np.arange(16, dtype=np.float32)
    nodes = [
        helper.make_node("Constant", [], ["minus_one"],
                         value=_init("", np.array([-1], np.int64))),
        helper.make_node("Constant", [], ["sixteen"], value=_init("", np.array([16], np.int64))),
        helper.make_node("Concat", ["minus_one", "sixteen"], ["target"], axis=0, name="cat"),
        helper.make_node("Reshape", ["x", "target"], ["flat"], name="reshape"),
        helper.make_node("Reshape", ["bias", "target"], ["bias2d"], name="bias_reshape"),
        helper.make_node("Add", ["flat", "bias2d"], ["biased"], name="add"),
        helper.make_node("Constant", [], ["half"], value=_init("", np.array(0.5, np.float32))),
        helper.make_node("Mul", ["biased", "half"], ["y"], name="scale"),
    ]
    path = _save(tmp_path, nodes, [helper.make_tensor_value_info("x", F, ["N", 4, 2, 2])],
                 [helper.make_tensor_value_info("y", F, ["N", 16])], [_init("bias", bias)],
                 name="folding")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = load_onnx(path, batch=3, fuse=False)
    g = model.graph
    assert g.names == ("x", "reshape", "add", "scale")
    assert g.inputs == ((), ("x",), ("reshape",), ("add",))
    assert g.out_elems.tolist() == [16, 16, 16, 16]
    assert g.weight_elems.tolist() == [0, 0, 16, 0]
    assert g.macs.tolist() == [0, 0, 16, 16]
    assert model.weights("add") == []  # a bias is not quantised
    x = np.random.default_rng(SEED).standard_normal((3, 4, 2, 2)).astype(np.float32)
    np.testing.assert_allclose(model.run(x)["scale"][0], (x.reshape(3, 16) + bias) * 0.5,
                               rtol=1e-6)
    assert model.time_nodes(x, warmup=0, runs=2).shape == (4,)


def test_unsorted_file_and_dead_nodes(tmp_path):
    nodes = [helper.make_node("Relu", ["a"], ["y"], name="second"),
             helper.make_node("Neg", ["x"], ["a"], name="first"),
             helper.make_node("Exp", ["x"], ["unused"], name="dead")]
    path = _save(tmp_path, nodes, [helper.make_tensor_value_info("x", F, ["N", 4])],
                 [helper.make_tensor_value_info("y", F, ["N", 4])], name="unsorted")
    with pytest.warns(UserWarning, match="dropped 1 node"):
        model = load_onnx(path, fuse=False)
    assert model.graph.names == ("x", "first", "second")
    assert "dead" in model.graph.notes[0]


def test_matmul_with_constant_weight_is_linear(tmp_path):
    w = np.random.default_rng(SEED).standard_normal((6, 5)).astype(np.float32)
    nodes = [helper.make_node("MatMul", ["x", "w"], ["y"], name="mm"),
             helper.make_node("MatMul", ["y", "y2"], ["z"], name="outer"),
             helper.make_node("Transpose", ["y"], ["y2"], name="t", perm=[1, 0])]
    path = _save(tmp_path, nodes, [helper.make_tensor_value_info("x", F, [1, 6])],
                 [helper.make_tensor_value_info("z", F, [1, 1])], [_init("w", w)], name="mm")
    g = load_onnx(path, fuse=False).graph
    assert g.names == ("x", "mm", "t", "outer")
    assert g.ops == ("input", "linear", "transpose", "matmul")
    assert g.macs.tolist() == [0, 30, 0, 5]
    model = load_onnx(path, fuse=False)
    (k,) = model.weights("mm")
    np.testing.assert_array_equal(k, w.T)


# ------------------------------------------------------------------ a shipped model
def _ppocr_cls() -> Path:
    try:
        dist = importlib.metadata.distribution("rapidocr-onnxruntime")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("rapidocr-onnxruntime is not installed")
    path = Path(dist.locate_file(
        "rapidocr_onnxruntime/models/ch_ppocr_mobile_v2.0_cls_infer.onnx"))
    if not path.exists():
        pytest.skip(f"{path} is missing")
    return path


@pytest.fixture(scope="module")
def ppocr():
    path = _ppocr_cls()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = load_onnx(path, input_shape=(3, 48, 192), fuse=False)
    return path, model


def test_ppocr_structure(ppocr):
    path, model = ppocr
    g = model.graph
    assert g.model == "ch_ppocr_mobile_v2.0_cls_infer"
    assert g.notes == ()
    assert (g.out_elems[1:] > 0).all()
    assert all(g.inputs[k] for k in range(1, g.n_rows))
    file = onnx.load(str(path))
    tensors = [numpy_helper.to_array(t) for t in file.graph.initializer]
    tensors += [numpy_helper.to_array(n.attribute[0].t) for n in file.graph.node
                if n.op_type == "Constant"]
    floats = sum(t.size for t in tensors if t.dtype.kind == "f" and t.size > 1)
    assert g.weight_elems.sum() == floats
    # first conv: 3 -> 8 channels, 3x3, stride 2, pad 1: 48x192 -> 24x96
    first = g.ops.index("conv")
    assert g.out_elems[first] == 8 * 24 * 96
    assert g.macs[first] == 8 * 24 * 96 * 3 * 3 * 3
    assert g.weight_elems[first] == 8 * 3 * 3 * 3
    assert "dwconv" in g.ops and "linear" in g.ops


def test_ppocr_run_and_time(ppocr):
    path, model = ppocr
    x = np.random.default_rng(SEED).standard_normal((1, 3, 48, 192)).astype(np.float32)
    out = model.run(x)
    (expected,) = _plain(path, x)
    np.testing.assert_allclose(out[model.graph.names[-1]][0], expected, rtol=1e-4, atol=1e-5)
    row = model.graph.names[5]
    q = model.run(x, activation_bits={row: 4})
    np.testing.assert_allclose(q[row][0], quantise(out[row][0], 4), atol=1e-6)
    times = model.time_nodes(x, warmup=1, runs=3)
    assert times.shape == (model.graph.n_rows,) and (times >= 0).all() and times[0] == 0


def test_rows_in_several_gate_groups(residual_path, x2, monkeypatch):
    """Two rows quantised at once, gated by different sessions' groups."""
    from moosplit.profilers import onnx_model

    monkeypatch.setattr(onnx_model, "QUANT_GROUP_ROWS", 2)
    model = load_onnx(residual_path, batch=2, fuse=False)
    plain = model.run(x2)
    first = model.run(x2, activation_bits={"Relu_0": 4})
    both = model.run(x2, activation_bits={"Relu_0": 4, "gap": 3})
    np.testing.assert_allclose(both["Relu_0"][0], quantise(plain["Relu_0"][0], 4), atol=1e-6)
    np.testing.assert_allclose(both["gap"][0], quantise(first["gap"][0], 3), atol=1e-6)
    assert not np.allclose(both["fc"][0], first["fc"][0])
    assert set(model._variants) == {(), (1,), (1, 2)}


def test_grouped_conv_transpose(tmp_path):
    """Kernel (C_in, C_out/group, k, k): output channel g*C_out/group + j is rows of group g,
    column j; weights() lists output channels first and weight quantisation uses that."""
    w = np.random.default_rng(SEED).standard_normal((4, 3, 2, 2)).astype(np.float32)
    nodes = [helper.make_node("ConvTranspose", ["x", "w"], ["y"], name="up", group=2,
                              strides=[2, 2])]
    path = _save(tmp_path, nodes, [helper.make_tensor_value_info("x", F, [1, 4, 3, 3])],
                 [helper.make_tensor_value_info("y", F, [1, 6, 6, 6])], [_init("w", w)],
                 name="convt")
    model = load_onnx(path, fuse=False)
    assert model.graph.ops[1] == "convtranspose"
    assert model.graph.out_elems[1] == 6 * 6 * 6
    assert model.graph.macs[1] == 4 * 3 * 3 * (3 * 2 * 2)  # input elements x C_out/g x k
    (k,) = model.weights("up")
    assert k.shape == (6, 2, 2, 2)
    np.testing.assert_array_equal(k[4], w[2:4, 1])  # group 1, column 1 -> channel 4
    x = np.random.default_rng(SEED + 1).standard_normal((1, 4, 3, 3)).astype(np.float32)
    plain, q = model.run(x)["up"][0], model.run(x, weight_bits={"up": 2})["up"][0]
    wq = quantise(k, 2, axis=0)
    ref = np.zeros_like(plain)  # stride 2, kernel 2: output blocks do not overlap
    for oc in range(6):
        g = oc // 3
        for ic in range(2 * g, 2 * g + 2):
            ref[0, oc] += np.kron(x[0, ic], wq[oc, ic - 2 * g])
    np.testing.assert_allclose(q, ref, rtol=1e-5, atol=1e-5)


# ------------------------------------------------- outputs, weights, timing, messages
def test_corrupt_file_and_messages_name_the_parameter(tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x08\x07garbage")
    with pytest.raises(ProfileError, match=f"{bad}: not a readable ONNX model"):
        load_onnx(bad, fuse=False)
    with pytest.raises(ProfileError, match=r"input_shape must be given: input 'x' has dynamic"):
        load_onnx(_spatial(tmp_path), fuse=False)


def test_model_outputs_read_inside_or_passed_through_get_output_rows(tmp_path):
    """Graph outputs: c (also read by the Relu), y (a sink), x (the input itself), k (a
    constant): c and x get zero-cost output rows, k a note."""
    w = np.random.default_rng(SEED).standard_normal((2, 3, 1, 1)).astype(np.float32)
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], name="conv"),
             helper.make_node("Relu", ["c"], ["y"], name="relu"),
             helper.make_node("Constant", [], ["k"], value=_init("", np.ones(3, np.float32)))]
    outputs = [helper.make_tensor_value_info(n, F, None) for n in ("c", "y", "x", "k")]
    path = _save(tmp_path, nodes, [helper.make_tensor_value_info("x", F, ["N", 3, 2, 2])],
                 outputs, [_init("w", w)], name="outs")
    with pytest.warns(UserWarning) as record:
        model = load_onnx(path, batch=2, fuse=False)
    g = model.graph
    assert g.names == ("x", "conv", "relu", "output:c", "output:x")
    assert g.ops == ("input", "conv", "relu", "output", "output")
    assert g.inputs[3:] == (("conv",), ("x",))
    assert g.out_elems.tolist() == [12, 8, 8, 8, 12]
    assert g.macs[3:].tolist() == [0, 0] and g.weight_elems[3:].tolist() == [0, 0]
    messages = " | ".join(str(r.message) for r in record)
    assert "graph output(s) c also read by other rows; x the input itself" in messages
    assert "graph output(s) k do not depend on the input" in messages
    assert len(g.notes) == 2
    x = np.random.default_rng(SEED).standard_normal((2, 3, 2, 2)).astype(np.float32)
    out = model.run(x)
    np.testing.assert_array_equal(out["output:c"][0], out["conv"][0])
    np.testing.assert_array_equal(out["output:x"][0], x)
    q = model.run(x, activation_bits={"output:c": 3})
    np.testing.assert_allclose(q["output:c"][0], quantise(out["conv"][0], 3), atol=1e-6)
    np.testing.assert_array_equal(q["relu"][0], out["relu"][0])
    assert model.time_nodes(x, warmup=0, runs=1)[3:].tolist() == [0.0, 0.0]
    from moosplit.profilers.quant_error import output_sensitivity, sink_rows

    assert [g.names[i] for i in sink_rows(model)] == ["relu", "output:c", "output:x"]
    cols = output_sensitivity(model, x, (4,), batch_size=2)
    assert "(relu, output:c, output:x)" in cols.method
    assert cols.weight[4][1] > 0 and cols.activation[4][3] > 0


def test_every_output_of_a_row_is_returned_and_quantised_on_its_own_scale(tmp_path):
    nodes = [helper.make_node("Mul", ["x", "s"], ["m"], name="scale"),
             helper.make_node("Split", ["m", "sizes"], ["a", "b"], name="split", axis=1),
             helper.make_node("Relu", ["a"], ["ra"], name="relu"),
             helper.make_node("Concat", ["ra", "b"], ["y"], name="cat", axis=1)]
    scale = np.array([1, 1, 50, 50], np.float32).reshape(1, 4)
    path = _save(tmp_path, nodes, [helper.make_tensor_value_info("x", F, [2, 4])],
                 [helper.make_tensor_value_info("y", F, [2, 4])],
                 [_init("s", scale), _init("sizes", np.array([1, 3], np.int64))], name="split")
    model = load_onnx(path, batch=2, fuse=False)
    assert model.graph.out_elems.tolist() == [4, 4, 4, 1, 4]
    x = np.random.default_rng(SEED).standard_normal((2, 4)).astype(np.float32)
    split = model.run(x)["split"]
    assert [t.shape for t in split] == [(2, 1), (2, 3)]
    q = model.run(x, activation_bits={"split": 2})["split"]
    for tq, t in zip(q, split, strict=True):
        np.testing.assert_allclose(tq, quantise(t, 2), atol=1e-5)


def test_loop_body_nodes_never_pass_for_rows(tmp_path):
    """A body node named like an outer row: its profiler events must not be that row's."""
    body = helper.make_graph(
        [helper.make_node("Mul", ["yin", "half"], ["m"], name="lmul"),
         helper.make_node("Relu", ["m"], ["yout"], name="conv"),  # the outer row's name
         helper.make_node("Identity", ["cond_in"], ["cond_out"], name="lid")], "body",
        [helper.make_tensor_value_info("i", TensorProto.INT64, []),
         helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
         helper.make_tensor_value_info("yin", F, None)],
        [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
         helper.make_tensor_value_info("yout", F, None)],
        initializer=[_init("half", np.array(0.5, np.float32))])
    w = np.ones((2, 3, 1, 1), np.float32)
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], name="conv"),
             helper.make_node("Loop", ["trip", "", "c"], ["y"], name="loop", body=body)]
    path = _save(tmp_path, nodes, [helper.make_tensor_value_info("x", F, [1, 3, 4, 4])],
                 [helper.make_tensor_value_info("y", F, None)],
                 [_init("w", w), _init("trip", np.array(3, np.int64))], name="loop")
    with pytest.warns(UserWarning, match="Loop"):
        model = load_onnx(path, fuse=False)
    assert model.graph.names == ("x", "conv", "loop")
    (loop,) = [n for n in model._loaded.model.graph.node if n.op_type == "Loop"]
    inner = [n.name for n in loop.attribute[0].g.node]
    assert inner == ["loop / lmul", "loop / conv", "loop / lid"]
    x = np.ones((1, 3, 4, 4), np.float32)
    np.testing.assert_allclose(model.run(x)["loop"][0], 3 * 0.125)
    times = model.time_nodes(x, warmup=0, runs=2)
    assert times[2] > 0 and times[1] > 0


def test_shape_arguments_and_generated_tensors_are_not_weights(tmp_path):
    nodes = [
        helper.make_node("Resize", ["x", "roi", "scales"], ["r"], name="resize"),
        helper.make_node("ConstantOfShape", ["shape"], ["zeros"],
                         value=_init("", np.array([0.0], np.float32))),
        helper.make_node("Add", ["r", "zeros"], ["a"], name="add"),
        helper.make_node("Constant", [], ["one"], value=_init("", np.array(1.0, np.float32))),
        helper.make_node("Expand", ["one", "shape"], ["ones"], name="expand"),
        helper.make_node("Mul", ["a", "ones"], ["m"], name="mul"),
        helper.make_node("Reshape", ["m", "flat"], ["f"], name="reshape"),
        helper.make_node("Gemm", ["f", "wg", "cg"], ["y"], name="fc", transB=1),
    ]
    inits = [_init("roi", np.array([0, 0, 0, 0, 1, 1, 1, 1], np.float32)),
             _init("scales", np.array([1, 1, 2, 2], np.float32)),
             _init("shape", np.array([1, 2, 4, 4], np.int64)),
             _init("flat", np.array([1, 32], np.int64)),
             _init("wg", np.ones((3, 32), np.float32)),
             _init("cg", np.ones((1, 3), np.float32) * np.float32(0.5))]
    path = _save(tmp_path, nodes, [helper.make_tensor_value_info("x", F, [1, 2, 2, 2])],
                 [helper.make_tensor_value_info("y", F, [1, 3])], inits, name="shapes")
    model = load_onnx(path, fuse=False)
    g = model.graph
    assert g.names == ("x", "resize", "add", "mul", "reshape", "fc")
    assert g.weight_elems.tolist() == [0, 0, 0, 0, 0, 96 + 3]  # Gemm B and C only
    assert g.notes == ()  # C is (1, 3): a bias-like vector, not quantised by rule
    x = np.ones((1, 2, 2, 2), np.float32)
    np.testing.assert_allclose(model.run(x)["fc"][0], 32.5)


def test_unquantised_matrix_weights_are_noted(tmp_path):
    nodes = [helper.make_node("Gemm", ["x", "w", "c"], ["y"], name="fc", transB=1)]
    path = _save(tmp_path, nodes, [helper.make_tensor_value_info("x", F, [2, 4])],
                 [helper.make_tensor_value_info("y", F, [2, 3])],
                 [_init("w", np.ones((3, 4), np.float32)), _init("c", np.ones((2, 3), np.float32))],
                 name="gemm_c")
    with pytest.warns(UserWarning, match=r"not quantised.*werr leaves them out.*fc \(c 2x3\)"):
        model = load_onnx(path, batch=2, fuse=False)
    assert model.graph.weight_elems.tolist() == [0, 12 + 6]
    assert [w.shape for w in model.weights("fc")] == [(3, 4)]


def test_layer_normalisation_counts_four_macs_per_element(tmp_path):
    nodes = [helper.make_node("LayerNormalization", ["x", "g", "b"], ["y"], name="ln")]
    path = _save(tmp_path, nodes, [helper.make_tensor_value_info("x", F, [1, 4, 8])],
                 [helper.make_tensor_value_info("y", F, [1, 4, 8])],
                 [_init("g", np.ones(8, np.float32)), _init("b", np.zeros(8, np.float32))],
                 name="ln", opset=17)
    assert load_onnx(path, fuse=False).graph.macs.tolist() == [0, 4 * 32]
