"""`moosplit serve`: the cloud half of a plan behind a TCP server (SPEC section 8).

:class:`CloudServer` listens on `host:port` (127.0.0.1 unless told; port 0 picks a free
one, :attr:`CloudServer.address` says which), one thread per connection
(`socketserver.ThreadingTCPServer`). A connection sends tensors frames and gets one
answer each, in order: a result frame, or an error frame carrying the
:class:`~moosplit.deploy.frames.FrameErrorCode` of what was wrong, after which the
server closes that connection and goes on serving the others.

Limits: a frame over `max_frame_bytes` is refused from its length prefix, before its body
is read. A connection has `idle_timeout` seconds, from when it opens or was last answered,
to deliver its next complete frame; a connection silent that long is closed, one that
sent part of a frame is answered TRUNCATED and closed (so a slow sender cannot hold a
thread longer than that). Every answer is sent within `idle_timeout` too.

Each request is logged on one line (logger "moosplit.deploy.server", level INFO): peer,
status (ok or the error code), tensors, bytes in and out, milliseconds from its first
byte to its answer sent, and of those the cloud half's. Library code does not configure
logging: the command line does.

Example (a folder without plan.json is not a plan directory):
    >>> import tempfile
    >>> CloudServer(tempfile.mkdtemp())  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    moosplit.errors.DeployError: ...: no plan.json (not a plan directory)
"""

from __future__ import annotations

import logging
import socket
import socketserver
import threading
import time
from collections.abc import Callable
from pathlib import Path

from ..errors import OptionError
from ..validation import Number
from .cloud import CloudHalf
from .frames import Frame, FrameError, FrameErrorCode, FrameKind, encode_frame, read_frame

LOG = logging.getLogger(__name__)
DEFAULT_HOST = "127.0.0.1"
DEFAULT_IDLE_TIMEOUT = 30.0
"""Seconds a connection has to deliver each frame (raise it for large frames over slow
links: a frame must arrive within it)."""
DEFAULT_MAX_CONNECTIONS = 64
"""Connections served at once unless told."""
LINGER_SECONDS = 0.5
"""After an error frame, the server reads (and drops) what the peer still sends for at
most this long before closing, so that closing with unread data does not reset the
connection before the peer reads the error."""

_PORT = Number(whole=True, at_least=0, at_most=65535)
_LIMIT = Number(whole=True, at_least=16, optional=True)
_TIMEOUT = Number(above=0, unit="seconds")
_CONNECTIONS = Number(whole=True, at_least=1)
_MAX_REQUESTS = Number(whole=True, at_least=1, optional=True)
_DURATION = Number(above=0, unit="seconds", optional=True)


