"""Delayed adds: client-go's `DelayingInterface` (delaying_queue.go) over the basic queue.

Resyncs and retries are `add_after(key, delay)`. As in client-go, a key has at most ONE pending deadline:
a new `add_after` for a key already waiting only ever moves it earlier ("if the item is already waiting,
only move it earlier"), and the more urgent priority of the two is kept. The previous queue pushed a new
heap entry each time, so every manual resync, spec change or dependency wake-up started one more timer
chain for the item, and steady-state AWS reads grew for as long as the process lived.

All deadlines live in one heap served by one task (`run_timers`), not a sleeping task per item. The heap
uses lazy deletion: `_pending` (key -> its one deadline) is the truth, and a heap entry whose sequence
number no longer matches it is stale and skipped; the heap is rebuilt when stale entries outnumber live
ones, so its size stays proportional to the number of waiting keys.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from dataclasses import dataclass

from controller.engine.workqueue.clock import Clock
from controller.engine.workqueue.queue import Priority, Queue
from controller.metrics import Metrics

_COMPACT_MIN_STALE = 64


@dataclass
class _Pending:
    deadline: float
    sequence: int
    priority: Priority


class DelayingQueue(Queue):
    def __init__(self, *, metrics: Metrics | None = None, clock: Clock | None = None) -> None:
        super().__init__(metrics=metrics, clock=clock)
        self._pending: dict[str, _Pending] = {}
        self._heap: list[tuple[float, int, str]] = []
        self._stale = 0  # heap entries no longer in _pending
        self._sequence = itertools.count()
        self._wake = asyncio.Event()  # the earliest deadline moved, or shutdown

    def add_after(self, key: str, delay: float, priority: Priority = Priority.LOW) -> None:
        """Queue `key` after `delay` seconds. If it is already waiting, only move it earlier; either way the
        more urgent priority wins. A delay <= 0 adds it now (any pending deadline stays)."""
        if self._shutting_down:
            return
        if delay <= 0:
            self.add(key, priority)
            return
        deadline = self.clock.now() + delay
        pending = self._pending.get(key)
        if pending is not None:
            pending.priority = min(pending.priority, priority)
            if deadline >= pending.deadline:
                return
            self._stale += 1  # its old heap entry
        head = self._next_deadline()
        entry = _Pending(deadline, next(self._sequence), priority if pending is None else pending.priority)
        self._pending[key] = entry
        heapq.heappush(self._heap, (deadline, entry.sequence, key))
        self._compact()
        if head is None or deadline < head:
            self._wake.set()

    def drop(self, key: str) -> None:
        """The key left the desired state: also forget its pending deadline."""
        super().drop(key)
        if self._pending.pop(key, None) is not None:
            self._stale += 1
            self._compact()

    def release_due(self) -> int:
        """Queue every item whose deadline has come; returns how many. The timer task calls this."""
        now = self.clock.now()
        released = 0
        while self._heap and self._heap[0][0] <= now:
            _, sequence, key = heapq.heappop(self._heap)
            pending = self._pending.get(key)
            if pending is None or pending.sequence != sequence:
                self._stale -= 1
                continue
            del self._pending[key]
            self.add(key, pending.priority)
            released += 1
        return released

    async def run_timers(self) -> None:
        """Move delayed items into the queue as they come due. One task for all of them; ends on shutdown."""
        while not self._shutting_down:
            self.release_due()
            deadline = self._next_deadline()
            self._wake.clear()
            await self.clock.sleep_until(deadline, self._wake)

    def shut_down(self) -> None:
        super().shut_down()
        self._wake.set()

    # ---- state -------------------------------------------------------------------------------------

    def waiting(self) -> int:
        """How many keys have a pending deadline (each has exactly one)."""
        return len(self._pending)

    def pending_deadline(self, key: str) -> float | None:
        pending = self._pending.get(key)
        return None if pending is None else pending.deadline

    def pending_priority(self, key: str) -> Priority | None:
        pending = self._pending.get(key)
        return None if pending is None else pending.priority

    def timer_entries(self) -> int:
        """The heap's size, stale entries included (bounded by about twice `waiting()`)."""
        return len(self._heap)

    # ---- the heap ----------------------------------------------------------------------------------

    def _next_deadline(self) -> float | None:
        while self._heap:
            deadline, sequence, key = self._heap[0]
            pending = self._pending.get(key)
            if pending is not None and pending.sequence == sequence:
                return deadline
            heapq.heappop(self._heap)
            self._stale -= 1
        return None

    def _compact(self) -> None:
        if self._stale > _COMPACT_MIN_STALE and self._stale > len(self._pending):
            self._heap = [(pending.deadline, pending.sequence, key) for key, pending in self._pending.items()]
            heapq.heapify(self._heap)
            self._stale = 0
