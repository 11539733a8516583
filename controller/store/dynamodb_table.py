"""The table of `--store dynamodb://TABLE`, made as deploy/ecs/trimtab.yaml declares it: the store's keys
(`table_definition`, which the store's queries rely on), on-demand billing, encryption at rest with the
AWS managed key, and point-in-time recovery. `trimtab store init` creates it for a deployment without
the stack; tests/test_deploy.py checks that the stack declares exactly this table.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from botocore.exceptions import ClientError

from controller.aws import AwsClients, error_code
from controller.store.dynamodb import table_definition

# SSEEnabled: true in the stack: server-side encryption with the AWS managed key (aws/dynamodb).
ENCRYPTION = {"Enabled": True}
POINT_IN_TIME_RECOVERY = {"PointInTimeRecoveryEnabled": True}
ACTIVE_TIMEOUT_SECONDS = 300.0
_POLL_SECONDS = 2.0


class TableError(Exception):
    """The table cannot serve as the store: it exists with other keys, or never became ACTIVE."""


def create_table_request(table: str) -> dict[str, Any]:
    """CreateTable arguments for the store's table; point-in-time recovery is a call of its own."""
    return {**table_definition(table), "SSESpecification": ENCRYPTION}


async def ensure_table(aws: AwsClients, table: str) -> bool:
    """Create the table unless it exists (True when created here), wait until it is ACTIVE, and turn on
    point-in-time recovery. Safe to run again, after a failure too: every step is idempotent."""
    client = await aws.client("dynamodb")
    request = create_table_request(table)
    try:
        await client.create_table(**request)
        created = True
    except ClientError as error:
        if error_code(error) != "ResourceInUseException":
            raise
        created = False
    deadline = time.monotonic() + ACTIVE_TIMEOUT_SECONDS
    description = await _wait_until_active(client, table, deadline)
    if _keys(description) != _keys(request):
        raise TableError(f"the DynamoDB table {table} exists with other keys ({_keys(description)}; the store "
                         f"needs {_keys(request)}): pick another name, or delete that table if it is unused")
    await _enable_point_in_time_recovery(client, table, deadline)
    return created


def _keys(table: dict[str, Any]) -> str:
    return ", ".join(f"{key['AttributeName']} {key['KeyType']}" for key in table["KeySchema"])


async def _wait_until_active(client: Any, table: str, deadline: float) -> dict[str, Any]:
    while True:
        description: dict[str, Any] = (await client.describe_table(TableName=table))["Table"]
        if description["TableStatus"] == "ACTIVE":
            return description
        if time.monotonic() > deadline:
            raise TableError(f"the DynamoDB table {table} is still {description['TableStatus']} after "
                             f"{ACTIVE_TIMEOUT_SECONDS:.0f} s; run this again once it is ACTIVE")
        await asyncio.sleep(_POLL_SECONDS)


async def _enable_point_in_time_recovery(client: Any, table: str, deadline: float) -> None:
    # Right after CreateTable AWS may answer ContinuousBackupsUnavailableException for a while.
    while True:
        try:
            await client.update_continuous_backups(
                TableName=table, PointInTimeRecoverySpecification=POINT_IN_TIME_RECOVERY)
            return
        except ClientError as error:
            if error_code(error) != "ContinuousBackupsUnavailableException" or time.monotonic() > deadline:
                raise
        await asyncio.sleep(_POLL_SECONDS)
