"""`moosplit solve`: one problem, one backend, a front as a table or CSV."""

from __future__ import annotations

import argparse
import sys

from ..errors import ProblemError
from ..front_csv import write_front
from ..solvers.registry import DEFAULT_SOLVER, available_solvers, get_solver
from .options import add_problem_options, build_problem
from .output import ProgressPrinter, front_table


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the `solve` command."""
    parser = sub.add_parser("solve", help="solve a split problem and print its front",
                            description="Solve a split problem with one backend; print "
                            "the front as a table, or write it as CSV with --out.")
    add_problem_options(parser)
    group = parser.add_argument_group("solver")
    group.add_argument("--solver", default=DEFAULT_SOLVER, choices=list(available_solvers()),
                       help=f"backend (default {DEFAULT_SOLVER})")
    group.add_argument("--seed", type=int, default=None, help="seed for randomised backends")
    group.add_argument("--time-limit", type=float, default=None,
                       help="seconds; the backend returns what it has, marked not proven")
    group.add_argument("--resolution", type=float, default=None,
                       help="exact backends: certified approximation within R times each "
                            "objective's range")
    parser.add_argument("--out", default=None,
                        help="write the front as CSV to this path ('-' for stdout)")
    parser.add_argument("--quiet", action="store_true", help="no progress or summary lines")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Execute `moosplit solve`."""
    problem = build_problem(args)
    options = {}
    if args.resolution is not None:
        cls = available_solvers()[args.solver]
        if not cls.supports_resolution:
            takers = [n for n, c in available_solvers().items() if c.supports_resolution]
            raise ProblemError(
                f"--resolution: solver {args.solver} does not take a resolution"
                + (f" (these do: {', '.join(takers)})" if takers else ""))
        if not args.resolution > 0:
            raise ProblemError(f"--resolution must be > 0, got {args.resolution}")
        options["resolution"] = args.resolution
    if args.time_limit is not None and not args.time_limit > 0:
        raise ProblemError(f"--time-limit must be > 0 seconds, got {args.time_limit}")
    solver = get_solver(args.solver, **options)
    progress = None if args.quiet else ProgressPrinter()
    try:
        front = solver.solve(problem, seed=args.seed, time_limit=args.time_limit,
                             progress=progress)
    finally:
        if progress is not None:
            progress.close()
    if not args.quiet:
        print(front.summary(), file=sys.stderr)
        if len(front) == 0:
            print("no feasible plan: the front is empty", file=sys.stderr)
    if args.out is not None:
        write_front(front, args.out)
        if args.out != "-" and not args.quiet:
            print(f"wrote {len(front)} plan(s) to {args.out}", file=sys.stderr)
    else:
        print(front_table(front))
    return 0
