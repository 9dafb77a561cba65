"""`moosplit serve` over loopback: what a request costs besides the cloud half's compute.

    python benchmarks/bench_serve.py [--requests 50] [--paced 10] [--out table.md]

Per case, a plan directory with one cut tensor (of the shape and bits below) and a
cloud.onnx that only averages it (ReduceMean over every axis but the batch), so the times
are the server's; `moosplit serve` runs in its own process and this one sends the frame
(quantised once, encoded once) `requests` times over one connection (after 3 warm-up
requests). Columns: the frame's bytes; the median round trip seen by the client; the
server's median from the frame's first byte to its answer sent and, of that, the cloud
half's (check, unpack, dequantise, run, encode the result); then `paced` requests through
a PacedSender at 8 Mbit/s and rtt 20 ms: their median round trip against rtt + 8 x bytes /
bandwidth (the latency model's terms, SPEC section 4).
"""

from __future__ import annotations

import argparse
import json
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
from common import machine, report

from moosplit.deploy import (
    Connection,
    Frame,
    FrameKind,
    PacedSender,
    TensorEntry,
    encode_frame,
    read_frame,
)

CASES = [((16,), 8), ((64, 56, 56), 2), ((64, 56, 56), 4), ((64, 56, 56), 8),
         ((64, 56, 56), 16), ((256, 56, 56), 8)]
BANDWIDTH_MBPS, RTT_MS = 8.0, 20.0


def write_plan(folder: Path, shape: tuple[int, ...], bits: int) -> None:
    """A plan directory whose cloud half averages one cut tensor `x` (row "cut")."""
    import onnx
    from onnx import TensorProto, helper
    axes = list(range(1, len(shape) + 1))
    graph = helper.make_graph(
        [helper.make_node("ReduceMean", ["x"], ["y"], axes=axes, keepdims=0)], "cloud",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", *shape])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N"])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(folder / "cloud.onnx"))
    (folder / "plan.json").write_text(json.dumps({
        "format": "moosplit-plan", "version": 1,
        "cloud": {"file": "cloud.onnx", "outputs": [{"name": "y", "shape": []}]},
        "edge": {"file": None, "outputs": []},
        "cut_tensors": [{"row": "cut", "edge_name": "x", "cloud_name": "x",
                         "shape": list(shape), "bits": bits,
                         "packing": "float16" if bits == 16 else "lsb-dense"}]}))


def round_trip_ms(connection: socket.socket, data: bytes) -> float:
    """Send `data`, read the answer; ms."""
    started = time.perf_counter()
    connection.sendall(data)
    answer = read_frame(connection.recv, max_bytes=1 << 20)
    assert answer is not None and answer.kind == FrameKind.RESULT, answer
    return 1000 * (time.perf_counter() - started)


def case_row(shape: tuple[int, ...], bits: int, requests: int, paced: int) -> str:
    """The table row of one cut tensor at one bit-width."""
    with tempfile.TemporaryDirectory() as folder, tempfile.TemporaryFile("w+") as log:
        write_plan(Path(folder), shape, bits)
        values = np.maximum(np.random.default_rng(0).normal(size=(1, *shape)), 0)
        frame = Frame(FrameKind.TENSORS, (TensorEntry.from_values("cut", values, bits),))
        data = encode_frame(frame)
        server = subprocess.Popen(
            [sys.executable, "-m", "moosplit", "serve", folder, "--idle-timeout", "60",
             "--duration", "600"], stdout=subprocess.PIPE, stderr=log, text=True)
        try:
            port = int(server.stdout.readline().rsplit(":", 1)[1])
            with socket.create_connection(("127.0.0.1", port), timeout=60) as connection:
                connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                times = [round_trip_ms(connection, data) for _ in range(3 + requests)][3:]
            sender = PacedSender(bandwidth_mbps=BANDWIDTH_MBPS, rtt_ms=RTT_MS)
            paced_times = []
            with Connection("127.0.0.1", port, timeout=60, sender=sender) as connection:
                for _ in range(paced):
                    started = time.perf_counter()
                    assert connection.request(frame).kind == FrameKind.RESULT
                    paced_times.append(1000 * (time.perf_counter() - started))
        finally:
            server.terminate()
            server.wait(30)
        log.seek(0)
        lines = log.read().splitlines()[3:3 + requests]
    server_ms = [float(re.search(r" ms=([\d.]+)", line)[1]) for line in lines]
    cloud_ms = [float(re.search(r"cloud_ms=([\d.]+)", line)[1]) for line in lines]
    predicted = RTT_MS + len(data) * 8 / (BANDWIDTH_MBPS * 1e3)
    label = "x".join(map(str, shape))
    return (f"| {label} | {bits} | {len(data):,} | {statistics.median(times):.2f} | "
            f"{statistics.median(server_ms):.2f} | {statistics.median(cloud_ms):.2f} | "
            f"{statistics.median(paced_times):.1f} | {predicted:.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=50,
                        help="requests timed per case (default 50)")
    parser.add_argument("--paced", type=int, default=10,
                        help="paced requests per case (default 10)")
    parser.add_argument("--out", help="also write the table to this markdown file")
    args = parser.parse_args()
    header = (f"`moosplit serve` over loopback, {date.today()}, {machine()}; medians of "
              f"{args.requests} requests (paced: {args.paced} at {BANDWIDTH_MBPS:g} Mbit/s, "
              f"rtt {RTT_MS:g} ms).")
    rows = ["| cut tensor | bits | frame bytes | round trip ms | server ms | cloud half ms "
            "| paced ms | rtt + transmit ms |", "|---|---|---|---|---|---|---|---|"]
    for shape, bits in CASES:
        rows.append(case_row(shape, bits, args.requests, args.paced))
        print(rows[-1], file=sys.stderr)
    report(header, "\n".join(rows), args.out)


if __name__ == "__main__":
    main()
