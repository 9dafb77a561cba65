"""The `moosplit` command line: one module per command, one-line errors, exit codes."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from ..errors import (
    DeployError,
    ExportError,
    OptionError,
    ProblemError,
    ProfileError,
    SolverError,
    UnsupportedProblemError,
)
from . import (
    codecs,
    compare,
    dynamic,
    export,
    info,
    list_profiles,
    plot,
    profile_model,
    serve,
    solve,
    sweep,
    validate,
)
from .options import UsageError, cli_message, solver_opt_hint

COMMANDS = (solve, compare, sweep, dynamic, plot, export, info, profile_model, list_profiles,
            codecs, serve, validate)


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error message, as the SPEC's exit contract asks."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message} (see '{self.prog} --help')")


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (one sub-command per module in COMMANDS)."""
    parser = _Parser(prog="moosplit", description="Plan edge/cloud DNN splits as "
                     "multi-objective problems.")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    for command in COMMANDS:
        command.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 success, 2 bad input, 1 failure)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.version:
            from .. import __version__
            print(__version__)
            return 0
        if args.command is None:
            names = ", ".join(c.COMMAND for c in COMMANDS)
            raise UsageError(f"a command is required ({names}); see 'moosplit --help'")
        return int(args.run(args) or 0)
    except BrokenPipeError:  # the reader went away (`moosplit ... | head`): stop quietly
        _discard_stdout()
        return 141  # as a Unix tool killed by SIGPIPE
    except (UsageError, OptionError, ProfileError, ProblemError, UnsupportedProblemError,
            DeployError, ExportError, OSError) as exc:
        if isinstance(exc, OSError):
            text = (f"{exc.filename}: {exc.strerror}" if exc.filename is not None
                    else exc.strerror or str(exc))
        elif isinstance(exc, OptionError):
            text = cli_message(exc)
        else:
            text = str(exc)
        if isinstance(exc, UnsupportedProblemError) and exc.options:
            text += "; " + solver_opt_hint(exc.options)
        print(f"moosplit: error: {' '.join(text.split())}", file=sys.stderr)
        return 2
    except ImportError as exc:  # an optional extra (profile, torch, plot) is missing
        print(f"moosplit: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    except SolverError as exc:
        print(f"moosplit: solver failed: {' '.join(str(exc).split())}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("moosplit: interrupted", file=sys.stderr)
        return 130


def _discard_stdout() -> None:
    """Point standard output at the null device, so that flushing it at exit does not
    fail again on the closed pipe."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass  # not a real file (captured in a test): nothing will be flushed to the pipe
