"""Front size and wall time of the exact backends (`epsilon`, `cpsat`); writes a table.

    python benchmarks/bench_exact.py [--time-limit 120] [--sizes 25,50,100,176,200,500,1000]
                                     [--out table.md]

It prints the table (and writes it with --out); docs/benchmarks.md holds the latest one
with a hand-written reading of it below.

Generated profiles: `moosplit.random_profile(n, kind="dag", bits=(2, 4, 6, 8), seed=1)`
(bits {2, 4, 6, 8, 16}), 1 Mbit/s, rtt 5 ms, memory bound = every weight at 6 bits plus
three of the largest activations at 8 bits. Problems: latency_ms + error certified at 0.1%
(the issue's 2-objective targets) and, at 176 nodes (ResNet-50-sized), latency_ms +
memory_bytes + error certified at 1%. Every bundled profile is solved for latency_ms +
edge_macs at 16 bits exactly (LMOS's split-only problem, 10 Mbit/s, rtt 20 ms) and, where it
has error columns, for latency_ms + error over all its bit-widths certified at 0.1% with the
same memory bound rule (the real ResNet-50 profile carries the issue's 5 s target; at 1%
with memory_bytes as a third objective, its 60 s target). Each run has a time limit; a run
that hits it is reported as such. On rows with a target, `epsilon` runs with max_labels
20 million and at least 300 s, so that a miss shows by how much rather than as a refusal.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from datetime import date

import moosplit
from moosplit.profilers.builder import cpu_model

TARGETS = {  # (nodes, objectives, resolution) -> seconds, from the issue
    (176, ("latency_ms", "error"), 0.001): 5.0,
    (176, ("latency_ms", "memory_bytes", "error"), 0.01): 60.0,
    (1000, ("latency_ms", "error"), 0.001): 30.0,
}


def bounded(profile: moosplit.Profile, objectives: tuple[str, ...],
            network: moosplit.Network) -> moosplit.SplitProblem:
    """Memory bound: every weight at 6 bits plus three of the largest activations at 8."""
    memory = profile.weight_elems.sum() * 6 / 8 + 3 * profile.out_elems.max()
    return moosplit.SplitProblem(profile, network, objectives=objectives,
                                 constraints={"memory_bytes": float(memory)})


REAL_TARGETS = {("resnet50", 2): 5.0, ("resnet50", 3): 60.0}  # the ResNet-50 targets


def generated(n: int, objectives: tuple[str, ...]) -> moosplit.SplitProblem:
    profile = moosplit.random_profile(n, kind="dag", bits=(2, 4, 6, 8), seed=1)
    return bounded(profile, objectives, moosplit.Network(bandwidth_mbps=1.0, rtt_ms=5.0))


TARGET_MAX_LABELS = 20_000_000


def run(problem, solver: str, resolution, time_limit: float, target=None) -> dict:
    options = {} if resolution is None else {"resolution": resolution}
    if target is not None and solver == "epsilon":
        options["max_labels"] = TARGET_MAX_LABELS
        time_limit = max(time_limit, 300.0)
    start = time.perf_counter()
    try:
        front = moosplit.solve(problem, solver, time_limit=time_limit, **options)
    except moosplit.UnsupportedProblemError as exc:
        return {"status": "refused", "points": "-", "time_s": time.perf_counter() - start,
                "note": str(exc).split(";")[0]}
    return {"status": front.status.value, "points": len(front),
            "time_s": time.perf_counter() - start, "note": front.guarantee.describe(
                problem.objectives) if front.guarantee.kind != "exact" else "exact"}


def machine() -> str:
    import ortools
    return (f"{cpu_model()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"OR-Tools {ortools.__version__}, moosplit {moosplit.__version__}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--time-limit", type=float, default=120.0)
    parser.add_argument("--sizes", default="25,50,100,176,200,500,1000",
                        help="generated DAG sizes ('' for none: bundled profiles only)")
    parser.add_argument("--profiles", default=None,
                        help="comma-separated bundled profiles (default: all)")
    parser.add_argument("--out", default=None, help="markdown file to write the table to")
    args = parser.parse_args()
    rows = []
    sizes = [int(n) for n in args.sizes.split(",") if n.strip()]
    cases = [(n, ("latency_ms", "error"), 0.001) for n in sizes]
    if 176 in sizes:
        cases.append((176, ("latency_ms", "memory_bytes", "error"), 0.01))
    for n, objectives, resolution in cases:
        problem = generated(n, objectives)
        target = TARGETS.get((n, objectives, resolution))
        for solver in ("epsilon", "cpsat"):
            result = run(problem, solver, resolution, args.time_limit, target)
            rows.append((f"random DAG, {n} nodes", "+".join(objectives), resolution, solver,
                         result, target))
            print(rows[-1], flush=True)
    network = moosplit.Network(10.0, rtt_ms=20.0)
    names = args.profiles.split(",") if args.profiles else moosplit.bundled_profiles()
    for name in names:
        profile = moosplit.load_profile(name)
        cases = [(moosplit.SplitProblem(profile, network, objectives=("latency_ms", "edge_macs"),
                                        bits=(16,)), None, None)]
        if len(profile.bit_widths) > 1:
            cases.append((bounded(profile, ("latency_ms", "error"), network), 0.001,
                          REAL_TARGETS.get((name, 2))))
            if (name, 3) in REAL_TARGETS:
                cases.append((bounded(profile, ("latency_ms", "memory_bytes", "error"),
                                      network), 0.01, REAL_TARGETS[(name, 3)]))
        for problem, resolution, target in cases:
            label = "+".join(problem.objectives)
            bits = ",".join(map(str, problem.bit_set))
            for solver in ("epsilon", "cpsat"):
                rows.append((f"{name} (bits {bits})", label, resolution, solver,
                             run(problem, solver, resolution, args.time_limit, target), target))
                print(rows[-1], flush=True)
    lines = [
        "| problem | objectives | resolution | solver | status | points | time (s) | "
        "target (s) | guarantee / note |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for problem, objectives, resolution, solver, r, target in rows:
        hit = "" if target is None else (f"{target:g} " + ("met" if r["status"] == "optimal"
                                                           and r["time_s"] <= target
                                                           else "missed"))
        lines.append(f"| {problem} | {objectives} | {resolution if resolution else 'exact'} | "
                     f"{solver} | {r['status']} | {r['points']} | {r['time_s']:.2f} | {hit} | "
                     f"{r['note']} |")
    table = "\n".join(lines)
    header = (f"Measured {date.today().isoformat()} on {machine()}; time limit "
              f"{args.time_limit:g} s per run (rows with a target: epsilon at least 300 s "
              f"and max_labels {TARGET_MAX_LABELS:,}); "
              f"`python benchmarks/bench_exact.py {' '.join(sys.argv[1:])}`.")
    print(header)
    print(table)
    if args.out:
        with open(args.out, "w") as handle:
            handle.write(f"## Exact backends\n\n{header}\n\n{table}\n")


if __name__ == "__main__":
    main()
