"""Deployment: from a plan to a running split (SPEC section 8).

`packing` packs b-bit activation codes densely for sending (and quantises tensors to
them); `frames` encodes and decodes the length-prefixed frames cut tensors travel in;
`cloud` runs the cloud half of an exported plan on them, `server` serves it over TCP
(`moosplit serve`) and `client` sends frames to it, optionally paced to a link.
This package sits after `results` in the import order and imports nothing from
`solvers`, `workflows` or `cli`.
"""

from .client import Connection, PacedSender, request
from .cloud import CloudHalf
from .frames import (
    Frame,
    FrameError,
    FrameErrorCode,
    FrameKind,
    TensorEntry,
    decode_frame,
    encode_frame,
    read_frame,
)
from .packing import Quantised, dequantise, pack, payload_length, quantise, unpack
from .server import CloudServer, serve

__all__ = [
    "Frame", "FrameError", "FrameErrorCode", "FrameKind", "TensorEntry", "decode_frame",
    "encode_frame", "read_frame", "Quantised", "dequantise", "pack", "payload_length",
    "quantise", "unpack", "CloudHalf", "CloudServer", "serve", "Connection", "PacedSender",
    "request",
]
