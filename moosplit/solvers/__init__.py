"""Backends: one module each, one registry."""

from . import baselines, cpsat, dads, epsilon, exhaustive, nsga2  # noqa: F401  (registers them)
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
