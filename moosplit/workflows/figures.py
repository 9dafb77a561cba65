"""The one figure style every plot of :mod:`moosplit.workflows.plots` shares.

- :class:`FigureOptions`: what a reader of a paper cares about, checked once: size in
  inches, dpi, axis limits and scales. :func:`figure_to` makes a figure of that size and
  writes it as PNG, SVG or PDF (from the file name).
- :class:`Axis`: one axis's scale and limits, chosen from everything drawn on it: linear,
  log (zeros drawn one decade below the smallest value, on a tick labelled 0) or symlog
  (zero one decade below a power-of-ten threshold, so the 0 and 10^k ticks never meet);
  an outlier far from everything else is left outside the limits and drawn on the edge,
  so it does not squeeze the rest.
- :func:`spread_labels`: labels of lines (thresholds) moved apart until none overlaps.
- :func:`coincident_offsets`: markers at (nearly) the same place fanned out around it.
- :func:`distinct_colours`: qualitative colours, neighbours of a hue apart.

Needs matplotlib (the `plot` extra), imported only when drawing.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import OptionError
from ..validation import Choice, Number

FORMATS = (".png", ".svg", ".pdf")
SCALES = ("auto", "linear", "log", "symlog")
DECADES = 2.0
"""With scale "auto", an axis whose positive values span more than this many decades is
logarithmic (symlog when it also holds zeros)."""

DEFAULT_DPI = 200.0
SIZE_RANGE = (1.0, 40.0)  # inches, each side
OUTLIER_COUNT = 0.05  # at most this share of the points (and at least one) can be outliers
OUTLIER_GAP = 2.0  # ... when their gap to the rest is this many times the rest's span
FONT = 8  # points: labels, legends, annotations
STYLE = {"font.size": FONT + 1, "axes.titlesize": FONT + 1, "axes.labelsize": FONT + 1,
         "xtick.labelsize": FONT, "ytick.labelsize": FONT, "legend.fontsize": FONT,
         "svg.hashsalt": "moosplit", "pdf.fonttype": 42}
"""Font sizes a printed page reads at 1:1, and output that does not change from run to run
(SVG ids) and embeds fonts as TrueType (PDF)."""


def figure_format(path: str | os.PathLike) -> str:
    """'png', 'svg' or 'pdf' from the file extension; anything else is an OptionError on
    `path`.

    Example:
        >>> figure_format("fronts.PDF")
        'pdf'
    """
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise OptionError("path", "a file name ending in .png, .svg or .pdf", str(path))
    return suffix[1:]


def _limits(name: str, value: object) -> tuple[float | None, float | None] | None:
    """(lo, hi) with either side None (free), finite, lo < hi; None for no limits."""
    expected = "(lo, hi), each a finite number or None, with lo < hi"
    if value is None:
        return None
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or len(value) != 2:
        raise OptionError(name, expected, value)
    side = Number(optional=True)
    if not all(side.accepts(v) for v in value):
        raise OptionError(name, expected, value)
    lo, hi = (side(name, v) for v in value)
    if lo is not None and hi is not None and lo >= hi:
        raise OptionError(name, expected, value)
    return lo, hi


@dataclass(frozen=True, kw_only=True)
class FigureOptions:
    """How a figure is made, checked at construction (OptionError naming the parameter).

    size: (width, height) in inches, each 1..40; None: the figure's own default.
    dpi: dots per inch of a PNG (SVG and PDF are vector; their size is `size`).
    xlim, ylim: (lo, hi), either side None (chosen from the data). Points beyond a limit
        are drawn on the axis edge, pointing outwards.
    xscale, yscale: "auto" (log when the positive values span more than two decades,
        symlog when zeros are among them), "linear", "log" or "symlog".

    Example:
        >>> FigureOptions(size=(3.5, 2.6), dpi=300).dpi
        300.0
    """

    size: tuple[float, float] | None = None
    dpi: float = DEFAULT_DPI
    xlim: tuple[float | None, float | None] | None = None
    ylim: tuple[float | None, float | None] | None = None
    xscale: str = "auto"
    yscale: str = "auto"

    def __post_init__(self) -> None:
        if self.size is not None:
            lo, hi = SIZE_RANGE
            if (isinstance(self.size, (str, bytes)) or not isinstance(self.size, Sequence)
                    or len(self.size) != 2):
                raise OptionError("size", f"(width, height) in inches, each {lo:g}..{hi:g}",
                                  self.size)
            side = Number(at_least=lo, at_most=hi, unit="inches")
            object.__setattr__(self, "size", tuple(side("size", v) for v in self.size))
        object.__setattr__(self, "dpi", Number(at_least=20, at_most=2400)("dpi", self.dpi))
        for name in ("xlim", "ylim"):
            object.__setattr__(self, name, _limits(name, getattr(self, name)))
        for name in ("xscale", "yscale"):
            Choice(SCALES)(name, getattr(self, name))
            limits = getattr(self, name[0] + "lim")
            if getattr(self, name) == "log" and limits and limits[0] is not None \
                    and limits[0] <= 0:
                raise OptionError(name[0] + "lim", "> 0 at its low end on a log scale",
                                  limits)


@contextmanager
def figure_to(path: str | os.PathLike, options: FigureOptions,
              default_size: tuple[float, float]) -> Iterator[tuple[Any, Any]]:
    """New (figure, axes) with constrained layout, of `options.size` (or `default_size`)
    inches, written to `path` (PNG, SVG or PDF from its name; PNG at `options.dpi`) when
    the block ends without an error, and released either way."""
    fmt = figure_format(path)
    plt = pyplot()
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=options.size or default_size, layout="constrained")
        fig.get_layout_engine().set(w_pad=0.12, h_pad=0.08)  # room for markers on an edge
        try:
            yield fig, ax
            fig.savefig(path, format=fmt, dpi=options.dpi)
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


# ------------------------------------------------------------------ axes
def _decade_below(value: float) -> float:
    return 10.0 ** math.floor(math.log10(value))


def spans_decades(values: Sequence[float] | np.ndarray) -> bool:
    """Whether the positive finite values span more than DECADES decades: the rule that
    puts an axis on a log scale, and that has `compare` score a quantity on log10 too."""
    v = np.asarray(values, float)
    positive = v[np.isfinite(v) & (v > 0)]
    return bool(positive.size) and bool(positive.max() / positive.min() > 10**DECADES)


@dataclass(frozen=True)
class Axis:
    """One axis: its scale and limits, and where values are drawn on it.

    kind: "linear", "log" or "symlog". floor: on a log axis, where values <= 0 are drawn
    (a decade below the smallest positive value; its tick reads 0). linthresh: on a
    symlog axis, the power of ten where the linear part around 0 ends. limits: (lo, hi),
    a side None when matplotlib chooses it; values beyond are drawn on the edge.
    """

    kind: str
    floor: float | None = None
    linthresh: float | None = None
    limits: tuple[float | None, float | None] = (None, None)
    outliers: bool = field(default=False)  # limits set to leave out far outliers

    @classmethod
    def of(cls, values: Sequence[float] | np.ndarray, scale: str = "auto",
           limits: tuple[float | None, float | None] | None = None) -> Axis:
        """The axis for everything drawn on it (`values`), at the requested scale, within
        the given limits (None: from the values, leaving out far outliers)."""
        v = np.asarray(values, float)
        v = v[np.isfinite(v)]
        positive = v[v > 0]
        kind = scale
        if scale == "auto":
            kind = "linear" if not spans_decades(v) else "symlog" if (v <= 0).any() else "log"
        if kind in ("log", "symlog") and positive.size == 0:
            kind = "linear"  # nothing to put on decades
        floor = linthresh = None
        if kind == "log" and (v <= 0).any():
            floor = _decade_below(positive.min()) / 10
        if kind == "symlog":
            linthresh = _decade_below(positive.min())
        axis = cls(kind, floor, linthresh)
        if limits is not None:
            return cls(kind, floor, linthresh, limits)
        return cls(kind, floor, linthresh, *axis._outlier_limits(v))

    # ----------------------------------------------------------- positions
    def place(self, values: Sequence[float] | np.ndarray) -> np.ndarray:
        """Where values are drawn: on a log axis, values <= 0 at the floor."""
        v = np.asarray(values, float)
        if self.floor is not None:
            v = np.where(v > 0, v, self.floor)
        return v

    def side(self, values: Sequence[float] | np.ndarray) -> np.ndarray:
        """-1 below the low limit, +1 above the high one, 0 within (after `place`)."""
        v = self.place(values)
        lo, hi = self.limits
        out = np.zeros(v.shape, int)
        if lo is not None:
            out[v < lo] = -1
        if hi is not None:
            out[v > hi] = 1
        return out

    def clip(self, values: Sequence[float] | np.ndarray) -> np.ndarray:
        """Drawn positions, those beyond a limit moved onto it."""
        v = self.place(values)
        lo, hi = self.limits
        return np.clip(v, -np.inf if lo is None else lo, np.inf if hi is None else hi)

    def _t(self, v: np.ndarray) -> np.ndarray:
        """Positions in the axis's own units (decades on log axes), to measure gaps."""
        if self.kind == "log":
            return np.log10(self.place(v))
        if self.kind == "symlog":
            a = np.abs(v) / self.linthresh
            return np.sign(v) * np.where(a > 1, 1 + np.log10(np.maximum(a, 1)), a)
        return v

    def _t_inverse(self, t: float) -> float:
        if self.kind == "log":
            return 10.0**t
        if self.kind == "symlog":
            a = abs(t)
            return math.copysign(self.linthresh * (10 ** (a - 1) if a > 1 else a), t)
        return t

    def _outlier_limits(self, v: np.ndarray) -> tuple[tuple[float | None, float | None],
                                                        bool]:
        """Limits that leave out a few points far from all the others: at most
        OUTLIER_COUNT of the points (at least one), beyond a gap OUTLIER_GAP times the
        span of the rest. The rest then fills the axis."""
        if v.size < 3:
            return (None, None), False
        t = np.sort(self._t(v))
        most = max(1, int(OUTLIER_COUNT * t.size))
        lo_cut, hi_cut = 0, t.size  # the rest is t[lo_cut:hi_cut]
        for k in range(1, most + 1):  # k points above the gap
            rest = t[:t.size - k]
            if rest.size >= 2 and rest[-1] > rest[0] \
                    and t[t.size - k] - rest[-1] > OUTLIER_GAP * (rest[-1] - rest[0]):
                hi_cut = t.size - k
        for k in range(1, most + 1):  # k points below it
            rest = t[k:hi_cut]
            if rest.size >= 2 and rest[-1] > rest[0] \
                    and rest[0] - t[k - 1] > OUTLIER_GAP * (rest[-1] - rest[0]):
                lo_cut = k
        if (lo_cut, hi_cut) == (0, t.size):
            return (None, None), False
        rest = t[lo_cut:hi_cut]
        pad = 0.12 * (rest[-1] - rest[0])
        lo = self._t_inverse(rest[0] - pad) if lo_cut else None
        hi = self._t_inverse(rest[-1] + pad) if hi_cut < t.size else None
        return (lo, hi), True

    # ----------------------------------------------------------- drawing
    def apply_scale(self, ax: Any, axis: str) -> None:
        """Set the scale and ticks of `axis` ("x" or "y") of `ax` (before drawing)."""
        from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator

        target = ax.xaxis if axis == "x" else ax.yaxis
        setter = ax.set_xscale if axis == "x" else ax.set_yscale
        if self.kind == "symlog":
            setter("symlog", linthresh=self.linthresh, linscale=1.0)
            target.set_major_locator(_decades(self.linthresh))
        elif self.kind == "log":
            setter("log")
            if self.floor is not None:  # a tick at the floor reads 0; decades above it
                lows = LogLocator()
                floor = self.floor

                class _WithZero(FixedLocator):
                    def __call__(self) -> Any:
                        lo, hi = target.get_view_interval()
                        ticks = [t for t in lows.tick_values(lo, hi) if t > floor * 5]
                        return [floor, *ticks]

                target.set_major_locator(_WithZero([]))
                default = target.get_major_formatter()
                target.set_major_formatter(FuncFormatter(
                    lambda value, pos: "0" if math.isclose(value, floor) else default(
                        value, pos)))

    def apply_limits(self, ax: Any, axis: str) -> None:
        """Fit `axis` to what is drawn, then fix the limits that are set (after drawing)."""
        ax.autoscale_view(scalex=axis == "x", scaley=axis == "y")
        lo, hi = self.limits
        if lo is not None or hi is not None:
            (ax.set_xlim if axis == "x" else ax.set_ylim)(lo, hi)


