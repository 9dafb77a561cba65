"""The fastest plan under error and memory budgets: `epsilon` (exact) against `lagrangian`.

    python benchmarks/bench_budgeted.py [--bandwidths 1,3,10,30,50]
                                        [--errors 0.01,0.03,0.3,1] [--memory-mib 8]
                                        [--rtt-ms 0] [--time-limit 60] [--out table.md]

Issue 12's bandwidth sweep: the bundled ResNet-50 profile, bits {2, 4, 6, 8, 16}, edge
memory <= 8 MiB and error <= each budget, at each bandwidth; no rtt by default, as
bench_exact.py's budgeted row (a round trip adds the same to every plan, so it moves no
optimum). Each query is a problem with one objective (latency_ms) and those constraints:
`epsilon` answers it exactly (status, latency and wall time; a refusal is shown with the
label count it would have needed), and `lagrangian` (Auto-Split's method) gives its best
plan meeting the budgets. The last column is lagrangian's latency over epsilon's: above 1
where the exact optimum is faster than the heuristic's plan.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

import moosplit

sys.path.insert(0, str(Path(__file__).parent))
from common import measured, report  # noqa: E402

MIB = 2**20


def query(profile: moosplit.Profile, bandwidth: float, rtt_ms: float, max_error: float,
          memory_mib: float) -> moosplit.SplitProblem:
    """The fastest plan with error <= max_error and memory <= memory_mib MiB."""
    return moosplit.SplitProblem(profile, moosplit.Network(bandwidth, rtt_ms=rtt_ms),
                                 objectives=("latency_ms",), bits=(2, 4, 6, 8, 16),
                                 constraints={"error": max_error,
                                              "memory_bytes": memory_mib * MIB})


def run(problem: moosplit.SplitProblem, solver: str, time_limit: float) -> dict:
    """Status, latency of the best plan (None: none) and wall time of one query."""
    start = time.perf_counter()
    try:
        front = moosplit.solve(problem, solver, time_limit=time_limit)
    except moosplit.UnsupportedProblemError as exc:
        labels = re.search(r"would need ([\d,]+) labels", str(exc))
        return {"status": "refused" + (f" ({labels.group(1)} labels)" if labels else ""),
                "latency": None, "time_s": time.perf_counter() - start}
    return {"status": front.status.value,
            "latency": float(front.F[:, 0].min()) if len(front) else None,
            "time_s": time.perf_counter() - start}


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bandwidths", default="1,3,10,30,50", help="Mbit/s, comma-separated")
    parser.add_argument("--errors", default="0.01,0.03,0.3,1",
                        help="error budgets, comma-separated")
    parser.add_argument("--memory-mib", type=float, default=8.0)
    parser.add_argument("--rtt-ms", type=float, default=0.0)
    parser.add_argument("--profile", default="resnet50", help="a bundled profile")
    parser.add_argument("--time-limit", type=float, default=60.0, help="seconds per query")
    parser.add_argument("--out", default=None, help="markdown file to write the table to")
    args = parser.parse_args()
    profile = moosplit.load_profile(args.profile)
    lines = ["| Mbit/s | error <= | epsilon status | epsilon latency (ms) | epsilon time (s) "
             "| lagrangian latency (ms) | lagrangian time (s) | lagrangian / epsilon |",
             "|---|---|---|---|---|---|---|---|"]
    for bandwidth in (float(b) for b in args.bandwidths.split(",")):
        for budget in (float(e) for e in args.errors.split(",")):
            problem = query(profile, bandwidth, args.rtt_ms, budget, args.memory_mib)
            exact = run(problem, "epsilon", args.time_limit)
            heuristic = run(problem, "lagrangian", args.time_limit)
            ratio = ("-" if exact["latency"] is None or heuristic["latency"] is None
                     else f"{heuristic['latency'] / exact['latency']:.3f}")
            lines.append(f"| {bandwidth:g} | {budget:g} | {exact['status']} | "
                         f"{_ms(exact['latency'])} | {exact['time_s']:.2f} | "
                         f"{_ms(heuristic['latency'])} | {heuristic['time_s']:.2f} | {ratio} |")
            print(lines[-1], flush=True)
    header = measured(f"{args.profile}, bits 2,4,6,8,16, memory <= {args.memory_mib:g} MiB, "
                      f"rtt {args.rtt_ms:g} ms, time limit {args.time_limit:g} s per query, "
                      "default max_labels")
    report(header, "\n".join(lines), args.out, "Budgeted queries")


if __name__ == "__main__":
    main()
