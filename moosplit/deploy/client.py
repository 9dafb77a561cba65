"""The edge's side of `moosplit serve`: send a tensors frame, read the answer (SPEC
section 8), optionally through a :class:`PacedSender` that holds the bytes to a link's
bandwidth and round-trip time.

:func:`request` sends one frame on a fresh connection; :class:`Connection` keeps one open
for several (the server answers each frame in order, and closes the connection after an
error frame). Answers are returned as frames, error frames included: check
``answer.kind``. Nothing read from the network is executed.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass

from ..validation import Number
from .frames import Frame, FrameKind, TensorEntry, encode_frame, read_frame

DEFAULT_TIMEOUT = 30.0
"""Seconds any one connect, send or receive may wait."""
DEFAULT_REPLY_BYTES = 1 << 28
"""The largest answer read (length prefix included); a longer one is refused, TOO_LARGE."""

_BANDWIDTH = Number(above=0, unit="Mbit/s")
_RTT = Number(at_least=0, unit="ms")
_CHUNK = Number(whole=True, at_least=1)
_TIMEOUT = Number(above=0, unit="seconds")
_MAX_BYTES = Number(whole=True, at_least=16)


@dataclass(frozen=True)
class PacedSender:
    """Sends bytes as a link of `bandwidth_mbps` (10^6 bit/s) and round-trip time `rtt_ms`
    would deliver them.

    The whole rtt is waited once, before the first byte (the latency model charges it
    once per inference, SPEC section 4); then the bytes go in pieces of at most
    `chunk_bytes` through a token bucket that fills at the bandwidth, starts empty and
    holds at most two pieces (so that a sleep that ends late is made up by the next
    piece), so n bytes take at least rtt_ms / 1000 + 8 n / (bandwidth_mbps x 10^6)
    seconds (more if the receiver is slower).

    Example:
        >>> a, b = socket.socketpair()
        >>> seconds = PacedSender(bandwidth_mbps=8, rtt_ms=10).send(a, bytes(10_000))
        >>> seconds >= 0.010 + 10_000 * 8 / 8e6, len(b.recv(20_000)) > 0
        (True, True)
        >>> a.close(); b.close()
    """

    bandwidth_mbps: float
    rtt_ms: float = 0.0
    chunk_bytes: int = 16384

    def __post_init__(self) -> None:
        object.__setattr__(self, "bandwidth_mbps",
                           _BANDWIDTH("bandwidth_mbps", self.bandwidth_mbps))
        object.__setattr__(self, "rtt_ms", _RTT("rtt_ms", self.rtt_ms))
        object.__setattr__(self, "chunk_bytes", _CHUNK("chunk_bytes", self.chunk_bytes))

    def send(self, connection: socket.socket, data: bytes) -> float:
        """Send all of `data` on `connection`, paced; returns the seconds it took."""
        started = time.perf_counter()
        time.sleep(self.rtt_ms / 1000)
        rate = self.bandwidth_mbps * 1e6 / 8  # bytes per second
        depth = 2 * self.chunk_bytes
        tokens, last = 0.0, time.perf_counter()
        view = memoryview(data)
        for at in range(0, len(view), self.chunk_bytes):
            piece = view[at:at + self.chunk_bytes]
            for _ in range(2):  # a sleep that ends early leaves a debt the next piece pays
                now = time.perf_counter()
                tokens, last = min(depth, tokens + (now - last) * rate), now
                if tokens >= len(piece):
                    break
                time.sleep((len(piece) - tokens) / rate)
            tokens -= len(piece)
            connection.sendall(piece)
        return time.perf_counter() - started


class Connection:
    """One connection to a `moosplit serve` server.

    timeout: seconds any one connect, send or receive may wait (TimeoutError beyond).
    max_bytes: the largest answer read. sender: a :class:`PacedSender` to send through
    (None: as fast as the socket takes the bytes). A context manager that closes the
    connection. OSError if the server cannot be reached.
    """

    def __init__(self, host: str, port: int, *, timeout: float = DEFAULT_TIMEOUT,
                 max_bytes: int = DEFAULT_REPLY_BYTES, sender: PacedSender | None = None) -> None:
        timeout = _TIMEOUT("timeout", timeout)
        self.max_bytes = _MAX_BYTES("max_bytes", max_bytes)
        self.sender = sender
        self._socket = socket.create_connection((host, port), timeout=timeout)
        self._socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def send(self, frame: Frame | Sequence[TensorEntry] | bytes) -> int:
        """Send a frame (a tensors frame of these entries, or the bytes of an encoded
        frame, sent as they are); returns its bytes."""
        data = frame if isinstance(frame, bytes) else encode_frame(
            frame if isinstance(frame, Frame) else Frame(FrameKind.TENSORS, tuple(frame)))
        if self.sender is None:
            self._socket.sendall(data)
        else:
            self.sender.send(self._socket, data)
        return len(data)

    def receive(self) -> Frame:
        """The next answer. FrameError if it is malformed, ConnectionError if the server
        closed the connection instead of answering, TimeoutError."""
        frame = read_frame(self._socket.recv, max_bytes=self.max_bytes)
        if frame is None:
            raise ConnectionError("the server closed the connection without an answer")
        return frame

    def request(self, frame: Frame | Sequence[TensorEntry]) -> Frame:
        """Send a frame and return the answer (a result or an error frame).

        If the server closes the connection while the frame is still being sent (it
        refused the frame from its first bytes), the error frame it answered is returned.
        """
        try:
            self.send(frame)
        except (BrokenPipeError, ConnectionResetError):
            try:
                return self.receive()
            except OSError:
                pass
            raise
        return self.receive()

    def close(self) -> None:
        """Close the connection."""
        self._socket.close()

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def request(host: str, port: int, frame: Frame | Sequence[TensorEntry], *,
            timeout: float = DEFAULT_TIMEOUT, max_bytes: int = DEFAULT_REPLY_BYTES,
            sender: PacedSender | None = None) -> Frame:
    """Send one frame (or a tensors frame of these entries) on a new connection and
    return the answer: a result frame, or an error frame saying why it was refused.
    Options and errors as :class:`Connection`."""
    with Connection(host, port, timeout=timeout, max_bytes=max_bytes,
                    sender=sender) as connection:
        return connection.request(frame)
