"""Several tasks share the work through shard leases in the store, as the Kinesis Client Library does.

Items are split into S shards by a stable hash of `Kind/name`. Every task heartbeats a member record
and, every renew interval: renews the leases it holds (a conditional write on owner and counter),
sheds leases above its fair share (ceil(S / live tasks)), and takes free or expired ones up to it.
A lease's counter grows at every change of owner and is the fencing token: the coordinator is the
store's `LeaseHolder`, so every store write for an item checks, in the same transaction, that the
shard's lease still names this task at that counter; and its `owns` is the check `AwsClients` runs
before each mutating AWS call for the item being worked on (controller/fencing.py).

A task only works on items of shards it holds, and stops trusting a lease a safety margin before it
expires. That is judged against the wall clock at every use, never from a flag set by the lease
round: a task frozen past its leases (SIGSTOP, a paused VM) finds them expired the moment it runs
again, before its next round has even started. On SIGTERM a task releases its leases at once, so a
rolling deployment moves shards in seconds.
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
from dataclasses import dataclass, replace

from controller.engine.events import EventLog
from controller.metrics import Metrics
from controller.store.base import Lease, LeaseStore

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


@dataclass(frozen=True)
class LeaseSettings:
    shards: int = 32
    lease_seconds: float = 15.0
    renew_seconds: float = 5.0


class ShardCoordinator:
    def __init__(self, store: LeaseStore, task_id: str, settings: LeaseSettings, metrics: Metrics,
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
        # Called with the keys other tasks forwarded to the shards this task holds (LeaseStore.forward).
        self.on_forwarded: Callable[[list[str]], None] | None = None
        self._acquired_pending: set[int] = set()
        self._forwarded_pending: dict[int, frozenset[str]] = {}
        self._round_done = asyncio.Event()

    def lease_for(self, key: str) -> Lease | None:
        """The held lease on `key`'s shard while it is still trusted (the `LeaseHolder` of the store).
        `expires` is the one this task wrote, computed before the write was sent, so it errs early."""
        lease = self.held.get(shard_of(key, self.settings.shards))
        if lease is None or lease.expires - SAFETY_MARGIN_SECONDS <= time.time():
            return None
        return lease

    def owns(self, key: str) -> bool:
        """Whether this task may change item `key` now: the check before every mutating AWS call."""
        return self.lease_for(key) is not None

    async def join(self) -> None:
        """Announce this task and give peers starting at the same moment a chance to do the same, so
        the first round already splits the shards instead of one task taking them all."""
        await self.store.heartbeat(self.task_id, time.time() + self.settings.lease_seconds)
        await asyncio.sleep(min(1.0, self.settings.renew_seconds / 2))
        await self.balance()

    async def run(self) -> None:
        """Lease rounds on a fixed cadence, every renew interval from the start of the last one, so a
        slow round shortens the pause instead of pushing renewals back. The callbacks run in a task of
        their own: a slow one (reading every status after a takeover) never delays a renewal."""
        delivering = asyncio.create_task(self._deliveries(), name="lease-callbacks")
        try:
            while True:
                started = time.monotonic()
                try:
                    self._acquired_pending |= await self._round()
                    self._round_done.set()
                except Exception as error:  # a store outage: keep what is still valid, retry next round
                    self.events.emit("Error", f"lease round failed: {error}")
                await asyncio.sleep(max(0.0, self.settings.renew_seconds - (time.monotonic() - started)))
        finally:
            delivering.cancel()

    async def balance(self) -> None:
        """One round, then its callbacks (at start-up, and in tests)."""
        await self._deliver(await self._round())

    async def _deliveries(self) -> None:
        while True:
            await self._round_done.wait()
            self._round_done.clear()
            acquired, self._acquired_pending = self._acquired_pending, set()
            try:
                await self._deliver(acquired)
            except Exception as error:  # the next round delivers again
                self.events.emit("Error", f"after a lease round: {error}")

    async def _deliver(self, acquired: set[int]) -> None:
        if acquired and self.on_acquired is not None:
            await self.on_acquired(acquired)
        forwarded, self._forwarded_pending = self._forwarded_pending, {}
        if forwarded and self.on_forwarded is not None:
            self.on_forwarded(sorted(set().union(*forwarded.values())))
            # Taken only once queued: a crash before this line hands them over again (a second
            # reconcile of the same spec changes nothing).
            await asyncio.gather(*(self.store.take_forwarded(shard, keys) for shard, keys in forwarded.items()))
        if self.on_round is not None:
            await self.on_round()

    async def forward(self, keys: list[str]) -> None:
        """Hand items this task does not hold to their shards' holders, through the store."""
        by_shard: dict[int, list[str]] = {}
        for key in keys:
            by_shard.setdefault(shard_of(key, self.settings.shards), []).append(key)
        await asyncio.gather(*(self.store.forward(shard, shard_keys) for shard, shard_keys in by_shard.items()))

    async def _round(self) -> set[int]:
        """Renew, rebalance, and return the shards acquired."""
        now = time.time()
        expires = now + self.settings.lease_seconds
        # Renewals, the heartbeat and the reads all go out at once, so a renewal waits for one store
        # round trip, however slow the rest of the round is. Renewals go by this task's own view (owner
        # and counter as held): a lease someone else has taken fails its condition and is lost.
        held = list(self.held.values())
        renewals = asyncio.gather(*(self.store.write_lease(lease.shard, self.task_id, lease.counter, expires, lease)
                                    for lease in held), return_exceptions=True)
        renewed, leases, seen, beat = await asyncio.gather(
            renewals, self.store.leases(), self.store.members(), self.store.heartbeat(self.task_id, expires),
            return_exceptions=True)
        mine: dict[int, Lease] = {}
        for lease, result in zip(held, renewed if isinstance(renewed, list) else [renewed] * len(held), strict=True):
            if result is True:
                mine[lease.shard] = replace(lease, expires=expires)
            elif isinstance(result, BaseException):  # unknown outcome: trusted until its old expiry, no longer
                mine[lease.shard] = lease
        lost = set(self.held) - set(mine)
        self.held = dict(mine)
        self.metrics.shards_held.set(len(mine))
        if lost:
            self._changed("lost", lost)
        for failed in (leases, seen, beat):
            if isinstance(failed, BaseException):
                raise failed  # renewals are recorded; rebalancing waits for the next round
        assert isinstance(leases, dict) and isinstance(seen, dict)
        # Leases the table gives this task that it had let go of locally (a release that failed).
        for stray in [lease for lease in leases.values() if lease.owner == self.task_id and lease.shard not in mine
                      and lease.shard not in self._shards(held)]:
            if await self.store.write_lease(stray.shard, self.task_id, stray.counter, expires, stray):
                mine[stray.shard] = replace(stray, expires=expires)
        members = {member for member, until in seen.items() if until > now}
        members.add(self.task_id)
        self.metrics.cluster_tasks.set(len(members))
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
            if shard in mine or (current is not None and current.owner and current.expires > now):
                continue  # held by this task, or by another live one
            counter = current.counter + 1 if current else 1
            if await self.store.write_lease(shard, self.task_id, counter, expires, current):
                mine[shard] = Lease(shard, self.task_id, counter, expires)
                acquired.add(shard)
        self.held = mine
        self.metrics.shards_held.set(len(mine))
        if acquired:
            self._changed("acquired", acquired)
        for shard in mine:
            if (stored := leases.get(shard)) is not None and stored.forwarded:
                self._forwarded_pending[shard] = self._forwarded_pending.get(shard, frozenset()) | stored.forwarded
        return acquired

    @staticmethod
    def _shards(leases: list[Lease]) -> set[int]:
        return {lease.shard for lease in leases}

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
