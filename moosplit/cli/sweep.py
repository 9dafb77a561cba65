"""`moosplit sweep`: one problem solved over a grid of settings, one chosen plan per row."""

from __future__ import annotations

import argparse
import math
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pandas as pd

from ..errors import ProblemError
from ..problems.quantities import QUANTITIES
from ..results.selection import PICK_GRAMMAR, parse_pick
from ..solvers.registry import FALLBACK_SOLVER
from ..workflows.plots import figure_format, plot_sweep
from ..workflows.sweeps import SETTINGS, SweepTable, check_vary, sweep
from .options import (
    add_figure_options,
    add_problem_options,
    add_solver_arguments,
    build_problem,
    check_out,
    figure_args,
    flags_for,
    solver_from_args,
    solver_opt_hint,
)
from .output import ProgressPrinter, writing

PLOT_Y = ("n_edge", "split", "hypervolume", "points", *QUANTITIES)


COMMAND = "sweep"
"""The command this module implements."""


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the `sweep` command."""
    parser = sub.add_parser(
        COMMAND, help="solve a problem over a grid of settings (bandwidth, memory, ...)",
        description="Solve every combination of the --vary values (the problem options "
        "give the rest) and print one row per combination: status, front size, "
        "hypervolume against a reference point common to the sweep, and the chosen plan.")
    add_problem_options(parser)
    parser.add_argument("--vary", action="append", default=[], metavar="NAME=V1,V2,...",
                        help="a setting and its values (repeatable; the cartesian product "
                             f"is solved); names: {', '.join(SETTINGS)}")
    add_solver_arguments(parser)
    parser.add_argument("--pick", default="knee", metavar="WHAT",
                        help="plan reported per row (default knee): " + PICK_GRAMMAR
                             + "; one plan per row, so not 'extremes'")
    parser.add_argument("--seed", type=int, default=0, help="seed for every solve (0)")
    parser.add_argument("--time-limit", type=float, default=None, help="seconds per solve")
    parser.add_argument("--workers", type=int, default=None,
                        help="processes (default: the CPU count; 1 runs in this process)")
    parser.add_argument("--dask", default=None, metavar="ADDRESS",
                        help="run on a Dask cluster's scheduler, e.g. tcp://host:8786 "
                             "(needs: pip install distributed)")
    parser.add_argument("--out", default=None,
                        help="write the table as CSV to this path ('-' for stdout)")
    parser.add_argument("--plot", default=None, metavar="FILE",
                        help="draw --plot-y against the first varied setting, one line per "
                             "value of the others (.png, .svg or .pdf)")
    parser.add_argument("--plot-y", default="n_edge", choices=PLOT_Y,
                        help="what --plot draws (default n_edge, the edge layers)")
    parser.add_argument("--quiet", action="store_true", help="no progress or summary lines")
    add_figure_options(parser, needs="--plot")
    parser.set_defaults(run=run)


def parse_vary(items: list[str]) -> dict[str, tuple[float, ...]]:
    """['bandwidth_mbps=0.5,1', 'memory_mib=1,4'] -> {name: values}, checked."""
    vary: dict[str, tuple[float, ...]] = {}
    for item in items:
        name, sep, text = item.partition("=")
        name = name.strip().replace("-", "_")
        if not sep or not text.strip():
            raise ProblemError(f"--vary: expected NAME=V1,V2,... (names: {', '.join(SETTINGS)})"
                               f", got {item!r}")
        if name in vary:
            raise ProblemError(f"--vary: {name} is given twice; list all its values once")
        try:
            vary[name] = tuple(float(v) for v in text.split(",") if v.strip())
        except ValueError:
            raise ProblemError(f"--vary {name}: expected comma-separated numbers, got "
                               f"{text!r}") from None
    try:
        return check_vary(vary)
    except ProblemError as exc:
        raise ProblemError(f"--vary: {exc}") from None


def _check_args(args: argparse.Namespace, vary: dict) -> dict[str, object]:
    """Refuse, before any solving, what only the command line knows is wrong; return the
    figure options."""
    check_out(args.out)
    figure = figure_args(args)
    if args.plot is not None:
        with flags_for(path="--plot"):
            figure_format(args.plot)
        check_out(args.plot, "--plot")
        if not vary:
            raise ProblemError("--plot needs at least one --vary setting")
    if args.dask is not None and args.workers is not None:
        raise ProblemError("--workers and --dask exclude each other (the cluster has its "
                           "own workers)")
    if args.bandwidth_mbps is None and args.transmitter is None and (
            "bandwidth_mbps" not in vary):
        raise ProblemError("--bandwidth-mbps is required (or --transmitter, or --vary "
                           "bandwidth_mbps=...)")
    return figure


@contextmanager
def dask_executor(address: str) -> Iterator[object]:
    """A concurrent.futures executor on the Dask cluster at `address`."""
    try:
        from distributed import Client
    except ImportError:
        raise ProblemError("--dask needs the Dask scheduler client: pip install distributed"
                           ) from None
    try:
        client = Client(address)
    except (OSError, TimeoutError) as exc:
        raise ProblemError(f"--dask {address}: cannot connect: {exc}") from None
    try:
        yield client.get_executor()
    finally:
        client.close()


def _terminal_table(table: SweepTable) -> str:
    frame = table.frame
    chosen = frame["split"].notna()
    # a quantity empty although plans were chosen cannot be computed (energy_mj): hide it;
    # the solver column too while every row is the sweep's own
    keep = [c for c in frame.columns
            if c not in ("edge_nodes", "bits_w", "bits_a", "codec", "time_s", "refusal")
            and not (c in QUANTITIES and chosen.any() and frame[c].isna().all())
            and not (c == "solver" and (frame[c] == table.solver).all())]
    shown = frame[keep].copy()
    for column in ("split", "n_edge"):
        shown[column] = ["-" if pd.isna(v) else str(v) for v in shown[column]]
    shown.insert(keep.index("n_edge") + 1, "last_edge_node",
                 [str(n).split()[-1] if isinstance(n, str) and n else "-"
                  for n in frame["edge_nodes"]])
    return shown.to_string(index=False, na_rep="-", float_format=lambda v: f"{v:.6g}")


def _notes(table: SweepTable) -> list[str]:
    """Which rows another backend answered, which none did, and why (each reason once)."""
    frame = table.frame
    refused = frame["refusal"].notna()
    unanswered = frame["status"] == "refused"
    out = []
    for solver, rows in frame[refused & ~unanswered].groupby("solver"):
        out.append(f"{table.solver} refused {len(rows)} of {len(frame)} combination(s); "
                   f"their rows are {solver}'s fronts, a heuristic, not certified (name "
                   "--solver to choose a backend)")
    if unanswered.any():
        fallback_too = (frame.loc[unanswered, "solver"] != table.solver).any()
        out.append(f"{unanswered.sum()} of {len(frame)} combination(s) have no front: "
                   f"{table.solver} refused them"
                   + (", and so did the fallback" if fallback_too else "")
                   + " (status refused)")
    # reasons that differ only in counts and node names are one reason
    reasons = frame.loc[refused, "refusal"]
    for _, alike in reasons.groupby(reasons.map(_reason_kind), sort=False):
        more = (f" (and {len(alike) - 1} more combination(s) alike; the refusal column of "
                "--out has each)") if len(alike) > 1 else ""
        out.append(f"refused because: {alike.iloc[0]}{more}")
    if table.lifted_by:
        out.append(solver_opt_hint(table.lifted_by))
    return out


def _reason_kind(reason: str) -> str:
    """A refusal's text with its numbers and quoted names blanked out."""
    return re.sub(r"'[^']*'|\d[\d,]*(\.\d+)?", "#", reason)


