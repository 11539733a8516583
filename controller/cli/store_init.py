"""`trimtab store init dynamodb://TABLE`: create the table `--store` needs, as the ECS stack would."""

from __future__ import annotations

import argparse
import asyncio
from contextlib import AsyncExitStack
from typing import Any

from controller.cli.argtypes import store_url
from controller.cli.errors import UserError
from controller.cli.session import add_region_argument, aws_settings, open_aws
from controller.store import TableError, init_shared_store, table_of

EXIT_OK = 0
Subparsers = Any


async def _init(args: argparse.Namespace) -> int:
    table = table_of(args.store)
    async with AsyncExitStack() as stack:
        aws = await open_aws(stack, aws_settings(args.region, args.emulator))
        try:
            created = await init_shared_store(args.store, aws)
        except TableError as error:
            raise UserError(str(error)) from None
        region = aws.region
    state = "created" if created else "already existed; checked"
    print(f"DynamoDB table {table} in {region} {state}: on-demand, encrypted, point-in-time recovery on. "
          f"Use it with --store {args.store}")
    return EXIT_OK


def register_store(subcommands: Subparsers) -> None:
    parser = subcommands.add_parser(
        "store", help="manage the shared DynamoDB store",
        description="The DynamoDB table that several tasks share with --store dynamodb://TABLE.",
    )
    actions = parser.add_subparsers(dest="store_command", required=True, metavar="ACTION")
    init = actions.add_parser(
        "init", help="create the table, as deploy/ecs/trimtab.yaml does",
        description="Create the table --store dynamodb://TABLE uses, exactly as deploy/ecs/trimtab.yaml declares "
                    "it: keys pk and sk, on-demand billing, encryption with the AWS managed key, point-in-time "
                    "recovery. Waits until it is ACTIVE. An existing table with the right keys is left as it is "
                    "(point-in-time recovery turned on). Needs dynamodb:CreateTable, dynamodb:DescribeTable and "
                    "dynamodb:UpdateContinuousBackups, which the controller's own policy does not grant.",
    )
    init.add_argument("store", type=store_url, metavar="dynamodb://TABLE")
    add_region_argument(init)
    init.add_argument("--emulator", metavar="URL", default=None,
                      help="create it in an AWS emulator running at URL, with the emulator's credentials")
    init.set_defaults(handler=lambda args: asyncio.run(_init(args)))
