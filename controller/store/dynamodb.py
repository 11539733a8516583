"""The DynamoDB store: status, inventory, create-pending records, settings and shard leases in one
table, shared by every ECS task (`--store dynamodb://TABLE`).

One table, partition key `pk` (the record type) and sort key `sk` (its name), so each listing is a
Query. Status writes are fenced: each carries the lease counter of its shard, and a write with an
older counter than the item's fails, so a task that lost a lease cannot overwrite newer state.
Leases are conditional writes with expiry, as the Kinesis Client Library keeps them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from botocore.exceptions import ClientError

from controller.aws import AwsClients
from controller.store.base import Condition, Identity, InventoryEntry, ItemStatus, Store, identity_key

STORE_SCHEME = "dynamodb://"
_STATUS, _INVENTORY, _OWNER, _SETTING, _PENDING = "status", "inventory", "owner", "setting", "pending"
LEASE, MEMBER = "lease", "member"


class FencedWrite(Exception):
    """A write refused because a newer lease holder has written the item since."""


def table_definition(name: str) -> dict[str, Any]:
    """CreateTable arguments; deploy/ecs/trimtab.yaml declares the same table."""
    return {
        "TableName": name,
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"},
                                 {"AttributeName": "sk", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        "BillingMode": "PAY_PER_REQUEST",
    }


def _is_condition_failure(error: ClientError) -> bool:
    code = error.response.get("Error", {}).get("Code")
    return code in ("ConditionalCheckFailedException", "TransactionCanceledException")


@dataclass(frozen=True)
class Lease:
    shard: int
    owner: str  # "" when released
    counter: int  # grows at every change of owner: the fencing token
    expires: float  # Unix time


class DynamoStore(Store):
    def __init__(self, aws: AwsClients, table: str) -> None:
        self.aws = aws
        self.table = table
        # The fencing token for an item's writes: its shard's lease counter. Set by the shard coordinator.
        self.fence_for: Callable[[str], int] = lambda _key: 0

    async def _client(self) -> Any:
        return await self.aws.client("dynamodb")

    async def _query(self, pk: str) -> list[dict[str, Any]]:
        client = await self._client()
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
        found = await client.get_item(TableName=self.table, Key={"pk": {"S": pk}, "sk": {"S": sk}},
                                      ConsistentRead=True)
        item: dict[str, Any] | None = found.get("Item")
        return item

    async def _put(self, item: dict[str, Any], **conditions: Any) -> None:
        client = await self._client()
        await client.put_item(TableName=self.table, Item=item, **conditions)

    async def _delete(self, pk: str, sk: str) -> None:
        client = await self._client()
        await client.delete_item(TableName=self.table, Key={"pk": {"S": pk}, "sk": {"S": sk}})

    async def check(self) -> None:
        """Fail early, with the table's name, if it is missing or unreachable."""
        client = await self._client()
        await client.describe_table(TableName=self.table)

    # ---- inventory ---------------------------------------------------------------------------------

    async def inventory(self) -> dict[str, InventoryEntry]:
        return {
            item["sk"]["S"]: InventoryEntry(item["sk"]["S"], item["kind"]["S"], json.loads(item["identity"]["S"]),
                                            item["deletion_policy"]["S"], float(item["recorded_at"]["N"]))
            for item in await self._query(_INVENTORY)
        }

    async def forget(self, key: str) -> None:
        item = await self._get(_INVENTORY, key)
        if item is None:
            return
        owner = await self._get(_OWNER, item["identity_key"]["S"])
        if owner is not None and owner["key"]["S"] == key:
            await self._delete(_OWNER, item["identity_key"]["S"])
        await self._delete(_INVENTORY, key)

    async def owner_of(self, kind: str, identity: Identity) -> str | None:
        item = await self._get(_OWNER, identity_key(kind, identity))
        return None if item is None else str(item["key"]["S"])

    async def record_owned(self, entry: InventoryEntry) -> None:
        # One owner per AWS resource: an adopting spec replaces the record of a removed one.
        ident = identity_key(entry.kind, entry.identity)
        previous = await self.owner_of(entry.kind, entry.identity)
        if previous is not None and previous != entry.key:
            await self._delete(_INVENTORY, previous)
        await self._put({"pk": {"S": _OWNER}, "sk": {"S": ident}, "key": {"S": entry.key}})
        await self._put({
            "pk": {"S": _INVENTORY}, "sk": {"S": entry.key}, "kind": {"S": entry.kind},
            "identity_key": {"S": ident}, "identity": {"S": json.dumps(entry.identity, sort_keys=True)},
            "deletion_policy": {"S": entry.deletion_policy}, "recorded_at": {"N": repr(entry.recorded_at)},
        })

    async def mark_create_pending(self, key: str, kind: str, identity: Identity) -> None:
        await self._put({"pk": {"S": _PENDING}, "sk": {"S": identity_key(kind, identity)}, "key": {"S": key},
                         "started_at": {"N": repr(time.time())}})

    async def pending_create(self, kind: str, identity: Identity) -> str | None:
        item = await self._get(_PENDING, identity_key(kind, identity))
        return None if item is None else str(item["key"]["S"])

    async def clear_create_pending(self, kind: str, identity: Identity) -> None:
        await self._delete(_PENDING, identity_key(kind, identity))

    # ---- status ------------------------------------------------------------------------------------

    async def put_status(self, status: ItemStatus) -> None:
        fence = self.fence_for(status.key)
        try:
            await self._put(
                {"pk": {"S": _STATUS}, "sk": {"S": status.key}, "document": {"S": json.dumps(asdict(status))},
                 "fence": {"N": str(fence)}},
                ConditionExpression="attribute_not_exists(fence) OR fence <= :fence",
                ExpressionAttributeValues={":fence": {"N": str(fence)}},
            )
        except ClientError as error:
            if _is_condition_failure(error):
                raise FencedWrite(f"{status.key}: a newer lease holder (fence > {fence}) wrote it") from error
            raise

    async def statuses(self) -> dict[str, ItemStatus]:
        found = {}
        for item in await self._query(_STATUS):
            fields = json.loads(item["document"]["S"])
            fields["conditions"] = tuple(Condition(**condition) for condition in fields["conditions"])
            found[item["sk"]["S"]] = ItemStatus(**fields)
        return dict(sorted(found.items()))

    async def delete_status(self, key: str) -> None:
        await self._delete(_STATUS, key)

    # ---- settings ----------------------------------------------------------------------------------

    async def get_setting(self, name: str) -> str | None:
        item = await self._get(_SETTING, name)
        return None if item is None else str(item["value"]["S"])

    async def put_setting(self, name: str, value: str | None) -> None:
        if value is None:
            await self._delete(_SETTING, name)
        else:
            await self._put({"pk": {"S": _SETTING}, "sk": {"S": name}, "value": {"S": value}})

    # ---- leases ------------------------------------------------------------------------------------

    async def leases(self) -> dict[int, Lease]:
        return {
            int(item["sk"]["S"]): Lease(int(item["sk"]["S"]), item["owner"]["S"], int(item["counter"]["N"]),
                                        float(item["expires"]["N"]))
            for item in await self._query(LEASE)
        }

    async def write_lease(self, shard: int, owner: str, counter: int, expires: float, expected: Lease | None) -> bool:
        """Write a lease if it is still as `expected` (None: it must not exist yet). False: someone was faster."""
        item = {"pk": {"S": LEASE}, "sk": {"S": f"{shard:04d}"}, "owner": {"S": owner},
                "counter": {"N": str(counter)}, "expires": {"N": repr(expires)}}
        if expected is None:
            conditions: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(pk)"}
        else:
            conditions = {"ConditionExpression": "#owner = :owner AND #counter = :counter",
                          "ExpressionAttributeNames": {"#owner": "owner", "#counter": "counter"},
                          "ExpressionAttributeValues": {":owner": {"S": expected.owner},
                                                        ":counter": {"N": str(expected.counter)}}}
        try:
            await self._put(item, **conditions)
        except ClientError as error:
            if _is_condition_failure(error):
                return False
            raise
        return True

    async def members(self) -> dict[str, float]:
        """Live tasks and when their heartbeat expires."""
        return {item["sk"]["S"]: float(item["expires"]["N"]) for item in await self._query(MEMBER)}

    async def heartbeat(self, member: str, expires: float | None) -> None:
        """Announce this task until `expires`; None: leave (graceful shutdown)."""
        if expires is None:
            await self._delete(MEMBER, member)
        else:
            await self._put({"pk": {"S": MEMBER}, "sk": {"S": member}, "expires": {"N": repr(expires)}})

    def close(self) -> None:
        """Nothing to close: the DynamoDB client belongs to AwsClients."""
