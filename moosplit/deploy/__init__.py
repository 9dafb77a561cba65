"""Deployment: from a plan to a running split (SPEC section 8).

`packing` packs b-bit activation codes densely for sending (and quantises tensors to
them); `frames` encodes and decodes the length-prefixed frames cut tensors travel in.
This package sits after `results` in the import order and imports nothing from
`solvers`, `workflows` or `cli`.
"""

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

__all__ = [
    "Frame", "FrameError", "FrameErrorCode", "FrameKind", "TensorEntry", "decode_frame",
    "encode_frame", "read_frame", "Quantised", "dequantise", "pack", "payload_length",
    "quantise", "unpack",
]
