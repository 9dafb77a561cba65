"""Comparing backends on one problem: fronts, hypervolume ratio, IGD+ (also on log10 of
quantities that span decades), time, and plans that break a proven front's certificate."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import moocore
import numpy as np
import pandas as pd

from ..errors import OptionError, UnsupportedProblemError
from ..problems.problem import SplitProblem
from ..progress import Progress, ProgressCallback
from ..results.front import Front
from ..results.pareto import minimisation_form, nondominated
from ..results.resolution import Resolution
from ..solvers.base import check_run
from ..solvers.registry import available_solvers, solve
from .figures import spans_decades


@dataclass(frozen=True)
class Violation:
    """Points of one front that a proven (exact or certified) front does not cover within
    its certificate.

    Every point of a front is the true vector of a feasible plan, and a proven front covers
    every feasible plan (each is weakly dominated by a true front point q, and the
    certificate gives a returned p with p_j <= factor_j q_j + additive_j): so each such
    point disproves the certificate, and one of the two backends has a bug.

    backend: whose plans; proven: whose certificate they break; points: indices into
    `backend`'s front.
    """

    backend: str
    proven: str
    points: np.ndarray


@dataclass(frozen=True)
class SolverComparison:
    """Fronts of several backends on one problem, scored against the best front known.

    reference: the non-dominated union of the exact (or certified) fronts when any backend
    gave one, else of every front. table: one row per backend; with `logged` objectives
    (those whose positive values span more than DECADES (2) decades over all fronts),
    also hv_ratio_log and igd_plus_log, the same scores with those objectives on log10.
    violations: plans that beat a proven front beyond its certificate (a bug, see
    :class:`Violation`); empty when every certificate holds.
    """

    problem: SplitProblem
    fronts: dict[str, Front]
    refused: dict[str, str]
    reference: np.ndarray
    reference_kind: str
    table: pd.DataFrame
    logged: tuple[str, ...] = ()
    violations: tuple[Violation, ...] = ()


def front_scores(F: np.ndarray, reference: np.ndarray, maximise) -> tuple[float, float]:
    """(hypervolume ratio, IGD+) on objectives normalised by the reference's range.

    The hypervolume reference point is the reference front's nadir plus 10% of its range,
    so the reference front's extreme points count. The ratio is at most 1 against an exact
    reference (or the union of the fronts scored); against a certified one a front may
    exceed 1, by beating the reference within the certificate's slack (a certified front
    may stand up to that slack behind the true one).
    """
    ref = minimisation_form(reference, maximise)
    low, high = ref.min(axis=0), ref.max(axis=0)
    span = np.where(high > low, high - low, 1.0)
    R = (ref - low) / span
    point = np.full(ref.shape[1], 1.1)
    total = moocore.hypervolume(R, ref=point)
    if len(F) == 0:
        return 0.0, float("inf")
    A = (minimisation_form(F, maximise) - low) / span
    ratio = moocore.hypervolume(A, ref=point) / total if total > 0 else float("nan")
    return float(ratio), float(moocore.igd_plus(A, ref=R))


def decade_columns(F: np.ndarray) -> tuple[int, ...]:
    """The columns of F whose positive values span more than DECADES (2) decades (the rule
    that puts a figure's axis on a log scale)."""
    return tuple(j for j in range(F.shape[1]) if spans_decades(F[:, j]))


def log_scale(F: np.ndarray, columns: Sequence[int], floors: Sequence[float]) -> np.ndarray:
    """F with `columns` replaced by their log10; values <= 0 in column j go to
    log10(floors[j]) (one decade below the smallest positive value, by
    :func:`log_floors`), so that zero error stays the best value."""
    out = np.array(F, float, copy=True)
    for j, floor in zip(columns, floors, strict=True):
        out[:, j] = np.log10(np.where(out[:, j] > 0, out[:, j], floor))
    return out


def log_floors(F: np.ndarray, columns: Sequence[int]) -> tuple[float, ...]:
    """Per column, one decade below its smallest positive value: where zeros go on log10."""
    return tuple(float(F[F[:, j] > 0, j].min()) / 10 for j in columns)


def certificate_violations(fronts: Mapping[str, Front], rtol: float = 1e-6
                           ) -> tuple[Violation, ...]:
    """Every front's points that another, proven front (exact or certified, checked with
    its own guarantee) does not cover within its certificate and a relative `rtol`.

    Fronts of one problem only. An empty proven front (infeasible) is broken by any point.

    Example:
        >>> import moosplit
        >>> problem = moosplit.random_problem(5, seed=1)
        >>> certificate_violations({"exhaustive": moosplit.solve(problem, "exhaustive"),
        ...                         "lagrangian": moosplit.solve(problem, "lagrangian")})
        ()
    """
    out = []
    for proven_name, proven in fronts.items():
        if not proven.guarantee.proven:
            continue
        for name, front in fronts.items():
            if name == proven_name or not len(front):
                continue
            held = proven.guarantee.covers(proven.F, front.F, proven.problem.maximise, rtol)
            if not held.all():
                out.append(Violation(name, proven_name, np.flatnonzero(~held)))
    return tuple(out)


def compare_solvers(problem: SplitProblem, solvers: Sequence[str], *, seed: int = 0,
                    time_limit: float | None = None,
                    resolution: float | str | Resolution | None = None,
                    options: Mapping[str, Mapping[str, Any]] | None = None,
                    progress: ProgressCallback | None = None) -> SolverComparison:
    """Run each backend on `problem` (same seed for all) and score its front.

    `resolution` goes to every backend that takes one (the exact ones: a certified front
    instead of the whole one, and much faster on real profiles); the others run as they
    are. `options` gives further options per backend name. Backends that refuse the
    problem are listed in `refused` with their reason, not dropped silently.

    Scores are taken as they are and, when some objective's positive values span more
    than DECADES (2) decades over all fronts (quantisation error, typically), also with those
    objectives on log10 (zeros one decade below the smallest positive value): a linear
    hypervolume cannot tell 1e-3 from 1e-6. With a certified reference a heuristic's
    hypervolume ratio may exceed 1 (see :func:`front_scores`); a plan beating a proven
    front beyond its certificate is listed in `violations`.

    Example:
        >>> import moosplit
        >>> problem = moosplit.random_problem(5, seed=1)
        >>> result = compare_solvers(problem, ["exhaustive", "lagrangian", "cloud_only"])
        >>> float(result.table.set_index("solver").loc["exhaustive", "hv_ratio"])
        1.0
    """
    fronts, refused = _run_backends(problem, solvers, seed=seed, time_limit=time_limit,
                                    resolution=resolution, options=options,
                                    progress=progress)
    reference, kind = _reference(problem, fronts)
    everything = np.concatenate([reference, *(f.F for f in fronts.values())])
    columns = decade_columns(everything)
    floors = log_floors(everything, columns)
    rows = []
    for name in solvers:
        row = _row(name, fronts.get(name), refused, reference, problem.maximise)
        if columns:
            row.update(_log_scores(fronts.get(name), reference, problem.maximise, columns,
                                   floors))
        rows.append(row)
    table = pd.DataFrame(rows)
    table = table[[c for c in table.columns if c != "time_s"] + ["time_s"]]
    logged = tuple(problem.objectives[j] for j in columns)
    return SolverComparison(problem, fronts, refused, reference, kind, table, logged,
                            certificate_violations(fronts))


def _run_backends(problem: SplitProblem, solvers: Sequence[str], *, seed: int,
                  time_limit: float | None, resolution: float | str | Resolution | None,
                  options: Mapping[str, Mapping[str, Any]] | None,
                  progress: ProgressCallback | None
                  ) -> tuple[dict[str, Front], dict[str, str]]:
    """Each backend's front, and the reasons of those that refused the problem."""
    registry = available_solvers()
    unknown = [name for name in solvers if name not in registry]
    if unknown or not solvers:
        raise OptionError("solvers", f"registered backends ({', '.join(registry)})",
                          unknown or list(solvers))
    check_run(seed, time_limit)
    takers = {name for name, cls in registry.items() if cls.supports_resolution}
    if resolution is not None and not takers & set(solvers):
        raise OptionError("resolution", "left out: none of the solvers takes one", resolution,
                          hint=f"these do: {', '.join(sorted(takers))}")
    fronts: dict[str, Front] = {}
    refused: dict[str, str] = {}
    started = time.perf_counter()
    for i, name in enumerate(solvers):
        given = dict((options or {}).get(name, {}))
        if resolution is not None and name in takers:
            given.setdefault("resolution", resolution)
        if progress is not None:  # which backend runs now
            progress(Progress("compare", i, len(solvers), "backends",
                              time.perf_counter() - started, f"running {name}"))
        try:
            fronts[name] = solve(problem, name, seed=seed, time_limit=time_limit,
                                 progress=progress, **given)
        except UnsupportedProblemError as exc:
            refused[name] = str(exc)
    return fronts, refused


def _reference(problem: SplitProblem, fronts: Mapping[str, Front]) -> tuple[np.ndarray, str]:
    """The reference front (the non-dominated union of the proven fronts, else of all) and
    what it is."""
    proven = {name: f for name, f in fronts.items()
              if f.guarantee.kind in ("exact", "certified") and f.status.value == "optimal"}
    pool = list((proven or fronts).values())
    kind = ("union of all fronts" if not proven
            else "exact" if any(f.guarantee.kind == "exact" for f in proven.values())
            else "certified by " + ", ".join(proven))
    F = np.concatenate([f.F for f in pool]) if pool else np.zeros((0, problem.n_objectives))
    return (F[nondominated(F, problem.maximise)] if len(F) else F), kind


def _row(name: str, front: Front | None, refused: Mapping[str, str], reference: np.ndarray,
         maximise: Sequence[bool]) -> dict[str, Any]:
    """One backend's row of the table: status, guarantee, size, scores, time."""
    if front is None:
        return {"solver": name, "status": "refused", "guarantee": "", "points": 0,
                "hv_ratio": np.nan, "igd_plus": np.nan, "time_s": np.nan}
    ratio, igd = (front_scores(front.F, reference, maximise) if len(reference)
                  else (np.nan, np.nan))
    return {"solver": name, "status": front.status.value,
            "guarantee": front.guarantee.kind.value, "points": len(front),
            "hv_ratio": ratio, "igd_plus": igd, "time_s": front.stats.time_s}


def _log_scores(front: Front | None, reference: np.ndarray, maximise: Sequence[bool],
                columns: Sequence[int], floors: Sequence[float]) -> dict[str, float]:
    """hv_ratio_log and igd_plus_log: the scores with `columns` on log10."""
    if front is None or not len(reference):
        return {"hv_ratio_log": np.nan, "igd_plus_log": np.nan}
    ratio, igd = front_scores(log_scale(front.F, columns, floors),
                              log_scale(reference, columns, floors), maximise)
    return {"hv_ratio_log": ratio, "igd_plus_log": igd}
