"""Coalesce concurrent single-resource reads into batched AWS calls.

Alarms are read 100 names per DescribeAlarms call and scalable targets 50 ids per call. Each kind's
observe asks for one key; requests arriving within a short window (or filling a batch) share one call.
This serves `plan`/`apply` and the controller's workers alike, with no batching logic in the engine.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class BatchLoader(Generic[K, V]):
    def __init__(
        self,
        fetch: Callable[[list[K]], Awaitable[dict[K, V]]],
        max_batch: int,
        window_seconds: float = 0.005,
    ) -> None:
        self._fetch = fetch
        self._max_batch = max_batch
        self._window = window_seconds
        self._pending: list[tuple[K, asyncio.Future[V | None]]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._running: set[asyncio.Task[None]] = set()
        self._primed: dict[K, V | None] = {}

    async def prefetch(self, keys: list[K]) -> None:
        """Read `keys` in full batches now; each is then served once from memory by `load`."""
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), self._max_batch):
            chunk = unique[start: start + self._max_batch]
            found = await self._fetch(chunk)
            for key in chunk:
                self._primed[key] = found.get(key)

    async def load(self, key: K) -> V | None:
        """The value for `key`, or None when the batch call did not return it (not found)."""
        if key in self._primed:
            # Served once: the next observe of this key reads AWS again, never a stale copy.
            return self._primed.pop(key)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[V | None] = loop.create_future()
        self._pending.append((key, future))
        if len(self._pending) >= self._max_batch:
            self._flush()
        elif self._timer is None:
            self._timer = loop.call_later(self._window, self._flush)
        return await future

    def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        while self._pending:
            batch, self._pending = self._pending[: self._max_batch], self._pending[self._max_batch:]
            task = asyncio.get_running_loop().create_task(self._run(batch))
            self._running.add(task)  # keep a reference until done, or the task may be collected
            task.add_done_callback(self._running.discard)

    async def _run(self, batch: list[tuple[K, asyncio.Future[V | None]]]) -> None:
        keys = list(dict.fromkeys(key for key, _ in batch))
        try:
            found = await self._fetch(keys)
        except Exception as error:  # every waiter sees the failure of the call it shared
            for _, future in batch:
                if not future.done():
                    future.set_exception(error)
            return
        for key, future in batch:
            if not future.done():
                future.set_result(found.get(key))
