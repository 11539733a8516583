"""A work queue with client-go's semantics, on asyncio.

- An item (a "Kind/name" key) is never queued twice; an add while it is being processed marks it
  dirty, and it is queued once more when the worker calls `done`.
- Two priorities: source changes and manual resyncs (HIGH) are always handed out before periodic
  resyncs (LOW), so thousands of drift checks never starve a new or changed spec.
- Delayed adds (resyncs, backoff) wait in one timer heap served by one task, not a sleeping task each.
- Failures back off per item exponentially up to a cap, and an overall token bucket limits the
  rate of retries across all items (client-go's MaxOf(per-item, bucket) limiter).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import heapq
import itertools
import time
from collections import deque
from dataclasses import dataclass

from controller.metrics import QUEUE_NAME, Metrics
from controller.ratelimit import TokenBucket


class Priority(enum.IntEnum):
    HIGH = 0  # source changes, manual resyncs, dependencies that became ready
    LOW = 1  # periodic drift checks


@dataclass
class QueueStats:
    adds: int = 0
    retries: int = 0


class WorkQueue:
    def __init__(
        self,
        base_backoff: float = 0.5,
        max_backoff: float = 300.0,
        retry_rate: float = 10.0,
        retry_burst: float = 100.0,
        metrics: Metrics | None = None,
    ) -> None:
        self._queues: dict[Priority, deque[str]] = {priority: deque() for priority in Priority}
        self._queued: dict[str, Priority] = {}
        self._processing: set[str] = set()
        self._dirty: dict[str, Priority] = {}
        self._failures: dict[str, int] = {}
        self._heap: list[tuple[float, int, str, Priority]] = []
        self._sequence = itertools.count()
        self._has_items = asyncio.Event()
        self._timer_changed = asyncio.Event()
        self._shutting_down = False
        self._base_backoff = base_backoff
        self._max_backoff = max_backoff
        self._retry_bucket = TokenBucket(retry_rate, retry_burst)
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
                self._queues[queued].remove(key)
                self._queues[priority].append(key)
                self._queued[key] = priority
            return
        self._queued[key] = priority
        self._queues[priority].append(key)
        self.added_at[key] = time.monotonic()
        self._has_items.set()

    def add_after(self, key: str, delay: float, priority: Priority = Priority.LOW) -> None:
        if self._shutting_down:
            return
        if delay <= 0:
            self.add(key, priority)
            return
        deadline = time.monotonic() + delay
        was_first = not self._heap or deadline < self._heap[0][0]
        heapq.heappush(self._heap, (deadline, next(self._sequence), key, priority))
        if was_first:
            self._timer_changed.set()

    def add_rate_limited(self, key: str) -> float:
        """Queue a failed item after its backoff; returns the delay chosen."""
        failures = self._failures.get(key, 0)
        self._failures[key] = failures + 1
        self.stats.retries += 1
        if self.metrics is not None:
            self.metrics.queue_retries.labels(QUEUE_NAME).inc()
        backoff: float = min(self._base_backoff * 2.0**failures, self._max_backoff)
        delay = max(backoff, self._retry_bucket.delay())
        self.add_after(key, delay, Priority.HIGH)
        return delay

    def forget(self, key: str) -> None:
        """The item succeeded: its next failure starts the backoff from the bottom again."""
        self._failures.pop(key, None)

    def failures(self, key: str) -> int:
        return self._failures.get(key, 0)

    # ---- taking ------------------------------------------------------------------------------------

    async def get(self) -> str | None:
        """The next item, or None once the queue shuts down."""
        while not self._shutting_down:
            for priority in Priority:
                lane = self._queues[priority]
                if lane:
                    key = lane.popleft()
                    del self._queued[key]
                    self._processing.add(key)
                    now = time.monotonic()
                    self.started_at[key] = now
                    waited = now - self.added_at.pop(key, now)
                    if self.metrics is not None:
                        self.metrics.queue_latency.labels(QUEUE_NAME).observe(waited)
                    return key
            self._has_items.clear()  # every waiting worker wakes on the next add and races for it
            await self._has_items.wait()
        return None

    def done(self, key: str) -> None:
        self._processing.discard(key)
        started = self.started_at.pop(key, None)
        if self.metrics is not None and started is not None:
            self.metrics.work_duration.labels(QUEUE_NAME).observe(time.monotonic() - started)
        priority = self._dirty.pop(key, None)
        if priority is not None:
            self.add(key, priority)

    # ---- the timer heap ----------------------------------------------------------------------------

    async def run_timers(self) -> None:
        """Move delayed items into the queue as they come due. One task for all of them."""
        while not self._shutting_down:
            now = time.monotonic()
            while self._heap and self._heap[0][0] <= now:
                _, _, key, priority = heapq.heappop(self._heap)
                self.add(key, priority)
            timeout = self._heap[0][0] - now if self._heap else None
            self._timer_changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._timer_changed.wait(), timeout)

    # ---- state -------------------------------------------------------------------------------------

    def depth(self) -> int:
        return len(self._queued)

    def unfinished_seconds(self) -> float:
        now = time.monotonic()
        return sum(now - started for started in self.started_at.values())

    def longest_running_seconds(self) -> float:
        now = time.monotonic()
        return max((now - started for started in self.started_at.values()), default=0.0)

    def waiting(self) -> int:
        return len(self._heap)

    def processing(self) -> set[str]:
        return set(self._processing)

    def shut_down(self) -> None:
        self._shutting_down = True
        self._timer_changed.set()
        self._has_items.set()
