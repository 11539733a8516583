"""The conditions a status row can carry, as named constructors rather than bare tuples.

After Kubernetes' and crossplane-runtime's conditions (`xpv1.Available()`, `xpv1.ReconcileError(err)`):
every reason trimtab writes is named once here, so `get`, `describe`, the CRDs' printer columns,
alerts and tests all speak of the same few, and a typo is a NameError rather than a new reason.
`Ready` says whether the resource exists, is trimtab's and matches its spec; `Synced` says whether
the last reconcile of the spec succeeded.
"""

from __future__ import annotations

import enum
from typing import NamedTuple


class Status(enum.StrEnum):
    TRUE = "True"
    FALSE = "False"
    UNKNOWN = "Unknown"


class Reason(enum.StrEnum):
    AVAILABLE = "Available"
    CREATED = "Created"
    REPLACED = "Replaced"
    UPDATED = "Updated"
    ADOPTED = "Adopted"
    NOT_FOUND = "NotFound"
    DRIFTED = "Drifted"
    OBSERVE_ONLY = "ObserveOnly"
    CONFLICT = "Conflict"
    SUSPENDED = "Suspended"
    PENDING = "Pending"
    DEPENDENCY_NOT_READY = "DependencyNotReady"
    TERMINAL_ERROR = "TerminalError"
    RECONCILE_ERROR = "ReconcileError"
    INVALID_SPEC = "InvalidSpec"
    DELETE_FAILED = "DeleteFailed"


class ConditionRow(NamedTuple):
    """A condition to set; its lastTransitionTime is decided when the row is built (status.build_status)."""

    type: str
    status: str
    reason: str
    message: str = ""


class Ready:
    TYPE = "Ready"

    @staticmethod
    def available() -> ConditionRow:
        return ConditionRow(Ready.TYPE, Status.TRUE, Reason.AVAILABLE)

    @staticmethod
    def false(reason: Reason, message: str) -> ConditionRow:
        return ConditionRow(Ready.TYPE, Status.FALSE, reason, message)

    @staticmethod
    def unknown(reason: Reason, message: str) -> ConditionRow:
        return ConditionRow(Ready.TYPE, Status.UNKNOWN, reason, message)


class Synced:
    TYPE = "Synced"

    @staticmethod
    def success(reason: Reason, message: str) -> ConditionRow:
        """The reconcile did what the spec asked (Created, Updated, ..., or Available: nothing to do)."""
        return ConditionRow(Synced.TYPE, Status.TRUE, reason, message)

    @staticmethod
    def observe_only() -> ConditionRow:
        return ConditionRow(Synced.TYPE, Status.TRUE, Reason.OBSERVE_ONLY, "changes nothing")

    @staticmethod
    def suspended(message: str) -> ConditionRow:
        return ConditionRow(Synced.TYPE, Status.UNKNOWN, Reason.SUSPENDED, message)

    @staticmethod
    def reconcile_error(message: str) -> ConditionRow:
        """A retryable failure: it is retried on its backoff, or when AWS said the wait ends."""
        return ConditionRow(Synced.TYPE, Status.FALSE, Reason.RECONCILE_ERROR, message)

    @staticmethod
    def false(reason: Reason, message: str) -> ConditionRow:
        return ConditionRow(Synced.TYPE, Status.FALSE, reason, message)


def both_false(reason: Reason, message: str) -> list[ConditionRow]:
    """Neither ready nor synced, for one reason (a conflict, an invalid spec, a terminal error...)."""
    return [Ready.false(reason, message), Synced.false(reason, message)]
