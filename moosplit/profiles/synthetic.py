"""Random profiles (chains and DAGs with skip connections) for tests and benchmarks."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .profile import Profile
from .schema import REFERENCE_BITS, bit_latency_column

_WEIGHTED_OPS = ("conv", "dwconv", "linear")
_WEIGHTLESS_OPS = ("relu", "pool")


def random_profile(
    n_nodes: int,
    *,
    kind: str = "chain",
    bits: tuple[int, ...] = (2, 4, 8),
    bit_latency: bool = False,
    energy: bool = False,
    batch: int = 1,
    skip_probability: float = 0.3,
    seed: int | None = None,
) -> Profile:
    """A random but plausible profile with `n_nodes` nodes after the input row.

    kind: "chain" (each node reads the one before) or "dag" (residual adds and concats:
    with probability `skip_probability` a node also reads a random earlier node, and some
    nodes start a parallel branch). Output sizes go up and down, so some splits are
    natural bottlenecks. Errors fall with bit-width; `bit_latency` adds
    `edge_ms_w{bw}a{ba}` columns (lower bits are faster); `energy` adds `edge_mj`.

    Example:
        >>> random_profile(6, kind="dag", seed=1).n_nodes
        6
    """
    if kind not in ("chain", "dag"):
        raise ValueError(f"kind must be 'chain' or 'dag', got {kind!r}")
    if n_nodes < 1:
        raise ValueError(f"n_nodes must be >= 1, got {n_nodes}")
    rng = np.random.default_rng(seed)
    bits = tuple(sorted(set(bits) - {REFERENCE_BITS}))
    input_elems = int(rng.integers(500, 3000))
    names = ["input"] + [f"n{i}" for i in range(1, n_nodes + 1)]
    inputs: list[list[int]] = [[]]
    ops = ["input"]
    for i in range(1, n_nodes + 1):
        preds = [i - 1]
        if kind == "dag" and i >= 3:
            if rng.random() < skip_probability:
                preds.append(int(rng.integers(0, i - 1)))  # skip connection
            elif rng.random() < 0.2:
                preds = [int(rng.integers(max(0, i - 4), i - 1))]  # start a parallel branch
        inputs.append(sorted(set(preds)))
        if len(preds) > 1:
            ops.append(str(rng.choice(["add", "concat"])))
        else:
            ops.append(str(rng.choice(_WEIGHTED_OPS + _WEIGHTLESS_OPS, p=[.4, .15, .15, .2, .1])))
    weighted = np.array([op in _WEIGHTED_OPS for op in ops])
    scale = np.exp(rng.normal(0.0, 0.8, n_nodes + 1))
    out_elems = np.maximum(1, (input_elems * scale * rng.uniform(0.2, 2.0))).astype(np.int64)
    out_elems[0] = input_elems
    weight_elems = np.where(weighted, rng.integers(50, 5000, n_nodes + 1), 0)
    macs = np.where(weighted, weight_elems * rng.integers(4, 64, n_nodes + 1),
                    out_elems).astype(np.int64)
    macs[0] = 0
    edge_ms = np.round(macs * rng.uniform(2e-5, 5e-5, n_nodes + 1) + rng.uniform(0.01, 0.3,
                       n_nodes + 1), 6)
    cloud_ms = np.round(edge_ms * rng.uniform(0.05, 0.3, n_nodes + 1), 6)
    edge_ms[0] = cloud_ms[0] = 0.0
    data: dict[str, object] = dict(
        name=names, op=ops, inputs=[" ".join(names[p] for p in preds) for preds in inputs],
        out_elems=out_elems, weight_elems=weight_elems, macs=macs,
        edge_ms=edge_ms, cloud_ms=cloud_ms,
    )
    sensitivity_w = np.where(weighted, rng.lognormal(-2.0, 1.0, n_nodes + 1), 0.0)
    sensitivity_a = rng.lognormal(-3.0, 1.0, n_nodes + 1)
    sensitivity_w[0] = sensitivity_a[0] = 0.0
    for b in bits:
        # uniform quantisation noise falls by 4x per extra bit; jitter keeps values distinct
        data[f"werr_b{b}"] = np.round(sensitivity_w * 4.0 ** (-(b - 2))
                                      * rng.uniform(0.9, 1.1, n_nodes + 1), 9)
        data[f"aerr_b{b}"] = np.round(sensitivity_a * 4.0 ** (-(b - 2))
                                      * rng.uniform(0.9, 1.1, n_nodes + 1), 9)
    if bit_latency:
        widths = (*bits, REFERENCE_BITS)
        for bw in widths:
            for ba in widths:
                if bw == ba == REFERENCE_BITS:
                    continue
                factor = 0.5 + 0.5 * (np.where(weighted, bw, REFERENCE_BITS) + ba) / (
                    2 * REFERENCE_BITS)
                data[bit_latency_column(bw, ba)] = np.round(edge_ms * factor, 6)
    if energy:
        edge_mj = np.round(edge_ms * rng.uniform(1.0, 3.0, n_nodes + 1), 6)
        edge_mj[0] = 0.0
        data["edge_mj"] = edge_mj
    metadata = {"model": f"random {kind}, {n_nodes} nodes, seed {seed}", "batch": str(batch),
                "source": "moosplit.profiles.random_profile (synthetic, not a real model)"}
    return Profile.from_frame(pd.DataFrame(data), metadata, source=f"random_{kind}_{seed}")
