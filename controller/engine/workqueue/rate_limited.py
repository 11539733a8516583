"""Retries with backoff: client-go's `RateLimitingInterface` (rate_limiting_queue.go, default_rate_limiters.go)
over the delaying queue.

A failed item is re-added with `add_rate_limited`, which asks a pluggable `RateLimiter` how long to wait,
and a success calls `forget` so the next failure starts from the bottom again. The default is client-go's
`DefaultControllerRateLimiter`: the larger (`MaxOf`) of a per-item exponential backoff (0.5 s doubling up
to 300 s here) and an overall token bucket (10/s, burst 100), so one broken item backs off on its own
while a mass failure (AWS down) cannot turn into a retry storm across all items.

The delay goes through `add_after`, so a retry never adds a second timer for a key already waiting: it
only moves the key's one deadline earlier.
"""

from __future__ import annotations

from typing import Protocol

from controller.engine.workqueue.clock import Clock, RealClock
from controller.engine.workqueue.delaying import DelayingQueue
from controller.engine.workqueue.queue import Priority
from controller.metrics import QUEUE_NAME, Metrics
from controller.ratelimit import TokenBucket

BASE_BACKOFF = 0.5
MAX_BACKOFF = 300.0
RETRY_RATE = 10.0
RETRY_BURST = 100.0


class RateLimiter(Protocol):
    def when(self, key: str) -> float:
        """Record a failure of `key` and return how long to wait before retrying it."""
        ...

    def forget(self, key: str) -> None:
        """`key` succeeded (or is gone): stop tracking it."""
        ...

    def retries(self, key: str) -> int:
        """How many failures of `key` are being counted (client-go's NumRequeues)."""
        ...


class ItemExponentialRateLimiter:
    """`base * 2**failures`, capped (client-go's ItemExponentialFailureRateLimiter)."""

    def __init__(self, base: float = BASE_BACKOFF, cap: float = MAX_BACKOFF) -> None:
        self.base = base
        self.cap = cap
        self._failures: dict[str, int] = {}

    def when(self, key: str) -> float:
        failures = self._failures.get(key, 0)
        self._failures[key] = failures + 1
        try:
            backoff = self.base * 2.0**failures
        except OverflowError:
            return self.cap
        return min(backoff, self.cap)

    def forget(self, key: str) -> None:
        self._failures.pop(key, None)

    def retries(self, key: str) -> int:
        return self._failures.get(key, 0)


class BucketRateLimiter:
    """One token bucket over all items (client-go's BucketRateLimiter): a retry takes a token, and waits
    for it if none is left. Not per item: `forget` and `retries` have nothing to do."""

    def __init__(self, rate: float = RETRY_RATE, burst: float = RETRY_BURST, clock: Clock | None = None) -> None:
        self.bucket = TokenBucket(rate, burst, clock=(clock if clock is not None else RealClock()).now)

    def when(self, key: str) -> float:
        return self.bucket.delay()

    def forget(self, key: str) -> None:
        pass

    def retries(self, key: str) -> int:
        return 0


class MaxOf:
    """The longest delay any of the limiters asks for (client-go's MaxOfRateLimiter). Every limiter
    records every failure, so each keeps its own count."""

    def __init__(self, *limiters: RateLimiter) -> None:
        if not limiters:
            raise ValueError("MaxOf needs at least one limiter")
        self.limiters = limiters

    def when(self, key: str) -> float:
        return max([limiter.when(key) for limiter in self.limiters])  # a list: every limiter is asked

    def forget(self, key: str) -> None:
        for limiter in self.limiters:
            limiter.forget(key)

    def retries(self, key: str) -> int:
        return max(limiter.retries(key) for limiter in self.limiters)


def default_rate_limiter(
    base_backoff: float = BASE_BACKOFF,
    max_backoff: float = MAX_BACKOFF,
    retry_rate: float = RETRY_RATE,
    retry_burst: float = RETRY_BURST,
    clock: Clock | None = None,
) -> MaxOf:
    return MaxOf(ItemExponentialRateLimiter(base_backoff, max_backoff),
                 BucketRateLimiter(retry_rate, retry_burst, clock))


class RateLimitingQueue(DelayingQueue):
    def __init__(
        self,
        rate_limiter: RateLimiter | None = None,
        *,
        metrics: Metrics | None = None,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(metrics=metrics, clock=clock)
        self.rate_limiter: RateLimiter = rate_limiter if rate_limiter is not None else default_rate_limiter(
            clock=self.clock)

    def add_rate_limited(self, key: str) -> float:
        """Queue a failed item (HIGH) after the limiter's delay, which is returned. If the key already waits
        for an earlier deadline, that one stands."""
        delay = self.rate_limiter.when(key)
        self.stats.retries += 1
        if self.metrics is not None:
            self.metrics.queue_retries.labels(QUEUE_NAME).inc()
        self.add_after(key, delay, Priority.HIGH)
        return delay

    def forget(self, key: str) -> None:
        """The item succeeded: its next failure starts the backoff from the bottom again."""
        self.rate_limiter.forget(key)

    def failures(self, key: str) -> int:
        return self.rate_limiter.retries(key)

    retries = failures  # client-go's NumRequeues

    def drop(self, key: str) -> None:
        """The key left the desired state: also forget its failures."""
        super().drop(key)
        self.forget(key)


class WorkQueue(RateLimitingQueue):
    """The full stack the manager uses, with client-go's default limiter built from these knobs
    (or any `rate_limiter`, which then replaces them)."""

    def __init__(
        self,
        base_backoff: float = BASE_BACKOFF,
        max_backoff: float = MAX_BACKOFF,
        retry_rate: float = RETRY_RATE,
        retry_burst: float = RETRY_BURST,
        metrics: Metrics | None = None,
        *,
        clock: Clock | None = None,
        rate_limiter: RateLimiter | None = None,
    ) -> None:
        clock = clock if clock is not None else RealClock()
        if rate_limiter is None:
            rate_limiter = default_rate_limiter(base_backoff, max_backoff, retry_rate, retry_burst, clock)
        super().__init__(rate_limiter, metrics=metrics, clock=clock)
