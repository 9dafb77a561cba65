"""Packing b-bit codes (SPEC section 8): lengths, the LSB-first bit order, round trips, and
the quantiser's error bound."""

import math

import numpy as np
import pytest

from moosplit.deploy.packing import (
    code_dtype,
    dequantise,
    pack,
    payload_length,
    quantise,
    unpack,
)
from moosplit.errors import OptionError

COUNTS = (0, 1, 7, 9, 15, 1001, 4097)


def reference_pack(codes, bits):
    """SPEC section 8 read literally: code i occupies bits i*b .. i*b + b - 1 of one long
    little-endian number, ceil(n*b/8) bytes long (no numpy, no moosplit code)."""
    value = 0
    for i, code in enumerate(int(c) for c in codes):
        value |= code << (i * bits)
    return value.to_bytes(math.ceil(len(codes) * bits / 8), "little")


def random_codes(rng, bits, count):
    """Codes over the whole range of `bits`, with both extremes present when count allows."""
    top = (1 << bits) - 1
    codes = rng.integers(0, top + 1, count)
    codes[:2] = [0, top][:count]
    return codes.astype(code_dtype(bits))


@pytest.mark.parametrize("bits", range(1, 16))
@pytest.mark.parametrize("count", COUNTS)
def test_codes_round_trip_in_exactly_ceil_n_b_over_8_bytes(bits, count):
    rng = np.random.default_rng(1000 * bits + count)
    codes = random_codes(rng, bits, count)
    payload = pack(codes, bits)
    assert len(payload) == math.ceil(count * bits / 8) == payload_length(count, bits)
    assert payload == reference_pack(codes, bits), f"bits {bits}, count {count}"
    back = unpack(payload, bits, count)
    assert back.dtype == code_dtype(bits) and back.shape == (count,)
    np.testing.assert_array_equal(back, codes)


@pytest.mark.parametrize("count", COUNTS)
def test_16_bits_is_raw_float16_little_endian(count):
    values = np.random.default_rng(count).normal(0, 100, count).astype(np.float32)
    payload = pack(values, 16)
    assert len(payload) == 2 * count == payload_length(count, 16)
    assert payload == values.astype("<f2").tobytes()
    back = unpack(payload, 16, count)
    assert back.dtype == np.dtype("<f2")
    np.testing.assert_array_equal(back, values.astype(np.float16))


@pytest.mark.parametrize("codes, bits, hex_bytes", [
    ([1, 0, 0, 0, 0, 0, 0, 0, 1], 1, "01 01"),      # code 8 starts the second byte
    ([1, 2, 3], 2, "39"),                          # 0b00_11_10_01
    ([5, 1, 7], 3, "cd 01"),                       # 101, 001, 111: 0b11_001_101, then 0b1
    ([0x1, 0xF, 0x3], 4, "f1 03"),                 # low nibble first
    ([0x1F, 0x00, 0x1F], 5, "1f 7c"),              # 15 bits in 2 bytes: 0b0_11111_00000_11111
    ([0x3F, 0x01], 6, "7f 00"),                    # 0b0000_000001_111111
    ([0xAB, 0xCD], 8, "ab cd"),                    # bytes as they are
    ([0x1FF, 0x000], 9, "ff 01 00"),
    ([0xABC, 0x123], 12, "bc 3a 12"),              # 0x123ABC as 3 little-endian bytes
    ([0x7FFF], 15, "ff 7f"),
])
def test_bytes_of_small_examples_pin_the_lsb_first_order(codes, bits, hex_bytes):
    payload = pack(np.array(codes), bits)
    assert payload.hex(" ") == hex_bytes
    assert unpack(payload, bits, len(codes)).tolist() == codes


def test_16_bit_bytes_by_hand():
    assert pack(np.array([1.0, -2.0], np.float32), 16).hex(" ") == "00 3c 00 c0"


@pytest.mark.parametrize("bits", [1, 3, 5, 7, 9, 13])
def test_unused_high_bits_of_the_last_byte_are_zero_and_ignored(bits):
    codes = random_codes(np.random.default_rng(bits), bits, 9)
    payload = bytearray(pack(codes, bits))
    used = (9 * bits) % 8
    assert used and payload[-1] >> used == 0
    payload[-1] |= 0xFF << used & 0xFF
    np.testing.assert_array_equal(unpack(bytes(payload), bits, 9), codes)


def test_codes_of_any_shape_are_read_in_c_order():
    codes = np.arange(12).reshape(3, 4) % 8
    assert pack(codes, 3) == pack(codes.ravel(), 3) == pack(np.asfortranarray(codes), 3)


