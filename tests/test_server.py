"""`moosplit serve` (SPEC section 8): the cloud half of a tiny plan directory built here,
answered right and under load, refusing malformed frames (at least 1,000 of them) with the
error frame the SPEC says while serving on, bounded in time; the paced sender; the CLI.

Every server binds 127.0.0.1, uses short timeouts and stops by itself."""

import io
import json
import logging
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper  # noqa: E402

from moosplit.cli import main  # noqa: E402
from moosplit.deploy import (  # noqa: E402
    CloudHalf,
    CloudServer,
    Connection,
    Frame,
    FrameError,
    FrameErrorCode,
    FrameKind,
    PacedSender,
    TensorEntry,
    encode_frame,
    read_frame,
    request,
)
from moosplit.deploy.server import serve  # noqa: E402
from moosplit.errors import DeployError, OptionError  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_frames import cut_cases, raw_entry, raw_frame  # noqa: E402

Code = FrameErrorCode
LIMIT = 4096
IDLE = 0.4          # the servers' idle timeout, seconds
HOST = "127.0.0.1"
WORKTREE = Path(__file__).resolve().parents[1]
W = np.random.default_rng(7).normal(size=(4, 3)).astype(np.float32)


# ----------------------------------------------------------------- a plan directory
def write_plan(folder: Path, *, batch="N", cut_a_shape=(4,), cloud_a="cut_a",
               cloud_file="cloud.onnx", bits_a=4) -> Path:
    """A plan directory by the plan.json contract: cloud.onnx takes cut_a (batch, 4) and
    cut_b (batch, 2, 2) and gives logits = (cut_a + flatten(cut_b)) @ W and
    prob = sigmoid(logits); the frames name them by the rows conv3 and pool5."""
    folder.mkdir(parents=True, exist_ok=True)
    nodes = [helper.make_node("Flatten", ["cut_b"], ["flat"], axis=1),
             helper.make_node("Add", ["cut_a", "flat"], ["sum"]),
             helper.make_node("MatMul", ["sum", "W"], ["logits"]),
             helper.make_node("Sigmoid", ["logits"], ["prob"])]
    graph = helper.make_graph(
        nodes, "cloud",
        [helper.make_tensor_value_info("cut_a", TensorProto.FLOAT, [batch, 4]),
         helper.make_tensor_value_info("cut_b", TensorProto.FLOAT, [batch, 2, 2])],
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, [batch, 3])
         for name in ("logits", "prob")],
        [onnx.numpy_helper.from_array(W, "W")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(folder / "cloud.onnx"))
    manifest = {
        "format": "moosplit-plan", "version": 1, "model": "tiny", "profile": "tiny.csv",
        "network": {"bandwidth_mbps": 8.0, "rtt_ms": 5.0}, "bits": [2, 4, 8, 16],
        "plan": {"split": 3, "edge_nodes": ["input", "conv3"], "bits_w": {"conv3": 8},
                 "bits_a": {"conv3": bits_a}, "codec": None},
        "input": {"name": "image", "shape": [3, 8, 8], "dtype": "float32"},
        "edge": {"file": "edge.onnx", "outputs": ["e3", "e5"]},
        "cloud": {"file": cloud_file, "outputs": [{"name": "logits", "shape": [3]},
                                                  {"name": "prob", "shape": [3]}]},
        "cut_tensors": [
            {"row": "conv3", "edge_name": "e3", "cloud_name": cloud_a,
             "shape": list(cut_a_shape), "bits": bits_a, "packing": "lsb-dense"},
            {"row": "pool5", "edge_name": "e5", "cloud_name": "cut_b", "shape": [2, 2],
             "bits": 16, "packing": "float16"}],
        "activations": "emulated (Round/Clip)",
        "predicted": {"edge_ms": 1.0, "transmit_ms": 0.1, "cloud_ms": 1.0,
                      "latency_ms": 7.1, "tx_bytes": 10},
    }
    (folder / "plan.json").write_text(json.dumps(manifest, indent=1))
    return folder


