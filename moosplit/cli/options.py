"""Problem options shared by the commands that solve (SPEC section 7)."""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..errors import OptionError, ProblemError
from ..problems.codecs import read_codecs
from ..problems.network import TRANSMITTER_PRESETS, network_of
from ..problems.problem import MODES, SplitProblem
from ..problems.quantities import QUANTITIES
from ..profiles.bundled import bundled_profiles, load_profile
from ..solvers.base import Solver
from ..solvers.registry import (
    DEFAULT_RESOLUTION,
    DEFAULT_SOLVER,
    available_solvers,
    get_solver,
)
from ..workflows.figures import DEFAULT_DPI, SCALES, FigureOptions

MIB = 2**20

FIGURE_FLAGS = ("size", "dpi", "xlim", "ylim", "xscale", "yscale")
"""The figure options (FigureOptions' fields), each set by the flag of its name."""

FLAGS = {
    "bandwidth_mbps": "--bandwidth-mbps", "rtt_ms": "--rtt-ms", "tx_power_mw": "--tx-power-mw",
    "min_split": "--min-split", "max_split": "--max-split", "bits": "--bits",
    "objectives": "--objectives", "mode": "--mode", "time_limit": "--time-limit",
    "seed": "--seed", "resolution": "--resolution", "pick": "--pick", "solver": "--solver",
    "solvers": "--solvers", "transmitter": "--transmitter", "max_workers": "--workers",
    "rates": "--rates", "vary": "--vary",
    **{name: f"--{name}" for name in FIGURE_FLAGS},
}

"""Library parameters and the flags that set them: a library OptionError names the flag."""


class UsageError(Exception):
    """Bad command-line input (exit 2)."""


Flag = str | tuple[str, object]


def solver_opt_hint(options: Sequence[str]) -> str:
    """How the command line sets the backend options that would lift a refusal."""
    return "from the command line: " + ", ".join(f"--solver-opt {o}=N" for o in options)


def cli_message(exc: OptionError, flags: dict[str, Flag] | None = None) -> str:
    """An OptionError's message with the parameter called by its flag; a flag given as
    (flag, value) also shows the value as the user typed it."""
    flag = {**FLAGS, **(flags or {})}.get(exc.parameter, exc.parameter)
    name, got = flag if isinstance(flag, tuple) else (flag, None)
    return exc.describe(name, got)


@contextmanager
def flags_for(**flags: Flag) -> Iterator[None]:
    """Name the given library parameters by these flags in OptionErrors raised inside
    (for parameters whose flag depends on the command, such as a figure's path)."""
    try:
        yield
    except OptionError as exc:
        if exc.parameter in flags:
            raise UsageError(cli_message(exc, flags)) from None
        raise


def comma_list(kind: type):
    """argparse type: a comma-separated list of `kind`."""
    def parse(text: str) -> tuple:
        items = [t.strip() for t in text.split(",") if t.strip()]
        if not items:
            raise argparse.ArgumentTypeError("expected a comma-separated list, got nothing")
        try:
            return tuple(kind(t) for t in items)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected comma-separated {kind.__name__} values, got {text!r}") from None
    parse.__name__ = f"list of {kind.__name__}"
    return parse


class ProfileAsOption:
    """Passes the shared problem options through, PROFILE becoming `--profile` (for the
    commands whose positional arguments are front files: `plot`, `export`)."""

    def __init__(self, parser: argparse.ArgumentParser, *, required: bool = True) -> None:
        self._parser = parser
        self._required = required

    def add_argument(self, *names: str, **options: Any) -> argparse.Action:
        if names == ("profile",):
            return self._parser.add_argument("--profile", dest="profile",
                                             required=self._required,
                                             metavar=options.get("metavar"),
                                             help=options.get("help"))
        return self._parser.add_argument(*names, **options)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._parser, name)


