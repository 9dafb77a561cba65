"""Device models (moosplit.profilers.devices): hand-computed latencies, rules and presets."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from moosplit.costs import cost_model
from moosplit.problems.network import TRANSMITTER_PRESETS, Transmitter, get_transmitter
from moosplit.profilers.devices import (
    DEVICE_PRESETS,
    CpuDevice,
    DeviceModel,
    RooflineDevice,
    bit_latency_columns,
    get_device,
)
from moosplit.profilers.graph import LayerGraph
from moosplit.profiles import Profile
from moosplit.profiles.schema import (
    activation_error_column,
    bit_latency_column,
    weight_error_column,
)

DOCS = Path(__file__).resolve().parents[1] / "docs" / "profiles.md"
BITS = (2, 4, 6, 8, 16)


def tiny_graph(batch: int = 1) -> LayerGraph:
    """input -> conv -> relu -> fc, plus add(relu, conv) with a repeated input name.

    Per sample: conv reads 1000 and writes 2000 elements with 400 weights and 400,000
    MACs; relu reads and writes 2000; fc reads 2000, writes 10, 20,000 weights and MACs;
    add reads relu and conv (2000 each, `conv` listed twice) and writes 2000.
    """
    return LayerGraph(
        model="tiny",
        names=("input", "conv", "relu", "fc", "add"),
        ops=("input", "conv", "relu", "linear", "add"),
        inputs=((), ("input",), ("conv",), ("relu",), ("relu", "conv", "conv")),
        out_elems=np.array([1000, 2000, 2000, 10, 2000]),
        weight_elems=np.array([0, 400, 0, 20_000, 0]),
        macs=np.array([0, 400_000, 0, 20_000, 0]),
        input_shape=(batch, 1000),
    )


def roofline(**kw: object) -> RooflineDevice:
    """1 GMAC/s, 100 MB/s: conv is compute-bound, fc and relu memory-bound."""
    args: dict[str, object] = {"name": "test", "peak_macs_per_s": 1e9,
                               "dram_bytes_per_s": 1e8}
    args.update(kw)
    return RooflineDevice(**args)  # type: ignore[arg-type]


def random_graph(seed: int) -> LayerGraph:
    """A random DAG with weighted and weightless nodes (for the monotonicity checks)."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(3, 12))
    names = tuple(["input"] + [f"n{i}" for i in range(1, n)])
    inputs: list[tuple[str, ...]] = [()]
    for i in range(1, n):
        k = int(rng.integers(1, min(i, 3) + 1))
        inputs.append(tuple(names[j] for j in rng.choice(i, size=k, replace=False)))
    weighted = rng.random(n) < 0.6
    weighted[0] = False
    weights = np.where(weighted, rng.integers(1, 50_000, n), 0)
    macs = np.where(weighted, weights * rng.integers(1, 400, n), rng.integers(0, 5000, n))
    macs[0] = 0
    return LayerGraph(model=f"random {seed}", names=names,
                      ops=tuple("input" if i == 0 else "op" for i in range(n)),
                      inputs=tuple(inputs), out_elems=rng.integers(1, 60_000, n),
                      weight_elems=weights, macs=macs,
                      input_shape=(int(rng.integers(1, 5)), 3))


# --------------------------------------------------------------------------- roofline

def test_roofline_hand_computed_reference_precision() -> None:
    ms = roofline().latency_ms(tiny_graph())
    # conv: compute 400,000 / 1e9 = 0.4 ms > memory (800 + 3000*2) B / 1e8 = 0.068 ms
    # relu: no MACs; memory (2000 + 2000) * 2 B / 1e8 = 0.08 ms
    # fc:   compute 0.02 ms < memory (20,000*2 + 2010*2) B / 1e8 = 0.4402 ms
    # add:  memory (2000 + 2000 + 2000) * 2 B / 1e8 = 0.12 ms (conv read once)
    np.testing.assert_allclose(ms, [0.0, 0.4, 0.08, 0.4402, 0.12], rtol=1e-12)