def tensors(seed=0, batch=1, bits_a=4):
    """The entries of a valid request, from random values."""
    rng = np.random.default_rng(seed)
    return (TensorEntry.from_values("conv3", rng.normal(size=(batch, 4)), bits_a),
            TensorEntry.from_values("pool5", rng.normal(size=(batch, 2, 2)), 16))


def direct(folder, entries):
    """cloud.onnx run by onnxruntime on the values the entries stand for."""
    session = ort.InferenceSession(str(folder / "cloud.onnx"),
                                   providers=["CPUExecutionProvider"])
    a, b = (entry.values() for entry in entries)
    return dict(zip(("logits", "prob"), session.run(None, {"cut_a": a, "cut_b": b}),
                    strict=True))


def assert_answers(answer, expected):
    assert answer.kind == FrameKind.RESULT, answer.message
    assert [t.name for t in answer.tensors] == ["logits", "prob"]
    for entry in answer.tensors:
        assert entry.bits == 16 and entry.shape == expected[entry.name].shape
        np.testing.assert_allclose(entry.values(), expected[entry.name], rtol=1e-3,
                                   atol=1e-3)


@pytest.fixture(scope="module")
def plan(tmp_path_factory):
    return write_plan(tmp_path_factory.mktemp("plan"))


@pytest.fixture(scope="module")
def server(plan):
    with CloudServer(plan, max_frame_bytes=LIMIT, idle_timeout=IDLE) as running:
        yield running


def answer_codes(address, data, *, timeout=5.0):
    """Send raw bytes, half-close, and read every answer until the server closes: a list
    of "ok" (a result) and error codes."""
    with socket.create_connection(address, timeout=timeout) as sock:
        try:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused early: its answer is still to be read
        codes = []
        while (frame := read_frame(sock.recv, max_bytes=1 << 20)) is not None:
            codes.append("ok" if frame.kind == FrameKind.RESULT else Code(frame.code))
        return codes


# ------------------------------------------------------------------------ answers
def test_a_request_is_answered_with_cloud_onnx_outputs(plan, server):
    entries = tensors(1)
    answer = request(*server.address, entries, timeout=5)
    assert_answers(answer, direct(plan, entries))
    # and the dequantised inputs are what was sent: 4-bit codes within half a step
    rng = np.random.default_rng(1)
    sent = rng.normal(size=(1, 4))
    assert np.abs(entries[0].values() - sent).max() <= entries[0].scale / 2 + 1e-6


def test_one_connection_carries_several_requests(plan, server):
    with Connection(*server.address, timeout=5) as connection:
        for seed in range(3):
            entries = tensors(seed)
            assert_answers(connection.request(entries), direct(plan, entries))


@pytest.mark.parametrize("bits_a", [1, 2, 4])
def test_fewer_bits_than_the_plan_are_taken(plan, server, bits_a):
    entries = tensors(5, bits_a=bits_a)
    assert_answers(request(*server.address, entries, timeout=5), direct(plan, entries))


def test_a_dynamic_batch_is_taken(plan, server):
    entries = tensors(3, batch=3)
    answer = request(*server.address, entries, timeout=5)
    assert_answers(answer, direct(plan, entries))
    assert answer.tensors[0].shape == (3, 3)


def test_a_fixed_batch_is_required(tmp_path):
    cloud = CloudHalf.load(write_plan(tmp_path, batch=1))
    assert cloud.batch == 1 and cloud.expected == {"conv3": ((1, 4), 4), "pool5": ((1, 2, 2), 16)}
    with pytest.raises(FrameError) as caught:
        cloud.answer(Frame(FrameKind.TENSORS, tensors(0, batch=2)))
    assert caught.value.code == Code.UNEXPECTED_TENSOR and "(1, 4)" in str(caught.value)
    assert cloud.answer(Frame(FrameKind.TENSORS, tensors(0))).kind == FrameKind.RESULT


