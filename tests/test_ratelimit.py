"""The per-service limiter: halves on throttling (once per window), recovers slowly, spaces calls."""

from __future__ import annotations

import time
from typing import Any

from controller.ratelimit import AdaptiveRateLimiter
from tests.helpers import Harness


def test_throttling_halves_the_rate_once_per_window_and_success_recovers_slowly() -> None:
    limiter = AdaptiveRateLimiter(max_rate=40, min_rate=1, recovery_step=0.05, decrease_cooldown=60)
    for _ in range(10):  # ten throttles from one window of parallel calls
        limiter.on_throttle()
    assert limiter.rate == 20 and limiter.throttles == 10
    limiter.on_success()
    assert limiter.rate == 21  # +5% of itself per success
    for _ in range(100):
        limiter.on_success()
    assert limiter.rate == 40


def test_the_rate_never_falls_below_the_floor() -> None:
    limiter = AdaptiveRateLimiter(max_rate=8, min_rate=2, decrease_cooldown=0)
    for _ in range(10):
        limiter.on_throttle()
    assert limiter.rate == 2


async def test_calls_beyond_the_burst_are_spaced_at_the_rate() -> None:
    limiter = AdaptiveRateLimiter(max_rate=50, burst=5)
    started = time.monotonic()
    for _ in range(15):
        await limiter.acquire()
    # 5 from the burst, 10 more at 50/s: about 0.2 s.
    assert 0.15 < time.monotonic() - started < 1.0


async def test_every_aws_call_passes_through_its_service_limiter(harness: Harness, boto: Any) -> None:
    boto("sqs").create_queue(QueueName="q")
    sqs = await harness.aws.client("sqs")
    limiter = harness.aws.limiters["sqs"]
    acquired = 0
    original = limiter.acquire

    async def counting() -> None:
        nonlocal acquired
        acquired += 1
        await original()

    limiter.acquire = counting  # type: ignore[method-assign]
    await sqs.get_queue_url(QueueName="q")
    async for _ in sqs.get_paginator("list_queues").paginate():
        pass
    assert acquired == 2  # a plain call and a paginated one, each one HTTP attempt