def add_problem_options(parser: argparse.ArgumentParser) -> None:
    """Add PROFILE and every problem option."""
    parser.add_argument("profile", metavar="PROFILE",
                        help="profile CSV path, or a bundled profile: "
                             + ", ".join(bundled_profiles()))
    group = parser.add_argument_group("problem")
    senses = ", ".join(f"{q.name} ({'max' if q.maximise else 'min'})"
                       for q in QUANTITIES.values())
    group.add_argument("--objectives", type=comma_list(str), default=("latency_ms", "error"),
                       help=f"comma-separated, from: {senses} (default: latency_ms,error)")
    group.add_argument("--bandwidth-mbps", type=float, default=None,
                       help="uplink bandwidth in Mbit/s (required unless --transmitter)")
    group.add_argument("--rtt-ms", type=float, default=0.0,
                       help="round-trip delay added to every plan (default 0)")
    group.add_argument("--tx-power-mw", type=float, default=None,
                       help="transmitter power in mW (needed for energy_mj)")
    group.add_argument("--transmitter", default=None, metavar="PRESET",
                       help="a transmitter preset giving bandwidth and power ("
                            + ", ".join(TRANSMITTER_PRESETS) + "); --bandwidth-mbps and "
                            "--tx-power-mw override it")
    memory = group.add_mutually_exclusive_group()
    memory.add_argument("--memory-mib", type=float, help="edge memory limit in MiB")
    memory.add_argument("--memory-bytes", type=float, help="edge memory limit in bytes")
    group.add_argument("--max-error", type=float, help="quantisation error limit")
    group.add_argument("--max-latency-ms", type=float, help="end-to-end latency limit")
    group.add_argument("--bits", type=comma_list(int), default=None,
                       help="bit set for edge weights and activations (default: every "
                            "bit-width the profile has)")
    group.add_argument("--min-split", type=int, default=0,
                       help="fewest edge nodes (1 keeps the raw input off the network in a "
                            "chain)")
    group.add_argument("--max-split", type=int, default=None, help="most edge nodes")
    group.add_argument("--mode", choices=MODES, default="prefix",
                       help="prefix: edge runs rows 1..n; cut: any predecessor-closed set")
    group.add_argument("--codecs", metavar="FILE", default=None,
                       help="codec table CSV (codec,node,ratio,err,encode_ms)")


