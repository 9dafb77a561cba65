"""`moosplit profile`: turn a model (ONNX file, built-in architecture, torch factory) into a
profile CSV."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import warnings
from collections.abc import Iterator

from ..deploy.packing import packing_metadata
from ..errors import OptionError, ProfileError
from ..profilers.builder import HOST, Measurement, build_profile
from ..profilers.calibration import Normalisation
from ..profilers.loading import default_normalisation, load_model
from ..profiles.csv_io import write_profile
from .options import check_out, comma_list, flags_for
from .output import ProgressPrinter, writing

COMMAND = "profile"
"""The command this module implements."""


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the `profile` command."""
    parser = sub.add_parser(
        COMMAND, help="profile a model into a layer table (CSV)",
        description="Read a model's graph, measure or model per-node latency on the edge and "
        "cloud devices, estimate quantisation errors on calibration inputs, and write the "
        "profile CSV. MODEL is an ONNX file (extra 'profile'), the name of a built-in "
        "architecture such as resnet50 (extra 'torch'), or 'package.module:factory' naming "
        "a function that returns a torch.nn.Module.")
    add_model_arguments(parser, "profile CSV")
    parser.add_argument("--edge", default=HOST, metavar="DEVICE",
                        help="edge device: 'host' (measure here) or a device preset "
                             "(see docs/profiles.md); default host")
    parser.add_argument("--cloud", default=HOST, metavar="DEVICE",
                        help="cloud device: 'host' or a device preset; default host")
    parser.add_argument("--bits", type=comma_list(int), default=(2, 4, 6, 8),
                        help="bit-widths to give error columns for (16, the reference, is "
                             "implied); default 2,4,6,8")
    parser.add_argument("--errors", default="mse", choices=("mse", "output", "none"),
                        help="quantisation error: per-node MSE (mse), error of the model "
                             "output when only that node is quantised (output), or no "
                             "error columns (none); default mse")
    parser.add_argument("--calibration", default=None, metavar="FOLDER",
                        help="folder of images for calibration (default: real photographs "
                             "shipped with matplotlib)")
    parser.add_argument("--text-calibration", action="store_true",
                        help="calibrate on images of text rendered locally instead (for "
                             "models that read text, such as a text detector); not with "
                             "--calibration")
    parser.add_argument("--mean", type=comma_list(float), default=None, metavar="M[,M,M]",
                        help="per-channel mean of calibration pixels in [0, 1], normalised "
                             "as (x - mean) / std (default: the built-in model's own, "
                             "else ImageNet's 0.485,0.456,0.406)")
    parser.add_argument("--std", type=comma_list(float), default=None, metavar="S[,S,S]",
                        help="per-channel standard deviation for the same normalisation "
                             "(default: the built-in model's own, else ImageNet's "
                             "0.229,0.224,0.225)")
    parser.add_argument("--samples", type=int, default=None,
                        help="calibration samples, a multiple of --batch (default: the "
                             "smallest multiple of the batch >= 16)")
    parser.add_argument("--runs", type=int, default=10,
                        help="timed runs per node; the median is kept (default 10)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed runs first (default 3)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed for random weights of built-in architectures and for "
                             "calibration crops (default 0)")
    parser.add_argument("--vocab", type=int, default=None, metavar="N",
                        help="the model reads token ids in [0, N) (a module:factory language "
                             "model; built-in architectures know theirs)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    parser.set_defaults(run=run)


def add_model_arguments(parser: argparse.ArgumentParser, writes: str) -> None:
    """MODEL, --out and the options that say how to load a model (`profile` and `codecs`)."""
    parser.add_argument("model", metavar="MODEL", help="MODEL.onnx, an architecture name, or "
                        "module:factory (node names are the same for every command)")
    parser.add_argument("--out", required=True, help=f"{writes} to write ('-' for stdout)")
    parser.add_argument("--input-shape", default=None, metavar="CxHxW",
                        help="input shape per sample, e.g. 3x224x224 (needed where the model "
                             "leaves dimensions open; built-in architectures know theirs)")
    parser.add_argument("--batch", type=int, default=1, help="samples per inference (default 1)")
    parser.add_argument("--no-fuse", dest="fuse", action="store_false",
                        help="one row per graph node (BatchNorm and activations as rows of "
                             "their own, ONNX run unoptimised) instead of one row per kernel "
                             "a deployment runs (default: fused)")


def parse_shape(text: str | None) -> tuple[int, ...] | None:
    """'3x224x224' -> (3, 224, 224)."""
    if text is None:
        return None
    try:
        shape = tuple(int(p) for p in text.lower().split("x"))
    except ValueError:
        shape = ()
    if not shape or min(shape) < 1:
        raise ProfileError(f"--input-shape must read like 3x224x224, got {text!r}")
    return shape


def check_device(option: str, name: str) -> None:
    """Refuse an unknown device preset before any slow work, naming the option."""
    if name == HOST:
        return
    from ..profilers.devices import get_device

    try:
        get_device(name)
    except ValueError as exc:
        raise ProfileError(f"--{option}: {exc} (or 'host' to measure here)") from None


def check_options(args: argparse.Namespace) -> int:
    """Refuse bad numbers and an unwritable --out before any slow work; return the number
    of calibration samples."""
    if args.batch < 1:
        raise ProfileError(f"--batch must be >= 1, got {args.batch}")
    samples = -(-16 // args.batch) * args.batch if args.samples is None else args.samples
    if samples < 1 or samples % args.batch:
        raise ProfileError(f"--samples must be a positive multiple of --batch ({args.batch}), "
                           f"got {samples}")
    if args.runs < 1 or args.warmup < 0:
        raise ProfileError(f"--runs must be >= 1 and --warmup >= 0, got {args.runs} and "
                           f"{args.warmup}")
    if any(not 2 <= b <= 16 for b in args.bits):
        raise ProfileError(f"--bits must lie in 2..16, got {','.join(map(str, args.bits))}")
    if args.text_calibration and args.calibration is not None:
        raise ProfileError("--calibration and --text-calibration: give one (a folder of "
                           "images, or images of rendered text)")
    for option in ("edge", "cloud"):
        check_device(option, getattr(args, option))
    check_out(args.out)
    return samples


def normalisation(args: argparse.Namespace) -> Normalisation:
    """The calibration normalisation: MODEL's own (or ImageNet's), with --mean and --std
    replacing its values where given."""
    default = default_normalisation(args.model)
    if args.mean is None and args.std is None:
        return default
    mean = default.mean if args.mean is None else args.mean
    std = default.std if args.std is None else args.std
    given = " and ".join(f for f, v in (("--mean", args.mean), ("--std", args.std)) if v)
    return Normalisation(mean, std, f"{given} as given; otherwise {default.source or 'default'}")


@contextlib.contextmanager
def cwd_importable() -> Iterator[None]:
    """Modules in the working directory importable for MODEL's module:factory, as with
    `python -m` (the `moosplit` script itself does not put it on the path)."""
    cwd = os.getcwd()
    added = cwd not in sys.path and "" not in sys.path
    if added:
        sys.path.insert(0, cwd)
    try:
        yield
    finally:
        if added and cwd in sys.path:
            sys.path.remove(cwd)


MODEL_FLAGS = {"input_shape": "--input-shape", "batch": "--batch", "coders": "--coders",
               "lossy_bits": "--lossy-bits", "mean": "--mean", "std": "--std"}
"""Profiler parameters and the flags of `profile` and `codecs` that set them."""


@contextlib.contextmanager
def as_cli_errors(quiet: bool) -> Iterator[None]:
    """Library ValueErrors become one-line bad-input errors, OptionErrors naming the flag
    (MODEL_FLAGS); warnings print as one line."""
    with flags_for(**MODEL_FLAGS), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
        except OptionError:
            raise  # named by its flag (MODEL_FLAGS)
        except ValueError as exc:
            raise ProfileError(str(exc)) from None
        finally:
            if not quiet:
                for warning in {str(w.message): w for w in caught}.values():
                    text = " ".join(str(warning.message).split())
                    print(f"moosplit: warning: {text}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    """Execute `moosplit profile`."""
    samples = check_options(args)
    shape = parse_shape(args.input_shape)
    printer = None if args.quiet else ProgressPrinter(after_s=0.5)
    with as_cli_errors(args.quiet):
        with cwd_importable():
            runner, weights = load_model(args.model, batch=args.batch, shape=shape,
                                         seed=args.seed, fuse=args.fuse, vocab=args.vocab)
        calibration, origin = None, ""
        if args.errors != "none":
            from ..profilers.calibration import calibration_inputs

            if runner.graph.input_vocab is not None and (args.mean or args.std):
                raise ProfileError(f"--mean and --std normalise images; {args.model} reads "
                                   "token ids (calibrated on random ids)")
            calibration, origin = calibration_inputs(
                runner.graph, samples, folder=args.calibration, seed=args.seed,
                normalisation=normalisation(args), text=args.text_calibration)
        try:
            profile = build_profile(
                runner, edge=args.edge, cloud=args.cloud, bits=args.bits,
                errors=None if args.errors == "none" else args.errors,
                calibration=calibration, calibration_origin=origin,
                measurement=Measurement(warmup=args.warmup, runs=args.runs),
                metadata={"weights": weights, **packing_metadata()}, progress=printer)
        finally:
            if printer is not None:
                printer.close()
    if args.out == "-":
        from ..profiles.csv_io import format_metadata

        sys.stdout.write(format_metadata(profile.metadata))
        profile.to_frame().to_csv(sys.stdout, index=False)
    else:
        with writing(args.out):
            write_profile(profile, args.out)
        if not args.quiet:
            print(f"wrote {args.out}: {profile.n_nodes} nodes, bit-widths "
                  f"{','.join(map(str, profile.bit_widths))}", file=sys.stderr)
    return 0
