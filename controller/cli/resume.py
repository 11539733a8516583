"""`trimtab resume KIND/NAME...`: end a `trimtab suspend`, through a running controller's API (admin
token); each item reconciles at once. An item whose spec says `trimtab.io/suspend: "true"` stays suspended.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from controller.cli.api_client import add_admin_arguments, api_token, post_admin

EXIT_OK = 0
Subparsers = Any


async def _resume(args: argparse.Namespace) -> int:
    body = await post_admin(args.url, "/api/v1/resume", api_token(args), {"items": args.items})
    for key in body["resumed"]:
        print(f"{key} resumed")
    for key in body["notSuspended"]:
        print(f"{key} was not suspended")
    for key, why in body["stillSuspended"].items():
        print(f"{key} is still suspended: {why}", file=sys.stderr)
    return EXIT_OK


def register_resume(subcommands: Subparsers) -> None:
    resume = subcommands.add_parser(
        "resume", help="reconcile suspended resources again, at once (through the API)",
        description="POST /api/v1/resume: ends a `trimtab suspend`; each item reconciles at once. An item whose "
                    "spec says trimtab.io/suspend: \"true\" stays suspended, and is named on stderr.",
    )
    resume.add_argument("items", nargs="+", metavar="KIND/NAME")
    add_admin_arguments(resume)
    resume.set_defaults(handler=lambda args: asyncio.run(_resume(args)))
