"""Enumerating the decision space: edge sets, and bit/codec choices for one edge set."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import numpy as np

from ..costs import cost_model
from ..plans import Plans
from ..problems.problem import SplitProblem


class TimeUp(Exception):
    """Raised by the enumerators when the time limit passes."""


class TooMany(Exception):
    """Raised by the enumerators when a count passes its limit."""


def prefix_plan_count(problem: SplitProblem, limit: int) -> int:
    """Number of prefix-mode plans within the split bounds, in O(N) without building any
    array; TooMany(count) past `limit`, the count a float (inf beyond floats) when huge."""
    low, high = problem.split_bounds
    base, codecs = len(problem.bit_set), len(problem.codec_table)
    weighted = np.cumsum(problem.profile.has_weights[: high + 1])
    n = np.arange(low, high + 1)
    exponents = n + weighted[n]  # plans of split n: codecs x base^(n + weighted nodes)
    log_total = math.log(codecs) + float(np.logaddexp.reduce(exponents * math.log(base)))
    if log_total > max(math.log(limit) + 1.0, 35.0):  # far past: no exact sum needed
        raise TooMany(math.exp(log_total) if log_total < 700 else math.inf)
    total = sum(codecs * base ** int(e) for e in exponents)
    if total > limit:
        raise TooMany(total, True)  # (the count is exact)
    return total


def edge_sets(problem: SplitProblem, limit: int | None = None,
              expired: Callable[[], bool] | None = None) -> np.ndarray:
    """All edge sets of the problem within its split bounds, as a (count, V) bool array.

    Prefix mode: rows 1..n for every allowed n. Cut mode: every set closed under
    predecessors. Sorted by the tie-break order (fewest nodes first, then the
    lexicographically smallest node indices). Raises TooMany past `limit` sets, and TimeUp
    once `expired()` says the time limit has passed.
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
    inner_preds = cost_model(profile).node_inputs
    if limit is not None and limit * n_rows > 10**8:
        _closed_sets(n_rows, inner_preds, low, high, limit, False, expired)  # count first
    sets = _closed_sets(n_rows, inner_preds, low, high, limit, True, expired)
    if not sets:
        return np.zeros((0, n_rows), bool)
    array = np.array(sets)
    keys = [~array[:, j] for j in range(n_rows - 1, 0, -1)] + [array.sum(axis=1)]
    return array[np.lexsort(keys)]


def _closed_sets(n_rows: int, inner_preds: tuple[tuple[int, ...], ...], low: int, high: int,
                 limit: int | None, keep: bool,
                 expired: Callable[[], bool] | None = None) -> list[np.ndarray]:
    """Every predecessor-closed set of rows 1.. with `low`..`high` members (kept as bool
    rows if `keep`), by an iterative depth-first walk over rows in table order: a row joins
    only if its inputs are in. TooMany past `limit` sets; TimeUp once `expired()`."""
    sets: list[np.ndarray] = []
    count = pops = 0
    chosen = np.zeros(n_rows, bool)
    members: list[int] = []  # the rows in `chosen`, ascending
    stack = [(1, 0, False)]  # (row, members so far, whether the row is being included)
    while stack:
        node, size, include = stack.pop()
        pops += 1
        if expired is not None and pops % 4096 == 0 and expired():
            raise TimeUp
        while members and members[-1] >= node:  # undo choices below this branch point
            chosen[members.pop()] = False
        if include:
            chosen[node] = True
            members.append(node)
            size += 1
            node += 1
        if size > high:
            continue
        if node == n_rows:
            if size >= low:
                count += 1
                if keep:
                    sets.append(chosen.copy())
                if limit is not None and count > limit:
                    raise TooMany(count)
            continue
        if all(chosen[p] for p in inner_preds[node]):
            stack.append((node, size, True))
        stack.append((node + 1, size, False))
    return sets


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
