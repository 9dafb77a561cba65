"""A deliberately simple, independent brute-force reference for SPEC sections 4 and 6.

Written from SPEC.md only (plus the project's decisions where SPEC is open, listed below),
without any moosplit evaluator or solver code: plain loops, sets and dicts over the public
attributes of a problem. It is slow on purpose and only for small problems.

Decisions followed where SPEC is open:
- edge latency of node i with `edge_ms_bits`: `edge_ms_bits[(bw, ba)][i]`, or `edge_ms[i]`
  when bw = ba = 16; bw does not matter for nodes without weights.
- codec c: every cut tensor t is sent with bits / ratio[c, t]; err[c, t] is added to the
  error and encode_ms[c, t] to the edge latency, for each cut tensor; a cut tensor whose row
  the codec is not `available` for makes the plan infeasible. Memory is not affected.
- transmit seconds = transmitted bits / (bandwidth_mbps * 1e6), without rtt; latency adds
  rtt_ms always.
- energy = sum of edge_mj over S + tx_power_mw * transmit seconds (NaN when either is
  missing); throughput = batch / max(edge s incl. encode, transmit s, cloud s) (inf when
  all are zero).
- packing (docs/formulation.md, amending SPEC section 4): each cut tensor adds out_elems x
  batch x the profile's `pack_ns_per_element` (1e-6 ms per ns) to the edge time and x
  `unpack_ns_per_element` to the cloud time, whatever its bits.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

REFERENCE_BITS = 16
QUANTITY_NAMES = ("latency_ms", "memory_bytes", "error", "edge_macs", "energy_mj",
                  "throughput_fps", "tx_bytes")
MAXIMISED = {"edge_macs": True, "throughput_fps": True}


# --------------------------------------------------------------------------- helpers
class ProblemData:
    """The problem's public data as plain Python lists and dicts (read once, for speed)."""

    def __init__(self, problem):
        profile = problem.profile
        self.n_rows = profile.n_rows
        self.n_nodes = profile.n_nodes
        self.inputs = [list(p) for p in profile.inputs]
        self.consumers = [[] for _ in range(self.n_rows)]
        for node in range(self.n_rows):
            for pred in profile.inputs[node]:
                self.consumers[pred].append(node)
        self.out_elems = [int(x) for x in profile.out_elems]
        self.weight_elems = [int(x) for x in profile.weight_elems]
        self.macs = [int(x) for x in profile.macs]
        self.edge_ms = [float(x) for x in profile.edge_ms]
        self.cloud_ms = [float(x) for x in profile.cloud_ms]
        self.werr = {int(b): [float(x) for x in v] for b, v in profile.weight_error.items()}
        self.aerr = {int(b): [float(x) for x in v] for b, v in profile.activation_error.items()}
        self.edge_ms_bits = None
        if profile.edge_ms_bits is not None:
            self.edge_ms_bits = {(int(w), int(a)): [float(x) for x in v]
                                 for (w, a), v in profile.edge_ms_bits.items()}
        self.edge_mj = None if profile.edge_mj is None else [float(x) for x in profile.edge_mj]
        self.input_bits = int(profile.input_bits)
        self.batch = int(profile.batch)
        self.pack_ns = float(profile.metadata.get("pack_ns_per_element", 0.0))
        self.unpack_ns = float(profile.metadata.get("unpack_ns_per_element", 0.0))
        self.bandwidth_mbps = float(problem.network.bandwidth_mbps)
        self.rtt_ms = float(problem.network.rtt_ms)
        tx_power = problem.network.tx_power_mw
        self.tx_power_mw = None if tx_power is None else float(tx_power)
        codecs = problem.codec_table
        self.codec_names = list(codecs.names)
        self.ratio = [[float(x) for x in row] for row in codecs.ratio]
        self.codec_err = [[float(x) for x in row] for row in codecs.err]
        self.encode_ms = [[float(x) for x in row] for row in codecs.encode_ms]
        self.available = [[bool(x) for x in row] for row in codecs.available]
        self.split_bounds = tuple(problem.split_bounds)
        self.constraints = dict(problem.constraints)
        self._structure = {}

    def structure(self, edge: set[int]):
        """(cut tensors, live sets per edge node) of an edge set, computed once."""
        key = tuple(sorted(edge))
        if key not in self._structure:
            cut = cut_tensors(self, edge)
            live_sets = []
            for k in sorted(edge):
                live_sets.append(live_set(self, edge, cut, k))
            self._structure[key] = (cut, live_sets)
        return self._structure[key]


