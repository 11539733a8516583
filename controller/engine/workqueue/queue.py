"""The basic queue: client-go's `workqueue.Type` (queue.go), on asyncio, with two priority lanes.

client-go's guarantees, which make "one reconcile per item at a time" hold without locks in the workers:
- An item (a "Kind/name" key) is never queued twice: adding a queued item is a no-op (or a promotion).
- An item is never handed to two workers at once. An add while it is being processed marks it dirty,
  and `done` queues it once more, however many adds came in the meantime.
- Two priorities (client-go has one FIFO; controller-runtime later grew priorities): source changes,
  manual resyncs, dependency wake-ups and retries (HIGH) are always handed out before periodic drift
  checks (LOW), so thousands of resyncs never starve a new or changed spec. A re-add at a higher
  priority promotes a queued item.
- The client-go workqueue metrics: depth, adds, queue latency, work duration, unfinished work and
  the longest running processor, all read off the injected clock.

Delays (`delaying.py`) and retries with backoff (`rate_limited.py`) are layers on top, as in client-go.
"""

from __future__ import annotations

import asyncio
import enum
from collections import deque
from dataclasses import dataclass

from controller.engine.workqueue.clock import Clock, RealClock
from controller.metrics import QUEUE_NAME, Metrics


class Priority(enum.IntEnum):
    HIGH = 0  # source changes, manual resyncs, dependencies that became ready, retries
    LOW = 1  # periodic drift checks


@dataclass
class QueueStats:
    adds: int = 0
    retries: int = 0


class Queue:
    def __init__(self, *, metrics: Metrics | None = None, clock: Clock | None = None) -> None:
        self.clock: Clock = clock if clock is not None else RealClock()
        self._lanes: dict[Priority, deque[str]] = {priority: deque() for priority in Priority}
        self._queued: dict[str, Priority] = {}
        self._processing: set[str] = set()
        self._dirty: dict[str, Priority] = {}  # added while processing: queued again on done
        self._has_items = asyncio.Event()
        self._shutting_down = False
        self.stats = QueueStats()
        self.added_at: dict[str, float] = {}  # when each queued item was queued, for latency metrics
        self.started_at: dict[str, float] = {}  # when each item in process was handed out
        self.metrics = metrics
        if metrics is not None:
            metrics.queue_depth.labels(QUEUE_NAME).set_function(self.depth)
            metrics.unfinished_work.labels(QUEUE_NAME).set_function(self.unfinished_seconds)
            metrics.longest_running.labels(QUEUE_NAME).set_function(self.longest_running_seconds)

    # ---- adding ------------------------------------------------------------------------------------

    def add(self, key: str, priority: Priority = Priority.HIGH) -> None:
        if self._shutting_down:
            return
        self.stats.adds += 1
        if self.metrics is not None:
            self.metrics.queue_adds.labels(QUEUE_NAME).inc()
        if key in self._processing:
            self._dirty[key] = min(priority, self._dirty.get(key, Priority.LOW))
            return
        queued = self._queued.get(key)
        if queued is not None:
            if priority < queued:  # promote: move it to the higher-priority lane
                self._lanes[queued].remove(key)
                self._lanes[priority].append(key)
                self._queued[key] = priority
            return
        self._queued[key] = priority
        self._lanes[priority].append(key)
        self.added_at[key] = self.clock.now()
        self._has_items.set()

    def drop(self, key: str) -> None:
        """The key left the desired state: unqueue it and forget its dirty mark. If it is being processed,
        it simply is not queued again on `done`."""
        queued = self._queued.pop(key, None)
        if queued is not None:
            self._lanes[queued].remove(key)
            self.added_at.pop(key, None)
        self._dirty.pop(key, None)

    # ---- taking ------------------------------------------------------------------------------------

    def get_nowait(self) -> str | None:
        """The next item if one is queued (HIGH first, then first in, first out), else None."""
        if self._shutting_down:
            return None
        for priority in Priority:
            lane = self._lanes[priority]
            if lane:
                key = lane.popleft()
                del self._queued[key]
                self._processing.add(key)
                now = self.clock.now()
                self.started_at[key] = now
                waited = now - self.added_at.pop(key, now)
                if self.metrics is not None:
                    self.metrics.queue_latency.labels(QUEUE_NAME).observe(waited)
                return key
        return None

    async def get(self) -> str | None:
        """The next item, waiting for one; None once the queue shuts down."""
        while not self._shutting_down:
            key = self.get_nowait()
            if key is not None:
                return key
            self._has_items.clear()  # every waiting worker wakes on the next add and races for it
            await self._has_items.wait()
        return None

    def done(self, key: str) -> None:
        """The worker finished `key`; if it was added meanwhile, it is queued once more."""
        self._processing.discard(key)
        started = self.started_at.pop(key, None)
        if self.metrics is not None and started is not None:
            self.metrics.work_duration.labels(QUEUE_NAME).observe(self.clock.now() - started)
        priority = self._dirty.pop(key, None)
        if priority is not None:
            self.add(key, priority)

    def shut_down(self) -> None:
        """Adds are ignored from now on, and every `get` (waiting or later) returns None."""
        self._shutting_down = True
        self._has_items.set()

    # ---- state -------------------------------------------------------------------------------------

    @property
    def shutting_down(self) -> bool:
        return self._shutting_down

    def depth(self) -> int:
        return len(self._queued)

    def queued(self) -> dict[str, Priority]:
        """The queued items and their lanes (a copy)."""
        return dict(self._queued)

    def processing(self) -> set[str]:
        return set(self._processing)

    def dirty(self) -> dict[str, Priority]:
        """Items added while processing, to be queued again on `done` (a copy)."""
        return dict(self._dirty)

    def unfinished_seconds(self) -> float:
        now = self.clock.now()
        return sum(now - started for started in self.started_at.values())

    def longest_running_seconds(self) -> float:
        now = self.clock.now()
        return max((now - started for started in self.started_at.values()), default=0.0)
