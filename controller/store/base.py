"""The store contract, shared by the embedded (SQLite) backend and the DynamoDB one.

Leases and fencing are part of the contract, so the engine never needs to know which backend it has:
a store shared by several tasks is also a `LeaseStore`, and every write that concerns one item
(status, inventory, create-pending records) is fenced by the lease on that item's shard once the
engine has given the store a `LeaseHolder` (`Store.fence_with`). A fenced write by a task that no
longer holds the lease raises `FencedWrite` and changes nothing.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Collection, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

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
class ErrorRecord:
    """The last error a reconcile ended with, kept after later successes so `describe` can say what went wrong."""

    time: str  # RFC 3339
    code: str  # the AWS error code ("Terminal" for trimtab's own terminal errors)
    message: str
    retryable: bool


@dataclass(frozen=True, slots=True)
class FieldDrift:
    path: str  # the spec field (the AWS name where the spec is a wire shape)
    before: str  # what AWS held, as JSON text, long values summarised
    after: str  # what the spec says


@dataclass(frozen=True, slots=True)
class DriftRecord:
    """The last time AWS was found to differ from an unchanged spec."""

    time: str  # RFC 3339
    corrected: bool  # False: observe-only or suspended-by-policy, reported and left as it was
    changes: tuple[FieldDrift, ...]


@dataclass(frozen=True, slots=True)
class ItemStatus:
    """What `trimtab get` and `trimtab describe` show for one spec; kept across restarts."""

    key: str
    conditions: tuple[Condition, ...]
    observed_generation: str  # hash of the spec last reconciled
    revision: str  # the source revision it was applied from
    outputs: dict[str, str]
    last_reconcile_time: str
    last_reconcile_seconds: float
    first_seen: str  # for AGE
    # Facts of the spec, so the store alone answers `get -l`, `describe` and dependents.
    origin: str = ""  # file:line of the spec in its revision
    labels: dict[str, str] = field(default_factory=dict)
    identity: Identity | None = None  # the AWS identity the last reconcile worked on
    dependencies: tuple[str, ...] = ()  # the keys the spec references
    history: tuple[Condition, ...] = ()  # conditions since replaced, newest first (bounded)
    last_error: ErrorRecord | None = None
    last_drift: DriftRecord | None = None

    def condition(self, kind: str) -> Condition | None:
        return next((condition for condition in self.conditions if condition.type == kind), None)


def encode_status(status: ItemStatus) -> str:
    return json.dumps(asdict(status))


def decode_status(document: str) -> ItemStatus:
    """The inverse of `encode_status`; rows written before a field existed take its default."""
    fields = json.loads(document)
    fields["conditions"] = tuple(Condition(**condition) for condition in fields["conditions"])
    fields["history"] = tuple(Condition(**condition) for condition in fields.get("history", ()))
    fields["dependencies"] = tuple(fields.get("dependencies", ()))
    if fields.get("last_error"):
        fields["last_error"] = ErrorRecord(**fields["last_error"])
    if fields.get("last_drift"):
        drift = fields["last_drift"]
        fields["last_drift"] = DriftRecord(drift["time"], drift["corrected"],
                                           tuple(FieldDrift(**change) for change in drift["changes"]))
    return ItemStatus(**fields)


@dataclass(frozen=True, slots=True)
class Event:
    """One thing that happened to an item (Created, DriftCorrected, Error, ...); repeats of the same
    reason and message are counted on one event, as Kubernetes aggregates its events."""

    reason: str
    message: str
    first_time: float  # Unix time
    last_time: float
    count: int = 1
    details: dict[str, Any] = field(default_factory=dict)  # revision, AWS code, changed fields, ...


def encode_events(events: Sequence[Event]) -> str:
    return json.dumps([asdict(event) for event in events], default=str)


def decode_events(document: str) -> tuple[Event, ...]:
    return tuple(Event(**event) for event in json.loads(document))


@dataclass(frozen=True, slots=True)
class Suspension:
    """`trimtab suspend`: an operator paused reconciling an item, until `trimtab resume`."""

    since: float  # Unix time
    reason: str = ""


def encode_suspension(suspension: Suspension) -> str:
    return json.dumps(asdict(suspension))


def decode_suspension(document: str) -> Suspension:
    return Suspension(**json.loads(document))


class FencedWrite(Exception):
    """A store write refused because this task does not hold the lease of the item's shard (any more):
    another task may own the item now, so nothing was written."""


@dataclass(frozen=True, slots=True)
class Lease:
    """One shard's lease, as the store keeps it."""

    shard: int
    owner: str  # "" when released
    counter: int  # grows at every change of owner: the fencing token
    expires: float  # Unix time
    # Items another task was told to reconcile now (a change event it received) and handed to the
    # holder of this shard (`LeaseStore.forward`); read with the lease at every round.
    forwarded: frozenset[str] = frozenset()


class LeaseHolder(Protocol):
    """What a store asks before an item's write: the lease this task holds on the item's shard."""

    def lease_for(self, key: str) -> Lease | None:
        """The lease on the shard of item `key` (Kind/name) that this task holds and still trusts now
        (checked against the clock at each call); None: not held, so the write must not happen."""
        ...


