"""Figures, in one style: fronts against baselines and thresholds (Auto-Split's Figure 5),
sweeps (LMOS's Figures 2-3), backend comparisons, and the dynamic-split policy map.

Every figure is made by :func:`moosplit.workflows.figures.figure_to` and written as PNG, SVG
or PDF (from the file name). Each takes the figure options of
:class:`~moosplit.workflows.figures.FigureOptions` as keywords: ``size`` (inches) and
``dpi``, and for figures with two quantitative axes ``xlim``, ``ylim``, ``xscale`` and
``yscale`` ("auto": logarithmic when the values span more than two decades). Needs
matplotlib (the `plot` extra), imported only when drawing.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..errors import OptionError, ProblemError
from ..problems.problem import SplitProblem
from ..problems.quantities import QUANTITIES
from ..results.front import Front
from ..results.pareto import nondominated
from ..results.selection import limit_names
from .comparison import SolverComparison
from .dynamic import Policy
from .figures import (
    FONT,
    Axis,
    FigureOptions,
    coincident_offsets,
    distinct_colours,
    draw_points,
    figure_format,
    figure_to,
    note_edges,
    pyplot,
    spread_labels,
    text_colour,
)
from .sweeps import SweepTable, column_of

__all__ = ["check_axes", "check_comparison_plot", "figure_format", "figure_options",
           "plot_comparison", "plot_fronts", "plot_policy", "plot_sweep", "plot_validation",
           "pyplot", "set_scale"]

FRONT_MARKERS = "os^vD<>ph"
BASELINE_MARKERS = "*PXdH8"
AXES_OPTIONS = ("xlim", "ylim", "xscale", "yscale")


def figure_options(options: Mapping[str, Any], *, axes: bool = True) -> FigureOptions:
    """Checked figure options from keywords (`size`, `dpi`, and with `axes` `xlim`,
    `ylim`, `xscale`, `yscale`); an unknown keyword is an OptionError naming it."""
    known = ("size", "dpi", *(AXES_OPTIONS if axes else ()))
    for name in options:
        if name not in known:
            raise OptionError(name, "not given: this figure takes " + ", ".join(known),
                              options[name])
    return FigureOptions(**options)


def set_scale(ax: Any, axis: str, values: Sequence[float] | np.ndarray,
              scale: str = "auto") -> str:
    """Put `axis` ("x" or "y") of `ax` on the scale `values` call for (see
    :class:`moosplit.workflows.figures.Axis`); return the scale chosen."""
    chosen = Axis.of(values, scale, limits=(None, None))
    chosen.apply_scale(ax, axis)
    chosen.apply_limits(ax, axis)
    return chosen.kind


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


def _axes(ax: Any, axes: tuple[Axis, Axis]) -> None:
    for name, axis in zip("xy", axes, strict=True):
        axis.apply_scale(ax, name)


def _limits(ax: Any, axes: tuple[Axis, Axis]) -> None:
    for name, axis in zip("xy", axes, strict=True):
        axis.apply_limits(ax, name)


def _draw_front(ax: Any, axes: tuple[Axis, Axis], front: Front, label: str, x: str, y: str,
                k: int) -> bool:
    """All points as markers; the 2-D non-dominated ones joined by a step line. Returns
    whether a point lies beyond the axis limits (drawn on the edge)."""
    vx, vy = _values(front, x, label), _values(front, y, label)
    marker, color = FRONT_MARKERS[k % len(FRONT_MARKERS)], f"C{k % 10}"
    if len(vx) == 0:
        ax.plot([], [], marker=marker, color=color, ls="-", label=f"{label} (empty)")
        return False
    maximise = (QUANTITIES[x].maximise, QUANTITIES[y].maximise)
    keep = nondominated(np.column_stack([vx, vy]), maximise)
    keep = keep[np.argsort(vx[keep], kind="stable")]
    # the attained boundary: a point covers larger x when x is minimised, smaller otherwise
    where = "pre" if maximise[0] else "post"
    size = max(3.0, 7.0 - 1.5 * k)  # the first front largest: shared points stay visible
    size *= 0.6 if len(vx) > 40 else 1.0  # many points: a line of dots, not a band
    ax.step(axes[0].clip(vx[keep]), axes[1].clip(vy[keep]), where=where, color=color,
            lw=max(0.8, 2.2 - 0.4 * k), label=f"{label} ({len(vx)})", marker=marker, ms=size,
            markevery=[], zorder=2 + k)
    edge = draw_points(ax, axes, vx[keep], vy[keep], marker=marker, s=size**2, color=color,
                       zorder=3 + k)
    rest = np.setdiff1d(np.arange(len(vx)), keep)
    if rest.size:  # dominated in this projection (fronts of three or more objectives)
        edge = np.r_[edge, draw_points(ax, axes, vx[rest], vy[rest], marker=marker, s=18,
                                       facecolors="none", edgecolors=color, alpha=0.6)]
    return bool(edge.any())


def _draw_baselines(ax: Any, axes: tuple[Axis, Axis], baselines: Mapping[str, Front],
                    x: str, y: str, first_colour: int) -> bool:
    """Large distinct markers; baselines at the same place are fanned out around it and
    the legend says which coincide. Returns whether one lies beyond the axis limits."""
    from matplotlib.transforms import offset_copy

    points, owners = [], []
    for name, front in baselines.items():
        for vx, vy in zip(_values(front, x, name), _values(front, y, name), strict=True):
            points.append((axes[0].clip([vx])[0], axes[1].clip([vy])[0]))
            owners.append(name)
    _limits(ax, axes)
    if points:  # positions as they will be drawn, limits included
        ax.update_datalim(np.array(points))
        ax.autoscale_view()
        _limits(ax, axes)
    offsets, leader = coincident_offsets(np.array(points).reshape(-1, 2), ax=ax)
    names = list(baselines)
    edge = False
    for k, (name, front) in enumerate(baselines.items()):
        marker, color = BASELINE_MARKERS[k % len(BASELINE_MARKERS)], f"C{(first_colour + k) % 10}"
        mine = [i for i, owner in enumerate(owners) if owner == name]
        # named after the first baseline drawn there, which keeps its plain label
        first = sorted({owners[leader[i]] for i in mine if owners[leader[i]] != name},
                       key=names.index)
        label = name + (f" (same point as {', '.join(first)})" if first else "")
        style = dict(marker=marker, s=90, color=color, edgecolors="black", linewidths=0.8,
                     zorder=5)
        if not mine:
            ax.scatter([], [], label=f"{name} (no feasible plan)", **style)
            continue
        ax.scatter([], [], label=label, **style)
        vx, vy = _values(front, x, name), _values(front, y, name)
        for i, px, py in zip(mine, vx, vy, strict=True):
            shifted = offset_copy(ax.transData, fig=ax.figure, x=offsets[i][0],
                                  y=offsets[i][1], units="points")
            on_edge = draw_points(ax, axes, np.array([px]), np.array([py]),
                                  transform=shifted, **style)
            if on_edge.any():
                edge = True
                quantity, value = (x, px) if axes[0].side([px])[0] else (y, py)
                ax.annotate(f"{name}: {quantity} {value:.4g}", (axes[0].clip([px])[0],
                                                     axes[1].clip([py])[0]),
                            textcoords="offset points", xytext=(-4, 8), ha="right",
                            fontsize=FONT - 1, annotation_clip=False)
    return edge


def _draw_threshold(ax: Any, axes: tuple[Axis, Axis], axis: str, key: str,
                    value: float) -> Any:
    """A dashed line at a threshold; returns its label (moved later if labels collide)."""
    text = f"{key} = {value:g}"
    style = {"color": "0.3", "ls": "--", "lw": 1}
    box = {"boxstyle": "square,pad=0.1", "facecolor": "white", "edgecolor": "none",
           "alpha": 0.8}
    if axis == "y":
        at = axes[1].clip([value])[0]
        ax.axhline(at, **style)
        return ax.text(0.99, at, text, transform=ax.get_yaxis_transform(), ha="right",
                       va="bottom", fontsize=FONT, color="0.3", bbox=box)
    at = axes[0].clip([value])[0]
    ax.axvline(at, **style)
    return ax.text(at, 0.99, text, transform=ax.get_xaxis_transform(), ha="right", va="top",
                   rotation=90, fontsize=FONT, color="0.3", bbox=box)


def _title(problem: SplitProblem) -> str:
    """Model, network and every limit of the problem."""
    model = problem.profile.metadata.get("model", problem.profile.source)
    network = problem.network
    parts = [model, f"{network.bandwidth_mbps:g} Mbit/s"]
    if network.rtt_ms:
        parts.append(f"rtt {network.rtt_ms:g} ms")
    for name, bound in problem.constraints.items():
        sign = "\u2265" if QUANTITIES[name].maximise else "\u2264"
        shown = (f"{bound / 2**20:g} MiB" if name == "memory_bytes" else f"{bound:g}"
                 + (" ms" if name == "latency_ms" else ""))
        parts.append(f"{'memory' if name == 'memory_bytes' else name} {sign} {shown}")
    return ", ".join(parts)


def _wrapped(title: str, fig: Any) -> str:
    """The title broken into lines that fit the figure's width."""
    import textwrap

    width = fig.get_size_inches()[0] * 72 / (0.55 * (FONT + 1))  # characters per line
    return "\n".join(textwrap.wrap(title, max(20, int(0.8 * width))))


