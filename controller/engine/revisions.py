"""The revision follower: the live revision, and what each change of it means for every spec.

A revision switches as a whole. Compared with the one before, each key has exactly one fate:
- **entered** (new, put back, reverted, restored after a prune) or **changed**: reconciled at once.
  The follower forgets a key's generation the moment the key leaves the revision or turns invalid,
  so a spec that comes back is always new to it; nothing stale can make it look settled;
- **unchanged**: its row is restamped with the new revision (it is live there) without a reconcile;
- **invalid**: its row says InvalidSpec with the error, and nothing is reconciled from it;
- **left**: its row, its series and its queue entry go at once; the pruner decides about AWS.

The source is `applied` when every valid spec has a good status for this revision and none is
invalid; `trimtab get` and the API show how many are pending, failing and invalid until then.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass

from controller.api.errors import SpecError
from controller.engine.intervals import next_resync, resync_interval
from controller.engine.ledger import Ledger
from controller.engine.pruner import Pruner
from controller.engine.status import (
    SOURCE_SETTING,
    RevisionProgress,
    now_rfc3339,
    source_document,
    spec_origin,
)
from controller.engine.telemetry import Telemetry
from controller.engine.workqueue import Priority, WorkQueue
from controller.metrics import Metrics
from controller.sources.base import Source, SourceError
from controller.sources.desired import DesiredState
from controller.store.base import FencedWrite, Store

RESTAMP_SLICE = 50  # status writes between yields to the workers
# The source status is rewritten at least this often while unchanged, with the time it was written:
# `trimtab get`, reading the store, calls a status stale that is several of these old (a crashed task).
SOURCE_STATUS_REFRESH_SECONDS = 15.0
PROGRESS_SECONDS = 5.0  # while a revision applies, a Progress line at most this often


@dataclass(frozen=True)
class Intervals:
    default: float
    per_kind: dict[str, float]


class RevisionFollower:
    def __init__(
        self, source: Source, *, store: Store, ledger: Ledger, queue: WorkQueue, pruner: Pruner,
        telemetry: Telemetry, metrics: Metrics, owns: Callable[[str], bool], intervals: Intervals,
        degraded: Callable[[], dict[str, str]] = dict,
    ) -> None:
        self.source = source
        self.degraded = degraded  # what works less promptly than it should (the event feed), for `get`
        self.store = store
        self.ledger = ledger
        self.queue = queue
        self.pruner = pruner
        self.telemetry = telemetry
        self.metrics = metrics
        self.owns = owns
        self.intervals = intervals
        self.state: DesiredState | None = None
        self.generations: dict[str, str] = {}  # key -> spec hash, for the valid keys of the live revision
        self.resynced_once: set[str] = set()  # keys whose drift checks have their phase already
        self.applied: tuple[str, float] | None = None  # (revision, Unix time) of the last complete apply
        self._lock = asyncio.Lock()
        self._restamping: asyncio.Task[None] | None = None
        self._source_written: tuple[str, float] = ("", 0.0)
        self._progress_said: tuple[str, float] = ("", 0.0)  # (revision, monotonic time) of the last Progress

    # ---- following ---------------------------------------------------------------------------------

    async def follow(self, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            await self.source.wait_for_change()
            await self.refresh()

    async def refresh(self, *, initial: bool = False) -> str | None:
        """Look at the source now (also `trimtab resync --source`); returns the live revision."""
        async with self._lock:
            await self._load(initial)
        return self.state.revision if self.state else None

    async def _load(self, initial: bool) -> None:
        try:
            state = await self.source.load()
            self.metrics.source_fetches.labels("ok").inc()
        except SourceError as error:
            self.metrics.source_fetches.labels("error").inc()
            # An unreadable, unreachable or empty source is an error; the last good revision stays live.
            self.telemetry.events.emit("SourceError", str(error), revision=self.state.revision if self.state else None)
            await self.report()
            return
        previous = self.state
        if previous is not None and state.revision == previous.revision:
            await self.report()
            return
        self.state = state
        self.ledger.track(state.revision, state.graph.records)
        self._announce(state, initial)
        before = set(self.ledger.statuses) if previous is None else (
            set(previous.graph.records) | previous.graph.invalid_keys)
        live = set(state.graph.records) | state.graph.invalid_keys
        for key in sorted(before - live):
            await self._leave(key)
        problems: dict[str, SpecError] = {}
        for problem in state.errors:
            problems.setdefault(problem.subject, problem)
        for key in sorted(state.graph.invalid_keys):
            self.generations.pop(key, None)  # fixed later: reconciled as new
            self.queue.drop(key)
            if self.owns(key):
                found = problems.get(key)
                with contextlib.suppress(FencedWrite):
                    await self.ledger.mark_invalid(key, str(found) if found else "invalid spec", state.revision,
                                                   f"{found.file}:{found.line}" if found else "")
        unchanged = self._queue_changes(state, initial)
        await self.pruner.prune(state)
        await self.report()
        if self._restamping is not None:
            self._restamping.cancel()
        self._restamping = asyncio.create_task(self._restamp(unchanged, state), name="restamp")

    def _announce(self, state: DesiredState, initial: bool) -> None:
        self.metrics.source_revision.clear()
        self.metrics.source_revision.labels(state.revision).set(1)
        self.metrics.spec_errors.set(len(state.errors))
        for problem in state.errors:
            kind, _, name = problem.subject.partition("/")  # "-" when the document names no kind and name
            self.telemetry.events.emit("InvalidSpec", str(problem), revision=state.revision, file=problem.file,
                                       line=problem.line, field=problem.field, kind=kind if name else None,
                                       name=name or None)
        if not initial:
            self.telemetry.events.emit("SourceChanged", revision=state.revision, specs=len(state.graph.records),
                                       errors=len(state.errors))

    async def _leave(self, key: str) -> None:
        self.generations.pop(key, None)
        self.resynced_once.discard(key)
        self.queue.drop(key)
        with contextlib.suppress(FencedWrite):
            await self.ledger.drop(key, persist=self.owns(key))

    def _queue_changes(self, state: DesiredState, initial: bool) -> list[str]:
        """Queue what the revision changed, what others wait for first; return the unchanged keys."""
        unchanged: list[str] = []
        for key in state.graph.critical_first(state.graph.records):
            generation = state.graph.generation(key)
            if self.generations.get(key) == generation:
                unchanged.append(key)
                continue
            self.generations[key] = generation
            self.queue.forget(key)  # a changed spec starts its backoff afresh, terminal or not
            if not self.owns(key):
                continue  # another task's; queued here if this task ever takes its shard
            if initial and self.ledger.settled(key, generation):
                # Restarted: this exact spec was Ready and Synced before. Resume its drift checks,
                # spread over the interval, instead of redoing the work at once.
                self.schedule_resync(key, first=True)
            else:
                self.queue.add(key, Priority.HIGH)
        return unchanged

    def schedule_resync(self, key: str, *, first: bool | None = None) -> None:
        state = self.state
        record = state.graph.records.get(key) if state else None
        if record is None:
            return
        interval = resync_interval(record.resource, self.intervals.default, self.intervals.per_kind)
        if first is None:
            first = key not in self.resynced_once
        self.resynced_once.add(key)
        self.queue.add_after(key, next_resync(interval, first), Priority.LOW)

    async def _restamp(self, unchanged: list[str], state: DesiredState) -> None:
        """Specs the new revision leaves unchanged are live at that revision: record it, so `trimtab get`
        shows, per resource, the commit in force, without a reconcile. In the background and in slices,
        so the items a change does touch are reconciled first."""
        for index, key in enumerate(unchanged):
            if index % RESTAMP_SLICE == 0:
                await asyncio.sleep(0)  # let the workers run
            if self.owns(key):
                with contextlib.suppress(FencedWrite):  # lost the shard meanwhile: its new holder records it
                    await self.ledger.restamp(key, state.revision, spec_origin(state.graph.records[key]))
        await self.report()

    async def stop(self) -> None:
        if self._restamping is not None:
            self._restamping.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._restamping

    # ---- progress ----------------------------------------------------------------------------------

    def progress(self) -> RevisionProgress:
        state = self.state
        if state is None:
            return RevisionProgress()
        return self.ledger.progress(len(state.graph.invalid_keys))

    async def item_done(self) -> None:
        """A spec reconciled: if that completed the revision, say so now (progress on the way is
        written by `report`'s periodic call, not at every item, and logged as N/M every few seconds)."""
        state = self.state
        if state is None or (self.applied is not None and self.applied[0] == state.revision):
            return
        progress = self.progress()
        if progress.phase == "applied":
            await self.report()
        elif progress.pending:
            self._say_progress(state.revision, progress)

    def _say_progress(self, revision: str, progress: RevisionProgress) -> None:
        said_revision, said_at = self._progress_said
        now = time.monotonic()
        if said_revision == revision and now - said_at < PROGRESS_SECONDS:
            return
        if said_revision != revision:  # the first item of a revision starts the clock, silently
            self._progress_said = (revision, now)
            return
        done = progress.specs - progress.pending
        self._progress_said = (revision, now)
        self.telemetry.events.emit("Progress", f"{done}/{progress.specs} specs reconciled", revision=revision,
                                   done=done, total=progress.specs, failing=progress.failing or None)

    async def report(self) -> None:
        """Source health and progress into metrics, and into the store for `trimtab get` (when it
        changed, or each minute)."""
        state, progress = self.state, self.progress()
        if state is not None and progress.phase == "applied" and (self.applied is None or (
                self.applied[0] != state.revision)):
            self.applied = (state.revision, time.time())
            self.metrics.source_applied.set(self.applied[1])
            self.telemetry.events.emit("RevisionApplied", revision=state.revision, specs=len(state.graph.records))
        fetches = self.source.fetches
        if fetches.last_success is not None:
            self.metrics.source_last_fetch.set(fetches.last_success)
        self.metrics.source_fetch_failing.set(1 if fetches.error else 0)
        document = self.document()
        comparable = json.dumps({k: v for k, v in document.items() if k != "lastFetchTime"}, sort_keys=True)
        written, when = self._source_written
        if comparable != written or time.monotonic() - when > SOURCE_STATUS_REFRESH_SECONDS:
            await self._store_document(document, reportedTime=now_rfc3339())
            self._source_written = (comparable, time.monotonic())

    async def report_stopped(self) -> None:
        """The last word of a task that stops: what `trimtab get` reads from the store is as of now."""
        await self._store_document(self.document(), reportedTime=now_rfc3339(), stoppedTime=now_rfc3339())

    async def _store_document(self, document: dict[str, object], **times: str) -> None:
        await self.store.put_setting(SOURCE_SETTING, json.dumps({**document, **times}))

    def document(self) -> dict[str, object]:
        document: dict[str, object] = source_document(
            self.source.description, self.state, self.source.fetches, self.applied, self.progress(),
            poll_seconds=self.source.poll_seconds, fetch_pending=self.source.fetch_pending)
        if degraded := self.degraded():
            document["degraded"] = degraded
        return document