def _size(text: str) -> tuple[float, float]:
    """argparse type: 'WxH' inches -> (W, H); the library checks the values."""
    try:
        width, height = (float(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT in inches (such as "
                                         f"3.5x2.6), got {text!r}") from None
    return width, height


def _span(text: str) -> tuple[float | None, float | None]:
    """argparse type: 'LO:HI', either side empty -> (lo, hi); the library checks them."""
    lo, sep, hi = text.partition(":")
    try:
        if not sep:
            raise ValueError
        return tuple(float(v) if v.strip() else None for v in (lo, hi))  # type: ignore
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected LO:HI (either may be left empty, such "
                                         f"as 0:50 or :1e3), got {text!r}") from None


def add_figure_options(parser: argparse.ArgumentParser, *, axes: bool = True,
                       needs: str | None = None) -> None:
    """The figure options (size, dpi; with `axes` limits and scales of both axes), for a
    figure that `needs` (a flag such as --plot) asks for, or the command's own."""
    group = parser.add_argument_group("figure" + (f" (with {needs})" if needs else ""))
    group.add_argument("--size", type=_size, default=None, metavar="WxH",
                       help="figure size in inches, such as 3.5x2.6 for one column")
    group.add_argument("--dpi", type=float, default=None,
                       help=f"dots per inch of a PNG (default {DEFAULT_DPI:g})")
    if axes:
        for axis in ("x", "y"):
            group.add_argument(f"--{axis}lim", type=_span, default=None, metavar="LO:HI",
                               help=f"{axis} axis limits; either side may be empty; points "
                               "beyond are drawn on the edge")
        for axis in ("x", "y"):
            group.add_argument(f"--{axis}scale", choices=SCALES, default=None,
                               help=f"{axis} axis scale (default auto: log when the values "
                               "span more than two decades, symlog with zeros)")
    parser.set_defaults(figure_needs=needs)


def figure_args(args: argparse.Namespace) -> dict[str, object]:
    """The figure options given, checked now (before any work) by the library; refused
    when the figure they are for is not asked for."""
    given = {name: getattr(args, name) for name in FIGURE_FLAGS
             if getattr(args, name, None) is not None}
    needs = args.figure_needs
    if given and needs and getattr(args, needs.lstrip("-").replace("-", "_")) is None:
        flags = ", ".join("--" + name for name in given)
        raise UsageError(f"{flags} set the figure of {needs}, which is not asked for")
    FigureOptions(**given)
    return given


def check_out(out: str | None, option: str = "--out") -> None:
    """Refuse, before any work, an output path that cannot be written: a folder, a file in
    a folder that does not exist or cannot be written in, or an existing file that cannot
    be opened for writing (such as /proc/version). None and '-' pass (no file, or stdout).
    A device that accepts the file but fails while writing (/dev/full) is reported when
    the write fails, on one line too."""
    if out in (None, "-"):
        return
    path = Path(out)
    if path.is_dir():
        raise ProblemError(f"{option} {out}: is a folder; give a file name")
    folder = path.resolve().parent
    if not folder.is_dir():
        raise ProblemError(f"{option} {out}: folder {folder} does not exist")
    if path.exists():
        try:
            with open(path, "a"):  # opened, not changed: appending nothing
                pass
        except OSError as exc:
            raise ProblemError(f"{option} {out}: cannot be written ({exc.strerror})") from None
    elif not os.access(folder, os.W_OK):
        raise ProblemError(f"{option} {out}: cannot write in folder {folder}")


LIMIT_OPTIONS = (("memory_mib", "memory_bytes", MIB), ("memory_bytes", "memory_bytes", 1),
                 ("max_error", "error", 1), ("max_latency_ms", "latency_ms", 1))
"""Options that bound a quantity: (option, quantity, scale to the quantity's unit)."""


def constraints_from_args(args: argparse.Namespace) -> tuple[dict[str, float], dict[str, Flag]]:
    """The constraints the bound options give, and each one's flag (for messages); the
    library checks the values."""
    constraints: dict[str, float] = {}
    flags: dict[str, Flag] = {}
    for option, quantity, scale in LIMIT_OPTIONS:
        value = getattr(args, option, None)
        if value is not None:
            constraints[quantity] = value * scale
            flags[f"constraint on {quantity}"] = ("--" + option.replace("_", "-"), value)
    return constraints, flags


def build_problem(args: argparse.Namespace, **network_defaults: float) -> SplitProblem:
    """The SplitProblem the parsed options describe (`network_defaults` fill network
    settings the options leave unset)."""
    profile = load_profile(args.profile)
    constraints, flags = constraints_from_args(args)
    if args.codecs and not Path(args.codecs).is_file():
        raise ProblemError(f"--codecs {args.codecs}: no such file")
    bandwidth = args.bandwidth_mbps
    if bandwidth is None and args.transmitter is None:
        bandwidth = network_defaults.get("bandwidth_mbps")
    with flags_for(**flags):
        network = network_of(bandwidth_mbps=bandwidth, rtt_ms=args.rtt_ms,
                             tx_power_mw=args.tx_power_mw, transmitter=args.transmitter)
        codecs = read_codecs(args.codecs, profile) if args.codecs else None
        return SplitProblem(profile, network, objectives=args.objectives,
                            constraints=constraints, bits=args.bits, mode=args.mode,
                            min_split=args.min_split, max_split=args.max_split, codecs=codecs)


RESOLUTION_HELP = ("exact backends: a certified front instead of the exact one: a number R "
                   "(a factor 1+R on error, R x the range on the other objectives) or per "
                   "objective, e.g. 'error=x1.01,latency_ms=0.1%%,memory_bytes=+4096' "
                   "(x: factor, %%: share of the range, +: in the objective's units); "
                   "'exact' for the exact front")


def add_solver_arguments(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """--solver, --resolution and --solver-opt: which backend, with which options."""
    parser.add_argument("--solver", default=None, choices=list(available_solvers()),
                        help=f"backend (default: {DEFAULT_SOLVER} with --resolution "
                             f"'{DEFAULT_RESOLUTION}')".replace("%", "%%"))
    parser.add_argument("--resolution", default=None, metavar="R", help=RESOLUTION_HELP)
    parser.add_argument("--solver-opt", action="append", default=[], metavar="KEY=VALUE",
                        help="a backend option (repeatable), e.g. max_labels=5000000; "
                             "'moosplit solve --help' lists every backend's options")


def parse_solver_options(names: Sequence[str], items: Sequence[str]) -> dict[str, dict]:
    """--solver-opt KEY=VALUE items -> options per backend: each goes to every backend of
    `names` that declares KEY, read by that option's own check."""
    out: dict[str, dict] = {name: {} for name in names}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UsageError(f"--solver-opt: expected KEY=VALUE, got {item!r}")
        if key == "resolution":  # one way to set it, so that neither silently wins
            raise UsageError("--solver-opt resolution: set the resolution with --resolution")
        takers = 0
        for name in names:
            for spec in available_solvers()[name].options():
                if spec.name == key:
                    with flags_for(**{key: f"--solver-opt {key}"}):
                        out[name][key] = spec.check.parse(key, text)
                    takers += 1
        if not takers:
            known = sorted({s.name for n in names for s in available_solvers()[n].options()})
            raise UsageError(f"--solver-opt {key}: not an option of {', '.join(names)} "
                             f"(options: {', '.join(known) or 'none'})")
    return out


def solver_from_args(args: argparse.Namespace) -> Solver:
    """The backend --solver, --resolution and --solver-opt describe: with no --solver, the
    default backend at the default resolution (unless --resolution says otherwise)."""
    name = args.solver or DEFAULT_SOLVER
    options = parse_solver_options([name], args.solver_opt)[name]
    resolution = args.resolution
    if resolution is None and args.solver is None:
        resolution = DEFAULT_RESOLUTION
    if resolution is not None and resolution != "exact":
        options["resolution"] = resolution
    return get_solver(name, **options)
