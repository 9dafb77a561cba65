"""Reading and writing profile CSV files with their `# key: value` metadata lines."""

from __future__ import annotations

import io
import os
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from ..errors import ProfileError
from .profile import Profile
from .validate import profile_from_frame


def split_metadata(text: str, source: str) -> tuple[dict[str, str], str, int]:
    """Split leading `# key: value` lines from a CSV text.

    Returns (metadata, the rest of the text, number of metadata lines).
    """
    metadata: dict[str, str] = {}
    lines = text.splitlines(keepends=True)
    count = 0
    for line in lines:
        stripped = line.strip()
        if not stripped.startswith("#"):
            break
        count += 1
        body = stripped[1:].strip()
        if not body:
            continue
        key, sep, value = body.partition(":")
        key = key.strip()
        if not sep or not key or " " in key:
            raise ProfileError(
                f"{source}: line {count}: metadata lines must read '# key: value', got "
                f"{stripped!r}")
        if key in metadata:
            raise ProfileError(f"{source}: line {count}: metadata key {key!r} given twice")
        metadata[key] = value.strip()
    return metadata, "".join(lines[count:]), count


def read_profile(path: str | os.PathLike) -> Profile:
    """Read and validate a profile CSV (SPEC section 2).

    Raises FileNotFoundError for a missing file and
    :class:`moosplit.errors.ProfileError`, naming file, row and column, for bad content.
    """
    source = str(path)
    text = Path(path).read_text(encoding="utf-8")
    metadata, body, n_meta = split_metadata(text, source)
    if not body.strip():
        raise ProfileError(f"{source}: no header line and no rows")
    try:
        frame = pd.read_csv(io.StringIO(body), dtype=str, keep_default_na=False,
                            skipinitialspace=True)
    except pd.errors.ParserError as exc:
        raise ProfileError(f"{source}: not a valid CSV table: {exc}") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    # data row 0 sits after the metadata lines and the header line
    return profile_from_frame(frame, metadata, source=source, first_line=n_meta + 2)


def format_metadata(metadata: Mapping[str, str]) -> str:
    """Metadata as leading `# key: value` lines."""
    out = []
    for key, value in metadata.items():
        text = str(value).replace("\n", " ")
        out.append(f"# {key}: {text}\n")
    return "".join(out)


def write_profile(profile: Profile, path: str | os.PathLike) -> None:
    """Write a profile as CSV with its metadata lines; `read_profile` reads it back equal."""
    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write(format_metadata(profile.metadata))
        profile.to_frame().to_csv(handle, index=False)
