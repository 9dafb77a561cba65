"""How the command line shows things: front tables and progress on stderr."""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pandas as pd

from ..errors import ProblemError
from ..problems.quantities import QUANTITIES
from ..progress import Progress
from ..results.front import Front


@contextmanager
def writing(path: str, option: str = "--out") -> Iterator[None]:
    """Report a failed write of `path` (a full disk, /dev/full) as bad input naming the
    option and file; a closed standard output (BrokenPipeError) passes through."""
    try:
        yield
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise ProblemError(f"{option} {path}: cannot be written ({exc.strerror or exc})"
                           ) from None


def _short(text: str, width: int = 36) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def _bits(bits_w: str, bits_a: str) -> str:
    """Per edge node 'w/a' (weight/activation bits; '-' for a node without weights)."""
    pairs = [f"{w}/{a}" for w, a in zip(bits_w.split(), bits_a.split(), strict=True)]
    return _short(" ".join(pairs), 48) if pairs else "-"


def front_table(front: Front) -> str:
    """The front as a fixed-width table for a terminal."""
    if len(front) == 0:
        return "(empty front)"
    frame = front.to_frame()
    if front.problem.mode == "prefix":
        edge = pd.Series([nodes.split()[-1] if nodes else "-" for nodes in frame["edge_nodes"]],
                         name="last_edge_node")
    else:
        edge = pd.Series([_short(n, 40) if n else "-" for n in frame["edge_nodes"]],
                         name="edge_nodes")
    objectives = list(front.objectives)
    others = [q for q in QUANTITIES if q not in objectives
              and np.isfinite(frame[q]).any()]
    table = pd.concat([frame[["split"]], edge, frame[objectives + others]], axis=1)
    table["bits_w/a"] = [_bits(w, a) for w, a in zip(frame["bits_w"], frame["bits_a"],
                                                     strict=True)]
    if (frame["codec"] != "none").any():
        table["codec"] = frame["codec"]
    return table.to_string(index=False, float_format=lambda v: f"{v:.6g}")


class ProgressPrinter:
    """A progress callback that writes to stderr once a run has lasted `after_s` seconds.

    On a terminal it rewrites one line; otherwise it prints a line at most every
    `every_s` seconds, so logs stay short. A report with a new note (the next backend of a
    comparison, the next setting of a sweep) is always shown.
    """

    def __init__(self, after_s: float = 1.0, every_s: float = 10.0) -> None:
        self.after_s = after_s
        self.every_s = every_s
        self.tty = sys.stderr.isatty()
        self.last = -math.inf
        self.shown = False
        self.note = ""

    def __call__(self, progress: Progress) -> None:
        news = bool(progress.note) and progress.note != self.note  # a new step: always shown
        self.note = progress.note or self.note
        if not news and progress.elapsed_s < self.after_s:
            return
        now = time.monotonic()
        if not news and not self.tty and now - self.last < self.every_s:
            return
        self.last = now
        if progress.total:
            share = f"{progress.done:,}/{progress.total:,} {progress.unit} " \
                    f"({100 * progress.done / progress.total:.0f}%)"
        else:
            share = f"{progress.done:,} {progress.unit}"
        line = f"[{progress.solver}] {share}, {progress.elapsed_s:.1f} s" + (
            f": {progress.note}" if progress.note else "")
        if self.tty:
            print("\r" + line, end="", file=sys.stderr, flush=True)
            self.shown = True
        else:
            print(line, file=sys.stderr, flush=True)

    def close(self) -> None:
        """End the rewritten line, if one was shown."""
        if self.shown:
            print(file=sys.stderr)
