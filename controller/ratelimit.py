"""Client-side rate limiting per AWS service: a token bucket that halves its rate when AWS throttles
and recovers slowly while calls succeed (multiplicative decrease, gentle proportional increase).

Every HTTP attempt takes a token, retries included, so a throttled service sees less traffic from us
at once instead of the same traffic plus retries. ACK has had no such limiter since 2020 (community#67).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class TokenBucket:
    """`rate` tokens per second, up to `burst`; `delay()` reserves one and says how long to wait for it.
    `clock` (monotonic seconds) is injectable so tests can drive time by hand."""

    rate: float
    burst: float
    clock: Callable[[], float] = field(default=time.monotonic, repr=False, compare=False)
    _tokens: float = field(init=False)
    _updated: float = field(init=False)

    def __post_init__(self) -> None:
        self._tokens = self.burst
        self._updated = self.clock()

    def _refill(self) -> None:
        now = self.clock()
        self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
        self._updated = now

    def delay(self) -> float:
        self._refill()
        self._tokens -= 1
        return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    def set_rate(self, rate: float) -> None:
        self._refill()  # tokens earned so far count at the old rate
        self.rate = rate

    def drain(self) -> None:
        """Spend what is saved up: after a throttle, no burst at the old pace."""
        self._refill()
        self._tokens = min(self._tokens, 0.0)


@dataclass
class AdaptiveRateLimiter:
    max_rate: float = 100.0  # calls per second when AWS is happy
    min_rate: float = 1.0
    burst: float = 10.0
    # Each success raises the rate by this share of itself: after a halving, about 70 successes
    # restore it (at the lowered rate, seconds, not one burst of in-flight answers). An increase of
    # a share of max_rate instead let a high maximum bounce straight back into throttling.
    recovery_step: float = 0.01
    # Throttles from one window of in-flight calls count once, or ten parallel throttles would cut
    # the rate 1024-fold.
    decrease_cooldown: float = 1.0
    throttles: int = field(init=False, default=0)
    _bucket: TokenBucket = field(init=False)
    _last_decrease: float = field(init=False, default=float("-inf"))

    def __post_init__(self) -> None:
        self._bucket = TokenBucket(self.max_rate, self.burst)

    @property
    def rate(self) -> float:
        return self._bucket.rate

    async def acquire(self) -> None:
        # Reserving first makes concurrent callers queue up in order, each sleeping its own share.
        wait = self._bucket.delay()
        if wait > 0:
            await asyncio.sleep(wait)

    def on_throttle(self) -> None:
        self.throttles += 1
        now = time.monotonic()
        if now - self._last_decrease >= self.decrease_cooldown:
            self._bucket.set_rate(max(self.min_rate, self.rate / 2))
            self._bucket.drain()
            self._last_decrease = now

    def on_success(self) -> None:
        if self.rate < self.max_rate:
            self._bucket.set_rate(min(self.max_rate, self.rate * (1 + self.recovery_step)))
