"""Kubernetes-style conditions from a reconcile outcome: Ready and Synced, with reason, message and
lastTransitionTime that only moves when the status does."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from controller.engine.reconciler import CHANGING, Action, Outcome
from controller.sources.base import FetchRecord
from controller.sources.desired import DesiredState
from controller.store.base import Condition, ItemStatus

TRUE, FALSE, UNKNOWN = "True", "False", "Unknown"


def now_rfc3339() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _describe(outcome: Outcome) -> str:
    changes = ", ".join(change.path for change in outcome.changes)
    message = outcome.message
    if outcome.error_code and outcome.error_code not in message:
        message = f"{outcome.error_code}: {message}"
    if changes and not message:
        return f"changed: {changes}"
    return message


def conditions_for(
    outcome: Outcome, previous: ItemStatus | None, generation: str | None = None,
) -> list[tuple[str, str, str, str]]:
    """(type, status, reason, message) for Ready and Synced. A pass that does not look at AWS (suspended)
    or fails keeps the last known Ready, but only for the same spec: after an edit, what was Ready for
    the old spec says nothing about the new one."""
    message = _describe(outcome)
    if previous is not None and generation is not None and previous.observed_generation != generation:
        previous = None
    if outcome.ready:
        reason = {Action.CREATE: "Created", Action.REPLACE: "Replaced", Action.UPDATE: "Updated",
                  Action.ADOPT: "Adopted"}.get(outcome.action, "Available")
        return [("Ready", TRUE, "Available", ""), ("Synced", TRUE, reason, message)]
    if outcome.action in CHANGING:  # observe-only: drift not applied
        ready_reason = "NotFound" if outcome.action in (Action.CREATE, Action.REPLACE) else "Drifted"
        return [("Ready", FALSE, ready_reason, message), ("Synced", TRUE, "ObserveOnly", "changes nothing")]
    if outcome.action is Action.CONFLICT:
        return [("Ready", FALSE, "Conflict", message), ("Synced", FALSE, "Conflict", message)]
    if outcome.action is Action.SUSPENDED:
        ready = previous.condition("Ready") if previous else None
        ready_row = (("Ready", ready.status, ready.reason, ready.message) if ready
                     else ("Ready", UNKNOWN, "Suspended", outcome.message))
        return [ready_row, ("Synced", UNKNOWN, "Suspended", outcome.message)]
    if outcome.action is Action.BLOCKED:
        return [("Ready", FALSE, "DependencyNotReady", message), ("Synced", FALSE, "DependencyNotReady", message)]
    # An error: the resource may still be fine, so Ready keeps what was last known.
    ready = previous.condition("Ready") if previous else None
    reason = "ReconcileError" if outcome.retryable else "TerminalError"
    ready_row = (("Ready", ready.status, ready.reason, ready.message) if ready
                 else ("Ready", UNKNOWN, reason, message))
    return [ready_row, ("Synced", FALSE, reason, message)]


def invalid_conditions(problem: str) -> list[tuple[str, str, str, str]]:
    """An invalid spec: nothing is reconciled from it, whatever AWS holds, until it is fixed."""
    return [("Ready", FALSE, "InvalidSpec", problem), ("Synced", FALSE, "InvalidSpec", problem)]


def delete_failed_conditions(message: str) -> list[tuple[str, str, str, str]]:
    """A removed spec whose resource could not be deleted yet: still there, retried on its backoff."""
    return [("Ready", FALSE, "DeleteFailed", message), ("Synced", FALSE, "DeleteFailed", message)]


def build_status(
    key: str,
    rows: list[tuple[str, str, str, str]],
    previous: ItemStatus | None,
    *,
    observed_generation: str,
    revision: str,
    outputs: dict[str, str],
    seconds: float,
) -> ItemStatus:
    stamp = now_rfc3339()
    conditions = []
    for kind, status, reason, message in rows:
        before = previous.condition(kind) if previous else None
        if before is not None and (before.status, before.reason, before.message) == (status, reason, message):
            conditions.append(before)  # unchanged: kept as it is, not rebuilt at every drift check
            continue
        since = before.last_transition_time if before is not None and before.status == status else stamp
        conditions.append(Condition(kind, status, reason, message, since))
    kept = tuple(conditions)
    if previous is not None and kept == previous.conditions:
        kept = previous.conditions
    return ItemStatus(
        key=key,
        conditions=kept,
        observed_generation=observed_generation,
        revision=revision,
        outputs=outputs or (previous.outputs if previous else {}),
        last_reconcile_time=stamp,
        last_reconcile_seconds=round(seconds, 4),
        first_seen=previous.first_seen if previous else stamp,
    )


def status_document(status: ItemStatus) -> dict[str, Any]:
    kind, _, name = status.key.partition("/")
    return {
        "kind": kind,
        "name": name,
        "conditions": [
            {"type": c.type, "status": c.status, "reason": c.reason, "message": c.message,
             "lastTransitionTime": c.last_transition_time}
            for c in status.conditions
        ],
        "observedGeneration": status.observed_generation,
        "revision": status.revision,
        "outputs": status.outputs,
        "lastReconcileTime": status.last_reconcile_time,
        "lastReconcileSeconds": status.last_reconcile_seconds,
        "firstSeen": status.first_seen,
    }


SOURCE_SETTING = "source"
MAX_REPORTED_SPEC_ERRORS = 100


def _rfc3339(unix_time: float | None) -> str | None:
    if unix_time is None:
        return None
    return datetime.fromtimestamp(unix_time, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class RevisionProgress:
    """How far the live revision is: every spec has a status for it, or some are still pending."""

    specs: int = 0  # valid specs of the revision
    pending: int = 0  # valid specs with no successful status for this revision yet
    invalid: int = 0  # specs of the revision that failed validation
    failing: int = 0  # specs whose status for this revision is an error, conflict or wait

    @property
    def phase(self) -> str:
        if self.pending:
            return "applying"
        return "invalid" if self.invalid else ("failing" if self.failing else "applied")


def source_document(
    description: str, state: DesiredState | None, fetches: FetchRecord, applied: tuple[str, float] | None,
    progress: RevisionProgress | None = None,
) -> dict[str, Any]:
    """The source's status, as `trimtab get` and GET /api/v1/source show it. Never holds a credential."""
    errors = [str(problem) for problem in state.errors] if state else []
    progress = progress or RevisionProgress()
    return {
        "source": description,
        "revision": state.revision if state else None,
        "phase": progress.phase if state else "loading",
        "lastFetchTime": _rfc3339(fetches.last_success),
        "fetchError": fetches.error,
        "failingSince": _rfc3339(fetches.failing_since),
        "appliedRevision": applied[0] if applied else None,
        "appliedTime": _rfc3339(applied[1]) if applied else None,
        "specCount": progress.specs,
        "pendingSpecs": progress.pending,
        "failingSpecs": progress.failing,
        "specErrorCount": len(errors),
        "invalidSpecs": progress.invalid,
        "specErrors": errors[:MAX_REPORTED_SPEC_ERRORS],
    }
