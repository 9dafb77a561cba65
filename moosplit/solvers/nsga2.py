"""`nsga2`: pymoo's NSGA-II over an integer encoding of plans, vectorised."""

from __future__ import annotations

import numpy as np
from pymoo.algorithms.moo.nsga2 import NSGA2
from pymoo.core.population import Population
from pymoo.core.problem import Problem
from pymoo.core.repair import Repair
from pymoo.operators.crossover.sbx import SBX
from pymoo.operators.mutation.pm import PM
from pymoo.operators.repair.rounding import RoundingRepair
from pymoo.operators.sampling.rnd import IntegerRandomSampling
from pymoo.termination import get_termination

from ..evaluator import Evaluation, evaluate
from ..front import HEURISTIC, Front, SolveStats, Status
from ..pareto import minimisation_form, nondominated
from ..plans import Plans, prefix_plans
from ..problems.problem import SplitProblem, limit, meets
from ..problems.quantities import QUANTITIES
from ..profiles.schema import REFERENCE_BITS
from .base import SolveContext, Solver
from .registry import register


class PlanEncoding:
    """Integer vectors <-> plans.

    Prefix mode: [split, then per node (bw index, ba index), then codec]. Cut mode: [one
    0/1 per node, then the same]. A cut-mode vector is made predecessor-closed by dropping
    every node whose inputs are not all on the edge. Weight indices of weightless nodes and
    bits off the edge are ignored.
    """

    def __init__(self, problem: SplitProblem) -> None:
        self.problem = problem
        profile = problem.profile
        self.n = profile.n_nodes
        self.bits = np.array(problem.bit_set)
        base = len(self.bits)
        low, high = problem.split_bounds
        head = 1 if problem.mode == "prefix" else self.n
        self.head = head
        n_var = head + 2 * self.n + 1
        self.xl = np.zeros(n_var, int)
        self.xu = np.full(n_var, base - 1)
        if problem.mode == "prefix":
            self.xl[0], self.xu[0] = low, high
        else:
            self.xu[:head] = 1
        self.xu[-1] = len(problem.codec_table) - 1
        self.inner_preds = [tuple(p for p in preds if p > 0) for preds in profile.inputs]

    def decode(self, X: np.ndarray) -> Plans:
        """Plans for a population (rows of X)."""
        profile = self.problem.profile
        X = np.asarray(np.round(X), int)
        rows = np.arange(profile.n_rows)[None, :]
        if self.problem.mode == "prefix":
            edge = (rows >= 1) & (rows <= X[:, :1])
        else:
            edge = np.zeros((len(X), profile.n_rows), bool)
            for i in range(1, profile.n_rows):  # table order is topological
                edge[:, i] = X[:, i - 1].astype(bool)
                for p in self.inner_preds[i]:
                    edge[:, i] &= edge[:, p]
        w = X[:, self.head:self.head + 2 * self.n:2]
        a = X[:, self.head + 1:self.head + 2 * self.n:2]
        bits_w = np.zeros((len(X), profile.n_rows), np.int16)
        bits_a = np.zeros((len(X), profile.n_rows), np.int16)
        bits_w[:, 1:] = np.where(edge[:, 1:] & profile.has_weights[None, 1:], self.bits[w], 0)
        bits_a[:, 1:] = np.where(edge[:, 1:], self.bits[a], 0)
        return Plans(edge, bits_w, bits_a, X[:, -1])

    def encode(self, plans: Plans) -> np.ndarray:
        """Vectors for plans (off-edge bits encoded as the lowest index)."""
        X = np.zeros((len(plans), len(self.xl)), int)
        if self.problem.mode == "prefix":
            X[:, 0] = plans.n_edge
        else:
            X[:, :self.head] = plans.edge[:, 1:]
        index = {int(b): k for k, b in enumerate(self.bits)}
        lookup = np.vectorize(lambda b: index.get(int(b), 0))
        X[:, self.head:self.head + 2 * self.n:2] = lookup(plans.bits_w[:, 1:])
        X[:, self.head + 1:self.head + 2 * self.n:2] = lookup(plans.bits_a[:, 1:])
        X[:, -1] = plans.codec
        return X


