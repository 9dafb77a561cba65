"""Turn a raw layer table into a validated :class:`Profile`, or say exactly what is wrong."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ProfileError, shown
from .cells import MAX_NUMBER, is_blank, name_problem, number, text_cell, whole_number
from .schema import (
    BIT_COLUMN_LIKE_RE,
    COLUMNS_BY_NAME,
    DEFAULT_INPUT_BITS,
    MAX_BATCH,
    MAX_BITS,
    MAX_INPUT_BITS,
    MAX_PACK_NS,
    READ_METADATA,
    REFERENCE_BITS,
    REQUIRED_COLUMNS,
    activation_error_column,
    bit_latency_column,
    classify_column,
    weight_error_column,
)

# Columns whose input-row cell may be left empty (they do not apply to the raw input).
_INPUT_ROW_ZERO = ("weight_elems", "macs", "edge_ms", "cloud_ms", "edge_mj")


@dataclass(frozen=True)
class _Where:
    """Formats error locations: the source, its data row and the line in the file."""

    source: str
    names: list[str]
    row_lines: list[int] | None

    def row(self, row: int, column: str | None = None) -> str:
        name = self.names[row] if 0 <= row < len(self.names) else ""
        line = f" line {self.row_lines[row]}," if self.row_lines is not None else ""
        where = f"{self.source}:{line} row {row}"
        if name:
            where += f" ({name!r})"
        if column is not None:
            where += f", column {column!r}"
        return where


def _numeric_column(frame: pd.DataFrame, column: str, kind: str, where: _Where) -> np.ndarray:
    """A numeric column; blank cells are allowed only on the input row (read as 0). A
    whole-number column's total must stay within MAX_NUMBER too (sums of it stay exact)."""
    values = np.zeros(len(frame))
    for row, cell in enumerate(frame[column]):
        if is_blank(cell):
            if row == 0 and column != "out_elems":
                continue
            raise ProfileError(f"{where.row(row, column)}: missing value")
        values[row] = number(cell, where.row(row, column), whole=kind == "int")
    if column in _INPUT_ROW_ZERO or column.startswith(("werr_", "aerr_", "edge_ms_w")):
        if values[0] != 0:
            raise ProfileError(
                f"{where.row(0, column)}: the input row does not run anywhere, so this must "
                f"be 0 or empty, got {shown(frame[column].iloc[0])}"
            )
    if kind != "int":
        return values
    over = np.flatnonzero(np.cumsum(values) > MAX_NUMBER)
    if over.size:
        raise ProfileError(f"{where.row(int(over[0]), column)}: the column's total passes "
                           f"2^53 ({MAX_NUMBER:,}) here; whole-number columns must sum to "
                           "at most that")
    return values.astype(np.int64)


def _check_columns(frame: pd.DataFrame, source: str) -> dict[str, list]:
    """Check column names; return the bit-widths of each column family."""
    families: dict[str, list] = {"werr": [], "aerr": [], "edge_ms_bits": []}
    seen: set[str] = set()
    for column in frame.columns:
        if not isinstance(column, str):
            raise ProfileError(f"{source}: column names must be strings, got {column!r}")
        if column in seen:
            raise ProfileError(f"{source}: column {column!r} appears twice")
        seen.add(column)
        kind = classify_column(column)
        if kind is None and BIT_COLUMN_LIKE_RE.match(column):
            raise ProfileError(
                f"{source}: column {column!r}: bit-widths in column names are written in "
                "ASCII digits without leading zeros (werr_b8, aerr_b8, edge_ms_w4a8)")
        if kind is None:
            known = ", ".join(COLUMNS_BY_NAME)
            raise ProfileError(
                f"{source}: unknown column {column!r}; known columns are {known}, "
                "werr_b{b}, aerr_b{b} and edge_ms_w{bw}a{ba}"
            )
        family, bits = kind
        if family == "fixed":
            continue
        for b in bits:
            if not 1 <= b <= MAX_BITS:
                raise ProfileError(
                    f"{source}: column {column!r}: bit-widths must be 1..{MAX_BITS}, got {b}")
        families[family].append(bits[0] if len(bits) == 1 else bits)
    missing = [c for c in REQUIRED_COLUMNS if c not in seen]
    if missing:
        raise ProfileError(f"{source}: missing required column(s) {', '.join(missing)}")
    werr, aerr = set(families["werr"]), set(families["aerr"])
    if werr != aerr:
        b = sorted(werr ^ aerr)[0]
        have, lack = ((weight_error_column(b), activation_error_column(b)) if b in werr
                      else (activation_error_column(b), weight_error_column(b)))
        raise ProfileError(
            f"{source}: error columns come in pairs: column {have!r} has no partner "
            f"{lack!r}")
    return families