class CloudServer:
    """The cloud half of a plan directory answering frames on a TCP port.

    directory: a plan directory (plan.json and cloud.onnx), or a loaded
    :class:`~moosplit.deploy.cloud.CloudHalf`. host, port: where to listen (port 0: any
    free port). max_frame_bytes: the largest frame taken, length prefix included (None:
    the cloud half's :meth:`~moosplit.deploy.cloud.CloudHalf.default_frame_limit`).
    idle_timeout: seconds a connection has for each frame. max_connections: connections
    served at once (one thread each); one more is answered an INTERNAL error frame
    ("busy") and closed.

    The socket is bound on construction (so :attr:`address` is known); :meth:`start`
    serves in a background thread, :meth:`wait` blocks until a bound on requests or time,
    :meth:`stop` stops serving and closes every connection. As a context manager it
    starts and stops. DeployError for a directory that cannot be served, OptionError for a
    bad option, OSError if the address cannot be bound. docs/deployment.md has an example.
    """

    def __init__(self, directory: str | Path | CloudHalf, *, host: str = DEFAULT_HOST,
                 port: int = 0, max_frame_bytes: int | None = None,
                 idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
                 max_connections: int = DEFAULT_MAX_CONNECTIONS) -> None:
        port = _PORT("port", port)
        limit = _LIMIT("max_frame_bytes", max_frame_bytes)
        self.idle_timeout = _TIMEOUT("idle_timeout", idle_timeout)
        self.max_connections = _CONNECTIONS("max_connections", max_connections)
        self.cloud = directory if isinstance(directory, CloudHalf) \
            else CloudHalf.load(directory)
        if limit is not None and limit < self.cloud.frame_bytes():
            raise OptionError("max_frame_bytes", f">= {self.cloud.frame_bytes()} bytes (the "
                              "plan's frame) or None", limit)
        self.max_frame_bytes = limit if limit is not None else self.cloud.default_frame_limit()
        self._tcp = _TCPServer((host, port), self)
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._done = threading.Event()
        self._wake = threading.Event()  # a bound reached, or stop()
        self._max_requests: int | None = None
        self._thread: threading.Thread | None = None
        self.requests = 0
        """Requests answered so far (results and error frames)."""

    @property
    def address(self) -> tuple[str, int]:
        """(host, port) the server listens on."""
        host, port = self._tcp.server_address[:2]
        return str(host), int(port)

    def start(self) -> CloudServer:
        """Serve in a background thread; returns the server."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._tcp.serve_forever,
                                            kwargs={"poll_interval": 0.05},
                                            name="moosplit-serve", daemon=True)
            self._thread.start()
        return self

    def wait(self, *, max_requests: int | None = None, duration: float | None = None) -> None:
        """Block until `max_requests` requests have been answered, `duration` seconds have
        passed, or :meth:`stop` was called (forever if neither bound is given), then stop.
        A KeyboardInterrupt stops the server and propagates."""
        max_requests = _MAX_REQUESTS("max_requests", max_requests)
        duration = _DURATION("duration", duration)
        with self._lock:
            self._max_requests = max_requests
            if max_requests is not None and self.requests >= max_requests:
                self._wake.set()
        end = None if duration is None else time.monotonic() + duration
        try:
            while not self._wake.is_set():
                left = 0.5 if end is None else min(0.5, end - time.monotonic())
                if left <= 0:
                    break
                self._wake.wait(left)  # in slices: Ctrl-C interrupts a slice
        finally:
            self.stop()

    def stop(self) -> None:
        """Stop serving: no new connections, open ones closed, their threads joined."""
        with self._lock:
            if self._done.is_set():
                return
            self._done.set()
            self._wake.set()
        if self._thread is not None:
            self._tcp.shutdown()
        with self._lock:
            for connection in self._connections:
                _quietly(connection.shutdown, socket.SHUT_RDWR)
        self._tcp.server_close()

    def __enter__(self) -> CloudServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ per connection
    def _serve_connection(self, connection: socket.socket, peer: str) -> None:
        with self._lock:
            if self._done.is_set():
                return
            busy = len(self._connections) >= self.max_connections
            if not busy:
                self._connections.add(connection)
        if busy:
            LOG.warning("%s refused: busy (%d connections open)", peer, self.max_connections)
            connection.settimeout(self.idle_timeout)
            _quietly(connection.sendall, encode_frame(Frame.error(
                FrameErrorCode.INTERNAL, f"busy: {self.max_connections} connections open, "
                "try again later")))
            return
        try:
            connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            while not self._done.is_set() and self._serve_one(connection, peer):
                pass
        except OSError:
            pass  # the peer went away (reset, broken pipe): nothing to answer
        except Exception:  # a bug: log it and close this connection, keep serving
            LOG.exception("%s: the connection failed", peer)
        finally:
            with self._lock:
                self._connections.discard(connection)

    def _serve_one(self, connection: socket.socket, peer: str) -> bool:
        """Read one frame and answer it; whether the connection stays open."""
        reader = _DeadlineReader(connection, self.idle_timeout)
        tensors, cloud_ms = "-", 0.0
        try:
            try:
                frame = read_frame(reader.read, max_bytes=self.max_frame_bytes)
            except TimeoutError:
                if not reader.received:
                    LOG.debug("%s closed: idle for %g s", peer, self.idle_timeout)
                    return False
                raise FrameError(FrameErrorCode.TRUNCATED, f"no complete frame within "
                                 f"{self.idle_timeout:g} s ({reader.received} bytes "
                                 "received)") from None
            if frame is None:
                return False
            tensors = _describe(frame)
            started = time.perf_counter()
            try:
                answer = self.cloud.answer(frame)
            finally:
                cloud_ms = 1000 * (time.perf_counter() - started)
        except FrameError as exc:
            answer = exc.to_frame()
        data = encode_frame(answer)
        connection.settimeout(self.idle_timeout)
        try:
            connection.sendall(data)
        finally:
            status = "ok" if answer.kind != FrameKind.ERROR \
                else FrameErrorCode(answer.code).name.lower()
            total_ms = 1000 * (time.perf_counter() - (reader.first_byte or time.perf_counter()))
            LOG.info("%s %s tensors=%s in=%d out=%d ms=%.2f cloud_ms=%.2f", peer, status,
                     tensors, reader.received, len(data), total_ms, cloud_ms)
            self._count()
        if answer.kind == FrameKind.ERROR:
            _linger(connection, self.max_frame_bytes)
            return False
        return True

    def _count(self) -> None:
        with self._lock:
            self.requests += 1
            if self._max_requests is not None and self.requests >= self._max_requests:
                self._wake.set()


def serve(directory: str | Path, *, host: str = DEFAULT_HOST, port: int = 0,
          max_frame_bytes: int | None = None, idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
          max_connections: int = DEFAULT_MAX_CONNECTIONS,
          max_requests: int | None = None, duration: float | None = None,
          ready: Callable[[CloudServer], None] | None = None) -> int:
    """Serve the cloud half of `directory` until `max_requests` requests were answered or
    `duration` seconds passed (forever if neither is given; a KeyboardInterrupt stops it
    and propagates); returns the number of requests answered. `ready(server)` is called
    once it listens (to report :attr:`CloudServer.address`). Options and errors as
    :class:`CloudServer` and :meth:`CloudServer.wait`."""
    _MAX_REQUESTS("max_requests", max_requests)
    _DURATION("duration", duration)
    server = CloudServer(directory, host=host, port=port, max_frame_bytes=max_frame_bytes,
                         idle_timeout=idle_timeout, max_connections=max_connections)
    try:
        server.start()
        if ready is not None:
            ready(server)
        server.wait(max_requests=max_requests, duration=duration)
    finally:
        server.stop()
    return server.requests


class _TCPServer(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    request_queue_size = 128  # the listen backlog: bursts of connections wait, not retry
    daemon_threads = False  # server_close() joins them (stop() has closed their sockets)

    def __init__(self, address: tuple[str, int], owner: CloudServer) -> None:
        self.owner = owner
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        super().__init__(address, _Handler)


class _Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        host, port = self.client_address[:2]
        self.server.owner._serve_connection(self.request, f"{host}:{port}")


class _DeadlineReader:
    """`read(n)` for :func:`read_frame` on a socket, raising TimeoutError once `seconds`
    have passed since it was made; counts the bytes it returned."""

    def __init__(self, connection: socket.socket, seconds: float) -> None:
        self.connection = connection
        self.deadline = time.monotonic() + seconds
        self.received = 0
        self.first_byte: float | None = None

    def read(self, n: int) -> bytes:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the frame's deadline passed")
        self.connection.settimeout(left)
        data = self.connection.recv(n)
        if data and self.first_byte is None:
            self.first_byte = time.perf_counter()
        self.received += len(data)
        return data


def _describe(frame: Frame) -> str:
    """The tensors of a frame for the log: name[shape]@bits, comma-separated."""
    text = ",".join(f"{t.name}[{','.join(map(str, t.shape))}]@{t.bits}"
                    for t in frame.tensors)
    return text[:200] or "-"


def _linger(connection: socket.socket, max_bytes: int) -> None:
    """Half-close, then drop what the peer still sends (at most `max_bytes`, for at most
    LINGER_SECONDS), so the answer is not lost to a reset."""
    _quietly(connection.shutdown, socket.SHUT_WR)
    deadline = time.monotonic() + LINGER_SECONDS
    dropped = 0
    while dropped < max_bytes:
        left = deadline - time.monotonic()
        if left <= 0:
            return
        try:
            connection.settimeout(left)
            chunk = connection.recv(min(1 << 16, max_bytes - dropped))
        except OSError:
            return
        if not chunk:
            return
        dropped += len(chunk)


def _quietly(call: Callable[..., object], *args: object) -> None:
    try:
        call(*args)
    except OSError:
        pass  # already closed or reset
