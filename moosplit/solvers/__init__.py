"""Backends: one module each, one registry."""

from . import (  # noqa: F401  (registers them)
    baselines,
    cpsat,
    dads,
    epsilon,
    exhaustive,
    lagrangian,
    nsga2,
)
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