def _read_dag(frame: pd.DataFrame, where: _Where) -> tuple[list[str], list[tuple[int, ...]]]:
    names = [text_cell(n) for n in frame["name"]]
    index: dict[str, int] = {}
    for row, name in enumerate(names):
        if not name:
            raise ProfileError(f"{where.row(row, 'name')}: missing value")
        problem = name_problem(name)
        if problem:
            raise ProfileError(f"{where.row(row, 'name')}: names {problem}")
        if name in index:
            raise ProfileError(
                f"{where.row(row, 'name')}: duplicate name {name!r} (first at row {index[name]})")
        index[name] = row
    ops = [text_cell(op) for op in frame["op"]]
    for row, op in enumerate(ops):
        problem = name_problem(op) if op else None
        if problem:
            raise ProfileError(f"{where.row(row, 'op')}: operator kinds {problem}")
    inputs: list[tuple[int, ...]] = []
    for row, cell in enumerate(frame["inputs"]):
        tokens = [] if is_blank(cell) else str(cell).split()
        if row == 0:
            if ops[0] != "input" or tokens:
                raise ProfileError(
                    f"{where.row(0)}: row 0 must be the model input (op 'input', no inputs), "
                    f"got op {ops[0]!r} with inputs {' '.join(tokens)!r}")
            inputs.append(())
            continue
        if ops[row] == "":
            raise ProfileError(f"{where.row(row, 'op')}: missing value")
        if ops[row] == "input" or not tokens:
            raise ProfileError(
                f"{where.row(row, 'inputs')}: only row 0 may be an input without inputs "
                "(models with several inputs are not supported)")
        preds = []
        for token in tokens:
            if token not in index:
                raise ProfileError(f"{where.row(row, 'inputs')}: unknown input name {token!r}")
            preds.append(index[token])
        inputs.append(tuple(sorted(set(preds))))
    _check_order(names, inputs, where)
    return ops, inputs


def _check_order(names: list[str], inputs: list[tuple[int, ...]], where: _Where) -> None:
    """Reject cycles (naming one) and orders that are not topological."""
    later = [(row, p) for row, preds in enumerate(inputs) for p in preds if p >= row]
    if not later:
        return
    # is there a cycle at all? Kahn's algorithm on the whole graph
    indegree = [len(p) for p in inputs]
    consumers: list[list[int]] = [[] for _ in names]
    for row, preds in enumerate(inputs):
        for p in preds:
            consumers[p].append(row)
    ready = [r for r, d in enumerate(indegree) if d == 0]
    done = 0
    while ready:
        node = ready.pop()
        done += 1
        for c in consumers[node]:
            indegree[c] -= 1
            if indegree[c] == 0:
                ready.append(c)
    if done < len(names):
        cycle = _find_cycle([r for r, d in enumerate(indegree) if d > 0], inputs)
        path = " -> ".join(names[r] for r in cycle)
        # the row that closes the cycle: the one whose inputs reach forward (or itself)
        closing = min(r for r in cycle if any(p >= r and p in cycle for p in inputs[r]))
        raise ProfileError(f"{where.row(closing, 'inputs')}: the graph has a cycle: {path}")
    row, pred = later[0]
    raise ProfileError(
        f"{where.row(row, 'inputs')}: rows are not in topological order: reads "
        f"{names[pred]!r}, which comes later at row {pred}")


