"""`moosplit compare`: several backends on one problem, scored against the best front."""

from __future__ import annotations

import argparse
import sys

from ..solvers.registry import DEFAULT_RESOLUTION, available_solvers
from ..workflows.comparison import SolverComparison, compare_solvers
from ..workflows.figures import DECADES
from ..workflows.plots import check_comparison_plot, plot_comparison
from . import options
from .options import (
    RESOLUTION_HELP,
    add_problem_options,
    build_problem,
    check_out,
    comma_list,
    flags_for,
    parse_solver_options,
)
from .output import ProgressPrinter, writing

DEFAULT = "epsilon,nsga2,lagrangian,cloud_only,edge_only,uniform,neurosurgeon,qdmp"


COMMAND = "compare"
"""The command this module implements."""


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the `compare` command."""
    parser = sub.add_parser(
        COMMAND, help="run several backends on one problem and score their fronts",
        description="Run backends with one seed on one problem; print points, hypervolume "
        "ratio and IGD+ against the best front known (the exact one when an exact backend "
        "finishes; also on log10 for quantities that span decades), and time. A plan that "
        "beats a proven front beyond its certificate is reported on a 'bug:' line.")
    add_problem_options(parser)
    parser.add_argument("--solvers", type=comma_list(str), default=tuple(DEFAULT.split(",")),
                        help=f"comma-separated backends (default {DEFAULT})")
    parser.add_argument("--seed", type=int, default=0, help="seed for every backend (0)")
    parser.add_argument("--time-limit", type=float, default=None, help="seconds per backend")
    parser.add_argument("--resolution", default=None, metavar="R",
                        help=RESOLUTION_HELP + f" (real profiles are too large for it); "
                        f"default '{DEFAULT_RESOLUTION}'".replace("%", "%%"))
    parser.add_argument("--solver-opt", action="append", default=[], metavar="KEY=VALUE",
                        help="a backend option (repeatable), given to every backend that "
                             "takes it, e.g. max_labels=5000000")
    parser.add_argument("--out", default=None, help="write the table as CSV ('-': stdout)")
    parser.add_argument("--plot", default=None, metavar="FILE",
                        help="draw the fronts (first two objectives) to a .png, .svg or .pdf")
    parser.add_argument("--quiet", action="store_true", help="no progress or notes")
    options.add_figure_options(parser, needs="--plot")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Execute `moosplit compare`."""
    check_out(args.out)
    figure = options.figure_args(args)
    if args.plot:
        with flags_for(path="--plot"):
            check_comparison_plot(args.plot, len(args.objectives), **figure)
        check_out(args.plot, "--plot")
    problem = build_problem(args)
    progress = None if args.quiet else ProgressPrinter()
    try:
        result = compare_solvers(
            problem, args.solvers, seed=args.seed, time_limit=args.time_limit,
            resolution=compare_resolution(args.resolution, args.solvers),
            options=parse_solver_options(args.solvers, args.solver_opt), progress=progress)
    finally:
        if progress is not None:
            progress.close()
    if not args.quiet:
        print(f"reference front: {len(result.reference)} point(s), {result.reference_kind}",
              file=sys.stderr)
        for name, reason in result.refused.items():
            print(f"note: {name} refused: {' '.join(reason.split())}", file=sys.stderr)
        for line in score_notes(result):
            print(f"note: {line}", file=sys.stderr)
    for line in bug_reports(result):  # even with --quiet: a broken certificate is never silent
        print(f"bug: {line}", file=sys.stderr)
    if args.out is not None:
        with writing(args.out):
            result.table.to_csv(sys.stdout if args.out == "-" else args.out, index=False)
    else:
        print(result.table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    if args.plot:
        with writing(args.plot, "--plot"):
            plot_comparison(result, args.plot, **figure)
        if not args.quiet:
            print(f"wrote {args.plot}", file=sys.stderr)
    return 0


def compare_resolution(given: str | None, solvers: tuple[str, ...]) -> str | None:
    """--resolution: 'exact' for none; unset, the default resolution when a backend takes
    one (with none taking it, leaving it out is no error)."""
    if given == "exact":
        return None
    if given is not None:
        return given
    takes = any(available_solvers()[name].supports_resolution for name in solvers
                if name in available_solvers())
    return DEFAULT_RESOLUTION if takes else None


def score_notes(result: SolverComparison) -> list[str]:
    """What the scores need said: which objectives the log columns take on log10, and why
    a hypervolume ratio is above 1 where one is."""
    notes = []
    if result.logged:
        notes.append(f"hv_ratio_log and igd_plus_log take {', '.join(result.logged)} on "
                     f"log10 (values spanning more than {DECADES:g} decades; zeros one "
                     "decade below the smallest positive value)")
    for column in ("hv_ratio", "hv_ratio_log"):
        if column not in result.table:
            continue
        above = result.table[result.table[column] > 1 + 1e-9]
        if above.empty:
            continue
        who = ", ".join(f"{row.solver} {_above_one(getattr(row, column))}"
                        for row in above.itertuples())
        why = ("only a plan beating the exact front can do that (see the bug: lines)"
               if result.reference_kind == "exact" else
               "the reference is certified, not exact: a front may beat it by up to its "
               "certificate's slack")
        notes.append(f"{column} above 1 ({who}): {why}")
    return notes


def _above_one(ratio: float) -> str:
    """A ratio above 1, never printed as a bare 1."""
    text = f"{ratio:.4g}"
    return text if text != "1" else f"1 + {ratio - 1:.2g}"


def bug_reports(result: SolverComparison) -> list[str]:
    """One line per backend whose plans break a proven front's certificate, with one such
    plan's objectives."""
    lines = []
    names = result.problem.objectives
    for violation in result.violations:
        front, proven = result.fronts[violation.backend], result.fronts[violation.proven]
        point = front.F[violation.points[0]]
        values = ", ".join(f"{n}={v:.6g}" for n, v in zip(names, point, strict=True))
        lines.append(f"{violation.backend}'s plan ({values}) beats {violation.proven}'s "
                     f"front beyond its certificate ({proven.guarantee.describe(names)}); "
                     f"{len(violation.points)} such plan(s): one of the two backends is "
                     "wrong, please report it")
    return lines
