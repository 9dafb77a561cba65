"""Feature codecs (SPEC section 5): what encoding does to each transmitted tensor."""

from __future__ import annotations

import io
import os
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import ProfileError
from ..profiles.csv_io import read_text_file
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

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, profile: Profile, *,
                   source: str = "<codecs>") -> CodecTable:
        """Validate a codec table against the profile whose rows it names."""
        missing = [c for c in CODEC_COLUMNS if c not in frame.columns]
        extra = [c for c in frame.columns if c not in CODEC_COLUMNS]
        if missing or extra:
            raise ProfileError(
                f"{source}: codec tables have columns {', '.join(CODEC_COLUMNS)}; "
                + (f"missing {', '.join(missing)}" if missing else f"unknown {', '.join(extra)}"))
        names = [NO_CODEC]
        for codec in frame["codec"]:
            codec = str(codec).strip()
            if codec not in names:
                names.append(codec)
        shape = (len(names), profile.n_rows)
        ratio, err, encode = np.ones(shape), np.zeros(shape), np.zeros(shape)
        available = np.zeros(shape, bool)
        available[0] = True
        for row, record in enumerate(frame.itertuples(index=False)):
            where = f"{source}: line {row + 2}"
            codec, node = str(record.codec).strip(), str(record.node).strip()
            if codec == NO_CODEC:
                raise ProfileError(f"{where}: codec 'none' is built in and cannot be redefined")
            if node not in profile.index:
                raise ProfileError(f"{where}, column 'node': unknown node {node!r} "
                                   f"(not in profile {profile.source})")
            c, t = names.index(codec), profile.index[node]
            if available[c, t]:
                raise ProfileError(f"{where}: codec {codec!r} lists node {node!r} twice")
            values = {}
            for column in ("ratio", "err", "encode_ms"):
                try:
                    values[column] = float(getattr(record, column))
                except (TypeError, ValueError):
                    raise ProfileError(f"{where}, column {column!r}: must be a number, got "
                                       f"{getattr(record, column)!r}") from None
                if not np.isfinite(values[column]) or values[column] < 0:
                    raise ProfileError(f"{where}, column {column!r}: must be finite and >= 0, "
                                       f"got {values[column]}")
            if values["ratio"] <= 0:
                raise ProfileError(f"{where}, column 'ratio': must be > 0, got "
                                   f"{values['ratio']}")
            ratio[c, t], err[c, t], encode[c, t] = (values["ratio"], values["err"],
                                                    values["encode_ms"])
            available[c, t] = True
        return cls(tuple(names), profile.names, ratio, err, encode, available)


def read_codecs(path: str | os.PathLike, profile: Profile) -> CodecTable:
    """Read a codec CSV (`codec, node, ratio, err, encode_ms`) for `profile`."""
    text = read_text_file(path)
    frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False,
                        skipinitialspace=True)
    frame.columns = [str(c).strip() for c in frame.columns]
    return CodecTable.from_frame(frame, profile, source=str(path))
