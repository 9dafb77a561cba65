"""Checks of parameter values, and options declared once with their checks.

Every public constructor and function that takes a setting checks it here, so that a bad
value raises :class:`moosplit.errors.OptionError` with one message format (the parameter,
what it must be, what it got) whoever calls it. A *check* knows what it accepts
(`expected`), validates and normalises a value (`__call__`) and reads one from text
(`parse`, for the command line). :func:`option` declares a dataclass field with its check
and help; backends declare their options this way, and validation, `repr` and the command
line's option listing all come from the declaration.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import OptionError


def is_real(value: object) -> bool:
    """A finite real number, not a bool (numpy scalars included)."""
    return (isinstance(value, numbers.Real) and not isinstance(value, bool)
            and math.isfinite(float(value)))


def is_whole(value: object) -> bool:
    """An integer, not a bool (a float such as 3.0 is not)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _bounds_text(at_least: float | None, above: float | None, at_most: float | None) -> str:
    parts = []
    if above is not None:
        parts.append(f"> {above:g}")
    if at_least is not None:
        parts.append(f">= {at_least:g}")
    if at_most is not None:
        parts.append(f"<= {at_most:g}")
    return (" " + " and ".join(parts)) if parts else ""


@dataclass(frozen=True)
class Number:
    """A finite real (or, with `whole`, integral) number within bounds; None if `optional`.

    Example:
        >>> Number(above=0, optional=True)("time_limit", 2)
        2.0
        >>> Number(whole=True, at_least=1).expected
        'a whole number >= 1'
    """

    whole: bool = False
    at_least: float | None = None
    above: float | None = None
    at_most: float | None = None
    optional: bool = False
    unit: str = ""

    @property
    def expected(self) -> str:
        """What the check accepts, as a message says it."""
        kind = "a whole number" if self.whole else "a finite number"
        if self.whole and self.at_least is not None and self.at_most is not None:
            text = f"{kind} in {self.at_least:g}..{self.at_most:g}"
        else:
            text = kind + _bounds_text(self.at_least, self.above, self.at_most)
        text += f" {self.unit}" if self.unit else ""
        return text + (" or None" if self.optional else "")

    def accepts(self, value: object) -> bool:
        """Whether `value` passes (None only if optional)."""
        if value is None:
            return self.optional
        if not (is_whole(value) if self.whole else is_real(value)):
            return False
        number = float(value)  # type: ignore[arg-type]
        return not ((self.at_least is not None and number < self.at_least)
                    or (self.above is not None and number <= self.above)
                    or (self.at_most is not None and number > self.at_most))

    def __call__(self, name: str, value: object, *, owner: str = "",
                 error: type[OptionError] = OptionError) -> Any:
        """The value as int or float (None stays None); `error` unless it passes."""
        if not self.accepts(value):
            raise error(name, self.expected, value, owner=owner)
        if value is None:
            return None
        return int(value) if self.whole else float(value)  # type: ignore[arg-type]

    def parse(self, name: str, text: str) -> Any:
        """Read a value from text ('none' for None), then check it."""
        if self.optional and text.strip().lower() == "none":
            return None
        try:
            value: object = int(text) if self.whole else float(text)
        except ValueError:
            value = text
        return self(name, value)


@dataclass(frozen=True)
class Choice:
    """One of a fixed set of values."""

    choices: tuple[Any, ...]

    @property
    def expected(self) -> str:
        """What the check accepts."""
        return "one of " + ", ".join(map(str, self.choices))

    def __call__(self, name: str, value: object, *, owner: str = "",
                 error: type[OptionError] = OptionError) -> Any:
        """The value, if it is one of the choices."""
        if value not in self.choices:
            raise error(name, self.expected, value, owner=owner)
        return value

    def parse(self, name: str, text: str) -> Any:
        """The choice whose text is `text`."""
        for choice in self.choices:
            if str(choice) == text.strip():
                return choice
        return self(name, text)


@dataclass(frozen=True)
class Text:
    """A string: one line, and not blank if `non_empty`."""

    non_empty: bool = True

    @property
    def expected(self) -> str:
        """What the check accepts."""
        return "a non-empty one-line string" if self.non_empty else "a one-line string"

    def __call__(self, name: str, value: object, *, owner: str = "",
                 error: type[OptionError] = OptionError) -> str:
        """The string, if it passes."""
        if (not isinstance(value, str) or "\n" in value or "\r" in value
                or (self.non_empty and not value.strip())):
            raise error(name, self.expected, value, owner=owner)
        return value

    def parse(self, name: str, text: str) -> str:
        """The text itself, checked."""
        return self(name, text)


@dataclass(frozen=True)
class Converted:
    """A value some function converts or refuses (for example a resolution)."""

    convert: Callable[[str, Any], Any]
    expected: str
    reader: Callable[[str], Any] = float

    def __call__(self, name: str, value: object, *, owner: str = "",
                 error: type[OptionError] = OptionError) -> Any:
        """`convert(name, value)`; it raises OptionError itself on a bad value."""
        return self.convert(name, value)

    def parse(self, name: str, text: str) -> Any:
        """Read with `reader`, then convert."""
        try:
            value = self.reader(text)
        except ValueError:
            raise OptionError(name, self.expected, text) from None
        return self(name, value)


Check = Number | Choice | Text | Converted


def option(default: Any, check: Check, help: str) -> Any:  # noqa: A002 (the option's help)
    """A dataclass field declared with its check and a one-line help.

    Example:
        >>> from dataclasses import dataclass
        >>> @dataclass(frozen=True)
        ... class Settings:
        ...     runs: int = option(10, Number(whole=True, at_least=1), "timed runs")
        >>> [spec.describe() for spec in declared(Settings)]
        ['runs (a whole number >= 1, default 10): timed runs']
    """
    return dataclasses.field(default=default, metadata={"check": check, "help": help})


@dataclass(frozen=True)
class OptionSpec:
    """One declared option: name, default, check and help."""

    name: str
    default: Any
    check: Check
    help: str

    @property
    def required(self) -> bool:
        """Whether the option has no default."""
        return self.default is dataclasses.MISSING

    def describe(self) -> str:
        """'name (what it takes, default D): help'."""
        default = "required" if self.required else f"default {self.default}"
        return f"{self.name} ({self.check.expected}, {default}): {self.help}"


def declared(cls: type) -> tuple[OptionSpec, ...]:
    """The options a dataclass declares with :func:`option`, in field order."""
    if not dataclasses.is_dataclass(cls):
        return ()
    return tuple(OptionSpec(f.name, f.default, f.metadata["check"], f.metadata["help"])
                 for f in dataclasses.fields(cls) if "check" in f.metadata)


def check_declared(instance: Any, owner: str = "",
                   error: type[OptionError] = OptionError) -> None:
    """Check (and normalise) every declared option of a frozen dataclass instance."""
    for spec in declared(type(instance)):
        value = spec.check(spec.name, getattr(instance, spec.name), owner=owner, error=error)
        object.__setattr__(instance, spec.name, value)


def check_sequence(name: str, value: object, item: Number, *, non_empty: bool = True,
                   error: type[OptionError] = OptionError) -> tuple[Any, ...]:
    """A list or tuple of values that each pass `item`."""
    expected = ("a non-empty " if non_empty else "a ") + f"list of {item.expected}s"
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or (
            non_empty and not value):
        raise error(name, expected, value)
    if not all(item.accepts(v) for v in value):
        raise error(name, expected, value)
    return tuple(item(name, v) for v in value)
