"""`moosplit validate`: an exported plan checked for equivalence, quantised accuracy and a
real run over loopback against its predicted latency; with --front, several plans of a
front, plotted predicted against measured."""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
from pathlib import Path

from ..errors import ProblemError
from .options import ProfileAsOption, add_problem_options, build_problem, comma_list, flags_for
from .profile_model import as_cli_errors

COMMAND = "validate"
"""The command this module implements."""

FLAGS = {"samples": "--samples", "runs": "--runs", "warmup": "--warmup", "margin": "--margin",
         "calibration": "--calibration", "timeout": "--timeout"}
CSV_COLUMNS = ("plan", "part", "predicted_ms", "measured_ms", "ratio", "note")


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the `validate` command."""
    parser = sub.add_parser(
        COMMAND, help="check an exported plan against its model and its predicted latency",
        description="Check a plan directory written by `moosplit export`: (a) with every "
        "bit at 16, edge.onnx then cloud.onnx reproduce the full model; (b) at the plan's "
        "bits, output MSE and top-1 agreement with the full-precision model; (c) a real "
        "run: `moosplit serve DIR` on 127.0.0.1, edge.onnx run here, the cut tensors packed "
        "and sent through a link paced at the problem's bandwidth and rtt; measured edge, "
        "pack, transmit, cloud, unpack and end-to-end times beside the predicted ones. "
        "With --front, plans of a front are exported to temporary folders and validated in "
        "turn. Exit status 1 if an equivalence check fails.")
    parser.add_argument("directory", metavar="DIR", nargs="?", default=None,
                        help="plan directory (plan.json, edge.onnx, cloud.onnx); not with "
                             "--front")
    group = parser.add_argument_group("checks")
    group.add_argument("--calibration", default=None, metavar="FOLDER",
                       help="folder of images to check on (default: the profiler's "
                            "calibration inputs, crops of the bundled photograph)")
    group.add_argument("--samples", type=int, default=8,
                       help="input samples for the equivalence and quantised checks "
                            "(default 8)")
    group.add_argument("--seed", type=int, default=1,
                       help="seed of the sample crops (default 1; export calibrates with 0)")
    group.add_argument("--runs", type=int, default=10,
                       help="timed runs of the real run (default 10; medians reported)")
    group.add_argument("--warmup", type=int, default=2,
                       help="untimed runs before them (default 2)")
    group.add_argument("--margin", type=float, default=0.25,
                       help="a part whose measurement differs from its prediction by more "
                            "than this share gets a note (default 0.25)")
    group.add_argument("--timeout", type=float, default=60.0,
                       help="seconds any one send or receive may wait (default 60)")
    group.add_argument("--model", default=None, metavar="MODEL",
                       help="the model the profile was made from (default: the manifest's; "
                            "required with --front)")
    group.add_argument("--out", default=None, metavar="CSV",
                       help="write one row per plan and part: plan, part, predicted_ms, "
                            "measured_ms, ratio, note")
    front = parser.add_argument_group(
        "several plans of a front (--front; the problem options as for `export`, "
        "--profile the profile, which also overrides the manifest's without --front)")
    front.add_argument("--front", default=None, metavar="FRONT.csv",
                       help="front CSV written by solve --out")
    front.add_argument("--rows", type=comma_list(int), default=None, metavar="K,K,...",
                       help="rows of the front to validate (0 = the first)")
    front.add_argument("--model-seed", type=int, default=0,
                       help="seed of a built-in architecture's random weights, as given to "
                            "'moosplit profile' (default 0)")
    front.add_argument("--plot", default=None, metavar="PNG",
                       help="draw measured against predicted end-to-end latency (.png, .svg "
                            "or .pdf)")
    add_problem_options(ProfileAsOption(parser, required=False))  # type: ignore[arg-type]
    parser.add_argument("--quiet", action="store_true", help="print nothing")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Execute `moosplit validate`."""
    from ..deploy.validate import validate

    if (args.directory is None) == (args.front is None):
        raise ProblemError("give a plan directory DIR or --front FRONT.csv (one of them)")
    if args.front is None and (args.rows or args.plot):
        raise ProblemError("--rows and --plot go with --front")
    if args.out is not None and Path(args.out).is_dir():
        raise ProblemError(f"--out {args.out}: is a folder; give a CSV file name")
    options = dict(samples=args.samples, runs=args.runs, warmup=args.warmup,
                   calibration=args.calibration, seed=args.seed, margin=args.margin,
                   timeout=args.timeout)
    with as_cli_errors(args.quiet), flags_for(**FLAGS):
        if args.front is None:
            reports = {args.directory: validate(args.directory, profile=args.profile,
                                                model=args.model, **options)}
        else:
            reports = _front_reports(args, options)
    for label, report in reports.items():
        if not args.quiet:
            heading = f"== {label}\n" if len(reports) > 1 else ""
            print(heading + report.table())
    if args.out is not None:
        _write_csv(args.out, reports)
    if args.plot is not None:
        _plot(args.plot, reports)
    return 0 if all(r.equivalence.passed for r in reports.values()) else 1


def _front_reports(args: argparse.Namespace, options: dict) -> dict:
    """Export each chosen row of the front to a temporary folder and validate it."""
    from ..deploy.export import export_plan, load_runner
    from ..deploy.validate import validate
    from ..results.front_csv import read_front

    if args.profile is None or args.model is None or not args.rows:
        raise ProblemError("--front needs --profile, --model and --rows")
    problem = build_problem(args)
    front = read_front(args.front, problem)
    for row in args.rows:
        if not 0 <= row < len(front):
            raise ProblemError(f"--rows {row}: the front has {len(front)} plan(s), rows 0.."
                               f"{len(front) - 1}")
    runner, _ = load_runner(args.model, problem.profile, None, args.model_seed)
    reports = {}
    with tempfile.TemporaryDirectory(prefix="moosplit-front-") as folder:
        for row in args.rows:
            out = Path(folder) / f"row{row}"
            # by name, so that export calibrates with the model's own normalisation
            export_plan(problem, front.plan(row), args.model, out, seed=args.model_seed,
                        profile_name=args.profile)
            reports[f"row {row}"] = validate(out, profile=problem.profile, model=runner,
                                             **options)
    return reports


def _write_csv(path: str, reports: dict) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for label, report in reports.items():
            for row in report.csv_rows():
                writer.writerow([label, *row])


def _plot(path: str, reports: dict) -> None:
    from ..workflows.plots import plot_validation

    ran = {label: r.run.part("end-to-end") for label, r in reports.items() if r.run}
    if not ran:
        print("moosplit: nothing to plot: no plan had a real run", file=sys.stderr)
        return
    plot_validation(list(ran), [p.predicted_ms for p in ran.values()],
                    [p.measured_ms for p in ran.values()], path)