def _find_cycle(remaining: list[int], inputs: list[tuple[int, ...]]) -> list[int]:
    alive = set(remaining)
    node = remaining[0]
    path: list[int] = []
    seen: dict[int, int] = {}
    while node not in seen:
        seen[node] = len(path)
        path.append(node)
        node = next(p for p in inputs[node] if p in alive)
    cycle = path[seen[node]:] + [node]
    return cycle[::-1]


def _check_bit_latency(
    frame: pd.DataFrame, pairs: list, bit_widths: list[int], weight_elems: np.ndarray,
    where: _Where,
) -> dict[tuple[int, int], np.ndarray] | None:
    if not pairs:
        return None
    expected = {(w, a) for w in bit_widths for a in bit_widths} - {(REFERENCE_BITS,) * 2}
    given = set(pairs)
    extra = sorted(given - expected)
    if (REFERENCE_BITS, REFERENCE_BITS) in given:
        raise ProfileError(f"{where.source}: column "
                           f"{bit_latency_column(REFERENCE_BITS, REFERENCE_BITS)!r} duplicates "
                           "edge_ms; leave it out")
    if extra:
        raise ProfileError(
            f"{where.source}: column {bit_latency_column(*extra[0])!r} is for a bit-width "
            f"without error columns (the profile's bit-widths are {bit_widths})")
    missing = sorted(expected - given)
    if missing:
        names = ", ".join(bit_latency_column(*m) for m in missing[:4])
        raise ProfileError(
            f"{where.source}: edge_ms_w{{bw}}a{{ba}} columns must cover every pair of the "
            f"profile's bit-widths {bit_widths} (w16a16 is edge_ms); missing {names}"
            + (" ..." if len(missing) > 4 else ""))
    table = {p: _numeric_column(frame, bit_latency_column(*p), "float", where) for p in pairs}
    table_full = dict(table)
    table_full[(REFERENCE_BITS, REFERENCE_BITS)] = _numeric_column(frame, "edge_ms", "float",
                                                                   where)
    def column(bw: int, ba: int) -> str:
        return "edge_ms" if bw == ba == REFERENCE_BITS else bit_latency_column(bw, ba)

    weightless = np.flatnonzero(weight_elems == 0)
    for ba in bit_widths:
        reference = table_full[(bit_widths[0], ba)]
        for bw in bit_widths[1:]:
            values = table_full[(bw, ba)]
            differ = weightless[~np.isclose(values[weightless], reference[weightless],
                                            rtol=1e-9, atol=1e-12)]
            if differ.size:
                row = int(differ[0])
                raise ProfileError(
                    f"{where.row(row, column(bw, ba))}: the node has no weights, so its "
                    f"latency must not depend on the weight bit-width, but it differs from "
                    f"{column(bit_widths[0], ba)!r}")
    return table


_LOOSE = re.compile(r"[^a-z0-9]")


def _loose(key: str) -> str:
    """A key as a careless writer may spell it: lower case, without separators."""
    return _LOOSE.sub("", key.lower())


_RESERVED = {_loose(k): k for k in (*READ_METADATA, *COLUMNS_BY_NAME)}


def check_metadata(key: object, value: object) -> None:
    """Refuse, without a location, a metadata entry that would not read back or that
    looks like a setting moosplit would then ignore.

    Keys are single words, matched exactly: `batch` is read; a key that differs from
    `batch` or a column name only by case or separators (`Batch`, `out-bits`) is a typo.
    A key naming a column is a note on how that column was obtained, so a bare number
    there (`# out_bits: 4`) is a setting in the wrong place. Values are one line of
    printable text.
    """
    if not isinstance(key, str) or not key or any(ch.isspace() for ch in key) or ":" in key:
        raise ProfileError(f"metadata key {key!r} must be one word (no spaces or ':')")
    if not key.isprintable():
        raise ProfileError(f"metadata key {key!r} cannot contain control characters")
    meant = _RESERVED.get(_loose(key))
    if meant is not None and meant != key:
        raise ProfileError(f"metadata key {key!r}: keys are matched exactly; did you mean "
                           f"{meant!r}?")
    text = str(value)
    if any(not ch.isprintable() and ch != "\t" for ch in text):
        raise ProfileError(f"metadata {key!r}: values are one line of printable text, got "
                           f"{text!r}")
    if key in COLUMNS_BY_NAME:
        try:
            number(text, "")
        except ProfileError:
            return  # a note, as it should be
        raise ProfileError(
            f"metadata {key!r}: {text!r} is a value, but {key!r} is a column of the table; "
            f"metadata under a column's name says how the column was obtained"
            + (" (set out_bits on the input row)" if key == "out_bits" else ""))


