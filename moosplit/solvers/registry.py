"""One registry of backends by name, and `solve()`."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from ..errors import OptionError, UnsupportedProblemError
from ..problems.problem import SplitProblem
from ..progress import ProgressCallback
from ..results.front import Front
from .base import Solver

_REGISTRY: dict[str, type[Solver]] = {}

DEFAULT_SOLVER = "epsilon"
"""The backend used when none is named: exact or certified, from moosplit's own code."""

DEFAULT_RESOLUTION = "error=x1.1,1%"
"""The resolution the default backend gets when none is named either: a factor 1.1 on
error, 1% of the range on the other objectives (exact fronts of real models are too large
to compute or to read)."""


def register(cls: type[Solver]) -> type[Solver]:
    """Class decorator adding a backend to the registry under `cls.name`."""
    if cls.name in _REGISTRY and _REGISTRY[cls.name] is not cls:
        raise ValueError(f"a solver named {cls.name!r} is already registered")
    _REGISTRY[cls.name] = cls
    return cls


def available_solvers() -> dict[str, type[Solver]]:
    """Registered backends by name, in registration order."""
    return dict(_REGISTRY)


def get_solver(name: str, **options: Any) -> Solver:
    """Instantiate the backend registered as `name` with its keyword options.

    An unknown name or option, or a bad value, raises OptionError naming it.
    """
    if name not in _REGISTRY:
        raise OptionError("solver", "a registered backend", name,
                          hint=f"unknown solver {name!r}; available: {', '.join(_REGISTRY)}")
    cls = _REGISTRY[name]
    known = [spec.name for spec in cls.options()]
    for key, value in options.items():
        if key not in known:
            takers = [n for n, c in _REGISTRY.items()
                      if any(spec.name == key for spec in c.options())]
            raise OptionError(key, f"left out: {name} has no such option", value, hint=(
                f"{name}'s options: {', '.join(known) or 'none'}"
                + (f"; backends that take {key}: {', '.join(takers)}" if takers else "")))
    return cls(**options)


def describe_options() -> str:
    """Every backend with its declared options, one line each (for help texts)."""
    lines = []
    for name, cls in _REGISTRY.items():
        specs = cls.options()
        lines.append(f"  {name}" + ("" if specs else ": no options"))
        lines += [f"    {spec.describe()}" for spec in specs]
    return "\n".join(lines)


def default_solver() -> Solver:
    """The backend `solve` uses when none is given: DEFAULT_SOLVER at DEFAULT_RESOLUTION."""
    return get_solver(DEFAULT_SOLVER, resolution=DEFAULT_RESOLUTION)


def solve(
    problem: SplitProblem,
    solver: str | Solver | None = None,
    *,
    seed: int | None = None,
    time_limit: float | None = None,
    progress: ProgressCallback | None = None,
    **options: Any,
) -> Front:
    """Solve a split problem with a backend; return its Pareto front.

    `solver` is a registered name (options go to its constructor), a Solver instance, or
    None: the default backend (`epsilon`, certified within a factor 1.1 on error and 1% of
    the range on the other objectives, unless options say otherwise).
    `seed` makes randomised backends reproducible; `time_limit` (seconds) stops a backend
    early, with a status that says the front is not proven; `progress` receives
    :class:`moosplit.solvers.base.Progress` reports.

    Example:
        >>> import moosplit
        >>> problem = moosplit.SplitProblem(moosplit.load_profile("portend_resnet20"),
        ...     moosplit.Network(bandwidth_mbps=10), objectives=("latency_ms", "edge_macs"))
        >>> len(moosplit.solve(problem, "exhaustive"))  # cloud-only and edge-only
        2
    """
    if solver is None:
        solver = DEFAULT_SOLVER
        options = {"resolution": DEFAULT_RESOLUTION, **options}
    if isinstance(solver, Solver):
        if options:
            raise OptionError("options", "given only with a solver's name", sorted(options),
                              hint=f"{solver!r} is already built")
        backend = solver
    else:
        backend = get_solver(solver, **options)
    return backend.solve(problem, seed=seed, time_limit=time_limit, progress=progress)


FALLBACK_SOLVER = "nsga2"
"""What the command line runs, with a note, when the default backend refuses a problem and
no backend was named: a heuristic that takes any problem (its front is marked so)."""


@dataclass(frozen=True)
class Answer:
    """A front and who made it: `solver` answered, or the first backend refused for
    `refusal` (its message, on one line) and `solver`, the fallback, answered instead.
    `lifted_by`: the backend options that would have lifted that refusal."""

    front: Front
    solver: str
    refusal: str | None = None
    lifted_by: tuple[str, ...] = ()


def solve_or_fall_back(
    problem: SplitProblem,
    solver: Solver,
    fallback: str | None,
    *,
    seed: int | None = None,
    time_limit: float | None = None,
    progress: ProgressCallback | None = None,
) -> Answer:
    """The front of `solver`; if it refuses `problem` (UnsupportedProblemError) and
    `fallback` names a backend, that backend's front in the time `time_limit` has left.
    Without a fallback the refusal is raised; if the fallback refuses too, an
    UnsupportedProblemError gives both reasons."""
    start = time.perf_counter()
    try:
        front = solver.solve(problem, seed=seed, time_limit=time_limit, progress=progress)
        return Answer(front, solver.name)
    except UnsupportedProblemError as exc:
        if fallback is None:
            raise
        refused = exc
    refusal = " ".join(str(refused).split())
    left = None if time_limit is None else max(time_limit - (time.perf_counter() - start), 0.1)
    try:
        front = get_solver(fallback).solve(problem, seed=seed, time_limit=left,
                                           progress=progress)
    except UnsupportedProblemError as exc:
        raise UnsupportedProblemError(f"{refusal}; the fallback refused too: {exc}",
                                      options=(*refused.options, *exc.options)) from exc
    return Answer(front, fallback, refusal, refused.options)
