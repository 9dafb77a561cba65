"""The declarative split problem (SPEC section 6): data only, validated at construction."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from .._pickling import reduce_through_init
from ..errors import ProblemError, ProblemOptionError, shown
from ..profiles.profile import Profile
from ..validation import Choice, Number, is_real
from .codecs import CodecTable
from .network import Network
from .quantities import QUANTITIES

MODES = ("prefix", "cut")

CONSTRAINT_RTOL = 1e-9
"""A plan meets a bound when within this relative slack of it: sums of floats taken in
another order (0.1 + 0.2 vs 0.3) must not flip feasibility between backends."""


def limit(name: str, bound: float) -> float:
    """The worst value of quantity `name` that meets `bound`, slack included: an upper
    limit for a minimised quantity, a lower one for a maximised quantity."""
    slack = CONSTRAINT_RTOL * abs(bound)
    return bound - slack if QUANTITIES[name].maximise else bound + slack


def meets(name: str, values: np.ndarray, bound: float) -> np.ndarray:
    """Whether each value of quantity `name` meets its constraint `bound` (with the slack)."""
    if QUANTITIES[name].maximise:
        return values >= limit(name, bound)
    return values <= limit(name, bound)


def _check_bound(name: str, bound: object) -> float:
    """A constraint's bound: a finite number >= 0 (every quantity is >= 0)."""
    if is_real(bound) and float(bound) >= 0:  # type: ignore[arg-type]
        return float(bound)  # type: ignore[arg-type]
    hint = "every quantity is >= 0" if is_real(bound) else ("leave the constraint out for "
                                                            "no limit")
    raise ProblemOptionError(f"constraint on {name}", "a finite number >= 0", bound, hint=hint)


def _check_bits(bits: object) -> tuple[int, ...]:
    """A bit set: one or more whole numbers (8.0 counts), sorted, without repeats."""
    raw = [bits] if isinstance(bits, (int, np.integer)) else bits
    ok = (isinstance(raw, (list, tuple)) and raw and all(
        is_real(b) and float(b) == int(b) for b in raw))  # type: ignore[arg-type]
    if not ok:
        raise ProblemOptionError("bits", "one or more whole numbers", bits)
    return tuple(sorted({int(b) for b in raw}))  # type: ignore[union-attr]