def _decades(linthresh: float) -> Any:
    """A locator with ticks at 0 and at powers of ten from `linthresh` up, every k-th
    decade when they would not fit, so that no two labels meet (0 is a decade below the
    first power of ten)."""
    from matplotlib.ticker import Locator

    class Decades(Locator):
        def __call__(self) -> list[float]:
            lo, hi = self.axis.get_view_interval()
            return self.tick_values(lo, hi)

        def tick_values(self, vmin: float, vmax: float) -> list[float]:
            lo, hi = sorted((vmin, vmax))
            first = round(math.log10(linthresh))
            last = math.floor(math.log10(hi)) if hi > 0 else first - 1
            room = max(2, self.axis.get_tick_space() - 1) if self.axis is not None else 8
            step = max(1, math.ceil((last - first + 1) / room))
            ticks = [0.0] if lo <= 0 <= hi else []
            return ticks + [10.0**k for k in range(first, last + 1, step) if 10.0**k >= lo]

    return Decades()


EDGE_MARKERS = {("x", 1): ">", ("x", -1): "<", ("y", 1): "^", ("y", -1): "v"}


def draw_points(ax: Any, axes: tuple[Axis, Axis], x: np.ndarray, y: np.ndarray,
                **style: Any) -> np.ndarray:
    """Scatter points within the limits; those beyond are drawn on the edge with a marker
    pointing outwards (same colour). Returns the mask of points drawn on an edge."""
    sx, sy = axes[0].side(x), axes[1].side(y)
    cx, cy = axes[0].clip(x), axes[1].clip(y)
    inside = (sx == 0) & (sy == 0)
    if inside.any():
        ax.scatter(cx[inside], cy[inside], **style)
    edge_style = {k: v for k, v in style.items() if k not in ("marker", "label")}
    edge_style.setdefault("s", 40)
    for i in np.flatnonzero(~inside):
        key = ("x", int(sx[i])) if sx[i] else ("y", int(sy[i]))
        ax.scatter([cx[i]], [cy[i]], marker=EDGE_MARKERS[key], clip_on=False, **edge_style)
    if not inside.any() and "label" in style:  # the legend still needs the series
        ax.scatter([], [], **style)
    return ~inside


