"""`moosplit profiles`: the bundled profiles, with what each one is and where it came from."""

from __future__ import annotations

import argparse

from ..profiles.bundled import bundled_profiles, load_profile

COMMAND = "profiles"
"""The command this module implements."""


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the `profiles` command."""
    parser = sub.add_parser(COMMAND, help="list the bundled profiles",
                            description="List the profiles shipped with moosplit; any of "
                            "these names can stand in for PROFILE.csv in other commands.")
    parser.add_argument("--verbose", "-v", action="store_true",
                        help="also print each profile's provenance metadata")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Execute `moosplit profiles`."""
    rows = []
    for name in bundled_profiles():
        profile = load_profile(name)
        bits = ",".join(str(b) for b in profile.bit_widths)
        weights = profile.metadata.get("weights", "")
        trained = "trained" if weights.startswith(("trained", "as stored")) else (
            "random" if weights.startswith("random") else "-")
        rows.append((name, str(profile.n_nodes), bits, trained,
                     profile.metadata.get("model", "")))
    header = ("name", "nodes", "bits", "weights", "model")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
        if args.verbose and row is not header:
            for key, value in load_profile(row[0]).metadata.items():
                print(f"    {key}: {value}")
    return 0
