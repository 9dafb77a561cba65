"""Parameter sweeps: one problem solved over a grid of settings, one chosen plan per setting.

LMOS (Table 2, Figures 2-3) and Auto-Split (Table 8) report how the best split moves with
bandwidth and the edge memory limit; :func:`sweep` solves every combination of the varied
settings, in parallel on any :class:`concurrent.futures.Executor` (a process pool by
default, or a Dask cluster through ``distributed.Client(address).get_executor()``), and
returns one row per combination, in input order.

Each task (problem, profile included, and solver settings) is pickled to a module-level
worker function, so a worker needs only moosplit installed.
"""

from __future__ import annotations

import dataclasses
import io
import itertools
import math
import multiprocessing
import numbers
import os
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any

import moocore
import numpy as np
import pandas as pd

from ..errors import ProblemError, ProblemOptionError, UnsupportedProblemError, shown
from ..problems.problem import SplitProblem
from ..problems.quantities import QUANTITIES
from ..progress import Progress
from ..results.pareto import minimisation_form
from ..results.selection import Pick, parse_pick
from ..solvers.base import Solver, check_run
from ..solvers.registry import default_solver, get_solver, solve_or_fall_back
from ..validation import Number

MIB = 2**20

NETWORK_SETTINGS = ("bandwidth_mbps", "rtt_ms", "tx_power_mw")
CONSTRAINT_SETTINGS = {"memory_mib": "memory_bytes", "memory_bytes": "memory_bytes",
                       "max_error": "error", "max_latency_ms": "latency_ms"}
SPLIT_SETTINGS = ("min_split", "max_split")
SETTINGS = (*NETWORK_SETTINGS, *CONSTRAINT_SETTINGS, *SPLIT_SETTINGS)
"""The names `sweep` can vary: the numeric problem options of the command line."""

PLAN_COLUMNS = ("split", "n_edge", "edge_nodes", *QUANTITIES, "bits_w", "bits_a", "codec")
"""The chosen plan's cells of a sweep row (empty when no plan was chosen)."""

COLUMN_OF_SETTING = {"memory_bytes": "max_memory_bytes"}
"""A varied setting's column in the table is its name, except where that is a quantity's
name (`memory_bytes`, whose column holds the chosen plan's memory)."""

HV_MARGIN = 0.1
"""The hypervolume reference point lies this share of the sweep-wide range beyond the
worst value of each objective."""


# ------------------------------------------------------------------ settings
def column_of(setting: str) -> str:
    """The table column of a varied setting (see COLUMN_OF_SETTING)."""
    return COLUMN_OF_SETTING.get(setting, setting)


def _check_values(name: str, values: Sequence[float]) -> tuple[float, ...]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
        raise ProblemError(f"{name}: expected a non-empty list of numbers, got {shown(values)}")
    for value in values:
        if (isinstance(value, bool) or not isinstance(value, numbers.Real)
                or not math.isfinite(value)):
            raise ProblemError(f"{name}: values must be finite numbers, got {shown(value)}")
        if name in CONSTRAINT_SETTINGS and value < 0:
            raise ProblemError(f"{name}: values must be >= 0, got {shown(value)}")
        if name in SPLIT_SETTINGS and float(value) != int(value):
            raise ProblemError(f"{name}: values must be whole numbers, got {shown(value)}")
    return tuple(values)


def check_vary(vary: Mapping[str, Sequence[float]]) -> dict[str, tuple[float, ...]]:
    """Validate the varied settings: known names, non-empty lists of finite numbers.

    Example:
        >>> check_vary({"bandwidth_mbps": [1, 10]})
        {'bandwidth_mbps': (1, 10)}
    """
    unknown = [name for name in vary if name not in SETTINGS]
    if unknown:
        raise ProblemError(f"cannot vary {', '.join(map(repr, unknown))}; valid names: "
                           f"{', '.join(SETTINGS)}")
    if "memory_mib" in vary and "memory_bytes" in vary:
        raise ProblemError("vary memory_mib or memory_bytes, not both (one memory limit)")
    return {name: _check_values(name, values) for name, values in vary.items()}


