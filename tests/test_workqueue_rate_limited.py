"""The rate-limited layer (client-go's rate_limiting_queue and default limiters), on the FakeClock."""

from __future__ import annotations

from controller.engine.workqueue import (
    BucketRateLimiter,
    FakeClock,
    ItemExponentialRateLimiter,
    MaxOf,
    Priority,
    WorkQueue,
)
from controller.metrics import QUEUE_NAME, Metrics
from controller.ratelimit import TokenBucket

A = "Queue/a"


class Fixed:
    """A limiter that always asks for the same delay, and counts."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.counts: dict[str, int] = {}

    def when(self, key: str) -> float:
        self.counts[key] = self.counts.get(key, 0) + 1
        return self.delay

    def forget(self, key: str) -> None:
        self.counts.pop(key, None)

    def retries(self, key: str) -> int:
        return self.counts.get(key, 0)


def test_backoff_doubles_per_failure_up_to_the_cap_and_resets_on_forget() -> None:
    queue = WorkQueue(base_backoff=0.25, max_backoff=1.5, retry_burst=1000, clock=FakeClock())
    delays = [queue.add_rate_limited(A) for _ in range(5)]
    assert delays == [0.25, 0.5, 1.0, 1.5, 1.5]
    assert queue.failures(A) == 5 and queue.retries(A) == 5
    queue.forget(A)
    assert queue.failures(A) == 0
    assert queue.add_rate_limited(A) == 0.25
    assert queue.stats.retries == 6


def test_the_defaults_are_half_a_second_doubling_to_five_minutes() -> None:
    queue = WorkQueue(clock=FakeClock())
    delays = [queue.add_rate_limited(A) for _ in range(12)]
    assert delays == [0.5, 1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]
    limiter = queue.rate_limiter
    assert isinstance(limiter, MaxOf)
    exponential, bucket = limiter.limiters
    assert isinstance(exponential, ItemExponentialRateLimiter) and (exponential.base, exponential.cap) == (0.5, 300)
    assert isinstance(bucket, BucketRateLimiter) and (bucket.bucket.rate, bucket.bucket.burst) == (10, 100)


def test_an_exponent_past_float_range_stays_at_the_cap() -> None:
    limiter = ItemExponentialRateLimiter(base=0.5, cap=300)
    for _ in range(1100):
        delay = limiter.when(A)
    assert delay == 300 and limiter.retries(A) == 1100


def test_the_overall_bucket_limits_a_mass_failure() -> None:
    clock = FakeClock()
    queue = WorkQueue(clock=clock)
    delays = [queue.add_rate_limited(f"Queue/{index}") for index in range(200)]
    assert delays[:100] == [0.5] * 100, "the burst: each item's own backoff"
    assert delays[149] == 5.0 and delays[199] == 10.0, "then 10 per second across all items"
    assert queue.waiting() == 200


def test_the_bucket_refills_with_the_clock() -> None:
    clock = FakeClock()
    limiter = BucketRateLimiter(rate=10, burst=2, clock=clock)
    assert [limiter.when(A) for _ in range(4)] == [0.0, 0.0, 0.1, 0.2]
    clock.advance(1)  # from -2 tokens, 10 more, capped at the burst
    assert [limiter.when(A) for _ in range(3)] == [0.0, 0.0, 0.1]
    assert limiter.retries(A) == 0
    assert TokenBucket(rate=10, burst=1).delay() == 0.0, "the real clock stays the default"


def test_max_of_picks_the_larger_delay_and_forwards_forget() -> None:
    fixed = Fixed(3.0)
    limiter = MaxOf(ItemExponentialRateLimiter(base=0.5, cap=300), fixed)
    assert [limiter.when(A) for _ in range(5)] == [3.0, 3.0, 3.0, 4.0, 8.0]
    assert limiter.retries(A) == 5 and fixed.retries(A) == 5, "every limiter saw every failure"
    limiter.forget(A)
    assert limiter.retries(A) == 0 and fixed.retries(A) == 0
    assert limiter.when(A) == 3.0


def test_a_retry_is_high_priority_and_comes_after_its_delay() -> None:
    clock = FakeClock()
    queue = WorkQueue(clock=clock)
    queue.add("Alarm/periodic", Priority.LOW)
    assert queue.add_rate_limited(A) == 0.5
    assert queue.depth() == 1 and queue.pending_priority(A) is Priority.HIGH
    clock.advance(0.5)
    queue.release_due()
    assert queue.get_nowait() == A, "retries jump the periodic resyncs"


def test_a_retry_moves_a_later_resync_earlier_and_never_adds_a_timer() -> None:
    clock = FakeClock()
    queue = WorkQueue(clock=clock)
    queue.add_after(A, 300)
    queue.add_rate_limited(A)
    assert queue.waiting() == 1 and queue.pending_deadline(A) == clock.now() + 0.5
    assert queue.pending_priority(A) is Priority.HIGH
    queue.add_after(A, 0.25)  # an earlier resync already waiting stands against a longer backoff
    queue.add_rate_limited(A)
    assert queue.waiting() == 1 and queue.pending_deadline(A) == clock.now() + 0.25


def test_a_custom_limiter_replaces_the_default() -> None:
    queue = WorkQueue(clock=FakeClock(), rate_limiter=Fixed(7.0))
    assert queue.add_rate_limited(A) == 7.0 and queue.failures(A) == 1


def test_drop_also_forgets_failures() -> None:
    clock = FakeClock()
    queue = WorkQueue(clock=clock)
    for _ in range(3):
        queue.add_rate_limited(A)
    queue.add(A)
    queue.drop(A)
    assert queue.failures(A) == 0 and queue.waiting() == 0 and queue.depth() == 0
    assert queue.add_rate_limited(A) == 0.5


def test_retries_are_counted_in_the_metrics() -> None:
    metrics = Metrics()
    queue = WorkQueue(metrics=metrics, clock=FakeClock())
    queue.add_rate_limited(A)
    queue.add_rate_limited("Queue/b")
    assert metrics.registry.get_sample_value("workqueue_retries_total", {"name": QUEUE_NAME}) == 2
    assert queue.stats.retries == 2
