"""Figures: fronts against baselines and thresholds (Auto-Split's Figure 5), and sweeps
(LMOS's Figures 2-3). Needs matplotlib (the `plot` extra), imported only when drawing.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..problems.quantities import QUANTITIES
from ..results.front import Front
from ..results.pareto import nondominated
from ..results.selection import limit_names
from .sweeps import SweepTable, column_of

FORMATS = (".png", ".svg")
DECADES = 2.0
"""An axis whose positive values span more than this many decades is drawn on a log scale
(symlog when it also holds zeros, linear up to the smallest positive value)."""

FRONT_MARKERS = "os^vD<>ph"
BASELINE_MARKERS = "*PXdH8"


def figure_format(path: str | os.PathLike) -> str:
    """'png' or 'svg' from the file extension; anything else is a ValueError.

    Example:
        >>> figure_format("fronts.SVG")
        'svg'
    """
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(f"figure path must end in .png or .svg, got {str(path)!r}")
    return suffix[1:]


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
        raise ValueError(f"{label}: {name} cannot be computed for this problem (energy_mj "
                         "needs the profile column edge_mj and a transmit power)")
    return values


def _check_thresholds(thresholds: Mapping[str, float | Sequence[float]], x: str,
                      y: str) -> list[tuple]:
    lines = []
    pairs = [(key, v) for key, values in thresholds.items()
             for v in (values if isinstance(values, Sequence) else (values,))]
    for key, value in pairs:
        if key not in limit_names():
            raise ValueError(f"unknown threshold {key!r}; valid: {', '.join(limit_names())}")
        quantity = key.split("_", 1)[1]
        if quantity not in (x, y):
            raise ValueError(f"threshold {key} is on {quantity}, which is neither axis "
                             f"(x {x}, y {y})")
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
    extension; other extensions: ValueError.

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
    fmt = figure_format(path)
    baselines = dict(baselines or {})
    for name in (x, y):
        if name not in QUANTITIES:
            raise ValueError(f"axes must be quantities ({', '.join(QUANTITIES)}), got {name!r}")
    if x == y:
        raise ValueError(f"x and y must differ, both are {x!r}")
    lines = _check_thresholds(thresholds or {}, x, y)
    everything = [*fronts.values(), *baselines.values()]
    if not everything:
        raise ValueError("nothing to plot: give at least one front or baseline")
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.8))
    try:
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
        fig.savefig(path, format=fmt)
    finally:
        plt.close(fig)


def plot_sweep(table: SweepTable, path: str | os.PathLike, *, y: str = "n_edge",
               title: str | None = None) -> None:
    """Draw a sweep (LMOS Figures 2-3): column `y` of the chosen plans (default `n_edge`,
    the number of edge layers; or a quantity such as `latency_ms`, or `hypervolume`)
    against the first varied setting, one line per value of the other varied settings.

    Combinations without a chosen plan
    (infeasible) leave gaps. Axes spanning more than two decades are logarithmic.
    """
    fmt = figure_format(path)
    frame = table.frame
    if not table.varied:
        raise ValueError("plotting a sweep needs at least one varied setting")
    if y not in frame.columns or y in ("status", "edge_nodes", "bits_w", "bits_a", "codec"):
        raise ValueError(f"y must be a numeric column of the sweep table (n_edge, split, "
                         f"hypervolume, points or a quantity), got {y!r}")
    xcol, groups = column_of(table.varied[0]), [column_of(v) for v in table.varied[1:]]
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.8))
    try:
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
        fig.savefig(path, format=fmt)
    finally:
        plt.close(fig)
