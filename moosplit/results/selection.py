"""Choosing plans on a front: under user limits (Auto-Split's threshold), the knee, extremes."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import OptionError, ProblemOptionError
from ..problems.problem import meets
from ..problems.quantities import QUANTITIES
from ..validation import Number
from .pareto import minimisation_form
from .resolution import Slack

if TYPE_CHECKING:  # a Front's methods call these; they only use its public methods
    from .front import Front


LIMIT = Number(at_least=0)
"""A selection limit: every quantity is >= 0, so a negative limit could never be met."""


def limit_names() -> list[str]:
    """The keyword names `select` takes: max_<q> for minimised q, min_<q> for maximised."""
    return [("min_" if q.maximise else "max_") + q.name for q in QUANTITIES.values()]


def _limit_quantity(key: str) -> str:
    """The quantity a limit keyword names (OptionError for an unknown one)."""
    if key not in limit_names():
        raise OptionError("limits", "among " + ", ".join(limit_names()), key,
                          hint=f"unknown limit {key!r}")
    return key.split("_", 1)[1]


def _by(by: object) -> str:
    if by not in QUANTITIES:
        raise OptionError("by", f"a quantity ({', '.join(QUANTITIES)})", by)
    return str(by)


def select(front: Front, by: str | None = None, **limits: float) -> Front:
    """The best point, by objective `by` (default: the first), among those within `limits`.

    Limits are keyword arguments `max_<quantity>` (for minimised quantities, e.g.
    `max_error=0.05`) or `min_<quantity>` (for maximised ones, e.g. `min_throughput_fps`),
    over any quantity of SPEC section 4, objective or not: Auto-Split's user threshold.
    Returns a front of one point, or of none if no point qualifies, whose `message` says
    what the front's guarantee makes of it (:func:`pick_certificate`).

    Example:
        >>> import moosplit
        >>> problem = moosplit.random_problem(5, seed=3)
        >>> best = select(moosplit.solve(problem, "exhaustive"), max_error=1.0)
        >>> len(best), best.message
        (1, 'exact: the lowest latency_ms of any plan with error <= 1')
    """
    mask = np.ones(len(front), bool)
    bounds = {}
    for key, bound in limits.items():
        name = _limit_quantity(key)
        bounds[name] = bound = LIMIT(key, bound)
        mask &= meets(name, front.evaluation[name], bound)
    by = front.objectives[0] if by is None else _by(by)
    candidates = np.flatnonzero(mask)
    if candidates.size == 0:
        return _with_message(front.take([]), pick_certificate(front, by, bounds, False))
    values = front.evaluation[by][candidates] * (-1 if QUANTITIES[by].maximise else 1)
    # ties on `by` go to the point best on the remaining objectives, in order
    others = minimisation_form(front.F[candidates], front.problem.maximise)
    order = np.lexsort([*others.T[::-1], values])
    return _with_message(front.take([candidates[order[0]]]),
                         pick_certificate(front, by, bounds, True))


def _with_message(front: Front, message: str) -> Front:
    return dataclasses.replace(front, message=message)


def pick_certificate(front: Front, by: str, limits: Mapping[str, float], found: bool) -> str:
    """One line: what `front`'s guarantee says of the point :func:`select` picks on it, the
    best by `by` among the points within `limits` (quantity -> bound), `found` or not.

    Why. A proven front carries a certificate (f_j, a_j) per objective, in minimisation
    form (maximised objectives negated; exact: f = 1, a = 0): every feasible plan q has a
    front point p with p_j <= f_j q_j + a_j for every objective j (q is weakly dominated
    by a true front point, which the front covers). Tighten each limit by it: L'_j = (L_j
    - a_j) / f_j on a minimised objective (max_), L'_j = (L_j + a_j) / f_j on a maximised
    one (min_, where f_j is 1). If a plan q meets the tightened limits, its covering p
    meets the limits themselves (p_j <= f_j q_j + a_j <= L_j), so the pick is at least as
    good as p on `by`: pick_by <= f_by q_by + a_by (maximised: pick_by >= f_by q_by -
    a_by). So the pick is within the certificate of the best plan meeting the tightened
    limits; found nothing, no plan meets them. On an exact front the pick is the best of
    all plans within the limits. (Plans: those meeting the problem's constraints.)

    All of this needs `by` and every limited quantity to be objectives: a plan off the
    front may beat the front on a quantity it was not built on, and nothing is certified
    then. Nor is anything on a heuristic front.
    """
    guarantee = front.guarantee
    if not guarantee.proven:
        return f"nothing is certified about this plan (a {guarantee.kind.value} front)"
    objectives = front.objectives
    outside = [name for name in (by, *limits) if name not in objectives]
    if outside:
        return (f"nothing is certified about this plan: the front is proven on its "
                f"objectives only, and {outside[0]} is not one")
    slack = guarantee.slack or Slack.none(len(objectives))
    kind = guarantee.kind.value
    tightened = {name: _tightened(name, bound, *_objective_slack(slack, objectives, name))
                 for name, bound in limits.items()}
    note = ("" if tightened == dict(limits)
            else f" ({_limits_text(limits)} tightened by the certificate)")
    if any(bound < 0 and not QUANTITIES[name].maximise for name, bound in tightened.items()):
        # every quantity is >= 0: the statement would be about no plan at all
        return (f"{kind}: nothing about this plan: no plan has {_limits_text(tightened)}"
                f"{note}")
    if not found:
        return (f"{kind}: no plan has {_limits_text(tightened)}{note}" if limits
                else f"{kind}: no plan is feasible")
    best = (f"the {'highest' if QUANTITIES[by].maximise else 'lowest'} {by} of any plan"
            + (f" with {_limits_text(tightened)}" if limits else ""))
    factor, additive = _objective_slack(slack, objectives, by)
    within = Slack((factor,), (additive,)).describe([by])
    return f"{kind}: {best}{note}" if within == "exact" else \
        f"{kind}: within {within} of {best}{note}"


def _objective_slack(slack: Slack, objectives: tuple[str, ...], name: str
                     ) -> tuple[float, float]:
    j = objectives.index(name)
    return slack.factor[j], slack.additive[j]


def _tightened(name: str, bound: float, factor: float, additive: float) -> float:
    """The limit a plan must meet for the front to hold a point within `bound` covering it."""
    if QUANTITIES[name].maximise:
        return (bound + additive) / factor
    return (bound - additive) / factor


def _limits_text(limits: Mapping[str, float]) -> str:
    return " and ".join(f"{name} {'>=' if QUANTITIES[name].maximise else '<='} {bound:.6g}"
                        for name, bound in limits.items())


def extremes(front: Front) -> Front:
    """For each objective, the point best on it (ties broken by the others); no repeats."""
    if len(front) == 0:
        return front.take([])
    F = minimisation_form(front.F, front.problem.maximise)
    picks = []
    for j in range(F.shape[1]):
        keys = [F[:, i] for i in reversed(range(F.shape[1])) if i != j] + [F[:, j]]
        picks.append(int(np.lexsort(keys)[0]))
    return front.take(sorted(set(picks)))


def knee(front: Front) -> Front:
    """The knee: with objectives normalised to [0, 1] over the front, the point farthest
    from the line through the two extremes (two objectives), or nearest the ideal point
    (three or more, where no single chord exists). One objective: the best point.
    """
    if len(front) <= 2 or front.problem.n_objectives == 1:
        return select(front)
    F = minimisation_form(front.F, front.problem.maximise)
    span = F.max(axis=0) - F.min(axis=0)
    N = (F - F.min(axis=0)) / np.where(span > 0, span, 1.0)
    if N.shape[1] == 2:
        a, b = N[np.argmin(N[:, 0])], N[np.argmin(N[:, 1])]
        direction = (b - a) / max(np.linalg.norm(b - a), 1e-300)
        offset = N - a
        distance = np.abs(offset[:, 0] * direction[1] - offset[:, 1] * direction[0])
        return front.take([int(np.argmax(distance))])
    return front.take([int(np.argmin(np.linalg.norm(N, axis=1)))])


# ------------------------------------------------------------------ the pick grammar
@dataclass(frozen=True)
class Pick:
    """Which plans of a front to keep: what `--pick` says, for `solve` and `sweep` alike.

    kind "knee" (:func:`knee`), "extremes" (:func:`extremes`, one point per objective), or
    "select": the best by `by` (None: the first objective) among the points within
    `limits` (keywords of :func:`select`, such as ``max_error=0.05``).
    """

    kind: str = "knee"
    by: str | None = None
    limits: tuple[tuple[str, float], ...] = ()

    def apply(self, front: Front) -> Front:
        """The chosen points (one, none, or for extremes one per objective)."""
        if self.kind == "knee":
            return knee(front)
        if self.kind == "extremes":
            return extremes(front)
        return select(front, self.by, **dict(self.limits))

    def describe(self) -> str:
        """The text that parses back to this pick."""
        if self.kind != "select":
            return self.kind
        items = ([f"by={self.by}"] if self.by else []) + [f"{k}={v:g}" for k, v in self.limits]
        return ",".join(items) or "first"


PICK_GRAMMAR = ("'knee', 'extremes', 'first' (the best on the first objective), or limits "
                "such as 'max_error=0.05,max_latency_ms=30' (the best by the first objective "
                "within them; add 'by=<quantity>' to choose by another)")


def parse_pick(spec: str | Mapping[str, Any] | Pick) -> Pick:
    """Read a pick (see PICK_GRAMMAR); a mapping holds the same items as the text
    ({"max_error": 0.05, "by": "latency_ms"}). Errors are OptionErrors on `pick`.

    Example:
        >>> parse_pick("by=latency_ms,max_error=0.05")
        Pick(kind='select', by='latency_ms', limits=(('max_error', 0.05),))
    """
    if isinstance(spec, Pick):
        return spec
    given = spec
    if isinstance(spec, str):
        text = spec.strip()
        if text in ("knee", "extremes"):
            return Pick(text)
        if text == "first":
            return Pick("select")
        items = {}
        for item in text.split(","):
            key, sep, value = item.partition("=")
            if not sep:
                raise ProblemOptionError("pick", PICK_GRAMMAR, item.strip())
            items[key.strip()] = value.strip()
        spec = items
    if not isinstance(spec, Mapping):
        raise ProblemOptionError("pick", PICK_GRAMMAR, spec)
    by = spec.get("by")
    try:
        by = None if by is None else _by(by)
        limits = []
        for key, value in spec.items():
            if key != "by":
                _limit_quantity(key)
                limits.append((key, LIMIT.parse(key, value) if isinstance(value, str)
                               else LIMIT(key, value)))
    except OptionError as exc:
        raise ProblemOptionError("pick", PICK_GRAMMAR, given, hint=str(exc)) from None
    return Pick("select", by, tuple(limits))
