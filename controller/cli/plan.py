"""`trimtab plan`: what apply would change, as text, JSON or Markdown."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from controller.cli.plan_report import PLAN_FORMATS
from controller.cli.session import add_aws_arguments
from controller.cli.specs_pass import add_concurrency, plan_or_apply

Subparsers = Any


def register_plan(subcommands: Subparsers) -> None:
    plan = subcommands.add_parser(
        "plan", help="show what apply would change",
        description="Observe AWS and print, per resource: create, update (field by field, before -> after), "
                    "conflict, or in sync. Changes nothing. Exit 0: in sync; 2: changes; 1: errors or conflicts.",
    )
    plan.add_argument("path", type=Path, metavar="PATH")
    plan.add_argument("-v", "--verbose", action="store_true", help="also list resources that are in sync")
    plan.add_argument("--format", choices=PLAN_FORMATS, default="text",
                      help="text (default); json, for a CI check to read; markdown, for a pull-request comment "
                           "(docs/gitops.md). Same exit codes in every format")
    add_concurrency(plan)
    add_aws_arguments(plan)
    plan.set_defaults(handler=lambda args: asyncio.run(plan_or_apply(args, dry_run=True)))
