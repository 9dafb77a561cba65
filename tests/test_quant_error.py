"""Quantisation error columns (moosplit.profilers.quant_error) and calibration images."""

from __future__ import annotations

import sys
from collections.abc import Mapping

import numpy as np
import pytest
from PIL import Image

from moosplit.profilers.calibration import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    calibration_batch,
    load_images,
    sample_images,
)
from moosplit.profilers.graph import LayerGraph
from moosplit.profilers.quant_error import (
    ErrorColumns,
    activation_mse,
    estimate_errors,
    output_sensitivity,
    sink_rows,
    weight_mse,
)
from moosplit.profilers.quantise import quantise
from moosplit.progress import ProgressCallback

BITS = (2, 4, 8)


class TwoLayerRunner:
    """input -> fc1 (W1) -> relu -> fc2 (W2, bias b2), in numpy, honouring fake quantisation.

    Implements :class:`moosplit.profilers.graph.ModelRunner`; activations are quantised per
    tensor (the whole batch), weights per output channel, both with ``quantise``.
    """

    def __init__(self, d_in: int = 6, hidden: int = 5, d_out: int = 3, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.w1 = rng.standard_normal((hidden, d_in)).astype(np.float32)
        self.w2 = rng.standard_normal((d_out, hidden)).astype(np.float32)
        self.b2 = rng.standard_normal(d_out).astype(np.float32)
        self.graph = LayerGraph(
            model="two_layer",
            names=("input", "fc1", "relu", "fc2"),
            ops=("input", "linear", "relu", "linear"),
            inputs=((), ("input",), ("fc1",), ("relu",)),
            out_elems=[d_in, hidden, hidden, d_out],
            weight_elems=[0, self.w1.size, 0, self.w2.size + self.b2.size],
            macs=[0, self.w1.size, 0, self.w2.size],
            input_shape=(1, d_in),
        )

    def weights(self, name: str) -> list[np.ndarray]:
        return {"fc1": [self.w1], "fc2": [self.w2, self.b2]}.get(name, [])

    def run(
        self,
        batch: np.ndarray,
        *,
        weight_bits: Mapping[str, int] | None = None,
        activation_bits: Mapping[str, int] | None = None,
    ) -> dict[str, tuple[np.ndarray, ...]]:
        wb, ab = dict(weight_bits or {}), dict(activation_bits or {})

        def w(name: str, tensor: np.ndarray) -> np.ndarray:
            return quantise(tensor, wb[name], axis=0) if name in wb else tensor

        def a(name: str, out: np.ndarray) -> np.ndarray:
            return quantise(out, ab[name]) if name in ab else out.astype(np.float32)

        x = a("input", np.asarray(batch, np.float32))
        h = a("fc1", x @ w("fc1", self.w1).T)
        r = a("relu", np.maximum(h, 0))
        y = a("fc2", r @ w("fc2", self.w2).T + w("fc2", self.b2))
        return {"input": (x,), "fc1": (h,), "relu": (r,), "fc2": (y,)}

    def time_nodes(self, batch: np.ndarray, *, warmup: int = 3, runs: int = 10,
                   progress: ProgressCallback | None = None) -> np.ndarray:
        return np.zeros(self.graph.n_rows)


def _calibration(n: int = 7, d_in: int = 6, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, d_in)).astype(np.float32)