def apply_settings(problem: SplitProblem, settings: Mapping[str, float]) -> SplitProblem:
    """`problem` with the named settings (names of SETTINGS) changed, validated again.

    Example:
        >>> import moosplit
        >>> problem = moosplit.random_problem(5, seed=1)
        >>> changed = apply_settings(problem, {"bandwidth_mbps": 2, "memory_mib": 1})
        >>> changed.network.bandwidth_mbps, dict(changed.constraints)
        (2.0, {'memory_bytes': 1048576.0})
    """
    network: dict[str, float] = {}
    constraints = dict(problem.constraints)
    fields: dict[str, Any] = {}
    for name, value in settings.items():
        if name in NETWORK_SETTINGS:
            network[name] = value
        elif name in CONSTRAINT_SETTINGS:
            scale = MIB if name == "memory_mib" else 1
            constraints[CONSTRAINT_SETTINGS[name]] = float(value) * scale
        elif name in SPLIT_SETTINGS:
            fields[name] = int(value)
        else:
            raise ProblemError(f"cannot vary {name!r}; valid names: {', '.join(SETTINGS)}")
    if network:
        fields["network"] = dataclasses.replace(problem.network, **network)
    fields["constraints"] = constraints
    return problem.replace(**fields)


def combinations(vary: Mapping[str, Sequence[float]]) -> list[dict[str, float]]:
    """Every combination of the varied values (the first name varies slowest).

    Example:
        >>> combinations({"a": [1, 2], "b": [3]})
        [{'a': 1, 'b': 3}, {'a': 2, 'b': 3}]
    """
    names = list(vary)
    return [dict(zip(names, values, strict=True))
            for values in itertools.product(*(vary[n] for n in names))]


# ------------------------------------------------------------------ tasks
@dataclass(frozen=True)
class _Task:
    problem: SplitProblem
    solver: str | Solver
    seed: int | None
    time_limit: float | None
    pick: Pick
    fallback: str | None


@dataclass(frozen=True)
class Outcome:
    """What one solve of a sweep sends back: status, front values, time, the chosen plan,
    the backend whose front it is, and why the sweep's backend refused, if it did (with
    the backend options that would lift the refusal).

    plan: the chosen plan's front-CSV row (SPEC section 7 columns), or None.
    """

    status: str
    F: np.ndarray
    time_s: float
    plan: dict[str, Any] | None
    solver: str
    refusal: str | None = None
    lifted_by: tuple[str, ...] = ()


_CANCEL: Any = None
"""In a pool worker: the event the sweep sets to stop every solve (see `_run`)."""


def _set_cancel_event(event: Any) -> None:
    """Pool initializer: remember the sweep's cancel event."""
    global _CANCEL
    _CANCEL = event


def _stop_if_cancelled(progress: Progress) -> None:
    """A progress callback: backends report often, so a solve stops soon after the sweep
    is cancelled (Ctrl-C in the parent process)."""
    if _CANCEL is not None and _CANCEL.is_set():
        raise KeyboardInterrupt


def run_task(task: _Task) -> Outcome:
    """Worker entry point: solve one task (a module-level function, so it pickles); a
    refusal without a fallback is a row that says so."""
    start = time.perf_counter()
    solver = get_solver(task.solver) if isinstance(task.solver, str) else task.solver
    try:
        answer = solve_or_fall_back(task.problem, solver, task.fallback, seed=task.seed,
                                    time_limit=task.time_limit, progress=_stop_if_cancelled)
    except UnsupportedProblemError as exc:
        # the last backend that refused: the fallback, when there is one
        return Outcome("refused", np.empty((0, task.problem.n_objectives)),
                       time.perf_counter() - start, None, task.fallback or solver.name,
                       " ".join(str(exc).split()), exc.options)
    front = answer.front
    chosen = task.pick.apply(front)
    plan = None
    if len(chosen):
        row = chosen.to_frame().iloc[0]
        plan = {key: (value.item() if isinstance(value, np.generic) else value)
                for key, value in row.items()}
    return Outcome(front.status.value, np.array(front.F, float), time.perf_counter() - start,
                   plan, answer.solver, answer.refusal, answer.lifted_by)


# ------------------------------------------------------------------ the table
@dataclass(frozen=True, eq=False)
class SweepTable:
    """A sweep's results: one row per combination of the varied settings, in input order.

    frame columns: the varied settings (by name; `memory_bytes` as `max_memory_bytes`,
    see :func:`column_of`), `status` (the front's, or ``refused``, or ``invalid: <why>``),
    `solver` (the backend whose front it is: the sweep's, or its fallback where the
    sweep's refused; for a ``refused`` row, the last backend that refused), `refusal`
    (why the sweep's backend refused, and its fallback too where that refused; empty
    otherwise), `points` (front size), `hypervolume` (see below), `time_s` (wall time of
    the combination's solves, fallback included), then the chosen plan: `split`, `n_edge`
    (number of edge nodes), `edge_nodes`, every quantity of SPEC section 4, `bits_w`,
    `bits_a`, `codec`; these plan cells are empty when no plan was chosen (an infeasible
    combination, or no point within the pick's limits).

    Hypervolume: each objective is normalised by the sweep-wide `ideal` and `nadir` (best
    and worst values over every front of the sweep; a zero range counts as 1), and the
    reference point is the nadir plus 10% of that range (1.1 in normalised units,
    `reference` in natural units). Rows are therefore comparable with each other, and
    not with another sweep's. An empty front has hypervolume 0.
    """

    frame: pd.DataFrame
    varied: tuple[str, ...]
    objectives: tuple[str, ...]
    points: tuple[np.ndarray, ...]
    ideal: np.ndarray
    nadir: np.ndarray
    reference: np.ndarray
    solver: str
    pick: Pick
    lifted_by: tuple[str, ...] = ()
    """The backend options that would lift the refusals of the `refused` rows or the
    fallback rows (such as max_labels), for front ends to say how they are set."""

    def __len__(self) -> int:
        return len(self.frame)

    def to_csv(self, path: str | os.PathLike | io.TextIOBase) -> None:
        """Write the frame as CSV (floats at full precision, empty cells for no plan)."""
        self.frame.to_csv(path, index=False)


