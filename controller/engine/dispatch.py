"""Dispatch: bounded workers take keys from the work queue, reconcile them, record, and reschedule.

One path serves every reason a key is queued: a source change, a manual resync, a dependency that
became ready, a drift check, a retry, and a prune survivor's retry. What happens next is decided
here, once per pass, so the steady cost is one reconcile per key per resync interval whatever came
before: the queue keeps one pending deadline per key (the earlier), so resyncs, edits and wake-ups
never stack timer chains.

Each pass runs `with working_on(key)`, so an AWS mutation made for a key whose shard lease this
task no longer holds is refused before it is sent, and every store write is fenced by the lease.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from controller.api.envelope import Resource
from controller.engine.ledger import Ledger
from controller.engine.pruner import Pruner
from controller.engine.reconciler import Action, Outcome, Reconciler
from controller.engine.revisions import RevisionFollower
from controller.engine.runner import OutputsResolver
from controller.engine.status import spec_facts, waiting_for
from controller.engine.suspensions import Suspensions
from controller.engine.telemetry import Telemetry
from controller.engine.workqueue import Priority, WorkQueue
from controller.fencing import LeaseLost, working_on
from controller.metrics import Metrics
from controller.sources.desired import DesiredState
from controller.store.base import FencedWrite, ItemStatus


@dataclass(frozen=True)
class DispatchSettings:
    workers: int
    per_service_concurrency: int
    observe_only: bool = False


class Dispatcher:
    def __init__(
        self, settings: DispatchSettings, *, queue: WorkQueue, reconciler: Reconciler, ledger: Ledger,
        follower: RevisionFollower, pruner: Pruner, telemetry: Telemetry, metrics: Metrics,
        suspensions: Suspensions,
    ) -> None:
        self.settings = settings
        self.queue = queue
        self.reconciler = reconciler
        self.ledger = ledger
        self.follower = follower
        self.pruner = pruner
        self.telemetry = telemetry
        self.metrics = metrics
        self.suspensions = suspensions
        # Items waiting on a dependency (key -> the dependency). When another task reconciles the
        # dependency, its readiness is read from the store (shards move, so this is checked each round).
        self.waits: dict[str, str] = {}
        self._service_slots: dict[str, asyncio.Semaphore] = {}

    async def worker(self) -> None:
        while (key := await self.queue.get()) is not None:
            try:
                await self.process(key)
            finally:
                self.queue.done(key)

    async def process(self, key: str) -> None:
        state = self.follower.state
        if state is None:
            return
        record = state.graph.records.get(key)
        if record is None:
            if key not in state.graph.invalid_keys:
                await self.pruner.retry(key, state)  # a prune survivor's backoff is over
            return
        if not self.follower.owns(key):
            return  # its shard moved to another task, which reconciles it from now on
        resource = record.resource
        was_ready = key in self.ledger.ready
        try:
            with working_on(key):
                outcome = await self._outcome(key, resource, state)
                live = self.follower.state
                if live is not state and (live is None or key not in live.graph.records):
                    # The spec left the revision while it reconciled: no row for it, and the pruner
                    # looks again at what this pass may have recorded in the inventory.
                    if live is not None:
                        await self.pruner.prune(live)
                    return
                previous = await self.ledger.record(outcome, spec_facts(record, state.graph),
                                                    state.graph.generation(key), state.revision)
                retired = True
                if outcome.ready and outcome.identity is not None:
                    retired = await self.pruner.retire_replaced(key, outcome.identity, state.revision,
                                                                replaced=outcome.action is Action.REPLACE)
        except (LeaseLost, FencedWrite) as error:
            self.telemetry.resource_event("LeaseLost", key, str(error))
            return
        after = self.ledger.statuses.get(key)
        self.telemetry.reconciled(resource, outcome, state.revision, previous, after)
        if outcome.ready and not was_ready:
            for other in state.graph.critical_first(state.graph.dependents.get(key, ())):
                self.queue.add(other, Priority.HIGH)
        elif not outcome.ready and _ready_moved(previous, after):
            # Why it is not ready changed: those waiting for it say so now, not at their next resync.
            for other in state.graph.dependents.get(key, ()):
                if self.waits.get(other) == key:
                    self.queue.add(other, Priority.HIGH)
        self._schedule(key, outcome, retired)
        await self.follower.item_done()

    async def _outcome(self, key: str, resource: Resource, state: DesiredState) -> Outcome:
        suspended = self.suspensions.why(resource)
        if suspended is not None:
            return Outcome(key, Action.SUSPENDED, message=suspended)
        blocked = self._blocked(key, state)
        if blocked is not None:
            return blocked
        service = self.reconciler.clients[resource.KIND].service
        slots = self._service_slots.setdefault(service, asyncio.Semaphore(self.settings.per_service_concurrency))
        active = self.metrics.active_workers.labels(resource.KIND)
        async with slots:
            active.inc()
            try:
                return await self.reconciler.reconcile(resource, OutputsResolver(self.ledger.outputs, dry_run=False,
                                                                                       grants=state.graph.known_grants),
                                                       dry_run=self.settings.observe_only)
            finally:
                active.dec()

    def _blocked(self, key: str, state: DesiredState) -> Outcome | None:
        for needed in sorted(state.graph.dependencies.get(key, ())):
            if needed in state.graph.invalid_keys:
                return Outcome(key, Action.BLOCKED, message=f"waiting for {needed}: its spec is invalid")
            if needed not in self.ledger.ready:
                self.waits[key] = needed
                return Outcome(key, Action.BLOCKED, message=waiting_for(needed, self.ledger.statuses.get(needed)))
        self.waits.pop(key, None)
        return None

    def _schedule(self, key: str, outcome: Outcome, retired: bool) -> None:
        if outcome.action is Action.ERROR and outcome.retry_after is not None:
            self.queue.add_after(key, outcome.retry_after, Priority.HIGH)  # when AWS says it can succeed
            return
        if (outcome.action is Action.ERROR and outcome.retryable) or not retired:
            self.queue.add_rate_limited(key)
            return
        # Success, conflicts, blocked items and terminal errors: no hot retry. A spec change, a ready
        # dependency or a manual resync queue it sooner; the slow resync always comes (never "never").
        self.queue.forget(key)
        self.follower.schedule_resync(key)


def _ready_moved(before: ItemStatus | None, after: ItemStatus | None) -> bool:
    """Whether the Ready condition changed: status, reason or message."""
    def ready(status: ItemStatus | None) -> tuple[str, str, str] | None:
        condition = status.condition("Ready") if status else None
        return None if condition is None else (condition.status, condition.reason, condition.message)
    return ready(before) != ready(after)