class _SplitProblemForPymoo(Problem):
    """The split problem as a vectorised pymoo Problem: F minimised, G <= 0 feasible.

    Every evaluation also feeds an archive of the feasible non-dominated plans seen so far
    (NSGA-II's last population can lose points it once held).
    """

    def __init__(self, problem: SplitProblem, encoding: PlanEncoding) -> None:
        self.split_problem = problem
        self.encoding = encoding
        self.constraint_names = list(problem.constraints)
        n_constr = len(self.constraint_names) + 2  # + split bounds + codec coverage
        super().__init__(n_var=len(encoding.xl), n_obj=problem.n_objectives,
                         n_ieq_constr=n_constr, xl=encoding.xl, xu=encoding.xu, vtype=int)
        self.archive = Plans.empty(problem.profile.n_rows)
        self.archive_F = np.zeros((0, problem.n_objectives))
        self.evaluations = 0

    def _evaluate(self, X, out, *args, **kwargs):
        problem = self.split_problem
        plans = self.encoding.decode(X)
        evaluation = evaluate(problem, plans)
        self.evaluations += len(plans)
        F = minimisation_form(evaluation.objectives(problem.objectives), problem.maximise)
        out["F"] = np.where(np.isfinite(F), F, 1e300)
        out["G"] = self._violations(plans, evaluation)
        self._archive(plans, evaluation, F)

    def _violations(self, plans: Plans, evaluation: Evaluation) -> np.ndarray:
        problem = self.split_problem
        columns = []
        for name in self.constraint_names:
            bound = problem.constraints[name]
            values = evaluation[name]
            worst = limit(name, bound)
            excess = (worst - values) if QUANTITIES[name].maximise else (values - worst)
            columns.append(excess / max(abs(bound), 1e-12))
        low, high = problem.split_bounds
        n_edge = plans.n_edge
        columns.append(np.maximum(low - n_edge, n_edge - high).astype(float))
        # codec coverage (and anything else the evaluator calls infeasible)
        rest = np.ones(len(plans), bool)
        for column in columns[:-1]:
            rest &= column <= 0
        columns.append(np.where(~evaluation.feasible & rest & (columns[-1] <= 0), 1.0, -1.0))
        return np.column_stack(columns)

    def _archive(self, plans: Plans, evaluation: Evaluation, F: np.ndarray) -> None:
        feasible = np.flatnonzero(evaluation.feasible)
        if not feasible.size:
            return
        candidates = Plans.concat([self.archive, plans.take(feasible)],
                                  self.split_problem.profile.n_rows)
        values = np.concatenate([self.archive_F, F[feasible]])
        keep = nondominated(values, [False] * values.shape[1])
        self.archive, self.archive_F = candidates.take(keep), values[keep]


class _MemoryRepair(Repair):
    """Make plans over the memory bound fit where possible: first every edge node at the
    lowest bit-width, then (prefix mode) the largest split that fits at that width."""

    def __init__(self, problem: SplitProblem, encoding: PlanEncoding) -> None:
        super().__init__()
        self.split_problem = problem
        self.encoding = encoding

    def _do(self, problem, X, **kwargs):
        split_problem = self.split_problem
        if "memory_bytes" not in split_problem.constraints:
            return X
        X = np.asarray(np.round(X), int)
        bound = split_problem.constraints["memory_bytes"]
        memory = evaluate(split_problem, self.encoding.decode(X))["memory_bytes"]
        over = np.flatnonzero(~meets("memory_bytes", memory, bound))
        if not over.size:
            return X
        head, n = self.encoding.head, self.encoding.n
        X[np.ix_(over, np.arange(head, head + 2 * n))] = 0
        if split_problem.mode == "prefix":
            memory = evaluate(split_problem, self.encoding.decode(X[over]))["memory_bytes"]
            still = over[~meets("memory_bytes", memory, bound)]
            if still.size:
                low, high = split_problem.split_bounds
                splits = np.arange(low, high + 1)
                lowest = X[still[:1]].repeat(len(splits), axis=0)
                lowest[:, 0] = splits
                fits = meets("memory_bytes", evaluate(
                    split_problem, self.encoding.decode(lowest))["memory_bytes"], bound)
                if fits.any():
                    best = splits[np.flatnonzero(fits)[-1]]
                    X[still, 0] = np.minimum(X[still, 0], best)
        return X