def note_edges(ax: Any) -> None:
    """A legend entry saying what edge markers mean."""
    ax.scatter([], [], marker=">", color="0.4", s=30,
               label="beyond the axis limits: drawn on the edge")


# ------------------------------------------------------------------ labels and markers
def _pack(starts: list[float], sizes: list[float], lo: float, hi: float,
          gap: float) -> list[float]:
    """New starts of intervals (sorted by start) so that none overlaps another, each
    moved as little as this greedy packing allows, within [lo, hi] where they fit."""
    out = list(starts)
    for i in range(1, len(out)):  # push up past the one below
        out[i] = max(out[i], out[i - 1] + sizes[i - 1] + gap)
    if out and out[-1] + sizes[-1] > hi:  # then down from the top, if the stack overflows
        out[-1] = hi - sizes[-1]
        for i in range(len(out) - 2, -1, -1):
            out[i] = min(out[i], out[i + 1] - sizes[i] - gap)
    if out and out[0] < lo:  # too many to fit: start at the bottom, overflow the top
        shift = lo - out[0]
        out = [v + shift for v in out]
    return out


def _move(text: Any, dx: float, dy: float) -> None:
    """Move a text by (dx, dy) display pixels, in its own coordinates."""
    transform = text.get_transform()
    here = transform.transform(text.get_position())
    text.set_position(tuple(transform.inverted().transform(here + np.array([dx, dy]))))


