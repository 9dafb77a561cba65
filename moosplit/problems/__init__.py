"""Declarative problems: network, objectives, constraints, bit set, mode and codecs."""

from .codecs import CodecTable, read_codecs
from .problem import MODES, Network, SplitProblem
from .quantities import QUANTITIES, Quantity
from .random import random_problem

__all__ = [
    "MODES",
    "QUANTITIES",
    "CodecTable",
    "Network",
    "Quantity",
    "SplitProblem",
    "random_problem",
    "read_codecs",
]
