"""Labels: the partial plans of the bit-width DP after one node, grouped by state.

After edge node k, a label holds one assignment of bits to the edge nodes up to k: the
partial sums that bits change (error, weight bytes, peak working set, edge latency: the
DP's tracked dims), the *held* bits of the tensors still live after k, and the label it
extends with the choice that extended it.

A live tensor's bit-width matters later only through sums: the working sets of the edge
nodes it stays live for, and the transmitted bits if it is sent. So the tensors live after
k are grouped by the position they are live until (their *release*), and a label keeps,
per group, their total bits (and, with codecs, their bits over each codec's ratio): its
*held* bits. Future costs grow with them, so they are compared like the partial sums
(:mod:`.pruning`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


class LabelLimit(Exception):
    """Raised when a step would need more labels than the DP was allowed: args are the
    node and the count."""


@dataclass
class Labels:
    """The labels after one node.

    groups: the release positions of the tensors live after the node, ascending; held:
    (L, len(groups), codecs) per group and codec, the total transmitted bits of the group's
    tensors under that codec (codec 0, `none`: plain bits); sums: (L, dims) partial sums;
    parent: (L,) label index in the previous Labels; choice: (L,) index into the node's
    (bw, ba) choices. The root
    labels (before any node) are one empty label whose parent and choice are -1: it
    extends nothing.
    """

    node: int
    groups: tuple[int, ...]
    held: np.ndarray
    sums: np.ndarray
    parent: np.ndarray
    choice: np.ndarray

    def __len__(self) -> int:
        return len(self.sums)

    def take(self, index: np.ndarray) -> Labels:
        """The labels at `index`, in that order."""
        return Labels(self.node, self.groups, self.held[index], self.sums[index],
                      self.parent[index], self.choice[index])

    @classmethod
    def root(cls, n_dims: int, n_codecs: int) -> Labels:
        """The one empty label before any node (nothing on the edge yet)."""
        return cls(0, (), np.zeros((1, 0, n_codecs)), np.zeros((1, n_dims)), np.full(1, -1),
                   np.full(1, -1))
