"""The `Profile`: a validated layer table with its DAG, as numpy arrays."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType

import numpy as np
import pandas as pd

from .._pickling import reduce_through_init
from .schema import (
    REFERENCE_BITS,
    activation_error_column,
    bit_latency_column,
    weight_error_column,
)
from .validate import profile_fields


def _frozen(array: np.ndarray) -> np.ndarray:
    array = np.array(array)
    array.setflags(write=False)
    return array


@dataclass(frozen=True, eq=False)
class Profile:
    """A model's layer table (SPEC section 2) with its DAG.

    Row 0 is the model input; rows 1..N are the nodes that can run on either side, in a
    topological order. Build one with :func:`moosplit.read_profile` or
    :meth:`Profile.from_frame`, which validate the table; arrays are read-only.

    Example:
        >>> import moosplit
        >>> profile = moosplit.load_profile("portend_resnet20")
        >>> profile.n_nodes, profile.names[1]
        (11, 'conv1')
    """

    names: tuple[str, ...]
    ops: tuple[str, ...]
    inputs: tuple[tuple[int, ...], ...]
    out_elems: np.ndarray
    weight_elems: np.ndarray
    macs: np.ndarray
    edge_ms: np.ndarray
    cloud_ms: np.ndarray
    weight_error: Mapping[int, np.ndarray]
    activation_error: Mapping[int, np.ndarray]
    edge_ms_bits: Mapping[tuple[int, int], np.ndarray] | None = None
    edge_mj: np.ndarray | None = None
    input_bits: int = 8
    metadata: Mapping[str, str] = field(default_factory=dict)
    source: str = "<profile>"

    def __post_init__(self) -> None:
        for name in ("out_elems", "weight_elems", "macs"):
            object.__setattr__(self, name, _frozen(np.asarray(getattr(self, name), np.int64)))
        for name in ("edge_ms", "cloud_ms"):
            object.__setattr__(self, name, _frozen(np.asarray(getattr(self, name), float)))
        if self.edge_mj is not None:
            object.__setattr__(self, "edge_mj", _frozen(np.asarray(self.edge_mj, float)))
        for name in ("weight_error", "activation_error"):
            table = {int(b): _frozen(np.asarray(v, float)) for b, v in getattr(self, name).items()}
            table.setdefault(REFERENCE_BITS, _frozen(np.zeros(len(self.names))))
            object.__setattr__(self, name, MappingProxyType(dict(sorted(table.items()))))
        if self.edge_ms_bits is not None:
            table = {(int(w), int(a)): _frozen(np.asarray(v, float))
                     for (w, a), v in self.edge_ms_bits.items()}
            object.__setattr__(self, "edge_ms_bits", MappingProxyType(dict(sorted(table.items()))))
        object.__setattr__(self, "metadata", MappingProxyType(dict(self.metadata)))

    def __reduce__(self) -> tuple:
        """Pickle through the constructor (its read-only mappings do not pickle as such)."""
        return reduce_through_init(self)

    # ----------------------------------------------------------------- sizes
    @property
    def n_rows(self) -> int:
        """Rows of the table, the input row included (N + 1)."""
        return len(self.names)

    @property
    def n_nodes(self) -> int:
        """N: nodes that can be placed (every row but the input)."""
        return len(self.names) - 1

    @property
    def batch(self) -> int:
        """Samples per inference (metadata `batch`, default 1)."""
        return int(self.metadata.get("batch", 1))

    @property
    def pack_ns_per_element(self) -> float:
        """Edge time to quantise and pack one element of a sent tensor, ns (metadata
        `pack_ns_per_element`, default 0: not modelled)."""
        return float(self.metadata.get("pack_ns_per_element", 0.0))

    @property
    def unpack_ns_per_element(self) -> float:
        """Cloud time to unpack and dequantise one element of a received tensor, ns
        (metadata `unpack_ns_per_element`, default 0: not modelled)."""
        return float(self.metadata.get("unpack_ns_per_element", 0.0))

    @property
    def bit_widths(self) -> tuple[int, ...]:
        """Bit-widths the profile has error columns for, plus the reference 16."""
        return tuple(sorted(self.weight_error))

    @property
    def input_bytes(self) -> float:
        """Bytes of the raw input for the whole batch (what cloud-only sends)."""
        return float(self.out_elems[0]) * self.input_bits * self.batch / 8

    @cached_property
    def index(self) -> Mapping[str, int]:
        """Row index of each node name."""
        return MappingProxyType({name: i for i, name in enumerate(self.names)})

    # ------------------------------------------------------------------ DAG
    @cached_property
    def consumers(self) -> tuple[tuple[int, ...], ...]:
        """For each row, the rows that read its output, ascending."""
        out: list[list[int]] = [[] for _ in self.names]
        for node, preds in enumerate(self.inputs):
            for pred in preds:
                out[pred].append(node)
        return tuple(tuple(c) for c in out)

    @cached_property
    def last_consumer(self) -> tuple[int, ...]:
        """For each row, the last row that reads it (-1 for a sink)."""
        return tuple(max(c) if c else -1 for c in self.consumers)

    @cached_property
    def sinks(self) -> np.ndarray:
        """Boolean mask of the model outputs (rows with no consumer)."""
        return _frozen(np.array([len(c) == 0 for c in self.consumers]))

    @cached_property
    def edges(self) -> tuple[np.ndarray, np.ndarray]:
        """The DAG's edges as (src, dst) index arrays, sorted by src then dst."""
        pairs = sorted((src, dst) for dst, preds in enumerate(self.inputs) for src in preds)
        src = np.array([p[0] for p in pairs], dtype=np.int64)
        dst = np.array([p[1] for p in pairs], dtype=np.int64)
        return _frozen(src), _frozen(dst)

    @cached_property
    def is_chain(self) -> bool:
        """True when every node reads exactly the row before it."""
        return all(preds == (i - 1,) for i, preds in enumerate(self.inputs) if i > 0)

    @cached_property
    def has_weights(self) -> np.ndarray:
        """Boolean mask of rows with parameters (whose weight bit-width matters)."""
        return _frozen(self.weight_elems > 0)

    # ------------------------------------------------------------ conversion
    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        metadata: Mapping[str, str] | None = None,
        *,
        source: str = "<frame>",
    ) -> Profile:
        """Validate a layer table (one row per node, SPEC columns) and build a Profile.

        Cells may be strings (as read from CSV) or numbers. Raises
        :class:`moosplit.errors.ProfileError` naming the source, row and column of the
        first problem found.
        """
        return cls(**profile_fields(frame, dict(metadata or {}), source=source))

    def to_frame(self) -> pd.DataFrame:
        """The layer table as a DataFrame with the SPEC's column names."""
        data: dict[str, object] = {
            "name": list(self.names),
            "op": list(self.ops),
            "inputs": [" ".join(self.names[p] for p in preds) for preds in self.inputs],
            "out_elems": self.out_elems,
            "weight_elems": self.weight_elems,
            "macs": self.macs,
            "edge_ms": self.edge_ms,
            "cloud_ms": self.cloud_ms,
        }
        for bits in self.bit_widths:
            werr, aerr = self.weight_error[bits], self.activation_error[bits]
            if bits == REFERENCE_BITS and not (werr.any() or aerr.any()):
                continue
            data[weight_error_column(bits)] = werr
            data[activation_error_column(bits)] = aerr
        for (bw, ba), values in (self.edge_ms_bits or {}).items():
            data[bit_latency_column(bw, ba)] = values
        if self.edge_mj is not None:
            data["edge_mj"] = self.edge_mj
        out_bits = [""] * self.n_rows
        out_bits[0] = str(self.input_bits)
        data["out_bits"] = out_bits
        return pd.DataFrame(data)

    def __repr__(self) -> str:
        model = self.metadata.get("model", "?")
        return (f"Profile(model={model!r}, nodes={self.n_nodes}, bits={self.bit_widths}, "
                f"batch={self.batch}, source={self.source!r})")
