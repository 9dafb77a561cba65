"""Front quality indicators (through moocore) and front comparison within a tolerance."""

from __future__ import annotations

from dataclasses import dataclass

import moocore
import numpy as np

from .front import Front
from .pareto import minimisation_form


def _check_same_objectives(front: Front, reference: Front) -> None:
    if front.objectives != reference.objectives:
        raise ValueError(f"fronts have different objectives: {front.objectives} and "
                         f"{reference.objectives}")


def hypervolume(front: Front, ref: np.ndarray | list[float]) -> float:
    """Hypervolume dominated by the front and bounded by `ref` (natural units and senses).

    An explicit reference point is required: a maximised objective's reference is a lower
    bound, a minimised one's an upper bound. Points that do not strictly improve on `ref`
    in every objective add nothing.
    """
    ref = np.asarray(ref, float)
    if ref.shape != (len(front.objectives),):
        raise ValueError(f"ref must have one value per objective {front.objectives}, got "
                         f"shape {ref.shape}")
    if len(front) == 0:
        return 0.0
    return float(moocore.hypervolume(front.F, ref=ref, maximise=front.problem.maximise))


def igd_plus(front: Front, reference: Front) -> float:
    """IGD+ of `front` against a reference front (lower is better; 0 when it covers it)."""
    _check_same_objectives(front, reference)
    if len(front) == 0 or len(reference) == 0:
        return float("inf") if len(reference) else 0.0
    return float(moocore.igd_plus(front.F, ref=reference.F, maximise=front.problem.maximise))


def epsilon_additive(front: Front, reference: Front) -> float:
    """Smallest shift making `front` weakly dominate every reference point (natural units)."""
    _check_same_objectives(front, reference)
    if len(front) == 0 or len(reference) == 0:
        return float("inf") if len(reference) else 0.0
    return float(moocore.epsilon_additive(front.F, ref=reference.F,
                                          maximise=front.problem.maximise))


def covered(points: np.ndarray, by: np.ndarray, maximise, rtol: float = 1e-6,
            atol: float = 1e-12) -> np.ndarray:
    """For each row of `points`, whether a row of `by` weakly dominates it within tolerance.

    q covers p when q_j <= p_j + rtol * max(|p_j|, |q_j|) + atol for every (minimised) j.
    """
    p = minimisation_form(points, maximise)
    q = minimisation_form(by, maximise)
    out = np.zeros(p.shape[0], bool)
    if q.shape[0] == 0 or p.shape[0] == 0:
        return out
    step = max(1, (1 << 22) // max(1, q.shape[0] * max(1, p.shape[1])))
    for lo in range(0, p.shape[0], step):
        block = p[lo:lo + step, None, :]
        slack = rtol * np.maximum(np.abs(block), np.abs(q[None, :, :])) + atol
        out[lo:lo + step] = (q[None, :, :] <= block + slack).all(axis=2).any(axis=1)
    return out


@dataclass(frozen=True)
class FrontComparison:
    """Which points of each front the other does not cover (indices into each front)."""

    missing_from_a: np.ndarray  # points of b not covered by a
    missing_from_b: np.ndarray  # points of a not covered by b

    @property
    def equal(self) -> bool:
        """True when each front covers the other (SPEC section 6's front equality)."""
        return self.missing_from_a.size == 0 and self.missing_from_b.size == 0


def compare_fronts(a: Front, b: Front, rtol: float = 1e-6) -> FrontComparison:
    """Compare two fronts of the same objectives within relative tolerance `rtol`."""
    _check_same_objectives(a, b)
    maximise = a.problem.maximise
    return FrontComparison(np.flatnonzero(~covered(b.F, a.F, maximise, rtol)),
                           np.flatnonzero(~covered(a.F, b.F, maximise, rtol)))
