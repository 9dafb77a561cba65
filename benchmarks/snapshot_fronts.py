"""Write the fronts of the benchmark problems to a folder, or compare two such folders.

    python benchmarks/snapshot_fronts.py write DIR [--quick]
    python benchmarks/snapshot_fronts.py compare BEFORE AFTER

A refactoring that should not change behaviour is checked by writing a snapshot before it
and one after, then comparing them: every front CSV must be identical cell for cell (same
plans, same numbers), and so must each run's status, guarantee and refusal message. The
problems are those of bench_exact.py (generated DAGs and every bundled profile) and
bench_heuristics.py (the bundled ResNet-50 problem), restricted to runs that are
deterministic: no time limits, seed 0, one CP-SAT worker. `--quick` leaves out the runs
that take more than a few seconds (the ResNet-50 target rows, cpsat on 176 nodes).

Only the public API is used, so the script runs on any version of moosplit.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import moosplit

sys.path.insert(0, str(Path(__file__).parent))
from common import TARGET_MAX_LABELS, bounded, generated  # noqa: E402


def cases(quick: bool) -> list[tuple[str, moosplit.SplitProblem, str, dict]]:
    """(name, problem, solver, options) of every snapshot run."""
    out = []
    for n in (25, 50, 100, 176, 1000):
        problem = generated(n, ("latency_ms", "error"))
        out.append((f"dag{n}_lat_err_0.001_epsilon", problem, "epsilon",
                    {"resolution": 0.001}))
        if n <= 50 or (n == 176 and not quick):
            out.append((f"dag{n}_lat_err_0.001_cpsat", problem, "cpsat", {"resolution": 0.001}))
    problem = generated(176, ("latency_ms", "memory_bytes", "error"))
    out.append(("dag176_lat_mem_err_0.01_epsilon", problem, "epsilon", {"resolution": 0.01}))
    problem = generated(25, ("latency_ms", "error"))
    out.append(("dag25_lat_err_exact_epsilon", problem, "epsilon", {}))
    out.append(("dag25_lat_err_exact_cpsat", problem, "cpsat", {}))
    network = moosplit.Network(10.0, rtt_ms=20.0)
    for name in moosplit.bundled_profiles():
        profile = moosplit.load_profile(name)
        split_only = moosplit.SplitProblem(profile, network, objectives=("latency_ms",
                                                                         "edge_macs"),
                                           bits=(16,))
        for solver in ("epsilon", "cpsat"):
            out.append((f"{name}_split_only_{solver}", split_only, solver, {}))
        if len(profile.bit_widths) > 1:
            problem = bounded(profile, ("latency_ms", "error"), network)
            options = {"resolution": 0.001}
            if name == "resnet50":
                if quick:
                    continue
                options["max_labels"] = TARGET_MAX_LABELS
            out.append((f"{name}_lat_err_0.001_epsilon", problem, "epsilon", options))
    resnet = moosplit.load_profile("resnet50")
    problem = bounded(resnet, ("latency_ms", "memory_bytes", "error"), network)
    if not quick:
        out.append(("resnet50_lat_mem_err_0.01_epsilon", problem, "epsilon",
                    {"resolution": 0.01}))
    problem = bounded(resnet, ("latency_ms", "error"), network)
    out.append(("resnet50_lat_err_0.01_epsilon", problem, "epsilon", {"resolution": 0.01}))
    for solver in ("lagrangian", "cloud_only", "edge_only", "uniform", "neurosurgeon", "qdmp"):
        out.append((f"resnet50_lat_err_{solver}", problem, solver, {}))
    out.append(("resnet50_lat_err_nsga2", problem, "nsga2", {}))
    out.append(("dag176_lat_err_nsga2_200", generated(176, ("latency_ms", "error")), "nsga2",
                {"n_gen": 200}))
    return out


def write(folder: Path, quick: bool) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    summary = {}
    for name, problem, solver, options in cases(quick):
        start = time.perf_counter()
        try:
            front = moosplit.solve(problem, solver, seed=0, **options)
        except moosplit.UnsupportedProblemError as exc:
            summary[name] = {"refused": str(exc)}
            (folder / f"{name}.csv").unlink(missing_ok=True)  # a stale front would differ
            print(f"{name}: refused ({time.perf_counter() - start:.1f} s)", flush=True)
            continue
        moosplit.write_front(front, folder / f"{name}.csv")
        summary[name] = {"status": front.status.value,
                         "guarantee": front.guarantee.describe(problem.objectives),
                         "points": len(front)}
        print(f"{name}: {len(front)} points, {time.perf_counter() - start:.1f} s", flush=True)
    (folder / "summary.json").write_text(json.dumps(summary, indent=1, sort_keys=True))


def compare(before: Path, after: Path) -> int:
    old = json.loads((before / "summary.json").read_text())
    new = json.loads((after / "summary.json").read_text())
    same = differ = 0
    for name in sorted(set(old) | set(new)):
        problems = []
        if old.get(name) != new.get(name):
            problems.append(f"summary {old.get(name)} -> {new.get(name)}")
        a, b = before / f"{name}.csv", after / f"{name}.csv"
        if a.exists() != b.exists() or (a.exists() and a.read_bytes() != b.read_bytes()):
            problems.append("front CSV differs")
        if problems:
            differ += 1
            print(f"DIFFERS {name}: {'; '.join(problems)}")
        else:
            same += 1
            points = old[name].get("points", "refused")
            print(f"same    {name} ({points} points)")
    print(f"{same} identical, {differ} different")
    return 1 if differ else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    w = sub.add_parser("write")
    w.add_argument("folder", type=Path)
    w.add_argument("--quick", action="store_true")
    c = sub.add_parser("compare")
    c.add_argument("before", type=Path)
    c.add_argument("after", type=Path)
    args = parser.parse_args()
    if args.command == "write":
        write(args.folder, args.quick)
        return 0
    return compare(args.before, args.after)


if __name__ == "__main__":
    sys.exit(main())
