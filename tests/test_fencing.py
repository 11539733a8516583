"""Fencing, in process against moto: a store write by a task whose lease was taken over changes
nothing, even before the new holder has written the item; an AWS mutation for an item whose shard is
not held is never sent; the store's own calls bypass the kinds' rate limiter, and lease renewals hold
through a burst of thousands of fenced status writes."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aioboto3
import pytest
from botocore.exceptions import ClientError

from controller.aws import AwsClients, AwsSettings
from controller.emulator import EMULATOR_CREDENTIALS, LocalEmulator
from controller.engine.events import EventLog
from controller.engine.sharding import LeaseSettings, ShardCoordinator, shard_of
from controller.fencing import LeaseLost, working_on
from controller.metrics import Metrics
from controller.store.base import FencedWrite, InventoryEntry, ItemStatus, Lease
from controller.store.dynamodb import DynamoStore, table_definition
from controller.store.sqlite import SqliteStore
from tests.conftest import REGION

TABLE = "trimtab-fencing"
SHARDS = 8
KEY = "Queue/orders"
SHARD = shard_of(KEY, SHARDS)


def status(key: str, revision: str) -> ItemStatus:
    return ItemStatus(key, (), "gen", revision, {}, "2026-11-22T00:00:00Z", 0.1, "2026-11-22T00:00:00Z")


@dataclass
class FixedHolder:
    """A lease holder that believes what it was told: a task that has not noticed it lost its lease."""

    lease: Lease | None

    def lease_for(self, key: str) -> Lease | None:
        return self.lease if self.lease is not None and self.lease.shard == shard_of(key, SHARDS) else None


@pytest.fixture
async def aws(moto: LocalEmulator, boto: Any) -> AsyncIterator[AwsClients]:
    boto("dynamodb").create_table(**table_definition(TABLE))
    settings = AwsSettings(region=REGION, endpoint_url=moto.url, static_credentials=EMULATOR_CREDENTIALS)
    async with AwsClients(settings, session=aioboto3.Session()) as clients:
        yield clients


def table_items(boto: Any) -> dict[tuple[str, str], dict[str, Any]]:
    """Every item but the leases, by (pk, sk)."""
    items = boto("dynamodb").scan(TableName=TABLE, ConsistentRead=True)["Items"]
    return {(item["pk"]["S"], item["sk"]["S"]): item for item in items if item["pk"]["S"] != "lease"}


async def test_a_task_whose_lease_was_taken_over_writes_nothing_even_before_the_new_holder_does(
    aws: AwsClients, boto: Any
) -> None:
    old_lease = Lease(SHARD, "task-old", 3, time.time() + 60)
    old = DynamoStore(aws, TABLE)
    assert await old.write_lease(SHARD, "task-old", 3, old_lease.expires, None)
    old.fence_with(FixedHolder(old_lease))
    entry = InventoryEntry(KEY, "Queue", {"name": "orders"}, "Delete", 1.0)
    await old.put_status(status(KEY, "rev-1"))
    await old.record_owned(entry)
    await old.mark_create_pending(KEY, "Bucket", {"name": "orders-data"})
    before = table_items(boto)
    assert ("status", KEY) in before

    # Another task takes the shard over (a higher counter, another owner) and has written nothing yet.
    new = DynamoStore(aws, TABLE)
    assert await new.write_lease(SHARD, "task-new", 4, time.time() + 60, old_lease)

    # The old task still believes its lease is valid: only the transaction's ConditionCheck stops it.
    writes = {
        "put_status": old.put_status(status(KEY, "rev-stale")),
        "delete_status": old.delete_status(KEY),
        "record_owned": old.record_owned(InventoryEntry(KEY, "Queue", {"name": "orders-renamed"}, "Delete", 2.0)),
        "forget": old.forget(entry),
        "mark_create_pending": old.mark_create_pending(KEY, "Bucket", {"name": "other"}),
        "clear_create_pending": old.clear_create_pending("Bucket", {"name": "orders-data"}),
    }
    for name, write in writes.items():
        with pytest.raises(FencedWrite):
            await write
        assert table_items(boto) == before, f"{name} changed the table"

    # The new holder writes freely, with its own counter.
    new.fence_with(FixedHolder(Lease(SHARD, "task-new", 4, time.time() + 60)))
    await new.put_status(status(KEY, "rev-2"))
    assert (await new.statuses())[KEY].revision == "rev-2"
    # clear_create_pending is fenced by the item being worked on, when one is named.
    with working_on(KEY):
        await new.clear_create_pending("Bucket", {"name": "orders-data"})
    assert await new.pending_create("Bucket", {"name": "orders-data"}) is None


async def test_a_write_for_a_shard_not_held_is_refused_without_a_call(aws: AwsClients, boto: Any) -> None:
    store = DynamoStore(aws, TABLE)
    store.fence_with(FixedHolder(None))
    with pytest.raises(FencedWrite):
        await store.put_status(status(KEY, "rev"))
    assert table_items(boto) == {}
    await store.put_setting("controller-wide", "not fenced")  # settings belong to no item
    assert await store.get_setting("controller-wide") == "not fenced"


async def test_the_embedded_store_serves_one_task_and_is_never_fenced(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path)
    try:
        store.fence_with(FixedHolder(None))
        await store.put_status(status(KEY, "rev"))
        assert (await store.statuses())[KEY].revision == "rev"
    finally:
        store.close()


async def test_a_mutation_for_an_item_whose_shard_is_not_held_is_never_sent(aws: AwsClients, boto: Any) -> None:
    held = {"Queue/mine"}
    aws.fence.install(lambda key: key in held)
    sqs = await aws.client("sqs")
    with working_on("Queue/theirs"), pytest.raises(LeaseLost):
        await sqs.create_queue(QueueName="theirs")
    with working_on("Queue/theirs"):
        listed = await sqs.list_queues()  # reads are never fenced
    assert "QueueUrls" not in listed
    with pytest.raises(ClientError):  # moto never saw the create
        boto("sqs").get_queue_url(QueueName="theirs")
    with working_on("Queue/mine"):
        await sqs.create_queue(QueueName="mine")
    await sqs.create_queue(QueueName="outside")  # no item named: not an item's side effect
    assert len(boto("sqs").list_queues()["QueueUrls"]) == 2


async def test_the_lease_is_judged_when_the_call_leaves_the_rate_limiter_not_when_it_queued(
    moto: LocalEmulator, boto: Any
) -> None:
    settings = AwsSettings(region=REGION, endpoint_url=moto.url, static_credentials=EMULATOR_CREDENTIALS,
                           max_calls_per_second=2.0)
    async with AwsClients(settings, session=aioboto3.Session()) as aws:
        held = {"Queue/slow": True}
        aws.fence.install(lambda key: held.get(key, False))
        sqs = await aws.client("sqs")
        limiter = None
        for _ in range(10):  # spend the burst, so the next call waits for a token
            await sqs.list_queues()
            limiter = aws.limiters["sqs"]

        async def create() -> None:
            with working_on("Queue/slow"):
                await sqs.create_queue(QueueName="slow")

        waiting = asyncio.create_task(create())
        assert limiter is not None
        while limiter._bucket._tokens >= 0:  # noqa: ASYNC110 - until the create has reserved its token
            await asyncio.sleep(0.005)
        held["Queue/slow"] = False  # the lease lapses while the call waits
        with pytest.raises(LeaseLost):
            await waiting
    with pytest.raises(ClientError):
        boto("sqs").get_queue_url(QueueName="slow")


async def test_the_store_bypasses_the_kinds_rate_limiter(moto: LocalEmulator, boto: Any) -> None:
    boto("dynamodb").create_table(**table_definition(TABLE))
    settings = AwsSettings(region=REGION, endpoint_url=moto.url, static_credentials=EMULATOR_CREDENTIALS,
                           max_calls_per_second=1.0)
    async with AwsClients(settings, session=aioboto3.Session()) as aws:
        store = DynamoStore(aws, TABLE)
        await asyncio.gather(*(store.put_status(status(f"Queue/q{n}", "rev")) for n in range(40)))
        await store.write_lease(0, "task", 1, time.time() + 10, None)
        assert len(await store.statuses()) == 40
        assert "dynamodb" not in aws.limiters  # 40 writes at 1 call/s would have taken half a minute


async def test_leases_hold_through_a_burst_of_thousands_of_status_writes(moto: LocalEmulator, boto: Any) -> None:
    boto("dynamodb").create_table(**table_definition(TABLE))
    # The tester's setting: --aws-max-rate 3, which starved renewals when the store shared the limiter.
    settings = AwsSettings(region=REGION, endpoint_url=moto.url, static_credentials=EMULATOR_CREDENTIALS,
                           max_calls_per_second=3.0)
    async with AwsClients(settings, session=aioboto3.Session()) as aws:
        await _burst(DynamoStore(aws, TABLE))


async def _burst(store: DynamoStore) -> None:
    events = EventLog(io.StringIO(), human=False)
    metrics = Metrics()
    coordinator = ShardCoordinator(store, "task-burst", LeaseSettings(SHARDS, 6.0, 1.5), metrics, events)
    store.fence_with(coordinator)
    rounds = 0

    async def counted() -> None:
        nonlocal rounds
        rounds += 1

    coordinator.on_round = counted
    await coordinator.join()
    assert len(coordinator.held) == SHARDS
    counters = {shard: lease.counter for shard, lease in coordinator.held.items()}
    renewing = asyncio.create_task(coordinator.run())
    first_round, enough = rounds, asyncio.Event()
    written = 0

    async def write(n: int) -> None:
        nonlocal written
        # Overwrites of a few hundred items: moto's transactions slow down as the table grows.
        await store.put_status(status(f"Queue/burst-{n % 300}", f"rev-{n}"))
        written += 1
        if written >= 500 and rounds - first_round >= 4:
            enough.set()

    # Three thousand writes queued at once; renewals must keep going while they drain.
    burst = [asyncio.create_task(write(n)) for n in range(3000)]
    try:
        await enough.wait()
    finally:
        renewing.cancel()
        for task in burst:
            task.cancel()
        await asyncio.gather(*burst, return_exceptions=True)
    lost = metrics.registry.get_sample_value("trimtab_shard_lease_changes_total", {"change": "lost"})
    assert not lost, f"{lost} leases lost during {written} status writes"
    assert written < 3000, "the burst drained before the renewals were put to the test"
    assert {shard: lease.counter for shard, lease in coordinator.held.items()} == counters
    assert all(coordinator.owns(f"Queue/burst-{n}") for n in range(300))
