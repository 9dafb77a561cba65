"""Reading and writing profile CSV files with their `# key: value` metadata lines."""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from ..errors import ProfileError
from .profile import Profile
from .validate import check_metadata, profile_fields

_SPACE = " \t\r\n"
"""What is stripped around cells and metadata: ASCII blanks only, so that an invisible
Unicode character (a no-break space, a line separator) is refused, not silently dropped."""


def read_text_file(path: str | os.PathLike, error: type[Exception] = ProfileError) -> str:
    """A file's text, without a UTF-8 byte-order mark; a file that is not UTF-8 text is
    `error`, not a traceback. A file that cannot be opened raises OSError (its name and
    reason), which the command line reports on one line."""
    try:
        return Path(path).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise error(f"{path}: not UTF-8 text (byte {exc.start}); is it a CSV file?") \
            from None


def split_metadata(text: str, source: str) -> tuple[dict[str, str], str, int]:
    """Split leading `# key: value` lines (blank lines among them skipped) from a CSV text.

    Returns (metadata, the rest of the text, number of lines before it).
    """
    metadata: dict[str, str] = {}
    lines = io.StringIO(text, newline="").readlines()  # line ends as csv reads them
    count = 0
    for number, line in enumerate(lines, start=1):
        stripped = line.strip(_SPACE)
        if stripped and not stripped.startswith("#"):
            break
        count = number
        body = stripped[1:].strip(_SPACE)
        if not body:
            continue
        key, sep, value = body.partition(":")
        key = key.strip(_SPACE)
        if not sep or not key:
            raise ProfileError(
                f"{source}: line {number}: metadata lines must read '# key: value', got "
                f"{stripped!r}")
        try:
            check_metadata(key, value.strip(_SPACE))
        except ProfileError as exc:
            raise ProfileError(f"{source}: line {number}: {exc}") from None
        if key in metadata:
            raise ProfileError(f"{source}: line {number}: metadata key {key!r} given twice")
        metadata[key] = value.strip(_SPACE)
    return metadata, "".join(lines[count:]), count


def read_table(body: str, source: str, first_line: int = 1,
               error: type[Exception] = ProfileError) -> tuple[pd.DataFrame, list[int]]:
    """Parse a CSV table: (string cells, file line of each data row).

    `first_line` is the file line `body` starts on. Blank lines are skipped (and counted);
    a row with more or fewer fields than the header is an error, not shifted or padded; so
    are a quoted field that runs over a line end (an unterminated quote) and a field over
    the csv module's size limit. Errors are `error`, naming `source` and the line.
    """
    reader = csv.reader(io.StringIO(body), skipinitialspace=True)
    header: list[str] | None = None
    rows: list[list[str]] = []
    lines: list[int] = []
    while True:
        start = first_line + reader.line_num  # the line the next row starts on
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise error(f"{source}: line {start}: not a readable CSV row ({exc})") from None
        line = first_line + reader.line_num - 1
        if any("\n" in f or "\r" in f for f in fields):
            raise error(f"{source}: line {start}: a quoted field runs over the end of the "
                        "line (an unterminated quote?)")
        if not any(f.strip(_SPACE) for f in fields):
            continue
        if header is None:
            header = [f.strip(_SPACE) for f in fields]
            continue
        if len(fields) != len(header):
            extra = (" (a trailing comma?)" if len(fields) == len(header) + 1
                     and not fields[-1].strip(_SPACE) else "")
            raise error(f"{source}: line {line}: {len(fields)} fields, the header has "
                        f"{len(header)}{extra}")
        rows.append(fields)
        lines.append(line)
    if header is None:
        raise error(f"{source}: the file is empty (no header line and no rows)")
    return pd.DataFrame(rows, columns=header, dtype=str), lines


def read_profile(path: str | os.PathLike) -> Profile:
    """Read and validate a profile CSV (SPEC section 2).

    Raises OSError (FileNotFoundError, PermissionError, ...) for a file that cannot be
    read and :class:`moosplit.errors.ProfileError`, naming file, line, row and column, for
    bad content.
    """
    source = str(path)
    text = read_text_file(path)
    metadata, body, n_meta = split_metadata(text, source)
    frame, lines = read_table(body, source, first_line=n_meta + 1)
    return Profile(**profile_fields(frame, metadata, source=source, row_lines=lines))


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
