"""`moosplit export`: one plan of a front CSV as edge.onnx, cloud.onnx and plan.json."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..deploy.export import export_plan
from ..deploy.manifest import Manifest
from ..errors import ProblemError
from ..results.front import Front
from ..results.front_csv import read_front
from ..results.selection import PICK_GRAMMAR, parse_pick
from .options import ProfileAsOption, add_problem_options, build_problem
from .profile_model import as_cli_errors, parse_shape

COMMAND = "export"
"""The command this module implements."""


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the `export` command."""
    parser = sub.add_parser(
        COMMAND, help="write one plan of a front as edge.onnx, cloud.onnx and plan.json",
        description="Read a front CSV (re-checked against the problem --profile and the "
        "options describe), choose one plan (--row or --pick), and cut MODEL, the model the "
        "profile was made from, into edge.onnx (the edge nodes, weights and activations "
        "quantised to the plan's bits) and cloud.onnx (every other node), with plan.json, "
        "the manifest (SPEC section 8), in folder --out.")
    parser.add_argument("front", metavar="FRONT.csv", help="front CSV written by solve --out")
    add_problem_options(ProfileAsOption(parser))  # type: ignore[arg-type]
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--row", type=int, default=None, metavar="K",
                       help="the plan on row K of the front (0 = the first; rows as solve "
                            "writes them, sorted by the objectives)")
    which.add_argument("--pick", default=None, metavar="WHAT",
                       help="the one plan chosen by: " + PICK_GRAMMAR.replace(
                           "'extremes', ", ""))
    group = parser.add_argument_group("model")
    group.add_argument("--model", required=True, metavar="MODEL",
                       help="what the profile was made from: MODEL.onnx, a built-in "
                            "architecture, or module:factory")
    group.add_argument("--input-shape", default=None, metavar="CxHxW",
                       help="input shape per sample (default: the profile's input_shape)")
    group.add_argument("--seed", type=int, default=0,
                       help="seed of a built-in architecture's random weights, as given to "
                            "'moosplit profile' (default 0), and of calibration crops")
    group.add_argument("--calibration", default=None, metavar="FOLDER",
                       help="folder of images for activation scales (default: photographs "
                            "shipped with matplotlib for an image input)")
    group.add_argument("--samples", type=int, default=8,
                       help="calibration samples (default 8)")
    parser.add_argument("--out", required=True, metavar="DIR",
                        help="folder to write edge.onnx, cloud.onnx and plan.json in")
    parser.add_argument("--quiet", action="store_true", help="print nothing")
    parser.set_defaults(run=run)


def chosen(front: Front, row: int | None, pick: str | None) -> int:
    """The index of the plan --row or --pick chooses in `front`."""
    if row is not None:
        if not 0 <= row < len(front):
            raise ProblemError(f"--row {row}: the front has {len(front)} plan(s), rows 0.."
                               f"{len(front) - 1}")
        return row
    parsed = parse_pick(pick)
    if parsed.kind == "extremes":
        raise ProblemError("--pick extremes chooses several plans; export takes one")
    picked = parsed.apply(front)
    if len(picked) != 1:
        raise ProblemError(f"--pick {pick}: no plan of the front qualifies")
    F, target = front.F, picked.F[0]
    return int(next(i for i in range(len(front)) if (F[i] == target).all()))


def run(args: argparse.Namespace) -> int:
    """Execute `moosplit export`."""
    if args.samples < 1:
        raise ProblemError(f"--samples must be >= 1, got {args.samples}")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise ProblemError(f"--out {args.out}: is a file; give a folder")
    problem = build_problem(args)
    front = read_front(args.front, problem)
    index = chosen(front, args.row, args.pick)
    with as_cli_errors(args.quiet):  # the profiler's notes on the model print as warnings
        manifest = export_plan(problem, front.plan(index), args.model, out,
                               input_shape=parse_shape(args.input_shape), seed=args.seed,
                               calibration=args.calibration,
                               calibration_samples=args.samples, profile_name=args.profile)
    if not args.quiet:
        print(report(manifest, out, index), file=sys.stderr)
    return 0


def report(manifest: Manifest, out: Path, index: int) -> str:
    """What was written, and what the plan sends and is predicted to take."""
    plan = manifest.plan
    files = [str(out / f) for f in (manifest.edge.file, manifest.cloud.file) if f]
    lines = [f"plan {index}: {len(plan.edge_nodes)} edge node(s)"
             + (f", split {plan.split}" if plan.split is not None else "")
             + f"; wrote {', '.join(files + [str(out / 'plan.json')])}"]
    if manifest.cloud.file is None:
        lines.append(f"  edge-only: nothing crosses to the cloud; the model outputs "
                     f"{', '.join(manifest.edge.outputs)} are edge.onnx's")
    for t in manifest.cut_tensors:
        lines.append(f"  sends {t.row} {'x'.join(map(str, t.shape))} at {t.bits} bits "
                     f"({t.packing})")
    p = manifest.predicted
    packing = (f" + pack {p['pack_ms']:.4g}" if p.get("pack_ms") else "",
               f" + unpack {p['unpack_ms']:.4g}" if p.get("unpack_ms") else "")
    lines.append(f"  predicted: latency {p['latency_ms']:.4g} ms = edge {p['edge_ms']:.4g}"
                 f"{packing[0]} + transmit {p['transmit_ms']:.4g} + rtt {p['rtt_ms']:.4g}"
                 f"{packing[1]} + cloud {p['cloud_ms']:.4g}; {p['tx_bytes']:.0f} bytes sent")
    lines.append(f"  activations: {manifest.activations}")
    return "\n".join(lines)
