"""The evaluator (SPEC section 4, codecs of section 5) against numbers computed by hand.

Every profile here is tiny and uses round numbers, and every expected value is worked out
in the comments next to it, so a reader can check the arithmetic without running moosplit.

Conventions used throughout:
- bits(t) = bits_a[t] for an edge node, out_bits (8 here) for the input row.
- A bandwidth of 0.008 Mbit/s is 8000 bit/s = 1000 B/s, so every byte sent costs 1 ms.
- transmit seconds = bits / (bandwidth_mbps * 1e6); rtt is added to latency only.
- energy = sum of edge_mj over edge nodes + tx_power_mw * transmit seconds  (mW * s = mJ).
- throughput = batch / max(edge s incl. codec encode time, transmit s, cloud s).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

import moosplit
from moosplit.evaluator import latency_parts

COLUMNS = ("name", "op", "inputs", "out_elems", "weight_elems", "macs", "edge_ms", "cloud_ms")
SLOW_LINK = 0.008  # Mbit/s: 1 byte = 1 ms


def approx(values):
    return pytest.approx(values, rel=1e-9, abs=1e-12)


def make_profile(rows, extra=None, metadata=None, out_bits=8):
    """A profile from rows in COLUMNS order; `extra` adds columns (name -> one value per row)."""
    frame = pd.DataFrame([dict(zip(COLUMNS, row, strict=True)) for row in rows])
    for column, values in (extra or {}).items():
        frame[column] = list(values)
    frame["out_bits"] = [str(out_bits)] + [""] * (len(rows) - 1)
    return moosplit.Profile.from_frame(frame, dict(metadata or {}))


def make_plans(problem, plans):
    """Array plans from [(assignment, codec index)], assignment {node name: (bits_w, bits_a)}.

    bits_w is None for a node without weights. The batch is checked to be well formed, so a
    mistake in a test's plan shows up as an error here rather than as a wrong number.
    """
    profile = problem.profile
    n, rows = len(plans), profile.n_rows
    edge = np.zeros((n, rows), bool)
    bits_w = np.zeros((n, rows), int)
    bits_a = np.zeros((n, rows), int)
    codec = np.zeros(n, int)
    for i, (assignment, codec_index) in enumerate(plans):
        for name, (bw, ba) in assignment.items():
            t = profile.index[name]
            edge[i, t] = True
            bits_w[i, t] = 0 if bw is None else bw
            bits_a[i, t] = ba
        codec[i] = codec_index
    batch = moosplit.Plans(edge, bits_w, bits_a, codec)
    moosplit.check_plans(problem, batch)
    return batch


def prefix_plans(problem, splits, codec=0):
    """Plans running rows 1..n on the edge at the reference 16 bits, one per split n."""
    profile = problem.profile
    plans = []
    for n in splits:
        assignment = {profile.names[t]: (16 if profile.has_weights[t] else None, 16)
                      for t in range(1, n + 1)}
        plans.append((assignment, codec))
    return make_plans(problem, plans)


# --------------------------------------------------------------------------- profiles

# input(100) -> a(50) -> b(20) -> c(10)   (out_elems per sample)
CHAIN_ROWS = [
    # name, op, inputs, out_elems, weight_elems, macs, edge_ms, cloud_ms
    ("input", "input", "", 100, 0, 0, 0, 0),
    ("a", "conv", "input", 50, 10, 1000, 2, 1),
    ("b", "conv", "a", 20, 20, 2000, 4, 1),
    ("c", "relu", "b", 10, 0, 20, 1, 0.5),
]

# input(20) -> x(30) -> conv1(20) -> conv2(30) -> add(x, conv2)(30) -> fc(5)
RESIDUAL_ROWS = [
    ("input", "input", "", 20, 0, 0, 0, 0),
    ("x", "conv", "input", 30, 10, 300, 1, 0.1),
    ("conv1", "conv", "x", 20, 10, 200, 2, 0.2),
    ("conv2", "conv", "conv1", 30, 10, 300, 3, 0.3),
    ("add", "add", "x conv2", 30, 0, 30, 0.5, 0.4),
    ("fc", "linear", "add", 5, 150, 150, 1, 0.5),
]

# input(50) -> a(40); a -> b(10) -> d(10); a -> c(60); m = concat(d, c)(20)
BRANCH_ROWS = [
    ("input", "input", "", 50, 0, 0, 0, 0),
    ("a", "conv", "input", 40, 5, 100, 1, 0.1),
    ("b", "conv", "a", 10, 5, 100, 4, 0.5),
    ("c", "conv", "a", 60, 5, 100, 2, 0.2),
    ("d", "relu", "b", 10, 0, 10, 1, 0.25),
    ("m", "concat", "d c", 20, 0, 20, 1, 0.25),
]


def chain_problem(network=None, **kwargs):
    profile = make_profile(CHAIN_ROWS, metadata=kwargs.pop("metadata", None),
                           extra=kwargs.pop("extra", None))
    network = network or moosplit.Network(bandwidth_mbps=SLOW_LINK, rtt_ms=5)
    return moosplit.SplitProblem(profile, network, objectives=("latency_ms", "memory_bytes"),
                                 bits=(16,), **kwargs)


# ------------------------------------------------------------------- (1) chain splits

def test_chain_every_split_by_hand():
    problem = chain_problem()
    values = moosplit.evaluate(problem, prefix_plans(problem, [0, 1, 2, 3])).values

    # tx: n=0 sends the raw input at out_bits: 100 * 8 bit = 100 B
    #     n=1 sends a: 50 * 16 bit = 100 B;  n=2 sends b: 20 * 2 B = 40 B
    #     n=3 (edge-only) sends the sink c: 10 * 2 B = 20 B
    assert values["tx_bytes"] == approx([100, 100, 40, 20])
    # latency = edge + rtt 5 + 1 ms/B * tx + cloud
    #   n=0: 0 + 5 + 100 + (1 + 1 + 0.5) = 107.5
    #   n=1: 2 + 5 + 100 + (1 + 0.5)     = 108.5
    #   n=2: (2 + 4) + 5 + 40 + 0.5      = 51.5
    #   n=3: (2 + 4 + 1) + 5 + 20 + 0    = 32
    assert values["latency_ms"] == approx([107.5, 108.5, 51.5, 32])
    # memory = weights at 16 bit (2 B/elem) + working set
    #   n=0: nothing on the edge = 0
    #   n=1: weights 10*2 = 20; at a: a 100 B + input 100 B (read by a) = 200   -> 220
    #   n=2: weights 20 + 40 = 60; at a: 200; at b: b 40 + a 100 = 140          -> 260
    #   n=3: weights 60 (c has none); at c: c 20 + b 40 = 60; max still 200     -> 260
    assert values["memory_bytes"] == approx([0, 220, 260, 260])
    # every node at the reference precision: no error
    assert values["error"] == approx([0, 0, 0, 0])
    # edge MACs: 0, 1000, 1000 + 2000, 3000 + 20
    assert values["edge_macs"] == approx([0, 1000, 3000, 3020])
    assert moosplit.evaluate(problem, prefix_plans(problem, [0, 1, 2, 3])).feasible.all()


def test_cloud_only_uses_input_out_bits():
    # the same chain with out_bits 4 on the input row: n=0 sends 100 * 4 bit = 50 B
    profile = make_profile(CHAIN_ROWS, out_bits=4)
    problem = moosplit.SplitProblem(profile, moosplit.Network(bandwidth_mbps=SLOW_LINK))
    values = moosplit.evaluate(problem, prefix_plans(problem, [0, 1])).values
    assert values["tx_bytes"] == approx([50, 100])
    # n=1 working set: a 100 B + the input at 4 bit, 50 B = 150; weights 20 -> 170
    assert values["memory_bytes"][1] == approx(170)
    # n=0 latency: 0 + rtt 0 + 50 ms + cloud 2.5 = 52.5
    assert values["latency_ms"][0] == approx(52.5)


# ----------------------------------------------------------------- (2) residual block

def residual_problem(network=None, codecs=None, **kwargs):
    profile = make_profile(RESIDUAL_ROWS)
    network = network or moosplit.Network(bandwidth_mbps=SLOW_LINK, rtt_ms=1)
    problem = moosplit.SplitProblem(profile, network, bits=(16,), **kwargs)
    if codecs is not None:
        problem = problem.replace(codecs=moosplit.CodecTable.from_frame(
            pd.DataFrame(codecs, columns=["codec", "node", "ratio", "err", "encode_ms"]),
            profile))
    return problem


def test_split_inside_residual_block_sends_both_tensors_and_holds_the_skip():
    problem = residual_problem()
    values = moosplit.evaluate(problem, prefix_plans(problem, [2, 3, 4])).values

    # n=3, edge = {x, conv1, conv2}: add (cloud) reads x and conv2, so both cross the cut:
    #   tx = (30 + 30) * 16 bit = 960 bit = 120 B   (not just conv2's 60 B)
    # n=2, edge = {x, conv1}: x (read by add) and conv1 (read by conv2) cross:
    #   tx = (30 + 20) * 2 B = 100 B
    # n=4, edge = {.., add}: only add crosses (fc reads it): 30 * 2 B = 60 B
    assert values["tx_bytes"] == approx([100, 120, 60])
    # latency = edge + rtt 1 + 1 ms/B + cloud
    #   n=2: (1 + 2) + 1 + 100 + (0.3 + 0.4 + 0.5) = 105.2
    #   n=3: (1 + 2 + 3) + 1 + 120 + (0.4 + 0.5)   = 127.9
    #   n=4: (1 + 2 + 3 + 0.5) + 1 + 60 + 0.5      = 68.0
    assert values["latency_ms"] == approx([105.2, 127.9, 68.0])
    # working sets at 2 B/elem (input at 8 bit: 20 B):
    #   at x: x 60 + input 20 = 80
    #   at conv1: conv1 40 + x 60 (skip, still needed / sent) = 100
    #   at conv2: conv2 60 + conv1 40 + x 60 = 160     <- the skip tensor is held
    #   at add: add 60 + x 60 + conv2 60 = 180
    # weights: 10 elems * 2 B per conv on the edge
    #   n=2: 40 + max(80, 100) = 140
    #   n=3: 60 + max(80, 100, 160) = 220
    #   n=4: 60 + max(.., 180) = 240
    assert values["memory_bytes"] == approx([140, 220, 240])
    assert values["edge_macs"] == approx([500, 800, 830])


def test_packing_adds_per_cut_element_times_to_edge_and_cloud():
    # the residual block with 1,000 ns per element to pack (edge) and 500 to unpack
    # (cloud): n=2 sends x and conv1 (30 + 20 elements): 0.05 ms + 0.025 ms on 105.2;
    # n=3 sends x and conv2 (60 elements), n=4 add (30); cloud-only the input (20)
    problem = residual_problem()
    packed = dataclasses.replace(problem.profile, metadata={
        **problem.profile.metadata, "pack_ns_per_element": "1000",
        "unpack_ns_per_element": "500"})
    plans = prefix_plans(problem, [0, 2, 3, 4])
    before = moosplit.evaluate(problem, plans).values
    after = moosplit.evaluate(problem.replace(profile=packed), plans)
    sent = np.array([20, 50, 60, 30])
    assert after.values["latency_ms"] == approx(before["latency_ms"] + sent * 1.5e-3)
    parts = latency_parts(problem.replace(profile=packed), plans)
    assert parts["pack_ms"] == approx(sent * 1e-3)
    assert parts["unpack_ms"] == approx(sent * 0.5e-3)
    assert after.values["tx_bytes"] == approx(before["tx_bytes"])  # bits do not change


# ---------------------------------------------------------- (3) two branches, cut mode

def branch_problem(**kwargs):
    profile = make_profile(BRANCH_ROWS)
    return moosplit.SplitProblem(profile, moosplit.Network(bandwidth_mbps=SLOW_LINK, rtt_ms=2),
                                 bits=(16,), mode="cut", **kwargs)


AC = {"a": (16, 16), "c": (16, 16)}                     # rows 1 and 3: not a prefix
ABD = {"a": (16, 16), "b": (16, 16), "d": (None, 16)}   # rows 1, 2, 4: not a prefix


def test_cut_mode_non_prefix_edge_sets():
    problem = branch_problem()
    values = moosplit.evaluate(problem, make_plans(problem, [(AC, 0), (ABD, 0)])).values

    # S = {a, c}: b (cloud) reads a, m (cloud) reads c; the input is read only by a.
    #   tx = (40 + 60) * 2 B = 200 B
    # S = {a, b, d}: c (cloud) reads a, m (cloud) reads d: tx = (40 + 10) * 2 B = 100 B
    assert values["tx_bytes"] == approx([200, 100])
    # latency = edge + rtt 2 + 1 ms/B + cloud
    #   {a, c}:    (1 + 2) + 2 + 200 + (b 0.5 + d 0.25 + m 0.25)  = 206
    #   {a, b, d}: (1 + 4 + 1) + 2 + 100 + (c 0.2 + m 0.25)       = 108.45
    assert values["latency_ms"] == approx([206, 108.45])
    # {a, c}: weights 2 * 5 * 2 B = 20; at a: a 80 + input 50 = 130;
    #   at c: c 120 + a 80 (a cut tensor, held until sent) = 200         -> 220
    # {a, b, d}: weights 20; at a: 130; at b: b 20 + a 80 = 100;
    #   at d: d 20 + b 20 + a 80 (held) = 120                             -> 150
    assert values["memory_bytes"] == approx([220, 150])
    assert values["edge_macs"] == approx([200, 210])


def test_edge_sinks_are_sent_with_the_crossing_tensors():
    # input(10) -> a(8) -> b(4, output); a -> h(2, second output)
    profile = make_profile([
        ("input", "input", "", 10, 0, 0, 0, 0),
        ("a", "conv", "input", 8, 1, 1, 1, 1),
        ("b", "linear", "a", 4, 1, 1, 1, 1),
        ("h", "linear", "a", 2, 1, 1, 1, 1),
    ])
    problem = moosplit.SplitProblem(profile, moosplit.Network(bandwidth_mbps=SLOW_LINK),
                                    bits=(16,), mode="cut")
    plans = make_plans(problem, [
        ({}, 0),                                                    # raw input: 10 B
        ({"a": (16, 16), "h": (16, 16)}, 0),                        # a (b reads it) + h
        ({"a": (16, 16), "b": (16, 16), "h": (16, 16)}, 0),         # the two sinks
    ])
    values = moosplit.evaluate(problem, plans).values
    # {a, h}: (8 + 2) * 2 B = 20 B;  all: (4 + 2) * 2 B = 12 B
    assert values["tx_bytes"] == approx([10, 20, 12])


# --------------------------------------------------------------------------- (4) batch

def test_batch_scales_transmission_and_working_set_not_weights():
    problem = chain_problem(metadata={"batch": "2"})
    assert problem.profile.batch == 2
    values = moosplit.evaluate(problem, prefix_plans(problem, [0, 1, 3])).values

    # out_elems are per sample, so everything sent doubles:
    #   n=0: 100 * 8 bit * 2 = 1600 bit = 200 B;  n=1: 50 * 16 * 2 = 200 B;
    #   n=3: 10 * 16 * 2 = 320 bit = 40 B
    assert values["tx_bytes"] == approx([200, 200, 40])
    # latencies in the profile are for the whole batch and are not scaled:
    #   n=0: 0 + 5 + 200 + 2.5 = 207.5;  n=1: 2 + 5 + 200 + 1.5 = 208.5;  n=3: 7 + 5 + 40 = 52
    assert values["latency_ms"] == approx([207.5, 208.5, 52])
    # working set doubles, weights do not:
    #   n=1: 20 + (100 + 100) * 2 = 420;  n=3: 60 + 200 * 2 = 460
    assert values["memory_bytes"] == approx([0, 420, 460])
    # throughput = batch / slowest stage: n=3: 2 / max(0.007, 0.040, 0) = 50 frames/s
    #   n=0: 2 / max(0, 0.2, 0.0025) = 10
    assert values["throughput_fps"] == approx([10, 10, 50])


# ---------------------------------------------------------------------- (5) mixed bits

BITS_ROWS = [
    ("input", "input", "", 100, 0, 0, 0, 0),
    ("a", "conv", "input", 50, 40, 1000, 4, 1),
    ("b", "relu", "a", 50, 0, 50, 2, 1),
    ("c", "linear", "b", 10, 20, 200, 8, 2),
]
ERRORS = {
    #           input  a     b     c
    "werr_b4": [0, 0.4, 0, 0.5],
    "aerr_b4": [0, 0.2, 0.3, 0.25],
    "werr_b8": [0, 0.1, 0, 0.125],
    "aerr_b8": [0, 0.05, 0.06, 0.0625],
}


def bit_latency_columns():
    """edge_ms_w{bw}a{ba} = edge_ms * (bw' + ba) / 32, bw' = 16 for the weightless b."""
    columns = {}
    edge_ms = [row[6] for row in BITS_ROWS]
    weighted = [row[4] > 0 for row in BITS_ROWS]
    for bw in (4, 8, 16):
        for ba in (4, 8, 16):
            if bw == ba == 16:
                continue
            columns[f"edge_ms_w{bw}a{ba}"] = [
                ms * ((bw if w else 16) + ba) / 32 for ms, w in zip(edge_ms, weighted, strict=True)]
    return columns


def bits_problem(bit_latency=True, **kwargs):
    extra = dict(ERRORS)
    if bit_latency:
        extra.update(bit_latency_columns())
    profile = make_profile(BITS_ROWS, extra=extra)
    return moosplit.SplitProblem(profile, moosplit.Network(bandwidth_mbps=SLOW_LINK),
                                 bits=(4, 8, 16), **kwargs)


MIXED = {"a": (4, 8), "b": (None, 4), "c": (8, 16)}   # split 3
A_ONLY = {"a": (8, 4)}                                  # split 1
ALL16 = {"a": (16, 16), "b": (None, 16), "c": (16, 16)}


def test_mixed_bits_error_memory_latency():
    problem = bits_problem()
    values = moosplit.evaluate(
        problem, make_plans(problem, [(MIXED, 0), (A_ONLY, 0), (ALL16, 0)])).values

    # error = sum of werr(bits_w) + aerr(bits_a) over edge nodes
    #   MIXED:  a werr_b4 0.4 + aerr_b8 0.05 + b aerr_b4 0.3 + c werr_b8 0.125 + aerr_b16 0
    #           = 0.875
    #   A_ONLY: a werr_b8 0.1 + aerr_b4 0.2 = 0.3    (b, c on the cloud add nothing)
    #   ALL16:  0
    assert values["error"] == approx([0.875, 0.3, 0])
    # weights at bits_w:  MIXED: a 40*4/8 = 20 + c 20*8/8 = 20 = 40
    #                     A_ONLY: 40*8/8 = 40;  ALL16: 40*2 + 20*2 = 120
    # activations at bits_a (input 100 B at 8 bit):
    #   MIXED:  at a: a 50*8/8 = 50 + input 100 = 150; at b: b 50*4/8 = 25 + a 50 = 75;
    #           at c: c 10*16/8 = 20 + b 25 = 45                   -> 40 + 150 = 190
    #   A_ONLY: at a: a 50*4/8 = 25 + input 100 = 125              -> 40 + 125 = 165
    #   ALL16:  at a: 100 + 100 = 200                              -> 120 + 200 = 320
    assert values["memory_bytes"] == approx([190, 165, 320])
    # tx: MIXED sends the sink c at 16 bit: 20 B; A_ONLY sends a at 4 bit: 50*4/8 = 25 B;
    #     ALL16 sends c: 20 B
    assert values["tx_bytes"] == approx([20, 25, 20])
    # edge latency from edge_ms_w{bw}a{ba} = edge_ms * (bw' + ba) / 32:
    #   MIXED: a w4a8 4*12/32 = 1.5; b a4 2*(16+4)/32 = 1.25; c w8a16 8*24/32 = 6 -> 8.75
    #          latency = 8.75 + 20 ms (tx) = 28.75
    #   A_ONLY: a w8a4 4*12/32 = 1.5; + tx 25 + cloud b 1 + c 2 = 29.5
    #   ALL16: edge_ms 4 + 2 + 8 = 14; + tx 20 = 34
    assert values["latency_ms"] == approx([28.75, 29.5, 34])


def test_without_bit_latency_columns_latency_ignores_bits():
    problem = bits_problem(bit_latency=False)
    values = moosplit.evaluate(
        problem, make_plans(problem, [(MIXED, 0), (A_ONLY, 0), (ALL16, 0)])).values
    # edge_ms at every bit-width: MIXED 14 + 20 = 34; A_ONLY 4 + 25 + 3 = 32; ALL16 34
    assert values["latency_ms"] == approx([34, 32, 34])
    assert values["error"] == approx([0.875, 0.3, 0])


# -------------------------------------------------------- (6) energy and throughput

ENERGY = {"edge_mj": [0, 3, 5, 1]}


def test_energy_and_throughput_fast_link():
    # 0.8 Mbit/s: 1 B = 8 bit / 0.8e6 bit/s = 0.01 ms
    network = moosplit.Network(bandwidth_mbps=0.8, rtt_ms=5, tx_power_mw=500)
    problem = chain_problem(network, extra=ENERGY)
    values = moosplit.evaluate(problem, prefix_plans(problem, [0, 2, 3])).values
    # transmit seconds: n=0 100 B -> 0.001 s; n=2 40 B -> 0.0004 s; n=3 20 B -> 0.0002 s
    # energy = edge_mj + 500 mW * s:
    #   n=0: 0 + 0.5 = 0.5;  n=2: (3 + 5) + 0.2 = 8.2;  n=3: (3 + 5 + 1) + 0.1 = 9.1
    assert values["energy_mj"] == approx([0.5, 8.2, 9.1])
    # throughput = 1 / max(edge, tx, cloud)  (rtt plays no part):
    #   n=0: max(0, 0.001, 0.0025) = 0.0025 (cloud-bound)  -> 400
    #   n=2: max(0.006, 0.0004, 0.0005) = 0.006 (edge-bound) -> 166.67
    #   n=3: max(0.007, 0.0002, 0) = 0.007                  -> 142.86
    assert values["throughput_fps"] == approx([400, 1 / 0.006, 1 / 0.007])


def test_energy_and_throughput_slow_link_and_rtt_independence():
    slow = moosplit.Network(bandwidth_mbps=SLOW_LINK, rtt_ms=5, tx_power_mw=500)
    problem = chain_problem(slow, extra=ENERGY)
    values = moosplit.evaluate(problem, prefix_plans(problem, [1, 2])).values
    # n=1: tx 100 B -> 0.1 s: energy 3 + 500 * 0.1 = 53; throughput 1 / 0.1 = 10 (link-bound)
    # n=2: tx 40 B -> 0.04 s: energy 8 + 500 * 0.04 = 28; throughput 1 / 0.04 = 25
    assert values["energy_mj"] == approx([53, 28])
    assert values["throughput_fps"] == approx([10, 25])

    far = problem.replace(network=moosplit.Network(bandwidth_mbps=SLOW_LINK, rtt_ms=500,
                                                   tx_power_mw=500))
    far_values = moosplit.evaluate(far, prefix_plans(far, [1, 2])).values
    assert far_values["energy_mj"] == approx([53, 28])
    assert far_values["throughput_fps"] == approx([10, 25])
    # ... while latency grows by exactly the 495 ms of extra rtt
    assert far_values["latency_ms"] - values["latency_ms"] == approx([495, 495])


# -------------------------------------------------------------------------- (7) codecs

def chain_with_codec():
    problem = chain_problem(moosplit.Network(bandwidth_mbps=SLOW_LINK, rtt_ms=5))
    table = moosplit.CodecTable.from_frame(pd.DataFrame(
        [("zip", "a", 4, 0.01, 0.5), ("zip", "c", 2, 0.02, 0.25)],
        columns=["codec", "node", "ratio", "err", "encode_ms"]), problem.profile)
    return problem.replace(codecs=table)


def test_codec_on_a_chain():
    problem = chain_with_codec()
    assert problem.codec_table.names == ("none", "zip")
    evaluation = moosplit.evaluate(problem, prefix_plans(problem, [1, 3], codec=1))
    values = evaluation.values
    # n=1 with zip: a at 16 bit = 800 bit / ratio 4 = 200 bit = 25 B
    # n=3 with zip: sink c 160 bit / ratio 2 = 80 bit = 10 B
    assert values["tx_bytes"] == approx([25, 10])
    # error: the codec's err per cut tensor: 0.01 and 0.02
    assert values["error"] == approx([0.01, 0.02])
    # latency: n=1: (2 + encode 0.5) + 5 + 25 + cloud 1.5 = 34
    #          n=3: (7 + encode 0.25) + 5 + 10 = 22.25
    assert values["latency_ms"] == approx([34, 22.25])
    # throughput: n=1: 1 / max(0.0025, 0.025, 0.0015) = 40; n=3: 1 / max(0.00725, 0.01) = 100
    assert values["throughput_fps"] == approx([40, 100])
    assert evaluation.feasible.tolist() == [True, True]


def test_codec_not_listing_a_cut_tensor_is_infeasible():
    problem = chain_with_codec()
    plans = moosplit.Plans.concat(
        [prefix_plans(problem, [0, 1, 2, 3], codec=1), prefix_plans(problem, [0, 2])],
        problem.profile.n_rows)
    feasible = moosplit.evaluate(problem, plans).feasible
    # zip lists a and c only: n=0 sends the input, n=2 sends b -> infeasible with zip,
    # fine with none
    assert feasible.tolist() == [False, True, False, True, True, True]


def test_codec_applies_to_every_cut_tensor_of_a_residual_split():
    codecs = [("q", "x", 2, 0.1, 1), ("q", "conv2", 3, 0.2, 2)]
    # 8 Mbit/s: 1 B = 0.001 ms
    problem = residual_problem(moosplit.Network(bandwidth_mbps=8), codecs=codecs)
    evaluation = moosplit.evaluate(problem, prefix_plans(problem, [3, 2, 4], codec=1))
    values = evaluation.values
    # n=3 crosses x and conv2 (60 B each at 16 bit): 60 / 2 + 60 / 3 = 30 + 20 = 50 B
    assert values["tx_bytes"][0] == approx(50)
    # error 0.1 + 0.2; edge time (1 + 2 + 3) + encode (1 + 2) = 9 ms
    assert values["error"][0] == approx(0.3)
    # latency = 9 + rtt 0 + 50 B * 0.001 ms + cloud (0.4 + 0.5) = 9.95
    assert values["latency_ms"][0] == approx(9.95)
    # throughput = 1 / max(0.009, 0.00005, 0.0009) = 111.1
    assert values["throughput_fps"][0] == approx(1 / 0.009)
    # n=2 crosses conv1 and n=4 crosses add: q lists neither
    assert evaluation.feasible.tolist() == [True, False, False]


# ---------------------------------------------------------- (8) constraints and bounds

# chain at 0.008 Mbit/s, rtt 5 (see test_chain_every_split_by_hand), splits 0..3:
#   latency [107.5, 108.5, 51.5, 32], memory [0, 220, 260, 260],
#   throughput [10, 10, 25, 50], edge_macs [0, 1000, 3000, 3020]
@pytest.mark.parametrize("kwargs, expected", [
    ({}, [True, True, True, True]),
    ({"constraints": {"memory_bytes": 220}}, [True, True, False, False]),
    ({"constraints": {"memory_bytes": 260}}, [True, True, True, True]),  # bound inclusive
    ({"constraints": {"latency_ms": 60}}, [False, False, True, True]),
    ({"constraints": {"latency_ms": 107.5}}, [True, False, True, True]),
    # throughput is maximised: a lower bound, inclusive
    ({"constraints": {"throughput_fps": 25}}, [False, False, True, True]),
    ({"constraints": {"throughput_fps": 26}}, [False, False, False, True]),
    ({"constraints": {"edge_macs": 1000}}, [False, True, True, True]),
    ({"constraints": {"memory_bytes": 220, "latency_ms": 60}}, [False] * 4),
    ({"min_split": 1}, [False, True, True, True]),
    ({"max_split": 2}, [True, True, True, False]),
    ({"min_split": 2, "max_split": 2}, [False, False, True, False]),
    ({"min_split": 1, "constraints": {"memory_bytes": 250}}, [False, True, False, False]),
])
def test_constraints_and_split_bounds_prefix(kwargs, expected):
    problem = chain_problem(**kwargs)
    evaluation = moosplit.evaluate(problem, prefix_plans(problem, [0, 1, 2, 3]))
    assert evaluation.feasible.tolist() == expected
    # constraints decide feasibility only; the values are those of the unconstrained problem
    assert evaluation.values["latency_ms"] == approx([107.5, 108.5, 51.5, 32])


@pytest.mark.parametrize("bound, expected", [
    (0.875, [True, True, True]),   # 0.4 + 0.05 + 0.3 + 0.125 is exact in binary
    (0.5, [False, True, True]),
    (0.25, [False, False, True]),
    (0.0, [False, False, True]),
])
def test_error_constraint(bound, expected):
    # errors 0.875, 0.3, 0 (test_mixed_bits_error_memory_latency)
    problem = bits_problem(constraints={"error": bound})
    plans = make_plans(problem, [(MIXED, 0), (A_ONLY, 0), (ALL16, 0)])
    assert moosplit.evaluate(problem, plans).feasible.tolist() == expected


@pytest.mark.parametrize("kwargs, expected", [
    ({}, [True, True, True, True]),
    ({"max_split": 2}, [True, False, True, False]),
    ({"min_split": 3}, [False, True, False, True]),
    ({"min_split": 1, "max_split": 3}, [True, True, False, False]),
])
def test_split_bounds_count_edge_nodes_in_cut_mode(kwargs, expected):
    problem = branch_problem(**kwargs)
    every = {name: (16 if w else None, 16)
             for name, w in [("a", 1), ("b", 1), ("c", 1), ("d", 0), ("m", 0)]}
    # edge node counts: {a, c} 2, {a, b, d} 3, {} 0, all 5
    plans = make_plans(problem, [(AC, 0), (ABD, 0), ({}, 0), (every, 0)])
    assert moosplit.evaluate(problem, plans).feasible.tolist() == expected
