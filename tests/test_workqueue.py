"""Work-queue semantics, as unit tests (no AWS)."""

from __future__ import annotations

import asyncio
import time

from controller.engine.intervals import next_resync
from controller.engine.workqueue import Priority, WorkQueue
from controller.ratelimit import TokenBucket


async def test_an_item_is_never_queued_twice() -> None:
    queue = WorkQueue()
    for _ in range(5):
        queue.add("Queue/a")
    queue.add("Queue/b")
    assert queue.depth() == 2
    assert await queue.get() == "Queue/a"
    assert await queue.get() == "Queue/b"


async def test_an_item_changed_while_processing_runs_once_more() -> None:
    queue = WorkQueue()
    queue.add("Queue/a")
    key = await queue.get()
    queue.add("Queue/a")
    queue.add("Queue/a")
    assert queue.depth() == 0, "never processed twice at once"
    queue.done(key)  # type: ignore[arg-type]
    assert queue.depth() == 1
    assert await queue.get() == "Queue/a"
    queue.done("Queue/a")
    assert queue.depth() == 0


async def test_high_priority_is_never_starved_by_periodic_resyncs() -> None:
    queue = WorkQueue()
    for index in range(1000):
        queue.add(f"Alarm/periodic-{index}", Priority.LOW)
    queue.add("Queue/changed", Priority.HIGH)
    assert await queue.get() == "Queue/changed"
    queue.add("Alarm/periodic-999", Priority.HIGH)  # a manual resync promotes a queued item
    assert await queue.get() == "Alarm/periodic-999"
    assert await queue.get() == "Alarm/periodic-0"


async def test_backoff_doubles_per_failure_up_to_the_cap_and_resets_on_forget() -> None:
    queue = WorkQueue(base_backoff=0.01, max_backoff=0.05, retry_burst=1000)
    delays = [queue.add_rate_limited("Queue/a") for _ in range(5)]
    assert delays == [0.01, 0.02, 0.04, 0.05, 0.05]
    queue.forget("Queue/a")
    assert queue.add_rate_limited("Queue/a") == 0.01
    assert queue.stats.retries == 6


def test_the_overall_retry_bucket_limits_the_rate() -> None:
    bucket = TokenBucket(rate=10, burst=2)
    delays = [bucket.delay() for _ in range(4)]
    assert delays[:2] == [0.0, 0.0]
    assert 0.09 < delays[2] <= 0.1 and 0.19 < delays[3] <= 0.2


async def test_one_timer_heap_releases_delayed_items_in_deadline_order() -> None:
    queue = WorkQueue()
    timers = asyncio.create_task(queue.run_timers())
    try:
        queue.add_after("Queue/late", 0.2)
        queue.add_after("Queue/soon", 0.05)
        assert queue.waiting() == 2 and queue.depth() == 0
        started = time.monotonic()
        assert await asyncio.wait_for(queue.get(), 1) == "Queue/soon"
        assert await asyncio.wait_for(queue.get(), 1) == "Queue/late"
        assert time.monotonic() - started >= 0.15
        assert len([t for t in asyncio.all_tasks() if not t.done()]) <= 2  # this test and the timer task
    finally:
        queue.shut_down()
        await timers


async def test_workers_are_bounded_and_shut_down_cleanly() -> None:
    queue = WorkQueue()
    running = 0
    peak = 0
    handled: list[str] = []
    all_handled = asyncio.Event()

    async def worker() -> None:
        nonlocal running, peak
        while (key := await queue.get()) is not None:
            running += 1
            peak = max(peak, running)
            await asyncio.sleep(0.01)
            handled.append(key)
            if len(handled) == 20:
                all_handled.set()
            running -= 1
            queue.done(key)

    workers = [asyncio.create_task(worker()) for _ in range(3)]
    for index in range(20):
        queue.add(f"Queue/{index}")
    await asyncio.wait_for(all_handled.wait(), 5)
    queue.shut_down()
    await asyncio.wait_for(asyncio.gather(*workers), 1)
    assert peak == 3 and sorted(handled) == sorted(f"Queue/{index}" for index in range(20))


def test_resyncs_come_within_one_interval_and_spread_across_it() -> None:
    first = [next_resync(100, first=True) for _ in range(2000)]
    later = [next_resync(100, first=False) for _ in range(2000)]
    assert max(first) <= 100 and max(later) <= 100
    assert min(first) < 20 and max(first) > 90  # spread over the interval, no burst at its start
    assert min(later) >= 90
