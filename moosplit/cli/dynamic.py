"""`moosplit dynamic`: the fastest split per data rate and batch size (dynamic split computing)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from ..errors import ProblemError
from ..problems.problem import Network
from ..profiles.bundled import bundled_profiles, load_profile
from ..profiles.profile import Profile
from ..workflows.dynamic import (
    Policy,
    ScenarioResult,
    bottlenecks,
    check_rates,
    dynamic_policy,
    profiles_by_batch,
    read_scenario,
    run_scenario,
)
from ..workflows.plots import figure_format, plot_policy
from .options import (
    add_figure_options,
    check_out,
    comma_list,
    constraints_from_args,
    figure_args,
    flags_for,
)
from .output import writing

COMMAND = "dynamic"
"""The command this module implements."""


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the `dynamic` command."""
    parser = sub.add_parser(
        COMMAND, help="fastest split per data rate and batch size (dynamic split computing)",
        description="Dynamic split computing: for each batch size (one profile per batch "
        "size, told apart by their 'batch' metadata) and each data rate in --rates, the "
        "fastest prefix split. Rate intervals and their breakpoints are exact. Prints a "
        "table, the natural and compressive bottlenecks and, with --scenario, the gain over "
        "a static split; or writes the intervals as CSV with --out.")
    parser.add_argument("profiles", metavar="PROFILE", nargs="+",
                        help="profile CSV path or bundled name (" + ", ".join(bundled_profiles())
                        + "); one per batch size")
    parser.add_argument("--rates", required=True, metavar="LO:HI",
                        help="data-rate range in Mbit/s, e.g. 1:128")
    parser.add_argument("--batches", type=comma_list(int), default=None,
                        help="batch sizes to plan for, among the profiles' (default: all); "
                             "each needs its own profile, latencies are never rescaled")
    parser.add_argument("--bits", type=comma_list(int), default=(16,),
                        help="uniform bit-widths for the edge part (default 16: splits only)")
    parser.add_argument("--no-full-offload", action="store_true",
                        help="never send the raw input: split 0 (cloud-only) is excluded")
    parser.add_argument("--rtt-ms", type=float, default=0.0,
                        help="round-trip delay added to every plan (default 0)")
    parser.add_argument("--tx-power-mw", type=float, default=None,
                        help="transmitter power in mW (fills energy_mj when the profile has "
                             "edge_mj)")
    memory = parser.add_mutually_exclusive_group()
    memory.add_argument("--memory-mib", type=float, help="edge memory limit in MiB")
    memory.add_argument("--memory-bytes", type=float, help="edge memory limit in bytes")
    parser.add_argument("--max-error", type=float, help="quantisation error limit (with --bits)")
    parser.add_argument("--scenario", metavar="FILE", default=None,
                        help="CSV of steps: batch,rate_mbps[,duration]; prints the gain G of "
                             "the dynamic policy over --static-split")
    parser.add_argument("--static-split", type=int, default=None, metavar="N",
                        help="the static split the scenario compares with (at the highest "
                             "--bits)")
    parser.add_argument("--plot", metavar="FILE", default=None,
                        help="draw the policy map (.png, .svg or .pdf; needs matplotlib)")
    parser.add_argument("--out", default=None,
                        help="write one row per batch and rate interval as CSV ('-' for "
                             "stdout); rate-dependent columns at rate_from_mbps")
    add_figure_options(parser, axes=False, needs="--plot")
    parser.set_defaults(run=run)


def parse_rates(text: str) -> tuple[float, float]:
    """'LO:HI' (or one rate) -> (lo, hi) Mbit/s, checked by the library."""
    lo, sep, hi = text.partition(":")
    try:
        rates = (float(lo), float(hi)) if sep else (float(lo),) * 2
    except ValueError:
        raise ProblemError(f"--rates must be LO:HI in Mbit/s (e.g. 1:128), got {text!r}") from None
    return check_rates(rates)


def select_profiles(profiles: list[Profile], batches: tuple[int, ...] | None
                    ) -> dict[int, Profile]:
    """The profiles by batch size, keeping those --batches asks for.

    Each profile must have its own batch size; a batch size with no profile is an error,
    also with a single profile (its latencies are for its own batch and are not rescaled).
    """
    try:
        by_batch = profiles_by_batch(profiles)
    except ProblemError as exc:
        raise ProblemError(f"PROFILE: {exc}") from None
    if batches is None:
        return by_batch
    missing = [b for b in batches if b not in by_batch]
    if missing:
        have = ", ".join(f"{b} ({p.source})" for b, p in sorted(by_batch.items()))
        raise ProblemError(
            f"--batches {','.join(map(str, missing))}: no profile for that batch size (have "
            f"{have}); profile each batch size, latencies are not rescaled")
    return {b: by_batch[b] for b in sorted(set(batches))}


def check_options(args: argparse.Namespace) -> dict[str, object]:
    """Fail on bad option combinations before any work; return the figure options."""
    if (args.scenario is None) != (args.static_split is None):
        raise ProblemError("--scenario and --static-split go together: the gain compares the "
                           "dynamic policy with one static split")
    if args.scenario is not None and not Path(args.scenario).is_file():
        raise ProblemError(f"--scenario {args.scenario}: no such file")
    for option in ("out", "plot"):
        check_out(getattr(args, option), "--" + option)
    if args.plot is not None:
        with flags_for(path="--plot"):
            figure_format(args.plot)
    return figure_args(args)


