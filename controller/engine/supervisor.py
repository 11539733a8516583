"""The supervisor: builds the engine's parts, runs their loops, and drains them on shutdown.

The parts, one job each (docs/architecture.md):
- `revisions.RevisionFollower`: the live revision, and each key's fate when it changes;
- `ledger.Ledger`: one status row per live spec, readiness and outputs;
- `dispatch.Dispatcher`: workers that reconcile queued keys and reschedule them;
- `pruner.Pruner`: deletes what removed or renamed specs left, with backoff and survivors;
- `handover.ShardHandover`: items of shards this task takes over from another task;
- `telemetry.Telemetry`: events and metrics;
- `journal.EventJournal`: each item's recent events, kept in the store;
- `suspensions.Suspensions`: items an operator suspended (`trimtab suspend`), kept in the store;
- `view.ControllerView`: the narrow, read-mostly face the HTTP server sees.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any

from controller.engine.dispatch import Dispatcher, DispatchSettings
from controller.engine.events import EventLog
from controller.engine.handover import ShardHandover
from controller.engine.journal import EventJournal
from controller.engine.ledger import Ledger
from controller.engine.prune import PruneThreshold
from controller.engine.pruner import Pruner
from controller.engine.reconciler import Outcome, Reconciler
from controller.engine.revisions import Intervals, RevisionFollower
from controller.engine.sharding import AllShards, ShardCoordinator
from controller.engine.suspensions import REFRESH_SECONDS, Suspensions
from controller.engine.telemetry import Telemetry
from controller.engine.workqueue import Clock, Priority, WorkQueue
from controller.kinds.registry import KINDS
from controller.metrics import Metrics
from controller.sources.base import Source
from controller.store.base import Store

CONFIRMATION_POLL_SECONDS = 0.5
STOP_GRACE_SECONDS = 2.0  # for cancelled background tasks to finish at shutdown


@dataclass
class ControllerConfig:
    resync_interval: float = 300.0
    kind_resync: dict[str, float] = field(default_factory=dict)
    workers: int = 32
    per_service_concurrency: int = 16
    observe_only: bool = False
    prune_threshold: PruneThreshold = field(default_factory=PruneThreshold)
    drain_timeout: float = 25.0  # within ECS's 30 s stop timeout


class Supervisor:
    def __init__(
        self, config: ControllerConfig, source: Source, *, reconciler: Reconciler, store: Store, events: EventLog,
        metrics: Metrics, coordinator: ShardCoordinator | None = None, clock: Clock | None = None,
        on_outcome: Callable[[Outcome], None] | None = None,
        background: Sequence[Callable[[asyncio.Event], Coroutine[Any, Any, None]]] = (),
        degraded: Callable[[], dict[str, str]] = dict,
    ) -> None:
        self.config = config
        self.background = background  # loops run beside the workers until stop (the event feed)
        self.source = source
        self.store = store
        self.events = events
        # With several tasks, a coordinator leases shards; alone, this task owns every item.
        self.coordinator = coordinator
        self.shards: ShardCoordinator | AllShards = coordinator or AllShards()
        self.telemetry = Telemetry(events, metrics, on_outcome)
        self.journal = EventJournal(store, events, owns=self.shards.owns)
        self.suspensions = Suspensions(store)
        self.queue = WorkQueue(metrics=metrics, clock=clock)
        self.ledger = Ledger(store, self.telemetry)
        self.pruner = Pruner(store, reconciler.clients, self.ledger, self.telemetry, metrics,
                             owns=self.shards.owns, threshold=config.prune_threshold,
                             controller_id=reconciler.controller_id, retry_later=self._retry_later)
        self.follower = RevisionFollower(source, store=store, ledger=self.ledger, queue=self.queue,
                                         pruner=self.pruner, telemetry=self.telemetry, metrics=metrics,
                                         owns=self.shards.owns,
                                         intervals=Intervals(config.resync_interval, config.kind_resync),
                                         degraded=degraded)
        self.dispatcher = Dispatcher(
            DispatchSettings(config.workers, config.per_service_concurrency, config.observe_only),
            queue=self.queue, reconciler=reconciler, ledger=self.ledger, follower=self.follower,
            pruner=self.pruner, telemetry=self.telemetry, metrics=metrics, suspensions=self.suspensions)
        self.handover = ShardHandover(coordinator, store=store, ledger=self.ledger, follower=self.follower,
                                      dispatcher=self.dispatcher, queue=self.queue,
                                      journal=self.journal) if coordinator else None
        metrics.seed_kinds(KINDS, config.workers)
        self._stopping = asyncio.Event()

    def _retry_later(self, key: str) -> None:
        self.queue.add_rate_limited(key)

    async def run(self) -> None:
        await self.ledger.load()
        await self.journal.load()
        await self.suspensions.load()
        await self.source.start()
        if self.coordinator is not None:
            await self.coordinator.join()  # take a share before the first load queues work
        await self.follower.refresh(initial=True)
        self.events.emit("Started", f"following {self.source.description}", workers=self.config.workers)
        tasks = [asyncio.create_task(self.queue.run_timers(), name="timers"),
                 asyncio.create_task(self.follower.follow(self._stopping), name="source"),
                 asyncio.create_task(self._watch_confirmations(), name="confirmations"),
                 asyncio.create_task(self._follow_suspensions(), name="suspensions"),
                 asyncio.create_task(self.journal.run(self._stopping), name="journal")]
        if self.coordinator is not None:
            tasks.append(asyncio.create_task(self.coordinator.run(), name="leases"))
        tasks.extend(asyncio.create_task(loop(self._stopping), name=f"background-{n}")
                     for n, loop in enumerate(self.background))
        workers = [asyncio.create_task(self.dispatcher.worker(), name=f"worker-{n}")
                   for n in range(self.config.workers)]
        await self._stopping.wait()
        self.events.emit("Stopping", "draining in-flight work", in_flight=len(self.queue.processing()))
        self.queue.shut_down()
        _, pending = await asyncio.wait(workers, timeout=self.config.drain_timeout)
        background = [*tasks, *pending]
        for task in background:
            task.cancel()
        # Python 3.11's asyncio.wait_for drops a cancellation that arrives as its inner wait finishes
        # (a file event at the wrong moment): the loops also stop on _stopping, and shutdown never
        # waits on a task that missed its cancel for longer than this.
        _, stuck = await asyncio.wait(background, timeout=STOP_GRACE_SECONDS)
        if stuck:
            self.events.emit("StopIncomplete", "tasks still running at exit",
                             tasks=sorted(task.get_name() for task in stuck))
        await self.follower.stop()
        await self._save_last_word()
        if self.coordinator is not None:
            await self.coordinator.release_all()
        await self.source.close()
        self.events.emit("Stopped", "state is saved")

    async def _save_last_word(self) -> None:
        """Events heard during the drain, and the source status saying this task stopped (leases are
        still held, so the fenced event writes can land)."""
        try:
            await self.journal.flush()
            await self.follower.report_stopped()
        except Exception as error:  # a store outage at shutdown: what could not be written is lost
            self.events.emit("Error", f"saving the events and the source status at shutdown failed: {error}")

    def stop(self) -> None:
        self._stopping.set()

    def resync(self, keys: list[str] | None = None) -> tuple[list[str], list[str]]:
        """Queue these keys (None: every live one) at high priority, what others wait for first.
        Returns (queued here, held by other tasks)."""
        state = self.follower.state
        if state is None:
            return [], []
        wanted = interleave_services(state.graph.critical_first(state.graph.records if keys is None else keys))
        here = [key for key in wanted if self.shards.owns(key)]
        for key in here:
            self.queue.add(key, Priority.HIGH)
        return here, [key for key in wanted if not self.shards.owns(key)]

    async def suspend(self, keys: list[str], reason: str) -> None:
        """`trimtab suspend`: recorded in the store, then each item's row says so at once."""
        for key in keys:
            await self.suspensions.suspend(key, reason)
        self._requeue(keys)

    async def resume(self, keys: list[str]) -> list[str]:
        """`trimtab resume`: each item reconciles at once. Returns those the operator had suspended."""
        resumed = [key for key in keys if await self.suspensions.resume(key)]
        for key in resumed:
            self.telemetry.resource_event("Resumed", key, "resumed with `trimtab resume`")
        self._requeue(keys)
        return resumed

    def _requeue(self, keys: list[str] | set[str]) -> None:
        state = self.follower.state
        for key in keys:
            if state is not None and key in state.graph.records and self.shards.owns(key):
                self.queue.add(key, Priority.HIGH)

    async def _follow_suspensions(self) -> None:
        """Suspensions another task took (several tasks share the store) reach the items here too."""
        while not self._stopping.is_set():
            await asyncio.sleep(REFRESH_SECONDS)
            try:
                self._requeue(await self.suspensions.refresh())
            except Exception as error:  # a store outage: the loop stays, and says so
                self.events.emit("Error", f"reading suspensions from the store failed: {error}")

    async def _watch_confirmations(self) -> None:
        """`trimtab prune --confirm` writes to the store; look for it twice a second. The source's
        progress (pending, failing, invalid specs) is written on the same beat, when it changed."""
        while not self._stopping.is_set():
            await asyncio.sleep(CONFIRMATION_POLL_SECONDS)
            try:
                await self.pruner.confirmation_check(self.follower.state)
                await self.follower.report()
            except Exception as error:  # a store outage: the loop stays, and says so
                self.events.emit("Error", f"prune confirmation or source status check failed: {error}")


def interleave_services(keys: list[str]) -> list[str]:
    """`keys` taken in turn from each kind (each kind keeping its order), so a full resync keeps every
    AWS service busy at once instead of one service's slots full while the other workers wait on them."""
    by_kind: dict[str, list[str]] = {}
    for key in keys:
        by_kind.setdefault(key.split("/", 1)[0], []).append(key)
    lanes = list(by_kind.values())
    return [lane[index] for index in range(max(map(len, lanes), default=0)) for lane in lanes if index < len(lane)]
