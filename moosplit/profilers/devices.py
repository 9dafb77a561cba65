"""Device models: latency and energy of a profile's rows on devices it was not measured on.

Two latency models share one interface, :class:`DeviceModel`:

- :class:`CpuDevice`, LMOS-style: a device is its cores x clock (x MACs per cycle); a
  node's latency is its MACs over that rate. Bit-widths do not change it.
- :class:`RooflineDevice`: a node takes the longer of its compute time (MACs over the peak
  MAC rate) and its memory time (bytes moved over the DRAM bandwidth). Lower bit-widths
  move fewer bytes; they do not speed up the MACs.

Either may carry a compute power, so that edge energy per node is power x latency (the
profile's ``edge_mj`` column). The network side (data rate and transmit power) is
:class:`moosplit.problems.network.Transmitter`. Every preset records its `source`.
The equations, and where every preset number comes from, are in ``docs/profiles.md``.

Example:
    >>> import numpy as np
    >>> from moosplit.profilers.graph import LayerGraph
    >>> g = LayerGraph(model="toy", names=("input", "fc"), ops=("input", "linear"),
    ...                inputs=((), ("input",)), out_elems=np.array([3000, 2000]),
    ...                weight_elems=np.array([0, 6_000_000]), macs=np.array([0, 6_000_000]),
    ...                input_shape=(1, 3000))
    >>> get_device("raspberry-pi-4").latency_ms(g).round(6).tolist()  # 6e6 MAC / (4 x 1.5 GHz)
    [0.0, 1.0]
    >>> sorted(bit_latency_columns(get_device("autosplit-eyeriss"), g, (8,)))
    [(8, 8), (8, 16), (16, 8)]
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import MISSING, dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from ..profiles.schema import MAX_BITS, REFERENCE_BITS
from ..validation import Number, Text, check_declared, option
from .graph import LayerGraph

__all__ = [
    "DEVICE_PRESETS",
    "CpuDevice",
    "DeviceModel",
    "RooflineDevice",
    "bit_latency_columns",
    "get_device",
]


@runtime_checkable
class DeviceModel(Protocol):
    """What a profile builder needs from a device model.

    ``latency_ms`` gives one latency per row of `graph` for the whole batch (row 0, the
    input, is 0) with every node at weight bits `bits_w` and activation bits `bits_a`;
    ``energy_mj`` gives the matching energy, or None when the device has no power figure.
    """

    name: str
    source: str

    def latency_ms(self, graph: LayerGraph, bits_w: int = REFERENCE_BITS,
                   bits_a: int = REFERENCE_BITS) -> np.ndarray: ...

    def energy_mj(self, graph: LayerGraph, bits_w: int = REFERENCE_BITS,
                  bits_a: int = REFERENCE_BITS) -> np.ndarray | None: ...


# --------------------------------------------------------------------------- validation

BITS = Number(whole=True, at_least=1, at_most=MAX_BITS)


def _owner(kind: str, name: object) -> str:
    return f"{kind} {name!r}" if isinstance(name, str) else kind


class _PoweredDevice:
    """Energy from a compute power, shared by the device models (W x ms = mJ)."""

    def energy_mj(self, graph: LayerGraph, bits_w: int = REFERENCE_BITS,
                  bits_a: int = REFERENCE_BITS) -> np.ndarray | None:
        """Per-row energy (mJ) = power_w x latency_ms, or None without a power figure."""
        if self.power_w is None:
            return None
        return float(self.power_w) * self.latency_ms(graph, bits_w, bits_a)


# --------------------------------------------------------------------------- CPU (LMOS)

@dataclass(frozen=True, kw_only=True)
class CpuDevice(_PoweredDevice):
    """A CPU described, as in LMOS, by its cores and clock frequency.

    Latency of node i for the whole batch (seconds)::

        t_i = macs_i * batch / (cores * clock_hz * macs_per_cycle)

    ``macs_per_cycle`` is per core (1 unless set: an assumption, see ``docs/profiles.md``).
    Bit-widths do not change the latency. ``power_w`` (optional) is the compute power, so
    ``energy_mj = power_w * latency_ms``.
    """

    name: str = option(MISSING, Text(), "device name")
    cores: int = option(MISSING, Number(whole=True, at_least=1), "cores")
    clock_hz: float = option(MISSING, Number(above=0), "clock frequency, Hz")
    macs_per_cycle: float = option(1.0, Number(above=0), "MACs per cycle per core")
    power_w: float | None = option(None, Number(at_least=0, optional=True),
                                   "compute power, W")
    source: str = option("", Text(non_empty=False), "where the numbers come from")

    def __post_init__(self) -> None:
        check_declared(self, owner=_owner("CpuDevice", self.name))

    @property
    def macs_per_s(self) -> float:
        """Sustained MAC rate of the whole device: cores x clock x MACs per cycle."""
        return self.cores * float(self.clock_hz) * float(self.macs_per_cycle)

    def latency_ms(self, graph: LayerGraph, bits_w: int = REFERENCE_BITS,
                   bits_a: int = REFERENCE_BITS) -> np.ndarray:
        """Per-row latency (ms) of the whole batch; the bit-widths are checked, not used."""
        BITS("bits_w", bits_w), BITS("bits_a", bits_a)
        ms = graph.macs.astype(float) * graph.batch / self.macs_per_s * 1e3
        ms[_free_rows(graph)] = 0.0
        return ms

    def describe(self) -> str:
        """One line for a profile's metadata: parameters and source."""
        power = "" if self.power_w is None else f", {self.power_w:g} W"
        return (f"{self.name}: CPU model (LMOS-style), {self.cores} cores x "
                f"{self.clock_hz / 1e9:g} GHz x {self.macs_per_cycle:g} MAC/cycle{power}; "
                f"source: {self.source or 'user-defined'}")