def cut_tensors(data: ProblemData, edge: set[int]) -> list[int]:
    """C(S): rows of S or the input with a consumer off the edge, plus sinks in S."""
    cut = []
    for t in range(data.n_rows):
        if t != 0 and t not in edge:
            continue
        has_outside_consumer = False
        for c in data.consumers[t]:
            if c not in edge:
                has_outside_consumer = True
        is_sink_on_edge = t in edge and len(data.consumers[t]) == 0
        if has_outside_consumer or is_sink_on_edge:
            cut.append(t)
    return cut


def live_set(data: ProblemData, edge: set[int], cut: list[int], k: int) -> set[int]:
    """Live(k) = {k} and every t of S or the input before k still read by an edge node at
    or after k, or that is a cut tensor (held until it is sent)."""
    live = {k}
    for t in edge | {0}:
        if t >= k:
            continue
        needed_later = False
        for consumer in data.consumers[t]:
            if consumer in edge and consumer >= k:
                needed_later = True
        if needed_later or t in cut:
            live.add(t)
    return live


def node_edge_latency(data: ProblemData, i: int, bw: int | None, ba: int) -> float:
    """Edge latency of node i at weight bits bw (None: no weights) and activation bits ba."""
    table = data.edge_ms_bits
    if table is None:
        return data.edge_ms[i]
    if data.weight_elems[i] == 0:
        # weight bits do not matter: any bw with this ba will do
        if ba == REFERENCE_BITS:
            return data.edge_ms[i]
        for (_, a), values in table.items():
            if a == ba:
                return values[i]
        raise KeyError(f"no edge_ms_w*a{ba} column")
    if bw == REFERENCE_BITS and ba == REFERENCE_BITS:
        return data.edge_ms[i]
    return table[(bw, ba)][i]


