"""`trimtab prune`: show a held prune, or release it (in the store, or through a running controller)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from controller.cli.api_client import api_token, confirm_prune_remote
from controller.cli.readers import add_state_arguments, open_existing, state_dir
from controller.engine.prune import CONFIRM_SETTING, HOLD_SETTING

EXIT_OK, EXIT_ERROR, EXIT_PRUNE_HELD = 0, 1, 3
Subparsers = Any


async def _prune(args: argparse.Namespace) -> int:
    if args.url:
        if not args.confirm:
            print("trimtab: with --url, prune needs --confirm (see the held prune with `trimtab get --url`)",
                  file=sys.stderr)
            return EXIT_ERROR
        return await confirm_prune_remote(args.url, api_token(args))
    store = open_existing(state_dir(args))
    if store is None:
        return EXIT_ERROR
    try:
        hold = await store.get_setting(HOLD_SETTING)
        if hold is None:
            print("no prune is held")
            return EXIT_OK
        keys = json.loads(hold)
        if not args.confirm:
            print(f"held: {len(keys)} resources would be deleted: {', '.join(keys)}")
            print("run `trimtab prune --confirm` to let the controller delete them")
            return EXIT_PRUNE_HELD
        await store.put_setting(CONFIRM_SETTING, hold)
        print(f"released: the controller deletes {len(keys)} resources within a second")
        return EXIT_OK
    finally:
        store.close()


def register_prune(subcommands: Subparsers) -> None:
    parser = subcommands.add_parser(
        "prune", help="show or release a held prune",
        description="A prune larger than the threshold is held. This shows it; --confirm releases exactly that "
                    "set (a different later prune is held again).",
    )
    parser.add_argument("--confirm", action="store_true", help="release the held prune")
    parser.add_argument("--url", default=None,
                        help="confirm through a running controller's API (on ECS, with the DynamoDB store)")
    parser.add_argument("--token-file", default=None, help="with --url: bearer token file (else TRIMTAB_API_TOKEN)")
    add_state_arguments(parser)
    parser.set_defaults(handler=lambda args: asyncio.run(_prune(args)))
