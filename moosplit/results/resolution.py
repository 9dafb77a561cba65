"""Certified resolutions: how far a certified front may be from the true one, per objective.

A certificate says, per objective j, that every point q of the true front has a returned
point p with p_j <= factor_j * q_j + additive_j (objectives as minimised; a maximised
objective has factor 1). It is asked for as a :class:`Resolution`: per objective a
:class:`Tolerance` of one of three kinds,

- ``relative`` (``0.001`` or ``0.1%``): a share of the objective's range over the front
  (ideal to nadir), made additive once the range is known;
- ``additive`` (``+0.5``): in the objective's own units;
- ``factor`` (``x1.01``): p_j <= 1.01 q_j, for minimised quantities that span decades
  (quantisation error); informative at every scale, down to zero.

A bare number is a factor on `error` and relative on the other objectives.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import OptionError
from ..problems.quantities import QUANTITIES
from ..validation import Converted, is_real
from .pareto import minimisation_form

KINDS = ("relative", "additive", "factor")

MULTIPLICATIVE_BY_DEFAULT = frozenset({"error"})
"""Objectives a bare number is a factor on (they span many decades, down to zero)."""

EXPECTED = ("a number > 0 (a factor 1 + it on error, a share of the range on the other "
            "objectives), one per objective, a Resolution, or text such as "
            "'error=x1.01,latency_ms=0.1%,memory_bytes=+1024'")


@dataclass(frozen=True)
class Tolerance:
    """One objective's tolerance: `value` of `kind` (relative, additive or factor; for a
    factor, p_j <= (1 + value) q_j).

    Example:
        >>> str(Tolerance.parse("x1.01")), str(Tolerance.parse("0.1%"))
        ('x1.01', '0.1%')
    """

    value: float
    kind: str

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise OptionError("resolution kind", "one of " + ", ".join(KINDS), self.kind)
        if not is_real(self.value) or self.value < 0:
            raise OptionError("resolution", "finite values >= 0", self.value)
        object.__setattr__(self, "value", float(self.value))

    @classmethod
    def parse(cls, text: str, default_kind: str = "relative") -> Tolerance:
        """'x1.01' (factor), '0.1%' (relative), '+0.5' (additive) or a bare number (of
        `default_kind`)."""
        raw = text.strip()
        try:
            if raw[:1] in ("x", "X"):
                factor = float(raw[1:])
                if not factor >= 1:
                    raise OptionError("resolution", "a factor x1 or more", raw)
                return cls(factor - 1.0, "factor")
            if raw.endswith("%"):
                return cls(float(raw[:-1]) / 100.0, "relative")
            if raw.startswith("+"):
                return cls(float(raw[1:]), "additive")
            return cls(float(raw), default_kind)
        except ValueError:
            raise OptionError("resolution", EXPECTED, text) from None

    @property
    def factor(self) -> float:
        """1 + value for a factor, else 1."""
        return 1.0 + self.value if self.kind == "factor" else 1.0

    def __str__(self) -> str:
        if self.kind == "factor":
            return f"x{1 + self.value:g}"
        if self.kind == "relative":
            return f"{100 * self.value:g}%"
        return f"+{self.value:g}"


@dataclass(frozen=True)
class Slack:
    """A certificate in objective units: p covers q when p_j <= factor_j * q_j +
    additive_j for every objective j, in minimisation form (maximised objectives negated,
    and with factor 1)."""

    factor: tuple[float, ...]
    additive: tuple[float, ...]

    @classmethod
    def none(cls, k: int) -> Slack:
        """No slack: exact."""
        return cls((1.0,) * k, (0.0,) * k)

    @property
    def exact(self) -> bool:
        """Whether the slack is zero in every objective."""
        return all(f == 1.0 for f in self.factor) and not any(self.additive)

    def bound(self, Q: np.ndarray) -> np.ndarray:
        """The largest value a covering point may have, per point of Q (minimisation form)
        and objective."""
        return np.asarray(self.factor) * Q + np.asarray(self.additive)

    def covers(self, P: np.ndarray, Q: np.ndarray, rtol: float = 0.0) -> np.ndarray:
        """For each row of Q, whether a row of P covers it (both minimisation form), with a
        relative `rtol` for rounding."""
        out = np.zeros(len(Q), bool)
        if not len(P):
            return out
        limit = self.bound(Q)
        for i, row in enumerate(limit):
            room = rtol * np.maximum(np.abs(row), np.abs(P)) + 1e-12
            out[i] = bool(np.any(np.all(P <= row + room, axis=1)))
        return out

    def describe(self, objectives: Sequence[str] = ()) -> str:
        """'error x1.01, latency_ms 0.26' (an objective with no slack is left out)."""
        names = list(objectives) or [f"f{j + 1}" for j in range(len(self.factor))]
        parts = []
        for name, f, a in zip(names, self.factor, self.additive, strict=False):
            text = " + ".join(([f"x{f:.6g}"] if f != 1.0 else []) + ([f"{a:.4g}"] if a else []))
            if text:
                parts.append(f"{name} {text}")
        return ", ".join(parts) or "exact"


@dataclass(frozen=True)
class Resolution:
    """How coarse a certified front may be, per objective (see the module docstring).

    values: one number for every objective, one per objective, or a mapping objective ->
    number, text ('x1.01', '0.1%', '+0.5') or Tolerance; in a mapping, the key '*' gives
    the objectives not named, and objectives neither named nor covered by '*' are exact.
    kind: the kind of bare numbers: "auto" (a factor on error, relative on the others),
    or "relative", "additive", "factor" for all.

    Example:
        >>> [str(t) for t in Resolution(0.01).tolerances(("latency_ms", "error"))]
        ['1%', 'x1.01']
        >>> [str(t) for t in Resolution.parse("error=x1.05,0.1%").tolerances(
        ...     ("latency_ms", "error"))]
        ['0.1%', 'x1.05']
    """

    values: float | tuple[float, ...] | Mapping[str, float | str | Tolerance]
    kind: str = "auto"

    def __post_init__(self) -> None:
        if self.kind not in (*KINDS, "auto"):
            raise OptionError("resolution kind", "one of auto, " + ", ".join(KINDS), self.kind)
        if isinstance(self.values, Mapping):
            items = dict(self.values)
            for name, value in items.items():  # checked now, converted per objective later
                if not isinstance(name, str):
                    raise OptionError("resolution", "keyed by objective names", name)
                self._tolerance(value, name)
            object.__setattr__(self, "values", items)
            numbers = [self._tolerance(v, n).value for n, v in items.items()]
        else:
            try:
                array = np.atleast_1d(np.asarray(self.values, float))
            except (TypeError, ValueError):
                array = np.array([np.nan])
            if array.ndim != 1 or not np.all(np.isfinite(array)) or np.any(array < 0):
                raise OptionError("resolution", "finite values >= 0", self.values)
            numbers = list(array)
        if not any(numbers):
            raise OptionError("resolution", "> 0 in at least one objective", self.values,
                              hint="leave it out (None) for the exact front")

    def _kind_of(self, name: str) -> str:
        if self.kind != "auto":
            return self.kind
        return "factor" if name in MULTIPLICATIVE_BY_DEFAULT else "relative"

    def _tolerance(self, value: object, name: str) -> Tolerance:
        if isinstance(value, Tolerance):
            return value
        if isinstance(value, str):
            return Tolerance.parse(value, self._kind_of(name))
        if not is_real(value):
            raise OptionError("resolution", EXPECTED, value)
        return Tolerance(float(value), self._kind_of(name))  # type: ignore[arg-type]

    def tolerances(self, objectives: Sequence[str]) -> tuple[Tolerance, ...]:
        """One Tolerance per objective, in order."""
        if isinstance(self.values, Mapping):
            default = self.values.get("*", Tolerance(0.0, "additive"))
            return tuple(self._tolerance(self.values.get(name, default), name)
                         for name in objectives)
        array = np.atleast_1d(np.asarray(self.values, float))
        values = np.broadcast_to(array, (len(objectives),)) if array.size == 1 else array
        return tuple(Tolerance(float(v), self._kind_of(name))
                     for v, name in zip(values, objectives, strict=True))

    def check(self, objectives: Sequence[str], maximise: Sequence[bool]) -> None:
        """Raise OptionError unless the resolution fits these objectives: one value or one
        per objective, named objectives among them, no factor on a maximised one."""
        if isinstance(self.values, Mapping):
            # naming a quantity the problem does not optimise is fine (a default that
            # serves many problems), naming no quantity is a typo
            unknown = [n for n in self.values if n != "*" and n not in QUANTITIES]
            if unknown:
                raise OptionError("resolution", f"on quantities ({', '.join(QUANTITIES)}) or "
                                  "'*'", unknown[0])
        else:
            count = np.atleast_1d(np.asarray(self.values)).size
            if count not in (1, len(objectives)):
                raise OptionError("resolution", f"1 value or one per objective "
                                  f"({len(objectives)})", self.values)
        for name, tolerance, up in zip(objectives, self.tolerances(objectives), maximise,
                                       strict=True):
            if up and tolerance.kind == "factor":
                raise OptionError("resolution", f"relative or additive on {name}, which is "
                                  "maximised", str(tolerance))

    def needs_range(self, objectives: Sequence[str]) -> bool:
        """Whether some tolerance is relative to a range (unknown before solving)."""
        return any(t.kind == "relative" and t.value > 0 for t in self.tolerances(objectives))

    def slack(self, objectives: Sequence[str], ideal: Sequence[float],
              nadir: Sequence[float]) -> Slack:
        """The certificate this resolution allows, given the front's ideal and nadir points
        (natural units; used by relative tolerances only)."""
        ideal, nadir = np.asarray(ideal, float), np.asarray(nadir, float)
        factors, additive = [], []
        for j, tolerance in enumerate(self.tolerances(objectives)):
            factors.append(tolerance.factor)
            if tolerance.kind == "relative":
                additive.append(float(tolerance.value * abs(nadir[j] - ideal[j])))
            elif tolerance.kind == "additive":
                additive.append(tolerance.value)
            else:
                additive.append(0.0)
        return Slack(tuple(factors), tuple(additive))

    def additive(self, ideal: Sequence[float], nadir: Sequence[float],
                 objectives: Sequence[str] | None = None) -> np.ndarray:
        """The additive slack per objective (relative and additive tolerances; 0 for a
        factor), given the front's ideal and nadir points."""
        names = objectives or [f"f{j}" for j in range(len(np.atleast_1d(ideal)))]
        return np.array(self.slack(names, ideal, nadir).additive)

    def __str__(self) -> str:
        if isinstance(self.values, Mapping):
            return ",".join(f"{k}={v}" for k, v in self.values.items())
        return str(self.values)

    @classmethod
    def parse(cls, text: str) -> Resolution:
        """Read a resolution: comma-separated items, each `value` or `objective=value`,
        values as in :meth:`Tolerance.parse`; a bare value applies to every objective
        not named ('0.001' alone: a factor on error, relative on the others)."""
        items = [t.strip() for t in text.split(",") if t.strip()]
        if not items:
            raise OptionError("resolution", EXPECTED, text)
        if len(items) == 1 and "=" not in items[0] and items[0][:1] not in ("x", "X", "+") \
                and not items[0].endswith("%"):
            try:
                number = float(items[0])
            except ValueError:
                raise OptionError("resolution", EXPECTED, text) from None
            return cls(number)
        values: dict[str, float | str | Tolerance] = {}
        for item in items:
            name, sep, value = item.rpartition("=")
            values[name.strip() if sep else "*"] = value.strip()
        return cls(values)

    @classmethod
    def coerce(cls, value: float | str | Sequence[float] | Mapping | Resolution) -> Resolution:
        """A Resolution from a number, text, sequence or mapping, or a Resolution."""
        if isinstance(value, Resolution):
            return value
        if isinstance(value, str):
            return cls.parse(value)
        if is_real(value):
            return cls(float(value))  # type: ignore[arg-type]
        if isinstance(value, Mapping):
            return cls(value)
        if isinstance(value, (bytes, bytearray)) or not isinstance(value, Sequence) or not all(
                is_real(v) for v in value):
            raise OptionError("resolution", EXPECTED, value)
        return cls(tuple(float(v) for v in value))


