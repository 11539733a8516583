"""`trimtab run --events sqs://QUEUE`: long-poll the queue EventBridge fills with CloudTrail's write
events, and queue the spec of every owned resource an event touched, at high priority.

A message is deleted only after its keys are queued, so a crash loses nothing (the message comes back
after its visibility timeout). A message that is not a CloudTrail event is left alone: the queue's
redrive policy moves it to the dead-letter queue after its receive count. Writes made by trimtab's
own role cause no reconcile (they are what the last reconcile did). An unreachable queue degrades
the controller to polling, which `status` says; the periodic resync is the backstop in every case.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from botocore.exceptions import BotoCoreError, ClientError

from controller.aws import AwsClients, error_message
from controller.kinds.descriptor import Touched
from controller.sources.cloudtrail import ApiCall, MalformedEvent, parse
from controller.store.base import InventoryEntry

SCHEME = "sqs://"
WAIT_SECONDS = 20  # SQS's longest long poll: one empty receive per 20 s when nothing happens
BATCH = 10  # SQS's most messages per receive
# How long the inventory read for matching is reused: events come in bursts, and the inventory changes
# only when trimtab creates or forgets something (a resource created in that window is caught by the
# resync, which is the backstop for anything an event misses).
INVENTORY_TTL_SECONDS = 5.0
RETRY_SECONDS = (1.0, 60.0)  # an unreachable queue: first and longest wait before trying again


def queue_name(url: str) -> str:
    """`sqs://NAME` -> NAME; anything else is a usage error, said in one line."""
    if not url.startswith(SCHEME) or not url.removeprefix(SCHEME) or "/" in url.removeprefix(SCHEME):
        raise ValueError(f"--events must be {SCHEME}QUEUE_NAME (got {url!r})")
    return url.removeprefix(SCHEME)


def is_own(call: ApiCall, own_arn: str) -> bool:
    """Was the call made by trimtab's own credentials? The same session (this task), or a session of the
    same role (another task of this deployment: an ECS task role's sessions are named by task id).
    Exact only when the task role is trimtab's alone, as docs/operations-ecs.md asks."""
    if call.caller_arn and call.caller_arn == own_arn:
        return True
    parts = own_arn.split(":", 5)
    if len(parts) == 6 and parts[5].startswith("assumed-role/"):
        role = parts[5].split("/")[1]
        issuer = call.issuer_arn.split(":", 5)
        return len(issuer) == 6 and issuer[4] == parts[4] and issuer[5].rsplit("/", 1)[-1] == role
    return False


@dataclass
class FeedStatus:
    """What the feed is doing, for /readyz detail, `get` and metrics."""

    outcomes: Counter[str] = field(default_factory=Counter)  # matched, own, unmatched, read-only, malformed
    received: int = 0
    degraded: str | None = None  # why events are not being read; None while they are
    last_receive: float | None = None  # Unix time of the last receive that worked


class EventFeed:
    def __init__(
        self,
        aws: AwsClients,
        queue: str,
        inventory: Callable[[], Awaitable[list[InventoryEntry]]],
        enqueue: Callable[[list[str]], Awaitable[None]],
        *,
        on_outcome: Callable[[str, int], None] | None = None,
        on_lag: Callable[[float], None] | None = None,
        wait_seconds: int = WAIT_SECONDS,
    ) -> None:
        self.aws = aws
        self.queue = queue
        self._inventory = inventory
        self._enqueue = enqueue
        self._on_outcome = on_outcome
        self._on_lag = on_lag
        self._wait_seconds = wait_seconds
        self.status = FeedStatus()
        self._entries: list[InventoryEntry] = []
        self._entries_read = float("-inf")

    async def run(self, stopping: asyncio.Event) -> None:
        """Receive until `stopping`; an outage of the queue backs off and says so, never ends the loop."""
        delay = RETRY_SECONDS[0]
        url: str | None = None
        while not stopping.is_set():
            try:
                url = url or await self._url()
                handled = await self.receive_once(url)
                if self.status.degraded is not None:
                    self.status.degraded = None
                delay = RETRY_SECONDS[0]
                if handled:
                    continue
            except (ClientError, BotoCoreError, OSError) as error:
                url = None  # the queue may have been re-created: look it up again
                self.status.degraded = f"events queue {self.queue}: {error_message(error)}; drift is seen by " \
                                       "the periodic resync alone until it is back"
                await _wait(stopping, delay)
                delay = min(delay * 2, RETRY_SECONDS[1])

    async def _url(self) -> str:
        sqs = await self.aws.client("sqs")
        return str((await sqs.get_queue_url(QueueName=self.queue))["QueueUrl"])

    async def receive_once(self, url: str) -> int:
        """One long poll; queues what it found, then deletes what it handled. Returns messages received."""
        sqs = await self.aws.client("sqs")
        answer = await sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=BATCH,
                                           WaitTimeSeconds=self._wait_seconds)
        self.status.last_receive = time.time()
        messages = answer.get("Messages", [])
        if not messages:
            return 0
        self.status.received += len(messages)
        own_arn = (await self.aws.caller_identity()).arn
        keys: set[str] = set()
        handled: list[dict[str, str]] = []
        lags: list[float] = []
        for message in messages:
            try:
                call = parse(json.loads(message.get("Body", "")))
            except (MalformedEvent, json.JSONDecodeError):
                self._count("malformed")  # left on the queue: redrive moves it to the DLQ in time
                continue
            outcome, found = await self._judge(call, own_arn)
            self._count(outcome)
            keys |= found
            if found:
                lags.append(max(0.0, datetime.now(UTC).timestamp() - call.time.timestamp()))
            handled.append({"Id": str(len(handled)), "ReceiptHandle": message["ReceiptHandle"]})
        if keys:
            await self._enqueue(sorted(keys))
        if self._on_lag is not None:
            for lag in lags:
                self._on_lag(lag)
        if handled:  # only now: the keys are queued, so a crash before this line loses nothing
            await sqs.delete_message_batch(QueueUrl=url, Entries=handled)
        return len(messages)

    async def _judge(self, call: ApiCall, own_arn: str) -> tuple[str, set[str]]:
        if call.read_only:
            return "read-only", set()
        if is_own(call, own_arn):
            return "own", set()
        keys = matching_keys(call.touched, await self._owned())
        return ("matched", keys) if keys else ("unmatched", set())

    async def _owned(self) -> list[InventoryEntry]:
        now = time.monotonic()
        if now - self._entries_read > INVENTORY_TTL_SECONDS:
            self._entries, self._entries_read = await self._inventory(), now
        return self._entries

    def _count(self, outcome: str) -> None:
        self.status.outcomes[outcome] += 1
        if self._on_outcome is not None:
            self._on_outcome(outcome, 1)


def matching_keys(touched: Iterable[Touched], entries: Iterable[InventoryEntry]) -> set[str]:
    """The specs owning a resource the event touched."""
    wanted = list(touched)
    return {entry.key for entry in entries if any(t.matches(entry.kind, entry.identity) for t in wanted)}


async def _wait(stopping: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stopping.wait(), seconds)

