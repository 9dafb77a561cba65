"""Deployment: from a plan to a running split (SPEC section 8).

`export` writes a plan as `edge.onnx`, `cloud.onnx` and `plan.json` (`manifest`), cutting
ONNX models with onnx's Extractor and torch models along their fx graph (`torch_split`),
with static activation quantisers (`activations`); `packing` packs b-bit activation codes
densely for sending (and quantises tensors to them); `frames` encodes and decodes the
length-prefixed frames cut tensors travel in; `cloud` runs the cloud half of an exported
plan on them, `server` serves it over TCP (`moosplit serve`) and `client` sends frames to
it, optionally paced to a link; `validate` checks an exported plan against its model and
runs it end to end over loopback beside its predicted latency (`moosplit validate`).
This package sits after `results` in the import order and imports nothing from
`solvers`, `workflows` or `cli`.
"""

from .client import Connection, PacedSender, request
from .cloud import CloudHalf
from .export import export_plan
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
from .manifest import CloudSpec, CutTensor, EdgeSpec, InputSpec, Manifest, PlanSpec, TensorSpec
from .packing import Quantised, dequantise, pack, payload_length, quantise, unpack
from .server import CloudServer, serve
from .validate import ValidationReport, validate

__all__ = [
    "export_plan", "Manifest", "CutTensor", "PlanSpec", "InputSpec", "EdgeSpec", "CloudSpec",
    "TensorSpec",
    "Frame", "FrameError", "FrameErrorCode", "FrameKind", "TensorEntry", "decode_frame",
    "encode_frame", "read_frame", "Quantised", "dequantise", "pack", "payload_length",
    "quantise", "unpack", "CloudHalf", "CloudServer", "serve", "Connection", "PacedSender",
    "request", "validate", "ValidationReport",
]