@dataclass(frozen=True, eq=False)
class SplitProblem:
    """Where to split a profiled model, and at which bit-widths: a multi-objective problem.

    Attributes:
        profile: the model's layer table.
        network: bandwidth, rtt and transmit power.
        objectives: names of SPEC section 4 quantities; each has a fixed sense
            (`edge_macs` and `throughput_fps` are maximised, the rest minimised).
        constraints: worst acceptable value per quantity name: an upper bound for a
            minimised quantity (`{"memory_bytes": 4 * 2**20}`), a lower bound for a
            maximised one. A plan within CONSTRAINT_RTOL (1e-9) relative of a bound meets it.
        bits: the bit set B for edge weights and activations; None (the default) means
            every bit-width the profile has error columns for, plus 16 (see `bit_set`).
        mode: "prefix" (the edge runs rows 1..n) or "cut" (any predecessor-closed set).
        min_split, max_split: bounds on the number of edge nodes (in prefix mode, the split
            n); max_split None means N (see `split_bounds`). min_split=1 in a chain never
            sends the raw input. Fields keep what was declared, so `replace(profile=...)`
            re-resolves the defaults for the new profile.
        codecs: feature codecs for the transmitted tensors (None: only `none`).

    Example:
        >>> import moosplit
        >>> profile = moosplit.load_profile("portend_resnet20")
        >>> problem = moosplit.SplitProblem(profile, moosplit.Network(bandwidth_mbps=10),
        ...                                 objectives=("latency_ms", "memory_bytes"))
        >>> problem.n_objectives, problem.split_bounds
        (2, (0, 11))
    """

    profile: Profile
    network: Network
    objectives: tuple[str, ...] = ("latency_ms", "error")
    constraints: Mapping[str, float] = field(default_factory=dict)
    bits: tuple[int, ...] | None = None
    mode: str = "prefix"
    min_split: int = 0
    max_split: int | None = None
    codecs: CodecTable | None = None

    def __post_init__(self) -> None:
        set_ = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731
        fail = ProblemOptionError
        if not isinstance(self.profile, Profile):
            raise fail("profile", "a Profile", type(self.profile).__name__)
        if not isinstance(self.network, Network):
            raise fail("network", "a Network", type(self.network).__name__)
        names = ", ".join(QUANTITIES)
        objectives = (self.objectives,) if isinstance(self.objectives, str) else self.objectives
        objectives = tuple(objectives)
        if not objectives:
            raise fail("objectives", "at least one quantity", objectives)
        for name in objectives:
            if name not in QUANTITIES:
                raise fail("objectives", f"quantities ({names})", name,
                           hint=f"unknown objective {name!r}")
        if len(set(objectives)) != len(objectives):
            raise fail("objectives", "distinct", objectives)
        set_("objectives", objectives)

        constraints = dict(self.constraints)
        for name, bound in constraints.items():
            if name not in QUANTITIES:
                raise fail("constraints", f"bounds on quantities ({names})", name,
                           hint=f"unknown constrained quantity {name!r}")
            constraints[name] = _check_bound(name, bound)
        set_("constraints", MappingProxyType(constraints))

        available = self.profile.bit_widths
        if self.bits is not None:
            bits = _check_bits(self.bits)
            unavailable = [b for b in bits if b not in available]
            if unavailable:
                raise fail("bits", f"bit-widths of profile {self.profile.source} "
                           f"({', '.join(map(str, available))})", self.bits,
                           hint=f"bits {unavailable} have no werr_b/aerr_b columns")
            set_("bits", bits)

        set_("mode", Choice(MODES)("mode", self.mode, error=fail))
        n = self.profile.n_nodes
        splits = Number(whole=True, at_least=0, at_most=n)
        set_("min_split", splits("min_split", self.min_split, error=fail))
        if self.max_split is not None:
            set_("max_split", splits("max_split", self.max_split, error=fail))
        if self.min_split > self.split_bounds[1]:
            raise fail("min_split", f"<= max_split ({self.split_bounds[1]})", self.min_split)

        if self.codecs is not None:
            if not isinstance(self.codecs, CodecTable):
                raise fail("codecs", "a CodecTable", type(self.codecs).__name__)
            if self.codecs.nodes != self.profile.names:
                raise fail("codecs", "a codec table read for this profile", "one read for "
                           "another (its node names differ)",
                           hint="read the codec table again for this profile")

        needs_energy = "energy_mj" in objectives or "energy_mj" in constraints
        if needs_energy and self.profile.edge_mj is None:
            raise ProblemError(
                f"energy_mj needs the profile column edge_mj, which {self.profile.source} "
                "does not have")
        if needs_energy and self.network.tx_power_mw is None:
            raise fail("tx_power_mw", "set for energy_mj (the transmit power)", None)

    # -------------------------------------------------------------- helpers
    @property
    def n_objectives(self) -> int:
        """Number of objectives k (the width of every front's F)."""
        return len(self.objectives)

    @property
    def bit_set(self) -> tuple[int, ...]:
        """The bit set B in force: `bits`, or every bit-width of the profile when None."""
        return self.profile.bit_widths if self.bits is None else self.bits

    @property
    def split_bounds(self) -> tuple[int, int]:
        """(min, max) number of edge nodes; `max_split` None means N."""
        top = self.profile.n_nodes if self.max_split is None else self.max_split
        return self.min_split, top

    @property
    def maximise(self) -> tuple[bool, ...]:
        """For each objective, whether it is maximised."""
        return tuple(QUANTITIES[name].maximise for name in self.objectives)

    @property
    def codec_table(self) -> CodecTable:
        """The codecs in force (only `none` when the problem has none)."""
        if self.codecs is None:
            return CodecTable.none(self.profile)
        return self.codecs

    def __reduce__(self) -> tuple:
        """Pickle through the constructor (its read-only mappings do not pickle as such)."""
        return reduce_through_init(self)

    def replace(self, **changes: object) -> SplitProblem:
        """A copy with some fields changed, validated again.

        Example:
            >>> import moosplit
            >>> p = moosplit.SplitProblem(moosplit.load_profile("portend_resnet20"),
            ...                           moosplit.Network(bandwidth_mbps=10))
            >>> p.replace(network=moosplit.Network(bandwidth_mbps=1)).network.bandwidth_mbps
            1.0
        """
        return dataclasses.replace(self, **changes)

    def __repr__(self) -> str:
        parts = [f"profile={self.profile.metadata.get('model', self.profile.source)!r}",
                 f"objectives={self.objectives}",
                 f"bandwidth_mbps={shown(self.network.bandwidth_mbps)}",
                 f"rtt_ms={shown(self.network.rtt_ms)}"]
        if self.network.tx_power_mw is not None:
            parts.append(f"tx_power_mw={shown(self.network.tx_power_mw)}")
        parts += [f"bits={self.bit_set}", f"mode={self.mode!r}"]
        if self.constraints:
            parts.append(f"constraints={dict(self.constraints)}")
        if self.split_bounds != (0, self.profile.n_nodes):
            parts.append(f"splits={self.min_split}..{self.split_bounds[1]}")
        if self.codecs is not None:
            parts.append(f"codecs={self.codecs.names}")
        return f"SplitProblem({', '.join(parts)})"
