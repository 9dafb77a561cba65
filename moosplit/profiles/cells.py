"""Strict reading of table cells: numbers as a researcher writes them, and names.

Python's own `float` and `int` accept more than a table should: `1_000`, `nan`,
`infinity`, digits of other scripts (`١٢٣`), and whole numbers of any size, which numpy
then wraps around. Profiles, codec tables, front files and scenarios read their cells
here, so that such cells are refused with the location the caller gives.
"""

from __future__ import annotations

import math
import numbers
import re
from decimal import Decimal

from ..errors import ProfileError

MAX_NUMBER = 2**53
"""The largest number a table cell may hold (9,007,199,254,740,992): every whole number up to
it is exact in a float, and sums over a million rows stay finite and exact enough."""

_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_WHOLE = re.compile(r"[+-]?[0-9]+")


def text_cell(cell: object) -> str:
    """A text cell without the spaces and tabs around it (only those: a line separator or
    another invisible character stays, to be refused by :func:`name_problem`)."""
    return "" if is_blank(cell) else str(cell).strip(" \t")


def is_blank(cell: object) -> bool:
    """An empty cell: None, NaN or a string of spaces."""
    if cell is None:
        return True
    if isinstance(cell, float) and math.isnan(cell):
        return True
    return isinstance(cell, str) and cell.strip(" \t") == ""


def _value(cell: object) -> int | float | Decimal | None:
    """The cell's exact value, or None if it is not a number written in ASCII digits."""
    if isinstance(cell, bool):
        return None
    if isinstance(cell, numbers.Integral):
        return int(cell)
    if isinstance(cell, numbers.Real):
        value = float(cell)
        return value if math.isfinite(value) else None
    if not isinstance(cell, str):
        return None
    text = cell.strip(" \t")
    if not _NUMBER.fullmatch(text):
        return None
    return Decimal(text)


def number(cell: object, where: str, *, whole: bool = False, at_least: float = 0,
           at_most: float = MAX_NUMBER) -> float:
    """A numeric cell: a number in ASCII digits (`12`, `0.5`, `1e-3`), finite, within
    [at_least, at_most], and a whole number if `whole`; a ProfileError prefixed by `where`
    otherwise.

    Example:
        >>> number(" 1e3 ", "t.csv: line 2", whole=True)
        1000.0
        >>> number("-1", "t.csv: line 2")
        Traceback (most recent call last):
        ...
        moosplit.errors.ProfileError: t.csv: line 2: must be >= 0, got '-1'
    """
    value = _value(cell)
    if value is None:
        raise ProfileError(f"{where}: must be a number (ASCII digits, such as 12, 0.5 or "
                           f"1e-3), got {cell!r}")
    if value < at_least:
        raise ProfileError(f"{where}: must be >= {at_least:g}, got {cell!r}")
    if not value <= at_most:  # an overflowing float is inf, which is not <= either
        limit = f"2^53 ({MAX_NUMBER:,})" if at_most == MAX_NUMBER else f"{at_most:g}"
        raise ProfileError(f"{where}: must be at most {limit}, got {cell!r}")
    if whole and value != int(value):
        raise ProfileError(f"{where}: must be a whole number, got {cell!r}")
    return float(value)  # the nearest float (exact for whole numbers)


def whole_number(cell: object, where: str, *, at_least: int = 0,
                 at_most: int = MAX_NUMBER) -> int:
    """A cell holding a whole number written as digits only (`12`, not `1.2e1` or `12.0`),
    within [at_least, at_most], as an int; a ProfileError prefixed by `where` otherwise.

    Example:
        >>> whole_number("08", "bits")
        8
    """
    text = cell.strip(" \t") if isinstance(cell, str) else None
    if text is None or not _WHOLE.fullmatch(text):
        if isinstance(cell, numbers.Integral) and not isinstance(cell, bool):
            text = str(int(cell))
        else:
            raise ProfileError(f"{where}: must be a whole number (ASCII digits), got "
                               f"{cell!r}")
    value = int(text)
    if not at_least <= value <= at_most:
        raise ProfileError(f"{where}: must be a whole number in {at_least}..{at_most}, got "
                           f"{cell!r}")
    return value


def name_problem(name: str) -> str | None:
    """What is wrong with a name (of a node, an operator or a codec), or None: names are
    one word of printable characters, so that they read back from every file moosplit
    writes."""
    if not name:
        return "must not be empty"
    if any(ch.isspace() for ch in name):
        return f"cannot contain spaces, got {name!r}"
    if not name.isprintable():
        return f"cannot contain control characters, got {name!r}"
    return None
