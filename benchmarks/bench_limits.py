"""Time limits on big inputs: every backend on a 20,000-node chain with --time-limit 5.

    python benchmarks/bench_limits.py [--nodes 20000 | --nodes 5000,10000,20000]
                                      [--time-limit 5] [--out table.md]

Each backend runs in its own process (so that its peak memory is its own) on
`moosplit.random_profile(n, kind="chain", bits=(2, 4, 8), seed=0)`, 1 Mbit/s, objectives
latency_ms + error, memory bound = every weight at 6 bits plus three of the largest
activations at 8 bits; the exact backends at the default resolution; in prefix mode, or in
cut mode for a backend that has only cut mode (`dads`). The issue's target: every backend
returns within 1.2 x the limit + 1 s, with memory that grows linearly in the nodes. Wall
time counts the solve only (the profile is built before the clock starts); peak memory is
the process's maximum resident set, profile included. With several sizes a second table
gives each backend's peak memory per size and its growth per 1,000 nodes between
consecutive sizes: about constant where memory grows linearly.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from itertools import pairwise

from common import measured, report

import moosplit

CHILD = """
import json, resource, sys, time
import moosplit
n, solver, limit = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
profile = moosplit.random_profile(n, kind="chain", bits=(2, 4, 8), seed=0)
memory = float(profile.weight_elems.sum() * 6 / 8 + 3 * profile.out_elems.max())
cls = moosplit.available_solvers()[solver]
problem = moosplit.SplitProblem(profile, moosplit.Network(bandwidth_mbps=1.0),
                                objectives=("latency_ms", "error"),
                                constraints={"memory_bytes": memory},
                                mode="prefix" if "prefix" in cls.modes else "cut")
options = {"resolution": moosplit.solvers.registry.DEFAULT_RESOLUTION} \\
    if cls.supports_resolution else {}
start = time.perf_counter()
try:
    front = moosplit.solve(problem, solver, time_limit=limit, **options)
    outcome = f"{front.status.value}, {len(front)} point(s), {front.guarantee.kind.value}"
except moosplit.UnsupportedProblemError as exc:
    outcome = "refused: " + str(exc).split(";")[0][:90]
wall = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
print(json.dumps({"wall": wall, "peak_gib": peak, "outcome": outcome}))
"""


def run(nodes: int, solver: str, time_limit: float) -> dict | str:
    """One backend on the chain of `nodes` nodes in its own process: wall time, peak
    memory and outcome, or the last line of its error output if it failed."""
    allowed = 1.2 * time_limit + 1.0
    done = subprocess.run([sys.executable, "-c", CHILD, str(nodes), solver, str(time_limit)],
                          capture_output=True, text=True, timeout=20 * allowed + 120)
    if done.returncode:
        return done.stderr.strip().splitlines()[-1][:90]
    return json.loads(done.stdout.strip().splitlines()[-1])


def growth_table(sizes: list[int], peaks: dict[str, dict[int, float]]) -> str:
    """Peak memory per backend and size, and its growth per 1,000 nodes between sizes."""
    steps = list(pairwise(sizes))
    lines = ["| backend | " + " | ".join(f"peak at {n:,} (GiB)" for n in sizes) + " | "
             + " | ".join(f"MiB per 1,000 nodes, {a:,}-{b:,}" for a, b in steps) + " |",
             "|---" * (1 + len(sizes) + len(steps)) + "|"]
    for solver, peak in peaks.items():
        cells = [f"{peak[n]:.2f}" if n in peak else "-" for n in sizes]
        cells += [f"{(peak[b] - peak[a]) * 1024 / (b - a) * 1000:.1f}"
                  if a in peak and b in peak else "-" for a, b in steps]
        lines.append(f"| {solver} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--nodes", default="20000",
                        help="chain size, or several comma-separated (e.g. 5000,10000,20000)")
    parser.add_argument("--time-limit", type=float, default=5.0)
    parser.add_argument("--out", default=None, help="markdown file to write the table to")
    args = parser.parse_args()
    sizes = sorted(int(n) for n in args.nodes.split(","))
    allowed = 1.2 * args.time_limit + 1.0
    lines = ["| backend | nodes | wall (s) | within 1.2 x limit + 1 s | peak memory (GiB) | "
             "outcome |", "|---|---|---|---|---|---|"]
    peaks: dict[str, dict[int, float]] = {}
    for solver in moosplit.available_solvers():
        for nodes in sizes:
            r = run(nodes, solver, args.time_limit)
            if isinstance(r, str):
                lines.append(f"| {solver} | {nodes:,} | - | - | - | failed: {r} |")
            else:
                peaks.setdefault(solver, {})[nodes] = r["peak_gib"]
                lines.append(f"| {solver} | {nodes:,} | {r['wall']:.2f} | "
                             f"{'yes' if r['wall'] <= allowed else 'NO'} | "
                             f"{r['peak_gib']:.2f} | {r['outcome']} |")
            print(lines[-1], flush=True)
    table = "\n".join(lines)
    if len(sizes) > 1:
        table += "\n\n" + growth_table(sizes, peaks)
    header = measured(f"{', '.join(f'{n:,}' for n in sizes)}-node chain, time limit "
                      f"{args.time_limit:g} s (allowed {allowed:g} s)")
    report(header, table, args.out)


if __name__ == "__main__":
    main()