class LeaseStore(ABC):
    """Shard leases and task membership, for a store shared by several tasks. Leases are written with
    conditions, as the Kinesis Client Library keeps them, so two tasks never both take one."""

    @abstractmethod
    async def leases(self) -> dict[int, Lease]:
        """Every shard's lease as stored now (a consistent read)."""

    @abstractmethod
    async def write_lease(self, shard: int, owner: str, counter: int, expires: float, expected: Lease | None) -> bool:
        """Write a lease if it is still exactly as `expected` (owner and counter; None: it must not exist
        yet). False: another task changed it first. Renewals never queue behind other store traffic."""

    @abstractmethod
    async def forward(self, shard: int, keys: Iterable[str]) -> None:
        """Hand `keys` (items of `shard`) to whichever task holds the shard: its next lease round reads
        them with the lease (`Lease.forwarded`). Renewals keep them; only `take_forwarded` removes them."""

    @abstractmethod
    async def take_forwarded(self, shard: int, keys: Iterable[str]) -> None:
        """Remove `keys` from the shard's forwarded set once queued, leaving any forwarded since."""

    @abstractmethod
    async def members(self) -> dict[str, float]:
        """Live tasks and the Unix time their heartbeat expires."""

    @abstractmethod
    async def heartbeat(self, member: str, expires: float | None) -> None:
        """Announce this task until `expires`; None: leave (graceful shutdown)."""


class Store(ABC):
    """Status, inventory, create-pending records, events, suspensions and settings. Once fenced
    (`fence_with`), the writes for one item (put_status, delete_status, record_owned, forget,
    mark_create_pending, clear_create_pending and put_events) raise FencedWrite, writing nothing, unless
    this task holds the lease of the item's shard at the moment the write is applied. Settings and
    suspensions are an operator's word, taken by whichever task the request reached: never fenced."""

    def fence_with(self, holder: LeaseHolder | None) -> None:  # noqa: B027 (a default, not an obligation)
        """From now on, fence every write for an item by `holder`'s lease on its shard (None: unfenced).
        The default serves a store used by a single task (SQLite), which has nobody to be fenced from."""

    # The inventory holds one entry per AWS resource trimtab owns (keyed by kind and identity): a spec
    # has one, or several while a replacement of its renamed resource is under way.

    @abstractmethod
    async def inventory(self) -> list[InventoryEntry]: ...

    @abstractmethod
    async def owned(self, kind: str, identity: Identity) -> InventoryEntry | None:
        """The inventory's entry for this AWS resource, if trimtab owns it."""

    @abstractmethod
    async def owned_by(self, key: str) -> list[InventoryEntry]:
        """Every resource the inventory records for the spec `key` (Kind/name)."""

    @abstractmethod
    async def forget(self, entry: InventoryEntry) -> None:
        """Drop the entry of this AWS resource (by kind and identity)."""

    @abstractmethod
    async def put_status(self, status: ItemStatus) -> None: ...

    @abstractmethod
    async def statuses(self) -> dict[str, ItemStatus]: ...

    @abstractmethod
    async def statuses_of(self, keys: Collection[str]) -> dict[str, ItemStatus]:
        """The rows of `keys` that exist: what a task reads each lease round for the dependencies other
        tasks reconcile, so that round costs a read per dependency, not the whole table."""

    @abstractmethod
    async def delete_status(self, key: str) -> None: ...

    @abstractmethod
    async def events(self) -> dict[str, tuple[Event, ...]]:
        """Every item's retained events, oldest first."""

    @abstractmethod
    async def put_events(self, key: str, events: Sequence[Event]) -> None:
        """Replace the retained events of item `key` (none: forget them). Bounding them is the caller's."""

    @abstractmethod
    async def suspensions(self) -> dict[str, Suspension]:
        """Items suspended with `trimtab suspend`, by key."""

    @abstractmethod
    async def put_suspension(self, key: str, suspension: Suspension | None) -> None:
        """Suspend item `key` (None: resume it)."""

    @abstractmethod
    async def get_setting(self, name: str) -> str | None:
        """Controller-wide state that must survive restarts (a held prune, the last good revision)."""

    @abstractmethod
    async def put_setting(self, name: str, value: str | None) -> None: ...

    async def owner_of(self, kind: str, identity: Identity) -> str | None:
        """The Kind/name that the inventory records as owning this AWS resource, if any."""
        entry = await self.owned(kind, identity)
        return entry.key if entry is not None else None

    @abstractmethod
    async def record_owned(self, entry: InventoryEntry) -> None:
        """Insert or replace the entry of this AWS resource (one owner per resource: an adopting spec
        takes over the entry of a removed one). Entries of the spec's other identities are kept."""

    @abstractmethod
    async def mark_create_pending(self, key: str, kind: str, identity: Identity) -> None:
        """Written before a create whose ownership tags cannot be set in the same call."""

    @abstractmethod
    async def pending_create(self, kind: str, identity: Identity) -> str | None:
        """The Kind/name whose create of this resource may have been cut short, if any."""

    @abstractmethod
    async def clear_create_pending(self, kind: str, identity: Identity) -> None:
        """Fenced by the item being worked on (`controller.fencing.working_on`), else by the record's own."""

    @abstractmethod
    def close(self) -> None: ...
