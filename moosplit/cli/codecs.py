"""`moosplit codecs`: measure feature codecs on a model's real activations (SPEC section 5)."""

from __future__ import annotations

import argparse
import sys

from ..errors import ProfileError
from ..profilers.loading import default_normalisation, load_model
from .options import check_out, comma_list
from .output import ProgressPrinter, writing
from .profile_model import add_model_arguments, as_cli_errors, cwd_importable, parse_shape

COMMAND = "codecs"
"""The command this module implements."""


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the `codecs` command."""
    parser = sub.add_parser(
        COMMAND, help="measure codec ratios, errors and encode times on real activations",
        description="Run calibration inputs through MODEL (as for 'moosplit profile') and "
        "measure, for every node's output, lossless codecs (8-bit codes compressed by zlib "
        "or lzma) and lossy ones (coarser quantisation, then the first coder): ratio "
        "against 8-bit tensors, added error (MSE per element), encode time. Writes the "
        "codec table that --codecs of the solving commands reads.")
    add_model_arguments(parser, "codec CSV")
    parser.add_argument("--coders", type=comma_list(str), default=("zlib",),
                        help="lossless coders: zlib, lzma (default zlib)")
    parser.add_argument("--lossy-bits", type=_lossy_bits, default=(4, 2),
                        help="bit-widths of the lossy codecs q{b}+coder, or 'none' for "
                             "lossless codecs only (default 4,2)")
    parser.add_argument("--calibration", default=None, metavar="FOLDER",
                        help="folder of images (default: photographs shipped with matplotlib)")
    parser.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    parser.set_defaults(run=run)


def _lossy_bits(text: str) -> tuple[int, ...]:
    """argparse type: '4,2' or 'none'."""
    return () if text.strip().lower() == "none" else comma_list(int)(text)


def run(args: argparse.Namespace) -> int:
    """Execute `moosplit codecs`."""
    from ..profilers.calibration import calibration_batch
    from ..profilers.codec_measure import measure_codecs

    if args.batch < 1:
        raise ProfileError(f"--batch must be >= 1, got {args.batch}")
    check_out(args.out)
    with as_cli_errors(quiet=False):
        with cwd_importable():
            runner, _ = load_model(args.model, batch=args.batch,
                                   shape=parse_shape(args.input_shape), seed=args.seed,
                                   fuse=args.fuse)
        shape = runner.graph.input_shape[1:]
        if len(shape) != 3 or shape[0] not in (1, 3):
            raise ProfileError(f"{args.model}: codecs are measured on image inputs (C x H x W "
                               f"with C 1 or 3); this model's input per sample is "
                               f"{'x'.join(map(str, shape))}")
        inputs, _ = calibration_batch(shape, args.batch, folder=args.calibration,
                                      seed=args.seed,
                                      normalisation=default_normalisation(args.model))
        printer = None if args.quiet else ProgressPrinter(after_s=0.5)
        try:
            table = measure_codecs(runner, inputs, coders=args.coders,
                                   lossy_bits=args.lossy_bits, progress=printer)
        finally:
            if printer is not None:
                printer.close()
    with writing(args.out):
        table.to_csv(sys.stdout if args.out == "-" else args.out, index=False)
    return 0
