"""The whole split problem as one OR-Tools CP-SAT model (used by the `cpsat` backend).

Decisions: x[i] (node i on the edge), one choice y[i][c] per edge node of its (weight,
activation) bit pair, one codec z[k]. Derived booleans: cut[t] (tensor t is sent) and
sent[t][b] (sent at b bits). Every quantity of SPEC section 4 is a linear form over these,
plus the working-set maximum W >= ws_k for every edge node k, and for throughput the
slowest stage T >= edge, link and cloud times.

CP-SAT needs integers. A quantity whose coefficients are whole multiples of 1/8 (bytes:
memory, tx_bytes; MACs) is scaled by 8 and stays exact. The others (latency, error,
energy, throughput) are scaled so that their largest possible total is about 2^30 and
rounded; `rounding` records the worst error this can put on a plan's value, in the
quantity's own units.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from ortools.sat.python import cp_model

from ..costs import (
    bytes_of,
    cost_model,
    energy_mj,
    latency_ms,
    pipeline_stages,
    tensor_bits,
    tensor_bytes,
    transmit_seconds,
)
from ..plans import Plans
from ..problems.problem import SplitProblem, limit
from ..problems.quantities import QUANTITIES
from .oracle_sweep import OracleTimeout

_FLOAT_TOTAL = 2.0**30  # larger totals made CP-SAT prove wrong optima (its LP is in doubles)
_EXACT_SCALES = (1, 8)


@dataclass
class _Linear:
    """A linear form over model literals with float coefficients: sum coef * lit + const."""

    terms: dict = field(default_factory=lambda: defaultdict(float))
    const: float = 0.0

    def add(self, literal, coef: float) -> None:
        if coef:
            self.terms[literal] += float(coef)

    def add_form(self, other: _Linear, factor: float = 1.0) -> None:
        for literal, coef in other.terms.items():
            self.terms[literal] += coef * factor
        self.const += other.const * factor

    # arithmetic, so that the formulas of moosplit.costs apply to linear forms as they are
    def __add__(self, other: _Linear | float) -> _Linear:
        out = _Linear(defaultdict(float, self.terms), self.const)
        if isinstance(other, _Linear):
            out.add_form(other)
        else:
            out.const += float(other)
        return out

    __radd__ = __add__

    def __mul__(self, factor: float) -> _Linear:
        return _Linear(defaultdict(float, {lit: c * factor for lit, c in self.terms.items()}),
                       self.const * factor)

    __rmul__ = __mul__

    def __truediv__(self, divisor: float) -> _Linear:
        return _Linear(defaultdict(float, {lit: c / divisor for lit, c in self.terms.items()}),
                       self.const / divisor)


@dataclass(frozen=True)
class ScaledObjective:
    """One objective in model units: natural (minimisation form) = var / scale + const."""

    name: str
    var: cp_model.IntVar
    scale: float
    const: float
    rounding: float  # worst |model - natural| on one plan, natural units (0: exact)


class CpSatSplitModel:
    """Builds the model once; `objectives` are integer variables the sweep can bound."""

    def __init__(self, problem: SplitProblem,
                 expired: Callable[[], bool] | None = None) -> None:
        self.problem = problem
        self._expired = expired
        self._active: list[int] = []  # prefix mode: tensors still read, in _prefix_candidates
        profile = problem.profile
        self.model = m = cp_model.CpModel()
        n_rows = profile.n_rows
        bits = problem.bit_set
        low, high = problem.split_bounds
        codecs = problem.codec_table
        batch = profile.batch

        # --- edge set
        self.x = [None] + [m.new_bool_var(f"x{i}") for i in range(1, n_rows)]
        if problem.mode == "prefix":
            for i in range(1, n_rows - 1):
                m.add_implication(self.x[i + 1], self.x[i])
        else:
            for src, dst in zip(*profile.edges, strict=True):
                if src > 0:
                    m.add_implication(self.x[dst], self.x[src])
        m.add(sum(self.x[1:]) >= low)
        m.add(sum(self.x[1:]) <= high)

        # --- one (bw, ba) choice per edge node
        costs = cost_model(profile)
        choices = costs.choices(bits)
        self.choices: list[list[tuple[int, int]]] = [[]]
        self.y: list[list] = [[]]
        for i in range(1, n_rows):
            self._check_time(i)
            pairs = [(int(bw), int(ba)) for bw, ba in zip(choices.bits_w[i], choices.bits_a[i],
                                                          strict=True)]
            lits = [m.new_bool_var(f"y{i}_{bw}_{ba}") for bw, ba in pairs]
            m.add(sum(lits) == self.x[i])
            self.choices.append(pairs)
            self.y.append(lits)
        # activation-bit indicator a[i][b] as a linear form over y
        act = [{}] + [{b: [lit for lit, (_, ba) in zip(self.y[i], self.choices[i], strict=True)
                           if ba == b] for b in bits} for i in range(1, n_rows)]

        # --- codec
        self.z = [m.new_bool_var(f"z{k}") for k in range(len(codecs))]
        m.add_exactly_one(self.z)

        # --- cut tensors C(S) (moosplit.costs.CostModel.cut): held on the edge side and read
        # outside it, or an edge sink
        consumers = profile.consumers
        self.cut = []
        for t in range(n_rows):
            self._check_time(t)
            cut = m.new_bool_var(f"cut{t}")
            holder = None if t == 0 else self.x[t]
            if profile.sinks[t]:
                m.add(cut == (0 if holder is None else holder))  # an unread input is not sent
            else:
                if problem.mode == "prefix":
                    outside = self.x[max(consumers[t])].Not()  # prefix: last consumer decides
                else:
                    outside = m.new_bool_var(f"out{t}")
                    readers = [self.x[d].Not() for d in consumers[t]]
                    m.add_bool_or(readers).only_enforce_if(outside)
                    for r in readers:
                        m.add_implication(r, outside)
                if holder is None:
                    m.add(cut == outside)
                else:
                    m.add_implication(cut, holder)
                    m.add_implication(cut, outside)
                    m.add_bool_or([cut, holder.Not(), outside.Not()])
            self.cut.append(cut)
        # sent[t][b] = cut[t] and a[t][b]; the input is sent at its own bit-width
        sent: list[dict] = [{profile.input_bits: self.cut[0]}]
        for t in range(1, n_rows):
            sent.append({})
            for b in bits:
                s = m.new_bool_var(f"sent{t}_{b}")
                a_tb = sum(act[t][b])
                m.add(s <= self.cut[t])
                m.add(s <= a_tb)
                m.add(s >= self.cut[t] + a_tb - 1)
                sent[t][b] = s

        # --- transmission, with codecs
        tx_bits, encode_ms, codec_err = _Linear(), _Linear(), _Linear()
        only_none = len(codecs) == 1
        for t in range(n_rows):
            self._check_time(t)
            for b, s in sent[t].items():
                size = tensor_bits(float(profile.out_elems[t]), b, batch)
                if only_none:
                    tx_bits.add(s, size)
                    continue
                for k, zk in enumerate(self.z):
                    if not codecs.available[k, t]:
                        continue
                    both = m.new_bool_var(f"sent{t}_{b}_{k}")
                    m.add_bool_and([s, zk]).only_enforce_if(both)
                    m.add_bool_or([s.Not(), zk.Not(), both])
                    tx_bits.add(both, size / codecs.ratio[k, t])
            if only_none:
                continue
            for k, zk in enumerate(self.z):
                if not codecs.available[k, t]:
                    m.add_bool_or([self.cut[t].Not(), zk.Not()])
                    continue
                if codecs.err[k, t] == 0 and codecs.encode_ms[k, t] == 0:
                    continue
                both = m.new_bool_var(f"cut{t}_{k}")
                m.add_bool_and([self.cut[t], zk]).only_enforce_if(both)
                m.add_bool_or([self.cut[t].Not(), zk.Not(), both])
                codec_err.add(both, codecs.err[k, t])
                encode_ms.add(both, codecs.encode_ms[k, t])

        # --- per-node linear forms
        edge_ms, cloud_ms, error, weights = _Linear(), _Linear(), _Linear(), _Linear()
        macs, edge_mj = _Linear(), _Linear()
        for i in range(1, n_rows):
            for c, lit in enumerate(self.y[i]):
                edge_ms.add(lit, profile.edge_ms[i] if choices.edge_ms is None
                            else choices.edge_ms[i][c])
                error.add(lit, choices.error[i][c])
                weights.add(lit, choices.weight_bytes[i][c])
            cloud_ms.const += profile.cloud_ms[i]
            cloud_ms.add(self.x[i], -profile.cloud_ms[i])
            macs.add(self.x[i], float(profile.macs[i]))
            if profile.edge_mj is not None:
                edge_mj.add(self.x[i], profile.edge_mj[i])
        edge_ms.add_form(encode_ms)
        for t in range(n_rows):  # packing and unpacking, per cut tensor
            if costs.pack_ms[t] > 0:
                edge_ms.add(self.cut[t], float(costs.pack_ms[t]))
            if costs.unpack_ms[t] > 0:
                cloud_ms.add(self.cut[t], float(costs.unpack_ms[t]))
        error.add_form(codec_err)
        network = problem.network
        tx_seconds = transmit_seconds(tx_bits, network)

        forms: dict[str, _Linear] = {}
        forms["latency_ms"] = latency_ms(edge_ms, tx_seconds, cloud_ms, network)
        forms["error"] = error
        forms["tx_bytes"] = bytes_of(tx_bits)
        forms["edge_macs"] = macs * -1.0  # maximised: minimisation form is -macs
        if profile.edge_mj is not None and network.tx_power_mw is not None:
            forms["energy_mj"] = energy_mj(edge_mj, tx_seconds, network)

        needed = set(problem.objectives) | set(problem.constraints)
        self.objectives: dict[str, ScaledObjective] = {}
        for name in needed - {"memory_bytes", "throughput_fps"}:
            self._check_time(0)
            self.objectives[name] = self._scaled(name, forms[name])
        self._check_time(0)
        if "memory_bytes" in needed:
            self.objectives["memory_bytes"] = self._memory(weights, sent, act)
        if "throughput_fps" in needed:
            self.objectives["throughput_fps"] = self._slowest_stage(edge_ms, tx_seconds,
                                                                    cloud_ms)
        self._apply_constraints()

    def _check_time(self, row: int) -> None:
        """Every 256 rows, stop building (OracleTimeout) once the time limit has passed."""
        if self._expired is not None and row % 256 == 0 and self._expired():
            raise OracleTimeout

    def _prefix_candidates(self, k: int, reads: np.ndarray) -> list[int]:
        """The rows t < k read at or after k, or sinks, in order (kept incrementally as k
        grows: a tensor last read before k is never read again)."""
        if k == 1:
            self._active = [0]
        else:
            self._active.append(k - 1)
        sinks = self.problem.profile.sinks
        self._active = [t for t in self._active if reads[t] >= k or (t > 0 and sinks[t])]
        return self._active

    # ------------------------------------------------------------- scaling
    def _scale_of(self, forms: list[_Linear]) -> tuple[float, bool]:
        coefs = np.array([c for f in forms for c in f.terms.values()] or [0.0])
        for scale in _EXACT_SCALES:
            scaled = coefs * scale
            if np.all(scaled == np.round(scaled)) and np.abs(scaled).sum() < 2.0**50:
                return float(scale), True
        total = np.abs(coefs).sum()
        return (_FLOAT_TOTAL / total if total > 0 else 1.0), False

    def _int_expr(self, form: _Linear, scale: float):
        terms = [(lit, int(round(c * scale))) for lit, c in form.terms.items()]
        terms = [(lit, c) for lit, c in terms if c]
        low = sum(c for _, c in terms if c < 0)
        high = sum(c for _, c in terms if c > 0)
        expr = cp_model.LinearExpr.weighted_sum([lit for lit, _ in terms],
                                                [c for _, c in terms]) if terms else 0
        return expr, low, high, len(terms)

    def _scaled(self, name: str, form: _Linear) -> ScaledObjective:
        scale, exact = self._scale_of([form])
        expr, low, high, n_terms = self._int_expr(form, scale)
        var = self.model.new_int_var(low, high, f"U_{name}")
        self.model.add(var == expr)
        rounding = 0.0 if exact else 0.5 * self._active_terms(n_terms) / scale
        return ScaledObjective(name, var, scale, form.const, rounding)

    def _active_terms(self, n_terms: int) -> int:
        """Most terms of a form true on one plan: per row one bit choice (the choices of a
        node are exclusive), its x, one sent bit-width and one codec term."""
        return min(n_terms, 4 * self.problem.profile.n_rows + 2)

    def _memory(self, weights: _Linear, sent: list[dict], act: list[dict]) -> ScaledObjective:
        """Weights plus W >= the working set of every edge node (SPEC section 4)."""
        profile, m = self.problem.profile, self.model
        n_rows, batch = profile.n_rows, profile.batch
        costs = cost_model(profile)

        def size(t: int, b: int) -> float:
            return tensor_bytes(float(profile.out_elems[t]), b, batch)

        scale, exact = self._scale_of([weights])
        scale = max(scale, 8.0) if exact else scale
        working_sets = []
        # in prefix mode only tensors read at or after k, and sinks, can be live at k: walk
        # those alone (cut mode: any earlier tensor may be cut, and live until sent)
        reads = np.asarray(profile.last_consumer)
        for k in range(1, n_rows):
            self._check_time(k)
            ws = _Linear()
            for b, lits in act[k].items():  # k's own output
                for lit in lits:
                    ws.add(lit, size(k, b))
            earlier = range(k) if self.problem.mode == "cut" else (
                t for t in self._prefix_candidates(k, reads))
            for t in earlier:
                held = self.x[t] if t > 0 else None
                if costs.read_at_or_after(t, k):  # live whenever held
                    if held is None:
                        ws.const += size(0, profile.input_bits)
                    else:
                        for b, lits in act[t].items():
                            for lit in lits:
                                ws.add(lit, size(t, b))
                elif self.problem.mode == "cut" or profile.sinks[t]:
                    # otherwise live only while it waits to be sent; in prefix mode only a
                    # sink can: a tensor whose consumers all precede edge node k is not cut
                    for b, s in sent[t].items():
                        ws.add(s, size(t, b))
            working_sets.append((k, ws))
        ws_scale, ws_exact = self._scale_of([ws for _, ws in working_sets])
        if not (exact and ws_exact):
            total = (sum(abs(c) for c in weights.terms.values())
                     + max(sum(abs(c) for c in ws.terms.values()) + ws.const
                           for _, ws in working_sets))
            scale, exact = _FLOAT_TOTAL / max(total, 1e-300), False
        else:
            scale = max(scale, ws_scale)
        w_expr, w_low, w_high, w_terms = self._int_expr(weights, scale)
        ws_high = 0
        bounds = []
        for k, ws in working_sets:
            expr, _, high, _ = self._int_expr(ws, scale)
            const = int(round(ws.const * scale))
            bounds.append((k, expr, const))
            ws_high = max(ws_high, high + const)
        peak = m.new_int_var(0, max(ws_high, 0), "W")
        for k, expr, const in bounds:
            m.add(peak >= expr + const).only_enforce_if(self.x[k])
        var = m.new_int_var(w_low, w_high + max(ws_high, 0), "U_memory_bytes")
        m.add(var == w_expr + peak)
        # weights: one choice per node; the peak: one bit-width per live tensor
        rounding = 0.0 if exact else 0.5 * (self._active_terms(w_terms) + n_rows + 1) / scale
        return ScaledObjective("memory_bytes", var, scale, 0.0, rounding)

    def _slowest_stage(self, edge_ms: _Linear, tx_seconds: _Linear,
                       cloud_ms: _Linear) -> ScaledObjective:
        """T >= each pipeline stage in seconds; throughput = batch / T (maximised)."""
        stages = pipeline_stages(edge_ms, tx_seconds, cloud_ms)
        total = max(sum(abs(c) for c in s.terms.values()) + abs(s.const) for s in stages)
        scale = _FLOAT_TOTAL / total if total > 0 else 1.0
        high, n_terms = 0, 0
        exprs = []
        for stage in stages:
            expr, low, top, count = self._int_expr(stage, scale)
            const = int(round(stage.const * scale))
            exprs.append((expr, const))
            high, n_terms = max(high, top + const), max(n_terms, count)
        var = self.model.new_int_var(0, max(high, 0), "U_throughput_T")
        for expr, const in exprs:
            self.model.add(var >= expr + const)
        return ScaledObjective("throughput_fps", var, scale, 0.0,
                               0.5 * (self._active_terms(n_terms) + 1) / scale)

    def _apply_constraints(self) -> None:
        """The problem's constraints as bounds on the objective variables.

        Rounded quantities get the bound *relaxed* by their rounding error, so the model
        admits every plan that meets it (its "infeasible" is a proof); the backend checks
        each answer with the evaluator and excludes a plan that only the relaxation admits.
        """
        for name, bound in self.problem.constraints.items():
            limit = self.model_bound(name, bound)
            if limit is None:
                continue  # no plan can break it
            domain = self.model.proto.variables[self.objectives[name].var.index].domain
            domain[1] = min(domain[1], limit)
            if domain[1] < domain[0]:
                self.model.add_bool_or([])  # nothing meets it

    def model_bound(self, name: str, bound: float) -> int | None:
        """The largest model value of `name` a plan meeting `bound` can have (None: any)."""
        obj = self.objectives[name]
        if name == "throughput_fps":
            if bound <= 0:
                return None
            natural = self.problem.profile.batch / limit(name, bound)
        elif QUANTITIES[name].maximise:
            natural = -limit(name, bound)
        else:
            natural = limit(name, bound)
        value = (natural - obj.const + obj.rounding) * obj.scale
        return int(np.floor(value + 1e-9))

    def exclude_plan(self, plans: Plans) -> None:
        """Forbid one plan (a no-good over its edge set, bit choices and codec)."""
        edge, bits_w, bits_a = plans.edge[0], plans.bits_w[0], plans.bits_a[0]
        chosen = []
        for i in range(1, len(edge)):
            if not edge[i]:
                chosen.append(self.x[i].Not())
                continue
            pair = (int(bits_w[i]), int(bits_a[i]))
            chosen.append(self.y[i][self.choices[i].index(pair)])
        chosen.append(self.z[int(plans.codec[0])])
        self.model.add_bool_or([lit.Not() for lit in chosen])

    def hint(self, plans: Plans) -> None:
        """Hint one plan (a batch of one): its edge set, bit choices and codec."""
        edge, bits_w, bits_a = plans.edge[0], plans.bits_w[0], plans.bits_a[0]
        for i in range(1, len(edge)):
            self.model.add_hint(self.x[i], bool(edge[i]))
            pair = (int(bits_w[i]), int(bits_a[i])) if edge[i] else None
            for lit, choice in zip(self.y[i], self.choices[i], strict=True):
                self.model.add_hint(lit, choice == pair)
        for k, lit in enumerate(self.z):
            self.model.add_hint(lit, k == int(plans.codec[0]))

    # ------------------------------------------------------------ solutions
    def plan_from(self, solver: cp_model.CpSolver) -> Plans:
        """The plan of the solver's current solution, as a batch of one."""
        profile = self.problem.profile
        n_rows = profile.n_rows
        edge = np.zeros((1, n_rows), bool)
        bits_w = np.zeros((1, n_rows), np.int16)
        bits_a = np.zeros((1, n_rows), np.int16)
        for i in range(1, n_rows):
            if not solver.boolean_value(self.x[i]):
                continue
            edge[0, i] = True
            for lit, (bw, ba) in zip(self.y[i], self.choices[i], strict=True):
                if solver.boolean_value(lit):
                    bits_w[0, i], bits_a[0, i] = bw, ba
        codec = [next(k for k, z in enumerate(self.z) if solver.boolean_value(z))]
        return Plans(edge, bits_w, bits_a, codec)

    def decision_literals(self) -> list:
        """Every decision literal, for solution hints."""
        return [lit for lit in self.x[1:]] + [lit for lits in self.y[1:] for lit in lits] \
            + list(self.z)