def profile_fields(
    frame: pd.DataFrame,
    metadata: dict[str, str],
    *,
    source: str = "<frame>",
    row_lines: list[int] | None = None,
) -> dict[str, Any]:
    """Validate a raw layer table: the keyword arguments of a valid Profile, or a
    ProfileError naming the source, row and column (see :meth:`Profile.from_frame`).

    `row_lines` gives the file line of each data row, used in messages.
    """
    for key, value in metadata.items():
        try:
            check_metadata(key, value)
        except ProfileError as exc:
            raise ProfileError(f"{source}: {exc}") from None
    families = _check_columns(frame, source)
    if len(frame) == 0:
        raise ProfileError(f"{source}: the table has no rows; row 0 must be the model input")
    names_for_messages = [str(n) for n in frame["name"]]
    where = _Where(source, names_for_messages, row_lines)
    ops, inputs = _read_dag(frame, where)

    ints = {c: _numeric_column(frame, c, "int", where)
            for c in ("out_elems", "weight_elems", "macs")}
    floats = {c: _numeric_column(frame, c, "float", where) for c in ("edge_ms", "cloud_ms")}
    bit_widths = sorted(set(families["werr"]) | {REFERENCE_BITS})
    weight_error = {b: _numeric_column(frame, weight_error_column(b), "float", where)
                    for b in families["werr"]}
    activation_error = {b: _numeric_column(frame, activation_error_column(b), "float", where)
                        for b in families["aerr"]}
    for bits, values in weight_error.items():
        bad = np.flatnonzero((ints["weight_elems"] == 0) & (values != 0))
        if bad.size:
            raise ProfileError(
                f"{where.row(int(bad[0]), weight_error_column(bits))}: the node has no weights "
                f"(weight_elems = 0), so its weight error must be 0, got {values[bad[0]]}")
    edge_ms_bits = _check_bit_latency(frame, families["edge_ms_bits"], bit_widths,
                                      ints["weight_elems"], where)
    edge_mj = (_numeric_column(frame, "edge_mj", "float", where)
               if "edge_mj" in frame.columns else None)
    input_bits = DEFAULT_INPUT_BITS
    if "out_bits" in frame.columns:
        for row, cell in enumerate(frame["out_bits"]):
            if row > 0 and not is_blank(cell):
                raise ProfileError(f"{where.row(row, 'out_bits')}: out_bits is read on the "
                                   f"input row only; leave it empty here, got {cell!r}")
        if not is_blank(frame["out_bits"].iloc[0]):
            input_bits = int(number(frame["out_bits"].iloc[0], where.row(0, "out_bits"),
                                    whole=True, at_least=1, at_most=MAX_INPUT_BITS))
    if "batch" in metadata:
        whole_number(metadata["batch"], f"{source}: metadata 'batch'", at_least=1,
                     at_most=MAX_BATCH)
    for key in ("pack_ns_per_element", "unpack_ns_per_element"):
        if key in metadata:
            number(metadata[key], f"{source}: metadata {key!r}", at_most=MAX_PACK_NS)
    names = [text_cell(n) for n in frame["name"]]
    return dict(
        names=tuple(names), ops=tuple(ops), inputs=tuple(inputs),
        out_elems=ints["out_elems"], weight_elems=ints["weight_elems"], macs=ints["macs"],
        edge_ms=floats["edge_ms"], cloud_ms=floats["cloud_ms"],
        weight_error=weight_error, activation_error=activation_error,
        edge_ms_bits=edge_ms_bits, edge_mj=edge_mj, input_bits=input_bits,
        metadata=metadata, source=source,
    )
