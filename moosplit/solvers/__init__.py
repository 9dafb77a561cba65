"""Backends: one module each, one registry."""

from . import cpsat, epsilon, exhaustive  # noqa: F401  (registers the backends)
from .base import Progress, SolveContext, Solver
from .registry import DEFAULT_SOLVER, available_solvers, get_solver, register, solve

__all__ = [
    "DEFAULT_SOLVER",
    "Progress",
    "SolveContext",
    "Solver",
    "available_solvers",
    "get_solver",
    "register",
    "solve",
]
