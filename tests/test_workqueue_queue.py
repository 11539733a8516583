"""The basic queue (client-go's workqueue.Type): dedup, dirty re-runs, priorities, shutdown, metrics."""

from __future__ import annotations

import asyncio

from controller.engine.workqueue import FakeClock, Priority, Queue, WorkQueue
from controller.metrics import QUEUE_NAME, Metrics


async def test_an_item_is_never_queued_twice() -> None:
    queue = Queue(clock=FakeClock())
    for _ in range(5):
        queue.add("Queue/a")
    queue.add("Queue/b")
    assert queue.depth() == 2
    assert await queue.get() == "Queue/a"
    assert await queue.get() == "Queue/b"
    assert queue.stats.adds == 6


async def test_an_item_changed_while_processing_runs_once_more() -> None:
    queue = Queue(clock=FakeClock())
    queue.add("Queue/a")
    key = await queue.get()
    assert key == "Queue/a"
    queue.add("Queue/a")
    queue.add("Queue/a")
    assert queue.depth() == 0, "never processed twice at once"
    assert queue.dirty() == {"Queue/a": Priority.HIGH}
    queue.done(key)
    assert queue.depth() == 1 and queue.dirty() == {}
    assert await queue.get() == "Queue/a"
    queue.done("Queue/a")
    assert queue.depth() == 0 and queue.processing() == set()


def test_a_dirty_item_comes_back_at_its_most_urgent_priority() -> None:
    queue = Queue(clock=FakeClock())
    queue.add("Queue/a", Priority.LOW)
    assert queue.get_nowait() == "Queue/a"
    queue.add("Queue/a", Priority.LOW)
    queue.add("Queue/a", Priority.HIGH)
    queue.add("Queue/a", Priority.LOW)
    queue.done("Queue/a")
    assert queue.queued() == {"Queue/a": Priority.HIGH}


async def test_high_priority_is_never_starved_by_periodic_resyncs() -> None:
    queue = Queue(clock=FakeClock())
    for index in range(1000):
        queue.add(f"Alarm/periodic-{index}", Priority.LOW)
    queue.add("Queue/changed", Priority.HIGH)
    assert await queue.get() == "Queue/changed"
    queue.add("Alarm/periodic-999", Priority.HIGH)  # a manual resync promotes a queued item
    assert queue.depth() == 1000
    assert await queue.get() == "Alarm/periodic-999"
    assert await queue.get() == "Alarm/periodic-0"
    queue.add("Alarm/periodic-1", Priority.LOW)  # a re-add at a lower priority never demotes
    assert queue.queued()["Alarm/periodic-1"] is Priority.LOW
    assert await queue.get() == "Alarm/periodic-1"


def test_drop_unqueues_and_a_dropped_item_in_process_is_not_requeued() -> None:
    queue = Queue(clock=FakeClock())
    queue.add("Queue/a", Priority.LOW)
    queue.add("Queue/b")
    queue.drop("Queue/a")
    assert queue.queued() == {"Queue/b": Priority.HIGH}
    assert queue.get_nowait() == "Queue/b"
    queue.add("Queue/b")  # dirty
    queue.drop("Queue/b")
    assert queue.processing() == {"Queue/b"}, "the worker still owns it until done"
    queue.done("Queue/b")
    assert queue.depth() == 0 and queue.processing() == set() and queue.dirty() == {}


async def test_workers_are_bounded_and_shut_down_cleanly() -> None:
    queue = Queue(clock=FakeClock())
    running = 0
    peak = 0
    handled: list[str] = []
    all_handled = asyncio.Event()

    async def worker() -> None:
        nonlocal running, peak
        while (key := await queue.get()) is not None:
            running += 1
            peak = max(peak, running)
            await asyncio.sleep(0)  # a turn of the loop, no real delay: the others run meanwhile
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
    await asyncio.wait_for(asyncio.gather(*workers), 5)
    assert peak == 3 and sorted(handled) == sorted(f"Queue/{index}" for index in range(20))


async def test_shutdown_wakes_every_waiting_get_and_ignores_later_adds() -> None:
    queue = Queue(clock=FakeClock())
    getters = [asyncio.create_task(queue.get()) for _ in range(3)]
    await asyncio.sleep(0)
    assert not any(getter.done() for getter in getters)
    queue.shut_down()
    assert await asyncio.wait_for(asyncio.gather(*getters), 5) == [None, None, None]
    queue.add("Queue/late")
    assert queue.depth() == 0 and await queue.get() is None and queue.shutting_down


def test_latency_and_work_duration_come_from_the_clock() -> None:
    clock = FakeClock()
    metrics = Metrics()
    queue = WorkQueue(metrics=metrics, clock=clock)

    def sample(name: str) -> float | None:
        return metrics.registry.get_sample_value(name, {"name": QUEUE_NAME})

    queue.add("Queue/a")
    queue.add("Queue/b")
    assert sample("workqueue_depth") == 2 and sample("workqueue_adds_total") == 2
    clock.advance(2)
    assert queue.get_nowait() == "Queue/a"
    assert sample("workqueue_queue_duration_seconds_sum") == 2
    clock.advance(1)
    assert queue.get_nowait() == "Queue/b"
    clock.advance(3)
    assert queue.longest_running_seconds() == 4 and queue.unfinished_seconds() == 7
    assert sample("workqueue_longest_running_processor_seconds") == 4
    assert sample("workqueue_unfinished_work_seconds") == 7
    queue.done("Queue/a")
    queue.done("Queue/b")
    assert sample("workqueue_work_duration_seconds_sum") == 7
    assert queue.longest_running_seconds() == 0 and sample("workqueue_depth") == 0