# --------------------------------------------------------------------------- evaluate
def reference_evaluate(problem, edge_set, bits_w, bits_a, codec_name="none",
                       data: ProblemData | None = None) -> dict:
    """Every quantity of SPEC section 4 for one plan, and whether it is feasible.

    edge_set: iterable of row indices (1..N) run on the edge.
    bits_w: dict row -> weight bits for the weighted edge nodes (others are ignored).
    bits_a: dict row -> activation bits for every edge node.
    codec_name: the codec's name (or its index in problem.codec_table).
    data: ProblemData(problem), to reuse across calls (built when None).
    """
    if data is None:
        data = ProblemData(problem)
    c = data.codec_names.index(codec_name) if isinstance(codec_name, str) else int(codec_name)
    batch = data.batch
    edge = {int(i) for i in edge_set}
    for i in edge:
        assert 1 <= i <= data.n_nodes, f"edge node {i} out of range"

    def bits(t: int) -> int:
        if t == 0:
            return data.input_bits
        return int(bits_a[t])

    cut, live_sets = data.structure(edge)

    # transmitted bits, codec applied
    tx_bits = 0.0
    codec_ok = True
    encode_ms = 0.0
    codec_err = 0.0
    pack_ms = unpack_ms = 0.0
    for t in cut:
        tx_bits += data.out_elems[t] * bits(t) * batch / data.ratio[c][t]
        encode_ms += data.encode_ms[c][t]
        pack_ms += data.out_elems[t] * batch * data.pack_ns * 1e-6
        unpack_ms += data.out_elems[t] * batch * data.unpack_ns * 1e-6
        codec_err += data.codec_err[c][t]
        if not data.available[c][t]:
            codec_ok = False
    tx_seconds = tx_bits / (data.bandwidth_mbps * 1e6)

    # latency
    edge_ms = 0.0
    for i in sorted(edge):
        bw = int(bits_w[i]) if data.weight_elems[i] > 0 else None
        edge_ms += node_edge_latency(data, i, bw, int(bits_a[i]))
    edge_ms += encode_ms + pack_ms
    cloud_ms = unpack_ms
    for i in range(1, data.n_rows):
        if i not in edge:
            cloud_ms += data.cloud_ms[i]
    latency = edge_ms + data.rtt_ms + 1000.0 * tx_seconds + cloud_ms

    # memory: weights + batch * working set (max over edge nodes k of the bytes of Live(k))
    weights = 0.0
    for i in edge:
        if data.weight_elems[i] > 0:
            weights += data.weight_elems[i] * int(bits_w[i]) / 8
    working_set = 0.0
    for live in live_sets:
        size = 0.0
        for t in live:
            size += data.out_elems[t] * bits(t) / 8
        working_set = max(working_set, size)
    memory = weights + working_set * batch

    # error: quantisation of the edge nodes, plus the codec's error per cut tensor
    error = 0.0
    for i in sorted(edge):
        if data.weight_elems[i] > 0:
            error += data.werr[int(bits_w[i])][i]
        error += data.aerr[int(bits_a[i])][i]
    error += codec_err

    macs = 0
    for i in edge:
        macs += data.macs[i]

    if data.edge_mj is None or data.tx_power_mw is None:
        energy = math.nan
    else:
        energy = 0.0
        for i in edge:
            energy += data.edge_mj[i]
        energy += data.tx_power_mw * tx_seconds

    slowest = max(edge_ms / 1000.0, tx_seconds, cloud_ms / 1000.0)
    throughput = math.inf if slowest == 0 else batch / slowest

    values = {
        "latency_ms": latency,
        "memory_bytes": memory,
        "error": error,
        "edge_macs": float(macs),
        "energy_mj": energy,
        "throughput_fps": throughput,
        "tx_bytes": tx_bits / 8,
    }

    lo, hi = data.split_bounds
    feasible = lo <= len(edge) <= hi and codec_ok
    for name, bound in data.constraints.items():
        value = values[name]
        if MAXIMISED.get(name, False):
            if not value >= bound:
                feasible = False
        else:
            if not value <= bound:
                feasible = False
    values["feasible"] = feasible
    values["cut"] = tuple(cut)
    return values


# --------------------------------------------------------------------------- enumerate
def edge_sets(problem):
    """Every edge set of the problem's mode (split bounds not applied), as sorted tuples."""
    profile = problem.profile
    n = profile.n_nodes
    if problem.mode == "prefix":
        for split in range(n + 1):
            yield tuple(range(1, split + 1))
        return
    for size in range(n + 1):
        for combo in itertools.combinations(range(1, n + 1), size):
            chosen = set(combo)
            closed = True
            for i in combo:
                for pred in profile.inputs[i]:
                    if pred != 0 and pred not in chosen:
                        closed = False
            if closed:
                yield combo


def iter_plans(problem):
    """Every plan (edge set, bits_w, bits_a, codec name) within the split bounds."""
    profile = problem.profile
    bit_set = tuple(problem.bit_set)
    lo, hi = problem.split_bounds
    for edge in edge_sets(problem):
        if not lo <= len(edge) <= hi:
            continue  # infeasible whatever the bits (reference_evaluate agrees)
        weighted = [i for i in edge if profile.weight_elems[i] > 0]
        for wbits in itertools.product(bit_set, repeat=len(weighted)):
            bits_w = dict(zip(weighted, wbits, strict=True))
            for abits in itertools.product(bit_set, repeat=len(edge)):
                bits_a = dict(zip(edge, abits, strict=True))
                for codec in problem.codec_table.names:
                    yield edge, bits_w, bits_a, codec


