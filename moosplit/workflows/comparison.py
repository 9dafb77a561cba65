"""Comparing backends on one problem: fronts, hypervolume ratio, IGD+, time."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import moocore
import numpy as np
import pandas as pd

from ..errors import UnsupportedProblemError
from ..problems.problem import SplitProblem
from ..results.front import Front
from ..results.pareto import minimisation_form, nondominated
from ..solvers.base import ProgressCallback
from ..solvers.registry import available_solvers, solve


@dataclass(frozen=True)
class Comparison:
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


def _scores(F: np.ndarray, reference: np.ndarray, maximise) -> tuple[float, float]:
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


def compare(problem: SplitProblem, solvers: Sequence[str], *, seed: int = 0,
            time_limit: float | None = None, resolution: float | None = None,
            progress: ProgressCallback | None = None) -> Comparison:
    """Run each backend on `problem` (same seed for all) and score its front.

    `resolution` goes to every backend that takes one (the exact ones: a certified front
    instead of the whole one, and much faster on real profiles); the others run as they
    are. Backends that refuse the problem are listed in `refused` with their reason, not
    dropped silently.

    Example:
        >>> import moosplit
        >>> problem = moosplit.random_problem(5, seed=1)
        >>> result = compare(problem, ["exhaustive", "lagrangian", "cloud_only"])
        >>> float(result.table.set_index("solver").loc["exhaustive", "hv_ratio"])
        1.0
    """
    fronts: dict[str, Front] = {}
    refused: dict[str, str] = {}
    takers = {name for name, cls in available_solvers().items() if cls.supports_resolution}
    for name in solvers:
        options = {"resolution": resolution} if resolution is not None and name in takers \
            else {}
        try:
            fronts[name] = solve(problem, name, seed=seed, time_limit=time_limit,
                                 progress=progress, **options)
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
        ratio, igd = (_scores(front.F, reference, problem.maximise) if len(reference)
                      else (np.nan, np.nan))
        rows.append({"solver": name, "status": front.status.value,
                     "guarantee": front.guarantee.kind, "points": len(front),
                     "hv_ratio": ratio, "igd_plus": igd, "time_s": front.stats.time_s})
    return Comparison(problem, fronts, refused, reference, kind, pd.DataFrame(rows))


def plot_comparison(result: Comparison, path: str) -> None:
    """Draw the fronts on the first two objectives (needs the `plot` extra)."""
    if result.problem.n_objectives < 2:
        raise ValueError("plotting fronts needs at least two objectives")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError("plotting needs matplotlib: pip install 'moosplit[plot]'") from None
    names = result.problem.objectives
    fig, ax = plt.subplots(figsize=(6.4, 4.8))
    if len(result.reference):
        order = np.argsort(result.reference[:, 0])
        ax.step(result.reference[order, 0], result.reference[order, 1], where="post",
                color="0.7", lw=3, label=f"reference ({result.reference_kind})")
    markers = "os^vD<>pxh"
    for k, (name, front) in enumerate(result.fronts.items()):
        if len(front):
            ax.scatter(front.F[:, 0], front.F[:, 1], marker=markers[k % len(markers)], s=22,
                       label=f"{name} ({len(front)})")
    # a baseline far off the front (U2's error, say) would squash the front to a line:
    # an axis spanning orders of magnitude goes symlog
    for j, set_scale in enumerate((ax.set_xscale, ax.set_yscale)):
        values = np.concatenate([f.F[:, j] for f in result.fronts.values()
                                 if len(f) and f.F.shape[1] > j] or [np.zeros(0)])
        positive = np.abs(values[values != 0])
        if positive.size and positive.max() / positive.min() > 50:
            set_scale("symlog", linthresh=float(np.percentile(positive, 10)))
    ax.set_xlabel(names[0])
    ax.set_ylabel(names[1] if len(names) > 1 else "")
    title = result.problem.profile.metadata.get("model", result.problem.profile.source)
    ax.set_title(title + ("" if len(names) <= 2 else f" (first 2 of {len(names)} objectives)"),
                 fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
