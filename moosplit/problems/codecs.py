"""Feature codecs (SPEC section 5): what encoding does to each transmitted tensor."""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import ProfileError
from ..profiles.cells import name_problem, number, text_cell
from ..profiles.csv_io import read_table, read_text_file
from ..profiles.profile import Profile

CODEC_COLUMNS = ("codec", "node", "ratio", "err", "encode_ms")
NO_CODEC = "none"


@dataclass(frozen=True, eq=False)
class CodecTable:
    """Per codec and profile row: compression ratio, added error and encode time.

    Codec 0 is always `none` (ratio 1, no error, 0 ms, every row). A codec applies to a
    row only where the table lists it (`available`); a plan whose cut tensors include a
    row its codec does not list is infeasible: the table says nothing of that case, so
    moosplit does not guess.
    """

    names: tuple[str, ...]
    nodes: tuple[str, ...]  # the profile's row names, which the columns follow
    ratio: np.ndarray      # (codecs, rows)
    err: np.ndarray        # (codecs, rows)
    encode_ms: np.ndarray  # (codecs, rows)
    available: np.ndarray  # (codecs, rows) bool

    @classmethod
    def none(cls, profile: Profile) -> CodecTable:
        """The table with only the `none` codec."""
        n_rows = profile.n_rows
        return cls((NO_CODEC,), profile.names, np.ones((1, n_rows)), np.zeros((1, n_rows)),
                   np.zeros((1, n_rows)), np.ones((1, n_rows), bool))

    def __len__(self) -> int:
        return len(self.names)

    @property
    def best_ratio(self) -> np.ndarray:
        """Per row, the largest ratio among the codecs available to it (at least `none`'s
        1): what bounds the bits a tensor of that row can be sent in."""
        return np.where(self.available, self.ratio, 0.0).max(axis=0)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, profile: Profile, *, source: str = "<codecs>",
                   row_lines: list[int] | None = None) -> CodecTable:
        """Validate a codec table against the profile whose rows it names.

        `row_lines` gives the file line of each row, for messages (by default row i is on
        line i + 2, after the header).
        """
        columns = [text_cell(c) for c in frame.columns]
        missing = [c for c in CODEC_COLUMNS if c not in columns]
        extra = [c for c in columns if c not in CODEC_COLUMNS]
        if missing or extra or len(set(columns)) != len(columns):
            raise ProfileError(
                f"{source}: codec tables have the columns {', '.join(CODEC_COLUMNS)}, once "
                "each; " + (f"missing {', '.join(missing)}" if missing else
                            f"unknown {', '.join(extra)}" if extra else "one is repeated"))
        frame = frame.set_axis(columns, axis=1)
        lines = row_lines if row_lines is not None else [row + 2 for row in range(len(frame))]
        names = [NO_CODEC]
        for row, codec in enumerate(frame["codec"]):
            codec = text_cell(codec)
            problem = name_problem(codec)
            if problem:
                raise ProfileError(f"{source}: line {lines[row]}, column 'codec': codec names "
                                   f"{problem}")
            if codec not in names:
                names.append(codec)
        shape = (len(names), profile.n_rows)
        ratio, err, encode = np.ones(shape), np.zeros(shape), np.zeros(shape)
        available = np.zeros(shape, bool)
        available[0] = True
        for row, record in enumerate(frame.itertuples(index=False)):
            where = f"{source}: line {lines[row]}"
            codec, node = text_cell(record.codec), text_cell(record.node)
            if codec == NO_CODEC:
                raise ProfileError(f"{where}, column 'codec': codec 'none' is built in and "
                                   "cannot be redefined")
            if node not in profile.index:
                raise ProfileError(f"{where}, column 'node': unknown node {node!r} "
                                   f"(not in profile {profile.source})")
            c, t = names.index(codec), profile.index[node]
            if available[c, t]:
                raise ProfileError(f"{where}: codec {codec!r} lists node {node!r} twice")
            values = {column: number(getattr(record, column), f"{where}, column {column!r}")
                      for column in ("ratio", "err", "encode_ms")}
            if values["ratio"] <= 0:
                raise ProfileError(f"{where}, column 'ratio': must be > 0, got "
                                   f"{record.ratio!r}")
            ratio[c, t], err[c, t], encode[c, t] = (values["ratio"], values["err"],
                                                    values["encode_ms"])
            available[c, t] = True
        return cls(tuple(names), profile.names, ratio, err, encode, available)


def read_codecs(path: str | os.PathLike, profile: Profile) -> CodecTable:
    """Read a codec CSV (`codec, node, ratio, err, encode_ms`) for `profile`.

    Raises OSError for a file that cannot be read and ProfileError, naming the file, line
    and column, for bad content (every row must have the header's five fields).
    """
    source = str(path)
    frame, lines = read_table(read_text_file(path), source)
    return CodecTable.from_frame(frame, profile, source=source, row_lines=lines)
