"""Which rows keep their weight bits in `epsilon`'s labels under a memory bound, and why.

    python benchmarks/bench_weight_coupling.py [--profiles resnet50,...]
                                               [--resolution error=x1.01,0.1%]
                                               [--out table.md]

bench_exact.py's memory-bound problem (latency_ms + error, bits 2, 4, 6, 8, 16, 10 Mbit/s,
rtt 20 ms; every weight at 6 bits plus three of the largest activations at 8 bits), per
bundled profile with error columns: the rows with weights, those whose edge latency
ignores their weight bits (weight fronts take them out of the labels, docs/solvers.md),
those relaxed within latency's slack and the latency D they may hide, and the rows left
coupled, with how much their weight bits change their edge latency (the *spread*, at one
activation width). Read from the `BitDP` of a real `epsilon` run (stopped at once by
max_labels=1, so it takes seconds), and whether the run solves at the resolution.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

import moosplit
from moosplit.solvers.dp import bit_dp

sys.path.insert(0, str(Path(__file__).parent))
from common import bounded, measured, report  # noqa: E402

NETWORK = moosplit.Network(bandwidth_mbps=10.0, rtt_ms=20.0)


def first_dp(problem: moosplit.SplitProblem, resolution: str) -> bit_dp.BitDP:
    """The BitDP that `epsilon` builds first for its certified run of `problem`."""
    built: list[bit_dp.BitDP] = []
    init = bit_dp.BitDP.__init__

    def record(self, *args, **kwargs):
        init(self, *args, **kwargs)
        built.append(self)

    bit_dp.BitDP.__init__ = record
    try:
        moosplit.solve(problem, "epsilon", resolution=resolution, max_labels=1)
    except moosplit.UnsupportedProblemError:
        pass
    finally:
        bit_dp.BitDP.__init__ = init
    return next(dp for dp in built if dp.certified)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--profiles", default=None, help="comma-separated bundled profiles")
    parser.add_argument("--resolution", default="error=x1.01,0.1%")
    parser.add_argument("--out", default=None, help="markdown file to write the table to")
    args = parser.parse_args()
    names = args.profiles.split(",") if args.profiles else moosplit.bundled_profiles()
    lines = ["| profile | rows with weights | latency ignores bw | relaxed (D, ms) | "
             "coupled left | their spread, median / sum (ms) |",
             "|---|---|---|---|---|---|"]
    for name in names:
        profile = moosplit.load_profile(name)
        problem = bounded(profile, ("latency_ms", "error"), NETWORK)
        if problem.bit_set == (16,):
            continue
        dp = first_dp(problem, args.resolution)
        weighted = profile.has_weights
        free = weighted & (dp.weight_spread == 0)
        relaxed = dp.weights_out & ~free
        coupled = weighted & ~dp.weights_out
        spread = dp.weight_spread[coupled]
        lines.append(f"| {name} | {weighted.sum()} | {free.sum()} | {relaxed.sum()} "
                     f"({dp.relaxed_ms:.2g}) | {coupled.sum()} | "
                     f"{np.median(spread) if len(spread) else 0:.2g} / {spread.sum():.3g} |")
        print(lines[-1], flush=True)
    header = measured(f"bench_exact.py's memory bound, 10 Mbit/s, rtt 20 ms, resolution "
                      f"{args.resolution}")
    report(header, "\n".join(lines), args.out, "Weight bits in the labels")


if __name__ == "__main__":
    main()
