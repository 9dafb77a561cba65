"""Figures, in one style: fronts against baselines and thresholds (Auto-Split's Figure 5),
sweeps (LMOS's Figures 2-3), backend comparisons, and the dynamic-split policy map.

Every figure is made by :func:`new_figure` and written by :func:`save_figure` (format from
the file name, :func:`figure_format`); axes spanning decades go logarithmic
(:func:`set_scale`). Needs matplotlib (the `plot` extra), imported only when drawing.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import OptionError, ProblemError
from ..problems.quantities import QUANTITIES
from ..results.front import Front
from ..results.pareto import nondominated
from ..results.selection import limit_names
from .comparison import SolverComparison
from .dynamic import Policy
from .sweeps import SweepTable, column_of

FORMATS = (".png", ".svg")
DECADES = 2.0
"""An axis whose positive values span more than this many decades is drawn on a log scale
(symlog when it also holds zeros, linear up to the smallest positive value)."""

FRONT_MARKERS = "os^vD<>ph"
BASELINE_MARKERS = "*PXdH8"


def figure_format(path: str | os.PathLike) -> str:
    """'png' or 'svg' from the file extension; anything else is an OptionError on `path`.

    Example:
        >>> figure_format("fronts.SVG")
        'svg'
    """
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise OptionError("path", "a file name ending in .png or .svg", str(path))
    return suffix[1:]


@contextmanager
def figure_to(path: str | os.PathLike, size: tuple[float, float] = (6.4, 4.8),
              **options: Any) -> Iterator[tuple[Any, Any]]:
    """New (figure, axes) of `size` inches, written to `path` (format from its name) when
    the block ends without an error, and released either way. `options` go to
    matplotlib's ``subplots`` (for example ``layout="constrained"``)."""
    fmt = figure_format(path)
    plt = pyplot()
    fig, ax = plt.subplots(figsize=size, **options)
    try:
        yield fig, ax
        fig.savefig(path, format=fmt)
    finally:
        plt.close(fig)


