"""The DynamoDB store's inventory against moto: entries per AWS resource, found by identity and by
spec, and tables written by the older format (one entry per spec) read and converted at start."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import aioboto3

from controller.aws import AwsClients, AwsSettings
from controller.emulator import EMULATOR_CREDENTIALS, LocalEmulator
from controller.engine.events import EventLog
from controller.engine.sharding import LeaseSettings, ShardCoordinator
from controller.metrics import Metrics
from controller.store.base import InventoryEntry, ItemStatus
from controller.store.dynamodb import DynamoStore, table_definition
from controller.store.sqlite import SqliteStore
from tests.conftest import REGION

TABLE = "trimtab-store"


async def test_entries_are_per_resource_and_adoption_moves_one(moto: LocalEmulator, boto: Any) -> None:
    boto("dynamodb").create_table(**table_definition(TABLE))
    settings = AwsSettings(region=REGION, endpoint_url=moto.url, static_credentials=EMULATOR_CREDENTIALS)
    async with AwsClients(settings, session=aioboto3.Session()) as aws:
        store = DynamoStore(aws, TABLE)
        old = InventoryEntry("Queue/a", "Queue", {"name": "a-old"}, "Delete", 1.0)
        new = InventoryEntry("Queue/a", "Queue", {"name": "a-new"}, "Delete", 2.0)
        await store.record_owned(old)
        await store.record_owned(new)  # a rename: the old identity stays until it is retired
        assert await store.owned_by("Queue/a") == [new, old]
        adopted = InventoryEntry("Queue/b", "Queue", {"name": "a-old"}, "Retain", 3.0)
        await store.record_owned(adopted)  # another spec adopts the old resource
        assert await store.owned_by("Queue/a") == [new]
        assert await store.owned("Queue", {"name": "a-old"}) == adopted
        await store.forget(old)  # no longer Queue/a's: nothing to forget for it
        assert await store.owned("Queue", {"name": "a-old"}) == adopted
        await store.forget(new)
        assert await store.inventory() == [adopted]


async def test_records_of_the_older_format_are_read_and_converted(moto: LocalEmulator, boto: Any) -> None:
    dynamodb = boto("dynamodb")
    dynamodb.create_table(**table_definition(TABLE))
    ident = 'Queue:{"name":"legacy"}'
    dynamodb.put_item(TableName=TABLE, Item={
        "pk": {"S": "inventory"}, "sk": {"S": "Queue/legacy"}, "kind": {"S": "Queue"},
        "identity_key": {"S": ident}, "identity": {"S": json.dumps({"name": "legacy"})},
        "deletion_policy": {"S": "Delete"}, "recorded_at": {"N": "1.5"}})
    dynamodb.put_item(TableName=TABLE, Item={"pk": {"S": "owner"}, "sk": {"S": ident}, "key": {"S": "Queue/legacy"}})
    entry = InventoryEntry("Queue/legacy", "Queue", {"name": "legacy"}, "Delete", 1.5)
    settings = AwsSettings(region=REGION, endpoint_url=moto.url, static_credentials=EMULATOR_CREDENTIALS)
    async with AwsClients(settings, session=aioboto3.Session()) as aws:
        store = DynamoStore(aws, TABLE)
        assert await store.owned("Queue", {"name": "legacy"}) == entry  # read before any conversion
        assert await store.inventory() == [entry]
        await store.check()
        assert await store.owned_by("Queue/legacy") == [entry]
        partitions = {item["pk"]["S"] for item in dynamodb.scan(TableName=TABLE)["Items"]}
        assert partitions == {"owned", "owned-by"}
        await store.forget(entry)
        assert await store.inventory() == []


async def test_statuses_of_reads_just_the_rows_asked_for_in_both_stores(
    moto: LocalEmulator, boto: Any, tmp_path: Path
) -> None:
    """A lease round reads the rows of foreign dependencies only: the rows named, in batches of 100 keys
    (BatchGetItem's limit), and a key with no row is simply absent."""
    boto("dynamodb").create_table(**table_definition(TABLE))
    settings = AwsSettings(region=REGION, endpoint_url=moto.url, static_credentials=EMULATOR_CREDENTIALS)
    rows = [ItemStatus(f"Queue/q{n:03d}", (), f"gen{n}", "rev", {}, "2026-12-02T00:00:00Z", 0.1,
                       "2026-12-02T00:00:00Z") for n in range(150)]
    asked = [f"Queue/q{n:03d}" for n in range(0, 150, 2)] + [f"Queue/q{n:03d}" for n in range(1, 150, 2)][:40]
    async with AwsClients(settings, session=aioboto3.Session()) as aws:
        sqlite = SqliteStore(tmp_path / "state")
        for store in (DynamoStore(aws, TABLE), sqlite):
            for row in rows:
                await store.put_status(row)
            found = await store.statuses_of([*asked, "Queue/never-written", asked[0]])
            assert sorted(found) == sorted(asked), type(store).__name__
            assert all(found[key].observed_generation == f"gen{int(key[7:])}" for key in found)
            assert await store.statuses_of([]) == {}
        sqlite.close()


async def test_keys_forwarded_to_a_shard_reach_its_holder_once_and_survive_renewals(
    moto: LocalEmulator, boto: Any
) -> None:
    """A change event received by a task that does not hold the spec's shard: the key is forwarded
    through the lease item, and the holder's next round queues it; renewals in between keep it."""
    boto("dynamodb").create_table(**table_definition(TABLE))
    settings = AwsSettings(region=REGION, endpoint_url=moto.url, static_credentials=EMULATOR_CREDENTIALS)
    async with AwsClients(settings, session=aioboto3.Session()) as aws:
        store = DynamoStore(aws, TABLE)
        events = EventLog(io.StringIO(), human=False)
        holder = ShardCoordinator(store, "holder", LeaseSettings(4, 15.0, 5.0), Metrics(), events)
        await holder.balance()  # alone: it takes every shard
        assert set(holder.held) == {0, 1, 2, 3}
        received: list[list[str]] = []
        holder.on_forwarded = received.append
        other = ShardCoordinator(store, "other", LeaseSettings(4, 15.0, 5.0), Metrics(), events)
        await other.forward(["Queue/orders", "Alarm/orders-backlog"])
        await store.write_lease(0, "holder", holder.held[0].counter, holder.held[0].expires + 1, holder.held[0])
        await holder.balance()  # a round: renewals (updates, not puts), then the forwarded keys
        assert received == [["Alarm/orders-backlog", "Queue/orders"]]
        assert all(not lease.forwarded for lease in (await store.leases()).values())  # taken once queued
        await holder.balance()
        assert received == [["Alarm/orders-backlog", "Queue/orders"]], "delivered once"
        await store.forward(5, ["Queue/late"])  # a shard nobody leased yet: no lease is made of it
        assert 5 not in await store.leases()
