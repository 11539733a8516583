"""`trimtab suspend KIND/NAME...`: pause reconciling items, as `flux suspend` does, through a running
controller's API (admin token). The suspension is kept in the store until `trimtab resume`, restarts
included, and is independent of the spec's `trimtab.io/suspend` annotation: either suspends.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from controller.cli.api_client import add_admin_arguments, api_token, post_admin

EXIT_OK = 0
Subparsers = Any


async def _suspend(args: argparse.Namespace) -> int:
    body = await post_admin(args.url, "/api/v1/suspend", api_token(args), {"items": args.items, "reason": args.reason})
    for key in body["suspended"]:
        print(f"{key} suspended")
    return EXIT_OK


def register_suspend(subcommands: Subparsers) -> None:
    suspend = subcommands.add_parser(
        "suspend", help="stop reconciling resources until `trimtab resume` (through the API)",
        description="POST /api/v1/suspend: the items are left alone (no AWS change, no drift correction) until "
                    "resumed, across restarts. Their rows say Synced=Unknown, reason Suspended. Needs the API "
                    "token.",
    )
    suspend.add_argument("items", nargs="+", metavar="KIND/NAME", help="e.g. Queue/orders or queue/orders")
    suspend.add_argument("--reason", default="", help="why, shown by `get` and `describe`")
    add_admin_arguments(suspend)
    suspend.set_defaults(handler=lambda args: asyncio.run(_suspend(args)))
