"""Codec measurement on activations: ratios from real compressors, errors from quantise()."""

from __future__ import annotations

import zlib

import numpy as np
import pytest

import moosplit
from moosplit.problems.codecs import CodecTable
from moosplit.profiles.codec_measure import codes, measure_codecs
from moosplit.profiles.graph import LayerGraph
from moosplit.profiles.quantise import quantisation_mse, quantise


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
        return dict(self.outputs)


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
    with pytest.raises(ValueError, match="coders"):
        measure_codecs(runner, np.zeros((1, 8)), coders=("gzip",))
    with pytest.raises(ValueError, match="lossy_bits"):
        measure_codecs(runner, np.zeros((1, 8)), lossy_bits=(8,))
