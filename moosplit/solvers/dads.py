"""`dads`: DADS's minimum-cut partition of a DAG at reference precision (cut mode)."""

from __future__ import annotations

import numpy as np
from scipy.sparse import csr_array
from scipy.sparse.csgraph import breadth_first_order, maximum_flow

from ..costs import tensor_bits, transmit_ms
from ..plans import Plans
from ..problems.problem import SplitProblem
from ..profiles.schema import REFERENCE_BITS
from .baselines import Baseline
from .registry import register

# scipy's maximum_flow is exact on int32 capacities (int64 ones gave wrong flows): finite
# capacities are scaled to sum to at most 2^28, and "infinite" ones are 2^30.
_FINITE_TOTAL = 2**28
_INFINITE = 2**30


@register
class DADS(Baseline):
    """DADS: the edge set minimising edge time + transmission + cloud time, by a min s-t cut.

    Source side = edge. For each node: an arc source -> node weighted by its cloud time
    (paid when it lands on the cloud) and node -> sink by its edge time. Each tensor gets
    an auxiliary node: tensor -> aux weighted by its transfer time, aux -> every consumer
    infinite, so the transfer is paid once when any consumer is on the cloud; an edge
    output (a sink) pays its transfer to the sink. Infinite arcs consumer -> producer keep
    the edge set closed under predecessors. The cut is found by scipy's maximum flow on
    integer capacities and then evaluated truly; rtt, being paid by every plan, is left
    out.
    """

    name = "dads"
    modes = ("cut",)
    citation = "Hu et al., Dynamic adaptive DNN surgery (DADS), INFOCOM 2019"

    def candidates(self, problem: SplitProblem) -> Plans:
        profile, network = problem.profile, problem.network
        n_rows = profile.n_rows
        bits = np.full(n_rows, REFERENCE_BITS)
        bits[0] = profile.input_bits
        transfer = transmit_ms(tensor_bits(profile.out_elems, bits, profile.batch), network)
        source, sink = 2 * n_rows, 2 * n_rows + 1  # rows, then one aux node per row
        arcs: list[tuple[int, int, float]] = []
        for i in range(1, n_rows):
            arcs.append((source, i, profile.cloud_ms[i]))
            arcs.append((i, sink, profile.edge_ms[i]))
        for t in range(n_rows):
            if profile.sinks[t] and t > 0:
                arcs.append((t, sink, transfer[t]))
            if profile.consumers[t]:
                arcs.append((t, n_rows + t, transfer[t]))
                arcs += [(n_rows + t, c, np.inf) for c in profile.consumers[t]]
            arcs += [(c, t, np.inf) for c in profile.consumers[t] if t > 0]
        arcs.append((source, 0, np.inf))  # the raw input is on the edge side
        finite = sum(w for _, _, w in arcs if np.isfinite(w))
        scale = _FINITE_TOTAL / finite if finite > 0 else 1.0
        size = 2 * n_rows + 2
        capacity: dict[tuple[int, int], int] = {}
        for u, v, w in arcs:
            value = _INFINITE if not np.isfinite(w) else int(round(w * scale))
            capacity[(u, v)] = min(_INFINITE, capacity.get((u, v), 0) + value)
        rows, cols = zip(*capacity, strict=True)
        graph = csr_array((np.array(list(capacity.values()), np.int32),
                           (np.array(rows), np.array(cols))), shape=(size, size))
        flow = maximum_flow(graph, source, sink).flow
        residual = csr_array(graph - flow)  # sparse: rows^2 dense entries would not fit
        residual.data = (residual.data > 0).astype(np.int8)
        residual.eliminate_zeros()
        reached = np.zeros(size, bool)
        reached[breadth_first_order(residual, source, directed=True,
                                    return_predecessors=False)] = True
        edge = reached[:n_rows].copy()
        edge[0] = False
        bits_w = np.where(edge & profile.has_weights, REFERENCE_BITS, 0)
        return Plans(edge[None, :], bits_w[None, :], np.where(edge, REFERENCE_BITS, 0)[None, :],
                     [0])