# --------------------------------------------------------------------------- roofline

@dataclass(frozen=True, kw_only=True)
class RooflineDevice(_PoweredDevice):
    """An accelerator as a roofline with an on-chip buffer.

    For node i at weight bits bw and activation bits ba, with B = batch::

        W   = weight_elems_i * bw / 8                      (weights: once per batch;
                                                            an embedding reads only the
                                                            rows it looks up)
        A   = (sum of out_elems over i's distinct inputs + out_elems_i) * ba / 8 * B
        moved = W           if W + A <= buffer_bytes       (activations stay on chip)
              = W + A       otherwise                      (everything crosses DRAM once)
        t_i = max(macs_i * B * passes / peak_macs_per_s,  moved / dram_bytes_per_s)

    where ``passes = ceil(ba / mac_bits)`` when ``mac_bits`` is set (operands wider than the
    MAC array take several passes; narrower ones are not faster) and 1 otherwise. Row 0
    (the input) is 0. Lower bit-widths never increase t_i, and a node without weights does
    not depend on bw.
    """

    name: str = option(MISSING, Text(), "device name")
    peak_macs_per_s: float = option(MISSING, Number(above=0), "peak MAC rate")
    dram_bytes_per_s: float = option(MISSING, Number(above=0), "DRAM bandwidth, bytes/s")
    buffer_bytes: float = option(0.0, Number(at_least=0), "on-chip buffer, bytes")
    mac_bits: int | None = option(None, Number(whole=True, at_least=1, optional=True),
                                  "bit-width of the MAC units")
    power_w: float | None = option(None, Number(at_least=0, optional=True),
                                   "compute power, W")
    source: str = option("", Text(non_empty=False), "where the numbers come from")

    def __post_init__(self) -> None:
        check_declared(self, owner=_owner("RooflineDevice", self.name))

    def bytes_moved(self, graph: LayerGraph, bits_w: int = REFERENCE_BITS,
                    bits_a: int = REFERENCE_BITS) -> np.ndarray:
        """Per-row DRAM traffic (bytes) for the whole batch under the buffer rule."""
        BITS("bits_w", bits_w), BITS("bits_a", bits_a)
        weights = _weight_elems_read(graph) * bits_w / 8
        activations = _activation_elems(graph) * float(bits_a) / 8 * graph.batch
        fits = weights + activations <= float(self.buffer_bytes)
        moved = np.where(fits, weights, weights + activations)
        moved[0] = 0.0
        return moved

    def latency_ms(self, graph: LayerGraph, bits_w: int = REFERENCE_BITS,
                   bits_a: int = REFERENCE_BITS) -> np.ndarray:
        """Per-row latency (ms) of the whole batch: max(compute time, memory time)."""
        moved = self.bytes_moved(graph, bits_w, bits_a)
        passes = 1 if self.mac_bits is None else math.ceil(bits_a / self.mac_bits)
        compute_s = graph.macs.astype(float) * graph.batch * passes / self.peak_macs_per_s
        ms = np.maximum(compute_s, moved / self.dram_bytes_per_s) * 1e3
        ms[_free_rows(graph)] = 0.0
        return ms

    def describe(self) -> str:
        """One line for a profile's metadata: parameters and source."""
        power = "" if self.power_w is None else f", {self.power_w:g} W"
        mac_bits = "" if self.mac_bits is None else f", {self.mac_bits}-bit MACs"
        return (f"{self.name}: roofline model, {self.peak_macs_per_s / 1e9:g} GMAC/s, "
                f"{self.dram_bytes_per_s / 1e9:g} GB/s DRAM, {self.buffer_bytes:g} B buffer"
                f"{mac_bits}{power}; source: {self.source or 'user-defined'}")


