"""Packing cut tensors: pack and unpack time of b-bit activations (SPEC section 8).

    python benchmarks/bench_packing.py [--runs 20] [--bits 1,2,4,6,8,16] [--out table.md]

Two tensors: Auto-Split's (Table 6: 36 x 64 x 256 activations, 288 KB at 4 bits, packed
by channels in 0.01 s on a Xeon E5-2690 v4) and the bundled ResNet-50 profile's largest
activation (its `out_elems`), with ReLU-like float32 values (seed 0). Per bit-width, the
median of `runs` runs (after 2 warm-up runs) of: `pack` (codes to payload), `unpack`
(payload to codes), and the whole of each side, `quantise` + `pack` on the edge and
`unpack` + `dequantise` on the cloud. At 16 bits, "pack" is the float16 cast's bytes.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date

import numpy as np
from common import machine, report

import moosplit
from moosplit.deploy.packing import dequantise, pack, quantise, unpack

AUTOSPLIT_SHAPE = (36, 64, 256)


def median_ms(run: Callable[[], object], runs: int) -> float:
    """Median wall time of `run` in ms, after 2 warm-up runs."""
    for _ in range(2):
        run()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return 1000.0 * statistics.median(times)


def row(label: str, values: np.ndarray, bits: int, runs: int) -> str:
    """The table row of one tensor at one bit-width."""
    q = quantise(values, bits)
    payload = pack(q.codes, bits)
    count = values.size
    times = [
        median_ms(lambda: pack(q.codes, bits), runs),
        median_ms(lambda: unpack(payload, bits, count), runs),
        median_ms(lambda: pack(quantise(values, bits).codes, bits), runs),
        median_ms(lambda: dequantise(unpack(payload, bits, count), bits, q.scale,
                                     q.zero_point), runs),
    ]
    return (f"| {label} | {bits} | {len(payload) / 1024:,.1f} | "
            + " | ".join(f"{t:.2f}" for t in times) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--bits", default="1,2,4,6,8,16", help="comma-separated bit-widths")
    parser.add_argument("--out", default=None, help="markdown file to write the table to")
    args = parser.parse_args()
    bits_list = [int(b) for b in args.bits.split(",")]
    rng = np.random.default_rng(0)
    profile = moosplit.load_profile("resnet50")
    largest = int(np.argmax(profile.out_elems[1:])) + 1
    tensors = {
        f"Auto-Split 36x64x256 ({np.prod(AUTOSPLIT_SHAPE):,})": AUTOSPLIT_SHAPE,
        f"ResNet-50 `{profile.names[largest]}` ({int(profile.out_elems[largest]):,})":
            (int(profile.out_elems[largest]),),
    }
    lines = ["| tensor (elements) | bits | payload (KiB) | pack (ms) | unpack (ms) | "
             "quantise + pack (ms) | unpack + dequantise (ms) |",
             "|---|---|---|---|---|---|---|"]
    for label, shape in tensors.items():
        values = np.maximum(rng.normal(size=shape), 0).astype(np.float32)
        for bits in bits_list:
            lines.append(row(label, values, bits, args.runs))
            print(lines[-1], flush=True)
    header = (f"Measured {date.today().isoformat()} on {machine()}; numpy {np.__version__}; "
              f"median of {args.runs} runs after 2 warm-up runs; "
              f"`python benchmarks/bench_packing.py {' '.join(sys.argv[1:])}`.")
    report(header, "\n".join(lines), args.out, heading="Packing cut tensors")


if __name__ == "__main__":
    main()
