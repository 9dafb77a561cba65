"""What the benchmark scripts share: the problems they build, the machine line, the output."""

from __future__ import annotations

import os
import platform
import sys
from datetime import date
from pathlib import Path

import moosplit
from moosplit.profilers.builder import cpu_model

TARGET_MAX_LABELS = 20_000_000
"""max_labels for reference fronts that must finish rather than refuse (memory permitting)."""


def bounded(profile: moosplit.Profile, objectives: tuple[str, ...],
            network: moosplit.Network) -> moosplit.SplitProblem:
    """Memory bound: every weight at 6 bits plus three of the largest activations at 8."""
    memory = profile.weight_elems.sum() * 6 / 8 + 3 * profile.out_elems.max()
    return moosplit.SplitProblem(profile, network, objectives=objectives,
                                 constraints={"memory_bytes": float(memory)})


def generated(n: int, objectives: tuple[str, ...]) -> moosplit.SplitProblem:
    """The generated DAG of n nodes (bits 2, 4, 6, 8 and 16), 1 Mbit/s, rtt 5 ms, bounded."""
    profile = moosplit.random_profile(n, kind="dag", bits=(2, 4, 6, 8), seed=1)
    return bounded(profile, objectives, moosplit.Network(bandwidth_mbps=1.0, rtt_ms=5.0))


def machine() -> str:
    """One line naming the CPU, cores and versions, for a table's header."""
    import ortools
    return (f"{cpu_model()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"OR-Tools {ortools.__version__}, moosplit {moosplit.__version__}")


def measured(details: str) -> str:
    """A table's header: the date, the machine, `details` and the command that ran."""
    script = Path(sys.argv[0]).name
    return (f"Measured {date.today().isoformat()} on {machine()}; {details}; "
            f"`python benchmarks/{script} {' '.join(sys.argv[1:])}`.")


def report(header: str, table: str, out: str | None, heading: str | None = None) -> None:
    """Print the header and table; with `out`, also write them (under `heading`) there."""
    print(header)
    print(table)
    if out:
        title = f"## {heading}\n\n" if heading else ""
        Path(out).write_text(f"{title}{header}\n\n{table}\n")
