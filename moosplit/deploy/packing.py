"""Dense packing of b-bit activation codes (SPEC section 8), and the quantiser behind them.

A payload of b-bit codes (b in 1..15) holds the codes of a tensor in C order, packed
densely **least significant bit first**: bit j of code i is bit (i*b + j) of the payload,
and bit k of the payload is bit (k mod 8) of byte k // 8. That is ceil(count * b / 8)
bytes; the unused high bits of the last byte are written as zero and ignored on reading.
At b = 16 the payload is not codes but the raw float16 values, little-endian (2 bytes each,
so the length formula still holds).

Packing is vectorised, with no Python loop over elements: 8 bits is a plain byte copy;
below 8 bits, each group of 8 codes is ORed into one 64-bit word whose low `bits` bytes
are the group's payload; 9..15 bits are packed through numpy's bit matrix
(`np.unpackbits` / `np.packbits` with `bitorder="little"`) and unpacked by reading, for
every code at once, the 3 bytes it lies in.

Example:
    >>> pack(np.array([1, 2, 3]), 2).hex()   # 01 + 10 << 2 + 11 << 4 = 0b00111001
    '39'
    >>> unpack(bytes([0x39]), 2, 3).tolist()
    [1, 2, 3]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import OptionError
from ..validation import Number

RAW_BITS = 16
"""The bit-width that means raw float16 values rather than codes."""

_BITS = Number(whole=True, at_least=1, at_most=RAW_BITS)
_COUNT = Number(whole=True, at_least=0)
_FLOAT16_MAX = float(np.finfo(np.float16).max)


def check_bits(bits: object) -> int:
    """`bits` as an int, or OptionError unless it is a whole number in 1..16."""
    return _BITS("bits", bits)


def payload_length(count: int, bits: int) -> int:
    """Bytes of the payload of `count` values at `bits` bits: ceil(count * bits / 8)
    (2 * count at 16, raw float16).

    Example:
        >>> payload_length(1001, 3), payload_length(7, 16)
        (376, 14)
    """
    return -(-int(count) * int(bits) // 8)


def code_dtype(bits: int) -> np.dtype:
    """The dtype codes of `bits` bits unpack to: uint8 up to 8 bits, uint16 for 9..15,
    float16 (raw values, not codes) at 16."""
    if bits == RAW_BITS:
        return np.dtype("<f2")
    return np.dtype(np.uint8 if bits <= 8 else "<u2")


def pack(codes: np.ndarray, bits: int) -> bytes:
    """The payload of `codes` (any shape, read in C order) at `bits` bits.

    For bits 1..15, `codes` are unsigned integers in 0..2^bits - 1; at 16, floating-point
    values sent as float16 (an integer array is refused there: 16 is raw float16, not
    16-bit codes). OptionError for bits outside 1..16 or codes out of range.

    Example:
        >>> pack(np.array([5, 1]), 3).hex()   # 101 then 001 -> 0b00001101
        '0d'
    """
    bits = check_bits(bits)
    codes = np.asarray(codes)
    if bits == RAW_BITS:
        return _raw_float16(codes).tobytes()
    flat = _checked_codes(codes, bits).ravel()
    if bits == 8:
        return flat.astype(np.uint8).tobytes()
    if bits < 8:
        return _pack_words(flat, bits)
    matrix = np.unpackbits(flat.astype("<u2").view(np.uint8).reshape(flat.size, 2),
                           axis=1, bitorder="little")
    return np.packbits(matrix[:, :bits], bitorder="little").tobytes()


def unpack(payload: bytes, bits: int, count: int) -> np.ndarray:
    """The `count` values of a payload at `bits` bits, as a 1-D array of
    :func:`code_dtype` (codes for bits 1..15, float16 values at 16).

    OptionError for bits outside 1..16 or a payload that is not exactly
    :func:`payload_length` bytes.

    Example:
        >>> unpack(bytes([0x0D]), 3, 2).tolist()
        [5, 1]
    """
    bits = check_bits(bits)
    count = _COUNT("count", count)
    expected = payload_length(count, bits)
    if len(payload) != expected:
        raise OptionError("payload", f"{expected} bytes ({count} values at {bits} bits)",
                          f"{len(payload)} bytes")
    data = np.frombuffer(payload, np.uint8)
    if bits in (8, RAW_BITS):
        return data.view(code_dtype(bits)).copy()
    if bits < 8:
        return _unpack_words(data, bits, count)
    # 9..15 bits: code i starts at bit i*bits and lies within the 3 bytes from its first
    padded = np.zeros(data.size + 2, np.uint32)
    padded[:data.size] = data
    start = np.arange(count, dtype=np.int64) * bits
    first = start >> 3
    words = padded[first] | padded[first + 1] << 8 | padded[first + 2] << 16
    codes = (words >> (start & 7).astype(np.uint32)) & np.uint32((1 << bits) - 1)
    return codes.astype("<u2")


# Below 8 bits, 8 codes make exactly `bits` bytes: they are ORed into one 64-bit
# little-endian word (code j at bit j * bits) whose low `bits` bytes are the group's bytes.
def _pack_words(flat: np.ndarray, bits: int) -> bytes:
    groups = -(-flat.size // 8)
    codes = np.zeros((groups * 8,), "<u8")
    codes[:flat.size] = flat
    codes = codes.reshape(groups, 8)
    words = codes[:, 0].copy()
    for j in range(1, 8):  # the 8 places of a group, each over every group at once
        words |= codes[:, j] << np.uint64(bits * j)
    packed = words.view(np.uint8).reshape(groups, 8)
    return packed[:, :bits].tobytes()[:payload_length(flat.size, bits)]


def _unpack_words(data: np.ndarray, bits: int, count: int) -> np.ndarray:
    groups = -(-count // 8)
    padded = np.zeros(groups * bits, np.uint8)
    padded[:data.size] = data
    grouped = np.zeros((groups, 8), np.uint8)
    grouped[:, :bits] = padded.reshape(groups, bits)
    words = grouped.view("<u8")
    codes = (words >> (bits * np.arange(8, dtype="<u8"))) & np.uint64((1 << bits) - 1)
    return codes.astype(np.uint8).reshape(-1)[:count]


def _checked_codes(codes: np.ndarray, bits: int) -> np.ndarray:
    """`codes` if they are unsigned integer codes of `bits` bits, else OptionError."""
    top = (1 << bits) - 1
    if codes.dtype.kind not in "iu":
        raise OptionError("codes", f"an integer array at {bits} bits", f"dtype {codes.dtype}")
    if codes.size and (codes.min() < 0 or codes.max() > top):
        raise OptionError("codes", f"in 0..{top} at {bits} bits",
                          f"values from {codes.min()} to {codes.max()}")
    return codes


def _raw_float16(values: np.ndarray) -> np.ndarray:
    """`values` as little-endian float16, or OptionError if they are not finite floats
    within float16's range."""
    if values.dtype.kind != "f":
        raise OptionError("codes", "floating-point values at 16 bits (raw float16)",
                          f"dtype {values.dtype}")
    if values.size and not (np.isfinite(values).all()
                            and np.abs(values).max() <= _FLOAT16_MAX):
        raise OptionError("values", f"finite and within float16's range "
                          f"(|x| <= {_FLOAT16_MAX:g})", "values outside it")
    return values.astype("<f2").ravel()