def test_roofline_embedding_reads_only_the_rows_it_looks_up() -> None:
    # a 1,000 x 16 token table looked up for 8 tokens, batch 2: 8 x 16 x 2 = 256 weight
    # elements read, not 16,000 (GPT-2's table cost 77 ms instead of 0.4 ms)
    graph = LayerGraph(model="lookup", names=("ids", "wte"), ops=("input", "embedding"),
                       inputs=((), ("ids",)), out_elems=[8, 128], weight_elems=[0, 16_000],
                       macs=[0, 0], input_shape=(2, 8))
    moved = roofline().bytes_moved(graph)
    assert moved[1] == (256 + (8 + 128) * 2) * 2  # weights read + activations, 16 bits
    table = dataclasses.replace(graph, ops=("input", "linear"))  # a weight read whole
    assert roofline().bytes_moved(table)[1] == (16_000 + (8 + 128) * 2) * 2


def test_roofline_compute_bound_node_ignores_bits_memory_bound_node_gains() -> None:
    dev, g = roofline(), tiny_graph()
    ref = dev.latency_ms(g)
    low = dev.latency_ms(g, 8, 8)
    assert low[1] == ref[1] == pytest.approx(0.4)            # conv: compute-bound
    assert low[3] == pytest.approx((20_000 + 2010) / 1e8 * 1e3)  # fc: 0.2201 ms
    assert low[2] == pytest.approx(0.04)                     # relu: 4000 B
    w8 = dev.latency_ms(g, 8, 16)
    assert w8[3] == pytest.approx((20_000 + 4020) / 1e8 * 1e3)   # fc: 0.2402 ms


def test_roofline_weightless_nodes_do_not_depend_on_weight_bits() -> None:
    dev, g = roofline(buffer_bytes=5000, mac_bits=8), tiny_graph(batch=3)
    weightless = g.weight_elems == 0
    for ba in BITS:
        rows = [dev.latency_ms(g, bw, ba)[weightless] for bw in BITS]
        for other in rows[1:]:
            np.testing.assert_array_equal(other, rows[0])


def test_roofline_buffer_rule() -> None:
    g = tiny_graph()
    small = roofline(buffer_bytes=10_000)
    # conv: 800 + 6000 <= 10,000 -> only its 800 weight bytes move; relu: 8000 B fit -> 0;
    # fc (44,020 B) and add (12,000 B) do not fit -> everything moves
    np.testing.assert_allclose(small.bytes_moved(g), [0, 800, 0, 44_020, 12_000])
    np.testing.assert_allclose(small.latency_ms(g), [0.0, 0.4, 0.0, 0.4402, 0.12])
    # the rule is <=: a working set exactly the buffer's size stays on chip
    assert roofline(buffer_bytes=12_000).bytes_moved(g)[4] == 0
    assert roofline(buffer_bytes=11_999).bytes_moved(g)[4] == 12_000
    # fc fits only at 8 bits: 44,020 B > 25,000 >= 22,010 B -> then only weights move
    mid = roofline(buffer_bytes=25_000)
    assert mid.bytes_moved(g)[3] == 44_020
    assert mid.bytes_moved(g, 8, 8)[3] == 20_000
    assert mid.latency_ms(g, 8, 8)[3] == pytest.approx(0.2)


def test_roofline_no_buffer_moves_everything() -> None:
    moved = roofline().bytes_moved(tiny_graph(), 4, 8)
    np.testing.assert_allclose(moved, [0, 400 * 4 / 8 + 3000, 4000, 10_000 + 2010, 6000])


def test_roofline_batch_scaling() -> None:
    dev = roofline()
    one, two = dev.latency_ms(tiny_graph(1)), dev.latency_ms(tiny_graph(2))
    assert two[1] == pytest.approx(2 * one[1])       # compute-bound: MACs x batch
    assert two[2] == pytest.approx(2 * one[2])       # weightless: activations x batch
    # fc: weights load once per batch, activations twice: (40,000 + 2 x 4020) B
    assert two[3] == pytest.approx((40_000 + 8040) / 1e8 * 1e3)
    assert two[3] < 2 * one[3]


