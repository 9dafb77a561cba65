"""`moosplit compare`: several backends on one problem, scored against the best front."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import ProblemError
from ..solvers.registry import available_solvers
from ..workflows.comparison import compare, plot_comparison
from .options import add_problem_options, build_problem, comma_list
from .output import ProgressPrinter

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
    parser.add_argument("--resolution", type=float, default=None,
                        help="exact backends: certified within R times each objective's "
                             "range (much faster on real profiles); the others ignore it")
    parser.add_argument("--out", default=None, help="write the table as CSV ('-': stdout)")
    parser.add_argument("--plot", default=None, metavar="FILE",
                        help="draw the fronts (first two objectives) to a .png or .svg")
    parser.add_argument("--quiet", action="store_true", help="no progress or notes")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Execute `moosplit compare`."""
    unknown = [s for s in args.solvers if s not in available_solvers()]
    if unknown:
        raise ProblemError(f"--solvers: unknown {', '.join(unknown)}; available: "
                           f"{', '.join(available_solvers())}")
    if args.plot and Path(args.plot).suffix.lower() not in (".png", ".svg"):
        raise ProblemError(f"--plot: write a .png or .svg file, got {args.plot}")
    if args.plot and len(args.objectives) < 2:
        raise ProblemError("--plot draws fronts on two objectives; give at least two "
                           "--objectives")
    if args.time_limit is not None and not args.time_limit > 0:
        raise ProblemError(f"--time-limit must be > 0 seconds, got {args.time_limit}")
    if args.resolution is not None:
        if not args.resolution > 0:
            raise ProblemError(f"--resolution must be > 0, got {args.resolution}")
        if not any(available_solvers()[s].supports_resolution for s in args.solvers):
            raise ProblemError("--resolution: none of --solvers takes a resolution")
    problem = build_problem(args)
    progress = None if args.quiet else ProgressPrinter()
    try:
        result = compare(problem, args.solvers, seed=args.seed, time_limit=args.time_limit,
                         resolution=args.resolution, progress=progress)
    finally:
        if progress is not None:
            progress.close()
    if not args.quiet:
        print(f"reference front: {len(result.reference)} point(s), {result.reference_kind}",
              file=sys.stderr)
        for name, reason in result.refused.items():
            print(f"note: {name} refused: {' '.join(reason.split())}", file=sys.stderr)
    if args.out is not None:
        result.table.to_csv(sys.stdout if args.out == "-" else args.out, index=False)
    else:
        print(result.table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    if args.plot:
        plot_comparison(result, args.plot)
        if not args.quiet:
            print(f"wrote {args.plot}", file=sys.stderr)
    return 0
