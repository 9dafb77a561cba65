"""Problem options shared by the commands that solve (SPEC section 7)."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from ..errors import ProblemError
from ..problems.codecs import read_codecs
from ..problems.problem import MODES, Network, SplitProblem
from ..problems.quantities import QUANTITIES
from ..profilers.devices import TRANSMITTER_PRESETS
from ..profiles.bundled import bundled_profiles, load_profile

MIB = 2**20

# Library messages name fields; on the command line, name the options instead.
_OPTION_OF_FIELD = {
    "bandwidth_mbps": "--bandwidth-mbps", "rtt_ms": "--rtt-ms", "tx_power_mw": "--tx-power-mw",
    "min_split": "--min-split", "max_split": "--max-split", "bits": "--bits",
    "objectives": "--objectives", "mode": "--mode",
}
_FIELD_AT_START = re.compile(r"^(" + "|".join(_OPTION_OF_FIELD) + r")\b")


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


def check_out_folder(out: str | None, option: str = "--out") -> None:
    """Refuse, before any work, an output path whose folder does not exist (None and '-'
    pass: no file, or stdout)."""
    if out in (None, "-"):
        return
    folder = Path(out).resolve().parent
    if not folder.is_dir():
        raise ProblemError(f"{option} {out}: folder {folder} does not exist")


def constraints_from_args(args: argparse.Namespace) -> dict[str, float]:
    """The constraints the bound options give (those absent from `args` are skipped)."""
    constraints: dict[str, float] = {}
    for option, quantity, scale in (("memory_mib", "memory_bytes", MIB),
                                    ("memory_bytes", "memory_bytes", 1),
                                    ("max_error", "error", 1),
                                    ("max_latency_ms", "latency_ms", 1)):
        value = getattr(args, option, None)
        if value is None:
            continue
        if not value >= 0:
            raise ProblemError(f"--{option.replace('_', '-')} must be >= 0, got {value}")
        constraints[quantity] = value * scale
    return constraints


def apply_transmitter(args: argparse.Namespace) -> None:
    """Fill --bandwidth-mbps and --tx-power-mw from --transmitter where not given."""
    if args.transmitter is not None:
        if args.transmitter not in TRANSMITTER_PRESETS:
            raise ProblemError(f"--transmitter: unknown preset {args.transmitter!r}; presets: "
                               f"{', '.join(TRANSMITTER_PRESETS)}")
        radio = TRANSMITTER_PRESETS[args.transmitter]
        if args.bandwidth_mbps is None:
            args.bandwidth_mbps = radio.bandwidth_mbps
        if args.tx_power_mw is None:
            args.tx_power_mw = radio.power_mw
    if args.bandwidth_mbps is None:
        raise ProblemError("--bandwidth-mbps (or --transmitter) is required")


def build_problem(args: argparse.Namespace) -> SplitProblem:
    """The SplitProblem the parsed options describe."""
    profile = load_profile(args.profile)
    constraints = constraints_from_args(args)
    apply_transmitter(args)
    if args.codecs and not Path(args.codecs).is_file():
        raise ProblemError(f"--codecs {args.codecs}: no such file")
    try:
        network = Network(args.bandwidth_mbps, args.rtt_ms, args.tx_power_mw)
        codecs = read_codecs(args.codecs, profile) if args.codecs else None
        return SplitProblem(profile, network, objectives=args.objectives,
                            constraints=constraints, bits=args.bits, mode=args.mode,
                            min_split=args.min_split, max_split=args.max_split, codecs=codecs)
    except ProblemError as exc:
        message = _FIELD_AT_START.sub(lambda m: _OPTION_OF_FIELD[m.group(1)], str(exc))
        raise ProblemError(message) from None
