"""Deployment: from a plan to a running split (SPEC section 8).

`packing` packs b-bit activation codes densely for sending (and quantises tensors to
them). This package sits after `results` in the import order and imports nothing from
`solvers`, `workflows` or `cli`.
"""

from .packing import Quantised, dequantise, pack, payload_length, quantise, unpack

__all__ = ["Quantised", "dequantise", "pack", "payload_length", "quantise", "unpack"]
