"""The backend contract: what a solver declares, and what it receives while solving."""

from __future__ import annotations

import dataclasses
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ..errors import UnsupportedProblemError
from ..problems.problem import SplitProblem
from ..progress import Progress, ProgressCallback
from ..results.front import Front
from ..validation import Number, OptionSpec, check_declared, declared


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
    """A backend. Subclasses declare their capabilities and options and implement `_solve`.

    Every subclass is made a frozen, keyword-only dataclass; its options are fields
    declared with :func:`moosplit.validation.option` (a default, a check and a help line),
    from which construction validates them (:class:`moosplit.errors.OptionError`), `repr`
    shows them and :meth:`options` lists them. `solve()` checks the problem against the
    declared capabilities and refuses a mismatch with UnsupportedProblemError.
    """

    name: ClassVar[str]
    exact: ClassVar[bool]
    """True if the backend returns the whole front (or a certified approximation)."""
    modes: ClassVar[tuple[str, ...]] = ("prefix", "cut")
    supports_resolution: ClassVar[bool] = False
    """Derived: whether the backend declares a `resolution` option."""
    citation: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        dataclasses.dataclass(frozen=True, kw_only=True, eq=False)(cls)
        cls.supports_resolution = any(spec.name == "resolution" for spec in declared(cls))

    def __post_init__(self) -> None:
        check_declared(self, owner=self.name)

    @classmethod
    def options(cls) -> tuple[OptionSpec, ...]:
        """The backend's declared options, in order."""
        return declared(cls)

    def check(self, problem: SplitProblem) -> None:
        """Raise UnsupportedProblemError if this backend cannot solve `problem`."""
        if problem.mode not in self.modes:
            raise UnsupportedProblemError(
                f"{self.name} does not support mode {problem.mode!r} (supports: "
                f"{', '.join(self.modes)})")
        resolution = self.resolution if self.supports_resolution else None  # type: ignore[attr-defined]
        if resolution is not None:
            resolution.check(problem.objectives, problem.maximise)

    def solve(
        self,
        problem: SplitProblem,
        *,
        seed: int | None = None,
        time_limit: float | None = None,
        progress: ProgressCallback | None = None,
    ) -> Front:
        """Solve `problem` and return its front (see :func:`moosplit.solve`)."""
        seed, time_limit = check_run(seed, time_limit)
        self.check(problem)
        context = SolveContext(self.name, seed, time_limit, progress)
        return self._solve(problem, context)

    @abstractmethod
    def _solve(self, problem: SplitProblem, context: SolveContext) -> Front:
        """Backend-specific solving; must return a Front built by `Front.from_plans`."""


SEED = Number(whole=True, at_least=0, optional=True)
TIME_LIMIT = Number(above=0, optional=True, unit="seconds")


def check_run(seed: object, time_limit: object) -> tuple[int | None, float | None]:
    """The run options every backend takes, checked: a seed >= 0 and a time limit > 0
    seconds, each or None."""
    return SEED("seed", seed), TIME_LIMIT("time_limit", time_limit)
