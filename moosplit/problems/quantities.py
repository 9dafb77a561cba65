"""The quantities of SPEC section 4: their names, senses and units."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Quantity:
    """A quantity the evaluator computes for every plan."""

    name: str
    maximise: bool
    unit: str
    meaning: str


QUANTITIES: dict[str, Quantity] = {
    q.name: q
    for q in (
        Quantity("latency_ms", False, "ms", "end-to-end latency: edge + rtt + transmit + cloud"),
        Quantity("memory_bytes", False, "bytes", "edge weights plus activation working set"),
        Quantity("error", False, "", "summed quantisation (and codec) error"),
        Quantity("edge_macs", True, "MACs", "multiply-accumulates run on the edge"),
        Quantity("energy_mj", False, "mJ", "edge compute energy plus transmit energy"),
        Quantity("throughput_fps", True, "frames/s", "pipelined frames per second"),
        Quantity("tx_bytes", False, "bytes", "bytes sent from edge to cloud"),
    )
}
"""Every quantity by name, in the order the front CSV lists them."""

