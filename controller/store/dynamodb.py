"""The DynamoDB store: status, inventory, create-pending records, events, suspensions, settings and
shard leases in one table, shared by every ECS task (`--store dynamodb://TABLE`).

One table, partition key `pk` (the record type) and sort key `sk` (its name), so each listing is a
Query. Leases are conditional writes with expiry, as the Kinesis Client Library keeps them.

Fencing is exact, as fencing tokens are: once the shard coordinator is the store's `LeaseHolder`, every
write for an item is one TransactWriteItems whose first action is a ConditionCheck on the lease of the
item's shard (owner = this task AND counter = the counter it holds). A task whose lease was taken over,
even by a task that has not written that item yet, can never complete the write: FencedWrite, and
nothing changes. Settings and suspensions are an operator's word and never fenced. Without a holder
(plan, apply, the IAM test) writes are plain calls, as one task needs no fence.

The store talks to DynamoDB through its own clients (`AwsClients.for_store`), outside the kinds'
`--aws-max-rate` limiter, and leases through a connection pool of their own, so neither a throttled SQS
nor a burst of thousands of status writes can make a renewal wait. In DynamoDB a PutItem on an item that
an ongoing transaction includes fails with TransactionConflictException, and a transaction meeting a
write in progress is cancelled with the reason TransactionConflict: a renewal and a fenced write on the
same shard can meet that way, so both retry such conflicts at once (moto does not emulate them).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections.abc import Collection, Iterable, Sequence
from typing import Any

from botocore.exceptions import ClientError

from controller.aws import AwsClients, error_code
from controller.fencing import current_item
from controller.store.base import (
    Event,
    FencedWrite,
    Identity,
    InventoryEntry,
    ItemStatus,
    Lease,
    LeaseHolder,
    LeaseStore,
    Store,
    Suspension,
    decode_events,
    decode_status,
    decode_suspension,
    encode_events,
    encode_status,
    encode_suspension,
    identity_key,
)

__all__ = ["LEASE", "MEMBER", "STORE_SCHEME", "DynamoStore", "FencedWrite", "Lease", "table_definition"]

STORE_SCHEME = "dynamodb://"
_STATUS, _SETTING, _PENDING, _EVENTS, _SUSPENSION = "status", "setting", "pending", "events", "suspension"
_OWNED, _BY_SPEC = "owned", "owned-by"  # inventory entries, by identity and by spec
_LEGACY_INVENTORY, _LEGACY_OWNER = "inventory", "owner"  # one entry per spec, before entries were per resource
LEASE, MEMBER = "lease", "member"
FORWARDED = "forwarded"  # a lease item's string set of items handed to the shard's holder
# A round renews every held lease at once: up to a fair share of the shards in flight together.
LEASE_CONNECTIONS = 16
# Three attempts of at most this long stay well inside the default 15 s lease; a renewal that hangs
# on a stalled connection is better retried on a fresh one than waited for.
LEASE_READ_TIMEOUT_SECONDS = 3.0
BATCH_GET_KEYS = 100  # BatchGetItem's limit per call
BATCH_GET_ATTEMPTS = 5
CONFLICT_RETRIES = 5  # transaction conflicts last milliseconds: a few quick, jittered retries
CONFLICT_BACKOFF_SECONDS = 0.02
# A write's actions: ("Put", {"Item": ...}) or ("Delete", {"Key": ...}), each with optional conditions.
Action = tuple[str, dict[str, Any]]


def table_definition(name: str) -> dict[str, Any]:
    """CreateTable arguments; deploy/ecs/trimtab.yaml declares the same table."""
    return {
        "TableName": name,
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"},
                                 {"AttributeName": "sk", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        "BillingMode": "PAY_PER_REQUEST",
    }


def _key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def _lease_key(shard: int) -> dict[str, Any]:
    return _key(LEASE, f"{shard:04d}")


def _held_as(owner: str, counter: int) -> dict[str, Any]:
    """The condition that a lease item still names `owner` at `counter`."""
    return {"ConditionExpression": "#owner = :owner AND #counter = :counter",
            "ExpressionAttributeNames": {"#owner": "owner", "#counter": "counter"},
            "ExpressionAttributeValues": {":owner": {"S": owner}, ":counter": {"N": str(counter)}}}


def _ident(entry: InventoryEntry) -> str:
    return identity_key(entry.kind, entry.identity)


def _by_spec_sk(key: str, ident: str) -> str:
    return f"{key}\n{ident}"  # spec names never hold a newline: the prefix `key\n` is exactly this spec's


def _names_spec(key: str) -> dict[str, Any]:
    """The condition that a record still names the spec `key` as owner."""
    return {"ConditionExpression": "#key = :key", "ExpressionAttributeNames": {"#key": "key"},
            "ExpressionAttributeValues": {":key": {"S": key}}}


def _attributes(entry: InventoryEntry) -> dict[str, Any]:
    return {"key": {"S": entry.key}, "kind": {"S": entry.kind},
            "identity": {"S": json.dumps(entry.identity, sort_keys=True)},
            "deletion_policy": {"S": entry.deletion_policy}, "recorded_at": {"N": repr(entry.recorded_at)}}


def _entry(item: dict[str, Any]) -> InventoryEntry:
    return InventoryEntry(item["key"]["S"], item["kind"]["S"], json.loads(item["identity"]["S"]),
                          item["deletion_policy"]["S"], float(item["recorded_at"]["N"]))


def _legacy_entry(item: dict[str, Any]) -> InventoryEntry:
    return InventoryEntry(item["sk"]["S"], item["kind"]["S"], json.loads(item["identity"]["S"]),
                          item["deletion_policy"]["S"], float(item["recorded_at"]["N"]))


def _cancellation_reasons(error: ClientError) -> list[str]:
    """The per-action reason codes of a cancelled transaction, in the order of its actions."""
    if error_code(error) != "TransactionCanceledException":
        return []
    return [str(reason.get("Code", "None")) for reason in error.response.get("CancellationReasons", [])]


async def _jittered_pause(attempt: int) -> None:
    await asyncio.sleep(random.uniform(0, CONFLICT_BACKOFF_SECONDS * 2**attempt))


class _ActionRefused(Exception):
    """An action's own condition failed (not the fence): the caller looks again."""

    def __init__(self, index: int) -> None:
        super().__init__(f"the condition of action {index} failed")
        self.index = index


