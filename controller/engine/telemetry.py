"""What the engine tells people: one log event per action, and the reconcile and condition metrics.

Kept apart from the decisions, so the ledger, the dispatcher and the pruner say what happened and
this module alone decides how it is logged and counted.
"""

from __future__ import annotations

from collections.abc import Callable

from controller.api.envelope import Resource
from controller.engine.events import EventLog
from controller.engine.reconciler import Action, Outcome
from controller.engine.status import is_drift
from controller.metrics import Metrics
from controller.store.base import ItemStatus

_EVENT_FOR = {Action.CREATE: "Created", Action.REPLACE: "Replaced", Action.ADOPT: "Adopted",
              Action.CONFLICT: "Conflict", Action.BLOCKED: "DependencyNotReady", Action.ERROR: "Error",
              Action.UPDATE: "Updated", Action.SUSPENDED: "Suspended"}


class Telemetry:
    def __init__(self, events: EventLog, metrics: Metrics, on_outcome: Callable[[Outcome], None] | None = None) -> None:
        self.events = events
        self.metrics = metrics
        self._on_outcome = on_outcome  # a listener for every recorded outcome (tests, embedding)

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
        unchanged_wait = (outcome.action in (Action.BLOCKED, Action.SUSPENDED) and previous is not None
                          and after is not None and previous.conditions == after.conditions)
        if not unchanged_wait:  # a wait is logged when it starts or changes, not at every recheck
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

    def _log(self, resource: Resource, outcome: Outcome, revision: str, drifted: bool) -> None:
        if outcome.action is Action.IN_SYNC:
            return
        if outcome.action is Action.UPDATE:
            event = ("DriftCorrected" if drifted else "Updated") if outcome.applied else "DriftDetected"
        elif outcome.action in (Action.CREATE, Action.REPLACE, Action.ADOPT) and not outcome.applied:
            event = "DriftDetected"  # observe-only: reported, not changed
        else:
            event = _EVENT_FOR[outcome.action]
        self.events.emit(
            event, outcome.message, kind=resource.KIND, name=resource.metadata.name, revision=revision,
            duration=round(outcome.seconds, 3), fields=[change.path for change in outcome.changes] or None,
            code=outcome.error_code or None,
        )

    def resource_event(self, event: str, key: str, message: str = "", **fields: object) -> None:
        kind, _, name = key.partition("/")
        self.events.emit(event, message, kind=kind, name=name, **fields)
