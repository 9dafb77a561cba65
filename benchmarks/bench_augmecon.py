"""moosplit's exact backends against pyaugmecon (AUGMECON-R with HiGHS), on the same fronts.

    pip install pyomo highspy && pip install --no-deps pyaugmecon
    python benchmarks/bench_augmecon.py [--time-limit 600] [--cpsat-time-limit 300]
                                        [--checks 200] [--instances ...] [--out table.md]

pyaugmecon is not a dependency of moosplit: version 1.0.8 pins numpy~=1.25, pandas~=2.0,
which would downgrade this environment, so it is installed without its dependencies (it
imports pyomo, pandas, numpy, pymoo and cloudpickle, which are here). It prints the table
(and writes it with --out).

Instances (all exact fronts, no constraints):
- HAWQ-V3's ResNet-18 and ResNet-50 bit allocations (tests/data, the integer programs of
  tests/test_hawq.py, whose `hawq_problem` builds them; layers tied to one bit-width are one
  row): edge-only, weights at 4 or 8 bits, objectives error and memory_bytes (2 objectives),
  and error, memory_bytes and latency_ms where latency_ms carries the BOPs (MACs x b x b,
  3 objectives).
- The joint split and bits problem of the bundled `alexnet` profile (a chain of 22 nodes):
  prefix mode, bits {2, 4, 8, 16} for weights and activations, bit-dependent edge latency,
  10 Mbit/s and rtt 20 ms, objectives latency_ms and error.

pyaugmecon solves each as a Pyomo MILP written here from SPEC section 4 (`SplitMILP`, not
from moosplit's code). Before any timing the MILP is checked against moosplit's evaluator:
for --checks random plans per instance its decisions are fixed to the plan, and each
objective, minimised and then maximised over what is left free, must equal
`moosplit.evaluate` within 1e-9 relative; the script stops otherwise.

pyaugmecon is run in one worker process (`cpu_count=1`), with HiGHS at zero MIP gaps (the
grid's MILPs also at MIP and primal feasibility tolerances of 1e-9: at HiGHS's defaults a
binary left at 1e-6 moved AlexNet's scaled latency by units, and pyaugmecon reported points
5e-5 off their plans and missed 18 of 407; its payoff table keeps the defaults), and
given what it needs to find every point, read off moosplit's exact front (so it is shown at
its best, with knowledge it would not have): the nadir point, and grid steps no larger than
the gaps between front values. An objective whose front values are integers is scaled to
its unit (the gcd of their differences), so AUGMECON-R's bypass, which rounds the slack to
a whole number, jumps exactly; a float objective is scaled so that one grid step is half
its smallest gap (a rounded slack then never jumps over a front value). The objective with
the most such steps is optimised, not gridded; it is scaled so that its smallest front gap
is one unit, so that the augmentation term (at most 1e-3 x the normalised slacks) can never
pick a point over one with a better first objective. The grid has as many points as the
finest gridded objective needs; pyaugmecon uses one count for all gridded objectives. With
3 objectives that grid is the square of it, and --max-grid caps it (the report says so).

Fronts are compared point by point: two vectors are equal when every objective agrees
within 1e-6 relative (plus 1e-12 of the objective's largest value, for zeros). `missing`
counts exact front points pyaugmecon did not report, `extra` the points it reported that
are not on the exact front. Its points are also decoded into plans and re-evaluated with
moosplit's evaluator (the largest relative difference is reported).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import os
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import date
from functools import reduce
from pathlib import Path

import numpy as np
from common import machine

import moosplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from test_hawq import hawq_problem  # noqa: E402  (tests/ is not a package)

INSTALL = "pip install pyomo highspy && pip install --no-deps pyaugmecon"
ADAPTER = "highs_for_pyaugmecon"
RTOL = 1e-6
CHECK_RTOL = 1e-9
ALEXNET_BITS = (2, 4, 8, 16)
TOLERANCES = {"mip_feasibility_tolerance": 1e-9, "primal_feasibility_tolerance": 1e-9}
"""HiGHS's MIP feasibility (and integrality) and LP feasibility tolerances for the grid's
MILPs (1e-6 and 1e-7 by default, under which a binary at 1e-6 times a cloud latency moves
the scaled latency by units: AlexNet's front then had points off by 5e-5 relative)."""
PENALTY = 0.5  # AUGMECON's augmentation weight, in units of the first objective's smallest gap


# --------------------------------------------------------------------------- instances
def hawq_instance(model: str, objectives: int) -> moosplit.SplitProblem:
    """HAWQ-V3's `model` with no budget: error + size (2), or error + size + BOPs (3)."""
    instance = json.loads((ROOT / "tests" / "data" / f"hawq_{model}.json").read_text())
    kind = "model_size" if objectives == 2 else "bops"
    setting = next(s for s in instance["settings"] if s["constraint_kind"] == kind)
    problem, _ = hawq_problem(instance, setting)
    names = ("error", "memory_bytes") + (("latency_ms",) if objectives == 3 else ())
    return problem.replace(objectives=names, constraints={})


def alexnet_instance() -> moosplit.SplitProblem:
    return moosplit.SplitProblem(moosplit.load_profile("alexnet"),
                                 moosplit.Network(10.0, rtt_ms=20.0),
                                 objectives=("latency_ms", "error"), bits=ALEXNET_BITS)


INSTANCES = {
    "hawq-resnet18-2": (lambda: hawq_instance("resnet18", 2), "HAWQ-V3 ResNet-18 (16 rows)",
                        "error, size"),
    "hawq-resnet18-3": (lambda: hawq_instance("resnet18", 3), "HAWQ-V3 ResNet-18 (16 rows)",
                        "error, size, BOPs"),
    "hawq-resnet50-2": (lambda: hawq_instance("resnet50", 2), "HAWQ-V3 ResNet-50 (48 rows)",
                        "error, size"),
    "hawq-resnet50-3": (lambda: hawq_instance("resnet50", 3), "HAWQ-V3 ResNet-50 (48 rows)",
                        "error, size, BOPs"),
    "alexnet": (alexnet_instance, "AlexNet split + bits {2,4,8,16}, 10 Mbit/s",
                "latency, error"),
}


# --------------------------------------------------------------------------- pyaugmecon
def load_pyaugmecon():
    """pyaugmecon, Pyomo and highspy, or exit with one line saying how to install them."""
    try:
        import highspy
        import pyomo.environ as pyo
        from pyaugmecon import PyAugmecon
    except ImportError as exc:
        print(f"bench_augmecon.py needs pyaugmecon, Pyomo and highspy ({exc.name} is "
              f"missing): {INSTALL}", file=sys.stderr)
        raise SystemExit(2) from None
    from pyomo.opt import SolverFactory
    if ADAPTER not in SolverFactory:
        SolverFactory.register(ADAPTER, doc="HiGHS as pyaugmecon 1.0.8 calls it")(
            _adapter(SolverFactory.get_class("highs"), highspy))
    return pyo, PyAugmecon


def _adapter(highs_class, highspy):
    """Pyomo's HiGHS as pyaugmecon 1.0.8 can call it.

    pyaugmecon creates every solver with `solver_io` and `manage_env` (Gurobi's arguments),
    which Pyomo's HiGHS refuses, so they are dropped. Its workers are forked after HiGHS
    ran in the parent (the payoff table); HiGHS's global thread scheduler does not survive a
    fork (the first solve in the child hangs), so each process resets it once. The grid's
    MILPs (in the worker) get TOLERANCES; the payoff table (in the parent) keeps HiGHS's
    defaults, since its lexicographic steps fix an objective to an equality, and at 1e-9 an
    equality on a scaled objective of 1e7 units is infeasible in floating point.
    """
    parent = os.getpid()
    state = {"pid": parent}

    class HighsForPyaugmecon(highs_class):
        def __init__(self, **kwargs):
            kwargs.pop("solver_io", None)
            kwargs.pop("manage_env", None)
            if state["pid"] != os.getpid():
                highspy.Highs.resetGlobalScheduler(True)
                state["pid"] = os.getpid()
            super().__init__(**kwargs)
            if os.getpid() != parent:
                self.options.update(TOLERANCES)

    return HighsForPyaugmecon


# --------------------------------------------------------------------------- the MILP
@dataclass
class Choice:
    """One (bits_w, bits_a) choice of an edge node, with its costs."""

    bits_w: int
    bits_a: int
    edge_ms: float
    error: float
    weight_bytes: float


class SplitMILP:
    """SPEC section 4 in prefix mode as a Pyomo MILP, written from the SPEC alone.

    Decisions: s[n] = 1 for the split n (within the problem's split bounds; sum 1), so node i
    is on the edge iff x_i = sum_{n >= i} s[n] is 1; p[i, k] = 1 when edge node i runs at
    its k-th (bits_w, bits_a) choice (sum_k p[i, k] = x_i). A node without weights has one
    bits_w (the largest bit-width); a node whose activation bits change nothing (same
    activation error and latency at every width, and an output that is never sent) has one
    bits_a (the largest). Plans that differ only there have equal objectives.
    Transmission: C_n, the cut tensors of split n (SPEC: tensors of S and the input with a
    consumer outside S, and the sinks in S), gives cut_t = sum of s[n] over the n whose C_n
    holds t; y[t, b] in [0, 1] with sum_b y[t, b] = cut_t and y[t, b] <= a[t, b] (node t at
    activation bits b). A cut node is on the edge, so exactly one a[t, .] is 1 and
    y[t, b] = cut_t AND a[t, b]: the sent bits sum_{t, b} out_elems_t * b * y[t, b] are exact.
    Objectives, linear: latency_ms (edge choices + rtt + transmission + cloud rows off the
    edge + packing of the cut tensors, when the profile states its times), error (weight +
    activation error of the choices), memory_bytes (weights at their
    bits; only when no tensor has elements, so that the working set is zero, as in HAWQ).
    """

    def __init__(self, problem: moosplit.SplitProblem):
        if problem.mode != "prefix" or problem.codecs is not None or problem.constraints:
            raise ValueError("SplitMILP: prefix mode, no codecs and no constraints only")
        profile = problem.profile
        self.problem = problem
        self.n = profile.n_nodes
        rows = range(self.n + 1)
        consumers = [[] for _ in rows]
        for node in rows:
            for pred in profile.inputs[node]:
                consumers[pred].append(node)
        low, high = problem.split_bounds
        self.splits = list(range(low, high + 1))
        self.cut = {n: [t for t in range(n + 1)
                        if any(c > n for c in consumers[t]) or (t >= 1 and not consumers[t])]
                    for n in self.splits}
        sent = {t for tensors in self.cut.values() for t in tensors}
        self.out_elems = [int(v) for v in profile.out_elems]
        unsupported = set(problem.objectives) - {"latency_ms", "error", "memory_bytes"}
        if unsupported or ("memory_bytes" in problem.objectives and any(self.out_elems)):
            raise ValueError(f"SplitMILP: objectives {problem.objectives} not modelled")
        bits = problem.bit_set
        self.choices: dict[int, list[Choice]] = {}
        self.weights = [int(v) > 0 for v in profile.weight_elems]
        self.a_matters = [False] * (self.n + 1)
        for i in range(1, self.n + 1):
            weights = self.weights[i]
            lat = {(w, a): self._edge_ms(profile, i, w, a) for w in bits for a in bits}
            aerr = {b: float(profile.activation_error[b][i]) for b in bits}
            matters = ((i in sent and self.out_elems[i] > 0) or len(set(aerr.values())) > 1
                       or any(len({lat[w, a] for a in bits}) > 1 for w in bits))
            self.a_matters[i] = matters
            self.choices[i] = [
                Choice(w, a, lat[w, a],
                       (float(profile.weight_error[w][i]) if weights else 0.0) + aerr[a],
                       int(profile.weight_elems[i]) * w / 8)
                for w in (bits if weights else bits[-1:])
                for a in (bits if matters else bits[-1:])]
        self.sent_bits = [t for t in sorted(sent) if t >= 1 and self.out_elems[t] > 0]

    @staticmethod
    def _edge_ms(profile, i: int, bits_w: int, bits_a: int) -> float:
        if profile.edge_ms_bits is None or (bits_w, bits_a) == (16, 16):
            return float(profile.edge_ms[i])
        return float(profile.edge_ms_bits[(bits_w, bits_a)][i])

    def build(self, pyo):
        """A ConcreteModel with the decisions and one Expression per objective (`f_<name>`)."""
        problem, profile = self.problem, self.problem.profile
        bits = problem.bit_set
        m = pyo.ConcreteModel()
        m.s = pyo.Var(self.splits, domain=pyo.Binary)
        index = [(i, k) for i in self.choices for k in range(len(self.choices[i]))]
        m.p = pyo.Var(index, domain=pyo.Binary)
        m.y = pyo.Var([(t, b) for t in self.sent_bits for b in bits], bounds=(0, 1))
        m.one_split = pyo.Constraint(expr=sum(m.s[n] for n in self.splits) == 1)
        x = {i: sum(m.s[n] for n in self.splits if n >= i) for i in self.choices}
        m.one_choice = pyo.Constraint(list(self.choices), rule=lambda m, i: sum(
            m.p[i, k] for k in range(len(self.choices[i]))) == x[i])
        cut = {t: sum(m.s[n] for n in self.splits if t in self.cut[n])
               for t in [0, *self.sent_bits]}

        def at_bits(t, b):
            return sum(m.p[t, k] for k, c in enumerate(self.choices[t]) if c.bits_a == b)

        m.sent_once = pyo.Constraint(self.sent_bits, rule=lambda m, t: sum(
            m.y[t, b] for b in bits) == cut[t])
        m.sent_at = pyo.Constraint(list(m.y.index_set()), rule=lambda m, t, b:
                                   m.y[t, b] <= at_bits(t, b))
        tx_bits = profile.batch * (self.out_elems[0] * int(profile.input_bits) * cut[0] + sum(
            self.out_elems[t] * b * m.y[t, b] for t in self.sent_bits for b in bits))
        choose = {name: sum(getattr(c, name) * m.p[i, k] for i in self.choices
                            for k, c in enumerate(self.choices[i]))
                  for name in ("edge_ms", "error", "weight_bytes")}
        network = problem.network
        m.f_latency_ms = pyo.Expression(expr=(
            choose["edge_ms"] + float(network.rtt_ms)
            + 1000.0 * tx_bits / (float(network.bandwidth_mbps) * 1e6)
            + sum(float(profile.cloud_ms[i]) * (1 - x[i]) for i in self.choices)
            + sum(self.out_elems[t] * profile.batch * 1e-6 * cut[t] * (  # packing (SPEC 4)
                profile.pack_ns_per_element + profile.unpack_ns_per_element) for t in cut)))
        m.f_error = pyo.Expression(expr=choose["error"])
        m.f_memory_bytes = pyo.Expression(expr=choose["weight_bytes"])
        return m

    def choice(self, i: int, bits_w: int, bits_a: int) -> int:
        """The index k of node i's choice for a plan's bits (0 in bits_w: no weights)."""
        top = self.problem.bit_set[-1]
        key = (bits_w if self.weights[i] else top, bits_a if self.a_matters[i] else top)
        return next(k for k, c in enumerate(self.choices[i]) if (c.bits_w, c.bits_a) == key)

    def fix(self, m, plans: moosplit.Plans, row: int) -> None:
        """Fix the decisions of `m` to plan `row` of `plans`."""
        split = int(plans.edge[row].sum())
        for n in self.splits:
            m.s[n].fix(int(n == split))
        for i, choices in self.choices.items():
            chosen = (self.choice(i, int(plans.bits_w[row, i]), int(plans.bits_a[row, i]))
                      if plans.edge[row, i] else -1)
            for k in range(len(choices)):
                m.p[i, k].fix(int(k == chosen))

    def plans_of(self, s_values: dict, p_values: dict) -> moosplit.Plans:
        """The plans whose decisions are the given solution values (one dict per plan)."""
        count, rows = len(s_values), self.n + 1
        edge = np.zeros((count, rows), bool)
        bits_w = np.zeros((count, rows), np.int16)
        bits_a = np.zeros((count, rows), np.int16)
        for row, (s, p) in enumerate(zip(s_values, p_values, strict=True)):
            split = max(s, key=lambda n: s[n])
            edge[row, 1:split + 1] = True
            for (i, k), value in p.items():
                if value > 0.5:
                    c = self.choices[i][k]
                    bits_w[row, i] = c.bits_w if self.weights[i] else 0
                    bits_a[row, i] = c.bits_a
        return moosplit.Plans(edge, bits_w, bits_a, np.zeros(count, np.int16))


def random_plans(problem: moosplit.SplitProblem, count: int, seed: int) -> moosplit.Plans:
    """`count` random prefix plans: a split within the bounds, then random bits per node."""
    rng = np.random.default_rng(seed)
    rows, bits = problem.profile.n_rows, np.array(problem.bit_set)
    low, high = problem.split_bounds
    splits = rng.integers(low, high + 1, count)
    edge = np.arange(rows)[None, :] <= splits[:, None]
    edge[:, 0] = False
    bits_w = np.where(edge & (problem.profile.weight_elems > 0)[None, :],
                      rng.choice(bits, (count, rows)), 0)
    bits_a = np.where(edge, rng.choice(bits, (count, rows)), 0)
    return moosplit.Plans(edge, bits_w, bits_a, np.zeros(count, np.int16))


def relative(value, want):
    """|value - want| relative to |want|; absolute where want is 0 (an error of 0)."""
    return np.abs(value - want) / np.where(want == 0, 1.0, np.abs(want))


def check_milp(pyo, milp: SplitMILP, count: int, seed: int) -> float:
    """Largest relative difference between the MILP's objectives (each minimised and
    maximised with the decisions of a random plan fixed) and moosplit's evaluator; raises
    SystemExit when it is over CHECK_RTOL or a fixed plan is infeasible in the MILP."""
    problem = milp.problem
    plans = random_plans(problem, count, seed)
    truth = moosplit.evaluate(problem, plans).objectives(problem.objectives)
    m = milp.build(pyo)
    m.check = pyo.Objective(expr=0.0)
    solver = pyo.SolverFactory("highs")
    worst = 0.0
    for row in range(count):
        milp.fix(m, plans, row)
        for j, name in enumerate(problem.objectives):
            for sense in (pyo.minimize, pyo.maximize):
                m.check.set_value(getattr(m, f"f_{name}"))
                m.check.sense = sense
                result = solver.solve(m)
                if result.solver.termination_condition != pyo.TerminationCondition.optimal:
                    raise SystemExit(f"MILP check failed: plan {row} (seed {seed}) is "
                                     f"{result.solver.termination_condition} in the MILP")
                value, want = pyo.value(getattr(m, f"f_{name}")), truth[row, j]
                diff = relative(value, want)
                worst = max(worst, diff)
                if diff > CHECK_RTOL:
                    raise SystemExit(f"MILP check failed: plan {row} (seed {seed}), {name} "
                                     f"{'min' if sense == pyo.minimize else 'max'} is "
                                     f"{value!r}, the evaluator says {want!r}")
    return worst


# --------------------------------------------------------------------------- settings
@dataclass
class Tuning:
    """What pyaugmecon is given: objective order, scales, grid points and nadir point."""

    order: list[int]
    scale: list[float]
    grid_points: int
    nadir: list[float]
    capped: bool = False
    notes: list[str] = field(default_factory=list)


def tuning(exact: np.ndarray, max_grid: int) -> Tuning:
    """Settings under which AUGMECON-R finds every point of the front `exact` (see the
    module docstring); the grid is capped to max_grid points in all."""
    k = exact.shape[1]
    steps, scales, needs = [], [], []
    for j in range(k):
        values = np.unique(exact[:, j])
        gaps = np.diff(values)
        span = float(values[-1] - values[0])
        if len(values) < 2:
            steps.append(1.0)
            scales.append(1.0)
            needs.append(1)
            continue
        if np.all(values == np.round(values)) and values[-1] < 2**53:
            unit = reduce(math.gcd, [int(v) for v in values - values[0]])
            steps.append(float(unit))
            needs.append(round(span / unit))
        else:
            steps.append(float(gaps.min()) / 2)
            needs.append(math.ceil(span / steps[-1]))
        scales.append(1.0 / steps[-1])
    primary = int(np.argmax(needs))
    gridded = sorted((j for j in range(k) if j != primary), key=lambda j: -needs[j])
    order = [primary, *gridded]
    scales[primary] = 1.0 / float(np.diff(np.unique(exact[:, primary])).min())
    points = max(needs[j] for j in gridded) + 1
    limit = int(max_grid ** (1 / (k - 1)))
    capped = points > limit
    if capped:
        points = limit
        # the capped grid is coarser than the unit: scale so that one step is one unit
        for j in gridded:
            span = float(np.ptp(exact[:, j]))
            scales[j] = (points - 1) / span if span else 1.0
    nadir = [-scales[j] * float(exact[:, j].max()) for j in gridded]
    return Tuning(order, [scales[j] for j in order], points, nadir, capped)


# --------------------------------------------------------------------------- runs
def run_moosplit(problem, solver: str, time_limit: float) -> dict:
    start = time.perf_counter()
    front = moosplit.solve(problem, solver, time_limit=time_limit)
    return {"time_s": time.perf_counter() - start, "F": np.asarray(front.F, float),
            "status": front.status.value, "guarantee": front.guarantee.kind.value}


def run_pyaugmecon(pyo, PyAugmecon, milp: SplitMILP, tune: Tuning, time_limit: float,
                   label: str) -> dict:
    """pyaugmecon's front (in moosplit's units and order), its time, and how it ended."""
    problem = milp.problem
    m = milp.build(pyo)
    m.obj_list = pyo.ObjectiveList()
    for j, scale in zip(tune.order, tune.scale, strict=True):
        m.obj_list.add(expr=scale * getattr(m, f"f_{problem.objectives[j]}"),
                       sense=pyo.minimize)
    for objective in m.obj_list.values():
        objective.deactivate()
    options = {
        "name": label, "grid_points": tune.grid_points, "nadir_points": tune.nadir,
        "penalty_weight": PENALTY, "early_exit": True, "bypass_coefficient": True,
        "flag_array": True, "cpu_count": 1, "shared_flag": False, "output_excel": False,
        "logging_folder": "logs", "pickle_file": "model.p",
        "solver_name": ADAPTER, "solver_io": None,
    }
    # pyaugmecon drops solver options whose value is true (options.py), so only zeros pass:
    # HiGHS's default gaps (1e-4 relative, 1e-6 absolute) would stop short of the optimum
    solver_options = {"MIPGap": None, "NonConvex": None, "mip_rel_gap": 0.0, "mip_abs_gap": 0.0}
    timed_out = threading.Event()
    cwd = os.getcwd()
    with tempfile.TemporaryDirectory() as work:
        os.chdir(work)
        try:
            runner = PyAugmecon(m, options, solver_options)

            def stop() -> None:
                handler = getattr(runner, "procs", None)
                if handler is not None:
                    timed_out.set()
                    handler.terminate_early()
                    for process in handler.procs:
                        process.terminate()

            timer = threading.Timer(time_limit, stop)
            start = time.perf_counter()
            timer.start()
            with contextlib.redirect_stdout(io.StringIO()):
                try:
                    runner.solve()
                except Exception:
                    if not timed_out.is_set():
                        raise
                    runner._process_solutions()  # what it had when stopped
            elapsed = time.perf_counter() - start
            timer.cancel()
        finally:
            os.chdir(cwd)
    keys = runner.get_pareto_solutions()
    found = np.zeros((len(keys), problem.n_objectives))
    for column, (j, scale) in enumerate(zip(tune.order, tune.scale, strict=True)):
        found[:, j] = [key[column] / scale for key in keys]
    variables = [runner.get_decision_variables(key) for key in keys]
    plans = milp.plans_of([v["s"].to_dict() for v in variables],
                          [v["p"].to_dict() for v in variables])
    evaluated = moosplit.evaluate(problem, plans).objectives(problem.objectives)
    deviation = float(np.max(relative(found, evaluated), initial=0.0))
    ideal = np.zeros(problem.n_objectives)  # the payoff table's diagonal, moosplit's units
    for column, (j, scale) in enumerate(zip(tune.order, tune.scale, strict=True)):
        ideal[j] = float(np.diag(runner.model.payoff)[column]) / scale
    return {"time_s": elapsed, "F": found, "F_plans": evaluated, "ideal": ideal,
            "timed_out": timed_out.is_set(),
            "models": runner.model.models_solved.value(),
            "infeasible": runner.model.infeasibilities.value(), "deviation": deviation}


def compare(exact: np.ndarray, found: np.ndarray) -> tuple[int, int]:
    """(missing, extra): exact points with no equal found point, found points with no
    equal exact point (equal: every objective within RTOL relative)."""
    if len(found) == 0 or len(exact) == 0:
        return len(exact), len(found)
    floor = 1e-12 * np.abs(exact).max(axis=0)
    a, b = exact[:, None, :], found[None, :, :]
    equal = np.all(np.abs(a - b) <= RTOL * np.maximum(np.abs(a), np.abs(b)) + floor, axis=2)
    return int((~equal.any(axis=1)).sum()), int((~equal.any(axis=0)).sum())


# --------------------------------------------------------------------------- report
def machine_line() -> str:
    """common.machine()'s line with pyaugmecon's, Pyomo's and highspy's versions."""
    from importlib.metadata import version
    return (f"{machine()}, pyaugmecon {version('pyaugmecon')}, Pyomo {version('pyomo')}, "
            f"highspy {version('highspy')}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--time-limit", type=float, default=600.0,
                        help="seconds per pyaugmecon run (it returns what it has then)")
    parser.add_argument("--cpsat-time-limit", type=float, default=300.0)
    parser.add_argument("--checks", type=int, default=200,
                        help="random plans per instance checked against the evaluator")
    parser.add_argument("--max-grid", type=int, default=10_000_000,
                        help="most grid points given to pyaugmecon (all gridded objectives)")
    parser.add_argument("--instances", default=",".join(INSTANCES),
                        help=f"comma-separated, of: {', '.join(INSTANCES)}")
    parser.add_argument("--out", default=None, help="markdown file to write the table to")
    args = parser.parse_args()
    pyo, PyAugmecon = load_pyaugmecon()
    load = os.getloadavg()[0]
    rows = []
    for name in args.instances.split(","):
        make, label, objectives = INSTANCES[name]
        problem = make()
        milp = SplitMILP(problem)
        worst = check_milp(pyo, milp, args.checks, seed=1)
        print(f"{name}: MILP = evaluator on {args.checks} random plans "
              f"(largest relative difference {worst:.1e})", flush=True)
        epsilon = run_moosplit(problem, "epsilon", args.cpsat_time_limit)
        if epsilon["status"] != "optimal":
            raise SystemExit(f"{name}: `epsilon` did not prove its front ({epsilon['status']})"
                             f" within {args.cpsat_time_limit:g} s; pyaugmecon's grid needs it")
        cpsat = run_moosplit(problem, "cpsat", args.cpsat_time_limit)
        tune = tuning(epsilon["F"], args.max_grid)
        augmecon = run_pyaugmecon(pyo, PyAugmecon, milp, tune, args.time_limit, name)
        row = {"name": name, "label": label, "objectives": objectives, "epsilon": epsilon,
               "cpsat": cpsat, "augmecon": augmecon, "tune": tune, "check": worst,
               "cpsat_diff": compare(epsilon["F"], cpsat["F"]),
               "augmecon_diff": compare(epsilon["F"], augmecon["F"])}
        rows.append(row)
        print({k: (v if not isinstance(v, dict)
                   else {a: b for a, b in v.items() if a not in ("F", "F_plans")})
               for k, v in row.items()}, flush=True)
    lines = [
        "| instance | objectives | exact front | `epsilon` (s) | `cpsat` (s) | pyaugmecon (s) "
        "| pyaugmecon points (missing / extra) | MILPs solved | grid points | "
        "pyaugmecon / `epsilon` | pyaugmecon / `cpsat` |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]

    def ratio(slow: dict, slow_done: bool, fast: dict, fast_done: bool, form: str) -> str:
        """slow / fast; a time stopped by its limit is a bound, so the ratio is one too."""
        if not (slow_done or fast_done):
            return "n/a (both stopped)"
        sign = "" if slow_done and fast_done else (">" if fast_done else "<")
        return f"{sign}{slow['time_s'] / fast['time_s']:{form}}x"

    for r in rows:
        e, c, a, t = r["epsilon"], r["cpsat"], r["augmecon"], r["tune"]
        a_done, c_done = not a["timed_out"], c["status"] == "optimal"
        cpsat_note = "" if c["status"] == "optimal" else f" ({c['status']}, {len(c['F'])} points)"
        missing, extra = r["augmecon_diff"]
        grid = f"{t.grid_points:,}" + (f"^{len(t.order) - 1}" if len(t.order) > 2 else "")
        lines.append(
            f"| {r['label']} | {r['objectives']} | {len(e['F'])} | {e['time_s']:.3f} | "
            f"{c['time_s']:.2f}{cpsat_note} | {a['time_s']:.2f}"
            f"{' (time limit)' if a['timed_out'] else ''} | {len(a['F'])} "
            f"({missing} / {extra}) | {a['models']:,} | {grid}{' (capped)' if t.capped else ''}"
            f" | {ratio(a, a_done, e, True, ',.0f')} | {ratio(a, a_done, c, c_done, '.1f')} |")
    table = "\n".join(lines)
    header = (f"Measured {date.today().isoformat()} on {machine_line()}; 1-minute load "
              f"{load:.2f} at the start; pyaugmecon in 1 worker process, HiGHS at zero gaps, "
              f"time limit "
              f"{args.time_limit:g} s; `cpsat` time limit {args.cpsat_time_limit:g} s; "
              f"`python benchmarks/bench_augmecon.py {' '.join(sys.argv[1:])}`.")
    print(header)
    print(table)
    for r in rows:
        ideal = r["epsilon"]["F"].min(axis=0)
        print(f"{r['name']}: `cpsat` vs `epsilon` missing/extra {r['cpsat_diff']}; "
              f"pyaugmecon's points re-evaluated: largest relative difference "
              f"{r['augmecon']['deviation']:.1e}; its payoff table's ideal point against "
              f"the exact front's: {float(np.max(relative(r['augmecon']['ideal'], ideal))):.1e}; "
              f"MILP check {r['check']:.1e}; "
              f"pyaugmecon order {r['tune'].order}, scales {r['tune'].scale}")
    if args.out:
        with open(args.out, "w") as handle:
            handle.write(f"## Against pyaugmecon (AUGMECON-R with HiGHS)\n\n{header}\n\n"
                         f"{table}\n")


if __name__ == "__main__":
    main()
