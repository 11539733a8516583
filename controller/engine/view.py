"""The controller as the HTTP server sees it: status and events to read, and the few actions an
operator takes (resync, suspend, resume).

A narrow face instead of the supervisor's attributes, so the interface layer cannot reach into the
engine's state and change it behind the engine's back.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from controller.api.envelope import Resource
from controller.engine.supervisor import Supervisor
from controller.sources.base import FetchRecord, Source
from controller.store.base import Event, ItemStatus


class ControllerView:
    def __init__(self, supervisor: Supervisor) -> None:
        self._supervisor = supervisor

    @property
    def source(self) -> Source:
        """For the git webhook, which asks the source to fetch."""
        return self._supervisor.source

    @property
    def fetches(self) -> FetchRecord:
        return self._supervisor.source.fetches

    @property
    def revision(self) -> str | None:
        state = self._supervisor.follower.state
        return state.revision if state else None

    def statuses(self) -> Mapping[str, ItemStatus]:
        return self._supervisor.ledger.statuses

    def source_document(self) -> dict[str, Any]:
        return self._supervisor.follower.document()

    def events(self, key: str | None = None) -> list[tuple[str, Event]]:
        """Events this task heard or read, oldest first (of one item, if `key`)."""
        return self._supervisor.journal.recent(key)

    def resource(self, key: str) -> Resource | None:
        state = self._supervisor.follower.state
        record = state.graph.records.get(key) if state else None
        return record.resource if record else None

    async def suspend(self, keys: list[str], reason: str) -> None:
        await self._supervisor.suspend(keys, reason)

    async def resume(self, keys: list[str]) -> list[str]:
        """Returns the keys the operator had suspended."""
        return await self._supervisor.resume(keys)

    def suspended_why(self, key: str) -> str | None:
        resource = self.resource(key)
        return self._supervisor.suspensions.why(resource) if resource else None

    def live_keys(self) -> set[str]:
        state = self._supervisor.follower.state
        return set(state.graph.records) if state else set()

    def longest_running_seconds(self) -> float:
        return self._supervisor.queue.longest_running_seconds()

    async def refresh_source(self) -> str | None:
        return await self._supervisor.follower.refresh()

    def resync(self, keys: list[str] | None) -> tuple[list[str], list[str]]:
        """(queued here, held by other tasks)"""
        return self._supervisor.resync(keys)
