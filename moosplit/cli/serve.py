"""`moosplit serve`: the cloud half of an exported plan behind a TCP server."""

from __future__ import annotations

import argparse
import logging
import sys

from .options import flags_for

COMMAND = "serve"
"""The command this module implements."""

FLAGS = {"host": "--host", "port": "--port", "max_frame_bytes": "--max-frame-bytes",
         "idle_timeout": "--idle-timeout", "max_requests": "--max-requests",
         "duration": "--duration", "max_connections": "--max-connections"}


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the `serve` command."""
    parser = sub.add_parser(
        COMMAND, help="serve the cloud half of an exported plan over TCP",
        description="Run cloud.onnx of a plan directory (written by `moosplit export`) "
        "behind a TCP server: it reads tensors frames (SPEC section 8), answers each with "
        "a result frame or an error frame, and logs one line per request on standard "
        "error. The first line on standard output is 'listening on HOST:PORT'.")
    parser.add_argument("directory", metavar="DIR", help="plan directory (plan.json, "
                        "cloud.onnx)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1, this machine only)")
    parser.add_argument("--port", type=int, default=0,
                        help="port to listen on (default 0: any free port, printed)")
    parser.add_argument("--max-frame-bytes", type=int, default=None,
                        help="largest frame taken, in bytes (default: 4 times the plan's "
                        "frame, at least 64 KiB)")
    parser.add_argument("--idle-timeout", type=float, default=30.0,
                        help="seconds a connection has to send each frame (default 30)")
    parser.add_argument("--max-connections", type=int, default=64,
                        help="connections served at once (default 64); more are refused")
    parser.add_argument("--max-requests", type=int, default=None,
                        help="stop after answering this many requests")
    parser.add_argument("--duration", type=float, default=None,
                        help="stop after this many seconds")
    parser.add_argument("--quiet", "-q", action="store_true",
                        help="do not log each request")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Execute `moosplit serve`; returns when a bound is reached (Ctrl-C: 130)."""
    from ..deploy.server import LOG, serve

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    LOG.addHandler(handler)
    LOG.setLevel(logging.WARNING if args.quiet else logging.INFO)

    def ready(server) -> None:
        host, port = server.address
        print(f"listening on {host}:{port}", flush=True)

    try:
        with flags_for(**FLAGS):
            answered = serve(args.directory, host=args.host, port=args.port,
                             max_frame_bytes=args.max_frame_bytes,
                             idle_timeout=args.idle_timeout,
                             max_connections=args.max_connections,
                             max_requests=args.max_requests,
                             duration=args.duration, ready=ready)
    finally:
        LOG.removeHandler(handler)
    print(f"stopped after {answered} requests", flush=True)
    return 0
