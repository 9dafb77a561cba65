"""Progress reports of long runs (solving, sweeping, profiling): one type for all.

Library code never prints; it calls a progress callback, if one is given, and the
command line shows the reports.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Progress:
    """A progress report: `done` of `total` units (plans, solves, generations, runs).

    solver: who reports (a backend's name, "sweep", "profile", ...). note: what is being
    done now, when the counts do not say it (the backend a comparison runs, the setting a
    sweep solves); empty otherwise.
    """

    solver: str
    done: int
    total: int | None
    unit: str
    elapsed_s: float
    note: str = ""


ProgressCallback = Callable[[Progress], None]


class Reporter:
    """Sends `Progress` reports for one piece of work, timed from the reporter's creation;
    does nothing without a callback.

    Example:
        >>> reports = []
        >>> report = Reporter(reports.append, "profile", "runs")
        >>> report(1, 4)
        >>> reports[0].done, reports[0].total, reports[0].unit
        (1, 4, 'runs')
    """

    def __init__(self, callback: ProgressCallback | None, who: str, unit: str) -> None:
        self.callback, self.who, self.unit = callback, who, unit
        self.start = time.perf_counter()

    def __call__(self, done: int, total: int | None) -> None:
        """Report `done` of `total` units."""
        if self.callback is not None:
            self.callback(Progress(self.who, done, total, self.unit,
                                   time.perf_counter() - self.start))
