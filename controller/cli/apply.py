"""`trimtab apply`: make AWS match the specs, once."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from controller.cli.session import add_aws_arguments
from controller.cli.specs_pass import add_concurrency, plan_or_apply

Subparsers = Any


def register_apply(subcommands: Subparsers) -> None:
    apply = subcommands.add_parser(
        "apply", help="make AWS match the specs",
        description="Create and update resources in dependency order, independent ones in parallel. "
                    "Idempotent: a second apply makes no changes. Never touches a resource trimtab does not "
                    "own unless its spec says adopt: true. Exit 0: success; 1: any error or conflict.",
    )
    apply.add_argument("path", type=Path, metavar="PATH")
    add_concurrency(apply)
    add_aws_arguments(apply)
    apply.set_defaults(handler=lambda args: asyncio.run(plan_or_apply(args, dry_run=False)))