@pytest.mark.parametrize("bits", [0, 17, -1, True, 2.0, "4", None])
def test_bits_outside_1_to_16_are_refused(bits):
    with pytest.raises(OptionError, match="bits must be a whole number in 1..16"):
        pack(np.zeros(3, np.uint8), bits)
    with pytest.raises(OptionError, match="bits"):
        unpack(b"\x00", bits, 1)
    with pytest.raises(OptionError, match="bits"):
        quantise(np.zeros(3), bits)


@pytest.mark.parametrize("bits, codes, words", [
    (4, [0, 16], "in 0..15"), (1, [2], "in 0..1"), (8, [-1, 3], "in 0..255"),
    (15, [1 << 15], "in 0..32767"), (4, [0.0, 1.0], "an integer array"),
    (16, [0, 1], "floating-point values at 16 bits"),
    (16, [np.inf], "float16's range"), (16, [70000.0], "float16's range"),
])
def test_codes_out_of_range_are_refused(bits, codes, words):
    with pytest.raises(OptionError, match=words):
        pack(np.array(codes), bits)


@pytest.mark.parametrize("bits, count, size", [(4, 3, 1), (4, 3, 3), (16, 2, 3), (1, 9, 1),
                                               (8, 0, 1), (12, 1, 1)])
def test_payload_length_that_does_not_match_is_refused(bits, count, size):
    with pytest.raises(OptionError, match=rf"payload must be {payload_length(count, bits)} "
                                          rf"bytes \({count} values at {bits} bits\)"):
        unpack(bytes(size), bits, count)


def test_negative_count_is_refused():
    with pytest.raises(OptionError, match="count must be a whole number >= 0"):
        unpack(b"", 4, -1)


TENSORS = {
    "normal": lambda rng: rng.normal(0.3, 2.0, (2, 3, 7, 5)),
    "relu": lambda rng: np.maximum(rng.normal(0, 1, 1001), 0),
    "negative": lambda rng: -rng.uniform(0.5, 3.0, 99),
    "tiny": lambda rng: rng.normal(0, 1e-30, 50),
    "constant": lambda rng: np.full(17, 2.5),
    "zeros": lambda rng: np.zeros(9),
    "empty": lambda rng: np.zeros((0, 3)),
}


@pytest.mark.parametrize("bits", range(1, 16))
@pytest.mark.parametrize("kind", TENSORS)
def test_quantisation_error_is_at_most_half_a_step(bits, kind):
    rng = np.random.default_rng(bits)
    values = TENSORS[kind](rng)
    q = quantise(values, bits)
    top = (1 << bits) - 1
    assert q.codes.shape == values.shape and q.codes.dtype == code_dtype(bits)
    assert q.scale > 0 and np.float32(q.scale) == q.scale          # travels as f32 exactly
    assert q.zero_point == int(q.zero_point) and 0 <= q.zero_point <= top
    back = q.dequantised()
    assert back.dtype == np.float32 and back.shape == values.shape
    error = np.abs(back - values)
    bound = q.scale / 2 * (1 + 1e-6) + 1e-6 * np.abs(values)         # float32 rounding
    assert (error <= bound).all(), f"{kind} at {bits} bits: worst {error.max()} > {q.scale / 2}"
    zero = quantise(np.append(values.ravel(), 0.0), bits)
    assert zero.dequantised()[-1] == 0.0                             # 0 is exact
    if values.size:
        assert q.codes.min() >= 0 and q.codes.max() <= top
    assert (unpack(pack(q.codes, bits), bits, values.size).reshape(values.shape)
            == q.codes).all()


def test_quantisation_uses_the_whole_range():
    q = quantise(np.linspace(-1.0, 3.0, 1001), 4)
    assert q.codes.min() == 0 and q.codes.max() == 15
    assert q.zero_point == round(1.0 / q.scale)


def test_rounding_is_half_to_even():
    # scale 1 at 2 bits over [0, 3]; 0.5 and 2.5 are ties: to 0 and 2
    q = quantise(np.array([0.0, 0.5, 1.5, 2.5, 3.0]), 2)
    assert q.scale == 1.0 and q.codes.tolist() == [0, 0, 2, 2, 3]


def test_16_bits_quantise_to_float16_with_scale_1_and_zero_point_0():
    values = np.random.default_rng(0).normal(0, 10, 100)
    q = quantise(values, 16)
    assert (q.bits, q.scale, q.zero_point, q.codes.dtype) == (16, 1.0, 0.0, np.dtype("<f2"))
    np.testing.assert_array_equal(q.dequantised(), values.astype(np.float16).astype(np.float32))
    np.testing.assert_array_equal(dequantise(q.codes, 16, 7.0, 3.0), q.dequantised())


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_values_are_refused(bad):
    for bits in (4, 16):
        with pytest.raises(OptionError, match="values must be"):
            quantise(np.array([0.0, bad]), bits)
