"""Exceptions raised by moosplit; each subclasses the matching built-in."""

from __future__ import annotations


class ProfileError(ValueError):
    """A profile (layer table) or codec table is malformed."""


class ProblemError(ValueError):
    """A problem is ill-posed: unknown objective, unavailable bit-width, bad network, ..."""


class UnsupportedProblemError(ValueError):
    """A backend cannot solve this kind of problem (mode, size, objectives)."""


class SolverError(RuntimeError):
    """A backend failed or broke its contract (for example returned an infeasible plan)."""
