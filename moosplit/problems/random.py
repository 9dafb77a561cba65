"""Random problems over random profiles: the instances of tests and the conformance kit."""

from __future__ import annotations

import numpy as np

from ..costs import tensor_bits, tensor_bytes, weight_bytes
from ..profiles.synthetic import random_profile
from .problem import Network, SplitProblem


def random_problem(
    n_nodes: int,
    *,
    kind: str = "chain",
    mode: str = "prefix",
    objectives: tuple[str, ...] = ("latency_ms", "error"),
    bits: tuple[int, ...] = (2, 4, 8),
    bounded: bool = False,
    bit_latency: bool = False,
    batch: int = 1,
    seed: int | None = None,
) -> SplitProblem:
    """A random problem on :func:`moosplit.profiles.random_profile`.

    `bits` is the problem's bit set (16 is added to the profile, and kept in the problem
    only if listed). With `bounded`, memory and error limits are drawn between the
    cheapest and the dearest edge-only plans, so they bind for some plans but not all.

    Example:
        >>> random_problem(5, kind="dag", mode="cut", seed=2).mode
        'cut'
    """
    rng = np.random.default_rng(seed)
    profile = random_profile(n_nodes, kind=kind, bits=bits, bit_latency=bit_latency,
                             energy="energy_mj" in objectives, batch=batch,
                             seed=int(rng.integers(2**31)))
    # a bandwidth at which sending the raw input takes 0.3x to 3x the edge-only compute
    # time, so that splitting is a real trade-off rather than a foregone conclusion
    input_bits = tensor_bits(profile.out_elems[0], profile.input_bits, batch)
    send_ms = profile.edge_ms.sum() * rng.uniform(0.3, 3.0)
    network = Network(bandwidth_mbps=float(input_bits / (send_ms * 1e3)),
                      rtt_ms=float(rng.uniform(0, 20)),
                      tx_power_mw=float(rng.uniform(50, 700)))
    constraints: dict[str, float] = {}
    if bounded:
        low, high = min(bits), max(bits)
        weights = profile.weight_elems.sum()
        largest = profile.out_elems[1:].max()
        cheapest = weight_bytes(weights, low) + tensor_bytes(largest, low, batch)
        dearest = weight_bytes(weights, high) + 3 * tensor_bytes(largest, high, batch)
        constraints["memory_bytes"] = float(rng.uniform(cheapest, dearest))
        worst = profile.weight_error[low].sum() + profile.activation_error[low].sum()
        constraints["error"] = float(rng.uniform(0.05, 0.6) * worst)
    return SplitProblem(profile, network, objectives=objectives, constraints=constraints,
                        bits=bits, mode=mode)