def test_roofline_mac_bits_passes() -> None:
    dev, g = roofline(mac_bits=8), tiny_graph()
    assert dev.latency_ms(g, 16, 16)[1] == pytest.approx(0.8)  # 16-bit operands: 2 passes
    assert dev.latency_ms(g, 16, 8)[1] == pytest.approx(0.4)
    assert dev.latency_ms(g, 16, 4)[1] == pytest.approx(0.4)   # narrower is not faster
    assert dev.latency_ms(g, 4, 16)[1] == pytest.approx(0.8)   # only activations count


@pytest.mark.parametrize("seed", range(20))
def test_roofline_lower_bits_never_increase_latency(seed: int) -> None:
    g = random_graph(seed)
    rng = np.random.default_rng(1000 + seed)
    for buffer_bytes, mac_bits in ((0, None), (float(rng.integers(1, 200_000)), 8),
                                   (float(rng.integers(1, 2_000_000)), None), (1e12, 4)):
        dev = roofline(peak_macs_per_s=float(rng.uniform(1e8, 1e11)),
                       dram_bytes_per_s=float(rng.uniform(1e7, 1e10)),
                       buffer_bytes=buffer_bytes, mac_bits=mac_bits)
        table = {(bw, ba): dev.latency_ms(g, bw, ba) for bw in BITS for ba in BITS}
        for (bw, ba), ms in table.items():
            assert ms[0] == 0.0 and np.all(ms >= 0), f"seed {seed}"
            for lower in BITS:
                if lower < bw:
                    assert np.all(table[lower, ba] <= ms + 1e-12), f"seed {seed}, bw {lower}"
                if lower < ba:
                    assert np.all(table[bw, lower] <= ms + 1e-12), f"seed {seed}, ba {lower}"
        compute_bound = g.macs / dev.peak_macs_per_s * g.batch * 1e3 \
            >= table[16, 16] - 1e-15
        if mac_bits is None:  # compute-bound nodes keep their latency at every bit-width
            for ms in table.values():
                np.testing.assert_allclose(ms[compute_bound], table[16, 16][compute_bound])


def test_roofline_energy_is_power_times_latency() -> None:
    dev, g = roofline(power_w=0.5), tiny_graph()
    energy = dev.energy_mj(g, 8, 4)
    assert energy is not None
    np.testing.assert_allclose(energy, 0.5 * dev.latency_ms(g, 8, 4))
    assert roofline().energy_mj(g) is None


def test_unknown_input_name_is_an_error() -> None:
    g = dataclasses.replace(tiny_graph(), inputs=((), ("input",), ("cnov",), ("relu",),
                                                  ("relu",)))
    with pytest.raises(ValueError, match="cnov"):
        roofline().latency_ms(g)


# --------------------------------------------------------------------------- CPU (LMOS)

def test_cpu_hand_computed_and_bits_ignored() -> None:
    dev = CpuDevice(name="cpu", cores=2, clock_hz=1e9, macs_per_cycle=2.0, power_w=2.0)
    g = tiny_graph()
    ms = dev.latency_ms(g)
    # 4e9 MAC/s: conv 400,000 -> 0.1 ms, fc 20,000 -> 0.005 ms, relu and add have no MACs
    np.testing.assert_allclose(ms, [0.0, 0.1, 0.0, 0.005, 0.0])
    for bw, ba in itertools.product(BITS, BITS):
        np.testing.assert_array_equal(dev.latency_ms(g, bw, ba), ms)
    np.testing.assert_allclose(dev.latency_ms(tiny_graph(batch=4)), 4 * ms)
    energy = dev.energy_mj(g)
    assert energy is not None
    np.testing.assert_allclose(energy, [0.0, 0.2, 0.0, 0.01, 0.0])  # 2 W x ms = mJ
    assert CpuDevice(name="cpu", cores=1, clock_hz=1e9).energy_mj(g) is None


def test_cpu_has_no_bit_latency_columns_of_its_own() -> None:
    dev, g = get_device("raspberry-pi-4"), tiny_graph()
    for ms in bit_latency_columns(dev, g, (4, 8)).values():
        np.testing.assert_array_equal(ms, dev.latency_ms(g))


# --------------------------------------------------------------------------- columns

