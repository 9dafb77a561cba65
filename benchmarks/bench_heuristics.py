"""Heuristic backends and baselines against the exact front; nsga2 vs. plain MixedVariableGA.

    python benchmarks/bench_heuristics.py [--nodes 176] [--out table.md]

The problem is bench_exact.py's generated ResNet-50-sized one (176-node DAG, bits
{2, 4, 6, 8, 16}, memory bound, latency_ms + error). The reference front is cpsat's,
certified at 0.1%. Hypervolume ratios use moosplit.comparison's normalisation.
`MixedVariableGA` is written as a pymoo user would: one Integer variable per decision, an
ElementwiseProblem calling moosplit.evaluate on one plan at a time, RankAndCrowding
survival. Both GAs run at several generation budgets with seed 0; the table gives time and
HV ratio per budget, so the time each needs to reach a given ratio can be read off.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
from pymoo.core.mixed import MixedVariableGA
from pymoo.core.problem import ElementwiseProblem
from pymoo.core.variable import Integer
from pymoo.operators.survival.rank_and_crowding import RankAndCrowding
from pymoo.optimize import minimize

import moosplit
from moosplit.comparison import _scores
from moosplit.pareto import minimisation_form, nondominated
from moosplit.solvers.nsga2 import PlanEncoding

sys.path.insert(0, str(Path(__file__).parent))
from bench_exact import generated, machine  # noqa: E402


class PlainProblem(ElementwiseProblem):
    """The split problem as a user would hand it to MixedVariableGA."""

    def __init__(self, problem: moosplit.SplitProblem) -> None:
        self.split_problem = problem
        self.encoding = PlanEncoding(problem)
        variables = {f"x{i}": Integer(bounds=(int(lo), int(hi)))
                     for i, (lo, hi) in enumerate(zip(self.encoding.xl, self.encoding.xu,
                                                      strict=True))}
        super().__init__(vars=variables, n_obj=problem.n_objectives,
                         n_ieq_constr=len(problem.constraints))

    def _evaluate(self, x, out, *args, **kwargs):
        vector = np.array([[x[f"x{i}"] for i in range(len(x))]])
        evaluation = moosplit.evaluate(self.split_problem, self.encoding.decode(vector))
        out["F"] = minimisation_form(evaluation.objectives(self.split_problem.objectives),
                                     self.split_problem.maximise)[0]
        out["G"] = [evaluation[name][0] - bound for name, bound in
                    self.split_problem.constraints.items()]


def plain_front(problem: moosplit.SplitProblem, n_gen: int) -> tuple[np.ndarray, float]:
    start = time.perf_counter()
    result = minimize(PlainProblem(problem), MixedVariableGA(pop_size=100,
                                                             survival=RankAndCrowding()),
                      ("n_gen", n_gen), seed=0, verbose=False)
    elapsed = time.perf_counter() - start
    if result.X is None:
        return np.zeros((0, problem.n_objectives)), elapsed
    encoding = PlanEncoding(problem)
    X = np.atleast_1d(result.X)
    vectors = np.array([[x[f"x{i}"] for i in range(len(encoding.xl))] for x in X])
    evaluation = moosplit.evaluate(problem, encoding.decode(vectors))
    F = evaluation.objectives(problem.objectives)[evaluation.feasible]
    return F[nondominated(F, problem.maximise)], elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--nodes", type=int, default=176)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    problem = generated(args.nodes, ("latency_ms", "error"))
    exact = moosplit.solve(problem, "cpsat", resolution=0.001)
    reference = exact.F
    rows = [("cpsat (reference)", "certified 0.1%", len(exact), 1.0, exact.stats.time_s)]
    for name in ("lagrangian", "cloud_only", "edge_only", "uniform", "neurosurgeon", "qdmp"):
        front = moosplit.solve(problem, name)
        ratio, _ = _scores(front.F, reference, problem.maximise)
        rows.append((name, "", len(front), ratio, front.stats.time_s))
        print(rows[-1], flush=True)
    for n_gen in (5, 10, 25, 50, 100, 200):
        front = moosplit.solve(problem, "nsga2", seed=0, n_gen=n_gen)
        ratio, _ = _scores(front.F, reference, problem.maximise)
        rows.append(("nsga2", f"{n_gen} generations", len(front), ratio, front.stats.time_s))
        print(rows[-1], flush=True)
    for n_gen in (5, 10, 25, 50, 100):
        F, elapsed = plain_front(problem, n_gen)
        ratio, _ = _scores(F, reference, problem.maximise)
        rows.append(("MixedVariableGA (plain pymoo)", f"{n_gen} generations", len(F), ratio,
                     elapsed))
        print(rows[-1], flush=True)
    header = (f"Measured {date.today().isoformat()} on {machine()}; "
              f"`python benchmarks/bench_heuristics.py --nodes {args.nodes}`; problem: "
              f"bench_exact.py's generated {args.nodes}-node DAG, latency_ms + error, memory "
              "bound; population 100, seed 0.")
    lines = ["| backend | budget | points | HV ratio | time (s) |", "|---|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c} | {d:.4f} | {e:.2f} |" for a, b, c, d, e in rows]
    table = "\n".join(lines)
    print(header)
    print(table)
    if args.out:
        Path(args.out).write_text(f"## Heuristics and baselines\n\n{header}\n\n{table}\n")


if __name__ == "__main__":
    main()
