"""`moosplit plot`: front CSVs, re-checked against a problem, drawn with baselines."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import ProblemError, UnsupportedProblemError
from ..problems.problem import SplitProblem
from ..problems.quantities import QUANTITIES
from ..results.front import Front
from ..results.front_csv import read_front
from ..solvers.registry import available_solvers, solve
from ..workflows.plots import check_axes, figure_format, plot_fronts
from .options import (
    ProfileAsOption,
    add_figure_options,
    add_problem_options,
    build_problem,
    check_out,
    comma_list,
    figure_args,
    flags_for,
)
from .output import writing

COMMAND = "plot"
"""The command this module implements."""


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the `plot` command."""
    parser = sub.add_parser(
        COMMAND, help="draw front CSVs with baselines and thresholds (.png, .svg, .pdf)",
        description="Read front CSVs written by 'moosplit solve --out', re-evaluate every "
        "plan against the problem PROFILE and the options describe (a file written for "
        "other options is refused), run the requested baselines on that problem, and draw "
        "everything on two quantities, each file labelled by its name.")
    parser.add_argument("fronts", nargs="+", metavar="FRONT.csv", help="front CSV files")
    add_problem_options(ProfileAsOption(parser))  # type: ignore[arg-type]
    parser.add_argument("--baselines", type=comma_list(str), default=(),
                        help="backends to run and mark, e.g. cloud_only,edge_only,qdmp")
    parser.add_argument("--threshold", action="append", default=[], metavar="LIMIT=V",
                        help="a labelled line, e.g. max_error=0.01 or max_latency_ms=30 "
                             "(repeatable, or comma-separated); it must be on an axis")
    parser.add_argument("--x", default=None, choices=list(QUANTITIES),
                        help="horizontal quantity (default: the first objective)")
    parser.add_argument("--y", default=None, choices=list(QUANTITIES),
                        help="vertical quantity (default: the second objective)")
    parser.add_argument("--title", default=None, help="figure title (default: model, bandwidth)")
    parser.add_argument("--out", required=True, metavar="FILE",
                        help="a .png, .svg or .pdf file")
    add_figure_options(parser)
    parser.add_argument("--quiet", action="store_true", help="no notes")
    parser.set_defaults(run=run)


def parse_thresholds(items: list[str]) -> dict[str, list[float]]:
    """['max_error=0.01,max_error=0.05', 'max_latency_ms=30'] -> {limit: [values]}; the
    library checks the names."""
    out: dict[str, list[float]] = {}
    for item in (part for text in items for part in text.split(",") if part.strip()):
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep:
            raise ProblemError(f"--threshold: expected LIMIT=VALUE, got {item!r}")
        try:
            out.setdefault(key, []).append(float(value))
        except ValueError:
            raise ProblemError(f"--threshold {key}: needs a number, got {value!r}") from None
    return out


def _axes(args: argparse.Namespace, thresholds: dict[str, list[float]]) -> tuple[str, str]:
    """--x and --y, by default the first two objectives; checked with the thresholds."""
    x = args.x or args.objectives[0]
    others = [name for name in args.objectives if name != x]
    y = args.y or (others[0] if others else None)
    if y is None:
        raise ProblemError("--y is needed: the problem has no second objective to draw")
    with flags_for(x="--x", y="--y", thresholds="--threshold"):
        check_axes(x, y, thresholds)
    return x, y


def _read_fronts(paths: list[str], problem: SplitProblem) -> dict[str, Front]:
    fronts: dict[str, Front] = {}
    for path in paths:
        label = Path(path).stem
        if label in fronts:
            raise ProblemError(f"{path}: another front file is also named {label!r}; the "
                               "labels come from file names, so rename one")
        fronts[label] = read_front(path, problem)
    return fronts


def _baselines(names: tuple[str, ...], problem: SplitProblem, quiet: bool) -> dict[str, Front]:
    unknown = [n for n in names if n not in available_solvers()]
    if unknown:
        raise ProblemError(f"--baselines: unknown {', '.join(unknown)}; available: "
                           f"{', '.join(available_solvers())}")
    out = {}
    for name in names:
        try:
            out[name] = solve(problem, name)
        except UnsupportedProblemError as exc:
            if not quiet:
                print(f"note: baseline {name} left out: {' '.join(str(exc).split())}",
                      file=sys.stderr)
    return out


def run(args: argparse.Namespace) -> int:
    """Execute `moosplit plot`."""
    with flags_for(path="--out"):
        figure_format(args.out)
    figure = figure_args(args)
    check_out(args.out)
    thresholds = parse_thresholds(args.threshold)
    x, y = _axes(args, thresholds)
    problem = build_problem(args)
    fronts = _read_fronts(args.fronts, problem)
    baselines = _baselines(tuple(args.baselines), problem, args.quiet)
    with writing(args.out):
        plot_fronts(fronts, x=x, y=y, baselines=baselines, thresholds=thresholds,
                    path=args.out, title=args.title, **figure)
    if not args.quiet:
        sizes = ", ".join(f"{label} {len(front)}" for label, front in fronts.items())
        print(f"wrote {args.out}: {x} vs {y}; fronts: {sizes}"
              + (f"; baselines: {', '.join(baselines)}" if baselines else ""), file=sys.stderr)
    return 0
