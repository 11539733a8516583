"""The controller as the HTTP server sees it: status to read, and the few actions an operator takes.

A narrow face instead of the supervisor's attributes, so the interface layer cannot reach into the
engine's state and change it behind the engine's back.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from controller.engine.supervisor import Supervisor
from controller.sources.base import FetchRecord, Source
from controller.store.base import ItemStatus


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
