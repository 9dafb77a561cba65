"""Dominance: labels another label matches or beats in every partial sum and held bit.

Exact: every final quantity is a non-decreasing function of the tracked sums (plus what
the rest of the plan adds to both alike), so a dominated label never leads to a better
plan.
"""

from __future__ import annotations

import moocore
import numpy as np


def dominance_key(sums: np.ndarray, dims: list[str], future_peak: float = np.inf
                  ) -> np.ndarray:
    """What labels of one state are compared on: the sums, with memory as two columns.

    A label's final memory is F(X) = W + max(P, X) + (future weights, the same for every
    label of the state), with W its weights, P its peak working set so far and X the
    largest working set of the nodes a completion adds: some X in [0, U], where U =
    `future_peak` bounds it over every completion. For labels a and b, F_a <= F_b for
    every such X if and only if W_a + P_a <= W_b + P_b and W_a + max(P_a, U) <= W_b +
    max(P_b, U) (both sides are max(W + P, W + X), nondecreasing in X; compare the
    constant parts at X = 0 and the slopes' offsets at X = U; if W_a > W_b the second
    gives W_a + X <= W_a + U <= W_b + P_b). So memory is compared as (W + P, W + max(P,
    U)); with no bound (U infinite) the second column is W. Once a label's peak is past
    every future working set (P >= U), its memory is one number, W + P. The same holds
    with slack: key(a) <= key(b) + w gives F_a <= F_b + w (and with a factor likewise).
    """
    key = sums.copy()
    if "peak" in dims:
        w, p = dims.index("weights"), dims.index("peak")
        weights, peak = sums[:, w], sums[:, p]
        key[:, w] = weights + peak
        key[:, p] = weights + np.maximum(peak, future_peak) if np.isfinite(future_peak) \
            else weights
    return key


def held_key(held: np.ndarray) -> np.ndarray:
    """The held bits as dominance columns: per codec, the suffix sums over release groups
    (ascending release). The bits held past position r are what is live at every node
    after r and what a close after r sends, so a label holding no more past every r has
    no larger future working sets and sends no more (exact)."""
    suffix = np.cumsum(held[:, ::-1, :], axis=1)[:, ::-1, :]
    return suffix.reshape(len(held), held.shape[1] * held.shape[2])


def nondominated_rows(key: np.ndarray) -> np.ndarray:
    """Indices of the rows of `key` that no other row dominates (of equal rows, the first
    is kept), ascending."""
    if not len(key):
        return np.zeros(0, np.intp)
    if not key.shape[1]:
        return np.zeros(1, np.intp)
    return np.flatnonzero(moocore.is_nondominated(key, keep_weakly=False))
