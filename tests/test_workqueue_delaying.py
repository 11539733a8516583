"""The delaying layer (client-go's delaying_queue): one pending deadline per key, one timer heap, one task.
All on the FakeClock: time moves only when a test advances it."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from controller.engine.intervals import next_resync
from controller.engine.workqueue import DelayingQueue, FakeClock, Priority, RealClock

A = "Queue/a"


@contextlib.asynccontextmanager
async def timers(queue: DelayingQueue, clock: FakeClock) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(queue.run_timers())
    await clock.settle()
    try:
        yield task
    finally:
        queue.shut_down()
        await asyncio.wait_for(task, 5)


async def test_one_timer_task_releases_delayed_items_in_deadline_order() -> None:
    clock = FakeClock()
    queue = DelayingQueue(clock=clock)
    before = {task for task in asyncio.all_tasks() if not task.done()}  # the session loop runs other tests' too
    async with timers(queue, clock):
        queue.add_after("Queue/late", 0.25)
        queue.add_after("Queue/soon", 0.125)
        await clock.settle()
        assert queue.waiting() == 2 and queue.depth() == 0
        clock.advance(0.125)
        await clock.settle()
        assert queue.queued() == {"Queue/soon": Priority.LOW} and queue.waiting() == 1
        assert await queue.get() == "Queue/soon"
        clock.advance(0.0625)
        await clock.settle()
        assert queue.depth() == 0, "not due yet"
        clock.advance(0.0625)
        await clock.settle()
        assert await queue.get() == "Queue/late"
        assert queue.waiting() == 0
        started = {task for task in asyncio.all_tasks() if not task.done()} - before
        assert len(started) <= 1, started  # the timer task alone: no sleeping task per delayed item


async def test_an_earlier_deadline_wakes_the_timer_task() -> None:
    clock = FakeClock()
    queue = DelayingQueue(clock=clock)
    async with timers(queue, clock):
        assert clock.next_deadline() is None
        queue.add_after("Queue/far", 100)
        await clock.settle()
        assert clock.next_deadline() == clock.now() + 100
        queue.add_after("Queue/near", 1)
        await clock.settle()
        assert clock.next_deadline() == clock.now() + 1


async def test_shutdown_stops_the_timer_task_with_deadlines_pending() -> None:
    clock = FakeClock()
    queue = DelayingQueue(clock=clock)
    task = asyncio.create_task(queue.run_timers())
    queue.add_after(A, 3600)
    await clock.settle()
    getter = asyncio.create_task(queue.get())
    await asyncio.sleep(0)
    queue.shut_down()
    await asyncio.wait_for(task, 5)
    assert await asyncio.wait_for(getter, 5) is None
    queue.add_after("Queue/b", 1)
    assert queue.waiting() == 1, "no new deadlines after shutdown"


async def test_the_real_clock_returns_when_woken_or_due() -> None:
    clock = RealClock()
    wake = asyncio.Event()
    await clock.sleep_until(clock.now() - 1, wake)  # already due
    wake.set()
    await clock.sleep_until(clock.now() + 3600, wake)  # woken
    await clock.sleep_until(None, wake)


def test_the_earlier_deadline_is_kept_and_a_later_one_adds_no_second_chain() -> None:
    clock = FakeClock()
    queue = DelayingQueue(clock=clock)
    start = clock.now()
    queue.add_after(A, 10)
    queue.add_after(A, 100)
    assert queue.waiting() == 1 and queue.pending_deadline(A) == start + 10 and queue.timer_entries() == 1
    clock.advance(10)
    assert queue.release_due() == 1 and queue.get_nowait() == A
    queue.done(A)
    clock.advance(90)
    assert queue.release_due() == 0 and queue.depth() == 0 and queue.waiting() == 0, "the later one was dropped"

    queue.add_after(A, 100)
    queue.add_after(A, 5)  # only ever moved earlier
    assert queue.waiting() == 1 and queue.pending_deadline(A) == clock.now() + 5
    clock.advance(5)
    assert queue.release_due() == 1 and queue.get_nowait() == A
    queue.done(A)
    clock.advance(95)
    assert queue.release_due() == 0 and queue.depth() == 0 and queue.timer_entries() == 0


def test_the_more_urgent_priority_of_two_deadlines_is_kept() -> None:
    clock = FakeClock()
    queue = DelayingQueue(clock=clock)
    queue.add_after(A, 10, Priority.HIGH)
    queue.add_after(A, 50, Priority.LOW)
    queue.add_after("Queue/b", 10, Priority.LOW)
    queue.add_after("Queue/b", 20, Priority.HIGH)
    assert queue.pending_priority(A) is Priority.HIGH and queue.pending_priority("Queue/b") is Priority.HIGH
    assert queue.pending_deadline("Queue/b") == clock.now() + 10
    clock.advance(10)
    queue.release_due()
    assert queue.queued() == {A: Priority.HIGH, "Queue/b": Priority.HIGH}


def test_a_thousand_adds_for_one_key_leave_at_most_one_pending_deadline() -> None:
    clock = FakeClock()
    queue = DelayingQueue(clock=clock)
    rng = random.Random(7)
    for _ in range(1000):
        if rng.random() < 0.3:
            queue.add(A, rng.choice(list(Priority)))
        else:
            queue.add_after(A, rng.uniform(0.5, 300), rng.choice(list(Priority)))
        assert queue.waiting() <= 1
        assert queue.timer_entries() <= 100, "stale heap entries are compacted away"
        if rng.random() < 0.1:
            clock.advance(rng.uniform(0, 5))
            queue.release_due()
    assert queue.depth() <= 1


def test_manual_resyncs_never_multiply_timer_chains() -> None:
    """The old bug: each reconcile's add_after pushed one more deadline, so every manual resync started
    another periodic chain and reads grew for as long as the process lived."""
    clock = FakeClock()
    queue = DelayingQueue(clock=clock)
    reconciles = 0
    for second in range(10_000):
        if second % 7 == 0:
            queue.add(A, Priority.HIGH)  # a manual resync, a spec change, a dependency wake-up
        while (key := queue.get_nowait()) is not None:
            reconciles += 1
            queue.add_after(key, 100)  # the worker schedules the next drift check
            queue.done(key)
        assert queue.waiting() <= 1 and queue.timer_entries() <= 1
        clock.advance(1)
        queue.release_due()
    manual = len(range(0, 10_000, 7))
    assert reconciles <= manual + 10_000 // 100 + 1


def test_a_deadline_that_fires_while_processing_reruns_once_via_dirty() -> None:
    clock = FakeClock()
    queue = DelayingQueue(clock=clock)
    queue.add(A)
    assert queue.get_nowait() == A
    queue.add_after(A, 1)
    clock.advance(1)
    assert queue.release_due() == 1
    assert queue.depth() == 0 and queue.dirty() == {A: Priority.LOW} and queue.waiting() == 0
    queue.done(A)
    assert queue.queued() == {A: Priority.LOW}
    assert queue.get_nowait() == A
    queue.done(A)
    assert queue.depth() == 0 and queue.processing() == set() and queue.waiting() == 0


def test_drop_removes_the_key_everywhere() -> None:
    clock = FakeClock()
    queue = DelayingQueue(clock=clock)
    queue.add(A, Priority.LOW)
    queue.add_after(A, 5)
    queue.add_after("Queue/b", 5)
    queue.drop(A)
    assert queue.depth() == 0 and queue.waiting() == 1 and queue.pending_deadline(A) is None
    clock.advance(5)
    assert queue.release_due() == 1 and queue.queued() == {"Queue/b": Priority.LOW}

    assert queue.get_nowait() == "Queue/b"  # dropped while processing: dirty and deadline go too
    queue.add("Queue/b")
    queue.add_after("Queue/b", 1)
    queue.drop("Queue/b")
    queue.done("Queue/b")
    clock.advance(1)
    assert queue.release_due() == 0 and queue.depth() == 0 and queue.waiting() == 0 and queue.dirty() == {}


def test_resyncs_come_within_one_interval_and_spread_across_it() -> None:
    first = [next_resync(100, first=True) for _ in range(2000)]
    later = [next_resync(100, first=False) for _ in range(2000)]
    assert max(first) <= 100 and max(later) <= 100
    assert min(first) < 20 and max(first) > 90  # spread over the interval, no burst at its start
    assert min(later) >= 90


# ---- a model-based test: random adds, delays, gets, dones, clock moves and drops -------------------

KEYS = st.sampled_from(["Queue/a", "Queue/b", "Queue/c", "Alarm/d"])
PRIORITIES = st.sampled_from(list(Priority))


class DelayingQueueMachine(RuleBasedStateMachine):
    """Compares the queue with a plain model of client-go's semantics after every step. Whole seconds on
    the FakeClock, so deadlines compare exactly."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = FakeClock()
        self.queue = DelayingQueue(clock=self.clock)
        self.lanes: dict[Priority, list[str]] = {priority: [] for priority in Priority}
        self.processing: set[str] = set()
        self.dirty: dict[str, Priority] = {}
        self.deadlines: dict[str, tuple[float, int, Priority]] = {}  # key -> (deadline, order, priority)
        self.order = 0
        self.owed: set[str] = set()  # their deadline passed and they have not been handed out since

    def _model_add(self, key: str, priority: Priority) -> None:
        if key in self.processing:
            self.dirty[key] = min(priority, self.dirty.get(key, Priority.LOW))
            return
        for lane_priority, lane in self.lanes.items():
            if key in lane:
                if priority < lane_priority:
                    lane.remove(key)
                    self.lanes[priority].append(key)
                return
        self.lanes[priority].append(key)

    @rule(key=KEYS, priority=PRIORITIES)
    def add(self, key: str, priority: Priority) -> None:
        self.queue.add(key, priority)
        self._model_add(key, priority)

    @rule(key=KEYS, delay=st.integers(0, 20), priority=PRIORITIES)
    def add_after(self, key: str, delay: int, priority: Priority) -> None:
        self.queue.add_after(key, delay, priority)
        if delay <= 0:
            self._model_add(key, priority)
            return
        deadline = self.clock.now() + delay
        self.order += 1
        if key in self.deadlines:
            old_deadline, old_order, old_priority = self.deadlines[key]
            priority = min(priority, old_priority)
            if deadline >= old_deadline:
                deadline, order = old_deadline, old_order
            else:
                order = self.order
        else:
            order = self.order
        self.deadlines[key] = (deadline, order, priority)

    @rule()
    def get(self) -> None:
        expected = next((lane.pop(0) for lane in self.lanes.values() if lane), None)
        assert self.queue.get_nowait() == expected
        if expected is not None:
            self.processing.add(expected)
            self.owed.discard(expected)

    @precondition(lambda self: bool(self.processing))
    @rule(data=st.data())
    def done(self, data: st.DataObject) -> None:
        key = data.draw(st.sampled_from(sorted(self.processing)))
        self.queue.done(key)
        self.processing.discard(key)
        priority = self.dirty.pop(key, None)
        if priority is not None:
            self._model_add(key, priority)

    @rule(seconds=st.integers(0, 10))
    def advance(self, seconds: int) -> None:
        self.clock.advance(seconds)
        self.queue.release_due()
        now = self.clock.now()
        due = sorted((deadline, order, key, priority)
                     for key, (deadline, order, priority) in self.deadlines.items() if deadline <= now)
        for _, _, key, priority in due:
            del self.deadlines[key]
            self._model_add(key, priority)
            self.owed.add(key)

    @rule(key=KEYS)
    def drop(self, key: str) -> None:
        self.queue.drop(key)
        for lane in self.lanes.values():
            if key in lane:
                lane.remove(key)
        self.dirty.pop(key, None)
        self.deadlines.pop(key, None)
        self.owed.discard(key)

    @invariant()
    def at_most_one_pending_deadline_per_key(self) -> None:
        assert self.queue.waiting() == len(self.deadlines)
        for key, (deadline, _, priority) in self.deadlines.items():
            assert self.queue.pending_deadline(key) == deadline
            assert self.queue.pending_priority(key) is priority
        assert self.queue.timer_entries() <= 2 * len(self.deadlines) + 65

    @invariant()
    def never_both_queued_and_processing(self) -> None:
        assert not set(self.queue.queued()) & self.queue.processing()

    @invariant()
    def every_item_whose_deadline_passed_is_queued_processing_or_dirty(self) -> None:
        present = set(self.queue.queued()) | self.queue.processing() | set(self.queue.dirty())
        assert self.owed <= present
        now = self.clock.now()
        assert all(deadline > now for deadline, _, _ in self.deadlines.values())

    @invariant()
    def matches_the_model(self) -> None:
        assert self.queue.queued() == {key: priority for priority, lane in self.lanes.items() for key in lane}
        assert self.queue.processing() == self.processing
        assert self.queue.dirty() == self.dirty


DelayingQueueMachine.TestCase.settings = settings(max_examples=200, stateful_step_count=60, deadline=None)
TestDelayingQueue = DelayingQueueMachine.TestCase
