"""`trimtab`: validate, plan and apply specs, generate CRDs, run the embedded emulator."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import FrameType

from controller import __version__
from controller.cli import commands
from controller.cli.config_file import ConfigError, load_config
from controller.cli.errors import Stopped, report
from controller.cli.session import state_dir_of

# Stop signals other than Ctrl-C's. `trimtab run` replaces these with its own while its loop runs (drain,
# resync); everywhere else they unwind the command like Ctrl-C, so nothing it started outlives it.
STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)

DESCRIPTION = """\
trimtab keeps AWS resources (SQS queues, S3 buckets, CloudWatch alarms, Application Auto Scaling
targets and policies) matching Kubernetes-shaped YAML specs.

Start here, no AWS account needed:
  trimtab validate specs/          check every spec; errors name file:line:column and field
  trimtab plan --local specs/      what would change, against an embedded AWS emulator
  trimtab apply --local specs/     make the changes there
"""

EPILOG = """\
exit codes: 0 success / in sync, 1 errors (invalid specs, conflicts, AWS errors), 2 plan has changes.
AWS: the standard credential chain, AWS_REGION, and AWS_ENDPOINT_URL are honoured.
Errors are one line that names the fix; TRIMTAB_TRACEBACK=1 shows where an unexpected one happened.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trimtab", description=DESCRIPTION, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"trimtab {__version__}")
    subcommands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for register in commands.REGISTRATIONS:
        register(subcommands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "config", None) is not None:
        # The file sets the command's defaults; parsing again lets the command line override them.
        try:
            args.command_parser.set_defaults(**load_config(args.config, args.command_parser))
        except ConfigError as error:
            print(f"trimtab: {error}", file=sys.stderr)
            return 1
        args = parser.parse_args(argv)
    try:
        with _stop_signals_unwind():
            return int(args.handler(args))
    except KeyboardInterrupt:
        print("trimtab: interrupted", file=sys.stderr)
        return 130
    except Stopped as stopped:
        print(f"trimtab: stopped by {stopped}", file=sys.stderr)
        return 128 + stopped.signum
    except BrokenPipeError:  # `trimtab get | head`: the reader left; that is not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as error:
        return report(error, listen=getattr(args, "listen", None), state_dir=state_dir_of(args))


@contextmanager
def _stop_signals_unwind() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():  # only the main thread may set handlers
        yield
        return

    def stop(signum: int, _frame: FrameType | None) -> None:
        raise Stopped(signum)

    previous = {number: signal.signal(number, stop) for number in STOP_SIGNALS}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
