"""`trimtab events` and GET /api/v1/events: each resource's events kept in the store with bounded
retention (per item and in age; repeats counted), written fenced in DynamoDB, read after a restart and
after the spec is gone, and followed with -w."""

from __future__ import annotations

import io
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from controller.aws import AwsClients
from controller.emulator import LocalEmulator
from controller.engine.events import EventLog
from controller.engine.journal import EVENT_RETENTION_SECONDS, EVENTS_PER_ITEM, EventJournal
from controller.engine.sharding import shard_of
from controller.store.base import Event, Lease
from controller.store.dynamodb import DynamoStore
from controller.store.sqlite import SqliteStore
from tests.console_support import TOKEN, Watch, api, cli, dynamodb, start_converged, write_scenario

TABLE = "trimtab-events"
SHARDS = 8


@pytest.fixture
def cli_env(cli_env: dict[str, str]) -> dict[str, str]:
    return {**cli_env, "TRIMTAB_API_TOKEN": TOKEN}


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


# ---- the journal ---------------------------------------------------------------------------------------

async def test_repeats_are_counted_and_each_item_keeps_only_its_latest_events(tmp_path: Path) -> None:
    store, clock, log = SqliteStore(tmp_path), Clock(), EventLog(io.StringIO(), human=False)
    try:
        journal = EventJournal(store, log, owns=lambda key: True, clock=clock)
        for _ in range(3):
            clock.now += 1
            log.emit("Error", "Throttling: slow down", kind="Queue", name="q", code="Throttling")
        log.emit("SourceChanged", revision="abc")  # not a resource's: not kept
        await journal.flush()
        (repeated,) = (await store.events())["Queue/q"]
        assert (repeated.reason, repeated.count, repeated.last_time - repeated.first_time) == ("Error", 3, 2.0)
        assert repeated.details == {"code": "Throttling"}
        for number in range(EVENTS_PER_ITEM + 5):
            log.emit("Updated", f"change {number}", kind="Queue", name="q")
        await journal.flush()
        kept = (await store.events())["Queue/q"]
        assert [event.message for event in kept] == [f"change {n}" for n in range(5, EVENTS_PER_ITEM + 5)]
        assert set(await store.events()) == {"Queue/q"}
        restarted = EventJournal(store, EventLog(io.StringIO(), human=False), owns=lambda key: True)
        await restarted.load()
        assert restarted.recent("Queue/q") == [("Queue/q", event) for event in kept]
    finally:
        store.close()


async def test_events_expire_and_an_item_left_with_none_is_forgotten(tmp_path: Path) -> None:
    store, clock, log = SqliteStore(tmp_path), Clock(), EventLog(io.StringIO(), human=False)
    try:
        journal = EventJournal(store, log, owns=lambda key: True, clock=clock)
        log.emit("Deleted", "spec removed", kind="Queue", name="gone")
        log.emit("Created", "", kind="Queue", name="kept")
        clock.now += EVENT_RETENTION_SECONDS / 2
        log.emit("Updated", "", kind="Queue", name="kept")
        await journal.flush()
        clock.now += EVENT_RETENTION_SECONDS / 2 + 1  # past the retention of the first two only
        journal.sweep()
        await journal.flush()
        stored = await store.events()
        assert set(stored) == {"Queue/kept"} and [event.reason for event in stored["Queue/kept"]] == ["Updated"]
        assert [key for key, _ in journal.recent()] == ["Queue/kept"]
    finally:
        store.close()


@pytest.fixture
async def aws(moto: LocalEmulator, boto: Any) -> AsyncIterator[AwsClients]:
    async with dynamodb(moto, boto, TABLE) as clients:
        yield clients


class OneShard:
    """A task holding the lease of one shard only."""

    def __init__(self, lease: Lease) -> None:
        self.lease = lease

    def lease_for(self, key: str) -> Lease | None:
        return self.lease if shard_of(key, SHARDS) == self.lease.shard else None

    def owns(self, key: str) -> bool:
        return self.lease_for(key) is not None


async def test_in_dynamodb_a_task_writes_the_events_of_its_own_items_only(aws: AwsClients) -> None:
    mine, theirs = "Queue/mine", next(f"Queue/q{n}" for n in range(100)
                                      if shard_of(f"Queue/q{n}", SHARDS) != shard_of("Queue/mine", SHARDS))
    lease = Lease(shard_of(mine, SHARDS), "task", 1, time.time() + 60)
    store = DynamoStore(aws, TABLE)
    assert await store.write_lease(lease.shard, "task", 1, lease.expires, None)
    holder = OneShard(lease)
    store.fence_with(holder)
    log = EventLog(io.StringIO(), human=False)
    journal = EventJournal(store, log, owns=holder.owns)
    log.emit("Created", "", kind="Queue", name="mine")
    log.emit("LeaseLost", "its shard moved", kind="Queue", name=theirs.split("/")[1])
    await journal.flush()  # the write for the other task's item is refused by the fence, and skipped
    assert set(await store.events()) == {mine}
    assert {key for key, _ in journal.recent()} == {mine, theirs}, "what it heard stays in its memory"
    await store.put_events(mine, [Event("Created", "", 1.0, 2.0, 2)])
    assert (await store.events())[mine] == (Event("Created", "", 1.0, 2.0, 2),)
    await store.put_events(mine, [])
    assert await store.events() == {}