def test_bit_latency_columns_cover_every_pair_but_the_reference() -> None:
    dev, g = roofline(buffer_bytes=9000, mac_bits=8), tiny_graph(batch=2)
    table = bit_latency_columns(dev, g, (8, 4))
    expected = {(bw, ba) for bw in (4, 8, 16) for ba in (4, 8, 16)} - {(16, 16)}
    assert set(table) == expected
    for (bw, ba), ms in table.items():
        np.testing.assert_array_equal(ms, dev.latency_ms(g, bw, ba))
    assert set(bit_latency_columns(dev, g, [4, 8, 16, 8])) == expected
    assert bit_latency_columns(dev, g, []) == {}


def test_bit_latency_columns_make_a_valid_profile() -> None:
    dev, g = get_device("autosplit-eyeriss"), tiny_graph(batch=2)
    columns: dict[str, object] = {
        "name": list(g.names), "op": list(g.ops),
        "inputs": [" ".join(dict.fromkeys(p)) for p in g.inputs],
        "out_elems": g.out_elems, "weight_elems": g.weight_elems, "macs": g.macs,
        "edge_ms": dev.latency_ms(g), "cloud_ms": get_device("autosplit-tpu").latency_ms(g),
        weight_error_column(8): [0, 0.1, 0, 0.1, 0],
        activation_error_column(8): [0, 0.1, 0.1, 0.1, 0.1],
    }
    for (bw, ba), ms in bit_latency_columns(dev, g, (8,)).items():
        columns[bit_latency_column(bw, ba)] = ms
    energy = dev.energy_mj(g)
    assert energy is not None
    columns["edge_mj"] = energy
    profile = Profile.from_frame(pd.DataFrame(columns), {"batch": "2"})
    assert profile.bit_widths == (8, 16)
    table = cost_model(profile).edge_latency
    assert table is not None
    np.testing.assert_allclose(table[:, 8, 8], dev.latency_ms(g, 8, 8))


def test_bits_are_validated() -> None:
    dev, g = roofline(), tiny_graph()
    with pytest.raises(ValueError, match="bits_w"):
        dev.latency_ms(g, 0, 16)
    with pytest.raises(ValueError, match="bits_a"):
        get_device("raspberry-pi-4").latency_ms(g, 16, 33)
    with pytest.raises(ValueError, match="bits_w"):
        bit_latency_columns(dev, g, (8, 2.5))  # type: ignore[arg-type]


# --------------------------------------------------------------------------- validation

