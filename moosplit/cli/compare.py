"""`moosplit compare`: several backends on one problem, scored against the best front."""

from __future__ import annotations

import argparse
import sys

from ..solvers.registry import DEFAULT_RESOLUTION, available_solvers
from ..workflows.comparison import compare_solvers
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
        "finishes), and time.")
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
