"""Weight bits out of the labels: per prefix of a walk, the least weight error per byte.

Under a memory bound that is not an objective, with edge latency that does not depend on
the weight bits, a node's weight bits matter only through two sums: the plan's weight
bytes W (memory is W plus the working set, which only activation bits change) and its
weight error. So the DP's labels can carry activation bits alone, and a close after step
k, for a label with working set P, takes the weight bits of steps 1..k that have the
least weight error among those with W <= M - P: the *weight front* of the prefix (the
pairs (W, weight error) no other assignment beats in both), read at M - P.
docs/solvers.md (*Weight fronts*) has the argument.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class WeightOptions:
    """One node's weight choices: bits (C,), bytes (C,) and weight error (C,)."""

    bits: np.ndarray
    bytes: np.ndarray
    error: np.ndarray


class WeightFronts:
    """The weight front of every prefix of a walk, up to weight bytes `limit`.

    After step s, `bytes[s]` ascending and `error[s]` strictly descending are the
    non-dominated (W, weight error) of the assignments to the nodes of steps 0..s with W
    <= limit; `parent[s]` and `choice[s]` rebuild each assignment. A prefix's front is
    built when first read: a bounded DP often stops long before the walk's end, and on
    long walks the fronts of every prefix would cost more than the DP itself.
    """

    def __init__(self, nodes: list[int], options: list[WeightOptions], limit: float
                 ) -> None:
        self.nodes = nodes
        self.options = options
        self.limit = limit
        self.bytes: list[np.ndarray] = []
        self.error: list[np.ndarray] = []
        self.parent: list[np.ndarray] = []
        self.choice: list[np.ndarray] = []

    def _build_to(self, step: int) -> None:
        """Extend the fronts through `step`."""
        while len(self.bytes) <= step:
            option = self.options[len(self.bytes)]
            W, E = (self.bytes[-1], self.error[-1]) if self.bytes else (np.zeros(1),
                                                                         np.zeros(1))
            n = len(option.bytes)
            parent = np.repeat(np.arange(len(W)), n)
            choice = np.tile(np.arange(n), len(W))
            W2 = W[parent] + option.bytes[choice]
            E2 = E[parent] + option.error[choice]
            fits = np.flatnonzero(W2 <= self.limit)
            order = fits[np.lexsort((E2[fits], W2[fits]))]
            W2, E2 = W2[order], E2[order]
            # non-dominated: strictly less error than every lighter assignment
            best = np.minimum.accumulate(E2)
            keep = np.r_[True, E2[1:] < best[:-1]] if len(E2) else np.zeros(0, bool)
            self.bytes.append(W2[keep])
            self.error.append(E2[keep])
            self.parent.append(parent[order][keep])
            self.choice.append(choice[order][keep])

    def entry(self, step: int, budget: np.ndarray) -> np.ndarray:
        """Per budget, the index of the assignment of steps 0..step with the least weight
        error among those with W <= budget (-1 where none fits)."""
        self._build_to(step)
        return np.searchsorted(self.bytes[step], budget, side="right") - 1

    def chosen(self, step: int, budget: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per budget, the bytes and weight error of the assignment of steps 0..step with
        the least weight error among those with W <= budget (inf, inf where none fits)."""
        index = self.entry(step, budget)
        fits = index >= 0
        if not fits.any():
            return np.full(len(index), np.inf), np.full(len(index), np.inf)
        at = np.maximum(index, 0)
        return (np.where(fits, self.bytes[step][at], np.inf),
                np.where(fits, self.error[step][at], np.inf))

    def least_bytes(self, step: int) -> float:
        """The lightest assignment of steps 0..step (inf if none fits the limit)."""
        self._build_to(step)
        return float(self.bytes[step][0]) if len(self.bytes[step]) else np.inf

    def bits(self, step: int, index: int) -> dict[int, int]:
        """The weight bits of the nodes of steps 0..step in assignment `index` (a node
        whose only option has bits -1 is left out: its weights are chosen elsewhere)."""
        self._build_to(step)
        out: dict[int, int] = {}
        for s in range(step, -1, -1):
            bits = int(self.options[s].bits[self.choice[s][index]])
            if bits >= 0:
                out[self.nodes[s]] = bits
            index = int(self.parent[s][index])
        return out
