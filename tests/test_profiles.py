"""Profile CSV files (SPEC section 2): bad input is rejected with a message naming the file,
row and column; good files round-trip exactly; the bundled profile loads."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

import moosplit

HEADER = "name,op,inputs,out_elems,weight_elems,macs,edge_ms,cloud_ms"
ROWS = [
    "input,input,,100,0,0,0,0",      # row 0
    "a,conv,input,50,10,1000,2,1",   # row 1
    "b,conv,a,20,20,2000,4,1",       # row 2
    "c,relu,b,10,0,20,1,0.5",        # row 3
]


def csv(header=HEADER, rows=ROWS, meta=()):
    return "".join(f"{line}\n" for line in (*meta, header, *rows))


def with_row(index, line, rows=ROWS):
    out = list(rows)
    out[index] = line
    return out


def with_column(name, values, header=HEADER, rows=ROWS):
    """Append a column: `values` holds one cell per row."""
    return f"{header},{name}", [f"{row},{value}" for row, value in zip(rows, values, strict=True)]


def read_bad(tmp_path, text):
    path = tmp_path / "bad_profile.csv"
    path.write_text(text)
    with pytest.raises(moosplit.ProfileError) as info:
        moosplit.read_profile(path)
    message = str(info.value)
    assert str(path) in message, message
    return message


def assert_row_column(message, row, column):
    assert re.search(rf"\brow {row}\b", message), message
    assert f"'{column}'" in message, message


def test_the_base_file_is_valid(tmp_path):
    path = tmp_path / "good.csv"
    path.write_text(csv())
    profile = moosplit.read_profile(path)
    assert profile.names == ("input", "a", "b", "c")
    assert profile.inputs == ((), (0,), (1,), (2,))
    assert profile.out_elems.tolist() == [100, 50, 20, 10]
    assert profile.input_bits == 8 and profile.batch == 1
    assert profile.bit_widths == (16,)


# ------------------------------------------------------------------- bad input classes

def test_unknown_input_name(tmp_path):
    message = read_bad(tmp_path, csv(rows=with_row(3, "c,relu,bb,10,0,20,1,0.5")))
    assert_row_column(message, 3, "inputs")
    assert "'bb'" in message


def test_cycle(tmp_path):
    # a reads c, c reads b, b reads a
    message = read_bad(tmp_path, csv(rows=with_row(1, "a,conv,c,50,10,1000,2,1")))
    assert "cycle" in message
    path = message.rsplit(":", 1)[1].split("->")
    assert {node.strip() for node in path} == {"a", "b", "c"}, message
    assert path[0].strip() == path[-1].strip(), message   # a closed path


def test_self_loop_is_a_cycle(tmp_path):
    message = read_bad(tmp_path, csv(rows=with_row(2, "b,conv,b,20,20,2000,4,1")))
    assert "cycle" in message and "b -> b" in message


def test_cycle_names_row_and_column(tmp_path):
    message = read_bad(tmp_path, csv(rows=with_row(1, "a,conv,c,50,10,1000,2,1")))
    assert re.search(r"\brow \d", message) and "'inputs'" in message, message


def test_order_not_topological(tmp_path):
    # c (reads b) comes before b: no cycle, but row 2 reads a later row
    rows = [ROWS[0], ROWS[1], ROWS[3], ROWS[2]]
    message = read_bad(tmp_path, csv(rows=rows))
    assert_row_column(message, 2, "inputs")
    assert "topological" in message and "'b'" in message
    assert "cycle" not in message


def test_duplicate_names(tmp_path):
    message = read_bad(tmp_path, csv(rows=with_row(2, "a,conv,a,20,20,2000,4,1")))
    assert_row_column(message, 2, "name")
    assert "duplicate" in message and "row 1" in message  # where it first appeared


@pytest.mark.parametrize("row, column, line", [
    (2, "macs", "b,conv,a,20,20,-5,4,1"),
    (1, "edge_ms", "a,conv,input,50,10,1000,-0.5,1"),
    (3, "out_elems", "c,relu,b,-10,0,20,1,0.5"),
])
def test_negative_values(tmp_path, row, column, line):
    message = read_bad(tmp_path, csv(rows=with_row(row, line)))
    assert_row_column(message, row, column)
    assert ">= 0" in message


@pytest.mark.parametrize("row, column, line", [
    (1, "edge_ms", "a,conv,input,50,10,1000,fast,1"),
    (2, "weight_elems", "b,conv,a,20,many,2000,4,1"),
    (3, "cloud_ms", "c,relu,b,10,0,20,1,nan"),
])
def test_non_numeric_values(tmp_path, row, column, line):
    message = read_bad(tmp_path, csv(rows=with_row(row, line)))
    assert_row_column(message, row, column)


def test_missing_value(tmp_path):
    message = read_bad(tmp_path, csv(rows=with_row(2, "b,conv,a,20,20,,4,1")))
    assert_row_column(message, 2, "macs")
    assert "missing" in message


def test_missing_required_column(tmp_path):
    header = HEADER.replace(",cloud_ms", "")
    rows = [row.rsplit(",", 1)[0] for row in ROWS]
    message = read_bad(tmp_path, csv(header, rows))
    assert "missing" in message and "cloud_ms" in message


def test_error_columns_for_some_bit_widths_only(tmp_path):
    header, rows = with_column("werr_b4", [0, 0.1, 0.2, 0])
    message = read_bad(tmp_path, csv(header, rows))
    assert "aerr_b" in message and "4" in message


def test_missing_input_row(tmp_path):
    # the input row is gone: row 0 is a conv reading a node that does not exist
    message = read_bad(tmp_path, csv(rows=ROWS[1:]))
    assert re.search(r"\brow 0\b", message) and "input" in message, message


def test_input_row_with_wrong_op(tmp_path):
    message = read_bad(tmp_path, csv(rows=with_row(0, "input,conv,,100,0,0,0,0")))
    assert re.search(r"\brow 0\b", message) and "'input'" in message, message


def test_non_integral_out_elems(tmp_path):
    message = read_bad(tmp_path, csv(rows=with_row(2, "b,conv,a,20.5,20,2000,4,1")))
    assert_row_column(message, 2, "out_elems")
    assert "whole number" in message


BITS_HEADER = HEADER + ",werr_b4,aerr_b4"
BITS_ROWS = [
    "input,input,,100,0,0,0,0,0,0",
    "a,conv,input,50,10,1000,2,1,0.1,0.1",
    "b,conv,a,20,20,2000,4,1,0.2,0.1",
    "c,relu,b,10,0,20,1,0.5,0,0.3",
]


def test_edge_ms_w_columns_must_cover_every_pair(tmp_path):
    # bit-widths {4, 16}: pairs w4a4, w4a16, w16a4 are needed; w16a4 is left out
    header, rows = with_column("edge_ms_w4a4", [0, 1, 2, 0.5], BITS_HEADER, BITS_ROWS)
    header, rows = with_column("edge_ms_w4a16", [0, 1.5, 3, 1], header, rows)
    message = read_bad(tmp_path, csv(header, rows))
    assert "edge_ms_w16a4" in message


def test_edge_ms_w_columns_complete_are_accepted(tmp_path):
    header, rows = with_column("edge_ms_w4a4", [0, 1, 2, 0.5], BITS_HEADER, BITS_ROWS)
    header, rows = with_column("edge_ms_w4a16", [0, 1.5, 3, 1], header, rows)
    header, rows = with_column("edge_ms_w16a4", [0, 1.8, 3.5, 0.5], header, rows)
    path = tmp_path / "good.csv"
    path.write_text(csv(header, rows))
    profile = moosplit.read_profile(path)
    assert profile.edge_ms_bits[(16, 4)].tolist() == [0, 1.8, 3.5, 0.5]
    assert profile.bit_widths == (4, 16)


def test_weightless_node_latency_depending_on_weight_bits(tmp_path):
    # c (relu, no weights): w4a4 = 0.5 but w16a4 = 0.7
    header, rows = with_column("edge_ms_w4a4", [0, 1, 2, 0.5], BITS_HEADER, BITS_ROWS)
    header, rows = with_column("edge_ms_w4a16", [0, 1.5, 3, 1], header, rows)
    header, rows = with_column("edge_ms_w16a4", [0, 1.8, 3.5, 0.7], header, rows)
    message = read_bad(tmp_path, csv(header, rows))
    assert re.search(r"\brow 3\b", message), message
    assert "'edge_ms_w16a4'" in message or "'edge_ms_w4a4'" in message, message


def test_weightless_node_clash_with_edge_ms_names_real_columns(tmp_path):
    # c (relu, no weights): w4a16 = 0.9 but edge_ms (w16a16) = 1
    header, rows = with_column("edge_ms_w4a4", [0, 1, 2, 0.5], BITS_HEADER, BITS_ROWS)
    header, rows = with_column("edge_ms_w4a16", [0, 1.5, 3, 0.9], header, rows)
    header, rows = with_column("edge_ms_w16a4", [0, 1.8, 3.5, 0.5], header, rows)
    message = read_bad(tmp_path, csv(header, rows))
    assert re.search(r"\brow 3\b", message), message
    assert "edge_ms_w16a16" not in message, message


@pytest.mark.parametrize("meta, line", [
    (["# model ResNet20"], 1),                       # no colon
    (["# model: x", "# devices: y", "# : z"], 3),    # empty key
    (["# edge device: pi"], 1),                       # key with a space
    (["# model: x", "# model: y"], 2),               # a key twice
])
def test_malformed_metadata(tmp_path, meta, line):
    message = read_bad(tmp_path, csv(meta=meta))
    assert re.search(rf"\bline {line}\b", message), message


@pytest.mark.parametrize("batch", ["0", "two", "2.5", "-1"])
def test_bad_batch_metadata(tmp_path, batch):
    message = read_bad(tmp_path, csv(meta=[f"# batch: {batch}"]))
    assert "batch" in message


def test_unknown_column(tmp_path):
    header, rows = with_column("speed", [0, 1, 2, 3])
    message = read_bad(tmp_path, csv(header, rows))
    assert "'speed'" in message


def test_out_bits_outside_the_input_row(tmp_path):
    header, rows = with_column("out_bits", [8, "", 4, ""])
    message = read_bad(tmp_path, csv(header, rows))
    assert_row_column(message, 2, "out_bits")


def test_line_numbers_count_metadata_lines(tmp_path):
    # metadata on lines 1-2, header on line 3, row 0 on line 4: data row 2 sits on line 6
    message = read_bad(tmp_path, csv(rows=with_row(2, "b,conv,a,20,20,-5,4,1"),
                                     meta=["# model: m", "# batch: 1"]))
    assert_row_column(message, 2, "macs")
    assert re.search(r"\bline 6\b", message), message


def test_line_numbers_survive_blank_lines(tmp_path):
    rows = [ROWS[0], ROWS[1], "", "b,conv,a,20,20,-5,4,1", ROWS[3]]
    message = read_bad(tmp_path, csv(rows=rows))
    assert_row_column(message, 2, "macs")
    assert re.search(r"\bline 5\b", message), message   # header 1, input 2, a 3, blank 4


def test_trailing_commas_are_reported_as_such(tmp_path):
    message = read_bad(tmp_path, csv(rows=[f"{row}," for row in ROWS]))
    assert "duplicate name" not in message, message


def test_repeated_column_is_reported_as_such(tmp_path):
    header, rows = with_column("macs", [0, 1000, 2000, 20])
    message = read_bad(tmp_path, csv(header, rows))
    assert "macs.1" not in message and "twice" in message, message


# ----------------------------------------------------------------------- round trip

def assert_same_profile(a, b):
    assert a.names == b.names
    assert a.ops == b.ops
    assert a.inputs == b.inputs
    for name in ("out_elems", "weight_elems", "macs", "edge_ms", "cloud_ms"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype and np.array_equal(x, y), name
    for name in ("weight_error", "activation_error"):
        x, y = getattr(a, name), getattr(b, name)
        assert list(x) == list(y), name
        for bits in x:
            assert np.array_equal(x[bits], y[bits]), (name, bits)
    if a.edge_ms_bits is None:
        assert b.edge_ms_bits is None
    else:
        assert list(a.edge_ms_bits) == list(b.edge_ms_bits)
        for pair in a.edge_ms_bits:
            assert np.array_equal(a.edge_ms_bits[pair], b.edge_ms_bits[pair]), pair
    if a.edge_mj is None:
        assert b.edge_mj is None
    else:
        assert np.array_equal(a.edge_mj, b.edge_mj)
    assert a.input_bits == b.input_bits
    assert dict(a.metadata) == dict(b.metadata)
    assert a.batch == b.batch


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_round_trip_random_dag(tmp_path, seed):
    profile = moosplit.random_profile(8, kind="dag", bit_latency=True, energy=True, seed=seed)
    assert profile.edge_ms_bits is not None and profile.edge_mj is not None
    path = tmp_path / "p.csv"
    moosplit.write_profile(profile, path)
    back = moosplit.read_profile(path)
    assert_same_profile(profile, back)
    # and the written text is stable: writing the read-back profile gives the same file
    path2 = tmp_path / "p2.csv"
    moosplit.write_profile(back, path2)
    assert path2.read_text() == path.read_text()


def test_round_trip_hand_profile_with_awkward_floats(tmp_path):
    frame = pd.DataFrame({
        "name": ["img", "conv.0", "fc"],
        "op": ["input", "conv", "linear"],
        "inputs": ["", "img", "conv.0"],
        "out_elems": [3, 7, 1],
        "weight_elems": [0, 11, 8],
        "macs": [0, 2**40, 8],
        "edge_ms": [0, 0.1 + 0.2, 1 / 3],
        "cloud_ms": [0, 1e-12, 12345.678901234567],
        "werr_b2": [0, 0.7, 1 / 7],
        "aerr_b2": [0, 2 / 3, 0.1],
        "werr_b16": [0, 1e-9, 0],
        "aerr_b16": [0, 0, 0],
        "edge_mj": [0, 5e-7, 2.5],
        "out_bits": ["6", "", ""],
    })
    meta = {"model": "toy: with a colon", "batch": "3", "note": "calibrated, 512 images"}
    profile = moosplit.Profile.from_frame(frame, meta)
    path = tmp_path / "hand.csv"
    moosplit.write_profile(profile, path)
    back = moosplit.read_profile(path)
    assert_same_profile(profile, back)
    assert back.input_bits == 6 and back.batch == 3
    assert back.weight_error[16].tolist() == [0, 1e-9, 0]
    assert back.edge_ms[1] == 0.1 + 0.2


def test_from_frame_refuses_metadata_that_would_not_read_back():
    # a key with a space would be written as '# edge device: ...', which is not key: value
    frame = moosplit.random_profile(3, seed=0).to_frame()
    with pytest.raises(moosplit.ProfileError, match="'edge device' must be one word"):
        moosplit.Profile.from_frame(frame, {"edge device": "raspberry pi 4"})


# ---------------------------------------------------------------------- bundled

def test_bundled_portend_resnet20():
    assert "portend_resnet20" in moosplit.bundled_profiles()
    profile = moosplit.load_profile("portend_resnet20")
    assert profile.n_nodes == 11
    assert profile.n_rows == 12
    assert profile.names[0] == "input" and profile.ops[0] == "input"
    assert profile.out_elems[0] == 3072            # 3 x 32 x 32
    assert profile.input_bytes == 3072             # 8-bit image, batch 1
    assert [profile.names[i] for i in np.flatnonzero(profile.sinks)] == ["fc"]
    assert profile.is_chain
    assert profile.bit_widths == (16,)
    assert "model" in profile.metadata


def test_unknown_bundled_profile_lists_the_bundled_ones():
    with pytest.raises(moosplit.ProfileError, match="portend_resnet20"):
        moosplit.load_profile("no_such_profile")
