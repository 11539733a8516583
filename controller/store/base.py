"""The store contract, shared by the embedded (SQLite) backend and, later, DynamoDB."""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from dataclasses import dataclass

Identity = dict[str, str]


def identity_key(kind: str, identity: Identity) -> str:
    """A stable text form of an AWS identity, for lookups."""
    return f"{kind}:{json.dumps(identity, sort_keys=True, separators=(',', ':'))}"


@dataclass(frozen=True, slots=True)
class InventoryEntry:
    """A resource trimtab created or adopted, remembered so it can be pruned after its spec is gone."""

    key: str  # Kind/name of the spec that owns it
    kind: str
    identity: Identity
    deletion_policy: str
    recorded_at: float


@dataclass(frozen=True, slots=True)
class Condition:
    type: str  # Ready or Synced
    status: str  # "True", "False" or "Unknown", as in Kubernetes
    reason: str
    message: str
    last_transition_time: str  # RFC 3339


@dataclass(frozen=True, slots=True)
class ItemStatus:
    """What `trimtab get` shows for one spec; kept across restarts."""

    key: str
    conditions: tuple[Condition, ...]
    observed_generation: str  # hash of the spec last reconciled
    revision: str  # the source revision it was applied from
    outputs: dict[str, str]
    last_reconcile_time: str
    last_reconcile_seconds: float
    first_seen: str  # for AGE

    def condition(self, kind: str) -> Condition | None:
        return next((condition for condition in self.conditions if condition.type == kind), None)


class Store(ABC):
    @abstractmethod
    async def inventory(self) -> dict[str, InventoryEntry]: ...

    @abstractmethod
    async def forget(self, key: str) -> None: ...

    @abstractmethod
    async def put_status(self, status: ItemStatus) -> None: ...

    @abstractmethod
    async def statuses(self) -> dict[str, ItemStatus]: ...

    @abstractmethod
    async def delete_status(self, key: str) -> None: ...

    @abstractmethod
    async def get_setting(self, name: str) -> str | None:
        """Controller-wide state that must survive restarts (a held prune, the last good revision)."""

    @abstractmethod
    async def put_setting(self, name: str, value: str | None) -> None: ...

    @abstractmethod
    async def owner_of(self, kind: str, identity: Identity) -> str | None:
        """The Kind/name that the inventory records as owning this AWS resource, if any."""

    @abstractmethod
    async def record_owned(self, entry: InventoryEntry) -> None: ...

    @abstractmethod
    async def mark_create_pending(self, key: str, kind: str, identity: Identity) -> None:
        """Written before a create whose ownership tags cannot be set in the same call."""

    @abstractmethod
    async def pending_create(self, kind: str, identity: Identity) -> str | None:
        """The Kind/name whose create of this resource may have been cut short, if any."""

    @abstractmethod
    async def clear_create_pending(self, kind: str, identity: Identity) -> None: ...

    @abstractmethod
    def close(self) -> None: ...