@pytest.mark.parametrize(("factory", "field"), [
    (lambda: CpuDevice(name="c", cores=0, clock_hz=1e9), "cores"),
    (lambda: CpuDevice(name="c", cores=True, clock_hz=1e9), "cores"),
    (lambda: CpuDevice(name="c", cores=2, clock_hz=-1.0), "clock_hz"),
    (lambda: CpuDevice(name="c", cores=2, clock_hz=1e9, macs_per_cycle=float("nan")),
     "macs_per_cycle"),
    (lambda: CpuDevice(name="c", cores=2, clock_hz=1e9, power_w=-0.1), "power_w"),
    (lambda: CpuDevice(name="", cores=2, clock_hz=1e9), "name"),
    (lambda: roofline(peak_macs_per_s=0.0), "peak_macs_per_s"),
    (lambda: roofline(dram_bytes_per_s=float("inf")), "dram_bytes_per_s"),
    (lambda: roofline(buffer_bytes=-1), "buffer_bytes"),
    (lambda: roofline(mac_bits=0), "mac_bits"),
    (lambda: roofline(power_w="1"), "power_w"),
    (lambda: roofline(source="two\nlines"), "source"),
    (lambda: Transmitter(name="t", bandwidth_mbps=0.0, power_mw=1.0), "bandwidth_mbps"),
    (lambda: Transmitter(name="t", bandwidth_mbps=1.0, power_mw=-1.0), "power_mw"),
])
def test_construction_is_validated(factory: Callable[[], object], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        factory()


def test_models_are_frozen_and_keyword_only() -> None:
    dev = roofline()
    with pytest.raises(dataclasses.FrozenInstanceError):
        dev.buffer_bytes = 1.0  # type: ignore[misc]
    with pytest.raises(TypeError):
        CpuDevice("c", 2, 1e9)  # type: ignore[misc]
    assert dataclasses.replace(dev, buffer_bytes=5.0).buffer_bytes == 5.0
    with pytest.raises(ValueError, match="buffer_bytes"):
        dataclasses.replace(dev, buffer_bytes=-5.0)


# --------------------------------------------------------------------------- presets

def test_presets_are_valid_and_sourced() -> None:
    g = tiny_graph(batch=2)
    assert DEVICE_PRESETS and TRANSMITTER_PRESETS
    for name, dev in DEVICE_PRESETS.items():
        assert dev.name == name
        assert isinstance(dev, DeviceModel)
        assert dev.source.strip(), name
        assert "\n" not in dev.describe()  # type: ignore[attr-defined]
        ms = dev.latency_ms(g)
        assert ms.shape == (g.n_rows,) and ms[0] == 0 and np.all(np.isfinite(ms))
        assert np.all(ms[1:][g.macs[1:] > 0] > 0), name
        energy = dev.energy_mj(g)
        assert energy is None or np.allclose(energy, dev.power_w * ms)  # type: ignore[attr-defined]
        table = bit_latency_columns(dev, g, (2, 4, 8))
        weightless = g.weight_elems == 0
        for ba in (2, 4, 8, 16):
            base = table.get((16, ba), ms)
            for bw in (2, 4, 8):
                np.testing.assert_array_equal(table[bw, ba][weightless], base[weightless])
    for name, radio in TRANSMITTER_PRESETS.items():
        assert radio.name == name and radio.source.strip()
        assert radio.bandwidth_mbps > 0 and radio.power_mw > 0


def test_presets_are_documented() -> None:
    text = DOCS.read_text(encoding="utf-8")
    for name in (*DEVICE_PRESETS, *TRANSMITTER_PRESETS):
        assert f"`{name}`" in text, name


def test_preset_numbers() -> None:
    eyeriss, tpu = get_device("autosplit-eyeriss"), get_device("autosplit-tpu")
    assert isinstance(eyeriss, RooflineDevice) and isinstance(tpu, RooflineDevice)
    assert eyeriss.peak_macs_per_s == pytest.approx(168 * 202.3809524e6)
    assert eyeriss.dram_bytes_per_s == pytest.approx(1e9, rel=1e-6)
    assert tpu.peak_macs_per_s == pytest.approx(65_536 * 1464.84375e6)
    assert tpu.dram_bytes_per_s == pytest.approx(13e9, rel=1e-6)
    pi = get_device("raspberry-pi-4")
    assert isinstance(pi, CpuDevice) and pi.macs_per_s == 6e9
    radios = {n: (t.bandwidth_mbps, t.power_mw) for n, t in TRANSMITTER_PRESETS.items()}
    assert sorted(radios.values()) == [(1.0, 62.7), (2.0, 99.0), (22.0, 660.0)]
    assert get_transmitter("ko2018-22mbps").nj_per_bit == pytest.approx(30.0)


def test_unknown_preset_names_list_the_presets() -> None:
    with pytest.raises(ValueError, match="unknown device preset 'pi5'") as info:
        get_device("pi5")
    assert all(name in str(info.value) for name in DEVICE_PRESETS)
    with pytest.raises(ValueError, match="unknown transmitter preset") as info:
        get_transmitter("wifi")
    assert all(name in str(info.value) for name in TRANSMITTER_PRESETS)


def test_output_rows_cost_nothing_on_every_device():
    graph = LayerGraph(model="t", names=("x", "a", "output:a", "b"),
                       ops=("input", "relu", "output", "relu"),
                       inputs=((), ("x",), ("a",), ("a",)), out_elems=[10**6] * 4,
                       weight_elems=[0] * 4, macs=[0, 10**6, 0, 10**6], input_shape=(1, 10**6))
    for device in DEVICE_PRESETS.values():
        ms = device.latency_ms(graph, 8, 8)
        assert ms[0] == 0 and ms[2] == 0 and ms[1] > 0
