"""Labels: the partial plans of the bit-width DP after one node, grouped by state.

After edge node k, a label holds one assignment of bits to the edge nodes up to k: its
*state* (the activation bit-width of every tensor still live after k, the *frontier*) and
the partial sums that bits change (error, weight bytes, peak working set, edge latency:
the DP's tracked dims), with the label it extends and the choice that extended it.
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

    digits: (L, len(frontier)) each frontier tensor's activation bit index; codes: (L,)
    the state as one integer (equal iff the digits are); sums: (L, dims) partial sums;
    parent: (L,) label index in the previous Labels; choice: (L,) index into the node's
    (bw, ba) choices. The root labels (before any node) are one empty label whose parent
    and choice are -1: it extends nothing.
    """

    node: int
    frontier: tuple[int, ...]
    digits: np.ndarray
    codes: np.ndarray
    sums: np.ndarray
    parent: np.ndarray
    choice: np.ndarray

    def __len__(self) -> int:
        return len(self.codes)

    def take(self, index: np.ndarray) -> Labels:
        """The labels at `index`, in that order."""
        return Labels(self.node, self.frontier, self.digits[index], self.codes[index],
                      self.sums[index], self.parent[index], self.choice[index])

    @classmethod
    def root(cls, n_dims: int) -> Labels:
        """The one empty label before any node (nothing on the edge yet)."""
        return cls(0, (), np.zeros((1, 0), np.uint8), np.zeros(1, np.int64),
                   np.zeros((1, n_dims)), np.full(1, -1), np.full(1, -1))


def state_codes(digits: np.ndarray, base: int) -> np.ndarray:
    """One integer per state: mixed radix while it fits in int64, else the rank of the row
    among the distinct rows (wide frontiers of DAGs with long skips)."""
    width = digits.shape[1]
    if base ** width < 2**63:
        return digits.astype(np.int64) @ (base ** np.arange(width, dtype=np.int64))
    return np.unique(digits, axis=0, return_inverse=True)[1].astype(np.int64).ravel()
