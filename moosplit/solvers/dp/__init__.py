"""The exact dynamic programme over bit-widths behind `epsilon`, in parts with one job each.

- :mod:`.labels`: labels (partial plans) and their frontier states;
- :mod:`.pruning`: dominance within a state;
- :mod:`.bounding`: incumbents and the floors that let them drop labels;
- :mod:`.merging`: the slack budget and grid cells of certified mode;
- :mod:`.closing`: finishing labels into full objective vectors;
- :mod:`.bit_dp`: :class:`BitDP`, which walks an edge set node by node with them.
"""

from .bit_dp import BitDP
from .closing import Closed
from .labels import LabelLimit, Labels

__all__ = ["BitDP", "Closed", "LabelLimit", "Labels"]