def _free_rows(graph: LayerGraph) -> np.ndarray:
    """Rows that cost nothing: the input (row 0) and explicit `output` rows, which only
    mark a model output that other rows also read (see moosplit.profilers.onnx_model)."""
    free = np.array([op == "output" for op in graph.ops])
    free[0] = True
    return free


def _weight_elems_read(graph: LayerGraph) -> np.ndarray:
    """Per row, the weight elements one inference reads: all of them, except that an
    embedding lookup reads only the table rows it returns (its output elements, whole
    batch), not the whole table (GPT-2's 50,257 x 768 token table for 128 tokens)."""
    weights = graph.weight_elems.astype(float)
    lookup = np.array([op == "embedding" for op in graph.ops])
    looked_up = graph.out_elems.astype(float) * graph.batch
    return np.where(lookup, np.minimum(weights, looked_up), weights)


def _activation_elems(graph: LayerGraph) -> np.ndarray:
    """Per row: elements read from distinct producers plus elements written (per sample)."""
    index = {name: i for i, name in enumerate(graph.names)}
    elems = graph.out_elems.astype(float).copy()
    for row, preds in enumerate(graph.inputs):
        for pred in dict.fromkeys(preds):
            if pred not in index:
                raise ValueError(f"graph {graph.model!r}: row {row} ({graph.names[row]!r}) "
                                 f"reads unknown input {pred!r}")
            elems[row] += graph.out_elems[index[pred]]
    return elems


# --------------------------------------------------------------------------- transmitter

# --------------------------------------------------------------------------- columns

def bit_latency_columns(device: DeviceModel, graph: LayerGraph,
                        bits: Iterable[int]) -> dict[tuple[int, int], np.ndarray]:
    """Latency per row at every (bw, ba) pair of `bits` and 16, except (16, 16).

    These are a profile's ``edge_ms_w{bw}a{ba}`` columns (SPEC section 2); the reference
    pair (16, 16) is ``edge_ms`` itself, ``device.latency_ms(graph)``. The reference
    precision 16 is always included, as a profile's bit-widths always include it.

    Example:
        >>> import numpy as np
        >>> g = LayerGraph(model="toy", names=("input", "relu"), ops=("input", "relu"),
        ...                inputs=((), ("input",)), out_elems=np.array([4, 4]),
        ...                weight_elems=np.array([0, 0]), macs=np.array([0, 0]),
        ...                input_shape=(1, 4))
        >>> dev = RooflineDevice(name="toy", peak_macs_per_s=1e9, dram_bytes_per_s=1e3)
        >>> {k: v.tolist() for k, v in bit_latency_columns(dev, g, [8]).items()}
        {(8, 8): [0.0, 8.0], (8, 16): [0.0, 16.0], (16, 8): [0.0, 8.0]}
    """
    given: set[int] = set()
    for b in bits:
        BITS("bits_w", b), BITS("bits_a", b)  # each width serves as both
        given.add(int(b))
    widths = sorted(given | {REFERENCE_BITS})
    return {(bw, ba): np.asarray(device.latency_ms(graph, bw, ba), dtype=float)
            for bw in widths for ba in widths if (bw, ba) != (REFERENCE_BITS, REFERENCE_BITS)}


# --------------------------------------------------------------------------- presets

