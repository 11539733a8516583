"""The controller loop: watch the source, queue work, reconcile with bounded workers, keep status,
correct drift on a jittered schedule, prune safely, and drain on shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from controller.api.envelope import Resource
from controller.engine.events import EventLog
from controller.engine.intervals import is_suspended, next_resync, resync_interval
from controller.engine.prune import CONFIRM_SETTING, HOLD_SETTING, PrunePlan, PruneThreshold, plan_prune
from controller.engine.reconciler import Action, Outcome, Reconciler
from controller.engine.runner import OutputsResolver
from controller.engine.sharding import AllShards, ShardCoordinator, shard_of
from controller.engine.status import SOURCE_SETTING, build_status, conditions_for, source_document
from controller.engine.workqueue import Priority, WorkQueue
from controller.metrics import KINDS, Metrics
from controller.sources.base import Source, SourceError
from controller.sources.desired import DesiredState
from controller.store.base import ItemStatus, Store
from controller.store.dynamodb import FencedWrite

CONFIRMATION_POLL_SECONDS = 0.5
STOP_GRACE_SECONDS = 2.0  # for cancelled background tasks to finish at shutdown
RESTAMP_SLICE = 50  # status writes between yields to the workers
SOURCE_STATUS_REFRESH_SECONDS = 60.0  # the source status is rewritten at least this often while it is unchanged
_APPLIED = frozenset({Action.IN_SYNC, Action.CREATE, Action.UPDATE, Action.ADOPT, Action.SUSPENDED})
_EVENT_FOR = {Action.CREATE: "Created", Action.ADOPT: "Adopted", Action.CONFLICT: "Conflict",
              Action.BLOCKED: "DependencyNotReady", Action.ERROR: "Error", Action.UPDATE: "Updated",
              Action.SUSPENDED: "Suspended"}


@dataclass
class ManagerConfig:
    resync_interval: float = 300.0
    kind_resync: dict[str, float] = field(default_factory=dict)
    workers: int = 16
    per_service_concurrency: int = 8
    observe_only: bool = False
    prune_threshold: PruneThreshold = field(default_factory=PruneThreshold)
    drain_timeout: float = 25.0  # within ECS's 30 s stop timeout


class Manager:
    def __init__(
        self, config: ManagerConfig, source: Source, *, reconciler: Reconciler, store: Store, events: EventLog,
        metrics: Metrics, coordinator: ShardCoordinator | None = None,
    ) -> None:
        self.config = config
        self.source = source
        # With several tasks, a coordinator leases shards; alone, this task owns every item.
        self.coordinator = coordinator
        self.shards: ShardCoordinator | AllShards = coordinator or AllShards()
        if coordinator is not None:
            coordinator.on_acquired = self._shards_acquired
            coordinator.on_round = self._refresh_foreign
        # Items waiting on a dependency (key -> the dependency). When another task reconciles the
        # dependency, its readiness is read from the store (shards move, so this is checked each round).
        self._waits: dict[str, str] = {}
        self.reconciler = reconciler
        self.store = store
        self.events = events
        self.metrics = metrics
        self.queue = WorkQueue(metrics=metrics)
        for kind in KINDS:
            metrics.max_workers.labels(kind).set(config.workers)
        self.state: DesiredState | None = None
        self.outputs: dict[str, dict[str, str]] = {}
        self.ready: set[str] = set()
        self.statuses: dict[str, ItemStatus] = {}
        self._generations: dict[str, str] = {}
        self._resynced_once: set[str] = set()
        self._service_slots: dict[str, asyncio.Semaphore] = {}
        self._source_lock = asyncio.Lock()
        self._restamping: asyncio.Task[None] | None = None
        self._prune_pending = False  # a delete failed: retry on the next look at the source
        # Items the live revision changed that have not yet reconciled from it; empty: it is applied.
        self._unapplied: set[str] = set()
        self.applied: tuple[str, float] | None = None  # (revision, Unix time) of the last complete apply
        self._source_written: tuple[str, float] = ("", 0.0)
        self._stopping = asyncio.Event()
        self.on_reconciled: Callable[[Outcome], None] | None = None  # for tests and metrics

    # ---- lifecycle ---------------------------------------------------------------------------------

    async def run(self) -> None:
        self.statuses = await self.store.statuses()
        for key, status in self.statuses.items():
            self._count_conditions(key, None, status)
            self.outputs[key] = status.outputs  # dependents can proceed before their dependencies re-run
            ready = status.condition("Ready")
            if ready is not None and ready.status == "True":
                self.ready.add(key)
        await self.source.start()
        if self.coordinator is not None:
            await self.coordinator.join()  # take a share before the first load queues work
        await self._load_source(initial=True)
        self.events.emit("Started", f"following {self.source.description}", workers=self.config.workers)
        tasks = [asyncio.create_task(self.queue.run_timers(), name="timers"),
                 asyncio.create_task(self._follow_source(), name="source"),
                 asyncio.create_task(self._watch_confirmations(), name="confirmations")]
        if self.coordinator is not None:
            tasks.append(asyncio.create_task(self.coordinator.run(), name="leases"))
        workers = [asyncio.create_task(self._worker(), name=f"worker-{n}") for n in range(self.config.workers)]
        await self._stopping.wait()
        self.events.emit("Stopping", "draining in-flight work", in_flight=len(self.queue.processing()))
        self.queue.shut_down()
        _, pending = await asyncio.wait(workers, timeout=self.config.drain_timeout)
        background = [*tasks, *pending, *([self._restamping] if self._restamping else [])]
        for task in background:
            task.cancel()
        # Python 3.11's asyncio.wait_for drops a cancellation that arrives as its inner wait finishes
        # (a file event at the wrong moment): the loops also stop on _stopping, and shutdown never
        # waits on a task that missed its cancel for longer than this.
        _, stuck = await asyncio.wait(background, timeout=STOP_GRACE_SECONDS)
        if stuck:
            self.events.emit("StopIncomplete", "tasks still running at exit",
                             tasks=sorted(task.get_name() for task in stuck))
        if self.coordinator is not None:
            await self.coordinator.release_all()
        await self.source.close()
        self.events.emit("Stopped", "state is saved")

    def stop(self) -> None:
        self._stopping.set()

    def resync_all(self) -> int:
        """Queue every item at high priority (SIGHUP, manual resync)."""
        keys = self.state.graph.critical_first(self.state.graph.records) if self.state else []
        for key in keys:
            self.queue.add(key, Priority.HIGH)
        return len(keys)

    # ---- the source --------------------------------------------------------------------------------

    async def _follow_source(self) -> None:
        while not self._stopping.is_set():
            await self.source.wait_for_change()
            await self.refresh_source()

    async def refresh_source(self) -> str | None:
        """Look at the source now (also `trimtab resync --source`); returns the live revision."""
        async with self._source_lock:
            await self._load_source(initial=False)
        return self.state.revision if self.state else None

    async def _watch_confirmations(self) -> None:
        """`trimtab prune --confirm` writes to the store; look for it twice a second."""
        while not self._stopping.is_set():
            await asyncio.sleep(CONFIRMATION_POLL_SECONDS)
            await self._check_prune_confirmation()

    async def _load_source(self, initial: bool) -> None:
        try:
            state = await self.source.load()
            self.metrics.source_fetches.labels("ok").inc()
        except SourceError as error:
            self.metrics.source_fetches.labels("error").inc()
            # An unreadable, unreachable or empty source is an error; the last good revision stays live.
            self.events.emit("SourceError", str(error), revision=self.state.revision if self.state else None)
            await self._report_source()
            return
        previous = self.state
        if previous is not None and state.revision == previous.revision:
            if self._prune_pending:
                await self._prune(state)
            await self._report_source()
            return
        self.state = state
        self._unapplied.clear()
        unchanged: list[tuple[str, str]] = []
        self.metrics.source_revision.clear()
        self.metrics.source_revision.labels(state.revision).set(1)
        self.metrics.spec_errors.set(len(state.errors))
        for problem in state.errors:
            self.events.emit("InvalidSpec", str(problem), revision=state.revision, file=problem.file,
                             line=problem.line, field=problem.field)
        if not initial:
            self.events.emit("SourceChanged", revision=state.revision, specs=len(state.graph.records),
                             errors=len(state.errors))
        for key in state.graph.critical_first(state.graph.records):  # what others wait for, first
            record = state.graph.records[key]
            spec_generation = record.generation
            if self._generations.get(key) == spec_generation:
                if self.shards.owns(key):
                    unchanged.append((key, spec_generation))
                continue
            self._generations[key] = spec_generation
            self.queue.forget(key)  # a changed spec starts its backoff afresh, terminal or not
            if not self.shards.owns(key):
                continue  # another task's; queued here if this task ever takes its shard
            if initial and self._settled(key, spec_generation):
                # Restarted: this exact spec was Ready and Synced before. Resume its drift checks,
                # spread over the interval, instead of redoing the work at once.
                interval = resync_interval(record.resource, self.config.resync_interval, self.config.kind_resync)
                self._resynced_once.add(key)
                self.queue.add_after(key, next_resync(interval, first=True))
            else:
                self._unapplied.add(key)
                self.queue.add(key, Priority.HIGH)
        await self._prune(state)
        self._check_applied()
        await self._report_source()
        if self._restamping is not None:
            self._restamping.cancel()
        self._restamping = asyncio.create_task(self._restamp(unchanged, state.revision), name="restamp")

    async def _restamp(self, unchanged: list[tuple[str, str]], revision: str) -> None:
        """Settled items the new revision leaves unchanged are live at that revision: record it so
        `trimtab get` shows, per resource, the commit in force, without a reconcile. In the
        background and in slices, so the items a change does touch are reconciled first."""
        for index, (key, spec_generation) in enumerate(unchanged):
            if index % RESTAMP_SLICE == 0:
                await asyncio.sleep(0)  # let the workers run
            status = self.statuses.get(key)
            if status is None or status.revision == revision or not self._settled(key, spec_generation):
                continue
            with contextlib.suppress(FencedWrite):  # lost the shard meanwhile: its new holder records it
                restamped = replace(status, revision=revision)
                await self.store.put_status(restamped)
                self.statuses[key] = restamped

    def _check_applied(self) -> None:
        """A revision is applied when every spec it changed has reconciled from it (a complete one only)."""
        state = self.state
        if state is None or self._unapplied or (self.applied and self.applied[0] == state.revision):
            return
        if not state.complete:
            return  # its valid specs apply, but an invalid revision is never "successfully applied"
        self.applied = (state.revision, time.time())
        self.metrics.source_applied.set(self.applied[1])
        self.events.emit("RevisionApplied", revision=state.revision, specs=len(state.graph.records))

    async def _report_source(self) -> None:
        """Source health into metrics, and into the store for `trimtab get` (when it changed, or each minute)."""
        fetches = self.source.fetches
        if fetches.last_success is not None:
            self.metrics.source_last_fetch.set(fetches.last_success)
        self.metrics.source_fetch_failing.set(1 if fetches.error else 0)
        document = source_document(self.source.description, self.state, fetches, self.applied)
        comparable = json.dumps({k: v for k, v in document.items() if k != "lastFetchTime"}, sort_keys=True)
        written, when = self._source_written
        if comparable != written or time.monotonic() - when > SOURCE_STATUS_REFRESH_SECONDS:
            await self.store.put_setting(SOURCE_SETTING, json.dumps(document))
            self._source_written = (comparable, time.monotonic())

    async def _shards_acquired(self, shards: set[int]) -> None:
        """Take over items of newly leased shards: settled ones resume their drift checks, others run now."""
        state = self.state
        if state is None or self.coordinator is None:
            return
        count = self.coordinator.settings.shards
        await self._absorb_statuses()  # what the previous holders recorded
        for key in state.graph.critical_first(state.graph.records):
            if shard_of(key, count) not in shards:
                continue
            record = state.graph.records[key]
            spec_generation = record.generation
            if self._settled(key, spec_generation):
                interval = resync_interval(record.resource, self.config.resync_interval, self.config.kind_resync)
                self._resynced_once.add(key)
                self.queue.add_after(key, next_resync(interval, first=True))
            else:
                self.queue.add(key, Priority.HIGH)

    async def _refresh_foreign(self) -> None:
        """Items waiting on a dependency that another task reconciles: read its status from the store."""
        if any(not self.shards.owns(needed) for needed in self._waits.values()):
            await self._absorb_statuses()

    async def _absorb_statuses(self) -> None:
        """Take in the store's statuses of items other tasks reconcile (or did, before a shard moved
        here): their readiness and outputs unblock dependents here."""
        for key, status in (await self.store.statuses()).items():
            if self.shards.owns(key) and key in self.statuses and key in self._resynced_once:
                continue  # reconciled here since: this task's own view is the newer one
            self.statuses[key] = status
            ready = status.condition("Ready")
            if ready is not None and ready.status == "True":
                self.ready.add(key)
                self.outputs[key] = status.outputs
        for key, needed in list(self._waits.items()):
            if needed in self.ready:
                self.queue.add(key, Priority.HIGH)

    def _settled(self, key: str, spec_generation: str) -> bool:
        status = self.statuses.get(key)
        if status is None or status.observed_generation != spec_generation:
            return False
        return all((c := status.condition(kind)) is not None and c.status == "True" for kind in ("Ready", "Synced"))

    # ---- pruning -----------------------------------------------------------------------------------

    async def _prune(self, state: DesiredState) -> None:
        inventory = await self.store.inventory()
        plan = plan_prune(state, inventory)
        if plan.blocked_reason:
            self.events.emit("PruneHeld", plan.blocked_reason, revision=state.revision)
            return
        if not plan.keys:
            await self.store.put_setting(HOLD_SETTING, None)
            self.metrics.prune_held.set(0)
            return
        held = self.config.prune_threshold.exceeded_by(len(plan.delete), len(inventory))
        if held and await self.store.get_setting(CONFIRM_SETTING) != plan.fingerprint():
            await self.store.put_setting(HOLD_SETTING, plan.fingerprint())
            self.metrics.prune_held.set(len(plan.delete))
            self.events.emit(
                "PruneHeld",
                f"{len(plan.delete)} of {len(inventory)} managed resources would be deleted; "
                "run `trimtab prune --confirm` to release, or raise the threshold",
                revision=state.revision, resources=len(plan.delete),
            )
            return
        await self._execute_prune(plan, state.revision)

    async def _check_prune_confirmation(self) -> None:
        if self.state is None:
            return
        hold = await self.store.get_setting(HOLD_SETTING)
        if hold is not None and await self.store.get_setting(CONFIRM_SETTING) == hold:
            await self._prune(self.state)

    async def _execute_prune(self, plan: PrunePlan, revision: str) -> None:
        for entry in plan.retain:
            if not self.shards.owns(entry.key):
                continue
            await self.store.forget(entry.key)
            await self.store.delete_status(entry.key)
            self.events.emit("Retained", "spec removed; deletionPolicy Retain leaves the resource",
                             kind=entry.kind, name=entry.key.split("/", 1)[1], revision=revision)
        failed = False
        for entry in plan.delete:
            if not self.shards.owns(entry.key):
                continue  # the task holding its shard deletes it
            started = time.monotonic()
            try:
                await self.reconciler.clients[entry.kind].delete(entry.identity)
            except Exception as error:  # kept in the inventory: retried on the next source pass
                failed = True
                self.events.emit("Error", f"delete failed: {error}", kind=entry.kind,
                                 name=entry.key.split("/", 1)[1], revision=revision)
                continue
            await self.store.forget(entry.key)
            await self.store.delete_status(entry.key)
            self._count_conditions(entry.key, self.statuses.pop(entry.key, None), None)
            self.outputs.pop(entry.key, None)
            self.ready.discard(entry.key)
            self.events.emit("Deleted", kind=entry.kind, name=entry.key.split("/", 1)[1], revision=revision,
                             duration=round(time.monotonic() - started, 3))
        self._prune_pending = failed  # retried at the next look at the source
        if not failed:
            await self.store.put_setting(HOLD_SETTING, None)
            await self.store.put_setting(CONFIRM_SETTING, None)
            self.metrics.prune_held.set(0)

    # ---- reconciling -------------------------------------------------------------------------------

    async def _worker(self) -> None:
        while (key := await self.queue.get()) is not None:
            try:
                await self._reconcile(key)
            finally:
                self.queue.done(key)

    async def _reconcile(self, key: str) -> None:
        state = self.state
        record = state.graph.records.get(key) if state else None
        if state is None or record is None:
            return  # removed since it was queued: pruning handles it
        if not self.shards.owns(key):
            return  # its shard moved to another task, which reconciles it from now on
        resource = record.resource
        interval = resync_interval(resource, self.config.resync_interval, self.config.kind_resync)
        if is_suspended(resource):
            outcome: Outcome | None = Outcome(key, Action.SUSPENDED, message="trimtab.io/suspend is \"true\"")
        else:
            outcome = self._blocked(key, state)
        if outcome is None:
            service = self.reconciler.clients[resource.KIND].service
            slots = self._service_slots.setdefault(service, asyncio.Semaphore(self.config.per_service_concurrency))
            active = self.metrics.active_workers.labels(resource.KIND)
            async with slots:
                active.inc()
                try:
                    outcome = await self.reconciler.reconcile(
                        resource, OutputsResolver(self.outputs, dry_run=False),
                        dry_run=self.config.observe_only,
                    )
                finally:
                    active.dec()
        try:
            await self._record(resource, outcome, state.revision)
        except FencedWrite as error:
            self.events.emit("LeaseLost", str(error), kind=resource.KIND, name=resource.metadata.name)
            return
        self._schedule(key, outcome, interval)

    def _blocked(self, key: str, state: DesiredState) -> Outcome | None:
        for needed in sorted(state.graph.dependencies.get(key, ())):
            if needed in state.graph.invalid_keys:
                return Outcome(key, Action.BLOCKED, message=f"waiting for {needed}: its spec is invalid")
            if needed not in self.ready:
                self._waits[key] = needed
                return Outcome(key, Action.BLOCKED, message=f"waiting for {needed} to become ready")
        self._waits.pop(key, None)
        return None

    def _schedule(self, key: str, outcome: Outcome, interval: float) -> None:
        if outcome.action is Action.ERROR and outcome.retryable:
            self.queue.add_rate_limited(key)
            return
        # Success, conflicts, blocked items and terminal errors: no hot retry. A spec change, a ready
        # dependency or a manual resync queue it sooner; the slow resync always comes (never "never").
        self.queue.forget(key)
        first = key not in self._resynced_once
        self._resynced_once.add(key)
        self.queue.add_after(key, next_resync(interval, first))

    async def _record(self, resource: Resource, outcome: Outcome, revision: str) -> None:
        key = resource.key
        previous = self.statuses.get(key)
        spec_generation = self._generations.get(key, "")  # set for every key of the live revision
        status = build_status(
            key, conditions_for(outcome, previous), previous,
            observed_generation=spec_generation, revision=revision, outputs=outcome.outputs, seconds=outcome.seconds,
        )
        await self.store.put_status(status)
        self._count_conditions(key, previous, status)
        self.statuses[key] = status
        if outcome.outputs:
            self.outputs[key] = outcome.outputs
        became_ready = outcome.ready and key not in self.ready
        if outcome.ready:
            self.ready.add(key)
        else:
            self.ready.discard(key)
        # The same spec as last time, yet changes were needed: AWS drifted.
        drifted = previous is not None and previous.observed_generation == spec_generation
        unchanged_wait = (outcome.action in (Action.BLOCKED, Action.SUSPENDED) and previous is not None
                          and previous.conditions == status.conditions)
        if not unchanged_wait:  # a wait is logged when it starts or changes, not at every recheck
            self._log(resource, outcome, revision, drifted)
        self._count_reconcile(resource.KIND, outcome, drifted)
        if key in self._unapplied and self.state is not None and revision == self.state.revision and (
                outcome.action in _APPLIED):
            self._unapplied.discard(key)
            if not self._unapplied:
                self._check_applied()
                await self._report_source()
        if became_ready and self.state is not None:
            for other in self.state.graph.critical_first(self.state.graph.dependents.get(key, ())):
                self.queue.add(other, Priority.HIGH)
        if self.on_reconciled is not None:
            self.on_reconciled(outcome)

    def _count_reconcile(self, kind: str, outcome: Outcome, drifted: bool) -> None:
        # controller-runtime's results: error, requeue (waiting on a dependency), success.
        result = {Action.ERROR: "error", Action.BLOCKED: "requeue"}.get(outcome.action, "success")
        self.metrics.reconcile_total.labels(kind, result).inc()
        self.metrics.reconcile_time.labels(kind).observe(outcome.seconds)
        if outcome.action is Action.ERROR:
            self.metrics.reconcile_errors.labels(kind).inc()
        elif outcome.ready:
            self.metrics.last_sync.set_to_current_time()
        if drifted and outcome.applied and outcome.action is Action.UPDATE:
            self.metrics.drift_corrections.labels(kind).inc()

    def _count_conditions(self, key: str, before: ItemStatus | None, after: ItemStatus | None) -> None:
        """Keep trimtab_resources current by moving one item between series, not by recounting all."""
        kind = key.split("/", 1)[0]
        for status, step in ((before, -1), (after, 1)):
            for condition in status.conditions if status else ():
                self.metrics.resources.labels(kind, condition.type, condition.status).inc(step)

    def _log(self, resource: Resource, outcome: Outcome, revision: str, drifted: bool) -> None:
        if outcome.action is Action.IN_SYNC:
            return
        if outcome.action is Action.UPDATE:
            event = ("DriftCorrected" if drifted else "Updated") if outcome.applied else "DriftDetected"
        elif outcome.action in (Action.CREATE, Action.ADOPT) and not outcome.applied:
            event = "DriftDetected"  # observe-only: reported, not changed
        else:
            event = _EVENT_FOR[outcome.action]
        self.events.emit(
            event, outcome.message, kind=resource.KIND, name=resource.metadata.name, revision=revision,
            duration=round(outcome.seconds, 3), fields=[change.path for change in outcome.changes] or None,
            code=outcome.error_code or None,
        )
