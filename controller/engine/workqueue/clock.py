"""The work queue's sense of time, injectable (client-go's `k8s.io/utils/clock`, which its workqueue takes).

Everything time-dependent in the queue (deadlines, backoff buckets, latency metrics) reads `Clock.now()`,
and the one timer task parks in `Clock.sleep_until()`. Production uses `RealClock`; tests use
`FakeClock`, whose time moves only when the test calls `advance()`, so a test of "the resync comes after
five minutes" runs in microseconds and never proves absence by sleeping and hoping.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Monotonic seconds."""
        ...

    async def sleep_until(self, deadline: float | None, wake: asyncio.Event) -> None:
        """Return once `now() >= deadline` or `wake` is set, whichever comes first (`None`: only `wake`).
        A clock may set `wake` itself to end the wait, so the caller clears it before each wait."""
        ...


class RealClock:
    def now(self) -> float:
        return time.monotonic()

    async def sleep_until(self, deadline: float | None, wake: asyncio.Event) -> None:
        if deadline is None:
            await wake.wait()
            return
        delay = deadline - self.now()
        if delay <= 0 or wake.is_set():
            return
        # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancellation that races its inner wait.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(delay):
                await wake.wait()


class FakeClock:
    """Time that moves only on `advance()`. Sleepers whose deadline has come are woken at once, in order."""

    def __init__(self, start: float = 1000.0) -> None:
        self._now = start
        self._sleepers: list[tuple[float | None, asyncio.Event]] = []

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a monotonic clock never goes back")
        self._now += seconds
        for deadline, wake in sorted(self._sleepers, key=lambda sleeper: _order(sleeper[0])):
            if deadline is not None and deadline <= self._now:
                wake.set()

    async def sleep_until(self, deadline: float | None, wake: asyncio.Event) -> None:
        if wake.is_set() or (deadline is not None and deadline <= self._now):
            return
        sleeper = (deadline, wake)
        self._sleepers.append(sleeper)
        try:
            await wake.wait()
        finally:
            self._sleepers.remove(sleeper)

    def sleeping(self) -> int:
        """How many tasks are parked on this clock and not yet woken."""
        return sum(1 for _, wake in self._sleepers if not wake.is_set())

    def next_deadline(self) -> float | None:
        """The earliest deadline a sleeper waits for, if any."""
        return min((deadline for deadline, wake in self._sleepers if deadline is not None and not wake.is_set()),
                   default=None)

    async def settle(self, sleepers: int = 1, max_turns: int = 10_000) -> None:
        """Yield to the event loop (no real delay) until `sleepers` tasks are parked on this clock: after
        `advance()`, the timer task has then released everything due and is waiting for the next deadline."""
        for _ in range(max_turns):
            if self.sleeping() >= sleepers:
                return
            await asyncio.sleep(0)
        raise RuntimeError(f"fewer than {sleepers} task(s) parked on the clock after {max_turns} loop turns")


def _order(deadline: float | None) -> float:
    return float("inf") if deadline is None else deadline