def _sq(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2


# ------------------------------------------------------------------- mse mode
def test_weight_mse_matches_hand_computation() -> None:
    runner = TwoLayerRunner()
    table = weight_mse(runner, BITS)
    assert sorted(table) == list(BITS)
    for b in BITS:
        fc1 = np.mean(_sq(quantise(runner.w1, b, axis=0), runner.w1))
        fc2 = (np.sum(_sq(quantise(runner.w2, b, axis=0), runner.w2))
               + np.sum(_sq(quantise(runner.b2, b, axis=0), runner.b2))) / (
            runner.w2.size + runner.b2.size)  # element-weighted over the two tensors
        np.testing.assert_allclose(table[b], [0.0, fc1, 0.0, fc2], rtol=1e-12, atol=0)
        assert table[b][1] > 0


def test_activation_mse_matches_hand_computation_per_sample() -> None:
    runner, calib = TwoLayerRunner(), _calibration()
    for batch_size in (1, 3, 7, 100):
        chunks = [runner.run(calib[i:i + batch_size]) for i in range(0, len(calib), batch_size)]
        table = activation_mse(runner, calib, BITS, batch_size=batch_size)
        for b in BITS:
            expected = [0.0] + [  # one scale per sample: a batch-1 inference
                np.mean([np.mean(_sq(quantise(s, b), s)) for c in chunks for s in c[name][0]])
                for name in ("fc1", "relu", "fc2")]
            np.testing.assert_allclose(table[b], expected, rtol=1e-12, atol=0,
                                       err_msg=f"batch_size={batch_size}, bits={b}")
            # independent of batch_size up to float32 matmul rounding
            np.testing.assert_allclose(table[b], activation_mse(runner, calib, [b])[b],
                                       rtol=1e-3, err_msg=f"batch_size={batch_size}, bits={b}")


def test_errors_fall_weakly_with_bits() -> None:
    bits = tuple(range(2, 16))
    for seed in range(100):
        runner = TwoLayerRunner(d_in=12, hidden=16, d_out=8, seed=seed)
        calib = _calibration(n=4, d_in=12, seed=seed + 1000)
        w_table = weight_mse(runner, bits)
        a_table = activation_mse(runner, calib, bits, batch_size=4)
        w = np.array([w_table[b] for b in bits])
        a = np.array([a_table[b] for b in bits])
        for name, table in (("weight", w), ("activation", a)):
            assert np.all(np.isfinite(table)) and np.all(table >= 0), f"{name}, seed {seed}"
            assert np.all(np.diff(table, axis=0) <= 0), f"{name} error rises, seed {seed}"


def test_estimate_errors_mse_mode() -> None:
    runner, calib = TwoLayerRunner(), _calibration()
    calls: list[tuple[int, int]] = []
    cols = estimate_errors(runner, calib, [8, 2, 4, 4], mode="mse", batch_size=3,
                           progress=lambda p: calls.append((p.done, p.total)))
    assert cols.bits == BITS
    for b in BITS:
        np.testing.assert_array_equal(cols.weight[b], weight_mse(runner, BITS)[b])
        np.testing.assert_array_equal(cols.activation[b],
                                      activation_mse(runner, calib, BITS, batch_size=3)[b])
        assert not cols.weight[b].flags.writeable
    assert calls == [(1, 3), (2, 3), (3, 3)]
    assert cols.method.startswith("mse:") and "2,4,8" in cols.method
    assert "7 calibration samples" in cols.method and "\n" not in cols.method
    assert sorted(cols.columns()) == ["aerr_b2", "aerr_b4", "aerr_b8",
                                      "werr_b2", "werr_b4", "werr_b8"]


# ---------------------------------------------------------------- output mode
def test_output_sensitivity_matches_hand_computation() -> None:
    runner, calib = TwoLayerRunner(), _calibration()
    assert sink_rows(runner) == [3]
    (y,) = runner.run(calib)["fc2"]
    relu = np.maximum(calib @ runner.w1.T, 0)
    calls: list[tuple[int, int]] = []
    cols = output_sensitivity(runner, calib, BITS, batch_size=len(calib),
                              progress=lambda p: calls.append((p.done, p.total)))
    for b in BITS:
        # only the last linear's weights quantised: the output moves by exactly this much
        y_fc2 = relu @ quantise(runner.w2, b, axis=0).T + quantise(runner.b2, b, axis=0)
        h_q = calib @ quantise(runner.w1, b, axis=0).T
        y_fc1 = np.maximum(h_q, 0) @ runner.w2.T + runner.b2
        np.testing.assert_allclose(cols.weight[b], [0.0, np.mean(_sq(y_fc1, y)), 0.0,
                                                     np.mean(_sq(y_fc2, y))], rtol=1e-5)
        # the sink's own activation: quantising it is the output error
        assert cols.activation[b][3] == pytest.approx(np.mean(_sq(quantise(y, b), y)),
                                                      rel=1e-6)
        assert cols.activation[b][0] == 0 and np.all(cols.activation[b][1:3] >= 0)
    # one batch: 1 float run + 3 bits x (2 weighted rows + 3 activation rows)
    assert calls[-1] == (16, 16) and len(calls) == 16
    assert cols.method.startswith("output:") and "(fc2)" in cols.method


def test_output_mode_through_estimate_errors() -> None:
    runner, calib = TwoLayerRunner(), _calibration()
    a = estimate_errors(runner, calib, BITS, mode="output", batch_size=2)
    b = output_sensitivity(runner, calib, BITS, batch_size=2)
    for bit in BITS:
        np.testing.assert_array_equal(a.weight[bit], b.weight[bit])
        np.testing.assert_array_equal(a.activation[bit], b.activation[bit])


class OddOutputsRunner:
    """input x (n, d) -> pair = (2x, x.T) -> out = (pair[0] + mean, 3 pair[1]), mean = x.mean().

    Rows with two output tensors ("pair", and the sink "out"), a 0-d output ("mean") and a
    tensor whose first axis is not the batch (x.T, d != n). Activations are quantised per
    tensor, each on its own scale, as the real runners do.
    """

    def __init__(self) -> None:
        self.graph = LayerGraph(
            model="odd", names=("input", "pair", "mean", "out"),
            ops=("input", "mul", "mean", "add"),
            inputs=((), ("input",), ("input",), ("pair", "mean")),
            out_elems=[3, 6, 1, 6], weight_elems=[0] * 4, macs=[0, 3, 3, 6],
            input_shape=(1, 3))

    def weights(self, name: str) -> list[np.ndarray]:
        return []

    def run(self, batch, *, weight_bits=None, activation_bits=None):  # noqa: ANN001, ANN201
        ab = dict(activation_bits or {})

        def a(name: str, *tensors: np.ndarray) -> tuple[np.ndarray, ...]:
            return tuple(quantise(t, ab[name]) if name in ab else np.float32(t)
                         for t in tensors)

        (x,) = a("input", np.asarray(batch, np.float32))
        pair = a("pair", 2 * x, x.T.copy())
        (mean,) = a("mean", np.asarray(x.mean(), np.float32))
        out = a("out", pair[0] + mean, 3 * pair[1])
        return {"input": (x,), "pair": pair, "mean": (mean,), "out": out}

    def time_nodes(self, batch, *, warmup=3, runs=10, progress=None):  # noqa: ANN001, ANN201
        return np.zeros(4)


def test_activation_mse_of_scalar_transposed_and_multi_tensor_outputs() -> None:
    """A 0-d output or one whose first axis is not the batch is quantised as a whole; a
    batch-first one per sample; every tensor of a row counts, each on its own scale."""
    runner, calib = OddOutputsRunner(), _calibration(n=8, d_in=3, seed=5)
    table = activation_mse(runner, calib, BITS, batch_size=4)

    def per_sample(t: np.ndarray, b: int) -> float:
        return float(sum(np.sum(_sq(quantise(s, b), s)) for s in t))

    def whole(t: np.ndarray, b: int) -> float:
        return float(np.sum(_sq(quantise(t, b), t)))

    for b in BITS:
        sums, counts = np.zeros(4), np.zeros(4)
        for start in (0, 4):
            outputs = runner.run(calib[start:start + 4])
            pair, (mean,), out = outputs["pair"], outputs["mean"], outputs["out"]
            assert pair[1].shape == (3, 4) and mean.shape == ()  # not batch-first
            sums += [0, per_sample(pair[0], b) + whole(pair[1], b), whole(mean, b),
                     per_sample(out[0], b) + whole(out[1], b)]
            counts += [0, 24, 1, 24]
        expected = np.divide(sums, counts, out=np.zeros(4), where=counts > 0)
        np.testing.assert_allclose(table[b], expected, rtol=1e-12, atol=0)
        assert table[b][2] == 0 and table[b][1] > 0  # one value is its own scale


def test_output_sensitivity_compares_every_tensor_of_every_sink() -> None:
    runner, calib = OddOutputsRunner(), _calibration(n=4, d_in=3, seed=6)
    assert sink_rows(runner) == [3]
    cols = output_sensitivity(runner, calib, BITS, batch_size=4)
    out = runner.run(calib)["out"]
    for b in BITS:
        quantised = [quantise(t, b) for t in out]  # each tensor on its own scale
        expected = sum(np.sum(_sq(q, t)) for q, t in zip(quantised, out, strict=True)) / 24
        assert cols.activation[b][3] == pytest.approx(expected, rel=1e-6)
        # quantising pair's second tensor reaches only the output's second tensor
        pq = runner.run(calib, activation_bits={"pair": b})["out"]
        expected = sum(np.sum(_sq(q, t)) for q, t in zip(pq, out, strict=True)) / 24
        assert cols.activation[b][1] == pytest.approx(expected, rel=1e-6)


def test_runner_returning_bare_arrays_is_refused() -> None:
    class Bare(TwoLayerRunner):
        def run(self, batch, **kwargs):  # noqa: ANN001, ANN003, ANN201
            return {k: v[0] for k, v in super().run(batch, **kwargs).items()}

    with pytest.raises(ValueError, match="tuple"):
        activation_mse(Bare(), _calibration(), BITS)


# ------------------------------------------------------------ invalid inputs
@pytest.mark.parametrize("bits", [(1,), (16,), (0, 4), (4, 17), (2.5,), (True,)])
def test_invalid_bits_raise(bits: tuple) -> None:
    runner, calib = TwoLayerRunner(), _calibration()
    with pytest.raises(ValueError, match="bits"):
        weight_mse(runner, bits)
    with pytest.raises(ValueError, match="bits"):
        activation_mse(runner, calib, bits)
    with pytest.raises(ValueError, match="bits"):
        output_sensitivity(runner, calib, bits)
    for mode in ("mse", "output"):
        with pytest.raises(ValueError, match="bits"):
            estimate_errors(runner, calib, bits, mode=mode)


def test_invalid_mode_batch_and_columns_raise() -> None:
    runner, calib = TwoLayerRunner(), _calibration()
    with pytest.raises(ValueError, match="mode"):
        estimate_errors(runner, calib, BITS, mode="hessian")
    with pytest.raises(ValueError, match="batch_size"):
        activation_mse(runner, calib, BITS, batch_size=0)
    with pytest.raises(ValueError, match="calibration"):
        activation_mse(runner, calib[:0], BITS)
    with pytest.raises(ValueError, match=">= 0"):
        ErrorColumns({4: [0.0, -1.0]}, {4: [0.0, 0.0]}, "x")
    with pytest.raises(ValueError, match="same bits"):
        ErrorColumns({4: [0.0]}, {2: [0.0]}, "x")
    with pytest.raises(ValueError, match="bits"):
        ErrorColumns({16: [0.0]}, {16: [0.0]}, "x")


def test_non_finite_outputs_are_refused() -> None:
    runner = TwoLayerRunner()
    calib = _calibration()
    calib[0, 0] = np.inf
    with np.errstate(invalid="ignore"), pytest.raises(ValueError, match="'fc1' outputs inf"):
        activation_mse(runner, calib, BITS)
    with np.errstate(invalid="ignore"), pytest.raises(ValueError, match="'fc1' outputs inf"):
        output_sensitivity(runner, calib, BITS)


# ---------------------------------------------------------------- calibration
def test_sample_images_are_real_photographs() -> None:
    paths = sample_images()
    assert [p.name for p in paths] == ["grace_hopper.jpg"]
    assert all(p.is_file() for p in paths)


def test_sample_images_without_matplotlib(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match="pip install matplotlib"):
        sample_images()


def test_calibration_batch_shape_dtype_and_seed() -> None:
    x, origin = calibration_batch((3, 24, 32), 5)
    assert x.shape == (5, 3, 24, 32) and x.dtype == np.float32
    assert np.all(np.isfinite(x))
    assert "grace_hopper.jpg" in origin and "ImageNet" in origin and "\n" not in origin
    np.testing.assert_array_equal(x, calibration_batch((3, 24, 32), 5)[0])
    assert not np.array_equal(x, calibration_batch((3, 24, 32), 5, seed=1)[0])
    gray, origin = calibration_batch((1, 20, 20), 3, seed=2)
    assert gray.shape == (3, 1, 20, 20) and gray.dtype == np.float32
    assert "grayscale" in origin


def _write_pngs(folder, colours) -> None:  # noqa: ANN001
    for i, colour in enumerate(colours):
        Image.new("RGB", (40, 30), colour).save(folder / f"img{i}.png")


def test_folder_of_pngs_is_read_sorted_and_normalised(tmp_path) -> None:  # noqa: ANN001
    _write_pngs(tmp_path, [(255, 0, 0), (0, 128, 255)])
    (tmp_path / "notes.txt").write_text("not an image")
    x = load_images(tmp_path, (3, 8, 8), 4, seed=3)
    mean = np.array(IMAGENET_MEAN, np.float32)[:, None, None]
    std = np.array(IMAGENET_STD, np.float32)[:, None, None]
    first = (np.array([255, 0, 0], np.float32)[:, None, None] / 255 - mean) / std
    second = (np.array([0, 128, 255], np.float32)[:, None, None] / 255 - mean) / std
    for k, expected in enumerate([first, second, first, second]):  # sample k: image k mod 2
        np.testing.assert_allclose(x[k], np.broadcast_to(expected, (3, 8, 8)), atol=1e-5)
    x, origin = calibration_batch((3, 8, 8), 2, folder=tmp_path)
    assert str(tmp_path) in origin and "2 image(s)" in origin


def test_grayscale_and_custom_normalisation(tmp_path) -> None:  # noqa: ANN001
    Image.new("L", (16, 16), 102).save(tmp_path / "gray.bmp")
    x = load_images([tmp_path / "gray.bmp"], (1, 5, 7), 2)
    assert x.shape == (2, 1, 5, 7)
    np.testing.assert_allclose(x, (102 / 255 - np.mean(IMAGENET_MEAN)) / np.mean(IMAGENET_STD),
                               rtol=1e-5)
    np.testing.assert_allclose(load_images(tmp_path, (1, 4, 4), 1, mean=0.0, std=1.0),
                               102 / 255, rtol=1e-6)


def test_bad_calibration_inputs_raise(tmp_path) -> None:  # noqa: ANN001
    with pytest.raises(ValueError, match=str(tmp_path)):
        load_images(tmp_path, (3, 8, 8), 2)
    with pytest.raises(ValueError, match="does not exist"):
        calibration_batch((3, 8, 8), 2, folder=tmp_path / "missing")
    _write_pngs(tmp_path, [(1, 2, 3)])
    with pytest.raises(ValueError, match="shape"):
        load_images(tmp_path, (4, 8, 8), 2)
    with pytest.raises(ValueError, match="shape"):
        load_images(tmp_path, (1, 3, 8, 8), 2)
    with pytest.raises(ValueError, match="count"):
        load_images(tmp_path, (3, 8, 8), 0)
    with pytest.raises(ValueError, match="mean"):
        load_images(tmp_path, (3, 8, 8), 1, mean=(0.5, 0.5))
    with pytest.raises(ValueError, match="std"):
        load_images(tmp_path, (3, 8, 8), 1, std=0.0)


def test_calibration_errors_name_the_path_or_say_what_to_do(tmp_path) -> None:  # noqa: ANN001
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match=f"no images .* in calibration folder '{empty}'"):
        calibration_batch((3, 8, 8), 2, folder=empty)
    with pytest.raises(ValueError, match=f"'{tmp_path / 'missing'}' does not exist"):
        calibration_batch((3, 8, 8), 2, folder=tmp_path / "missing")
    _write_pngs(tmp_path, [(1, 2, 3)])
    (tmp_path / "text.jpg").write_text("not a photograph")
    with pytest.raises(ValueError, match=f"cannot read calibration image '{tmp_path}/text.jpg'"):
        calibration_batch((3, 8, 8), 2, folder=tmp_path)
    (tmp_path / "text.jpg").unlink()
    data = (tmp_path / "img0.png").read_bytes()
    (tmp_path / "img1.png").write_bytes(data[:len(data) // 2])  # a truncated PNG
    with pytest.raises(ValueError, match=f"cannot read calibration image '{tmp_path}/img1.png'"):
        calibration_batch((3, 8, 8), 2, folder=tmp_path)
    for shape in [(8,), (4, 8, 8), (1, 3, 8, 8), (2, 16)]:  # no image input: say what to do
        with pytest.raises(ValueError, match="errors none.*calibration folder cannot help"):
            calibration_batch(shape, 2, folder=tmp_path)