def build_policy(args: argparse.Namespace) -> Policy:
    """The policy the parsed options describe."""
    rates = parse_rates(args.rates)
    profiles = select_profiles([load_profile(p) for p in args.profiles], args.batches)
    constraints, flags = constraints_from_args(args)
    with flags_for(**flags):
        network = Network(1.0, args.rtt_ms, args.tx_power_mw)  # the rate varies
        return dynamic_policy(profiles, rates=rates, bits=args.bits, network=network,
                              forbid_full_offload=args.no_full_offload,
                              constraints=constraints)


def run(args: argparse.Namespace) -> int:
    """Execute `moosplit dynamic`."""
    figure = check_options(args)
    policy = build_policy(args)
    gain_lines = []
    if args.scenario is not None:
        steps = read_scenario(args.scenario)  # its errors name the file, line and column
        try:
            result = run_scenario(policy, steps, args.static_split)
        except ProblemError as exc:
            text = str(exc)
            if text.startswith("static split"):
                raise ProblemError(f"--static-split{text[len('static split'):]}") from None
            raise ProblemError(f"--scenario {args.scenario}: {text}") from None
        gain_lines = [scenario_line(result, args.static_split)]
    if args.plot is not None:
        with writing(args.plot, "--plot"):
            plot_policy(policy, args.plot, **figure)
        print(f"wrote the policy map to {args.plot}", file=sys.stderr)
    if args.out is not None:
        frame = policy.to_frame()
        with writing(args.out):
            frame.to_csv(sys.stdout if args.out == "-" else args.out, index=False)
        if args.out != "-":
            print(f"wrote {len(frame)} interval(s) to {args.out}", file=sys.stderr)
        for batch in policy.batches:
            if not policy.intervals[batch]:
                print(f"no feasible plan for batch {batch}: relax the limits", file=sys.stderr)
        for line in gain_lines:
            print(line, file=sys.stderr)
        return 0
    print("\n".join(policy_lines(policy) + bottleneck_lines(policy) + gain_lines))
    return 0


def policy_lines(policy: Policy) -> list[str]:
    """The policy as text: a header, then per batch a table of rate intervals."""
    lo, hi = policy.rates
    problem = next(iter(policy.problems.values()))
    lines = [f"dynamic split policy: rates {lo:g}..{hi:g} Mbit/s, bits "
             f"{','.join(map(str, policy.bits))}, rtt {problem.network.rtt_ms:g} ms"
             + (", split 0 (full offload) excluded" if policy.forbid_full_offload else "")
             + (f", limits: {', '.join(f'{k} <= {v:g}' for k, v in problem.constraints.items())}"
                if problem.constraints else "")]
    frame = policy.to_frame()
    for batch in policy.batches:
        profile = policy.problems[batch].profile
        model = profile.metadata.get("model")
        lines.append(f"batch {batch} ({Path(profile.source).name}"
                     + (f", {model}" if model else "") + "):")
        rows = frame[frame["batch"] == batch]
        if rows.empty:
            lines.append("  no feasible plan")
            continue
        intervals = policy.intervals[batch]
        table = pd.DataFrame({
            "rate_from_mbps": rows["rate_from_mbps"].to_numpy(),
            "rate_to_mbps": rows["rate_to_mbps"].to_numpy(),
            "split": rows["split"].to_numpy(),
            "last_edge_node": [nodes.split()[-1] if nodes else "-"
                               for nodes in rows["edge_nodes"]],
            "bits": [_bits(i.plan.bits_a) for i in intervals],
            "latency_ms_from": [i.latency_ms(i.rate_from_mbps) for i in intervals],
            "latency_ms_to": [i.latency_ms(i.rate_to_mbps) for i in intervals],
            "tx_bytes": rows["tx_bytes"].to_numpy(),
            "memory_bytes": rows["memory_bytes"].to_numpy(),
        })
        text = table.to_string(index=False, float_format=lambda v: f"{v:.6g}")
        lines += ["  " + line for line in text.splitlines()]
    return lines


def _bits(bits_a: tuple[int, ...]) -> str:
    return str(bits_a[0]) if bits_a and len(set(bits_a)) == 1 else "-"


def bottleneck_lines(policy: Policy) -> list[str]:
    """Natural and compressive bottlenecks of each distinct profile (16-bit activations)."""
    lines = []
    for batch in policy.batches:
        profile = policy.problems[batch].profile
        natural, compressive = bottlenecks(profile)
        lines.append(f"bottlenecks of batch {batch} (raw input {profile.input_bytes:,.0f} "
                     "bytes; activations at 16 bits):")
        for label, found in (("natural (send less than the input)", natural),
                             ("compressive (less than the input and every earlier split)",
                              compressive)):
            listed = ", ".join(f"{b.split} ({b.node}, {b.tx_bytes:,.0f} B)" for b in found)
            lines.append(f"  {label}: {listed or 'none'}")
    return lines


def scenario_line(result: ScenarioResult, static_split: int) -> str:
    """The scenario's totals and the gain G, on one line."""
    return (f"scenario: {len(result.duration)} step(s); duration-weighted latency: dynamic "
            f"{result.total_dynamic_ms:.6g} ms, static split {static_split} "
            f"{result.total_static_ms:.6g} ms; G = {result.gain:.6g} "
            f"({100 * result.gain:.3g}% saved)")