def seed_plans(problem: SplitProblem) -> Plans:
    """The baselines' plans, to seed the population: cloud-only, edge-only at every
    bit-width of the bit set (edge_only and uniform), and Neurosurgeon's and QDMP's splits
    (prefix mode, when 16 bits are in the bit set)."""
    from .baselines import QDMP, Neurosurgeon

    profile = problem.profile
    low, high = problem.split_bounds
    batches = [prefix_plans(problem, np.array([high]), b) for b in problem.bit_set]
    batches.append(prefix_plans(problem, np.array([low]), max(problem.bit_set)))
    if problem.mode == "prefix" and REFERENCE_BITS in problem.bit_set:
        batches += [QDMP().candidates(problem), Neurosurgeon().candidates(problem)]
    return Plans.concat(batches, profile.n_rows)


def split_samples(problem: SplitProblem, count: int, rng: np.random.Generator) -> Plans:
    """`count` random splits at the widest bit-width (more seeds with diverse splits)."""
    low, high = problem.split_bounds
    splits = rng.integers(low, high + 1, count)
    return prefix_plans(problem, splits, max(problem.bit_set))


@register
class NSGA2Solver(Solver):
    """pymoo's NSGA-II on an integer encoding, seeded with the baselines' plans.

    Operators keep variables integer (SBX and polynomial mutation with rounding); plans over
    the memory bound are repaired toward the lowest bit-width and a smaller split. Up to a
    quarter of the first population are baseline plans, the rest random. The
    front is the archive of every feasible non-dominated plan evaluated. `seed` makes runs
    bit-identical; `time_limit` stops between generations.

    Options:
        pop_size: population size.
        n_gen: generations (the default termination).
    """

    name = "nsga2"
    exact = False
    citation = ("Deb et al., NSGA-II, IEEE TEC 2002; Blank and Deb, pymoo, IEEE Access 2020")

    def __init__(self, *, pop_size: int = 100, n_gen: int = 200) -> None:
        if pop_size < 2 or n_gen < 1:
            raise ValueError(f"pop_size must be >= 2 and n_gen >= 1, got {pop_size}, {n_gen}")
        self.pop_size = pop_size
        self.n_gen = n_gen

    def __repr__(self) -> str:
        return f"NSGA2Solver(pop_size={self.pop_size}, n_gen={self.n_gen})"

    def _solve(self, problem: SplitProblem, context: SolveContext) -> Front:
        encoding = PlanEncoding(problem)
        pymoo_problem = _SplitProblemForPymoo(problem, encoding)
        rng = np.random.default_rng(context.seed)
        # at most a quarter of the first population: baseline plans alone had too little
        # diversity in the bits (measured: 200 generations to the reference hypervolume
        # instead of 5 on the 176-node benchmark)
        room = max(1, self.pop_size // 4)
        seeds = encoding.encode(seed_plans(problem))[:room]
        if len(seeds) < room:
            extra = split_samples(problem, room - len(seeds), rng)
            seeds = np.vstack([seeds, encoding.encode(extra)])
        sampling = IntegerRandomSampling()
        if len(seeds):
            random = sampling(pymoo_problem, self.pop_size - len(seeds),
                              random_state=rng).get("X") if self.pop_size > len(seeds) \
                else np.zeros((0, len(encoding.xl)))
            sampling = Population.new("X", np.vstack([seeds, random]).astype(float))
        algorithm = NSGA2(
            pop_size=self.pop_size, sampling=sampling,
            crossover=SBX(prob=0.9, eta=15, vtype=float, repair=RoundingRepair()),
            mutation=PM(eta=20, vtype=float, repair=RoundingRepair()),
            repair=_MemoryRepair(problem, encoding), eliminate_duplicates=True)
        algorithm.setup(pymoo_problem, termination=get_termination("n_gen", self.n_gen),
                        seed=context.seed, verbose=False)
        stopped = False
        while algorithm.has_next():
            algorithm.next()
            context.report(algorithm.n_gen - 1, self.n_gen, "generations")
            if context.expired() and algorithm.has_next():
                stopped = True
                break
        stats = SolveStats(context.elapsed, pymoo_problem.evaluations,
                           {"generations": algorithm.n_gen - 1})
        archive = pymoo_problem.archive
        message = "time limit reached" if stopped else ""
        if not len(archive):
            message = (message + "; " if message else "") + "no feasible plan found"
        return Front.from_plans(problem, archive, solver=self.name,
                                status=Status.FEASIBLE if len(archive) else Status.UNKNOWN,
                                guarantee=HEURISTIC, stats=stats, message=message)