def pyplot() -> Any:
    """matplotlib.pyplot on the non-interactive Agg backend (needs the `plot` extra)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError("plotting needs matplotlib: pip install 'moosplit[plot]'") from None
    return plt


def set_scale(ax: Any, axis: str, values: Sequence[float] | np.ndarray) -> str:
    """Put `axis` ("x" or "y") on a log scale when its positive values span more than
    DECADES decades (symlog if some are zero or negative); return the scale chosen."""
    values = np.asarray(values, float)
    values = values[np.isfinite(values)]
    positive = values[values > 0]
    setter = ax.set_xscale if axis == "x" else ax.set_yscale
    if positive.size == 0 or positive.max() / positive.min() <= 10**DECADES:
        return "linear"
    if (values <= 0).any():
        setter("symlog", linthresh=float(positive.min()))
        ax.autoscale_view()  # margins in the new scale: a zero keeps only a sliver below
        return "symlog"
    setter("log")
    ax.autoscale_view()
    return "log"


def _label(name: str) -> str:
    quantity = QUANTITIES.get(name)
    if quantity is None:
        return name
    sense = "higher is better" if quantity.maximise else "lower is better"
    return f"{name} ({sense})"


def _values(front: Front, name: str, label: str) -> np.ndarray:
    values = np.asarray(front.evaluation[name], float)
    if len(values) and not np.isfinite(values).all():
        raise ProblemError(f"{label}: {name} cannot be computed for this problem (energy_mj "
                         "needs the profile column edge_mj and a transmit power)")
    return values


def check_axes(x: str, y: str, thresholds: Mapping[str, float | Sequence[float]]
               ) -> list[tuple[str, str, float]]:
    """Check a front plot's axes (two different quantities) and its thresholds (limits of
    :func:`moosplit.results.selection.select` on one of the axes); return each threshold
    as (axis, limit, value)."""
    for axis, name in (("x", x), ("y", y)):
        if name not in QUANTITIES:
            raise OptionError(axis, f"a quantity ({', '.join(QUANTITIES)})", name)
    if x == y:
        raise OptionError("y", f"another quantity than x ({x}): x and y must differ", y)
    lines = []
    pairs = [(key, v) for key, values in thresholds.items()
             for v in (values if isinstance(values, Sequence) else (values,))]
    for key, value in pairs:
        if key not in limit_names():
            raise OptionError("thresholds", "limits among " + ", ".join(limit_names()), key,
                              hint=f"unknown threshold {key!r}")
        quantity = key.split("_", 1)[1]
        if quantity not in (x, y):
            raise OptionError("thresholds", f"on an axis (x {x}, y {y})", key,
                              hint=f"threshold {key} is on {quantity}, which is neither axis")
        lines.append(("x" if quantity == x else "y", key, float(value)))
    return lines


def _draw_front(ax: Any, front: Front, label: str, x: str, y: str, k: int) -> None:
    """All points as markers; the 2-D non-dominated ones joined by a step line."""
    vx, vy = _values(front, x, label), _values(front, y, label)
    marker, color = FRONT_MARKERS[k % len(FRONT_MARKERS)], f"C{k}"
    if len(vx) == 0:
        ax.plot([], [], marker=marker, color=color, ls="-", label=f"{label} (empty)")
        return
    maximise = (QUANTITIES[x].maximise, QUANTITIES[y].maximise)
    keep = nondominated(np.column_stack([vx, vy]), maximise)
    keep = keep[np.argsort(vx[keep], kind="stable")]
    # the attained boundary: a point covers larger x when x is minimised, smaller otherwise
    where = "pre" if maximise[0] else "post"
    ax.step(vx[keep], vy[keep], where=where, color=color, marker=marker, ms=5, lw=1.5,
            label=f"{label} ({len(vx)})")
    rest = np.setdiff1d(np.arange(len(vx)), keep)
    if rest.size:  # dominated in this projection (fronts of three or more objectives)
        ax.scatter(vx[rest], vy[rest], marker=marker, s=18, facecolors="none",
                   edgecolors=color, alpha=0.6)


def _draw_baseline(ax: Any, front: Front, name: str, x: str, y: str, k: int,
                   color: str) -> None:
    marker = BASELINE_MARKERS[k % len(BASELINE_MARKERS)]
    if len(front) == 0:
        ax.scatter([], [], marker=marker, color=color, label=f"{name} (no feasible plan)")
        return
    ax.scatter(_values(front, x, name), _values(front, y, name), marker=marker, s=90,
               color=color, edgecolors="black", linewidths=0.8, zorder=5, label=name)


def _draw_threshold(ax: Any, axis: str, key: str, value: float) -> None:
    text = f"{key} = {value:g}"
    style = {"color": "0.3", "ls": "--", "lw": 1}
    if axis == "y":
        ax.axhline(value, **style)
        ax.annotate(text, xy=(0.99, value), xycoords=("axes fraction", "data"), ha="right",
                    va="bottom", fontsize=8, color="0.3")
    else:
        ax.axvline(value, **style)
        ax.annotate(text, xy=(value, 0.99), xycoords=("data", "axes fraction"), ha="right",
                    va="top", rotation=90, fontsize=8, color="0.3")


def _title(fronts: Sequence[Front]) -> str:
    problem = fronts[0].problem
    model = problem.profile.metadata.get("model", problem.profile.source)
    return f"{model}, {problem.network.bandwidth_mbps:g} Mbit/s"


def plot_fronts(
    fronts: Mapping[str, Front],
    *,
    x: str,
    y: str,
    baselines: Mapping[str, Front] | None = None,
    thresholds: Mapping[str, float | Sequence[float]] | None = None,
    path: str | os.PathLike,
    title: str | None = None,
) -> None:
    """Draw fronts on quantities `x` and `y` to a .png or .svg file (Auto-Split Figure 5).

    Each front is a step line through its points that are non-dominated on (x, y), in the
    quantities' senses, with every point marked (hollow: dominated in this projection of
    a front of more objectives). Baselines are large distinct markers. thresholds:
    limits by the names of :func:`moosplit.results.selection.select` (``max_error``,
    ``max_latency_ms``, ``min_edge_macs``), each with one value or several, drawn as
    labelled dashed lines on the axis of their quantity. An axis spanning more than two
    decades is logarithmic (symlog when it holds zeros). The format follows the
    extension; other extensions: OptionError.

    Example:
        >>> import moosplit, tempfile, os
        >>> problem = moosplit.random_problem(5, seed=1)
        >>> fronts = {"exhaustive": moosplit.solve(problem, "exhaustive")}
        >>> path = os.path.join(tempfile.mkdtemp(), "fronts.svg")
        >>> plot_fronts(fronts, x="latency_ms", y="error", path=path,
        ...             baselines={"cloud_only": moosplit.solve(problem, "cloud_only")},
        ...             thresholds={"max_error": 0.05})
        >>> open(path).read().count("<svg")
        1
    """
    figure_format(path)  # refused before any work
    baselines = dict(baselines or {})
    lines = check_axes(x, y, thresholds or {})
    everything = [*fronts.values(), *baselines.values()]
    if not everything:
        raise OptionError("fronts", "at least one front or baseline (nothing to plot)", 0)
    with figure_to(path) as (fig, ax):
        for k, (label, front) in enumerate(fronts.items()):
            _draw_front(ax, front, label, x, y, k)
        for k, (name, front) in enumerate(baselines.items()):
            _draw_baseline(ax, front, name, x, y, k, f"C{len(fronts) + k}")
        for axis, key, value in lines:
            _draw_threshold(ax, axis, key, value)
        for axis, name in (("x", x), ("y", y)):
            values = [f.evaluation[name] for f in everything if len(f)]
            values += [np.array([v]) for a, _, v in lines if a == axis]
            set_scale(ax, axis, np.concatenate(values) if values else [])
        ax.set_xlabel(_label(x))
        ax.set_ylabel(_label(y))
        ax.set_title(title if title is not None else _title(everything), fontsize=9)
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()


def plot_sweep(table: SweepTable, path: str | os.PathLike, *, y: str = "n_edge",
               title: str | None = None) -> None:
    """Draw a sweep (LMOS Figures 2-3): column `y` of the chosen plans (default `n_edge`,
    the number of edge layers; or a quantity such as `latency_ms`, or `hypervolume`)
    against the first varied setting, one line per value of the other varied settings.

    Combinations without a chosen plan
    (infeasible) leave gaps. Axes spanning more than two decades are logarithmic.
    """
    figure_format(path)  # refused before any work
    frame = table.frame
    if not table.varied:
        raise OptionError("table", "a sweep with at least one varied setting", 0)
    if y not in frame.columns or y in ("status", "edge_nodes", "bits_w", "bits_a", "codec"):
        raise OptionError("y", "a numeric column of the sweep table (n_edge, split, "
                          "hypervolume, points or a quantity)", y)
    xcol, groups = column_of(table.varied[0]), [column_of(v) for v in table.varied[1:]]
    with figure_to(path) as (fig, ax):
        parts = frame.groupby(groups, sort=False) if groups else [((), frame)]
        for k, (key, part) in enumerate(parts):
            key = key if isinstance(key, tuple) else (key,)
            label = ", ".join(f"{g}={v:g}" for g, v in zip(groups, key, strict=True))
            part = part.sort_values(xcol, kind="stable")
            ax.plot(part[xcol].to_numpy(float), part[y].to_numpy(float, na_value=np.nan),
                    marker=FRONT_MARKERS[k % len(FRONT_MARKERS)], label=label or None)
        set_scale(ax, "x", frame[xcol].to_numpy(float))
        set_scale(ax, "y", frame[y].to_numpy(float, na_value=np.nan))
        if y in ("n_edge", "split", "points"):
            ax.yaxis.get_major_locator().set_params(integer=True)
        ax.set_xlabel(xcol)
        ax.set_ylabel("edge nodes (n_edge)" if y == "n_edge" else _label(y))
        pick = table.pick.describe()
        ax.set_title(title if title is not None else
                     f"{table.solver}, plan picked: {pick}", fontsize=9)
        ax.grid(True, alpha=0.3)
        if groups:
            ax.legend(fontsize=8)
        fig.tight_layout()


def check_comparison_plot(path: str | os.PathLike, n_objectives: int) -> None:
    """Refuse, before any solving, a comparison plot that cannot be drawn."""
    figure_format(path)
    if n_objectives < 2:
        raise OptionError("objectives", "at least two to plot fronts", n_objectives)


def plot_comparison(result: SolverComparison, path: str | os.PathLike) -> None:
    """Draw the compared fronts on the first two objectives, over the reference front."""
    problem = result.problem
    check_comparison_plot(path, problem.n_objectives)
    names = problem.objectives
    with figure_to(path) as (fig, ax):
        if len(result.reference):
            order = np.argsort(result.reference[:, 0])
            ax.step(result.reference[order, 0], result.reference[order, 1], where="post",
                    color="0.7", lw=3, label=f"reference ({result.reference_kind})")
        for k, (name, front) in enumerate(result.fronts.items()):
            if len(front):
                ax.scatter(front.F[:, 0], front.F[:, 1], s=22, label=f"{name} ({len(front)})",
                           marker=FRONT_MARKERS[k % len(FRONT_MARKERS)])
        for j, axis in enumerate("xy"):
            values = [f.F[:, j] for f in result.fronts.values() if len(f)]
            set_scale(ax, axis, np.concatenate(values) if values else [])
        ax.set_xlabel(_label(names[0]))
        ax.set_ylabel(_label(names[1]))
        model = problem.profile.metadata.get("model", problem.profile.source)
        ax.set_title(model + ("" if len(names) <= 2 else
                              f" (first 2 of {len(names)} objectives)"), fontsize=9)
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()


def plot_policy(policy: Policy, path: str | os.PathLike) -> None:
    """Draw the dynamic-split policy map (the paper's Figure 2): data rate (log x) by batch
    size (y), coloured by split."""
    from matplotlib import colormaps
    from matplotlib.patches import Patch

    figure_format(path)
    batches = policy.batches
    n_nodes = next(iter(policy.problems.values())).profile.n_nodes
    cmap = colormaps["viridis"]
    with figure_to(path, (7.5, 1.2 + 0.55 * len(batches)), layout="constrained") as (_, ax):
        used: dict[int, object] = {}
        for row, batch in enumerate(batches):
            for interval in policy.intervals[batch]:
                split = interval.plan.split
                colour = cmap(split / max(1, n_nodes))
                used[split] = colour
                width = interval.rate_to_mbps - interval.rate_from_mbps
                ax.broken_barh([(interval.rate_from_mbps, width)], (row - 0.4, 0.8),
                               facecolors=colour, edgecolors="white", linewidth=0.5)
                if width > 0 and math.log(interval.rate_to_mbps / interval.rate_from_mbps) > \
                        0.06 * math.log(max(policy.rates[1] / policy.rates[0], 1.0001)):
                    centre = math.sqrt(interval.rate_from_mbps * interval.rate_to_mbps)
                    ax.text(centre, row, str(split), ha="center", va="center", fontsize=8,
                            color="white" if split / max(1, n_nodes) < 0.6 else "black")
        ax.set_xscale("log")
        lo, hi = policy.rates
        ax.set_xlim(lo, hi if hi > lo else lo * 1.01)
        ax.set_ylim(-0.6, len(batches) - 0.4)
        ax.set_yticks(range(len(batches)), [str(b) for b in batches])
        ax.set_xlabel("data rate (Mbit/s)")
        ax.set_ylabel("batch size")
        model = next(iter(policy.problems.values())).profile.metadata.get("model", "")
        ax.set_title("fastest split" + (f": {model}" if model else ""), fontsize=10)
        handles = [Patch(facecolor=c, label=f"split {s}" + (
            " (cloud-only)" if s == 0 else " (edge-only)" if s == n_nodes else ""))
                   for s, c in sorted(used.items())]
        if handles:
            ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0),
                      fontsize=8, frameon=False)
