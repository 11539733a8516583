"""Several tasks share the work through shard leases in the store, as the Kinesis Client Library does.

Items are split into S shards by a stable hash of `Kind/name`. Every task heartbeats a member record
and, every renew interval: renews the leases it holds (a conditional write on owner and counter),
sheds leases above its fair share (ceil(S / live tasks)), and takes free or expired ones up to it.
A lease's counter grows at every change of owner and fences the item's status writes. A task only
reconciles items of shards it holds, and stops trusting a lease a safety margin before it expires.
On SIGTERM a task releases its leases at once, so a rolling deployment moves shards in seconds.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from controller.engine.events import EventLog
from controller.metrics import Metrics
from controller.store.dynamodb import DynamoStore, Lease

SAFETY_MARGIN_SECONDS = 2.0  # stop working on a shard this long before its lease would expire


def shard_of(key: str, shards: int) -> int:
    """Stable across processes and restarts (unlike hash(), which Python salts per process)."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") % shards


def default_task_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


class AllShards:
    """One task owns everything: the embedded store, where there is nobody to share with."""

    def owns(self, key: str) -> bool:
        return True

    def fence(self, key: str) -> int:
        return 0


@dataclass(frozen=True)
class LeaseSettings:
    shards: int = 32
    lease_seconds: float = 15.0
    renew_seconds: float = 5.0


class ShardCoordinator:
    def __init__(self, store: DynamoStore, task_id: str, settings: LeaseSettings, metrics: Metrics,
                 events: EventLog) -> None:
        self.store = store
        self.task_id = task_id
        self.settings = settings
        self.metrics = metrics
        self.events = events
        self.held: dict[int, Lease] = {}
        # Called with the shards just acquired, and after every round (for cross-shard dependencies).
        self.on_acquired: Callable[[set[int]], Awaitable[None]] | None = None
        self.on_round: Callable[[], Awaitable[None]] | None = None
        store.fence_for = self.fence

    def owns(self, key: str) -> bool:
        lease = self.held.get(shard_of(key, self.settings.shards))
        return lease is not None and lease.expires - SAFETY_MARGIN_SECONDS > time.time()

    def fence(self, key: str) -> int:
        lease = self.held.get(shard_of(key, self.settings.shards))
        return lease.counter if lease else 0

    async def join(self) -> None:
        """Announce this task and give peers starting at the same moment a chance to do the same, so
        the first round already splits the shards instead of one task taking them all."""
        await self.store.heartbeat(self.task_id, time.time() + self.settings.lease_seconds)
        await asyncio.sleep(min(1.0, self.settings.renew_seconds / 2))
        await self.balance()

    async def run(self) -> None:
        while True:
            try:
                await self.balance()
            except Exception as error:  # a store outage: keep what is still valid, retry next round
                self.events.emit("Error", f"lease round failed: {error}")
            await asyncio.sleep(self.settings.renew_seconds)

    async def balance(self) -> None:
        now = time.time()
        expires = now + self.settings.lease_seconds
        leases = await self.store.leases()
        # Renewals first, all at once: a slow round must not let a held lease lapse.
        held = [lease for lease in leases.values() if lease.owner == self.task_id]
        renewed = await asyncio.gather(*(
            self.store.write_lease(lease.shard, self.task_id, lease.counter, expires, lease) for lease in held))
        mine = {lease.shard: Lease(lease.shard, self.task_id, lease.counter, expires)
                for lease, ok in zip(held, renewed, strict=True) if ok}
        await self.store.heartbeat(self.task_id, expires)
        members = {member for member, until in (await self.store.members()).items() if until > now}
        members.add(self.task_id)
        self.metrics.cluster_tasks.set(len(members))
        lost = set(self.held) - set(mine)
        if lost:
            self._changed("lost", lost)
        target = math.ceil(self.settings.shards / len(members))
        surplus = sorted(mine, reverse=True)[: max(0, len(mine) - target)]
        if surplus:
            released = [mine.pop(shard) for shard in surplus]
            self.held = dict(mine)  # stop working on them before handing them over
            await asyncio.gather(*(self.store.write_lease(lease.shard, "", lease.counter, 0.0, lease)
                                   for lease in released))
            self._changed("released", set(surplus))
        acquired: set[int] = set()
        for shard in range(self.settings.shards):
            if len(mine) >= target:
                break
            current = leases.get(shard)
            if current is not None and current.owner and current.expires > now:
                continue  # held by a live task
            counter = current.counter + 1 if current else 1
            if await self.store.write_lease(shard, self.task_id, counter, expires, current):
                mine[shard] = Lease(shard, self.task_id, counter, expires)
                acquired.add(shard)
        self.held = mine
        self.metrics.shards_held.set(len(mine))
        if acquired:
            self._changed("acquired", acquired)
            if self.on_acquired is not None:
                await self.on_acquired(acquired)
        if self.on_round is not None:
            await self.on_round()

    async def release_all(self) -> None:
        """Graceful shutdown: hand every shard back now instead of after lease expiry."""
        held, self.held = self.held, {}
        await asyncio.gather(*(self.store.write_lease(shard, "", lease.counter, 0.0, lease)
                               for shard, lease in held.items()))
        if held:
            self._changed("released", set(held))
        await self.store.heartbeat(self.task_id, None)
        self.metrics.shards_held.set(0)

    def _changed(self, change: str, shards: set[int]) -> None:
        self.metrics.lease_changes.labels(change).inc(len(shards))
        self.events.emit("LeasesChanged", change, shards=sorted(shards), task=self.task_id)
