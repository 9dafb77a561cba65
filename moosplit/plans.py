"""Plans: which nodes run on the edge, at which bit-widths, with which codec.

A :class:`Plans` batch holds many plans as arrays (the form every backend and the evaluator
use); a :class:`Plan` is one plan in names, as a user reads it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .costs import cost_model
from .errors import ProblemError
from .problems.problem import SplitProblem


def read_only(array: np.ndarray) -> np.ndarray:
    """A read-only view of `array` (writing through it raises ValueError)."""
    view = array.view()
    view.flags.writeable = False
    return view


@dataclass(frozen=True)
class Plan:
    """One plan, in node names.

    split: n in prefix mode (nodes 1..n on the edge), -1 in cut mode.
    bits_w: per edge node in table order; None for a node without weights.
    """

    split: int
    edge_nodes: tuple[str, ...]
    bits_w: tuple[int | None, ...]
    bits_a: tuple[int, ...]
    codec: str = "none"

    def cut_tensors(self, problem: SplitProblem) -> tuple[str, ...]:
        """The plan's cut tensors C(S) (SPEC section 4) by row name, in table order: the
        tensors held by the edge nodes or the input that a cloud node reads, plus every
        model output computed on the edge (an edge-only plan's are the model outputs).
        The input row is among them when a cloud node reads the raw input. From
        :meth:`moosplit.costs.CostModel.cut`, the definition every backend uses; the plan
        is checked first (ProblemError if it is not a plan of `problem`).

        Example:
            >>> import moosplit
            >>> problem = moosplit.SplitProblem(moosplit.load_profile("portend_resnet20"),
            ...                                 moosplit.Network(bandwidth_mbps=10))
            >>> Plan(0, (), (), ()).cut_tensors(problem)   # cloud-only: the raw input
            ('input',)
        """
        edge = Plans.from_plans(problem, [self]).edge
        cut = cost_model(problem.profile).cut(edge)[0]
        return tuple(problem.profile.names[t] for t in np.flatnonzero(cut))


@dataclass(frozen=True, eq=False)
class Plans:
    """A batch of P plans over a profile with V rows (input row included).

    edge: (P, V) bool, column 0 (the input) always False.
    bits_w, bits_a: (P, V) int16 bit values; 0 off the edge, and 0 in `bits_w` for nodes
        without weights.
    codec: (P,) int16 index into the problem's codec table (0 = `none`).
    """

    edge: np.ndarray
    bits_w: np.ndarray
    bits_a: np.ndarray
    codec: np.ndarray

    def __post_init__(self) -> None:
        edge = np.asarray(self.edge, bool)
        if edge.ndim != 2:
            raise ProblemError(f"plans.edge must be 2-D (plans, rows), got shape {edge.shape}")
        object.__setattr__(self, "edge", edge)
        for name in ("bits_w", "bits_a"):
            array = np.asarray(getattr(self, name), np.int16)
            if array.shape != edge.shape:
                raise ProblemError(f"plans.{name} must have shape {edge.shape}, got "
                                   f"{array.shape}")
            object.__setattr__(self, name, array)
        codec = np.asarray(self.codec, np.int16).reshape(-1)
        if codec.shape != (edge.shape[0],):
            raise ProblemError(f"plans.codec must have shape ({edge.shape[0]},), got "
                               f"{codec.shape}")
        object.__setattr__(self, "codec", codec)

    def __len__(self) -> int:
        return self.edge.shape[0]

    def read_only(self) -> Plans:
        """These plans with read-only arrays (views, no copy), as a Front holds them."""
        return Plans(*(read_only(getattr(self, name))
                       for name in ("edge", "bits_w", "bits_a", "codec")))

    @property
    def n_edge(self) -> np.ndarray:
        """Number of edge nodes of each plan (the split n in prefix mode)."""
        return self.edge.sum(axis=1)

    @classmethod
    def empty(cls, n_rows: int) -> Plans:
        """No plans."""
        zeros = np.zeros((0, n_rows), np.int16)
        return cls(zeros.astype(bool), zeros, zeros, np.zeros(0, np.int16))

    def take(self, index: np.ndarray | Sequence[int] | slice) -> Plans:
        """The plans at `index` (integer indices, a boolean mask or a slice)."""
        if isinstance(index, slice):
            return Plans(self.edge[index], self.bits_w[index], self.bits_a[index],
                         self.codec[index])
        index = np.asarray(index)
        if index.dtype == bool:
            index = np.flatnonzero(index)
        index = index.astype(np.intp, copy=False)
        return Plans(self.edge[index], self.bits_w[index], self.bits_a[index],
                     self.codec[index])

    @staticmethod
    def concat(batches: Sequence[Plans], n_rows: int) -> Plans:
        """All plans of several batches, in order."""
        batches = [b for b in batches if len(b)]
        if not batches:
            return Plans.empty(n_rows)
        return Plans(np.concatenate([b.edge for b in batches]),
                     np.concatenate([b.bits_w for b in batches]),
                     np.concatenate([b.bits_a for b in batches]),
                     np.concatenate([b.codec for b in batches]))

    def tie_order(self) -> np.ndarray:
        """Indices sorting the plans by the SPEC's tie-break among equal objective vectors.

        Fewest edge nodes (smallest split) first; then the edge set whose node indices are
        lexicographically smallest; then the smallest `bits_w`, then `bits_a`, over the
        edge nodes in table order; then the codec index.
        """
        keys = [self.codec]
        keys += [self.bits_a[:, j] for j in range(self.bits_a.shape[1] - 1, 0, -1)]
        keys += [self.bits_w[:, j] for j in range(self.bits_w.shape[1] - 1, 0, -1)]
        keys += [~self.edge[:, j] for j in range(self.edge.shape[1] - 1, 0, -1)]
        keys.append(self.n_edge)
        return np.lexsort(keys)

    # ------------------------------------------------------------ conversion
    def plan(self, i: int, problem: SplitProblem) -> Plan:
        """Plan `i` in node names."""
        profile = problem.profile
        nodes = np.flatnonzero(self.edge[i])
        split = int(nodes.size) if problem.mode == "prefix" else -1
        bits_w = tuple(int(self.bits_w[i, t]) if profile.has_weights[t] else None
                       for t in nodes)
        return Plan(split, tuple(profile.names[t] for t in nodes), bits_w,
                    tuple(int(self.bits_a[i, t]) for t in nodes),
                    problem.codec_table.names[int(self.codec[i])])

    @classmethod
    def from_plans(cls, problem: SplitProblem, plans: Sequence[Plan]) -> Plans:
        """Array form of named plans; checks them with :func:`check_plans`."""
        profile = problem.profile
        n = len(plans)
        edge = np.zeros((n, profile.n_rows), bool)
        bits_w = np.zeros((n, profile.n_rows), np.int16)
        bits_a = np.zeros((n, profile.n_rows), np.int16)
        codec = np.zeros(n, np.int16)
        codecs = problem.codec_table.names
        for i, plan in enumerate(plans):
            if not len(plan.edge_nodes) == len(plan.bits_w) == len(plan.bits_a):
                raise ProblemError(f"plan {i}: edge_nodes, bits_w and bits_a must have one "
                                   "entry per edge node")
            for name, bw, ba in zip(plan.edge_nodes, plan.bits_w, plan.bits_a, strict=True):
                if name not in profile.index or name == profile.names[0]:
                    raise ProblemError(f"plan {i}: {name!r} is not a node of the profile")
                t = profile.index[name]
                if edge[i, t]:
                    raise ProblemError(f"plan {i}: node {name!r} is listed twice")
                edge[i, t] = True
                if profile.has_weights[t]:
                    if bw is None:
                        raise ProblemError(f"plan {i}: node {name!r} has weights, so it needs "
                                           "a weight bit-width")
                    bits_w[i, t] = bw
                elif bw is not None:
                    raise ProblemError(f"plan {i}: node {name!r} has no weights, so its "
                                       f"weight bit-width must be '-' (None), got {bw!r}")
                bits_a[i, t] = ba
            if plan.codec not in codecs:
                raise ProblemError(f"plan {i}: unknown codec {plan.codec!r}; the problem "
                                   f"has {', '.join(codecs)}")
            codec[i] = codecs.index(plan.codec)
            if problem.mode == "prefix" and plan.split != int(edge[i].sum()):
                raise ProblemError(f"plan {i}: split {plan.split} does not match its "
                                   f"{int(edge[i].sum())} edge nodes")
        batch = cls(edge, bits_w, bits_a, codec)
        check_plans(problem, batch)
        return batch


def check_plans(problem: SplitProblem, plans: Plans) -> None:
    """Raise ProblemError unless every plan is well formed for `problem`.

    Well formed: the shapes fit the profile; the input row is never an edge node; in prefix
    mode the edge set is rows 1..n, in cut mode it is closed under predecessors; bit values
    on the edge are in the problem's bit set (weight bits 0 exactly where a node has no
    weights); nothing is set off the edge; the codec exists. Feasibility (constraints, split
    bounds, codec coverage) is the evaluator's business, not this check's.
    """
    profile = problem.profile
    if plans.edge.shape[1] != profile.n_rows:
        raise ProblemError(f"plans have {plans.edge.shape[1]} columns, the profile has "
                           f"{profile.n_rows} rows")
    if len(plans) == 0:
        return

    def fail(mask: np.ndarray, what: str) -> None:
        bad = np.flatnonzero(mask)
        if bad.size:
            raise ProblemError(f"plan {int(bad[0])}: {what}")

    edge = plans.edge
    fail(edge[:, 0], "the input row cannot be an edge node")
    if problem.mode == "prefix":
        n = edge.sum(axis=1)
        prefix = np.arange(profile.n_rows)[None, :]
        fail((edge != ((prefix >= 1) & (prefix <= n[:, None]))).any(axis=1),
             "in prefix mode the edge nodes must be rows 1..n")
    else:
        closed = cost_model(profile).closed_under_predecessors(edge)
        fail((closed != edge).any(axis=1),
             "the edge set must be closed under predecessors (cut mode)")
    allowed = np.zeros(max(max(problem.bit_set), 16) + 1, bool)
    allowed[list(problem.bit_set)] = True
    bits_w, bits_a = plans.bits_w.astype(np.int64), plans.bits_a.astype(np.int64)
    for name, bits, needs in (("bits_w", bits_w, edge & profile.has_weights[None, :]),
                              ("bits_a", bits_a, edge)):
        out_of_range = (bits < 0) | (bits >= allowed.size)
        fail(out_of_range.any(axis=1), f"{name} holds a value outside the bit set "
                                       f"{problem.bit_set}")
        fail((needs & ~allowed[bits]).any(axis=1),
             f"{name} of an edge node is not in the bit set {problem.bit_set}")
        fail((~needs & (bits != 0)).any(axis=1),
             f"{name} must be 0 off the edge" + (" and for nodes without weights"
                                                  if name == "bits_w" else ""))
    fail((plans.codec < 0) | (plans.codec >= len(problem.codec_table)),
         "codec index out of range")


def prefix_plans(problem: SplitProblem, splits: np.ndarray, bits: int) -> Plans:
    """Plans with nodes 1..n on the edge for each n in `splits`, every edge node at `bits`."""
    profile = problem.profile
    rows = np.arange(profile.n_rows)[None, :]
    edge = (rows >= 1) & (rows <= np.asarray(splits)[:, None])
    bits_w = np.where(edge & profile.has_weights[None, :], bits, 0)
    return Plans(edge, bits_w, np.where(edge, bits, 0), np.zeros(len(splits)))
