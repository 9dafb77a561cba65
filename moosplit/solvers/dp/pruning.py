"""Dominance within a state: labels another label of the same state matches or beats.

Exact: every final quantity is a non-decreasing function of the tracked sums (plus what
the rest of the plan adds to both alike), so a dominated label never leads to a better
plan.
"""

from __future__ import annotations

import moocore
import numpy as np


def dominance_key(sums: np.ndarray, dims: list[str]) -> np.ndarray:
    """What labels of one state are compared on: the sums, with memory as (weights,
    weights + peak). Final memory is weights + future weights + max(peak, future working
    sets), non-decreasing in both, so a label no worse in both is no worse for any
    completion (weaker than comparing the peak)."""
    key = sums.copy()
    if "peak" in dims:
        key[:, dims.index("peak")] += sums[:, dims.index("weights")]
    return key


def pareto_per_state(codes: np.ndarray, key: np.ndarray) -> np.ndarray:
    """Indices of the rows of `key` that no row with the same code dominates (of equal
    rows, the first is kept)."""
    if codes.size == 0:
        return np.zeros(0, np.intp)
    order = np.argsort(codes, kind="stable")
    sorted_codes = codes[order]
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    if not key.shape[1]:
        return order[starts]
    kept = []
    for lo, hi in zip(starts, np.r_[starts[1:], order.size], strict=True):
        group = order[lo:hi]
        kept.append(group if group.size == 1
                    else group[moocore.is_nondominated(key[group], keep_weakly=False)])
    return np.concatenate(kept)
