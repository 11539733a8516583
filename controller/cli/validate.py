"""`trimtab validate`: check specs without touching AWS."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from controller.cli.specs_pass import EXIT_ERROR, EXIT_OK, load_specs

Subparsers = Any


def _validate(args: argparse.Namespace) -> int:
    state = load_specs(args.path)
    if state is None:
        return EXIT_ERROR
    if state.errors:
        print(f"{len(state.errors)} error(s) in {state.file_count} file(s)", file=sys.stderr)
        return EXIT_ERROR
    print(f"{len(state.graph.records)} specs in {state.file_count} file(s) are valid (revision {state.revision})")
    return EXIT_OK


def register_validate(subcommands: Subparsers) -> None:
    parser = subcommands.add_parser(
        "validate", help="check specs without touching AWS",
        description="Check every spec under PATH: models, AWS's rules, references, duplicates and cycles. "
                    "Prints all errors, not just the first.",
    )
    parser.add_argument("path", type=Path, metavar="PATH", help="a spec file or a directory tree of .yaml/.yml")
    parser.set_defaults(handler=_validate)