def _hypervolumes(points: Sequence[np.ndarray], maximise: Sequence[bool]
                  ) -> tuple[list[float], np.ndarray, np.ndarray, np.ndarray]:
    """Per front, its hypervolume against the sweep-wide reference; ideal, nadir, ref."""
    k = len(maximise)
    every = [minimisation_form(F, maximise) for F in points if len(F)]
    if not every:
        nan = np.full(k, np.nan)
        return [0.0] * len(points), nan, nan, nan
    stacked = np.concatenate(every)
    low, high = stacked.min(axis=0), stacked.max(axis=0)
    span = np.where(high > low, high - low, 1.0)
    ref = np.full(k, 1.0 + HV_MARGIN)
    volumes = [float(moocore.hypervolume((minimisation_form(F, maximise) - low) / span, ref=ref))
               if len(F) else 0.0 for F in points]
    signs = np.where(np.asarray(maximise, bool), -1.0, 1.0)
    return volumes, low * signs, high * signs, (high + HV_MARGIN * span) * signs


def _row(settings: Mapping[str, float], outcome: Outcome, volume: float) -> dict[str, Any]:
    row: dict[str, Any] = {column_of(name): value for name, value in settings.items()}
    row.update(status=outcome.status, solver=outcome.solver, refusal=outcome.refusal,
               points=len(outcome.F), hypervolume=volume, time_s=outcome.time_s)
    plan = outcome.plan
    for column in PLAN_COLUMNS:
        if plan is None:
            row[column] = np.nan if column in QUANTITIES else None
        elif column == "n_edge":
            row[column] = len(str(plan["edge_nodes"]).split())
        else:
            row[column] = plan[column]
    return row


def _table(problem: SplitProblem, combos: list[dict[str, float]], outcomes: list[Outcome],
           varied: tuple[str, ...], solver: str, pick: Pick) -> SweepTable:
    points = tuple(o.F for o in outcomes)
    volumes, ideal, nadir, ref = _hypervolumes(points, problem.maximise)
    rows = [_row(s, o, v) for s, o, v in zip(combos, outcomes, volumes, strict=True)]
    columns = [*map(column_of, varied), "status", "solver", "refusal", "points", "hypervolume",
               "time_s", *PLAN_COLUMNS]
    frame = pd.DataFrame(rows, columns=columns)
    for column in ("split", "n_edge"):
        frame[column] = frame[column].astype("Int64")
    for column in ("edge_nodes", "bits_w", "bits_a", "codec"):
        frame[column] = frame[column].astype(object)
    lifted_by = tuple(dict.fromkeys(o for outcome in outcomes for o in outcome.lifted_by))
    return SweepTable(frame, varied, problem.objectives, points, ideal, nadir, ref, solver,
                      pick, lifted_by)


# ------------------------------------------------------------------ running
SweepProgress = Callable[[Progress], None]


Report = Callable[[int, "Outcome | None"], None]
"""Called with a task's index and its outcome when it ends (None: it starts)."""


def _collect(executor: Executor, tasks: list[_Task], report: Report) -> list[Outcome]:
    futures: list[Future] = [executor.submit(run_task, t) for t in tasks]
    index = {future: i for i, future in enumerate(futures)}
    results: list[Outcome | None] = [None] * len(futures)
    try:
        for future in as_completed(futures):
            i = index[future]
            results[i] = future.result()
            report(i, results[i])
    except BaseException:
        for future in futures:
            future.cancel()
        raise
    return results  # type: ignore[return-value]