@dataclass(frozen=True)
class Quantised:
    """A tensor as b-bit codes: value = (code - zero_point) * scale.

    codes: the tensor's shape, :func:`code_dtype` of `bits` (float16 values at 16).
    scale: > 0, a float32 value (it travels as f32). zero_point: a whole number in
        0..2^bits - 1, stored as float (it travels as f32). At 16 bits, scale 1 and zero
        point 0.
    """

    codes: np.ndarray
    bits: int
    scale: float
    zero_point: float

    def dequantised(self) -> np.ndarray:
        """The float32 values the codes stand for."""
        return dequantise(self.codes, self.bits, self.scale, self.zero_point)


def quantise(values: np.ndarray, bits: int) -> Quantised:
    """Asymmetric per-tensor quantisation of `values` to `bits` bits.

    The range [min(values, 0), max(values, 0)] (it always holds 0, so that 0 is exact) is
    split into 2^bits - 1 steps: scale = (high - low) / (2^bits - 1), rounded up to float32
    (1 if the range is empty); zero_point = round(-low / scale); code =
    clip(round(value / scale) + zero_point, 0, 2^bits - 1). Rounding is half to even
    (`np.rint`, as ONNX QuantizeLinear), so that (code - zero_point) * scale is within
    scale / 2 of every value (clipping only trims values within scale / 2 of the range's
    ends). At 16 bits the values are cast to float16 (scale 1, zero point 0).
    OptionError for non-finite values.

    Example:
        >>> q = quantise(np.array([0.0, 0.5, 1.5]), 2)
        >>> q.codes.tolist(), q.scale, q.zero_point
        ([0, 1, 3], 0.5, 0.0)
    """
    bits = check_bits(bits)
    values = np.asarray(values)
    if bits == RAW_BITS:
        return Quantised(_raw_float16(values.astype(np.float32, copy=False))
                         .reshape(values.shape), bits, 1.0, 0.0)
    values = values.astype(np.float64)
    if values.size and not np.isfinite(values).all():
        raise OptionError("values", "finite numbers", "NaN or infinite values")
    top = (1 << bits) - 1
    low, high = float(values.min(initial=0.0)), float(values.max(initial=0.0))
    exact = (high - low) / top
    scale = np.float32(exact)
    if scale < exact:
        scale = np.nextafter(scale, np.float32(np.inf))
    scale = float(scale) if scale > 0 else 1.0
    zero_point = float(np.rint(-low / scale)) + 0.0  # + 0.0: never -0.0
    codes = np.clip(np.rint(values / scale) + zero_point, 0, top)
    return Quantised(codes.astype(code_dtype(bits)), bits, scale, zero_point)


