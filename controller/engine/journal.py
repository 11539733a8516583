"""The event journal: what happened to each item, kept in the store for `trimtab events` and `describe`.

It listens to the event log, so every resource event that is logged (Created, DriftCorrected, Error,
Deleted, ...) is also kept, with nothing to remember at each call site. Retention is bounded twice, as
Kubernetes bounds its events: at most EVENTS_PER_ITEM per item (a repeat of the item's latest reason
and message is counted on that event, not added), and none older than EVENT_RETENTION_SECONDS, so the
events of a removed spec (its Deleted, say) stay for a day and then go.

Logging is synchronous and store writes are not: `record` only changes memory and marks the item, and
`run` writes marked items in the background. An item's events are written by the task that reconciles
it (fenced like its status); a task that does not own the item keeps what it heard in memory only.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from controller.engine.events import EventLog, level_of
from controller.engine.status import rfc3339
from controller.store.base import Event, FencedWrite, Store

EVENTS_PER_ITEM = 20
EVENT_RETENTION_SECONDS = 24 * 3600.0
SWEEP_SECONDS = 600.0  # how often expired events are dropped
RETRY_SECONDS = 1.0  # after a failed store write
_NOT_DETAILS = ("kind", "name", "duration")  # the item is the key; a duration says nothing later


def event_type(reason: str) -> str:
    """Kubernetes' event types: Warning for what the log calls an error or a warning, else Normal."""
    return "Normal" if level_of(reason) == "info" else "Warning"


def event_document(key: str, event: Event) -> dict[str, Any]:
    """An event as `trimtab events -o json` and GET /api/v1/events show it."""
    return {"object": key, "type": event_type(event.reason), "reason": event.reason, "message": event.message,
            "count": event.count, "firstTime": rfc3339(event.first_time), "lastTime": rfc3339(event.last_time),
            "details": event.details}


def newest_last(rings: Mapping[str, tuple[Event, ...]], key: str | None = None) -> list[tuple[str, Event]]:
    """Every event of `rings` (of one item, if `key`), oldest first, as `kubectl get events` lists them."""
    keys = [key] if key is not None else list(rings)
    return sorted(((k, event) for k in keys for event in rings.get(k, ())), key=lambda pair: pair[1].last_time)


class EventJournal:
    def __init__(self, store: Store, events: EventLog, *, owns: Callable[[str], bool],
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.events = events
        self.owns = owns
        self.clock = clock
        self.rings: dict[str, tuple[Event, ...]] = {}  # key -> its events, oldest first
        self._dirty: set[str] = set()
        self._wake = asyncio.Event()
        events.subscribe(self.record)

    async def load(self) -> None:
        """What the store kept (a restart)."""
        self.rings = await self.store.events()

    def absorb(self, rings: Mapping[str, tuple[Event, ...]], *, keep: Callable[[str], bool]) -> None:
        """Take in the store's events (another task wrote them), except for the keys `keep` says this
        task's own memory is newer for."""
        for key, ring in rings.items():
            if not keep(key):
                self.rings[key] = ring

    def record(self, event: str, message: str, fields: Mapping[str, Any]) -> None:
        """An event log listener: keep each resource event (one with a kind and a name)."""
        kind, name = fields.get("kind"), fields.get("name")
        if not kind or not name:
            return
        key, now = f"{kind}/{name}", self.clock()
        details = {field: value for field, value in fields.items() if field not in _NOT_DETAILS and value is not None}
        ring = self.rings.get(key, ())
        latest = ring[-1] if ring else None
        if latest is not None and (latest.reason, latest.message) == (event, message):
            ring = (*ring[:-1], replace(latest, last_time=now, count=latest.count + 1, details=details))
        else:
            ring = (*ring, Event(event, message, now, now, 1, details))[-EVENTS_PER_ITEM:]
        self.rings[key] = ring
        self._dirty.add(key)
        self._wake.set()

    def recent(self, key: str | None = None) -> list[tuple[str, Event]]:
        return newest_last(self.rings, key)

    async def run(self, stopping: asyncio.Event) -> None:
        """Write marked items as they come, and drop expired events every SWEEP_SECONDS."""
        next_sweep = time.monotonic() + SWEEP_SECONDS
        while not stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), max(0.0, next_sweep - time.monotonic()))
            self._wake.clear()
            if time.monotonic() >= next_sweep:
                self.sweep()
                next_sweep = time.monotonic() + SWEEP_SECONDS
            try:
                await self.flush()
            except Exception as error:  # a store outage: the events wait in memory and are written later
                self.events.emit("Error", f"writing events to the store failed: {error}")
                await asyncio.sleep(RETRY_SECONDS)

    async def flush(self) -> None:
        """Write every marked item's events now (also at shutdown)."""
        for key in sorted(self._dirty):
            self._dirty.discard(key)
            try:
                await self.store.put_events(key, self.rings.get(key, ()))
            except FencedWrite:
                continue  # not this task's item (any more): its owner keeps its events
            except Exception:
                self._dirty.add(key)
                raise

    def sweep(self) -> None:
        """Drop events older than the retention; an item left with none is forgotten, in the store too."""
        cutoff = self.clock() - EVENT_RETENTION_SECONDS
        for key, ring in list(self.rings.items()):
            kept = tuple(event for event in ring if event.last_time >= cutoff)
            if kept == ring:
                continue
            if kept:
                self.rings[key] = kept
            else:
                del self.rings[key]
            if self.owns(key):
                self._dirty.add(key)
                self._wake.set()
