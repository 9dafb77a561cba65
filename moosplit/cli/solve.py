"""`moosplit solve`: one problem, one backend, a front as a table or CSV."""

from __future__ import annotations

import argparse
import sys

from ..problems.problem import SplitProblem
from ..problems.quantities import QUANTITIES
from ..results.front import Front
from ..results.front_csv import write_front
from ..results.selection import PICK_GRAMMAR, parse_pick
from ..solvers.base import Solver, check_run
from ..solvers.registry import FALLBACK_SOLVER, describe_options, solve_or_fall_back
from .options import (
    add_problem_options,
    add_solver_arguments,
    build_problem,
    check_out,
    solver_from_args,
)
from .output import ProgressPrinter, front_table, writing

COMMAND = "solve"
"""The command this module implements."""

def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the `solve` command."""
    parser = sub.add_parser(COMMAND, help="solve a split problem and print its front",
                            description="Solve a split problem with one backend; print "
                            "the front as a table, or write it as CSV with --out.",
                            epilog="backends and their options (from Python: "
                            "moosplit.solve(problem, NAME, OPTION=VALUE)):\n"
                            + describe_options(),
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    add_problem_options(parser)
    group = parser.add_argument_group("solver")
    add_solver_arguments(group)
    group.add_argument("--seed", type=int, default=None, help="seed for randomised backends")
    group.add_argument("--time-limit", type=float, default=None,
                       help="seconds; the backend returns what it has, marked not proven")
    parser.add_argument("--pick", default=None, metavar="WHAT",
                        help="print or write only chosen plans: " + PICK_GRAMMAR)
    parser.add_argument("--out", default=None,
                        help="write the front as CSV to this path ('-' for stdout)")
    parser.add_argument("--quiet", action="store_true", help="no progress or summary lines")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Execute `moosplit solve`."""
    check_out(args.out)
    pick = None if args.pick is None else parse_pick(args.pick)
    check_run(args.seed, args.time_limit)
    solver = solver_from_args(args)
    problem = build_problem(args)
    progress = None if args.quiet else ProgressPrinter()
    try:
        front = _solve(args, solver, problem, progress)
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
    if pick is not None:
        front = pick.apply(front)
        if not args.quiet:
            print(f"picked {len(front)} plan(s) ({pick.describe()})", file=sys.stderr)
            if pick.kind == "select":  # what the front's guarantee says of the pick
                print(front.message, file=sys.stderr)
    if args.out is not None:
        with writing(args.out):
            write_front(front, args.out)
        if args.out != "-" and not args.quiet:
            print(f"wrote {len(front)} plan(s) to {args.out}", file=sys.stderr)
    else:
        print(front_table(front))
    return 0


def _solve(args: argparse.Namespace, solver: Solver, problem: SplitProblem,
           progress: ProgressPrinter | None) -> Front:
    """The front of `solver`; if it is the default (no --solver) and refuses the problem,
    the front of FALLBACK_SOLVER instead, in the time left, saying so on stderr."""
    answer = solve_or_fall_back(problem, solver,
                                None if args.solver is not None else FALLBACK_SOLVER,
                                seed=args.seed, time_limit=args.time_limit, progress=progress)
    if answer.refusal is not None:
        print(f"note: {answer.refusal.split(';')[0]}; the front below is {answer.solver}'s, "
              "a heuristic, not certified (name --solver to choose a backend)", file=sys.stderr)
    return answer.front


def notes(problem: SplitProblem) -> list[str]:
    """Things a user should know about a problem before reading its front."""
    out = []
    if "error" in problem.objectives and problem.bit_set == (16,):
        out.append("every edge node runs at 16 bits (the profile has no error columns, or "
                   "--bits 16), so error is 0 for every plan")
    return out
