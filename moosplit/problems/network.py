"""The link between edge and cloud, and radio modes (transmitter presets) that set it."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ..errors import OptionError, ProblemOptionError
from ..validation import Number, Text, check_declared, option

MIN_BANDWIDTH_MBPS = 1e-6
"""The slowest uplink (one bit per second): slower ones make transmit times overflow to inf
on profiles within the profile format's bounds."""

MAX_POWER_MW = 1e9
"""The largest transmit power (a megawatt), for the same reason with energy."""


@dataclass(frozen=True)
class Network:
    """The link between edge and cloud.

    bandwidth_mbps: uplink rate in Mbit/s (10^6 bit/s). rtt_ms: fixed delay added to every
    plan's latency. tx_power_mw: transmitter power while sending, needed for `energy_mj`.
    """

    bandwidth_mbps: float = option(dataclasses.MISSING,
                                   Number(at_least=MIN_BANDWIDTH_MBPS, unit="Mbit/s"),
                                   "uplink Mbit/s")
    rtt_ms: float = option(0.0, Number(at_least=0), "delay added to every plan, ms")
    tx_power_mw: float | None = option(None, Number(at_least=0, at_most=MAX_POWER_MW,
                                                    optional=True, unit="mW"),
                                       "transmit power, mW (for energy_mj)")

    def __post_init__(self) -> None:
        check_declared(self, error=ProblemOptionError)


@dataclass(frozen=True, kw_only=True)
class Transmitter:
    """A radio mode: uplink data rate (Mbit/s) and transmit power (mW).

    ``power_mw`` is the problem's ``tx_power_mw`` (edge energy of sending = power x
    transmit time); ``bandwidth_mbps`` is the network's ``bandwidth_mbps``.
    """

    name: str = option(dataclasses.MISSING, Text(), "preset name")
    bandwidth_mbps: float = option(dataclasses.MISSING, Number(above=0), "uplink Mbit/s")
    power_mw: float = option(dataclasses.MISSING, Number(at_least=0), "transmit power, mW")
    source: str = option("", Text(non_empty=False), "where the numbers come from")

    def __post_init__(self) -> None:
        owner = f"Transmitter {self.name!r}" if isinstance(self.name, str) else "Transmitter"
        check_declared(self, owner=owner)

    @property
    def nj_per_bit(self) -> float:
        """Transmit energy per bit (nJ): power / data rate."""
        return float(self.power_mw) / float(self.bandwidth_mbps)

    def network(self, rtt_ms: float = 0.0) -> Network:
        """The network this radio mode gives."""
        return Network(self.bandwidth_mbps, rtt_ms, self.power_mw)


_KO2018 = ("Ko et al., 'Edge-host partitioning of deep neural networks with feature space "
           "encoding...', AVSS 2018 (arXiv:1802.03835): transmitter mode {} Mbps at {} mW "
           "(as given in the project brief; section not verified, full text not readable "
           "here)")

TRANSMITTER_PRESETS: dict[str, Transmitter] = {
    t.name: t
    for t in (
        Transmitter(name="ko2018-1mbps", bandwidth_mbps=1.0, power_mw=62.7,
                    source=_KO2018.format(1, 62.7)),
        Transmitter(name="ko2018-2mbps", bandwidth_mbps=2.0, power_mw=99.0,
                    source=_KO2018.format(2, 99)),
        Transmitter(name="ko2018-22mbps", bandwidth_mbps=22.0, power_mw=660.0,
                    source=_KO2018.format(22, 660)),
    )
}
"""Transmitter modes by name: (bandwidth_mbps, power_mw, source)."""


def get_transmitter(name: str) -> Transmitter:
    """The transmitter preset called `name` (OptionError listing the presets otherwise)."""
    if not isinstance(name, str) or name not in TRANSMITTER_PRESETS:
        raise OptionError("transmitter", "a transmitter preset", name,
                          hint=f"unknown transmitter preset {name!r}; presets: "
                               f"{', '.join(TRANSMITTER_PRESETS)}")
    return TRANSMITTER_PRESETS[name]


def network_of(*, bandwidth_mbps: float | None = None, rtt_ms: float = 0.0,
               tx_power_mw: float | None = None, transmitter: str | None = None) -> Network:
    """A network from explicit settings and, optionally, a transmitter preset, which gives
    the bandwidth and power that are not set explicitly.

    Example:
        >>> network_of(transmitter="ko2018-2mbps", rtt_ms=5)
        Network(bandwidth_mbps=2.0, rtt_ms=5.0, tx_power_mw=99.0)
    """
    if transmitter is not None:
        radio = get_transmitter(transmitter)
        bandwidth_mbps = radio.bandwidth_mbps if bandwidth_mbps is None else bandwidth_mbps
        tx_power_mw = radio.power_mw if tx_power_mw is None else tx_power_mw
    if bandwidth_mbps is None:
        raise ProblemOptionError("bandwidth_mbps", "given: it is required unless a "
                                 "transmitter preset gives it", None)
    return Network(bandwidth_mbps, rtt_ms, tx_power_mw)
