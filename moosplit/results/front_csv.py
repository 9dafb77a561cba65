"""The front CSV of SPEC section 7: one row per plan, every quantity by name."""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import ProblemError
from ..evaluator import evaluate
from ..plans import Plan, Plans
from ..problems.problem import SplitProblem
from ..problems.quantities import QUANTITIES
from ..profiles.csv_io import read_text_file
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
    return [] if pd.isna(cell) else str(cell).split()


def read_front(path: str | os.PathLike, problem: SplitProblem, *, rtol: float = 1e-9) -> Front:
    """Read a front CSV back as a Front of `problem`.

    Every plan is re-evaluated; a stored value that disagrees with the evaluator (beyond
    `rtol`), an infeasible or dominated plan, or a malformed row raises ProblemError naming
    the row: the file was then written for another problem. The returned front's guarantee
    is "unknown", as the file does not record how it was made.
    """
    source = str(path)
    text = read_text_file(path)
    frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    missing = [c for c in FRONT_COLUMNS if c not in frame.columns]
    if missing:
        raise ProblemError(f"{source}: missing front column(s) {', '.join(missing)}")
    plans = []
    for row, record in frame.iterrows():
        try:
            bits_w = [None if b == "-" else int(b) for b in _split_tokens(record["bits_w"])]
            bits_a = [int(b) for b in _split_tokens(record["bits_a"])]
            split = int(record["split"])
        except ValueError as exc:
            raise ProblemError(f"{source}: row {row}: {exc}") from None
        plans.append(Plan(split, tuple(_split_tokens(record["edge_nodes"])), tuple(bits_w),
                          tuple(bits_a), str(record["codec"]).strip() or "none"))
    try:
        batch = Plans.from_plans(problem, plans)
    except ProblemError as exc:
        raise ProblemError(f"{source}: {exc}") from None
    evaluation = evaluate(problem, batch)
    for name in QUANTITIES:
        stored = pd.to_numeric(frame[name].replace("", np.nan), errors="coerce").to_numpy(float)
        mine = evaluation.values[name]
        agree = np.isclose(stored, mine, rtol=rtol, atol=0, equal_nan=True) | (stored == mine)
        if not agree.all():
            row = int(np.flatnonzero(~agree)[0])
            raise ProblemError(
                f"{source}: row {row}, column {name!r}: the file says {stored[row]!r}, the "
                f"evaluator gives {mine[row]!r} for this problem; was the front solved with "
                "other options?")
    if not evaluation.feasible.all():
        row = int(np.flatnonzero(~evaluation.feasible)[0])
        raise ProblemError(f"{source}: row {row}: the plan is infeasible for this problem")
    kept = nondominated(evaluation.objectives(problem.objectives), problem.maximise)
    if kept.size != len(batch):
        lost = sorted(set(range(len(batch))) - set(kept.tolist()))
        raise ProblemError(f"{source}: row {lost[0]}: the plan is dominated by (or repeats) "
                           "another plan of the file, so the rows are not a front")
    return Front.from_plans(problem, batch, solver=Path(source).name, guarantee=UNKNOWN,
                            evaluation=evaluation)
