"""Certified resolution: a subset of a front that covers every point within a slack."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import OptionError
from ..validation import Converted, is_real
from .pareto import minimisation_form

KINDS = ("relative", "additive")

EXPECTED = ("a number > 0 (relative to each objective's range), one per objective, or a "
            "Resolution")


@dataclass(frozen=True)
class Resolution:
    """How coarse a certified front may be, per objective.

    kind "relative": each value is a fraction of that objective's range over the front
    (ideal to nadir), as `--resolution R` on the command line. kind "additive": each value
    is in the objective's own units. A single value applies to every objective.

    Example:
        >>> Resolution(0.01).additive([0.0, 10.0], [100.0, 20.0]).tolist()
        [1.0, 0.1]
    """

    values: float | tuple[float, ...]
    kind: str = "relative"

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise OptionError("resolution kind", "one of " + ", ".join(KINDS), self.kind)
        try:
            values = np.atleast_1d(np.asarray(self.values, float))
        except (TypeError, ValueError):
            values = np.array([np.nan])
        if values.ndim != 1 or not np.all(np.isfinite(values)) or np.any(values < 0):
            raise OptionError("resolution", "finite values >= 0", self.values)
        if not values.any():
            raise OptionError("resolution", "> 0 in at least one objective", self.values,
                              hint="leave it out (None) for the exact front")

    def check(self, n_objectives: int) -> None:
        """Raise OptionError unless there is one value, or one per objective."""
        count = np.atleast_1d(np.asarray(self.values)).size
        if count not in (1, n_objectives):
            raise OptionError("resolution", f"1 value or one per objective "
                              f"({n_objectives})", self.values)

    @classmethod
    def coerce(cls, value: float | Sequence[float] | Resolution) -> Resolution:
        """A Resolution from a number or sequence (relative) or a Resolution."""
        if isinstance(value, Resolution):
            return value
        if is_real(value):
            return cls(float(value))  # type: ignore[arg-type]
        if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or not all(
                is_real(v) for v in value):
            raise OptionError("resolution", EXPECTED, value)
        return cls(tuple(float(v) for v in value))

    def additive(self, ideal: Sequence[float], nadir: Sequence[float]) -> np.ndarray:
        """The additive slack per objective, given the front's ideal and nadir points."""
        ideal, nadir = np.asarray(ideal, float), np.asarray(nadir, float)
        values = np.broadcast_to(np.asarray(self.values, float), ideal.shape)
        if self.kind == "additive":
            return np.array(values)
        return values * np.abs(nadir - ideal)


def thin(F: np.ndarray, maximise: Sequence[bool], slack: np.ndarray) -> np.ndarray:
    """Indices of a subset of the points F that covers every point within `slack`.

    Point r covers p when r_j <= p_j + slack_j for every objective j (as minimised). Greedy:
    take the uncovered point that is lexicographically best, drop every point it covers,
    repeat. The subset is a valid certificate, not necessarily the smallest one.
    """
    M = minimisation_form(F, maximise)
    if M.shape[0] == 0:
        return np.zeros(0, np.intp)
    order = np.lexsort(M.T[::-1])
    uncovered = np.ones(M.shape[0], bool)
    chosen = []
    for i in order:
        if not uncovered[i]:
            continue
        chosen.append(i)
        uncovered &= ~np.all(M[i] <= M + slack, axis=1)
    return np.sort(np.array(chosen, np.intp))


def _resolution_option(name: str, value: object) -> Resolution | None:
    return None if value is None else Resolution.coerce(value)  # type: ignore[arg-type]


RESOLUTION = Converted(_resolution_option, EXPECTED + " or None")
"""The check of a backend's `resolution` option."""
