"""The two profiler front ends on the same model: rows, sizes, MACs and host latency totals.

    python benchmarks/bench_front_ends.py [--models resnet50,efficientnet_lite0]
                                          [--rounds 3] [--runs 10] [--out table.md]

Each model is a built-in architecture (random BatchNorm statistics, seed 3, so that folding
changes the weights; EfficientNet-Lite0 keeps its trained weights otherwise), traced by the
torch front end and, exported with ``torch.onnx.export``, read by the ONNX front end, both
fused (the default). Rows are compared as multisets of (op, out_elems, weight_elems,
MACs). Latency: `rounds` alternating measurements of each front end's ``time_nodes``
(3 warm-up runs, median of `runs`), one thread; the table gives each round's totals.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import warnings
from collections import Counter
from datetime import date

import numpy as np
import torch
from common import machine, report

from moosplit.profilers.architectures import ARCHITECTURES, build_architecture
from moosplit.profilers.onnx_model import load_onnx
from moosplit.profilers.torch_model import trace_module
from moosplit.testing.torch_models import randomise_batchnorms


def rows(graph) -> Counter:
    """The rows as a multiset of (op, out_elems, weight_elems, MACs)."""
    return Counter(zip(graph.ops, graph.out_elems.tolist(), graph.weight_elems.tolist(),
                       graph.macs.tolist(), strict=True))


def compare(name: str, rounds: int, runs: int) -> str:
    """One table row for model `name`."""
    info = ARCHITECTURES[name]
    shape = (1, *info.input_shape)
    net = build_architecture(name)
    if info.weights is None:
        net = randomise_batchnorms(net, seed=3)
    torch_runner = trace_module(net, shape)
    with tempfile.TemporaryDirectory() as folder, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        path = os.path.join(folder, f"{name}.onnx")
        torch.onnx.export(net, (torch.randn(shape),), path, dynamo=False,
                          input_names=["x"], output_names=["y"])
        onnx_runner = load_onnx(path)
    a, b = torch_runner.graph, onnx_runner.graph
    same = "yes" if rows(a) == rows(b) else f"no ({sum((rows(a) - rows(b)).values())} differ)"
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    ratios, totals = [], []
    for _ in range(rounds):
        ta = torch_runner.time_nodes(x, warmup=3, runs=runs).sum()
        tb = onnx_runner.time_nodes(x, warmup=3, runs=runs).sum()
        ratios.append(ta / tb)
        totals.append(f"{ta:.1f} / {tb:.1f}")
    print(f"{name}: {torch_runner.timing}", file=sys.stderr)
    return (f"| {name} | {a.n_rows} / {b.n_rows} | {same} | {'; '.join(totals)} | "
            f"{min(ratios):.3f} to {max(ratios):.3f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default="resnet50,efficientnet_lite0")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--out")
    args = parser.parse_args()
    lines = ["| model | rows (torch / ONNX) | same rows, sizes and MACs | total ms per round "
             "(torch / ONNX) | torch / ONNX |", "|---|---|---|---|---|"]
    lines += [compare(name, args.rounds, args.runs) for name in args.models.split(",")]
    header = (f"Measured {date.today().isoformat()} on {machine()}; torch {torch.__version__}; "
              f"`python benchmarks/bench_front_ends.py --models {args.models} --rounds "
              f"{args.rounds} --runs {args.runs}`.")
    report(header, "\n".join(lines), args.out, heading="The two front ends")


if __name__ == "__main__":
    main()