# ---- against a running controller ----------------------------------------------------------------------

def _drift_and_resync(controller: Any, boto: Any) -> None:
    """Someone changes the queue by hand; a resync sees it and puts it back."""
    sqs = boto("sqs")
    sqs.set_queue_attributes(QueueUrl=sqs.get_queue_url(QueueName="orders")["QueueUrl"],
                             Attributes={"VisibilityTimeout": "99"})
    assert api(controller.url, "POST", "/api/v1/resync", {"items": ["Queue/orders"]})[0] == 202


def _reasons(listed: list[dict[str, Any]]) -> list[str]:
    return [event["reason"] for event in listed]


def test_events_say_what_happened_and_outlive_a_restart(
    tmp_path: Path, controllers: Any, boto: Any, cli_env: dict[str, str]
) -> None:
    specs = write_scenario(tmp_path / "specs")
    controller = start_converged(controllers, specs)
    state = ("--state-dir", str(controller.state_dir))
    table = cli("events", *state)
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    created = {line.split()[3] for line in lines[1:] if line.split()[2] == "Created"}
    assert created == {"Queue/orders-dlq", "Queue/orders", "Alarm/orders-backlog"}

    _drift_and_resync(controller, boto)

    def orders_events() -> list[dict[str, Any]]:
        return list(json.loads(cli("events", "queue/orders", "-o", "json", *state).stdout))
    controller.wait_for(lambda: "DriftCorrected" in _reasons(orders_events()), what="the drift event")
    drift = next(event for event in orders_events() if event["reason"] == "DriftCorrected")
    assert (drift["object"], drift["type"], drift["count"]) == ("Queue/orders", "Normal", 1)
    assert drift["details"]["fields"] == ["visibilityTimeoutSeconds"] and drift["details"]["revision"]
    assert {event["object"] for event in orders_events()} == {"Queue/orders"}
    status, served = api(controller.url, "GET", "/api/v1/events?item=queue/orders", token=None)
    assert status == 200 and served == orders_events(), "the API and the store say the same"

    assert controller.terminate() == 0
    again = controllers(specs, "--resync-interval", "1h")
    again.wait_for(lambda: any(e["event"] == "Started" for e in again.events()), what="restarted")
    assert "DriftCorrected" in _reasons(orders_events())
    status, served = api(again.url, "GET", "/api/v1/events?item=Queue/orders", token=None)
    assert "DriftCorrected" in _reasons(served), "a restarted controller serves what the store kept"


def test_events_watch_prints_each_new_event_until_ctrl_c(
    tmp_path: Path, controllers: Any, boto: Any, cli_env: dict[str, str]
) -> None:
    controller = start_converged(controllers, write_scenario(tmp_path / "specs"))
    watch = Watch("events", "queues", "-w", "-o", "json", "--url", controller.url, env=cli_env)
    try:
        watch.wait_for(lambda line: json.loads(line)["object"] == "Queue/orders", what="the listed events")
        _drift_and_resync(controller, boto)
        watch.wait_for(lambda line: json.loads(line)["reason"] == "DriftCorrected", what="the new event")
        assert watch.interrupt() == 0
    finally:
        watch.kill()
    assert {json.loads(line)["object"] for line in watch.lines} <= {"Queue/orders", "Queue/orders-dlq"}


def test_a_removed_specs_events_stay_after_its_row_is_gone(tmp_path: Path, controllers: Any, boto: Any) -> None:
    specs = write_scenario(tmp_path / "specs")
    controller = start_converged(controllers, specs)
    state = ("--state-dir", str(controller.state_dir))
    (specs / "alarms.yaml").unlink()
    controller.wait_for(lambda: not boto("cloudwatch").describe_alarms(AlarmNames=["orders-backlog"])["MetricAlarms"],
                        what="the alarm pruned")
    controller.wait_for(lambda: "Deleted" in _reasons(json.loads(cli("events", "alarm/orders-backlog", "-o", "json",
                                                                     *state).stdout)), what="its Deleted event")
    assert cli("get", "alarm/orders-backlog", *state).returncode == 1
    never = cli("events", "Alarm/never", *state)
    assert (never.returncode, never.stderr.strip()) == (1, "trimtab: NotFound: Alarm/never not found")
