"""moosplit: plan where to split a DNN between edge and cloud, as a multi-objective problem.

The main names:
    load_profile, read_profile, Profile            the layer table (SPEC section 2)
    SplitProblem, Network                          the declarative problem (section 6)
    evaluate, Plans, Plan                          the shared evaluator (section 4)
    solve, available_solvers                       backends, all returning a Front
    Front, Status, Guarantee                       results, with CSV I/O and indicators
    OptionError, ProblemError, ...                 errors

docs/architecture.md maps the packages.
"""

from . import solvers  # noqa: F401  (registers the backends)
from .errors import (
    OptionError,
    ProblemError,
    ProfileError,
    SolverError,
    UnsupportedProblemError,
)
from .evaluator import Evaluation, evaluate
from .plans import Plan, Plans, check_plans
from .problems import CodecTable, Network, SplitProblem, random_problem, read_codecs
from .profiles import (
    Profile,
    bundled_profiles,
    load_profile,
    random_profile,
    read_profile,
    write_profile,
)
from .results.front import Front, Guarantee, GuaranteeKind, SolveStats, Status
from .results.front_csv import read_front, write_front
from .results.indicators import compare_fronts, epsilon_additive, hypervolume, igd_plus
from .solvers import available_solvers, get_solver, solve

__version__ = "0.1.0"

__all__ = [
    "CodecTable", "Evaluation", "Front", "Guarantee", "GuaranteeKind", "Network", "OptionError",
    "Plan", "Plans", "ProblemError", "Profile", "ProfileError", "SolveStats", "SolverError",
    "SplitProblem", "Status", "UnsupportedProblemError", "available_solvers", "bundled_profiles",
    "check_plans", "compare_fronts", "epsilon_additive", "evaluate", "get_solver", "hypervolume",
    "igd_plus", "load_profile", "random_problem", "random_profile", "read_codecs", "read_front",
    "read_profile", "solve", "write_front", "write_profile",
]
