"""Declarative problems: network, objectives, constraints, bit set, mode and codecs."""

from .codecs import CodecTable, read_codecs
from .network import TRANSMITTER_PRESETS, Network, Transmitter, get_transmitter, network_of
from .problem import MODES, SplitProblem
from .quantities import QUANTITIES, Quantity
from .random import random_problem

__all__ = [
    "MODES",
    "TRANSMITTER_PRESETS",
    "QUANTITIES",
    "CodecTable",
    "Network",
    "Quantity",
    "SplitProblem",
    "Transmitter",
    "get_transmitter",
    "network_of",
    "random_problem",
    "read_codecs",
]
