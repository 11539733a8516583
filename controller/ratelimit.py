"""Client-side rate limiting per AWS service: a token bucket that halves its rate when AWS throttles
and recovers slowly while calls succeed (additive increase, multiplicative decrease).

Every HTTP attempt takes a token, retries included, so a throttled service sees less traffic from us
at once instead of the same traffic plus retries. ACK has had no such limiter since 2020 (community#67).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field


@dataclass
class AdaptiveRateLimiter:
    max_rate: float = 50.0  # calls per second when AWS is happy
    min_rate: float = 1.0
    burst: float = 10.0
    # Each success adds this share of max_rate per second: from the floor back to full speed takes
    # about 1 / recovery_step successes (slow on purpose; throttling tends to come back).
    recovery_step: float = 0.01
    # Throttles from one window of in-flight calls count once, or ten parallel throttles would cut
    # the rate 1024-fold.
    decrease_cooldown: float = 1.0
    rate: float = field(init=False)
    throttles: int = field(init=False, default=0)
    _tokens: float = field(init=False)
    _updated: float = field(init=False)
    _last_decrease: float = field(init=False, default=float("-inf"))
    _lock: asyncio.Lock = field(init=False, default_factory=asyncio.Lock)

    def __post_init__(self) -> None:
        self.rate = self.max_rate
        self._tokens = self.burst
        self._updated = time.monotonic()

    def _refill(self) -> None:
        now = time.monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
        self._updated = now

    async def acquire(self) -> None:
        async with self._lock:  # one waiter at a time keeps the order fair
            self._refill()
            if self._tokens < 1:
                await asyncio.sleep((1 - self._tokens) / self.rate)
                self._refill()
            self._tokens -= 1

    def on_throttle(self) -> None:
        self.throttles += 1
        now = time.monotonic()
        if now - self._last_decrease >= self.decrease_cooldown:
            self._refill()
            self.rate = max(self.min_rate, self.rate / 2)
            self._tokens = min(self._tokens, 0.0)
            self._last_decrease = now

    def on_success(self) -> None:
        if self.rate < self.max_rate:
            self._refill()
            self.rate = min(self.max_rate, self.rate + self.max_rate * self.recovery_step)
