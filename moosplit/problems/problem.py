"""The declarative split problem (SPEC section 6): data only, validated at construction."""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from .._pickling import reduce_through_init
from ..errors import ProblemError
from ..profiles.profile import Profile
from .codecs import CodecTable
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


@dataclass(frozen=True)
class Network:
    """The link between edge and cloud.

    bandwidth_mbps: uplink rate in Mbit/s (10^6 bit/s). rtt_ms: fixed delay added to every
    plan's latency. tx_power_mw: transmitter power while sending, needed for `energy_mj`.
    """

    bandwidth_mbps: float
    rtt_ms: float = 0.0
    tx_power_mw: float | None = None

    def __post_init__(self) -> None:
        for name, low, optional in (("bandwidth_mbps", None, False), ("rtt_ms", 0.0, False),
                                    ("tx_power_mw", 0.0, True)):
            value = getattr(self, name)
            if value is None and optional:
                continue
            if not _is_number(value) or not math.isfinite(value) or (
                    value <= 0 if low is None else value < low):
                what = "> 0" if low is None else ">= 0"
                raise ProblemError(f"{name} must be a finite number {what}"
                                   + (" or None" if optional else "") + f", got {value!r}")
            object.__setattr__(self, name, float(value))


def _is_number(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


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
        if not isinstance(self.profile, Profile):
            raise ProblemError(f"profile must be a Profile, got {type(self.profile).__name__}")
        if not isinstance(self.network, Network):
            raise ProblemError(f"network must be a Network, got {type(self.network).__name__}")
        objectives = (self.objectives,) if isinstance(self.objectives, str) else self.objectives
        objectives = tuple(objectives)
        if not objectives:
            raise ProblemError("objectives must name at least one quantity, got none")
        for name in objectives:
            if name not in QUANTITIES:
                raise ProblemError(
                    f"unknown objective {name!r}; valid: {', '.join(QUANTITIES)}")
        if len(set(objectives)) != len(objectives):
            raise ProblemError(f"objectives must be distinct, got {objectives}")
        set_("objectives", objectives)

        constraints = dict(self.constraints)
        for name, bound in constraints.items():
            if name not in QUANTITIES:
                raise ProblemError(
                    f"unknown constrained quantity {name!r}; valid: {', '.join(QUANTITIES)}")
            if not _is_number(bound) or not math.isfinite(bound):
                raise ProblemError(f"constraint on {name} must be a finite number, got "
                                   f"{bound!r} (leave the constraint out for no limit)")
            constraints[name] = float(bound)
        set_("constraints", MappingProxyType(constraints))

        available = self.profile.bit_widths
        if self.bits is not None:
            raw = [self.bits] if isinstance(self.bits, (int, np.integer)) else list(self.bits)
            if not raw:
                raise ProblemError("bits must hold at least one bit-width, got none")
            if any(isinstance(b, bool) or not isinstance(b, (int, np.integer, float))
                   or float(b) != int(b) for b in raw):
                raise ProblemError(f"bits must be whole numbers, got {self.bits!r}")
            bits = tuple(sorted({int(b) for b in raw}))
            unavailable = [b for b in bits if b not in available]
            if unavailable:
                raise ProblemError(
                    f"bits {unavailable} have no werr_b/aerr_b columns in profile "
                    f"{self.profile.source}; available: {list(available)}")
            set_("bits", bits)

        if self.mode not in MODES:
            raise ProblemError(f"mode must be one of {MODES}, got {self.mode!r}")
        n = self.profile.n_nodes
        for name in ("min_split", "max_split"):
            value = getattr(self, name)
            if value is None and name == "max_split":
                continue
            if (isinstance(value, bool) or not isinstance(value, (int, np.integer))
                    or not 0 <= value <= n):
                raise ProblemError(f"{name} must be a whole number in 0..{n}, got {value!r}")
            set_(name, int(value))
        if self.min_split > self.split_bounds[1]:
            raise ProblemError(
                f"min_split ({self.min_split}) must be <= max_split ({self.split_bounds[1]})")

        if self.codecs is not None:
            if not isinstance(self.codecs, CodecTable):
                raise ProblemError(
                    f"codecs must be a CodecTable, got {type(self.codecs).__name__}")
            if self.codecs.nodes != self.profile.names:
                raise ProblemError("codecs were read for another profile (its node names "
                                   "differ); read the codec table again for this profile")

        needs_energy = "energy_mj" in objectives or "energy_mj" in constraints
        if needs_energy and self.profile.edge_mj is None:
            raise ProblemError(
                f"energy_mj needs the profile column edge_mj, which {self.profile.source} "
                "does not have")
        if needs_energy and self.network.tx_power_mw is None:
            raise ProblemError("energy_mj needs the transmit power: set "
                               "Network(tx_power_mw=...) (--tx-power-mw)")

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
                 f"objectives={self.objectives}", f"bandwidth_mbps="
                 f"{self.network.bandwidth_mbps}", f"bits={self.bit_set}", f"mode={self.mode!r}"]
        if self.constraints:
            parts.append(f"constraints={dict(self.constraints)}")
        if self.split_bounds != (0, self.profile.n_nodes):
            parts.append(f"splits={self.min_split}..{self.split_bounds[1]}")
        if self.codecs is not None:
            parts.append(f"codecs={self.codecs.names}")
        return f"SplitProblem({', '.join(parts)})"
