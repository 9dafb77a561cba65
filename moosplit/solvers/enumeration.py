"""Enumerating the decision space: edge sets, and bit/codec choices for one edge set."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ..costs import cost_model
from ..plans import Plans
from ..problems.problem import SplitProblem


class TooMany(Exception):
    """Raised by the enumerators when a count passes its limit."""


def edge_sets(problem: SplitProblem, limit: int | None = None) -> np.ndarray:
    """All edge sets of the problem within its split bounds, as a (count, V) bool array.

    Prefix mode: rows 1..n for every allowed n. Cut mode: every set closed under
    predecessors. Sorted by the tie-break order (fewest nodes first, then the
    lexicographically smallest node indices). Raises TooMany past `limit` sets.
    """
    profile = problem.profile
    low, high = problem.split_bounds
    n_rows = profile.n_rows
    if problem.mode == "prefix":
        splits = np.arange(low, high + 1)
        rows = np.arange(n_rows)[None, :]
        if limit is not None and splits.size > limit:
            raise TooMany(splits.size)
        return (rows >= 1) & (rows <= splits[:, None])
    sets = []
    inner_preds = cost_model(profile).node_inputs
    chosen = np.zeros(n_rows, bool)

    def visit(node: int, size: int) -> None:
        # depth-first over nodes in table order: include `node` only if its inputs are in
        if size > high:
            return
        if node == n_rows:
            if size >= low:
                sets.append(chosen.copy())
                if limit is not None and len(sets) > limit:
                    raise TooMany(len(sets))
            return
        visit(node + 1, size)
        if all(chosen[p] for p in inner_preds[node]):
            chosen[node] = True
            visit(node + 1, size + 1)
            chosen[node] = False

    visit(1, 0)
    if not sets:
        return np.zeros((0, n_rows), bool)
    array = np.array(sets)
    keys = [~array[:, j] for j in range(n_rows - 1, 0, -1)] + [array.sum(axis=1)]
    return array[np.lexsort(keys)]


def choices_per_set(problem: SplitProblem, edge: np.ndarray) -> list[int]:
    """Number of (bits_w, bits_a, codec) assignments of each edge set (Python ints)."""
    base = len(problem.bit_set)
    n_codecs = len(problem.codec_table)
    weighted = problem.profile.has_weights
    return [n_codecs * base ** (int(s.sum()) + int((s & weighted).sum())) for s in edge]


def bit_assignments(problem: SplitProblem, edge: np.ndarray, start: int, stop: int) -> Plans:
    """Assignments `start`..`stop-1` of one edge set, in lexicographic order.

    The order is that of (bits_w over the weighted edge nodes, bits_a over the edge nodes,
    codec), each ascending: the tie-break order within one edge set.
    """
    bits = np.asarray(problem.bit_set, np.int16)
    base = bits.size
    n_codecs = len(problem.codec_table)
    nodes = np.flatnonzero(edge)
    weighted = nodes[problem.profile.has_weights[nodes]]
    index = np.arange(start, stop, dtype=np.int64)
    count = index.size
    n_rows = edge.size
    bits_w = np.zeros((count, n_rows), np.int16)
    bits_a = np.zeros((count, n_rows), np.int16)
    codec = (index % n_codecs).astype(np.int16)
    index //= n_codecs
    for node in nodes[::-1]:
        bits_a[:, node] = bits[index % base]
        index //= base
    for node in weighted[::-1]:
        bits_w[:, node] = bits[index % base]
        index //= base
    return Plans(np.broadcast_to(edge, (count, n_rows)), bits_w, bits_a, codec)


def iterate_plans(problem: SplitProblem, edge: np.ndarray, counts: list[int],
                  chunk: int) -> Iterator[Plans]:
    """Every plan of the given edge sets, in tie-break order, in batches of about `chunk`."""
    for edge_set, total in zip(edge, counts, strict=True):
        for start in range(0, total, chunk):
            yield bit_assignments(problem, edge_set, start, min(total, start + chunk))
