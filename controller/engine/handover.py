"""Shard hand-over: what this task does when it takes shards from another, or waits on one.

Several tasks split the items by shard lease (engine/sharding.py). When a lease arrives, the items
of that shard are taken over: settled ones resume their drift checks, others run now, and their events
are read from the store, where the previous holder wrote them. Items that wait on a dependency
reconciled by another task learn its readiness from the store each round.
"""

from __future__ import annotations

from controller.engine.dispatch import Dispatcher
from controller.engine.journal import EventJournal
from controller.engine.ledger import Ledger
from controller.engine.revisions import RevisionFollower
from controller.engine.sharding import ShardCoordinator, shard_of
from controller.engine.workqueue import Priority, WorkQueue
from controller.store.base import Store


class ShardHandover:
    def __init__(self, coordinator: ShardCoordinator, *, store: Store, ledger: Ledger, follower: RevisionFollower,
                 dispatcher: Dispatcher, queue: WorkQueue, journal: EventJournal) -> None:
        self.coordinator = coordinator
        self.store = store
        self.ledger = ledger
        self.follower = follower
        self.dispatcher = dispatcher
        self.queue = queue
        self.journal = journal
        coordinator.on_acquired = self.acquired
        coordinator.on_round = self.refresh_foreign
        coordinator.on_forwarded = self.forwarded

    def forwarded(self, keys: list[str]) -> None:
        """Items another task received a change event for, handed over through the store: reconcile
        them now, as if the event had come here (those of the live revision, in shards held now)."""
        state = self.follower.state
        for key in keys:
            if state is not None and key in state.graph.records and self.coordinator.owns(key):
                self.queue.add(key, Priority.HIGH)

    async def acquired(self, shards: set[int]) -> None:
        """Take over items of newly leased shards: settled ones resume their drift checks, others run now."""
        state = self.follower.state
        if state is None:
            return
        count = self.coordinator.settings.shards
        await self._absorb()  # what the previous holders recorded
        # This task's memory of its other items' events is the newer; of the new shards', the store's.
        self.journal.absorb(await self.store.events(),
                            keep=lambda key: self.coordinator.owns(key) and shard_of(key, count) not in shards)
        for key in state.graph.critical_first(state.graph.records):
            if shard_of(key, count) not in shards:
                continue
            if self.ledger.settled(key, state.graph.generation(key)):
                self.follower.schedule_resync(key, first=True)
            else:
                self.queue.add(key, Priority.HIGH)

    async def refresh_foreign(self) -> None:
        """Items waiting on a dependency that another task reconciles: read those dependencies' rows,
        and only those (a round reading every row would cost the whole table, per task, every few seconds)."""
        foreign = {needed for needed in self.dispatcher.waits.values() if not self.coordinator.owns(needed)}
        if foreign:
            self.ledger.absorb(await self.store.statuses_of(foreign))
            self._unblock()

    async def _absorb(self) -> None:
        """Take in the store's rows of items other tasks reconcile (or did, before a shard moved here):
        their readiness and outputs unblock dependents here."""
        mine = [key for key in self.ledger.statuses
                if self.coordinator.owns(key) and key in self.follower.resynced_once]
        self.ledger.absorb(await self.store.statuses(), skip=mine)  # this task's own view is the newer one
        self._unblock()

    def _unblock(self) -> None:
        for key, needed in list(self.dispatcher.waits.items()):
            if needed in self.ledger.ready:
                self.queue.add(key, Priority.HIGH)
