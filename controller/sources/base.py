"""What the controller needs from a source of desired state, whatever it reads: a directory or git."""

from __future__ import annotations

import asyncio
import contextlib
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass

from controller.sources.desired import DesiredState


async def settle(event: asyncio.Event, quiet_seconds: float, max_seconds: float) -> None:
    """After a wake-up, wait until `event` stays unset for `quiet_seconds` (at most `max_seconds`),
    so a burst of signals (files written one by one, webhooks for one push) becomes one look."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + max_seconds
    while event.is_set() and loop.time() < deadline:
        event.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), quiet_seconds)
    event.clear()


class SourceError(Exception):
    """The source cannot be read at all; never to be mistaken for "no specs"."""


@dataclass
class FetchRecord:
    """The outcome of the latest reads, for /readyz, metrics and `trimtab get`."""

    last_success: float | None = None  # Unix time of the last read that worked
    error: str | None = None  # the latest read's error, None when it worked
    failing_since: float | None = None
    attempts: int = 0
    failures: int = 0

    def succeeded(self) -> None:
        self.attempts += 1
        self.last_success, self.error, self.failing_since = time.time(), None, None

    def failed(self, error: str) -> None:
        self.attempts += 1
        self.failures += 1
        self.error = error
        if self.failing_since is None:
            self.failing_since = time.time()


class Source(ABC):
    """A source of revisions. `load` reads the current one; `wait_for_change` says when to look again.

    A failed read raises SourceError: the controller keeps the last good revision live and reports it.
    """

    def __init__(self) -> None:
        self.fetches = FetchRecord()

    @property
    @abstractmethod
    def description(self) -> str:
        """Where the specs come from, safe to log: never a credential."""

    @property
    def poll_seconds(self) -> float | None:
        """How often the source looks for a new revision by itself; None: it is told (a watched tree)."""
        return None

    @property
    def fetch_pending(self) -> bool:
        """Whether a look for a new revision is asked for (a webhook, a poke) or under way."""
        return False

    @abstractmethod
    async def load(self) -> DesiredState:
        """Read the source now; returns the cached state when the revision has not moved."""

    @abstractmethod
    async def wait_for_change(self) -> None:
        """Return when `load` is worth calling again: a change seen, a poll due, or a fetch requested."""

    # Optional hooks: a source without that behaviour keeps these no-ops.
    def request_fetch(self) -> None:  # noqa: B027
        """Look again at once (a webhook, `trimtab resync --source`); requests in a burst coalesce."""

    def tracks_ref(self, ref: str) -> bool:
        """Whether a push to this git ref (refs/heads/main) changes this source."""
        return False

    async def start(self) -> None:  # noqa: B027
        """Begin watching; called once inside the running event loop."""

    async def close(self) -> None:  # noqa: B027
        """Stop watching."""
