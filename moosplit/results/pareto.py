"""Non-dominated filtering with the SPEC's tie-break, on top of moocore."""

from __future__ import annotations

from collections.abc import Sequence

import moocore
import numpy as np


def minimisation_form(F: np.ndarray, maximise: Sequence[bool]) -> np.ndarray:
    """F with maximised columns negated, so that every column is minimised."""
    F = np.asarray(F, float)
    signs = np.where(np.asarray(maximise, bool), -1.0, 1.0)
    return F * signs if F.size else F.reshape(-1, len(signs))


def nondominated(F: np.ndarray, maximise: Sequence[bool],
                 order: np.ndarray | None = None) -> np.ndarray:
    """Indices of the non-dominated rows of F, one per distinct vector.

    Among rows with equal vectors the first in `order` (default: row order) is kept; the
    result is sorted by the objectives (first objective best first, then the next, ...).
    """
    F = np.asarray(F, float)
    if F.shape[0] == 0:
        return np.zeros(0, np.intp)
    order = np.arange(F.shape[0]) if order is None else np.asarray(order, np.intp)
    minimised = minimisation_form(F, maximise)[order]
    keep = order[moocore.is_nondominated(minimised, keep_weakly=False)]
    kept = minimisation_form(F[keep], maximise)
    return keep[np.lexsort(kept.T[::-1])]
