"""The work queue, after client-go's util/workqueue: three layers, each a subclass of the one below.

- `queue.Queue`: dedup, dirty re-run after `done`, two priority lanes, shutdown, metrics.
- `delaying.DelayingQueue`: `add_after`, one pending deadline per key (only ever moved earlier), one
  timer heap served by one task.
- `rate_limited.RateLimitingQueue`: `add_rate_limited`/`forget` through a pluggable `RateLimiter`
  (default: MaxOf(per-item exponential, overall token bucket), as client-go's default controller limiter).

`WorkQueue` is the full stack. Time comes from an injectable `Clock`; tests use `FakeClock`.
"""

from controller.engine.workqueue.clock import Clock, FakeClock, RealClock
from controller.engine.workqueue.delaying import DelayingQueue
from controller.engine.workqueue.queue import Priority, Queue, QueueStats
from controller.engine.workqueue.rate_limited import (
    BucketRateLimiter,
    ItemExponentialRateLimiter,
    MaxOf,
    RateLimiter,
    RateLimitingQueue,
    WorkQueue,
    default_rate_limiter,
)

__all__ = [
    "BucketRateLimiter",
    "Clock",
    "DelayingQueue",
    "FakeClock",
    "ItemExponentialRateLimiter",
    "MaxOf",
    "Priority",
    "Queue",
    "QueueStats",
    "RateLimiter",
    "RateLimitingQueue",
    "RealClock",
    "WorkQueue",
    "default_rate_limiter",
]