def _summary(table: SweepTable) -> str:
    counts = table.frame["status"].str.partition(":")[0].value_counts()
    parts = ", ".join(f"{n} {status}" for status, n in counts.items())
    reference = ", ".join(f"{name} {v:.6g}" for name, v in
                          zip(table.objectives, table.reference, strict=True)
                          if not math.isnan(v))
    return (f"sweep: {len(table)} combination(s) with {table.solver} ({parts}); plan picked: "
            f"{table.pick.describe()}; hypervolume reference: "
            + (reference or "none (no front has a point)"))


def run(args: argparse.Namespace) -> int:
    """Execute `moosplit sweep`."""
    vary = parse_vary(args.vary)
    figure = _check_args(args, vary)
    pick = parse_pick(args.pick)
    # each combination sets its own bandwidth when it is varied
    problem = build_problem(args, bandwidth_mbps=max(vary.get("bandwidth_mbps", [1.0])))
    progress = None if args.quiet else ProgressPrinter(after_s=0.0, every_s=0.0)
    # as `solve` does: the default backend's refusals fall back to a heuristic, with a note
    fallback = FALLBACK_SOLVER if args.solver is None else None
    options = dict(solver=solver_from_args(args), fallback=fallback, pick=pick, seed=args.seed,
                   time_limit=args.time_limit, progress=progress)
    try:
        if args.dask is not None:
            with dask_executor(args.dask) as executor:
                table = sweep(problem, vary, executor=executor, **options)
        else:
            table = sweep(problem, vary, max_workers=args.workers, **options)
    finally:
        if progress is not None:
            progress.close()
    # notes even with --quiet: they say which rows are not the named backend's (as `solve`)
    for line in _notes(table):
        print(f"note: {line}", file=sys.stderr)
    if not args.quiet:
        print(_summary(table), file=sys.stderr)
    if args.out is not None:
        with writing(args.out):
            table.to_csv(sys.stdout if args.out == "-" else args.out)
        if args.out != "-" and not args.quiet:
            print(f"wrote {len(table)} row(s) to {args.out}", file=sys.stderr)
    else:
        print(_terminal_table(table))
    if args.plot is not None:
        with writing(args.plot, "--plot"):
            plot_sweep(table, args.plot, y=args.plot_y, **figure)
        if not args.quiet:
            print(f"wrote {args.plot}", file=sys.stderr)
    return 0

