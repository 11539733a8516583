"""The DynamoDB store's inventory against moto: entries per AWS resource, found by identity and by
spec, and tables written by the older format (one entry per spec) read and converted at start."""

from __future__ import annotations

import json
from typing import Any

import aioboto3

from controller.aws import AwsClients, AwsSettings
from controller.emulator import EMULATOR_CREDENTIALS, LocalEmulator
from controller.store.base import InventoryEntry
from controller.store.dynamodb import DynamoStore, table_definition
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