def _run(tasks: list[_Task], executor: Executor | None, max_workers: int | None,
         report: Report) -> list[Outcome]:
    if executor is not None:
        return _collect(executor, list(tasks), report)
    workers = min(max_workers or os.cpu_count() or 1, len(tasks))
    if workers <= 1:
        outcomes = []
        for i, task in enumerate(tasks):
            report(i, None)
            outcomes.append(run_task(task))
            report(i, outcomes[-1])
        return outcomes
    context = multiprocessing.get_context()
    cancel = context.Event()
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context,
                               initializer=_set_cancel_event, initargs=(cancel,))
    try:
        return _collect(pool, list(tasks), report)
    except BaseException:
        cancel.set()  # the running solves stop at their next progress report
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def sweep(
    problem: SplitProblem,
    vary: Mapping[str, Sequence[float]],
    *,
    solver: str | Solver | None = None,
    fallback: str | None = None,
    pick: str | Mapping[str, Any] | Pick = "knee",
    executor: Executor | None = None,
    max_workers: int | None = None,
    seed: int | None = 0,
    time_limit: float | None = None,
    progress: SweepProgress | None = None,
) -> SweepTable:
    """Solve `problem` for every combination of the varied settings; one row each.

    vary: setting name -> values, names from SETTINGS (`bandwidth_mbps`, `rtt_ms`,
    `tx_power_mw`, `memory_mib` or `memory_bytes`, `max_error`, `max_latency_ms`,
    `min_split`, `max_split`); the cartesian product is solved, the first name varying
    slowest. solver: a backend name, a Solver, or None (the default backend, see
    :func:`moosplit.solve`). A combination the solver refuses (UnsupportedProblemError) is
    a row with status ``refused``, or, when `fallback` names a backend, is solved by that
    backend in the time left; the `refusal` column says why, the `solver` column whose
    front each row is.
    pick: which plan to report per combination (see
    :func:`moosplit.results.selection.parse_pick`).
    executor: any concurrent.futures Executor (for Dask: ``client.get_executor()``); None
    runs a process pool (Python's default start method) of `max_workers` (default: the
    CPU count), or runs in this process when that, or the number of combinations, is 1.
    Every combination gets the same `seed` and `time_limit` (seconds per solve). progress
    receives a :class:`moosplit.progress.Progress` ("sweep", solves done, total, and as
    its note the combination and its status) as each solve ends, and as it starts when
    the solves run in this process.

    Example:
        >>> import moosplit
        >>> problem = moosplit.random_problem(5, seed=1)
        >>> table = sweep(problem, {"bandwidth_mbps": [0.1, 10]}, solver="exhaustive",
        ...               pick="first", max_workers=1)
        >>> print(table.frame[["bandwidth_mbps", "status", "n_edge"]].to_string(index=False))
         bandwidth_mbps  status  n_edge
                    0.1 optimal       1
                   10.0 optimal       0
    """
    vary = check_vary(vary)
    solver = default_solver() if solver is None else solver
    solver_name = solver if isinstance(solver, str) else solver.name
    if fallback is not None:
        get_solver(fallback)  # an unknown name is an error before any solving
    max_workers = Number(whole=True, at_least=1, optional=True)("max_workers", max_workers)
    check_run(seed, time_limit)
    chosen = parse_pick(pick)
    if chosen.kind == "extremes":
        raise ProblemOptionError("pick", "one plan per setting (knee, first or limits)",
                                 "extremes")
    combos = combinations(vary)
    for name, values in vary.items():  # a bad value is an error, not a row
        for value in values:
            try:
                apply_settings(problem, {name: value})
            except ProblemError as exc:
                raise ProblemError(f"{name}={value:g}: {exc}") from None
    tasks, labels, invalid = [], [], {}
    for i, settings in enumerate(combos):
        try:
            tasks.append(_Task(apply_settings(problem, settings), solver, seed, time_limit,
                               chosen, fallback))
            labels.append(", ".join(f"{k}={v:g}" for k, v in settings.items()))
        except ProblemError as exc:  # values that conflict (min_split > max_split): a row
            invalid[i] = Outcome(f"invalid: {' '.join(str(exc).split())}",
                                 np.empty((0, problem.n_objectives)), 0.0, None, solver_name)
    start, done = time.perf_counter(), 0

    def report(i: int, outcome: Outcome | None) -> None:
        nonlocal done
        done += outcome is not None
        note = labels[i] + (": solving" if outcome is None else f": {outcome.status}")
        if progress is not None:
            progress(Progress("sweep", done, len(tasks), "solves", time.perf_counter() - start,
                              note))

    solved = iter(_run(tasks, executor, max_workers, report))
    outcomes = [invalid[i] if i in invalid else next(solved) for i in range(len(combos))]
    return _table(problem, combos, outcomes, tuple(vary), solver_name, chosen)