def count_plans(problem) -> int:
    """Number of plans `iter_plans` enumerates (counted, not enumerated)."""
    profile = problem.profile
    lo, hi = problem.split_bounds
    total = 0
    for edge in edge_sets(problem):
        if lo <= len(edge) <= hi:
            weighted = sum(1 for i in edge if profile.weight_elems[i] > 0)
            total += len(problem.bit_set) ** (weighted + len(edge))
    return total * len(problem.codec_table.names)


def objective_vector(problem, values) -> tuple[float, ...]:
    return tuple(float(values[name]) for name in problem.objectives)


def weakly_dominates(a, b, maximise) -> bool:
    """a is at least as good as b in every objective."""
    for x, y, up in zip(a, b, maximise, strict=True):
        if up:
            if x < y:
                return False
        elif x > y:
            return False
    return True


def nondominated_filter(points, maximise) -> list[tuple[float, ...]]:
    """The distinct non-dominated vectors of `points` (pairwise checks, kept incrementally)."""
    kept: list[tuple[float, ...]] = []
    for p in points:
        if any(weakly_dominates(q, p, maximise) for q in kept):
            continue  # dominated by, or equal to, a kept point
        kept = [q for q in kept if not weakly_dominates(p, q, maximise)]
        kept.append(p)
    return kept


def reference_front(problem, *, with_plans: bool = False):
    """The Pareto front of every feasible plan, as an (n, k) array in natural units.

    With `with_plans`, also returns the list of (vector, plan) of every feasible plan.
    """
    maximise = tuple(problem.maximise)
    data = ProblemData(problem)
    feasible_points = []
    plans = []
    for plan in iter_plans(problem):
        values = reference_evaluate(problem, *plan, data=data)
        if values["feasible"]:
            vector = objective_vector(problem, values)
            feasible_points.append(vector)
            if with_plans:
                plans.append((vector, plan))
    front = nondominated_filter(feasible_points, maximise)
    F = np.array(sorted(front), dtype=float).reshape(len(front), len(problem.objectives))
    return (F, plans) if with_plans else F


# --------------------------------------------------------------------------- compare
def close_or_better(a: float, b: float, up: bool, rtol: float = 1e-6) -> bool:
    """b is at least as good as a, within relative tolerance rtol."""
    if a == b:
        return True
    slack = rtol * max(abs(a), abs(b)) + 1e-12
    if up:
        return b >= a - slack
    return b <= a + slack


def covered(A, B, maximise, rtol: float = 1e-6) -> list[int]:
    """Indices of rows of A that no row of B weakly dominates within rtol."""
    missing = []
    for i, a in enumerate(A):
        ok = False
        for b in B:
            pairs = zip(a, b, maximise, strict=True)
            if all(close_or_better(x, y, up, rtol) for x, y, up in pairs):
                ok = True
                break
        if not ok:
            missing.append(i)
    return missing


def fronts_equal(A, B, maximise, rtol: float = 1e-6) -> tuple[bool, str]:
    """SPEC front equality: each point of each is weakly dominated by one of the other."""
    a_missing = covered(A, B, maximise, rtol)
    b_missing = covered(B, A, maximise, rtol)
    if not a_missing and not b_missing:
        return True, ""
    lines = []
    if a_missing:
        lines.append(f"{len(a_missing)} point(s) of the first not covered by the second, "
                     f"e.g. {[tuple(A[i]) for i in a_missing[:3]]}")
    if b_missing:
        lines.append(f"{len(b_missing)} point(s) of the second not covered by the first, "
                     f"e.g. {[tuple(B[i]) for i in b_missing[:3]]}")
    return False, "; ".join(lines)
