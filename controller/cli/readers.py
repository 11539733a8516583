"""Where `get`, `describe` and `events` read: the store in a state dir (while `trimtab run` runs, and
after it stopped), or with `--url` a running controller's API. Both answer in the API's documents, so
each command renders one shape whatever it read.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

from controller.cli.api_client import fetch_resources, fetch_source, get_json
from controller.cli.session import DEFAULT_STATE_DIR, LOCAL_STATE_DIR
from controller.engine.journal import event_document, newest_last
from controller.engine.prune import HOLD_SETTING
from controller.engine.status import SOURCE_SETTING, inventory_document, status_document
from controller.store import has_local_state, open_local_store
from controller.store.base import Store

Document = dict[str, Any]
EXIT_OK, EXIT_ERROR = 0, 1


class Reader(ABC):
    @abstractmethod
    async def statuses(self) -> list[Document]:
        """Every row, as GET /api/v1/resources lists them."""

    @abstractmethod
    async def source(self) -> Document | None:
        """The source status, as GET /api/v1/source; None before a controller wrote one."""

    @abstractmethod
    async def held_prune(self) -> list[str] | None:
        """The keys a held prune would delete; None when none is held (or the reader cannot tell)."""

    @abstractmethod
    async def events(self, key: str | None = None) -> list[Document]:
        """Events, oldest first (of one item, if `key`), as GET /api/v1/events lists them."""

    @abstractmethod
    async def inventory(self, key: str) -> list[Document]:
        """The AWS resources the inventory records for the spec `key`."""

    def close(self) -> None:  # noqa: B027 (only the store has something to close)
        """Release what the reader holds."""


class StoreReader(Reader):
    def __init__(self, store: Store) -> None:
        self.store = store

    async def statuses(self) -> list[Document]:
        return [status_document(status) for status in (await self.store.statuses()).values()]

    async def source(self) -> Document | None:
        stored = await self.store.get_setting(SOURCE_SETTING)
        return dict(json.loads(stored)) if stored else None

    async def held_prune(self) -> list[str] | None:
        hold = await self.store.get_setting(HOLD_SETTING)
        return list(json.loads(hold)) if hold is not None else None

    async def events(self, key: str | None = None) -> list[Document]:
        return [event_document(k, event) for k, event in newest_last(await self.store.events(), key)]

    async def inventory(self, key: str) -> list[Document]:
        return [inventory_document(entry) for entry in await self.store.owned_by(key)]

    def close(self) -> None:
        self.store.close()


class ApiReader(Reader):
    """A running controller's view; with several tasks, what the task behind the URL knows."""

    def __init__(self, url: str) -> None:
        self.url = url

    async def statuses(self) -> list[Document]:
        return await fetch_resources(self.url)

    async def source(self) -> Document | None:
        return await fetch_source(self.url)

    async def held_prune(self) -> list[str] | None:
        return None  # the API reports a held prune in the log and metrics; `trimtab prune --url` releases it

    async def events(self, key: str | None = None) -> list[Document]:
        return list(await get_json(self.url, "/api/v1/events", **({"item": key} if key else {})))

    async def inventory(self, key: str) -> list[Document]:
        return list(await get_json(self.url, "/api/v1/inventory", item=key))


def add_reader_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", default=None, help="read a running controller's API instead of the store")
    add_state_arguments(parser)


def add_state_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--state-dir", type=Path, default=None, help=f"default: {DEFAULT_STATE_DIR}")
    parser.add_argument("--local", action="store_true",
                        help=f"read the state of a `run --local` ({LOCAL_STATE_DIR})")


def state_dir(args: argparse.Namespace) -> Path:
    return LOCAL_STATE_DIR if args.local else args.state_dir or DEFAULT_STATE_DIR


def open_existing(directory: Path) -> Store | None:
    """The store of a state dir that a controller has written, never a new empty one."""
    if not has_local_state(directory):
        print(f"trimtab: no state in {directory}/ (has `trimtab run` run with this --state-dir?)", file=sys.stderr)
        return None
    return open_local_store(directory)


def open_reader(args: argparse.Namespace) -> Reader | None:
    """--url's API, else the store of --state-dir (or --local's); None (the reason printed) without one."""
    if args.url:
        return ApiReader(args.url)
    store = open_existing(state_dir(args))
    return StoreReader(store) if store is not None else None


async def read_with(args: argparse.Namespace, read: Callable[[Reader], Awaitable[int]]) -> int:
    """Run `read` on the reader the arguments name, then close it."""
    reader = open_reader(args)
    if reader is None:
        return EXIT_ERROR
    try:
        return await read(reader)
    finally:
        reader.close()


def until_interrupted(command: Callable[[argparse.Namespace], Coroutine[Any, Any, int]],
                      ) -> Callable[[argparse.Namespace], int]:
    """A handler running `command`, for which Ctrl-C is the normal end (a --watch): exit 0."""
    def handler(args: argparse.Namespace) -> int:
        try:
            return asyncio.run(command(args))
        except KeyboardInterrupt:
            return EXIT_OK
    return handler