class DynamoStore(Store, LeaseStore):
    def __init__(self, aws: AwsClients, table: str) -> None:
        self.table = table
        self._data = aws.for_store()
        self._leasing = aws.for_store(max_pool_connections=LEASE_CONNECTIONS,
                                      read_timeout=LEASE_READ_TIMEOUT_SECONDS)
        self._holder: LeaseHolder | None = None
        # moto gap: TransactWriteItems deep-copies the whole table, once per action, without a lock, so
        # a transaction racing an insert answers 500 ("dictionary changed size during iteration"); at
        # a few dozen in flight most did. Against an emulator this task sends one transaction at a time.
        self._one_at_a_time = asyncio.Lock() if aws.settings.custom_endpoint else None

    def fence_with(self, holder: LeaseHolder | None) -> None:
        self._holder = holder

    async def _client(self) -> Any:
        return await self._data.client("dynamodb")

    async def _query(self, pk: str, clients: AwsClients | None = None) -> list[dict[str, Any]]:
        client = await (clients or self._data).client("dynamodb")
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"TableName": self.table, "KeyConditionExpression": "pk = :pk",
                                  "ExpressionAttributeValues": {":pk": {"S": pk}}, "ConsistentRead": True}
        while True:
            page = await client.query(**kwargs)
            items.extend(page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    async def _get(self, pk: str, sk: str) -> dict[str, Any] | None:
        client = await self._client()
        found = await client.get_item(TableName=self.table, Key=_key(pk, sk), ConsistentRead=True)
        item: dict[str, Any] | None = found.get("Item")
        return item

    async def _write(self, key: str | None, actions: list[Action]) -> None:
        """Apply `actions` for item `key` (None: a controller-wide record): fenced by the lease on the
        item's shard when a holder is set, else as plain calls in order."""
        holder = self._holder
        if holder is None or key is None:
            await self._write_plainly(actions)
            return
        client = await self._client()
        for attempt in range(CONFLICT_RETRIES + 1):
            lease = holder.lease_for(key)  # asked again at each attempt: time passes, leases move
            if lease is None:
                raise FencedWrite(f"{key}: this task does not hold the lease on its shard; nothing written")
            items = [{"ConditionCheck": {"TableName": self.table, "Key": _lease_key(lease.shard),
                                         **_held_as(lease.owner, lease.counter)}}]
            items.extend({operation: {"TableName": self.table, **body}} for operation, body in actions)
            try:
                async with self._one_at_a_time or contextlib.nullcontext():
                    await client.transact_write_items(TransactItems=items)
                return
            except ClientError as error:
                reasons = _cancellation_reasons(error)
                if not reasons:
                    raise
                if reasons[0] == "ConditionalCheckFailed":
                    raise FencedWrite(f"{key}: the lease on shard {lease.shard} is no longer this task's at "
                                      f"counter {lease.counter}; nothing written") from error
                if "ConditionalCheckFailed" in reasons[1:]:
                    raise _ActionRefused(reasons.index("ConditionalCheckFailed", 1) - 1) from error
                if "TransactionConflict" not in reasons or attempt == CONFLICT_RETRIES:
                    raise
            await _jittered_pause(attempt)

    async def _write_plainly(self, actions: list[Action]) -> None:
        client = await self._client()
        for index, (operation, body) in enumerate(actions):
            try:
                if operation == "Put":
                    await client.put_item(TableName=self.table, **body)
                else:
                    await client.delete_item(TableName=self.table, **body)
            except ClientError as error:
                if error_code(error) == "ConditionalCheckFailedException":
                    raise _ActionRefused(index) from error
                raise

    async def check(self) -> None:
        """Fail early, with the table's name, if it is missing or unreachable; convert older records."""
        client = await self._client()
        await client.describe_table(TableName=self.table)
        await self._convert_legacy()

    # ---- inventory ---------------------------------------------------------------------------------
    # One entry per AWS resource, kept twice so that both lookups are one read: by identity (`owned`,
    # at every pass) and by spec (`owned_by`, a Query on the `key\n` prefix). Both copies change in one
    # transaction. Tables written before entries were per resource hold one `inventory` item per spec
    # and an `owner` item per identity, in partitions of their own, so tasks of the older version never
    # see a record they would misread. `check` (every start) converts them; until then, and for any a
    # task of the older version writes during a rolling upgrade, `inventory` (pruning) and a miss of
    # `owned` (a create) read them too, and `forget` drops them.

    async def _convert_legacy(self) -> None:
        for item in await self._query(_LEGACY_INVENTORY):
            entry, ident = _legacy_entry(item), item["identity_key"]["S"]
            attributes = _attributes(entry)
            try:
                await self._write_plainly([
                    ("Put", {"Item": {**_key(_OWNED, ident), **attributes}}),
                    ("Put", {"Item": {**_key(_BY_SPEC, _by_spec_sk(entry.key, ident)), **attributes}}),
                    *await self._legacy_removals(entry.key, ident),
                ])
            except _ActionRefused:
                continue  # a task of the older version changed it meanwhile: converted at a later start

    async def inventory(self) -> list[InventoryEntry]:
        entries = {_ident(entry): entry for entry in map(_entry, await self._query(_OWNED))}
        for item in await self._query(_LEGACY_INVENTORY):
            entries.setdefault(item["identity_key"]["S"], _legacy_entry(item))
        return sorted(entries.values(), key=lambda entry: (entry.key, _ident(entry)))

    async def owned(self, kind: str, identity: Identity) -> InventoryEntry | None:
        ident = identity_key(kind, identity)
        item = await self._get(_OWNED, ident)
        if item is not None:
            return _entry(item)
        legacy = await self._get(_LEGACY_OWNER, ident)  # read only when there is no entry: at creates
        if legacy is None:
            return None
        inventory = await self._get(_LEGACY_INVENTORY, legacy["key"]["S"])
        return _legacy_entry(inventory) if inventory is not None and inventory["identity_key"]["S"] == ident else None

    async def owned_by(self, key: str) -> list[InventoryEntry]:
        client = await self._client()
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "TableName": self.table, "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": {":pk": {"S": _BY_SPEC}, ":prefix": {"S": f"{key}\n"}},
            "ConsistentRead": True,
        }
        while True:
            page = await client.query(**kwargs)
            items.extend(page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        entries = {_ident(entry): entry for entry in map(_entry, items)}
        return sorted(entries.values(), key=_ident)

    async def forget(self, entry: InventoryEntry) -> None:
        ident = _ident(entry)
        for attempt in range(3):
            actions: list[Action] = []
            current = await self._get(_OWNED, ident)
            if current is not None and current["key"]["S"] == entry.key:
                # Only while it still names this spec: an adopting spec may have taken the resource over.
                actions.append(("Delete", {"Key": _key(_OWNED, ident), **_names_spec(entry.key)}))
            actions.append(("Delete", {"Key": _key(_BY_SPEC, _by_spec_sk(entry.key, ident))}))
            actions.extend(await self._legacy_removals(entry.key, ident))
            try:
                await self._write(entry.key, actions)
                return
            except _ActionRefused:
                if attempt == 2:
                    raise

    async def record_owned(self, entry: InventoryEntry) -> None:
        ident = _ident(entry)
        previous = await self._get(_OWNED, ident)
        previous_key = previous["key"]["S"] if previous is not None else None
        actions: list[Action] = []
        if previous_key is not None and previous_key != entry.key:
            # One owner per AWS resource: an adopting spec replaces the record of a removed one.
            actions.append(("Delete", {"Key": _key(_BY_SPEC, _by_spec_sk(previous_key, ident))}))
        attributes = _attributes(entry)
        actions.append(("Put", {"Item": {**_key(_OWNED, ident), **attributes}}))
        actions.append(("Put", {"Item": {**_key(_BY_SPEC, _by_spec_sk(entry.key, ident)), **attributes}}))
        await self._write(entry.key, actions)

    async def _legacy_removals(self, key: str, ident: str) -> list[Action]:
        """Deletes of the older-format records of this spec's entry for `ident`, where they exist."""
        removals: list[Action] = []
        owner = await self._get(_LEGACY_OWNER, ident)
        if owner is not None and owner["key"]["S"] == key:
            removals.append(("Delete", {"Key": _key(_LEGACY_OWNER, ident), **_names_spec(key)}))
        inventory = await self._get(_LEGACY_INVENTORY, key)
        if inventory is not None and inventory["identity_key"]["S"] == ident:
            removals.append(("Delete", {"Key": _key(_LEGACY_INVENTORY, key),
                                        "ConditionExpression": "identity_key = :ident",
                                        "ExpressionAttributeValues": {":ident": {"S": ident}}}))
        return removals

    async def mark_create_pending(self, key: str, kind: str, identity: Identity) -> None:
        await self._write(key, [("Put", {"Item": {**_key(_PENDING, identity_key(kind, identity)), "key": {"S": key},
                                                  "started_at": {"N": repr(time.time())}}})])

    async def pending_create(self, kind: str, identity: Identity) -> str | None:
        item = await self._get(_PENDING, identity_key(kind, identity))
        return None if item is None else str(item["key"]["S"])

    async def clear_create_pending(self, kind: str, identity: Identity) -> None:
        ident = identity_key(kind, identity)
        key = current_item()
        if key is None and self._holder is not None:
            item = await self._get(_PENDING, ident)  # fenced by the item whose create it records
            if item is None:
                return
            key = str(item["key"]["S"])
        await self._write(key, [("Delete", {"Key": _key(_PENDING, ident)})])

    # ---- status ------------------------------------------------------------------------------------

    async def put_status(self, status: ItemStatus) -> None:
        await self._write(status.key, [("Put", {"Item": {**_key(_STATUS, status.key),
                                                         "document": {"S": encode_status(status)}}})])

    async def statuses(self) -> dict[str, ItemStatus]:
        found = {item["sk"]["S"]: decode_status(item["document"]["S"]) for item in await self._query(_STATUS)}
        return dict(sorted(found.items()))

    async def statuses_of(self, keys: Collection[str]) -> dict[str, ItemStatus]:
        found = {item["sk"]["S"]: decode_status(item["document"]["S"])
                 for item in await self._get_many(_STATUS, sorted(set(keys)))}
        return dict(sorted(found.items()))

    async def _get_many(self, pk: str, sks: list[str]) -> list[dict[str, Any]]:
        """BatchGetItem, BATCH_GET_KEYS at a time, asking again for the keys DynamoDB left unprocessed
        (it may, under throttling) after a short jittered pause."""
        client = await self._client()
        items: list[dict[str, Any]] = []
        for start in range(0, len(sks), BATCH_GET_KEYS):
            request: dict[str, Any] = {self.table: {"Keys": [_key(pk, sk) for sk in sks[start:start + BATCH_GET_KEYS]],
                                                    "ConsistentRead": True}}
            for attempt in range(BATCH_GET_ATTEMPTS):
                answer = await client.batch_get_item(RequestItems=request)
                items.extend(answer.get("Responses", {}).get(self.table, []))
                request = answer.get("UnprocessedKeys") or {}
                if not request:
                    break
                await _jittered_pause(attempt)
            else:
                raise RuntimeError(f"DynamoDB left {len(request[self.table]['Keys'])} keys of {self.table} "
                                   f"unprocessed after {BATCH_GET_ATTEMPTS} attempts")
        return items

    async def delete_status(self, key: str) -> None:
        await self._write(key, [("Delete", {"Key": _key(_STATUS, key)})])

    # ---- events: one item per spec holding its retained events, fenced as its status is ----------

    async def events(self) -> dict[str, tuple[Event, ...]]:
        found = {item["sk"]["S"]: decode_events(item["document"]["S"]) for item in await self._query(_EVENTS)}
        return dict(sorted(found.items()))

    async def put_events(self, key: str, events: Sequence[Event]) -> None:
        if events:
            item = {**_key(_EVENTS, key), "document": {"S": encode_events(events)}}
            await self._write(key, [("Put", {"Item": item})])
        else:
            await self._write(key, [("Delete", {"Key": _key(_EVENTS, key)})])

    # ---- suspensions: an operator's word, like settings, so never fenced ---------------------------

    async def suspensions(self) -> dict[str, Suspension]:
        return {item["sk"]["S"]: decode_suspension(item["document"]["S"]) for item in await self._query(_SUSPENSION)}

    async def put_suspension(self, key: str, suspension: Suspension | None) -> None:
        if suspension is None:
            await self._write(None, [("Delete", {"Key": _key(_SUSPENSION, key)})])
        else:
            await self._write(None, [("Put", {"Item": {**_key(_SUSPENSION, key),
                                                       "document": {"S": encode_suspension(suspension)}}})])

    # ---- settings ----------------------------------------------------------------------------------

    async def get_setting(self, name: str) -> str | None:
        item = await self._get(_SETTING, name)
        return None if item is None else str(item["value"]["S"])

    async def put_setting(self, name: str, value: str | None) -> None:
        if value is None:
            await self._write(None, [("Delete", {"Key": _key(_SETTING, name)})])
        else:
            await self._write(None, [("Put", {"Item": {**_key(_SETTING, name), "value": {"S": value}}})])

    # ---- leases: on their own connection pool ------------------------------------------------------

    async def leases(self) -> dict[int, Lease]:
        return {
            int(item["sk"]["S"]): Lease(int(item["sk"]["S"]), item["owner"]["S"], int(item["counter"]["N"]),
                                        float(item["expires"]["N"]), frozenset(item.get(FORWARDED, {}).get("SS", ())))
            for item in await self._query(LEASE, self._leasing)
            if "owner" in item  # an item holding only forwarded keys: a shard nobody has leased yet
        }

    async def write_lease(self, shard: int, owner: str, counter: int, expires: float, expected: Lease | None) -> bool:
        # An update, not a put: a put would drop the keys other tasks forwarded to the shard in between.
        update: dict[str, Any] = {"UpdateExpression": "SET #owner = :owner, #counter = :counter, #expires = :expires",
                  "ExpressionAttributeNames": {"#owner": "owner", "#counter": "counter", "#expires": "expires"},
                  "ExpressionAttributeValues": {":owner": {"S": owner}, ":counter": {"N": str(counter)},
                                                ":expires": {"N": repr(expires)}}}
        if expected is None:
            update["ConditionExpression"] = "attribute_not_exists(#owner)"
        else:
            update["ConditionExpression"] = "#owner = :expected_owner AND #counter = :expected_counter"
            update["ExpressionAttributeValues"] |= {":expected_owner": {"S": expected.owner},
                                                    ":expected_counter": {"N": str(expected.counter)}}
        client = await self._leasing.client("dynamodb")
        for attempt in range(CONFLICT_RETRIES + 1):
            try:
                await client.update_item(TableName=self.table, Key=_lease_key(shard), **update)
                return True
            except ClientError as error:
                code = error_code(error)
                if code == "ConditionalCheckFailedException":
                    return False
                # A fenced write's transaction holds the lease item for a moment: not a loss, retry.
                if code != "TransactionConflictException" or attempt == CONFLICT_RETRIES:
                    raise
            await _jittered_pause(attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    async def forward(self, shard: int, keys: Iterable[str]) -> None:
        await self._forwarded(shard, "ADD", keys)

    async def take_forwarded(self, shard: int, keys: Iterable[str]) -> None:
        await self._forwarded(shard, "DELETE", keys)

    async def _forwarded(self, shard: int, action: str, keys: Iterable[str]) -> None:
        """A string set on the lease item: ADD and DELETE change it atomically, whatever else is written."""
        wanted = sorted(set(keys))
        if wanted:
            client = await self._leasing.client("dynamodb")
            await client.update_item(TableName=self.table, Key=_lease_key(shard),
                                     UpdateExpression=f"{action} #forwarded :keys",
                                     ExpressionAttributeNames={"#forwarded": FORWARDED},
                                     ExpressionAttributeValues={":keys": {"SS": wanted}})

    async def members(self) -> dict[str, float]:
        return {item["sk"]["S"]: float(item["expires"]["N"]) for item in await self._query(MEMBER, self._leasing)}

    async def heartbeat(self, member: str, expires: float | None) -> None:
        client = await self._leasing.client("dynamodb")
        if expires is None:
            await client.delete_item(TableName=self.table, Key=_key(MEMBER, member))
        else:
            await client.put_item(TableName=self.table, Item={**_key(MEMBER, member), "expires": {"N": repr(expires)}})

    def close(self) -> None:
        """Nothing to close: the DynamoDB clients belong to the AwsClients they came from."""
