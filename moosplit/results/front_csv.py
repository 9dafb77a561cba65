"""The front CSV of SPEC section 7: one row per plan, every quantity by name."""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import ProblemError, ProfileError, shown
from ..evaluator import evaluate
from ..plans import Plan, Plans
from ..problems.problem import SplitProblem
from ..problems.quantities import QUANTITIES
from ..profiles.cells import MAX_NUMBER, is_blank, number, text_cell, whole_number
from ..profiles.csv_io import read_table, read_text_file
from ..profiles.schema import MAX_BITS
from .front import FRONT_COLUMNS, UNKNOWN, Front
from .pareto import nondominated


def write_front(front: Front, path: str | os.PathLike) -> None:
    """Write a front as CSV; `-` writes to standard output.

    Floats are written at full precision (they read back bit for bit); an energy that the
    problem cannot compute (no `edge_mj` or transmit power) is an empty cell.
    """
    frame = front.to_frame()
    if str(path) == "-":
        frame.to_csv(sys.stdout, index=False)
    else:
        frame.to_csv(path, index=False)


def _split_tokens(cell: object) -> list[str]:
    return [] if is_blank(cell) else str(cell).split()


def _stored(cell: str, where: str) -> float:
    """A stored quantity: empty (a quantity the problem cannot compute), `inf` (the
    throughput of a plan that takes no time) or a number >= 0."""
    text = cell.strip(" \t")
    if not text:
        return math.nan
    if text == "inf":
        return math.inf
    try:
        return number(text, where, at_most=math.inf)
    except ProfileError as exc:
        raise ProblemError(str(exc)) from None


def _plan(record: pd.Series, where: str) -> Plan:
    """One row's plan, every cell read strictly (bits 1..MAX_BITS, `-` for no weights)."""
    def whole(column: str, text: str, at_least: int, at_most: int) -> int:
        try:
            return whole_number(text, f"{where}, column {column!r}", at_least=at_least,
                                at_most=at_most)
        except ProfileError as exc:
            raise ProblemError(str(exc)) from None

    bits_w = [None if b == "-" else whole("bits_w", b, 1, MAX_BITS)
              for b in _split_tokens(record["bits_w"])]
    bits_a = [whole("bits_a", b, 1, MAX_BITS) for b in _split_tokens(record["bits_a"])]
    split = whole("split", record["split"], -1, MAX_NUMBER)
    codec = text_cell(record["codec"])
    if not codec:
        raise ProblemError(f"{where}, column 'codec': empty; a plan without a codec says "
                           "'none'")
    return Plan(split, tuple(_split_tokens(record["edge_nodes"])), tuple(bits_w),
                tuple(bits_a), codec)


def read_front(path: str | os.PathLike, problem: SplitProblem, *, rtol: float = 1e-9) -> Front:
    """Read a front CSV back as a Front of `problem`.

    Every plan is re-evaluated; a stored value that disagrees with the evaluator (beyond
    `rtol`), an infeasible or dominated plan, or a malformed row raises ProblemError naming
    the line, row and column: the file was then written for another problem. A file that
    cannot be read raises OSError. The returned front's guarantee is "unknown", as the
    file does not record how it was made.
    """
    source = str(path)
    frame, lines = read_table(read_text_file(path, ProblemError), source,
                              error=ProblemError)
    columns = list(frame.columns)
    missing = [c for c in FRONT_COLUMNS if c not in columns]
    unknown = [c for c in columns if c not in FRONT_COLUMNS]
    if missing or unknown or len(set(columns)) != len(columns):
        what = (f"missing front column(s) {', '.join(missing)}" if missing else
                f"unknown column(s) {', '.join(unknown)}" if unknown else "a repeated column")
        raise ProblemError(f"{source}: {what}; a front file has the columns "
                           f"{', '.join(FRONT_COLUMNS)}")

    def where(row: int) -> str:
        return f"{source}: line {lines[row]}, row {row}"

    plans = [_plan(record, where(row)) for row, record in frame.iterrows()]
    try:
        batch = Plans.from_plans(problem, plans)
    except ProblemError as exc:
        raise ProblemError(f"{source}: {exc}") from None
    evaluation = evaluate(problem, batch)
    for name in QUANTITIES:
        stored = np.array([_stored(cell, f"{where(row)}, column {name!r}")
                           for row, cell in enumerate(frame[name])], float)
        mine = evaluation.values[name]
        agree = np.isclose(stored, mine, rtol=rtol, atol=0, equal_nan=True) | (stored == mine)
        if not agree.all():
            row = int(np.flatnonzero(~agree)[0])
            raise ProblemError(
                f"{where(row)}, column {name!r}: the file says {shown(stored[row])}, the "
                f"evaluator gives {shown(mine[row])} for this problem; was the front solved "
                "with other options?")
    if not evaluation.feasible.all():
        row = int(np.flatnonzero(~evaluation.feasible)[0])
        raise ProblemError(f"{where(row)}: the plan is infeasible for this problem")
    kept = nondominated(evaluation.objectives(problem.objectives), problem.maximise)
    if kept.size != len(batch):
        lost = sorted(set(range(len(batch))) - set(kept.tolist()))
        raise ProblemError(f"{where(lost[0])}: the plan is dominated by (or repeats) "
                           "another plan of the file, so the rows are not a front")
    return Front.from_plans(problem, batch, solver=Path(source).name, guarantee=UNKNOWN,
                            evaluation=evaluation)
