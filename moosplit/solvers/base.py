"""The backend contract: what a solver declares, and what it receives while solving."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

from ..errors import UnsupportedProblemError
from ..problems.problem import SplitProblem
from ..results.front import Front


@dataclass(frozen=True)
class Progress:
    """A progress report: `done` of `total` units (plans, sweeps, generations)."""

    solver: str
    done: int
    total: int | None
    unit: str
    elapsed_s: float


ProgressCallback = Callable[[Progress], None]


@dataclass
class SolveContext:
    """What a backend gets besides the problem: seed, deadline and a progress sink."""

    solver: str
    seed: int | None = None
    time_limit: float | None = None
    progress: ProgressCallback | None = None
    start: float = field(default_factory=time.perf_counter)

    @property
    def elapsed(self) -> float:
        """Seconds since the solve started."""
        return time.perf_counter() - self.start

    def time_left(self) -> float | None:
        """Seconds left before the time limit (None: no limit)."""
        if self.time_limit is None:
            return None
        return max(0.0, self.time_limit - self.elapsed)

    def expired(self) -> bool:
        """True once the time limit has passed."""
        return self.time_limit is not None and self.elapsed >= self.time_limit

    def report(self, done: int, total: int | None, unit: str) -> None:
        """Send a progress report, if anyone listens."""
        if self.progress is not None:
            self.progress(Progress(self.solver, done, total, unit, self.elapsed))


class Solver(ABC):
    """A backend. Subclasses declare their capabilities and implement `_solve`.

    Constructors take keyword-only options; `solve()` checks the problem against the
    declared capabilities and refuses a mismatch with UnsupportedProblemError.
    """

    name: ClassVar[str]
    exact: ClassVar[bool]
    """True if the backend returns the whole front (or a certified approximation)."""
    modes: ClassVar[tuple[str, ...]] = ("prefix", "cut")
    supports_resolution: ClassVar[bool] = False
    citation: ClassVar[str] = ""

    def check(self, problem: SplitProblem) -> None:
        """Raise UnsupportedProblemError if this backend cannot solve `problem`."""
        if problem.mode not in self.modes:
            raise UnsupportedProblemError(
                f"{self.name} does not support mode {problem.mode!r} (supports: "
                f"{', '.join(self.modes)})")
        resolution = getattr(self, "resolution", None)
        if resolution is not None:
            resolution.check(problem.n_objectives)

    def solve(
        self,
        problem: SplitProblem,
        *,
        seed: int | None = None,
        time_limit: float | None = None,
        progress: ProgressCallback | None = None,
    ) -> Front:
        """Solve `problem` and return its front (see :func:`moosplit.solve`)."""
        if time_limit is not None and not time_limit > 0:
            raise ValueError(f"time_limit must be > 0 seconds or None, got {time_limit!r}")
        self.check(problem)
        context = SolveContext(self.name, seed, time_limit, progress)
        return self._solve(problem, context)

    @abstractmethod
    def _solve(self, problem: SplitProblem, context: SolveContext) -> Front:
        """Backend-specific solving; must return a Front built by `Front.from_plans`."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
