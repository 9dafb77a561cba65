"""The profile schema of SPEC section 2, declared in one place."""

from __future__ import annotations

import re
from dataclasses import dataclass

REFERENCE_BITS = 16
"""Reference precision: nodes off the edge, and the `edge_ms` column, are at 16 bits."""

DEFAULT_INPUT_BITS = 8
"""Bits per raw input element when the input row gives no `out_bits`."""


@dataclass(frozen=True)
class Column:
    """One fixed column of the layer table."""

    name: str
    kind: str  # "str", "names", "int" or "float"
    required: bool
    meaning: str


COLUMNS: tuple[Column, ...] = (
    Column("name", "str", True, "unique node name"),
    Column("op", "str", True, "operator kind (input, conv, linear, add, ...)"),
    Column("inputs", "names", True, "space-separated names of the nodes this node reads"),
    Column("out_elems", "int", True, "elements of the output tensor, per sample"),
    Column("weight_elems", "int", True, "parameter elements (0 for weightless ops)"),
    Column("macs", "int", True, "multiply-accumulates"),
    Column("edge_ms", "float", True, "edge latency at reference precision (whole batch)"),
    Column("cloud_ms", "float", True, "cloud latency at reference precision (whole batch)"),
    Column("edge_mj", "float", False, "edge energy of the node (mJ)"),
    Column("out_bits", "int", False, "bits per raw input element (input row only; default 8)"),
)
COLUMNS_BY_NAME = {c.name: c for c in COLUMNS}
REQUIRED_COLUMNS = tuple(c.name for c in COLUMNS if c.required)

# bit-widths in column names: ASCII digits without leading zeros (`werr_b8`, not `werr_b08`,
# which would name the same bit-width twice)
_BITS = r"([1-9][0-9]*)"
WEIGHT_ERROR_RE = re.compile(rf"^werr_b{_BITS}$")
ACTIVATION_ERROR_RE = re.compile(rf"^aerr_b{_BITS}$")
BIT_LATENCY_RE = re.compile(rf"^edge_ms_w{_BITS}a{_BITS}$")
BIT_COLUMN_LIKE_RE = re.compile(r"^(?:werr_b|aerr_b|edge_ms_w).")
"""Names that start like a bit-width column: one that is not one is a mistyped bit-width."""

MAX_BITS = 32
"""The largest bit-width a column may name."""

MAX_INPUT_BITS = 64
"""The largest `out_bits` (a float64 raw input)."""

READ_METADATA = ("batch", "pack_ns_per_element", "unpack_ns_per_element")
"""Metadata keys moosplit reads (matched exactly); every other key is a free-form note."""

MAX_PACK_NS = 1e6
"""The largest per-element packing or unpacking time (ns) a profile may state."""

MAX_BATCH = 10**6
"""The largest `batch` metadata value."""


def weight_error_column(bits: int) -> str:
    """Name of the weight-error column at `bits`."""
    return f"werr_b{bits}"


def activation_error_column(bits: int) -> str:
    """Name of the activation-error column at `bits`."""
    return f"aerr_b{bits}"


def bit_latency_column(bits_w: int, bits_a: int) -> str:
    """Name of the edge-latency column at weight/activation bit-widths."""
    return f"edge_ms_w{bits_w}a{bits_a}"


def classify_column(name: str) -> tuple[str, tuple[int, ...]] | None:
    """Return (family, bit-widths) for a known column name, or None if unknown.

    Families: "fixed", "werr", "aerr", "edge_ms_bits".
    """
    if name in COLUMNS_BY_NAME:
        return "fixed", ()
    for family, pattern in (
        ("werr", WEIGHT_ERROR_RE),
        ("aerr", ACTIVATION_ERROR_RE),
        ("edge_ms_bits", BIT_LATENCY_RE),
    ):
        match = pattern.fullmatch(name)
        if match:
            return family, tuple(int(g) for g in match.groups())
    return None
