"""Closing labels: a full objective vector per label and codec for one edge set.

Transmission (from the state's bits), codec, cloud, energy and throughput terms are added
to the labels' partial sums, and :func:`moosplit.costs.quantities` assembles them as the
evaluator does.
"""

from __future__ import annotations

from dataclasses import dataclass

import moocore
import numpy as np

from ...costs import (
    cost_model,
    latency_ms,
    quantities,
    tensor_bits,
    transmit_seconds,
)
from ...problems.problem import SplitProblem, meets
from ...results.pareto import minimisation_form
from .labels import Labels


@dataclass
class Closed:
    """Full objective vectors of finished plans, with what it takes to rebuild them.

    F: (P, k) objectives in minimisation form; label: (P,) label index in the closed
    Labels; codec: (P,) the plan's codec.
    """

    F: np.ndarray
    label: np.ndarray
    codec: np.ndarray


def close(problem: SplitProblem, dims: list[str], labels: Labels, edge: np.ndarray,
          sent: tuple[int, ...], input_sent: bool) -> Closed:
    """Full objective vectors of every label for the edge set `edge`, per codec that
    covers the sent tensors; only feasible, non-dominated ones are kept.

    sent: the edge tensors sent, which are exactly the tensors the labels hold (the
    tensors live after the last node: a walk's frontier is its cut set); input_sent: the
    raw input is sent too.
    """
    profile, network, codecs = problem.profile, problem.network, problem.codec_table
    n_labels = len(labels)
    batch = profile.batch
    cloud_ms = profile.cloud_ms[~edge].sum()
    edge_mj = None if profile.edge_mj is None else profile.edge_mj[edge].sum()
    macs = float(profile.macs[edge].sum())
    if "edge_ms" in dims:
        edge_ms = labels.sums[:, dims.index("edge_ms")]
    else:
        edge_ms = np.full(n_labels, profile.edge_ms[edge].sum())
    tensors = ([0] if input_sent else []) + list(sent)
    costs = cost_model(profile)
    edge_ms = edge_ms + costs.pack_ms[tensors].sum()
    cloud_ms = cloud_ms + costs.unpack_ms[tensors].sum()
    error = labels.sums[:, dims.index("error")] if "error" in dims else None
    memory = (labels.sums[:, dims.index("weights")] + labels.sums[:, dims.index("peak")]
              if "weights" in dims else None)
    out_F, out_label, out_codec = [], [], []
    for c in range(len(codecs)):
        if not codecs.available[c, tensors].all():
            continue
        tx_bits = labels.held[:, :, c].sum(axis=1)
        if input_sent:
            tx_bits = tx_bits + tensor_bits(profile.out_elems[0], profile.input_bits,
                                            batch) / codecs.ratio[c, 0]
        encode = codecs.encode_ms[c, tensors].sum()
        values = quantities(
            edge_ms=edge_ms + encode, tx_bits=tx_bits, cloud_ms=cloud_ms, network=network,
            batch=batch, error=None if error is None else error + codecs.err[c, tensors].sum(),
            memory=memory, edge_macs=np.full(n_labels, macs), edge_mj=edge_mj)
        feasible = np.ones(n_labels, bool)
        for name, bound in problem.constraints.items():
            feasible &= meets(name, values[name], bound)
        F = minimisation_form(np.column_stack([values[q] for q in problem.objectives]),
                              problem.maximise)[feasible]
        out_F.append(F)
        out_label.append(np.flatnonzero(feasible))
        out_codec.append(np.full(len(F), c))
    if not out_F:
        k = problem.n_objectives
        return Closed(np.zeros((0, k)), np.zeros(0, int), np.zeros(0, int))
    F = np.concatenate(out_F)
    keep = moocore.is_nondominated(F, keep_weakly=False) if len(F) else np.zeros(0, bool)
    return Closed(F[keep], np.concatenate(out_label)[keep], np.concatenate(out_codec)[keep])


def close_latency_floor(problem: SplitProblem, smallest_bits: int, edge: np.ndarray,
                        sent: tuple[int, ...], input_sent: bool) -> float:
    """A lower bound on the latency a plan with edge set `edge` adds beyond its edge
    compute: rtt, cloud time, packing and unpacking `sent` (and the input), and sending
    them at the smallest bits with the best codec."""
    profile, codecs = problem.profile, problem.codec_table
    ratio = codecs.best_ratio
    encode = np.minimum(0.0, np.where(codecs.available, codecs.encode_ms, np.inf).min(axis=0))
    tensors = ([0] if input_sent else []) + list(sent)
    bits = np.array([profile.input_bits if t == 0 else smallest_bits for t in tensors])
    tx_bits = float(np.sum(tensor_bits(profile.out_elems[tensors], bits, profile.batch)
                           / ratio[tensors]))
    costs = cost_model(profile)
    return float(latency_ms(float(encode[tensors].sum() + costs.pack_ms[tensors].sum()),
                            transmit_seconds(tx_bits, problem.network),
                            float(profile.cloud_ms[~edge].sum()
                                  + costs.unpack_ms[tensors].sum()),
                            problem.network))


def prefix_close_latency_floors(problem: SplitProblem, smallest_bits: int) -> np.ndarray:
    """:func:`close_latency_floor` for every prefix split n = 0..N (edge set rows 1..n,
    sending C(S_n)), computed for all n at once from per-tensor floors."""
    profile, codecs = problem.profile, problem.codec_table
    costs = cost_model(profile)
    ratio = codecs.best_ratio
    bits = np.full(profile.n_rows, float(smallest_bits))
    bits[0] = profile.input_bits
    tx_bits = costs.prefix_cut_sums(tensor_bits(profile.out_elems, bits, profile.batch)
                                      / ratio)
    cloud_after = float(profile.cloud_ms[1:].sum()) - np.cumsum(
        np.r_[0.0, profile.cloud_ms[1:]])
    return latency_ms(costs.prefix_cut_sums(costs.pack_ms),
                      transmit_seconds(tx_bits, problem.network),
                      cloud_after + costs.prefix_cut_sums(costs.unpack_ms), problem.network)
