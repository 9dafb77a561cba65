"""Measure feature codecs (SPEC section 5) on a model's real activations.

Every codec is measured per row on the row's outputs (every tensor its ``out_elems``
counts) for one batch of calibration inputs:

- lossless codecs (``zlib``, ``lzma``): the tensors as 8-bit codes (the quantiser of
  :func:`moosplit.profilers.quantise.quantise`), compressed by the standard-library coder.
  They add no error beyond the activation quantisation the plan already counts.
- lossy codecs (``q4+zlib``, ...): the tensors quantised to fewer bits, then compressed; the
  error is that quantisation's mean squared error per element of the row's float tensors,
  exactly as ``aerr`` of the ``mse`` error mode (:mod:`moosplit.profilers.quant_error`)
  computes it, so the two add up in one unit.

Scales follow :func:`moosplit.profilers.quantise.quantise_activation`, as in ``aerr``: each
tensor on its own scale, one per sample when the tensor is batch-first (its first axis is
the batch), one for the whole tensor otherwise. A row's tensors are coded one after the
other and compressed together.

``ratio`` is measured against the tensors at 8 bits per element: 8-bit bytes over
compressed bytes. The evaluator divides a plan's transmitted bits by it, which is exact
for activations at 8 bits and proportional otherwise. A coder's own framing is counted, so
a tiny tensor (a few elements, a row without tensors) has a ratio below 1: compressing it
makes it larger. ``encode_ms`` is the median wall time of quantising and compressing the
whole batch on this host.
"""

from __future__ import annotations

import lzma
import time
import zlib
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from ..errors import ProfileOptionError
from ..progress import ProgressCallback, Reporter
from .graph import ModelRunner
from .quantise import activation_squared_error, quantise, scaled_per_sample

CODERS: dict[str, Callable[[bytes], bytes]] = {
    "zlib": lambda data: zlib.compress(data, 6),
    "lzma": lambda data: lzma.compress(data, preset=1),
}
"""Lossless coders from the standard library, by name."""

MEASURED_BITS = 8
"""Bits per element of the tensors lossless ratios are measured on and against."""


def codes(x: np.ndarray, bits: int) -> bytes:
    """The integer codes of :func:`quantise` at `bits` (<= 8), one byte each."""
    x = np.asarray(x, dtype=np.float32)
    top = float(np.max(np.abs(x))) if x.size else 0.0
    if top == 0.0:
        return np.zeros(x.size, np.uint8).tobytes()
    unsigned = bool(np.min(x) >= 0)
    levels = 2**bits - 1 if unsigned else 2 ** (bits - 1) - 1
    q = np.round(quantise(x, bits) / (top / levels))
    offset = 0 if unsigned else levels
    return (q + offset).astype(np.uint8).tobytes()


def _activation_codes(x: np.ndarray, bits: int, batch: int) -> bytes:
    """:func:`codes` of `x` with the scales of
    :func:`~moosplit.profilers.quantise.quantise_activation`: per sample if batch-first."""
    x = np.asarray(x, dtype=np.float32)
    if not scaled_per_sample(x, batch):
        return codes(x, bits)
    return b"".join(codes(sample, bits) for sample in x)


def _median_ms(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return float(np.median(times))


def _is_float(x: np.ndarray) -> bool:
    return np.issubdtype(x.dtype, np.floating)


def measure_codecs(
    runner: ModelRunner,
    calibration: np.ndarray,
    *,
    coders: Sequence[str] = ("zlib",),
    lossy_bits: Sequence[int] = (4, 2),
    repeats: int = 3,
    progress: ProgressCallback | None = None,
) -> pd.DataFrame:
    """A codec table (columns codec, node, ratio, err, encode_ms) for every row of `runner`.

    `calibration` is one batch of inputs of the runner's input shape (its first dimension
    is the batch the profile's latencies are for). Codecs: each name in `coders` as a
    lossless codec, and ``q{b}+{coder}`` for each b in `lossy_bits` with the first coder.
    """
    unknown = [c for c in coders if c not in CODERS]
    if unknown or not coders:
        raise ProfileOptionError("coders", f"among {', '.join(CODERS)}",
                                 ",".join(map(str, coders)) or "none")
    if any(not 2 <= b < MEASURED_BITS for b in lossy_bits):
        raise ProfileOptionError("lossy_bits", f"in 2..{MEASURED_BITS - 1}",
                                 ",".join(map(str, lossy_bits)))
    calibration = np.asarray(calibration, dtype=np.float32)
    outputs = runner.run(calibration)
    batch = len(calibration)
    names = runner.graph.names
    rows: list[tuple[str, str, float, float, float]] = []
    report = Reporter(progress, "codecs", "nodes")
    for done, name in enumerate(names, start=1):
        tensors = [np.asarray(t) for t in outputs[name]]
        floats = [t for t in tensors if _is_float(t)]
        float_elems = sum(t.size for t in floats)
        plain_bytes = max(sum(t.size for t in tensors) * MEASURED_BITS // 8, 1)
        variants = [(coder, coder, MEASURED_BITS) for coder in coders]
        variants += [(f"q{b}+{coders[0]}", coders[0], b) for b in lossy_bits]
        for codec, coder, bits in variants:
            def encode(tensors=tensors, coder=coder, bits=bits) -> bytes:
                return CODERS[coder](b"".join(_activation_codes(t, bits, batch)
                                              for t in tensors))

            size = max(len(encode()), 1)
            err = 0.0
            if bits != MEASURED_BITS and float_elems:
                err = sum(activation_squared_error(t, bits, batch) for t in floats) / float_elems
            rows.append((codec, name, plain_bytes / size, err, _median_ms(encode, repeats)))
        report(done, len(names))
    return pd.DataFrame(rows, columns=["codec", "node", "ratio", "err", "encode_ms"])