def _overlap(a: Any, b: Any) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


def spread_labels(fig: Any, ax: Any, along_y: Sequence[Any], along_x: Sequence[Any] = (),
                  gap_px: float = 2.0) -> None:
    """Move labels until none overlaps another: `along_y` (labels of horizontal lines, at
    the right edge) up or down, `along_x` (rotated labels of vertical lines, at the top)
    left or right, each as little as possible and within the axes where they fit; a label
    of a vertical line that still meets another label moves down its line to the first
    free place. Call once everything else is drawn (the layout is final)."""
    if len(along_y) + len(along_x) < 2:
        return
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    for texts, j, lo, hi in ((along_y, 1, frame.y0, frame.y1),
                             (along_x, 0, frame.x0, frame.x1)):
        boxes = sorted(((t.get_window_extent(renderer), t) for t in texts),
                       key=lambda item: item[0].get_points()[0][j])
        starts = [box.get_points()[0][j] for box, _ in boxes]
        sizes = [box.get_points()[1][j] - box.get_points()[0][j] for box, _ in boxes]
        for (_, text), old, new in zip(boxes, starts, _pack(starts, sizes, lo, hi, gap_px),
                                         strict=True):
            _move(text, *((0.0, new - old) if j == 1 else (new - old, 0.0)))
    taken = [t.get_window_extent(renderer) for t in along_y]
    for text in along_x:  # down its line to the first place where it meets no other label
        x, start = text.get_position()
        for y in (start, *np.arange(0.89, 0.0, -0.1)):
            text.set_position((x, y))
            if not any(_overlap(text.get_window_extent(renderer), box) for box in taken):
                break
        else:
            text.set_position((x, start))
        taken.append(text.get_window_extent(renderer))


