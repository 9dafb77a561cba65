"""Comparing backends on one problem: fronts, hypervolume ratio, IGD+, time."""

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


@dataclass(frozen=True)
class SolverComparison:
    """Fronts of several backends on one problem, scored against the best front known.

    reference: the non-dominated union of the exact (or certified) fronts when any backend
    gave one, else of every front. table: one row per backend.
    """

    problem: SplitProblem
    fronts: dict[str, Front]
    refused: dict[str, str]
    reference: np.ndarray
    reference_kind: str
    table: pd.DataFrame


def front_scores(F: np.ndarray, reference: np.ndarray, maximise) -> tuple[float, float]:
    """(hypervolume ratio, IGD+) on objectives normalised by the reference's range.

    The hypervolume reference point is the reference front's nadir plus 10% of its range,
    so the reference front's extreme points count.
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

    Example:
        >>> import moosplit
        >>> problem = moosplit.random_problem(5, seed=1)
        >>> result = compare_solvers(problem, ["exhaustive", "lagrangian", "cloud_only"])
        >>> float(result.table.set_index("solver").loc["exhaustive", "hv_ratio"])
        1.0
    """
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
    exact = [f for f in fronts.values() if f.guarantee.kind in ("exact", "certified")
             and f.status.value == "optimal"]
    pool = exact or list(fronts.values())
    kind = ("union of all fronts" if not exact
            else "exact" if any(f.guarantee.kind == "exact" for f in exact)
            else "certified by " + ", ".join(f.solver for f in exact))
    F = np.concatenate([f.F for f in pool]) if pool else np.zeros((0, problem.n_objectives))
    reference = F[nondominated(F, problem.maximise)] if len(F) else F
    rows = []
    for name in solvers:
        if name in refused:
            rows.append({"solver": name, "status": "refused", "guarantee": "", "points": 0,
                         "hv_ratio": np.nan, "igd_plus": np.nan, "time_s": np.nan})
            continue
        front = fronts[name]
        ratio, igd = (front_scores(front.F, reference, problem.maximise) if len(reference)
                      else (np.nan, np.nan))
        rows.append({"solver": name, "status": front.status.value,
                     "guarantee": front.guarantee.kind.value, "points": len(front),
                     "hv_ratio": ratio, "igd_plus": igd, "time_s": front.stats.time_s})
    return SolverComparison(problem, fronts, refused, reference, kind, pd.DataFrame(rows))
