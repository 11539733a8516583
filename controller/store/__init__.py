"""What trimtab remembers: the inventory of managed resources and write-ahead create records.

This module is the one place that names the concrete backends. Commands and the composition root open
a store here, by what the user wrote (`--store dynamodb://TABLE`, else the state dir); everything else
sees only the contract in `base.py`, and tells a shared store by its capability (`LeaseStore`).
"""

from __future__ import annotations

from pathlib import Path

from botocore.exceptions import ClientError

from controller.aws import AwsClients, error_code
from controller.store.base import Store
from controller.store.dynamodb import STORE_SCHEME, DynamoStore
from controller.store.dynamodb_table import TableError, ensure_table
from controller.store.sqlite import DATABASE_NAME, SqliteStore

__all__ = ["STORE_SCHEME", "StoreNotFound", "TableError", "has_local_state", "init_shared_store", "open_local_store",
           "open_store", "table_of"]


class StoreNotFound(Exception):
    """`--store dynamodb://TABLE` names a table that does not exist (in this region)."""

    def __init__(self, table: str) -> None:
        super().__init__(table)
        self.table = table


def table_of(url: str) -> str:
    """The table of a `dynamodb://TABLE` URL."""
    return url.removeprefix(STORE_SCHEME)


def open_local_store(state_dir: Path) -> Store:
    """The embedded store of one task: SQLite in `state_dir`, created if missing."""
    return SqliteStore(state_dir)


def has_local_state(state_dir: Path) -> bool:
    """Whether a controller has written the embedded store in `state_dir` (readers never create one)."""
    return (state_dir / DATABASE_NAME).exists()


async def open_store(url: str | None, state_dir: Path, aws: AwsClients) -> Store:
    """The store a command names: None, the embedded one in `state_dir`; `dynamodb://TABLE`, the table
    several tasks share, which must exist (StoreNotFound) and is checked, and its older records
    converted, before any work."""
    if url is None:
        return open_local_store(state_dir)
    store = DynamoStore(aws, table_of(url))
    try:
        await store.check()
    except ClientError as error:
        if error_code(error) != "ResourceNotFoundException":
            raise
        raise StoreNotFound(store.table) from None
    return store


async def init_shared_store(url: str, aws: AwsClients) -> bool:
    """`trimtab store init`: create the table of `url` unless it exists (True when created here), as the
    ECS stack declares it; TableError when an existing one cannot serve."""
    return await ensure_table(aws, table_of(url))