def dequantise(codes: np.ndarray, bits: int, scale: float, zero_point: float) -> np.ndarray:
    """The float32 values of b-bit codes: (code - zero_point) * scale; at 16 bits the
    float16 values themselves (scale and zero point are not applied).

    Example:
        >>> dequantise(np.array([0, 1, 3]), 2, 0.5, 0.0).tolist()
        [0.0, 0.5, 1.5]
    """
    bits = check_bits(bits)
    codes = np.asarray(codes)
    if bits == RAW_BITS:
        return codes.astype(np.float32)
    return ((codes.astype(np.float32) - np.float32(zero_point))
            * np.float32(scale)).astype(np.float32)


PACKING_SAMPLE = 1 << 20
"""Elements of the tensor :func:`packing_metadata` times."""


def packing_metadata(*, elements: int = PACKING_SAMPLE, bits: int = 4, runs: int = 5,
                     seed: int = 0) -> dict[str, str]:
    """Profile metadata for the packing cost (SPEC section 4 as amended in
    docs/formulation.md), measured on this host: ``pack_ns_per_element`` (:func:`quantise`
    then :func:`pack`, the edge side of a frame) and ``unpack_ns_per_element``
    (:func:`unpack` then :func:`dequantise`, the cloud side), medians of `runs` timed runs
    after one warm-up on `elements` ReLU-like float32 values at `bits` bits (below 16 bits
    the float work dominates and the time barely depends on the width: docs/benchmarks.md,
    *Packing*), and a ``packing`` note saying so.

    Example:
        >>> sorted(packing_metadata(elements=1024, runs=1))
        ['pack_ns_per_element', 'packing', 'unpack_ns_per_element']
    """
    import platform
    import time

    values = np.maximum(np.random.default_rng(seed).standard_normal(elements), 0.0)
    values = values.astype(np.float32)

    def median_ns(job) -> float:
        job()
        times = []
        for _ in range(max(1, runs)):
            start = time.perf_counter_ns()
            job()
            times.append(time.perf_counter_ns() - start)
        return float(np.median(times)) / elements

    def edge() -> tuple[Quantised, bytes]:
        q = quantise(values, bits)
        return q, pack(q.codes, bits)

    q, payload = edge()
    pack_ns = median_ns(edge)
    unpack_ns = median_ns(lambda: dequantise(unpack(payload, bits, elements), bits, q.scale,
                                             q.zero_point))
    return {"pack_ns_per_element": f"{pack_ns:.4g}",
            "unpack_ns_per_element": f"{unpack_ns:.4g}",
            "packing": (f"measured on this host ({platform.processor() or platform.machine()}"
                        f", numpy {np.__version__}): moosplit.deploy.packing, {elements:,} "
                        f"ReLU-like float32 values at {bits} bits, median of {max(1, runs)} "
                        "runs; a cut tensor's elements times these are added to edge and "
                        "cloud time")}
