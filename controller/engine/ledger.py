"""The status ledger: one row per spec of the live revision, and none for anything else.

The one authoritative record of what `trimtab get`, the API and `trimtab_resources` show, after the
Kubernetes status subresource. Rows are kept in memory and written through to the store:
- a valid spec's row comes from its latest reconcile (`record`), or is restamped with a new
  revision that left the spec unchanged while it was settled (`restamp`);
- an invalid spec's row says Ready=False, reason InvalidSpec, with file:line:column and message;
- a removed spec's row is dropped, and its series with it, the moment the revision leaves it; the
  one exception is a prune survivor: a resource whose delete failed keeps a DeleteFailed row until
  the delete succeeds, because it still exists and trimtab is still acting on it.
Readiness and outputs (what dependents wait for and read) live here too, so a dropped or invalid
spec can never leave a stale "ready" behind for its dependents.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from controller.engine.conditions import Ready, Reason, Status, Synced
from controller.engine.reconciler import Outcome
from controller.engine.status import (
    RevisionProgress,
    SpecFacts,
    build_status,
    delete_failed_conditions,
    invalid_conditions,
    status_after,
)
from controller.engine.telemetry import Telemetry
from controller.kinds.base import Outputs
from controller.store.base import ItemStatus, Store


def is_settled(status: ItemStatus | None, generation: str) -> bool:
    """Reconciled from exactly this spec, and Ready and Synced."""
    if status is None or status.observed_generation != generation:
        return False
    return all((c := status.condition(kind)) is not None and c.status == Status.TRUE
               for kind in (Ready.TYPE, Synced.TYPE))


def _is_good(status: ItemStatus) -> bool:
    synced = status.condition(Synced.TYPE)
    return synced is not None and synced.status != Status.FALSE


class Ledger:
    def __init__(self, store: Store, telemetry: Telemetry) -> None:
        self.store = store
        self.telemetry = telemetry
        self.statuses: dict[str, ItemStatus] = {}
        self.ready: set[str] = set()
        self.outputs: dict[str, Outputs] = {}
        self._revision = ""
        self._valid: set[str] = set()
        self._pending: set[str] = set()  # valid keys with no row for the live revision yet
        self._failing: set[str] = set()  # valid keys whose row for it is an error, conflict or wait

    async def load(self) -> None:
        """What the store remembers (a restart): dependents may proceed before their dependencies re-run."""
        for key, status in (await self.store.statuses()).items():
            self._keep(key, status)

    def absorb(self, statuses: dict[str, ItemStatus], skip: Iterable[str] = ()) -> None:
        """Take in rows other tasks wrote (several tasks share one store), except `skip`."""
        skipped = set(skip)
        for key, status in statuses.items():
            if key not in skipped:
                self._keep(key, status)

    def _keep(self, key: str, status: ItemStatus) -> None:
        self.telemetry.count_conditions(key, self.statuses.get(key), status)
        self.statuses[key] = status
        self._note(key)
        ready = status.condition(Ready.TYPE)
        if ready is not None and ready.status == Status.TRUE:
            self.ready.add(key)
            self.outputs[key] = status.outputs
        else:
            self.ready.discard(key)

    def settled(self, key: str, generation: str) -> bool:
        return is_settled(self.statuses.get(key), generation)

    async def _write(self, status: ItemStatus) -> ItemStatus | None:
        previous = self.statuses.get(status.key)
        await self.store.put_status(status)  # fenced: raises before anything here changes
        self.telemetry.count_conditions(status.key, previous, status)
        self.statuses[status.key] = status
        self._note(status.key)
        return previous

    async def record(self, outcome: Outcome, facts: SpecFacts, generation: str, revision: str) -> ItemStatus | None:
        """A reconcile's result; returns the row it replaced."""
        key = outcome.key
        previous = self.statuses.get(key)
        await self._write(status_after(outcome, previous, facts, generation=generation, revision=revision))
        if outcome.outputs:
            self.outputs[key] = outcome.outputs
        if outcome.ready:
            self.ready.add(key)
        else:
            self.ready.discard(key)
        return previous

    async def mark_invalid(self, key: str, problem: str, revision: str, origin: str) -> None:
        previous = self.statuses.get(key)
        ready = previous.condition(Ready.TYPE) if previous is not None else None
        if previous is not None and previous.revision == revision and ready is not None and (
                (ready.reason, ready.message) == (Reason.INVALID_SPEC, problem)):
            return  # already says so for this revision
        # Nothing of the spec can be trusted but where it is: no labels, no references.
        status = build_status(key, invalid_conditions(problem), previous, observed_generation="",
                              revision=revision, outputs={}, seconds=0.0, facts=SpecFacts(origin))
        await self._write(status)
        self.ready.discard(key)
        self.outputs.pop(key, None)

    async def mark_delete_failed(self, key: str, message: str, revision: str) -> None:
        previous = self.statuses.get(key)
        status = build_status(key, delete_failed_conditions(message), previous, observed_generation="",
                              revision=revision, outputs={}, seconds=0.0)
        await self._write(status)
        self.ready.discard(key)
        self.outputs.pop(key, None)

    async def restamp(self, key: str, revision: str, origin: str) -> None:
        """An unchanged, settled spec is live at the new revision without a reconcile; it may have moved
        within its file, or to another one, without changing."""
        status = self.statuses.get(key)
        if status is None or (status.revision, status.origin) == (revision, origin):
            return
        restamped = replace(status, revision=revision, origin=origin)
        await self.store.put_status(restamped)
        self.statuses[key] = restamped
        self._note(key)

    async def drop(self, key: str, *, persist: bool = True) -> None:
        """The spec left the revision: its row, its series, its readiness and outputs go with it.
        `persist` False: another task owns the key's shard and deletes the stored row itself."""
        previous = self.statuses.get(key)
        if previous is not None and persist:
            await self.store.delete_status(key)  # fenced: raises before anything here changes
        self.statuses.pop(key, None)
        self.ready.discard(key)
        self.outputs.pop(key, None)
        self._note(key)
        if previous is not None:
            self.telemetry.count_conditions(key, previous, None)

    # ---- progress of the live revision: kept as rows change, so reading it costs nothing -------------

    def track(self, revision: str, valid: Iterable[str]) -> None:
        """From now on, count the valid keys of `revision` that have no good row for it yet."""
        self._revision = revision
        self._valid = set(valid)
        self._pending.clear()
        self._failing.clear()
        for key in self._valid:
            self._note(key)

    def _note(self, key: str) -> None:
        if key not in self._valid:
            return
        status = self.statuses.get(key)
        if status is None or status.revision != self._revision:
            self._pending.add(key)
            self._failing.discard(key)
            return
        self._pending.discard(key)
        if _is_good(status):
            self._failing.discard(key)
        else:
            self._failing.add(key)

    def progress(self, invalid: int) -> RevisionProgress:
        return RevisionProgress(specs=len(self._valid), pending=len(self._pending), invalid=invalid,
                                failing=len(self._failing))