def test_concurrent_clients_are_all_answered(plan, server):
    results, errors = {}, []

    def client(seed):
        try:
            with Connection(*server.address, timeout=10) as connection:
                for round_ in range(3):
                    entries = tensors(100 * seed + round_, batch=1 + seed % 3)
                    results[seed, round_] = (entries, connection.request(entries))
        except Exception as exc:  # reported below with the client's seed
            errors.append((seed, exc))

    threads = [threading.Thread(target=client, args=(seed,)) for seed in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors, errors
    assert len(results) == 24
    for entries, answer in results.values():
        assert_answers(answer, direct(plan, entries))


def test_each_request_is_logged_on_one_line(server, caplog):
    with caplog.at_level(logging.INFO, logger="moosplit.deploy.server"):
        request(*server.address, tensors(0), timeout=5)
        answer_codes(server.address, raw_frame(raw_entry(bits=0)))
        deadline = time.monotonic() + 5
        while len(caplog.records) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2, lines
    assert " ok tensors=conv3[1,4]@4,pool5[1,2,2]@16 " in lines[0]
    assert " bad_bits tensors=- " in lines[1]
    for line in lines:
        assert line.startswith("127.0.0.1:") and "in=" in line and "ms=" in line


# ------------------------------------------------------------------------ refusals
VALID = encode_frame(Frame(FrameKind.TENSORS, tensors(0)))
A_VALID = raw_entry(b"conv3", bits=4, shape=(1, 4))
B_VALID = raw_entry(b"pool5", bits=16, shape=(1, 2, 2), scale=1.0, zero=0.0)

# Each written from the SPEC and the manifest, with the code the SPEC's table gives it.
REFUSALS = {
    "bits 0": (raw_frame(raw_entry(b"conv3", bits=0, shape=(1, 4)), B_VALID), Code.BAD_BITS),
    "bits 17": (raw_frame(raw_entry(b"conv3", bits=17, shape=(1, 4)), B_VALID),
                Code.BAD_BITS),
    "more bits than the plan": (raw_frame(raw_entry(b"conv3", bits=5, shape=(1, 4)),
                                          B_VALID), Code.UNEXPECTED_TENSOR),
    "unknown name": (raw_frame(A_VALID, raw_entry(b"pool6", bits=16, shape=(1, 2, 2),
                                                  scale=1.0, zero=0.0)),
                     Code.UNEXPECTED_TENSOR),
    "a tensor missing": (raw_frame(A_VALID), Code.UNEXPECTED_TENSOR),
    "wrong shape": (raw_frame(raw_entry(b"conv3", bits=4, shape=(1, 5)), B_VALID),
                    Code.UNEXPECTED_TENSOR),
    "batches differ": (raw_frame(raw_entry(b"conv3", bits=4, shape=(2, 4)), B_VALID),
                       Code.UNEXPECTED_TENSOR),
    "empty batch": (raw_frame(raw_entry(b"conv3", bits=4, shape=(0, 4)),
                              raw_entry(b"pool5", bits=16, shape=(0, 2, 2), scale=1.0,
                                        zero=0.0)), Code.UNEXPECTED_TENSOR),
    "oversized dims": (raw_frame(raw_entry(b"conv3", bits=4, shape=(1 << 20, 1 << 20),
                                           payload=b""), B_VALID), Code.BAD_SHAPE),
    "wrong payload length": (raw_frame(raw_entry(b"conv3", bits=4, shape=(1, 4),
                                                 payload=bytes(3)), B_VALID),
                             Code.BAD_PAYLOAD),
    "over the size limit": (struct.pack("<I", LIMIT) + VALID[4:], Code.TOO_LARGE),
    "length says more than sent": (struct.pack("<I", len(VALID)) + VALID[4:],
                                   Code.TRUNCATED),
    "length says less": (struct.pack("<I", len(VALID) - 9) + VALID[4:], Code.TRUNCATED),
    "bad magic": (raw_frame(A_VALID, B_VALID, magic=b"MSPX"), Code.BAD_MAGIC),
    "version 2": (raw_frame(A_VALID, B_VALID, version=2), Code.BAD_VERSION),
    "kind 9": (raw_frame(A_VALID, B_VALID, kind=9), Code.BAD_KIND),
    "a result frame": (raw_frame(A_VALID, B_VALID, kind=2), Code.BAD_KIND),
    "an error frame": (encode_frame(Frame.error(3, "x")), Code.BAD_KIND),
    "zero scale": (raw_frame(raw_entry(b"conv3", bits=4, shape=(1, 4), scale=0.0), B_VALID),
                   Code.BAD_SCALE),
    "bad UTF-8 name": (raw_frame(raw_entry(b"\xff", bits=4, shape=(1, 4)), B_VALID),
                       Code.BAD_TEXT),
    "trailing bytes": (raw_frame(A_VALID, B_VALID, tail=b"\0"), Code.TRAILING_BYTES),
    "float16 infinity": (raw_frame(A_VALID, raw_entry(b"pool5", bits=16, shape=(1, 2, 2),
                                                      scale=1.0, zero=0.0,
                                                      payload=bytes([0, 0x7c] * 4))),
                         Code.INTERNAL),
}


@pytest.mark.parametrize("case", REFUSALS)
def test_a_malformed_frame_is_answered_with_its_code_and_the_connection_closed(
        server, case):
    data, code = REFUSALS[case]
    # a valid frame after it is never answered: the connection is closed after the error
    # (after a truncated frame, it would complete the frame instead)
    then = b"" if code == Code.TRUNCATED else VALID
    assert answer_codes(server.address, data + then) == [code]
    assert answer_codes(server.address, VALID) == ["ok"]


def expected_codes(cloud, data):
    """What the SPEC says a server answers `data` with: each frame in turn until the data
    ends or one is refused (then its code, and the connection is closed)."""
    stream, codes = io.BytesIO(data), []
    while True:
        try:
            frame = read_frame(stream.read, max_bytes=LIMIT)
            if frame is None:
                return codes
            cloud.answer(frame)
            codes.append("ok")
        except FrameError as exc:
            return [*codes, exc.code]


def fuzz_cases(rng):
    """(label, data) pairs, at least 1,000, almost all malformed."""
    cases = cut_cases(rng, VALID, random_count=150)
    for n in rng.integers(1, 160, 150):
        head = b"MSPL" + struct.pack("<BBH", 1, 1, int(rng.integers(1, 4)))
        tail = rng.bytes(int(n))
        cases.append((f"header then {n} random bytes",
                      struct.pack("<I", len(head) + len(tail)) + head + tail))
    for i in range(100):
        flipped = bytearray(VALID)
        flipped[int(rng.integers(4, len(VALID)))] ^= 1 << int(rng.integers(0, 8))
        cases.append((f"bit flip {i}", bytes(flipped)))
    for i in range(30):
        dims = tuple(int(d) for d in rng.integers(2**16, 2**32, int(rng.integers(2, 9))))
        cases += [(f"{label} {i}", data) for label, (data, _) in REFUSALS.items()]
        cases += [
            ("bits 17+", raw_frame(raw_entry(b"conv3", bits=int(rng.integers(17, 256)),
                                             shape=(1, 4)), B_VALID)),
            ("ndim 9+", raw_frame(raw_entry(b"conv3", shape=(), ndim=int(rng.integers(9, 256))),
                                  B_VALID)),
            ("huge dims", raw_frame(raw_entry(b"conv3", shape=dims, payload=b""), B_VALID)),
            ("random name", raw_frame(raw_entry(rng.bytes(int(rng.integers(1, 9))),
                                                shape=(1, 4)), B_VALID)),
            ("random payload", raw_frame(raw_entry(
                b"conv3", shape=(1, 4), payload=rng.bytes(int(rng.integers(0, 9)))), B_VALID)),
        ]
    return cases


def test_fuzzed_frames_are_refused_as_the_spec_says_and_serving_goes_on(plan, server):
    cloud = CloudHalf.load(plan)
    rng = np.random.default_rng(2024)
    cases = fuzz_cases(rng)
    assert len(cases) >= 1000
    started, refused = time.monotonic(), 0
    for label, data in cases:
        want = expected_codes(cloud, data)
        got = answer_codes(server.address, data, timeout=IDLE + 5)
        assert got == want, label
        refused += bool(want) and want[-1] != "ok"
    assert refused >= 950
    assert time.monotonic() - started < 60
    assert_answers(request(*server.address, tensors(9), timeout=5), direct(plan, tensors(9)))


def test_slow_senders_are_cut_off_at_the_idle_timeout_while_others_are_served(plan, server):
    outcomes = {}

    def stall(name, data, pause, pieces):
        sock = socket.create_connection(server.address, timeout=10)
        started = time.monotonic()
        try:
            for i in range(pieces):
                sock.sendall(data[i:i + 1])
                time.sleep(pause)
            codes = []
            while (frame := read_frame(sock.recv, max_bytes=1 << 20)) is not None:
                codes.append(Code(frame.code))
        except OSError as exc:  # a trickler may find the connection already closed
            codes = [type(exc).__name__]
        outcomes[name] = (codes, time.monotonic() - started)
        sock.close()

    senders = [
        ("silent", b"", 0.0, 0),                          # opens and sends nothing
        ("half a frame", VALID[:len(VALID) // 2], 0.0, 1),  # one byte then stalls
        ("stalls in the prefix", VALID, 0.0, 2),
        ("trickles a byte every 50 ms", VALID, 0.05, len(VALID)),
    ]
    threads = [threading.Thread(target=stall, args=s) for s in senders * 3]
    for thread in threads:
        thread.start()
    time.sleep(0.05)
    started = time.monotonic()
    assert_answers(request(*server.address, tensors(4), timeout=5), direct(plan, tensors(4)))
    assert time.monotonic() - started < IDLE  # served while the slow ones wait
    for thread in threads:
        thread.join(IDLE + 10)
    assert not any(thread.is_alive() for thread in threads)
    assert outcomes["silent"][0] == []
    for name in ("half a frame", "stalls in the prefix"):
        assert outcomes[name][0] == [Code.TRUNCATED], name
    # the trickler is cut off at the frame's deadline, not after its whole frame
    codes, seconds = outcomes["trickles a byte every 50 ms"]
    assert codes in ([Code.TRUNCATED], ["BrokenPipeError"], ["ConnectionResetError"])
    assert seconds < len(VALID) * 0.05
    for name, (_, seconds) in outcomes.items():
        assert IDLE - 0.05 <= seconds < IDLE + 2, name
    assert_answers(request(*server.address, tensors(5), timeout=5), direct(plan, tensors(5)))


@pytest.mark.slow
def test_many_fuzzers_and_valid_clients_at_once(plan):
    """10,000 fuzzed frames from 4 threads while 2 others send valid requests."""
    cloud = CloudHalf.load(plan)
    failures, answered = [], []
    with CloudServer(plan, max_frame_bytes=LIMIT, idle_timeout=IDLE) as server:
        def fuzzer(seed):
            cases = fuzz_cases(np.random.default_rng(seed))
            for label, data in (cases * 2)[:2500]:
                got = answer_codes(server.address, data, timeout=IDLE + 5)
                if got != expected_codes(cloud, data):
                    failures.append((seed, label, got))

        def client(seed):
            with Connection(*server.address, timeout=10) as connection:
                for i in range(200):
                    entries = tensors(1000 * seed + i)
                    answer = connection.request(entries)
                    assert_answers(answer, direct(plan, entries))
                    answered.append(seed)

        threads = [threading.Thread(target=fuzzer, args=(s,)) for s in range(4)]
        threads += [threading.Thread(target=client, args=(s,)) for s in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(300)
        assert not any(thread.is_alive() for thread in threads)
        assert not failures, failures[:5]
        assert len(answered) == 400


def test_a_cloud_onnx_without_a_batch_dimension_takes_batch_1(tmp_path):
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"])], "cloud",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [3])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    manifest = json.loads((write_plan(tmp_path) / "plan.json").read_text())
    onnx.save(model, str(tmp_path / "cloud.onnx"))
    manifest["cloud"] = {"file": "cloud.onnx", "outputs": [{"name": "y", "shape": [3]}]}
    manifest["cut_tensors"] = [{"row": "r", "edge_name": "r", "cloud_name": "x",
                                "shape": [3], "bits": 8, "packing": "lsb-dense"}]
    (tmp_path / "plan.json").write_text(json.dumps(manifest))
    cloud = CloudHalf.load(tmp_path)
    assert cloud.batch == 1
    values = np.array([[-1.0, 0.5, 2.0]])
    answer = cloud.answer(Frame(FrameKind.TENSORS, (TensorEntry.from_values("r", values, 8),)))
    (y,) = answer.tensors
    assert y.shape == (3,) and y.values()[0] == 0 and abs(y.values()[2] - 2.0) < 0.01
    with pytest.raises(FrameError) as caught:
        cloud.answer(Frame(FrameKind.TENSORS, (TensorEntry.from_values(
            "r", np.ones((2, 3)), 8),)))
    assert caught.value.code == Code.UNEXPECTED_TENSOR


# ------------------------------------------------------------------- start and stop
def test_bounds_stop_the_server(plan):
    server = CloudServer(plan, idle_timeout=5).start()
    idle = socket.create_connection(server.address, timeout=5)
    sender = threading.Thread(target=lambda: [request(*server.address, tensors(s), timeout=5)
                                              for s in range(2)])
    started = time.monotonic()
    sender.start()
    server.wait(max_requests=2)
    sender.join(5)
    assert server.requests == 2 and time.monotonic() - started < 4
    assert idle.recv(1) == b""  # an open connection is closed by the stop, not left waiting
    idle.close()
    with pytest.raises(OSError):
        request(*server.address, tensors(0), timeout=1)

    started = time.monotonic()
    assert serve(plan, duration=0.3) == 0
    assert 0.3 <= time.monotonic() - started < 3


def test_connections_over_the_bound_are_answered_busy(plan):
    with CloudServer(plan, idle_timeout=5, max_connections=2) as server:
        first = Connection(*server.address, timeout=5)
        second = Connection(*server.address, timeout=5)
        assert_answers(first.request(tensors(0)), direct(plan, tensors(0)))
        assert_answers(second.request(tensors(1)), direct(plan, tensors(1)))
        answer = request(*server.address, tensors(2), timeout=5)
        assert answer.kind == FrameKind.ERROR and answer.code == Code.INTERNAL
        assert answer.message.startswith("busy: 2 connections open")
        first.close()
        deadline = time.monotonic() + 5
        while (answer := request(*server.address, tensors(2), timeout=5)).kind \
                == FrameKind.ERROR and time.monotonic() < deadline:
            time.sleep(0.01)  # until the server has seen the first one close
        assert_answers(answer, direct(plan, tensors(2)))
        second.close()


@pytest.mark.parametrize("break_it, needle", [
    (lambda d: (d / "plan.json").unlink(), "no plan.json"),
    (lambda d: (d / "plan.json").write_text("{"), "cannot be read as JSON"),
    (lambda d: (d / "cloud.onnx").unlink(), "no such file"),
    (lambda d: (d / "cloud.onnx").write_bytes(b"not onnx"), "onnxruntime cannot load it"),
    (lambda d: write_plan(d, cloud_a="cut_x"), "inputs are ['cut_a', 'cut_b']"),
    (lambda d: write_plan(d, cut_a_shape=(5,)), "says [5] per sample"),
    (lambda d: write_plan(d, bits_a=0), "bits must be a whole number in 1..16, got 0"),
    (lambda d: write_plan(d, cloud_file=None), "edge-only plan"),
    (lambda d: (d / "plan.json").write_text(json.dumps(
        {k: v for k, v in json.loads((d / "plan.json").read_text()).items() if k != "input"})),
     "missing key 'input'"),
])
def test_a_directory_that_cannot_be_served_is_refused(tmp_path, break_it, needle):
    folder = write_plan(tmp_path / "plan")
    break_it(folder)
    with pytest.raises(DeployError) as caught:
        CloudServer(folder)
    assert needle in str(caught.value)


def test_options_are_checked(plan):
    for option, value in [("port", 70000), ("idle_timeout", 0), ("max_frame_bytes", 3),
                          ("max_frame_bytes", len(VALID) - 1), ("max_connections", 0)]:
        with pytest.raises(OptionError) as caught:
            CloudServer(plan, **{option: value})
        assert caught.value.parameter == option
    with pytest.raises(OptionError):
        serve(plan, max_requests=0)


def test_the_default_frame_limit_follows_the_plan(plan):
    cloud = CloudHalf.load(plan)
    # header 12; conv3: 2 + 5 + 2 + 8 + 12 + 2 bytes of 4-bit codes; pool5: 2 + 5 + 2 + 12
    # + 12 + 8 bytes of float16
    assert cloud.frame_bytes() == len(VALID) == 12 + 31 + 41
    assert cloud.default_frame_limit() == 1 << 16
    with CloudServer(cloud) as server:
        assert server.max_frame_bytes == 1 << 16


# ------------------------------------------------------------------------- pacing
def paced_seconds(sender, size):
    a, b = socket.socketpair()
    received = []
    reader = threading.Thread(target=lambda: received.append(
        sum(len(chunk) for chunk in iter(lambda: b.recv(1 << 16), b""))))
    reader.start()
    seconds = sender.send(a, bytes(size))
    a.close()
    reader.join(10)
    b.close()
    assert received == [size]
    return seconds


def test_the_paced_sender_holds_the_bandwidth_and_the_rtt():
    seconds = paced_seconds(PacedSender(bandwidth_mbps=8), 200_000)
    assert 0.18 <= seconds < 1.5            # 0.2 s at 8 Mbit/s
    seconds = paced_seconds(PacedSender(bandwidth_mbps=10_000, rtt_ms=100), 1000)
    assert 0.1 <= seconds < 1.0
    with pytest.raises(OptionError):
        PacedSender(bandwidth_mbps=0)


def test_a_paced_request_takes_the_link_time(plan, server):
    entries = tensors(0)
    sender = PacedSender(bandwidth_mbps=0.01, rtt_ms=20)  # 84 bytes take 67 ms, + 20 ms
    started = time.monotonic()
    answer = request(*server.address, entries, timeout=5, sender=sender)
    assert time.monotonic() - started >= 0.02 + len(VALID) * 8 / 0.01e6 - 0.005
    assert_answers(answer, direct(plan, entries))


# ---------------------------------------------------------------------- the command
def test_serve_command_answers_then_stops_by_itself(plan):
    env = {**os.environ, "PYTHONPATH": str(WORKTREE)}
    process = subprocess.Popen(
        [sys.executable, "-m", "moosplit", "serve", str(plan), "--max-requests", "1",
         "--idle-timeout", "5", "--duration", "60"], cwd=WORKTREE, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        assert line.startswith("listening on 127.0.0.1:"), line
        port = int(line.rsplit(":", 1)[1])
        entries = tensors(6)
        assert_answers(request(HOST, port, entries, timeout=10), direct(plan, entries))
        out, err = process.communicate(timeout=20)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == 0, err
    assert out == "stopped after 1 requests\n"
    assert len(err.splitlines()) == 1 and " ok tensors=conv3[1,4]@4" in err


def test_serve_command_stops_on_ctrl_c_without_a_traceback(plan):
    env = {**os.environ, "PYTHONPATH": str(WORKTREE)}
    process = subprocess.Popen(
        [sys.executable, "-m", "moosplit", "serve", str(plan), "--duration", "60"],
        cwd=WORKTREE, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().startswith("listening on 127.0.0.1:")
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=20)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == 130
    assert "Traceback" not in err and err.strip() == "moosplit: interrupted"


def test_serve_command_refuses_a_bad_directory_in_one_line(tmp_path, capsys):
    assert main(["serve", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a directory" in err
    folder = write_plan(tmp_path / "plan")
    assert main(["serve", str(folder), "--idle-timeout", "-1"]) == 2
    assert "--idle-timeout must be a finite number > 0 seconds, got -1" in capsys.readouterr().err
    write_plan(folder, cloud_file=None)
    assert main(["serve", str(folder)]) == 2
    assert "edge-only plan" in capsys.readouterr().err

