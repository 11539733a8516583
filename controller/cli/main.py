"""`trimtab`: validate, plan and apply specs, generate CRDs, run the embedded emulator."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from controller import __version__
from controller.cli import commands
from controller.cli.config_file import ConfigError, load_config

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
        return int(args.handler(args))
    except KeyboardInterrupt:
        print("trimtab: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `trimtab get | head`: the reader left; that is not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
