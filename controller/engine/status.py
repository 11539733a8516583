"""Kubernetes-style conditions from a reconcile outcome: Ready and Synced, with reason, message and
lastTransitionTime that only moves when the status does; the conditions they replaced (history), the
last error and the last drift; and the facts of the spec a row carries (file:line, labels, references)
so that the store alone answers `trimtab get -l` and `trimtab describe`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from controller.api.graph import SpecGraph, SpecRecord
from controller.engine.conditions import ConditionRow, Ready, Reason, Status, Synced, both_false
from controller.engine.drift import drift_record
from controller.engine.reconciler import CHANGING, Action, Outcome
from controller.sources.base import FetchRecord
from controller.sources.desired import DesiredState
from controller.store.base import Condition, DriftRecord, ErrorRecord, Identity, InventoryEntry, ItemStatus

CONDITION_HISTORY = 10  # replaced conditions a row keeps, newest first


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
) -> list[ConditionRow]:
    """Ready and Synced. A pass that does not look at AWS (suspended) or fails with a retryable error
    keeps the last known Ready, but only for the same spec: after an edit, what was Ready for the old
    spec says nothing about the new one."""
    message = _describe(outcome)
    if previous is not None and generation is not None and previous.observed_generation != generation:
        previous = None
    if outcome.ready:
        reason = _CHANGED.get(outcome.action, Reason.AVAILABLE)
        return [Ready.available(), Synced.success(reason, message)]
    if outcome.action in CHANGING:  # observe-only: drift not applied
        missing = outcome.action in (Action.CREATE, Action.REPLACE)
        return [Ready.false(Reason.NOT_FOUND if missing else Reason.DRIFTED, message), Synced.observe_only()]
    if outcome.action is Action.CONFLICT:
        return both_false(Reason.CONFLICT, message)
    if outcome.action is Action.SUSPENDED:
        return [_last_ready(previous) or Ready.unknown(Reason.SUSPENDED, outcome.message),
                Synced.suspended(outcome.message)]
    if outcome.action is Action.BLOCKED:
        return both_false(Reason.DEPENDENCY_NOT_READY, message)
    if outcome.action is Action.PENDING:  # the reconcile did all it can: synced, not yet ready
        return [Ready.false(Reason.PENDING, message), Synced.success(Reason.PENDING, message)]
    if not outcome.retryable:
        # Terminal (access denied, invalid input): retrying cannot make the spec true, whatever the
        # resource looked like before, until the spec or the account changes.
        return both_false(Reason.TERMINAL_ERROR, message)
    # A retryable error: the resource may still be fine, so Ready keeps what was last known.
    return [_last_ready(previous) or Ready.unknown(Reason.RECONCILE_ERROR, message), Synced.reconcile_error(message)]


_CHANGED = {Action.CREATE: Reason.CREATED, Action.REPLACE: Reason.REPLACED, Action.UPDATE: Reason.UPDATED,
            Action.ADOPT: Reason.ADOPTED}


def _last_ready(previous: ItemStatus | None) -> ConditionRow | None:
    ready = previous.condition(Ready.TYPE) if previous else None
    return ConditionRow(Ready.TYPE, ready.status, ready.reason, ready.message) if ready else None


def invalid_conditions(problem: str) -> list[ConditionRow]:
    """An invalid spec: nothing is reconciled from it, whatever AWS holds, until it is fixed."""
    return both_false(Reason.INVALID_SPEC, problem)


def delete_failed_conditions(message: str) -> list[ConditionRow]:
    """A removed spec whose resource could not be deleted yet: still there, retried on its backoff."""
    return both_false(Reason.DELETE_FAILED, message)


@dataclass(frozen=True)
class SpecFacts:
    """What a row says about its spec, beyond the reconcile: shared with the revision, never copied."""

    origin: str = ""  # file:line
    labels: dict[str, str] = field(default_factory=dict)
    dependencies: tuple[str, ...] = ()


def spec_origin(record: SpecRecord) -> str:
    return f"{record.document.file}:{record.document.start.line}"


def spec_facts(record: SpecRecord, graph: SpecGraph) -> SpecFacts:
    return SpecFacts(spec_origin(record), record.resource.metadata.labels, graph.dependencies.get(record.key, ()))


def is_drift(previous: ItemStatus | None, generation: str) -> bool:
    """The same spec as last time, so any change needed means AWS moved."""
    return previous is not None and previous.observed_generation == generation


def status_after(outcome: Outcome, previous: ItemStatus | None, facts: SpecFacts, *, generation: str,
                 revision: str) -> ItemStatus:
    """The row a reconcile leaves: its conditions, and its error or drift kept until a later one."""
    stamp = now_rfc3339()
    error = drift = None
    if outcome.action is Action.ERROR:
        error = ErrorRecord(stamp, outcome.error_code, outcome.message, outcome.retryable)
    elif outcome.action is Action.UPDATE and is_drift(previous, generation):
        drift = drift_record(outcome.changes, corrected=outcome.applied, time=stamp)
    return build_status(outcome.key, conditions_for(outcome, previous, generation), previous,
                        observed_generation=generation, revision=revision, outputs=outcome.outputs,
                        seconds=outcome.seconds, facts=facts, identity=outcome.identity, last_error=error,
                        last_drift=drift, stamp=stamp)


def build_status(
    key: str,
    rows: list[ConditionRow],
    previous: ItemStatus | None,
    *,
    observed_generation: str,
    revision: str,
    outputs: dict[str, str],
    seconds: float,
    facts: SpecFacts | None = None,
    identity: Identity | None = None,
    last_error: ErrorRecord | None = None,
    last_drift: DriftRecord | None = None,
    stamp: str | None = None,
) -> ItemStatus:
    """A row from its conditions. What is not given (facts, identity, error, drift) is kept from `previous`."""
    stamp = stamp or now_rfc3339()
    conditions = []
    replaced = []
    for kind, status, reason, message in rows:
        before = previous.condition(kind) if previous else None
        if before is not None and (before.status, before.reason, before.message) == (status, reason, message):
            conditions.append(before)  # unchanged: kept as it is, not rebuilt at every drift check
            continue
        if before is not None:
            replaced.append(before)
        since = before.last_transition_time if before is not None and before.status == status else stamp
        conditions.append(Condition(kind, str(status), str(reason), message, since))  # plain strings stored
    kept = tuple(conditions)
    if previous is not None and kept == previous.conditions:
        kept = previous.conditions
    history = previous.history if previous else ()
    if replaced:
        history = (*replaced, *history)[:CONDITION_HISTORY]
    if facts is None:
        facts = SpecFacts(previous.origin, previous.labels, previous.dependencies) if previous else SpecFacts()
    return ItemStatus(
        key=key,
        conditions=kept,
        observed_generation=observed_generation,
        revision=revision,
        outputs=outputs or (previous.outputs if previous else {}),
        last_reconcile_time=stamp,
        last_reconcile_seconds=round(seconds, 4),
        first_seen=previous.first_seen if previous else stamp,
        origin=facts.origin,
        labels=facts.labels,
        identity=identity or (previous.identity if previous else None),
        dependencies=facts.dependencies,
        history=history,
        last_error=last_error or (previous.last_error if previous else None),
        last_drift=last_drift or (previous.last_drift if previous else None),
    )


def waiting_for(needed: str, status: ItemStatus | None) -> str:
    """Why a dependent waits, down to the root cause: what the dependency's row says (Synced while it is
    not True: an error, a wait, a suspension; else Ready), and through a dependency that itself waits,
    what the one it waits for says."""
    if status is None:
        return f"waiting for {needed}: not reconciled yet"
    synced = status.condition(Synced.TYPE)
    telling = synced if synced is not None and synced.status != Status.TRUE else status.condition(Ready.TYPE)
    if telling is None:
        return f"waiting for {needed}: not reconciled yet"
    if telling.reason == "DependencyNotReady":
        return f"waiting for {needed}, which is {telling.message}"
    return f"waiting for {needed}: {telling.reason}: {telling.message}" if telling.message else (
        f"waiting for {needed}: {telling.reason}")


def _condition_document(condition: Condition) -> dict[str, str]:
    return {"type": condition.type, "status": condition.status, "reason": condition.reason,
            "message": condition.message, "lastTransitionTime": condition.last_transition_time}


def status_document(status: ItemStatus) -> dict[str, Any]:
    """A row as `trimtab get -o json` and GET /api/v1/resources show it."""
    kind, _, name = status.key.partition("/")
    error, drift = status.last_error, status.last_drift
    return {
        "kind": kind,
        "name": name,
        "conditions": [_condition_document(c) for c in status.conditions],
        "observedGeneration": status.observed_generation,
        "revision": status.revision,
        "outputs": status.outputs,
        "lastReconcileTime": status.last_reconcile_time,
        "lastReconcileSeconds": status.last_reconcile_seconds,
        "firstSeen": status.first_seen,
        "origin": status.origin,
        "labels": status.labels,
        "identity": status.identity,
        "dependsOn": list(status.dependencies),
        "conditionHistory": [_condition_document(c) for c in status.history],
        "lastError": None if error is None else {
            "time": error.time, "code": error.code, "message": error.message, "retryable": error.retryable},
        "lastDrift": None if drift is None else {
            "time": drift.time, "corrected": drift.corrected,
            "changes": [{"path": c.path, "before": c.before, "after": c.after} for c in drift.changes]},
    }


def inventory_document(entry: InventoryEntry) -> dict[str, Any]:
    """An AWS resource trimtab owns, as GET /api/v1/inventory and `trimtab describe` show it."""
    return {"object": entry.key, "kind": entry.kind, "identity": entry.identity,
            "deletionPolicy": entry.deletion_policy, "recordedTime": rfc3339(entry.recorded_at)}


SOURCE_SETTING = "source"
MAX_REPORTED_SPEC_ERRORS = 100


def rfc3339(unix_time: float) -> str:
    return datetime.fromtimestamp(unix_time, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _rfc3339(unix_time: float | None) -> str | None:
    return None if unix_time is None else rfc3339(unix_time)


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
    progress: RevisionProgress | None = None, *, poll_seconds: float | None = None, fetch_pending: bool = False,
) -> dict[str, Any]:
    """The source's status, as `trimtab get` and GET /api/v1/source show it. Never holds a credential."""
    errors = [str(problem) for problem in state.errors] if state else []
    progress = progress or RevisionProgress()
    return {
        "source": description,
        "pollSeconds": poll_seconds,  # the interval in force, flags and config file resolved
        "fetchPending": fetch_pending,  # a look for a new revision asked for or under way
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
