"""`moosplit solve`: one problem, one backend, a front as a table or CSV."""

from __future__ import annotations

import argparse
import sys

from ..errors import ProblemError
from ..problems.problem import SplitProblem
from ..problems.quantities import QUANTITIES
from ..results.front_csv import write_front
from ..results.selection import limit_names
from ..solvers.registry import DEFAULT_SOLVER, available_solvers, get_solver
from .options import add_problem_options, build_problem, check_out_folder
from .output import ProgressPrinter, front_table

COMMAND = "solve"
"""The command this module implements."""

def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the `solve` command."""
    parser = sub.add_parser(COMMAND, help="solve a split problem and print its front",
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
    parser.add_argument("--pick", default=None, metavar="WHAT",
                        help="print or write only chosen plans: 'knee', 'extremes', or limits "
                             "such as 'max_error=0.05,max_latency_ms=30' (the best by the "
                             "first objective within them)")
    parser.add_argument("--out", default=None,
                        help="write the front as CSV to this path ('-' for stdout)")
    parser.add_argument("--quiet", action="store_true", help="no progress or summary lines")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Execute `moosplit solve`."""
    check_out_folder(args.out)
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
    if args.pick is not None:
        pick(None, args.pick)  # a bad --pick fails before solving
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
        for note in notes(problem):
            print(f"note: {note}", file=sys.stderr)
        print(front.summary(), file=sys.stderr)
        if len(front) == 0 and front.status.value == "infeasible":
            limits = ", ".join(f"{name} {'>=' if QUANTITIES[name].maximise else '<='} {bound:g}"
                               for name, bound in problem.constraints.items())
            print("no feasible plan: the front is empty"
                  + (f" (limits: {limits}; relax one)" if limits else ""), file=sys.stderr)
    if args.pick is not None:
        front = pick(front, args.pick)
        if not args.quiet:
            print(f"picked {len(front)} plan(s) ({args.pick})", file=sys.stderr)
    if args.out is not None:
        write_front(front, args.out)
        if args.out != "-" and not args.quiet:
            print(f"wrote {len(front)} plan(s) to {args.out}", file=sys.stderr)
    else:
        print(front_table(front))
    return 0


def notes(problem: SplitProblem) -> list[str]:
    """Things a user should know about a problem before reading its front."""
    out = []
    if "error" in problem.objectives and problem.bit_set == (16,):
        out.append("every edge node runs at 16 bits (the profile has no error columns, or "
                   "--bits 16), so error is 0 for every plan")
    return out


def pick(front, what: str):
    """Apply --pick to a front (None: only check the text)."""
    if what in ("knee", "extremes"):
        return None if front is None else getattr(front, what)()
    limits = {}
    for item in what.split(","):
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or key not in limit_names():
            raise ProblemError(f"--pick: expected 'knee', 'extremes' or limits like "
                               f"max_error=0.05 (names: {', '.join(limit_names())}), got "
                               f"{item!r}")
        try:
            limits[key] = float(value)
        except ValueError:
            raise ProblemError(f"--pick: {key} needs a number, got {value!r}") from None
    return None if front is None else front.select(**limits)
