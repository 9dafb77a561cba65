"""Codec measurement on activations: ratios from real compressors, errors from quantise()."""

from __future__ import annotations

import zlib

import numpy as np
import pytest

import moosplit
from moosplit.problems.codecs import CodecTable
from moosplit.profilers.codec_measure import codes, measure_codecs
from moosplit.profilers.graph import LayerGraph
from moosplit.profilers.quant_error import activation_mse
from moosplit.profilers.quantise import quantisation_mse, quantise


class ConstantRunner:
    """A two-row 'model' whose outputs are fixed arrays (enough for codec measurement)."""

    def __init__(self, outputs: dict[str, np.ndarray]) -> None:
        names = tuple(outputs)
        self.outputs = outputs
        self.graph = LayerGraph(
            model="fake", names=names, ops=("input",) + ("relu",) * (len(names) - 1),
            inputs=((),) + tuple((names[i],) for i in range(len(names) - 1)),
            out_elems=[outputs[n].size for n in names], weight_elems=[0] * len(names),
            macs=[0] * len(names), input_shape=(1, outputs[names[0]].size))

    def run(self, batch, *, weight_bits=None, activation_bits=None):
        return {name: (value,) for name, value in self.outputs.items()}


def test_codes_round_trip_quantise():
    x = np.random.default_rng(0).standard_normal(1000).astype(np.float32)
    for bits in (2, 4, 8):
        q = np.frombuffer(codes(x, bits), np.uint8).astype(np.float64)
        levels = 2 ** (bits - 1) - 1
        scale = np.max(np.abs(x)) / levels
        np.testing.assert_allclose((q - levels) * scale, quantise(x, bits), rtol=1e-5,
                                   atol=1e-6)
    relu = np.abs(x)
    assert np.frombuffer(codes(relu, 4), np.uint8).max() == 15


def test_ratios_and_errors_follow_their_definitions():
    rng = np.random.default_rng(1)
    sparse = np.maximum(rng.standard_normal(4096), 1.5).astype(np.float32) - 1.5
    noise = rng.standard_normal(4096).astype(np.float32)
    runner = ConstantRunner({"input": noise, "sparse": sparse})
    table = measure_codecs(runner, np.zeros((1, 4096)), coders=("zlib", "lzma"),
                           lossy_bits=(4, 2), repeats=1)
    assert sorted(set(table["codec"])) == ["lzma", "q2+zlib", "q4+zlib", "zlib"]
    assert len(table) == 8
    row = table[(table.codec == "zlib") & (table.node == "sparse")].iloc[0]
    assert row.ratio == pytest.approx(4096 / len(zlib.compress(codes(sparse, 8), 6)))
    assert row.err == 0
    # a mostly-zero ReLU tensor compresses far better than Gaussian noise
    noise_ratio = table[(table.codec == "zlib") & (table.node == "input")].ratio.iloc[0]
    assert row.ratio > 3 * noise_ratio
    lossy = table[table.node == "input"].set_index("codec")
    assert lossy.loc["q2+zlib", "ratio"] > lossy.loc["q4+zlib", "ratio"] > lossy.loc["zlib",
                                                                                     "ratio"]
    assert lossy.loc["q4+zlib", "err"] == pytest.approx(quantisation_mse(noise, 4))
    assert lossy.loc["q2+zlib", "err"] > lossy.loc["q4+zlib", "err"] > 0
    assert (table.encode_ms >= 0).all()


def test_table_is_a_valid_codec_table_for_the_profile():
    rng = np.random.default_rng(2)
    profile = moosplit.random_profile(4, seed=3)
    outputs = {name: rng.standard_normal(int(max(n, 1))).astype(np.float32)
               for name, n in zip(profile.names, profile.out_elems, strict=True)}
    table = measure_codecs(ConstantRunner(outputs), np.zeros((1, 1)), repeats=1)
    codecs = CodecTable.from_frame(table, profile)
    assert codecs.names == ("none", "zlib", "q4+zlib", "q2+zlib")
    assert codecs.available.all()


def test_bad_options_are_refused():
    runner = ConstantRunner({"input": np.ones(8, np.float32)})
    with pytest.raises(ValueError, match=r"coders must be among zlib, lzma, got 'gzip'"):
        measure_codecs(runner, np.zeros((1, 8)), coders=("gzip",))
    with pytest.raises(ValueError, match=r"lossy_bits must be in 2..7, got '8'"):
        measure_codecs(runner, np.zeros((1, 8)), lossy_bits=(8,))


class SeveralTensorsRunner:
    """Rows with two tensors (one batch-first, one not), a 0-d tensor and an integer one."""

    def __init__(self, batch: int) -> None:
        rng = np.random.default_rng(4)
        scale = np.array([1.0, 100.0, 0.01, 5.0], np.float32)[:batch, None]
        self.outputs = {
            "input": (rng.standard_normal((batch, 64)).astype(np.float32),),
            "pair": (rng.standard_normal((batch, 64)).astype(np.float32) * scale,
                     rng.standard_normal((64, batch)).astype(np.float32)),
            "mean": (np.array(0.7, np.float32),),
            "shape": (np.array([batch, 64], np.int64),),
        }
        names = tuple(self.outputs)
        self.graph = LayerGraph(
            model="several", names=names, ops=("input", "split", "mean", "shape"),
            inputs=((), ("input",), ("pair",), ("input",)), out_elems=[64, 128, 1, 2],
            weight_elems=[0] * 4, macs=[0] * 4, input_shape=(batch, 64))

    def weights(self, name):
        return []

    def run(self, batch, *, weight_bits=None, activation_bits=None):
        return dict(self.outputs)


def test_every_tensor_of_a_row_is_coded_with_the_scales_of_aerr():
    batch = 4
    runner = SeveralTensorsRunner(batch)
    calibration = np.zeros((batch, 64), np.float32)
    table = measure_codecs(runner, calibration, lossy_bits=(4, 2), repeats=1)
    table = table.set_index(["node", "codec"])
    first, second = runner.outputs["pair"]
    # per sample for the batch-first tensor (samples differ 10,000-fold in scale), one scale
    # for the (64, batch) one, coded one after the other and compressed together
    data = b"".join(codes(sample, 4) for sample in first) + codes(second, 4)
    assert table.loc[("pair", "q4+zlib"), "ratio"] == pytest.approx(
        128 * batch / len(zlib.compress(data, 6)))
    # lossy err: the unit of aerr in mse mode, exactly (row 0 has no aerr, but its codec
    # does lose information)
    names = list(runner.graph.names)
    for b in (4, 2):
        aerr = activation_mse(runner, calibration, [b], batch_size=batch)[b]
        err = table.xs(f"q{b}+zlib", level="codec").loc[names, "err"].to_numpy()
        np.testing.assert_allclose(err[1:], aerr[1:], rtol=1e-12)
        assert err[0] == pytest.approx(activation_mse(
            ConstantRunner({"x": np.zeros(1), "copy": runner.outputs["input"][0]}),
            calibration, [b], batch_size=batch)[b][1], rel=1e-12)
    assert table.loc[("pair", "q4+zlib"), "err"] > 0
    assert table.loc[("shape", "q2+zlib"), "err"] == 0  # integer tensors are not quantised
    assert table.loc[("mean", "zlib"), "ratio"] < 1  # one byte: zlib's framing outweighs it
