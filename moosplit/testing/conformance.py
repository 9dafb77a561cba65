"""A conformance kit: check any backend against `exhaustive` on small random problems.

Exact backends must return the exhaustive front (within their stated certificate and a
relative 1e-6); heuristic ones must return feasible, mutually non-dominated plans whose
numbers agree with the shared evaluator and that no exact point is beaten by. The
instances include budgeted queries (one objective under constraints, which exact backends
must answer exactly). Beyond exhaustive's sizes, :func:`run_certificate_check` checks that
no heuristic's plan beats an exact backend's front beyond its certificate. Use it from
pytest by subclassing :class:`moosplit.testing.pytest_backends.BackendConformance` (and
``CertificateConformance``), or call :func:`check_against_reference` directly.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..evaluator import evaluate
from ..problems.codecs import CodecTable
from ..problems.problem import SplitProblem
from ..problems.random import random_problem
from ..profiles.profile import Profile
from ..results.front import Front, Status
from ..results.indicators import covered
from ..results.pareto import nondominated
from ..solvers.enumeration import bit_assignments, choices_per_set, edge_sets
from ..solvers.registry import solve
from ..workflows.comparison import compare_solvers

OBJECTIVE_SETS = (
    ("latency_ms", "error"),
    ("latency_ms", "memory_bytes"),
    ("latency_ms", "memory_bytes", "error"),
    ("latency_ms", "edge_macs"),
    ("energy_mj", "throughput_fps"),
    ("latency_ms", "tx_bytes", "error"),
)
BIT_SETS = ((2, 4, 8), (4, 8), (2, 8, 16))
BUDGETED_OBJECTIVES = (("latency_ms",), ("error",), ("throughput_fps",))
"""The single objectives of budgeted queries (the fastest plan under error and memory
budgets, and so on); their instances always carry constraints."""
SHAPES = (("chain", "prefix"), ("dag", "prefix"), ("dag", "cut"))
"""The (profile kind, edge mode) pairs instances cycle through."""
HEURISTICS = {"nsga2": {"pop_size": 40, "n_gen": 30}, "lagrangian": {}, "uniform": {},
              "qdmp": {}, "neurosurgeon": {}, "edge_only": {}, "cloud_only": {}, "dads": {}}
"""The heuristics :func:`run_certificate_check` holds a proven front against (name ->
options; those that refuse a problem's mode are left out of it)."""


@dataclass(frozen=True)
class ConformanceInstance:
    """A named random problem; the name says how to rebuild it."""

    name: str
    problem: SplitProblem

    def __repr__(self) -> str:
        return self.name


def _random_codecs(problem: SplitProblem, rng: np.random.Generator) -> CodecTable:
    profile = problem.profile
    rows = []
    for name in profile.names:
        rows.append(("lossless", name, rng.uniform(1.2, 3.0), 0.0, rng.uniform(0.0, 0.3)))
        if rng.random() < 0.6:
            rows.append(("lossy", name, rng.uniform(2.0, 8.0), rng.uniform(0.0, 0.05),
                         rng.uniform(0.0, 0.2)))
    frame = pd.DataFrame(rows, columns=["codec", "node", "ratio", "err", "encode_ms"])
    return CodecTable.from_frame(frame, profile, source="random codecs")


def _bound_at_an_attained_value(problem: SplitProblem, rng: np.random.Generator,
                                 exclude: tuple[str, ...] = ()) -> tuple[SplitProblem, str]:
    """Bound one quantity (not in `exclude`) exactly at the value a random plan attains (a
    plan on the bound must stay feasible: backends that round or relax bounds get this
    wrong); return the problem and the quantity bound."""
    sets = edge_sets(problem)
    edge = sets[int(rng.integers(len(sets)))]
    count = choices_per_set(problem, edge[None, :])[0]
    index = int(rng.integers(count))
    plan = bit_assignments(problem, edge, index, index + 1)
    values = evaluate(problem.replace(constraints={}), plan).values
    names = [q for q in ("latency_ms", "error", "memory_bytes", "edge_macs", "tx_bytes")
             if np.isfinite(values[q][0]) and q not in exclude]
    name = names[int(rng.integers(len(names)))]
    return (problem.replace(constraints={**problem.constraints, name: float(values[name][0])}),
            name)


def conformance_instances(count: int, *, seed: int = 0,
                          max_nodes: int = 6) -> list[ConformanceInstance]:
    """`count` small random problems covering chains and DAGs, both modes, 2 and 3
    objectives, with and without memory/error bounds, bounds exactly at a value some plan
    attains, bit-dependent latency, batch > 1, codecs and split bounds. Deterministic in
    `seed`.
    """
    out = []
    for i in range(count):
        kind, mode = SHAPES[i % 3]
        objectives = OBJECTIVE_SETS[(i // 3) % len(OBJECTIVE_SETS)]
        out.append(_instance(f"seed={seed}/{i}", np.random.default_rng([seed, i]), kind, mode,
                             objectives, max_nodes))
    return out


def budgeted_instances(count: int, *, seed: int = 0,
                       max_nodes: int = 6) -> list[ConformanceInstance]:
    """`count` budgeted queries: one objective of BUDGETED_OBJECTIVES (the fastest plan,
    the most accurate, ...) under memory and error bounds plus one bound exactly at a
    value some plan attains, over chains and DAGs in both modes, with the other draws of
    :func:`conformance_instances`. An exact backend must return the optimum. Deterministic
    in `seed`, and apart from :func:`conformance_instances`' instances.
    """
    out = []
    for i in range(count):
        kind, mode = SHAPES[i % 3]
        objectives = BUDGETED_OBJECTIVES[(i // 3) % len(BUDGETED_OBJECTIVES)]
        rng = np.random.default_rng([seed, i, 1])  # a stream apart from the others'
        out.append(_instance(f"seed={seed}/budgeted-{i}", rng, kind, mode, objectives,
                             max_nodes, budgeted=True))
    return out


def _with_packing(profile: Profile, rng: np.random.Generator) -> Profile:
    """`profile` with per-element packing and unpacking times (metadata), sized so that
    packing every tensor once costs 5% to 50% of the edge compute on each side."""
    scale = float(profile.edge_ms.sum()) * 1e6 / float(profile.out_elems.sum() * profile.batch)
    metadata = {**profile.metadata,
                "pack_ns_per_element": f"{rng.uniform(0.05, 0.5) * scale:.6g}",
                "unpack_ns_per_element": f"{rng.uniform(0.05, 0.5) * scale:.6g}"}
    return dataclasses.replace(profile, metadata=metadata)


def _instance(label: str, rng: np.random.Generator, kind: str, mode: str,
              objectives: tuple[str, ...], max_nodes: int,
              budgeted: bool = False) -> ConformanceInstance:
    """One random instance drawn from `rng`; `budgeted`: always bounded, and always with a
    bound at an attained value."""
    bits = BIT_SETS[int(rng.integers(len(BIT_SETS)))]
    n_nodes = int(rng.integers(3, max_nodes + 1))
    bounded = bool(rng.random() < 0.5) or budgeted
    bit_latency = bool(rng.random() < 0.4)
    batch = int(rng.choice([1, 1, 3]))
    problem = random_problem(n_nodes, kind=kind, mode=mode, objectives=objectives,
                             bits=bits, bounded=bounded, bit_latency=bit_latency,
                             batch=batch, seed=int(rng.integers(2**31)))
    extras = []
    if rng.random() < 0.2:
        problem = problem.replace(codecs=_random_codecs(problem, rng))
        extras.append("codecs")
    if rng.random() < 0.25:
        problem = problem.replace(profile=_with_packing(problem.profile, rng))
        extras.append("packing")
    if rng.random() < 0.25 or budgeted:
        # a budgeted query's bound at an attained value is on another quantity than its
        # objective (the most accurate plan within a latency, and so on)
        problem, bound = _bound_at_an_attained_value(problem, rng,
                                                     objectives if budgeted else ())
        extras.append(f"{bound} bound at an attained value")
    if rng.random() < 0.2:
        low = int(rng.integers(0, 2))
        problem = problem.replace(min_split=low, max_split=int(rng.integers(low, n_nodes + 1)))
        extras.append(f"splits={problem.split_bounds}")
    name = (f"{label} {kind}-{mode} n={n_nodes} {'+'.join(objectives)} bits={bits}"
            f"{' bounded' if bounded else ''}{' bit-latency' if bit_latency else ''}"
            f" batch={batch}" + ("".join(f" {e}" for e in extras)))
    return ConformanceInstance(name, problem)


def _agree_with_evaluator(front: Front, where: str) -> None:
    again = evaluate(front.problem, front.plans)
    assert again.feasible.all(), f"{where}: the front holds infeasible plans"
    for name, values in again.values.items():
        np.testing.assert_allclose(front.evaluation.values[name], values, rtol=1e-12,
                                   err_msg=f"{where}: {name} differs from the evaluator")


def check_against_reference(front: Front, reference: Front, *, where: str = "",
                            rtol: float = 1e-6) -> None:
    """Raise AssertionError unless `front` conforms, given the exhaustive `reference`.

    Every backend: plans feasible, numbers equal to the evaluator's, points mutually
    non-dominated, none better than the true front, F of shape (n, k).
    Exact (or certified) fronts: same status as the reference, and every reference point
    covered within the front's certificate (plus `rtol`).
    """
    problem = front.problem
    k = problem.n_objectives
    assert front.F.shape == (len(front), k), f"{where}: F has shape {front.F.shape}"
    _agree_with_evaluator(front, where)
    if len(front):
        kept = nondominated(front.F, problem.maximise)
        assert kept.size == len(front), f"{where}: the front holds dominated or repeated points"
        better = ~covered(front.F, reference.F, problem.maximise, rtol)
        assert not better.any(), (f"{where}: points beat the exact front: "
                                  f"{front.F[better].tolist()}")
    if front.guarantee.kind not in ("exact", "certified"):
        return
    assert front.status == reference.status, (
        f"{where}: status {front.status.value}, exhaustive says {reference.status.value}")
    if reference.status is not Status.OPTIMAL:
        return
    covered_points = front.guarantee.covers(front.F, reference.F, problem.maximise, rtol)
    if not covered_points.all():
        missed = reference.F[~covered_points][0]
        raise AssertionError(f"{where}: exact point {missed.tolist()} is not covered "
                             f"({front.guarantee.describe(problem.objectives)})")


def run_conformance(instance: ConformanceInstance, solver: str, **options) -> None:
    """Solve one instance with `solver` and with `exhaustive`, and check the first."""
    reference = solve(instance.problem, "exhaustive")
    front = solve(instance.problem, solver, seed=0, **options)
    check_against_reference(front, reference, where=f"{solver} on {instance.name}")


def run_certificate_check(instance: ConformanceInstance, solver: str,
                          heuristics: Mapping[str, Mapping[str, Any]] | None = None,
                          **options: Any) -> None:
    """Solve one instance with `solver` (an exact backend, with `options` such as a
    resolution) and with `heuristics` (name -> options; default HEURISTICS), and raise
    AssertionError if a heuristic's plan beats `solver`'s front beyond its certificate.

    No exhaustive front is needed, so instances may be larger than exhaustive enumerates.
    The check is :func:`moosplit.workflows.comparison.certificate_violations`, the one
    `moosplit compare` reports bugs with.
    """
    heuristics = HEURISTICS if heuristics is None else heuristics
    result = compare_solvers(instance.problem, [solver, *heuristics],
                             options={**heuristics, solver: options})
    where = f"{solver} on {instance.name}"
    assert solver in result.fronts, f"{where}: refused ({result.refused.get(solver)})"
    front = result.fronts[solver]
    assert front.guarantee.proven, f"{where}: the front is {front.guarantee.kind.value}"
    for violation in result.violations:
        if violation.proven == solver:
            point = result.fronts[violation.backend].F[violation.points[0]]
            raise AssertionError(
                f"{where}: {violation.backend}'s plan {point.tolist()} beats the front beyond "
                f"its certificate ({front.guarantee.describe(front.objectives)}); "
                f"{len(violation.points)} such plan(s)")