def coincident_offsets(points: np.ndarray, radius_pt: float = 6.0,
                       tolerance_px: float = 6.0, ax: Any = None) -> tuple[np.ndarray,
                                                                           list[int]]:
    """Offsets in points for markers at (nearly) the same place: each group of k > 1 is
    fanned out on a circle of `radius_pt`. `points` are display coordinates (or data, if
    `ax` is given, transformed with its current limits). Returns (offsets (n, 2), the
    index of each point's group leader: itself when alone)."""
    xy = np.asarray(points, float)
    if ax is not None and len(xy):
        xy = ax.transData.transform(xy)
    n = len(xy)
    leader = list(range(n))
    for i in range(n):
        for j in range(i):
            if leader[j] == j and np.all(np.isfinite(xy[[i, j]])) \
                    and np.hypot(*(xy[i] - xy[j])) <= tolerance_px:
                leader[i] = j
                break
    offsets = np.zeros((n, 2))
    for head in set(leader):
        group = [i for i in range(n) if leader[i] == head]
        if len(group) > 1:
            for k, i in enumerate(group):
                angle = math.pi / 2 + 2 * math.pi * k / len(group)
                offsets[i] = radius_pt * np.array([math.cos(angle), math.sin(angle)])
    return offsets, leader


def distinct_colours(n: int) -> list[tuple[tuple[float, ...], str]]:
    """n (colour, hatch) pairs, neighbours always of another hue: tab10's ten hues, then
    the same hues hatched, and so on.

    Example:
        >>> [hatch for _, hatch in distinct_colours(12)][9:]
        ['', '//', '//']
    """
    from matplotlib import colormaps

    hues = colormaps["tab10"].colors
    hatches = ["", "//", "..", "xx", "\\\\", "++", "oo", "--"]
    return [(hues[i % len(hues)], hatches[(i // len(hues)) % len(hatches)]) for i in range(n)]


def text_colour(colour: Sequence[float]) -> str:
    """Black or white, whichever reads better on `colour` (relative luminance)."""
    r, g, b = colour[:3]
    return "black" if 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.45 else "white"
