"""Uniform fake quantisation, the one definition every profiler and error estimate uses."""

from __future__ import annotations

import numpy as np

from ..profiles.schema import REFERENCE_BITS


def quantise(x: np.ndarray, bits: int, axis: int | None = None) -> np.ndarray:
    """Quantise `x` to `bits` uniform levels and back (float32 out).

    Symmetric around zero with scale ``max|x| / (2**(bits-1) - 1)``, except that a tensor
    with no negative value (a ReLU output) uses all ``2**bits - 1`` levels on ``[0, max]``.
    With `axis`, each slice along it (an output channel of a weight tensor) gets its own
    scale. ``bits >= 16`` (the reference precision) returns `x` unchanged.

    Example:
        >>> quantise(np.array([-1.0, 0.3, 1.0]), 2).tolist()
        [-1.0, 0.0, 1.0]
    """
    if bits < 2:
        raise ValueError(f"cannot quantise to {bits} bit(s): at least 2 are needed")
    x = np.asarray(x, dtype=np.float32)
    if bits >= REFERENCE_BITS or x.size == 0:
        return x
    if axis is None:
        reduce_axes: tuple[int, ...] | None = None
    else:
        axis = axis % x.ndim
        reduce_axes = tuple(d for d in range(x.ndim) if d != axis)
    top = np.max(np.abs(x), axis=reduce_axes, keepdims=True)
    unsigned = bool(np.min(x) >= 0)
    levels = 2**bits - 1 if unsigned else 2 ** (bits - 1) - 1
    scale = np.where(top > 0, top / levels, 1.0).astype(np.float32)
    low = 0 if unsigned else -levels
    return (np.clip(np.round(x / scale), low, levels) * scale).astype(np.float32)


def quantisation_mse(x: np.ndarray, bits: int, axis: int | None = None) -> float:
    """Mean squared error that :func:`quantise` introduces into `x` (0 at 16 bits)."""
    x = np.asarray(x, dtype=np.float32)
    if x.size == 0:
        return 0.0
    return float(np.mean((quantise(x, bits, axis) - x).astype(np.float64) ** 2))


def quantise_activation(x: np.ndarray, bits: int, batch: int) -> np.ndarray:
    """Quantise an activation of a run on `batch` samples as a batch-1 inference would.

    A **batch-first** tensor (at least one axis, the first of length `batch`) gets one scale
    per sample; any other tensor (a scalar, a tensor whose first axis is not the batch, such
    as a statistic over the whole batch) gets one scale for the whole tensor. A first axis
    that happens to equal `batch` is read as the batch: with ``batch = 1`` both readings
    agree.

    Example:
        >>> x = np.array([[3.0, 1.0], [4.0, -4.0]])
        >>> quantise_activation(x, 2, batch=2).tolist()  # sample 0 unsigned, sample 1 not
        [[3.0, 1.0], [4.0, -4.0]]
        >>> quantise_activation(x, 2, batch=3).tolist()  # not batch-first: one scale
        [[4.0, 0.0], [4.0, -4.0]]
    """
    x = np.asarray(x, dtype=np.float32)
    if not scaled_per_sample(x, batch):
        return quantise(x, bits)
    return np.stack([quantise(sample, bits) for sample in x])


def scaled_per_sample(x: np.ndarray, batch: int) -> bool:
    """Whether :func:`quantise_activation` gives `x` one scale per sample (batch-first,
    more than one sample, not empty)."""
    return np.ndim(x) >= 1 and len(x) == batch and batch > 1 and np.size(x) > 0


def activation_squared_error(x: np.ndarray, bits: int, batch: int) -> float:
    """Sum over `x` of the squared error of :func:`quantise_activation` (float64)."""
    x = np.asarray(x, dtype=np.float32)
    return float(np.sum((quantise_activation(x, bits, batch) - x).astype(np.float64) ** 2))
