"""What `moosplit solve PROFILE` gives without `--solver`, on every bundled profile.

    python benchmarks/bench_defaults.py [--profiles resnet50,...] [--time-limit S]
                                        [--out table.md]

Issue 12's "defaults that work": each bundled profile with error columns (bits 2, 4, 6, 8,
16; 10 Mbit/s, rtt 20 ms; latency_ms + error), without a memory bound and under
bench_exact.py's bound (every weight at 6 bits plus three of the largest activations at 8
bits), solved as the command line does without `--solver`: the default backend (`epsilon`
at `error=x1.1,1%`), and where it refuses, `nsga2` in the time left
(`moosplit.solvers.registry.solve_or_fall_back`, seed 0). Each row says which backend
answered, its status, front size, guarantee and the wall time of both.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import moosplit
from moosplit.solvers.registry import FALLBACK_SOLVER, default_solver, solve_or_fall_back

sys.path.insert(0, str(Path(__file__).parent))
from common import bounded, measured, report  # noqa: E402

NETWORK = moosplit.Network(bandwidth_mbps=10.0, rtt_ms=20.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--profiles", default=None,
                        help="comma-separated bundled profiles (default: all with error "
                             "columns)")
    parser.add_argument("--time-limit", type=float, default=None,
                        help="seconds per problem (default: none, as the command line)")
    parser.add_argument("--out", default=None, help="markdown file to write the table to")
    args = parser.parse_args()
    names = args.profiles.split(",") if args.profiles else moosplit.bundled_profiles()
    lines = ["| profile | memory bound | answered by | status | points | time (s) | guarantee "
             "| epsilon's refusal |", "|---|---|---|---|---|---|---|---|"]
    for name in names:
        profile = moosplit.load_profile(name)
        free = moosplit.SplitProblem(profile, NETWORK)
        if free.bit_set == (16,):
            continue  # no error columns: error is 0 for every plan
        for label, problem in (("none", free),
                               ("bench_exact's", bounded(profile, free.objectives, NETWORK))):
            start = time.perf_counter()
            answer = solve_or_fall_back(problem, default_solver(), FALLBACK_SOLVER, seed=0,
                                        time_limit=args.time_limit)
            seconds = time.perf_counter() - start
            front = answer.front
            refusal = ("-" if answer.refusal is None
                       else answer.refusal.split(": ", 1)[-1].split(", more than")[0])
            guarantee = front.guarantee.describe(problem.objectives)
            lines.append(f"| {name} | {label} | {answer.solver} | {front.status.value} | "
                         f"{len(front)} | {seconds:.2f} | {guarantee} | {refusal} |")
            print(lines[-1], flush=True)
    header = measured("10 Mbit/s, rtt 20 ms, latency_ms + error, bits 2,4,6,8,16, the "
                      "command line's default backend and fallback")
    report(header, "\n".join(lines), args.out, "Defaults")


if __name__ == "__main__":
    main()