# Auto-Split simulator settings, from the Auto-Split code (see docs/profiles.md):
# tools/hw_simulator/schedule/params/hardware_config_{edge,cloud}.yaml and the clock
# periods in tools/bit_search/model_latency_2_gen.py.
_AUTOSPLIT_CODE = ("Auto-Split code (Banitalebi-Dehkordi et al., KDD 2021), copy at "
                   "github.com/whisperLiang/Auto-Split")
_EYERISS_CLOCK_HZ = 202.3809524e6
_TPU_CLOCK_HZ = 1464.84375e6

DEVICE_PRESETS: dict[str, DeviceModel] = {
    d.name: d
    for d in (
        RooflineDevice(
            name="autosplit-eyeriss",
            peak_macs_per_s=(4 - 3 + 1) * 12 * 7 * _EYERISS_CLOCK_HZ,  # 168 MAC/cycle
            dram_bytes_per_s=_EYERISS_CLOCK_HZ / 0.202381,  # 0.202381 DMA cycles per byte
            buffer_bytes=108 * 1024,
            mac_bits=8,
            power_w=0.278,
            source=(f"{_AUTOSPLIT_CODE}: hardware_config_edge.yaml (cxx=12, wxx=4, fx=7, "
                    "dma_cycles=0.202381), EDGE_TIME_PERIOD 202.381 MHz, MAC_HW_BIT=8; "
                    "stand-ins: 108 KB global buffer (Sze et al., Proc. IEEE 2017, Eyeriss "
                    "section), 278 mW (Chen et al., JSSC 2017 abstract, AlexNet conv)"),
        ),
        RooflineDevice(
            name="autosplit-tpu",
            peak_macs_per_s=(6 - 3 + 1) * 128 * 128 * _TPU_CLOCK_HZ,  # 65,536 MAC/cycle
            dram_bytes_per_s=_TPU_CLOCK_HZ / 0.112680288,  # 0.112680288 DMA cycles per byte
            buffer_bytes=24 * 2**20,
            mac_bits=8,
            source=(f"{_AUTOSPLIT_CODE}: hardware_config_cloud.yaml (cxx=128, wxx=6, "
                    "fx=128, dma_cycles=0.112680288), CLOUD_TIME_PERIOD 1464.844 MHz, "
                    "MAC_HW_BIT=8; stand-in: 24 MiB Unified Buffer (Jouppi et al., ISCA "
                    "2017); no power figure"),
        ),
        CpuDevice(
            name="raspberry-pi-4",
            cores=4,
            clock_hz=1.5e9,
            power_w=5.0,
            source=("stand-in for LMOS's Raspberry Pi 4 (LMOS numbers not readable here): "
                    "Raspberry Pi 4 Model B spec, BCM2711 quad-core Cortex-A72 @ 1.5 GHz; "
                    "5.0 W = at-wall stress-ng matrix draw, geerlingguy/sbc-reviews "
                    "issue 4 (board at 1.8 GHz); 1 MAC/cycle/core assumed"),
        ),
        CpuDevice(
            name="raspberry-pi-4-600mhz",
            cores=4,
            clock_hz=0.6e9,
            source=("stand-in: Raspberry Pi 4 at its minimum clock, lscpu 'CPU min MHz: "
                    "600' (gist ghalfacree/62ee45de73a0e3fb613d7fa775aa88f1); 1 "
                    "MAC/cycle/core assumed; no power figure"),
        ),
        CpuDevice(
            name="xeon-e5-2680v4",
            cores=14,
            clock_hz=2.4e9,
            source=("stand-in for LMOS's server (LMOS numbers not readable here): one "
                    "Intel Xeon E5-2680 v4, 14 cores @ 2.40 GHz base (server listing "
                    "pastebin.com/tnwJDCTr: 2x E5-2680v4 = 28c, 2.4 GHz); 1 MAC/cycle/core "
                    "assumed; no power figure"),
        ),
    )
}
"""Device models by name; ``docs/profiles.md`` lists each number's origin."""

def get_device(name: str) -> DeviceModel:
    """The device preset called `name`.

    Example:
        >>> get_device("autosplit-tpu").mac_bits
        8
        >>> get_device("nope")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: unknown device preset 'nope'; presets: autosplit-eyeriss, ...
    """
    try:
        return DEVICE_PRESETS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown device preset {name!r}; presets: "
                         f"{', '.join(DEVICE_PRESETS)}") from None
