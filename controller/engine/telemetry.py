"""What the engine tells people: one log event per action, and the reconcile and condition metrics.

Kept apart from the decisions, so the ledger, the dispatcher and the pruner say what happened and
this module alone decides how it is logged and counted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from controller.api.envelope import Resource
from controller.engine.drift import summarise
from controller.engine.events import EventLog
from controller.engine.reconciler import Action, Outcome
from controller.engine.status import is_drift
from controller.metrics import Metrics
from controller.store.base import ItemStatus

_EVENT_FOR = {Action.CREATE: "Created", Action.REPLACE: "Replaced", Action.ADOPT: "Adopted",
              Action.CONFLICT: "Conflict", Action.BLOCKED: "DependencyNotReady", Action.ERROR: "Error",
              Action.UPDATE: "Updated", Action.SUSPENDED: "Suspended", Action.PENDING: "Pending"}


class Telemetry:
    def __init__(self, events: EventLog, metrics: Metrics, on_outcome: Callable[[Outcome], None] | None = None) -> None:
        self.events = events
        self.metrics = metrics
        self._on_outcome = on_outcome  # a listener for every recorded outcome (tests, embedding)
        self._waits_logged: dict[str, str] = {}  # key -> the revision whose wait on a dependency was logged

    def count_conditions(self, key: str, before: ItemStatus | None, after: ItemStatus | None) -> None:
        """Keep trimtab_resources and trimtab_suspended_resources current by moving one item between
        series, not by recounting all."""
        kind = key.split("/", 1)[0]
        for status, step in ((before, -1), (after, 1)):
            for condition in status.conditions if status else ():
                self.metrics.resources.labels(kind, condition.type, condition.status).inc(step)
                if condition.type == "Synced" and condition.reason == "Suspended":
                    self.metrics.suspended.labels(kind).inc(step)

    def reconciled(self, resource: Resource, outcome: Outcome, revision: str, previous: ItemStatus | None,
                   after: ItemStatus | None) -> None:
        drifted = after is not None and is_drift(previous, after.observed_generation)
        if self._worth_logging(resource.key, outcome, revision, previous, after):
            self._log(resource, outcome, revision, drifted)
        self._count(resource.KIND, outcome, drifted)
        if self._on_outcome is not None:
            self._on_outcome(outcome)

    def _count(self, kind: str, outcome: Outcome, drifted: bool) -> None:
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

    def _worth_logging(self, key: str, outcome: Outcome, revision: str, previous: ItemStatus | None,
                       after: ItemStatus | None) -> bool:
        """A wait on a dependency is logged once per item and revision (a cold start's ordering is one
        line per dependent, not one per recheck); a suspension when it starts or changes."""
        if outcome.action is Action.BLOCKED:
            first = self._waits_logged.get(key) != revision
            self._waits_logged[key] = revision
            return first
        self._waits_logged.pop(key, None)  # a later wait, even in this revision, is news again
        if outcome.action is Action.SUSPENDED:
            return previous is None or after is None or previous.conditions != after.conditions
        return True

    def _log(self, resource: Resource, outcome: Outcome, revision: str, drifted: bool) -> None:
        if outcome.action is Action.IN_SYNC:
            return
        if outcome.action is Action.UPDATE:
            event = ("DriftCorrected" if drifted else "Updated") if outcome.applied else "DriftDetected"
        elif outcome.action in (Action.CREATE, Action.REPLACE, Action.ADOPT) and not outcome.applied:
            event = "DriftDetected"  # observe-only: reported, not changed
        else:
            event = _EVENT_FOR[outcome.action]
        # What a change was, before and after, for drift and updates; a create's values are its spec.
        values = [{"field": change.path, "before": summarise(change.before, change.path),
                   "after": summarise(change.after, change.path)}
                  for change in outcome.changes] if outcome.action is Action.UPDATE else None
        self.events.emit(
            event, outcome.message, kind=resource.KIND, name=resource.metadata.name, revision=revision,
            duration=round(outcome.seconds, 3), fields=[change.path for change in outcome.changes] or None,
            changes=values or None, code=outcome.error_code or None,
        )

    def resource_event(self, event: str, key: str, message: str = "", **fields: Any) -> None:
        kind, _, name = key.partition("/")
        self.events.emit(event, message, kind=kind, name=name, **fields)