def _legend(ax: Any) -> None:
    """The legend below the axes, in columns, so that it never hides a point and leaves
    the axes the figure's width."""
    handles, labels = ax.get_legend_handles_labels()
    if not handles:
        return
    width = 0.95 * ax.figure.get_size_inches()[0] * 72  # points
    entry = 0.6 * FONT * max(len(label) for label in labels) + 5 * FONT  # text, handle, gap
    columns = max(1, min(len(labels), int(width // entry)))
    ax.figure.legend(handles, labels, loc="outside lower center", ncols=columns,
                     fontsize=FONT, frameon=False, markerscale=0.8)


def plot_fronts(
    fronts: Mapping[str, Front],
    *,
    x: str,
    y: str,
    baselines: Mapping[str, Front] | None = None,
    thresholds: Mapping[str, float | Sequence[float]] | None = None,
    path: str | os.PathLike,
    title: str | None = None,
    **figure: Any,
) -> None:
    """Draw fronts on quantities `x` and `y` to a .png, .svg or .pdf file (Auto-Split
    Figure 5).

    Each front is a step line through its points that are non-dominated on (x, y), in the
    quantities' senses, with every point marked (hollow: dominated in this projection of
    a front of more objectives). Baselines are large distinct markers; baselines at the
    same place are fanned out around it, and the legend says which coincide. thresholds:
    limits by the names of :func:`moosplit.results.selection.select` (``max_error``,
    ``max_latency_ms``, ``min_edge_macs``), each with one value or several, drawn as
    labelled dashed lines on the axis of their quantity; labels are moved apart until none
    overlaps. The title gives the model, the network and every limit of the problem.
    figure: the options of :class:`~moosplit.workflows.figures.FigureOptions` (size, dpi,
    xlim, ylim, xscale, yscale); a point far from all others, or beyond a given limit, is
    drawn on the axis edge with a marker pointing outwards (baselines also with their
    value), and the legend says so. Bad options raise OptionError before any drawing.

    Example:
        >>> import moosplit, tempfile, os
        >>> problem = moosplit.random_problem(5, seed=1)
        >>> fronts = {"exhaustive": moosplit.solve(problem, "exhaustive")}
        >>> path = os.path.join(tempfile.mkdtemp(), "fronts.pdf")
        >>> plot_fronts(fronts, x="latency_ms", y="error", path=path, size=(3.5, 2.6),
        ...             baselines={"cloud_only": moosplit.solve(problem, "cloud_only")},
        ...             thresholds={"max_error": 0.05})
        >>> open(path, "rb").read(5)
        b'%PDF-'
    """
    options = figure_options(figure)
    figure_format(path)  # refused before any work
    baselines = dict(baselines or {})
    lines = check_axes(x, y, thresholds or {})
    everything = [*fronts.values(), *baselines.values()]
    if not everything:
        raise OptionError("fronts", "at least one front or baseline (nothing to plot)", 0)
    for label, front in [*fronts.items(), *baselines.items()]:
        _values(front, x, label), _values(front, y, label)
    axes = tuple(Axis.of(np.concatenate([np.asarray(f.evaluation[name], float)
                                         for f in everything]
                                        + [np.array([v]) for a, _, v in lines if a == axis]),
                         getattr(options, f"{axis}scale"), getattr(options, f"{axis}lim"))
                 for axis, name in (("x", x), ("y", y)))
    with figure_to(path, options, (7.0, 4.6)) as (fig, ax):
        _axes(ax, axes)
        edge = False
        for k, (label, front) in enumerate(fronts.items()):
            edge |= _draw_front(ax, axes, front, label, x, y, k)
        texts = {"x": [], "y": []}
        for axis, key, value in lines:
            texts[axis].append(_draw_threshold(ax, axes, axis, key, value))
        edge |= _draw_baselines(ax, axes, baselines, x, y, len(fronts))
        _limits(ax, axes)
        if edge:
            note_edges(ax)
        ax.set_xlabel(_label(x))
        ax.set_ylabel(_label(y))
        ax.set_title(_wrapped(title if title is not None else _title(everything[0].problem),
                              fig), fontsize=FONT + 1)
        ax.grid(True, which="major", alpha=0.3)
        _legend(ax)
        spread_labels(fig, ax, texts["y"], texts["x"])


def plot_sweep(table: SweepTable, path: str | os.PathLike, *, y: str = "n_edge",
               title: str | None = None, **figure: Any) -> None:
    """Draw a sweep (LMOS Figures 2-3): column `y` of the chosen plans (default `n_edge`,
    the number of edge layers; or a quantity such as `latency_ms`, or `hypervolume`)
    against the first varied setting, one line per value of the other varied settings.

    Combinations without a chosen plan (infeasible) leave gaps. Lines that coincide stay
    visible: each has its own marker, line style and marker size (the first largest).
    figure: the options of :class:`~moosplit.workflows.figures.FigureOptions`.
    """
    from matplotlib.ticker import FuncFormatter

    options = figure_options(figure)
    figure_format(path)  # refused before any work
    frame = table.frame
    if not table.varied:
        raise OptionError("table", "a sweep with at least one varied setting", 0)
    if y not in frame.columns or not pd.api.types.is_numeric_dtype(frame[y]):
        raise OptionError("y", "a numeric column of the sweep table (n_edge, split, "
                          "hypervolume, points or a quantity)", y)
    xcol, groups = column_of(table.varied[0]), [column_of(v) for v in table.varied[1:]]
    xs, ys = frame[xcol].to_numpy(float), frame[y].to_numpy(float, na_value=np.nan)
    axes = (Axis.of(xs, options.xscale, options.xlim), Axis.of(ys, options.yscale,
                                                                options.ylim))
    styles = ("-", "--", "-.", ":")
    with figure_to(path, options, (7.0, 4.4)) as (fig, ax):
        _axes(ax, axes)
        parts = list(frame.groupby(groups, sort=False)) if groups else [((), frame)]
        edge = False
        for k, (key, part) in enumerate(parts):
            key = key if isinstance(key, tuple) else (key,)
            label = ", ".join(f"{g}={v:g}" for g, v in zip(groups, key, strict=True))
            part = part.sort_values(xcol, kind="stable")
            px, py = part[xcol].to_numpy(float), part[y].to_numpy(float, na_value=np.nan)
            size = max(3.0, 9.0 - 6.0 * k / max(1, len(parts) - 1))  # later ones on top
            marker = FRONT_MARKERS[k % len(FRONT_MARKERS)]
            ax.plot(axes[0].clip(px), axes[1].clip(py), color=f"C{k % 10}",
                    ls=styles[k % len(styles)], marker=marker, ms=size, lw=1.2,
                    label=label or None, zorder=2 + k)
            beyond = (axes[0].side(px) != 0) | (axes[1].side(py) != 0)
            if beyond.any():
                edge = True
                draw_points(ax, axes, px[beyond], py[beyond], color=f"C{k % 10}", s=40,
                            zorder=3 + k)
        _limits(ax, axes)
        if axes[0].kind == "log":  # settings read better as plain numbers: 0.5, 2, 100
            ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
        if y in ("n_edge", "split", "points") and axes[1].kind == "linear":
            ax.yaxis.get_major_locator().set_params(integer=True)
        if edge:
            note_edges(ax)
        ax.set_xlabel(xcol)
        ax.set_ylabel("edge nodes (n_edge)" if y == "n_edge" else _label(y))
        ax.set_title(title if title is not None else
                     f"{table.solver}, plan picked: {table.pick.describe()}",
                     fontsize=FONT + 1)
        ax.grid(True, alpha=0.3)
        if groups or edge:
            _legend(ax)


def check_comparison_plot(path: str | os.PathLike, n_objectives: int,
                          **figure: Any) -> FigureOptions:
    """Refuse, before any solving, a comparison plot that cannot be drawn; return its
    checked figure options."""
    options = figure_options(figure)
    figure_format(path)
    if n_objectives < 2:
        raise OptionError("objectives", "at least two to plot fronts", n_objectives)
    return options


def plot_comparison(result: SolverComparison, path: str | os.PathLike, **figure: Any) -> None:
    """Draw the compared fronts on the first two objectives, over the reference front.

    The axes follow the shared rules (log or symlog when the values span decades, far
    outliers drawn on the edge); figure: the options of
    :class:`~moosplit.workflows.figures.FigureOptions`.
    """
    problem = result.problem
    options = check_comparison_plot(path, problem.n_objectives, **figure)
    names = problem.objectives
    drawn = [f.F[:, :2] for f in result.fronts.values() if len(f)]
    if len(result.reference):
        drawn.append(result.reference[:, :2])
    points = np.concatenate(drawn) if drawn else np.zeros((0, 2))
    axes = (Axis.of(points[:, 0], options.xscale, options.xlim),
            Axis.of(points[:, 1], options.yscale, options.ylim))
    with figure_to(path, options, (7.0, 4.6)) as (fig, ax):
        _axes(ax, axes)
        if len(result.reference):
            order = np.argsort(result.reference[:, 0])
            ax.step(axes[0].clip(result.reference[order, 0]),
                    axes[1].clip(result.reference[order, 1]), where="post", color="0.75",
                    lw=3, marker="o", ms=13 if len(order) <= 10 else 0, zorder=1,
                    label=f"reference ({result.reference_kind})")
        edge = False
        drawn = [(name, front) for name, front in result.fronts.items() if len(front)]
        # each backend smaller than the one before, so that shared points show as nested
        # marks; smaller throughout when a front is dense (the same factor for all, or a
        # dense front drawn first would shrink below the ones drawn over it)
        dense = 0.6 if max((len(front) for _, front in drawn), default=0) > 40 else 1.0
        for k, (name, front) in enumerate(drawn):
            size = (10.0 - 6.5 * k / max(1, len(drawn) - 1)) * dense
            edge |= draw_points(ax, axes, front.F[:, 0], front.F[:, 1], s=size**2,
                                color=f"C{k % 10}", label=f"{name} ({len(front)})",
                                marker=FRONT_MARKERS[k % len(FRONT_MARKERS)],
                                edgecolors="white", linewidths=0.5, zorder=2 + k).any()
        _limits(ax, axes)
        if edge:
            note_edges(ax)
        ax.set_xlabel(_label(names[0]))
        ax.set_ylabel(_label(names[1]))
        ax.set_title(_wrapped(_title(problem) + ("" if len(names) <= 2 else
                                                 f" (first 2 of {len(names)} objectives)"),
                              fig), fontsize=FONT + 1)
        ax.grid(True, which="major", alpha=0.3)
        _legend(ax)


def plot_policy(policy: Policy, path: str | os.PathLike, **figure: Any) -> None:
    """Draw the dynamic-split policy map (the paper's Figure 2): data rate (log x) by batch
    size (y), coloured by split.

    Every split has its own colour from a qualitative palette (hatched after ten), so
    neighbouring splits such as 58 and 59 never share one; wide enough bars are labelled
    with their split, and the legend lists them all. figure: ``size`` and ``dpi``.
    """
    from matplotlib.patches import Patch
    from matplotlib.ticker import FuncFormatter

    options = figure_options(figure, axes=False)
    figure_format(path)
    batches = policy.batches
    n_nodes = next(iter(policy.problems.values())).profile.n_nodes
    splits = sorted({i.plan.split for b in batches for i in policy.intervals[b]})
    styles = dict(zip(splits, distinct_colours(len(splits)), strict=True))
    lo, hi = policy.rates
    with figure_to(path, options, (7.5, 1.4 + 0.55 * len(batches))) as (_, ax):
        for row, batch in enumerate(batches):
            for interval in policy.intervals[batch]:
                split = interval.plan.split
                colour, hatch = styles[split]
                width = interval.rate_to_mbps - interval.rate_from_mbps
                ax.broken_barh([(interval.rate_from_mbps, width)], (row - 0.4, 0.8),
                               facecolors=colour, edgecolors="white", linewidth=0.5,
                               hatch=hatch)
                if width > 0 and math.log(interval.rate_to_mbps / interval.rate_from_mbps) > \
                        0.06 * math.log(max(hi / lo, 1.0001)):
                    centre = math.sqrt(interval.rate_from_mbps * interval.rate_to_mbps)
                    ax.text(centre, row, str(split), ha="center", va="center", fontsize=FONT,
                            color=text_colour(colour),
                            bbox={"boxstyle": "round,pad=0.15", "facecolor": colour,
                                  "edgecolor": "none"} if hatch else None)
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
        ax.set_xlim(lo, hi if hi > lo else lo * 1.01)
        ax.set_ylim(-0.6, len(batches) - 0.4)
        ax.set_yticks(range(len(batches)), [str(b) for b in batches])
        ax.set_xlabel("data rate (Mbit/s)")
        ax.set_ylabel("batch size")
        model = next(iter(policy.problems.values())).profile.metadata.get("model", "")
        ax.set_title("fastest split" + (f": {model}" if model else ""), fontsize=FONT + 2)
        handles = [Patch(facecolor=styles[s][0], hatch=styles[s][1], edgecolor="white",
                         label=f"split {s}" + (" (cloud-only)" if s == 0 else
                                               " (edge-only)" if s == n_nodes else ""))
                   for s in splits]
        if handles:
            ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0),
                      fontsize=FONT, frameon=False, borderaxespad=0.0)


def plot_validation(labels: Sequence[str], predicted: Sequence[float],
                    measured: Sequence[float], path: str | os.PathLike, *,
                    title: str = "", **figure: Any) -> None:
    """Measured against predicted end-to-end latency (ms) of validated plans (`moosplit
    validate --front`), one labelled point per plan, over the line where they are equal.

    figure: the options of :class:`~moosplit.workflows.figures.FigureOptions`; both axes
    share one scale and limits, so that the diagonal is the 45-degree line.
    """
    options = figure_options(figure)
    figure_format(path)
    x, y = np.asarray(predicted, float), np.asarray(measured, float)
    if not (len(labels) == len(x) == len(y)) or not len(x):
        raise OptionError("labels", "one label per plan, with at least one plan",
                          list(labels))
    both = np.concatenate([x, y])
    axis = Axis.of(both, options.xscale, options.xlim or options.ylim)
    with figure_to(path, options, (3.6, 3.4)) as (fig, ax):
        _axes(ax, (axis, axis))
        lo, hi = float(both.min()), float(both.max())
        ax.plot([lo, hi], [lo, hi], color="0.7", lw=1, zorder=1, label="measured = predicted")
        draw_points(ax, (axis, axis), x, y, s=36, color="C0", marker="o", zorder=2,
                    label="plan")
        texts = [ax.annotate(label, (px, py), xytext=(4, 4), textcoords="offset points",
                             fontsize=FONT) for label, px, py in zip(labels, axis.clip(x),
                                                                     axis.clip(y), strict=True)]
        _limits(ax, (axis, axis))
        spread_labels(fig, ax, texts)
        ax.set_xlabel("predicted end-to-end latency (ms)")
        ax.set_ylabel("measured end-to-end latency (ms)")
        if title:
            ax.set_title(_wrapped(title, fig), fontsize=FONT + 1)
        ax.grid(True, which="major", alpha=0.3)
        _legend(ax)
