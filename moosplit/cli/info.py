"""`moosplit info`: what a profile holds, and its natural bottlenecks."""

from __future__ import annotations

import argparse

import numpy as np

from ..costs import weight_bytes
from ..profiles.bundled import load_profile
from ..profiles.schema import REFERENCE_BITS
from ..workflows.dynamic import natural_bottlenecks, prefix_tx_bytes

__all__ = ["add_parser", "natural_bottlenecks", "prefix_tx_bytes", "run"]


COMMAND = "info"
"""The command this module implements."""


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the `info` command."""
    parser = sub.add_parser(COMMAND, help="describe a profile and its natural bottlenecks",
                            description="Describe a profile: size, costs, bit-widths, "
                            "metadata, and the natural bottlenecks (prefix splits whose "
                            "transmitted tensors are smaller than the raw input).")
    parser.add_argument("profile", metavar="PROFILE", help="profile CSV path or bundled name")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Execute `moosplit info`."""
    profile = load_profile(args.profile)
    ops: dict[str, int] = {}
    for op in profile.ops[1:]:
        ops[op] = ops.get(op, 0) + 1
    lines = [
        f"profile: {profile.source}",
        f"model: {profile.metadata.get('model', '(not stated)')}",
        f"nodes: {profile.n_nodes} ({'chain' if profile.is_chain else 'DAG'}; "
        + ", ".join(f"{k} {v}" for k, v in sorted(ops.items())) + ")",
        f"batch: {profile.batch}",
        f"raw input: {int(profile.out_elems[0]):,} elements per sample at "
        f"{profile.input_bits} bits = {profile.input_bytes:,.0f} bytes per inference",
        f"outputs (sinks): {', '.join(profile.names[i] for i in np.flatnonzero(profile.sinks))}",
        f"total MACs: {int(profile.macs.sum()):,}",
        f"total weights: {int(profile.weight_elems.sum()):,} elements "
        f"({weight_bytes(profile.weight_elems.sum(), REFERENCE_BITS) / 2**20:.3g} MiB at 16 "
        "bits)",
        f"edge latency, all on edge: {profile.edge_ms.sum():.4g} ms; cloud: "
        f"{profile.cloud_ms.sum():.4g} ms",
        f"bit-widths: {', '.join(map(str, profile.bit_widths))}"
        + ("; edge latency depends on bit-width" if profile.edge_ms_bits else ""),
        f"edge energy column: {'yes' if profile.edge_mj is not None else 'no'}",
    ]
    bottlenecks = natural_bottlenecks(profile)
    tx = prefix_tx_bytes(profile)
    lines.append(f"edge-only sends the outputs: {tx[-1]:,.0f} bytes at 16 bits")
    lines.append(f"natural bottlenecks (splits 1..N-1 sending less than the raw input, "
                 f"activations at 16 bits): {len(bottlenecks)}")
    for n, name, size in bottlenecks:
        lines.append(f"  split {n:>4} after {name}: {size:,.0f} bytes "
                     f"({size / profile.input_bytes:.3g}x the input)")
    extra = {k: v for k, v in profile.metadata.items() if k not in ("model", "batch")}
    if extra:
        lines.append("metadata:")
        lines += [f"  {key}: {value}" for key, value in extra.items()]
    print("\n".join(lines))
    return 0
