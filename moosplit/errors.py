"""Exceptions raised by moosplit; each subclasses the matching built-in."""

from __future__ import annotations

import numbers


class ProfileError(ValueError):
    """A profile (layer table) or codec table is malformed."""


class ProblemError(ValueError):
    """A problem is ill-posed: unknown objective, unavailable bit-width, bad network, ..."""


class UnsupportedProblemError(ValueError):
    """A backend cannot solve this kind of problem (mode, size, objectives).

    `options`: the backend options whose larger value would lift the refusal (such as
    max_labels), for front ends to say how they are set there."""

    def __init__(self, message: str, *, options: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.options = options


class DeployError(ValueError):
    """An exported plan directory (plan.json and its ONNX halves) cannot be served: a file
    missing, a manifest that breaks the plan.json contract, or ONNX halves that disagree
    with it."""


class SolverError(RuntimeError):
    """A backend failed or broke its contract (for example returned an infeasible plan)."""


def shown(value: object) -> str:
    """`repr` of a value as a user typed it: numpy scalars as plain numbers."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return repr(int(value))
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return repr(float(value))
    return repr(value)


class OptionError(ValueError, TypeError):
    """A parameter got a value it cannot take.

    The message names the parameter, says what it must be and what it got (scikit-learn's
    format); `parameter` lets a caller such as the command line name its own flag instead.
    It is a ValueError and, as for scikit-learn's InvalidParameterError, a TypeError too
    (an unknown keyword is one).

    Example:
        >>> str(OptionError("time_limit", "> 0 seconds or None", -1))
        'time_limit must be > 0 seconds or None, got -1'
    """

    def __init__(self, parameter: str, expected: str, got: object, *, owner: str = "",
                 hint: str = "") -> None:
        self.parameter, self.expected, self.got = parameter, expected, got
        self.owner, self.hint = owner, hint
        super().__init__(self.describe(parameter))

    def describe(self, name: str, got: object = None) -> str:
        """The message with the parameter called `name` (for example a command-line flag),
        and `got` shown instead of the value the library saw, if given (a value the caller
        converted, such as MiB to bytes)."""
        text = f"{name} must be {self.expected}, got {shown(self.got if got is None else got)}"
        if self.owner:
            text = f"{self.owner}: {text}"
        return f"{text}; {self.hint}" if self.hint else text


class ProblemOptionError(OptionError, ProblemError):
    """A bad field of a problem or its network: both an OptionError and a ProblemError."""


class ProfileOptionError(OptionError, ProfileError):
    """A bad setting for reading or profiling a model (its input shape, batch, codecs):
    both an OptionError and a ProfileError."""


class ExportError(ValueError):
    """A plan cannot be exported: it does not belong to the model (rows or sizes differ),
    or one of its cut tensors cannot be sent."""