def thin(F: np.ndarray, maximise: Sequence[bool], slack: np.ndarray | Slack) -> np.ndarray:
    """Indices of a subset of the points F that covers every point within `slack` (a Slack,
    or an additive slack per objective).

    Point r covers p when r_j <= factor_j p_j + additive_j for every objective j (as
    minimised). Greedy: take the uncovered point that is lexicographically best, drop
    every point it covers, repeat. The subset is a valid certificate, not necessarily the
    smallest one.
    """
    M = minimisation_form(F, maximise)
    if not isinstance(slack, Slack):
        slack = Slack((1.0,) * M.shape[1], tuple(float(s) for s in np.atleast_1d(slack)))
    if M.shape[0] == 0:
        return np.zeros(0, np.intp)
    order = np.lexsort(M.T[::-1])
    bound = slack.bound(M)
    uncovered = np.ones(M.shape[0], bool)
    chosen = []
    for i in order:
        if not uncovered[i]:
            continue
        chosen.append(i)
        uncovered &= ~np.all(M[i] <= bound, axis=1)
    return np.sort(np.array(chosen, np.intp))


def log_factor(factor: float) -> float:
    """ln(factor): factors compose by adding their logarithms."""
    return math.log(factor)


def _resolution_option(name: str, value: object) -> Resolution | None:
    return None if value is None else Resolution.coerce(value)  # type: ignore[arg-type]


RESOLUTION = Converted(_resolution_option, EXPECTED + " or None", reader=str)
"""The check of a backend's `resolution` option."""
