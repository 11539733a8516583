"""Several `trimtab run` tasks sharing one DynamoDB store (moto's) and one source: shard leases,
fencing, takeover after SIGKILL, and fast hand-over after SIGTERM."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import aioboto3
import pytest

from controller.aws import AwsClients, AwsSettings
from controller.emulator import EMULATOR_CREDENTIALS, LocalEmulator
from controller.engine.sharding import shard_of
from controller.store.base import ItemStatus, Lease
from controller.store.dynamodb import DynamoStore, FencedWrite, table_definition
from tests.conftest import REGION
from tests.controller_process import ControllerProcess
from tests.test_api import http

TABLE = "trimtab-test"
# moto gap: every TransactWriteItems deep-copies the whole table, once per action, and a Query scans and
# sorts the whole table, so each fenced write costs time in proportion to everything stored, and a
# converge, quadratic time. 120 specs (12 files, 12 dead-letter heads spread over 3 tasks) exercise
# every hand-over; the large counts are the benchmark's (bench/, docs/benchmarks.md).
SPECS = 120
SHARDS, LEASE, RENEW = 32, 9.0, 3.0
TASK_FLAGS = ("--store", f"dynamodb://{TABLE}", "--shards", str(SHARDS), "--lease-duration", f"{LEASE:g}s",
              "--lease-renew-interval", f"{RENEW:g}s", "--resync-interval", "10m", "--workers", "8")


def write_queues(root: Path, count: int) -> None:
    """`count` queues, ten to a file; in each ten, nine use the first as their dead-letter queue, so
    many dependencies cross shards (and so tasks)."""
    root.mkdir(parents=True, exist_ok=True)
    for start in range(0, count, 10):
        documents = []
        for n in range(start, min(start + 10, count)):
            dlq = "" if n == start else f"\n  deadLetterQueue: {{queueRef: q{start:03d}, maxReceiveCount: 5}}"
            documents.append(f"apiVersion: trimtab.io/v1alpha1\nkind: Queue\nmetadata: {{name: q{n:03d}}}\n"
                             f"spec:\n  visibilityTimeoutSeconds: 30{dlq}\n")
        (root / f"queues-{start:03d}.yaml").write_text("---\n".join(documents))


@pytest.fixture
def table(boto: Any) -> Any:
    dynamodb = boto("dynamodb")
    dynamodb.create_table(**table_definition(TABLE))
    return dynamodb


def leases(table: Any) -> dict[int, tuple[str, float]]:
    items = table.query(TableName=TABLE, KeyConditionExpression="pk = :pk",
                        ExpressionAttributeValues={":pk": {"S": "lease"}})["Items"]
    return {int(i["sk"]["S"]): (i["owner"]["S"], float(i["expires"]["N"])) for i in items}


def ready_count(table: Any) -> int:
    ready, kwargs = 0, {}
    while True:
        page = table.query(TableName=TABLE, KeyConditionExpression="pk = :pk",
                           ExpressionAttributeValues={":pk": {"S": "status"}}, **kwargs)
        for item in page["Items"]:
            conditions = json.loads(item["document"]["S"])["conditions"]
            ready += any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)
        if "LastEvaluatedKey" not in page:
            return ready
        kwargs = {"ExclusiveStartKey": page["LastEvaluatedKey"]}


def task_id(controller: ControllerProcess) -> str:
    return next(e["task"] for e in controller.events() if e["event"] == "LeasesChanged")


def shards_held(controller: ControllerProcess) -> float:
    text = http("GET", f"{controller.url}/metrics")[1]
    return float(re.search(r"^trimtab_shards_held (\S+)$", text, re.MULTILINE).group(1))  # type: ignore[union-attr]


def test_three_tasks_share_the_specs_and_survive_kill_and_term(
    tmp_path: Path, table: Any, controllers: Any, boto: Any
) -> None:
    specs = tmp_path / "specs"
    write_queues(specs, SPECS)
    tasks = [controllers(specs, *TASK_FLAGS) for _ in range(3)]
    deadline = time.monotonic() + 300  # fenced writes are transactions, which moto serves one at a time
    while (ready := ready_count(table)) < SPECS:
        assert time.monotonic() < deadline, f"only {ready} of {SPECS} Ready"
        time.sleep(3)  # each count reads every row, which costs moto as much as a few fenced writes

    # Balanced: about S/3 each, and every shard held by exactly one live task.
    tasks[0].wait_for(lambda: sorted(shards_held(t) for t in tasks) == [10, 11, 11], timeout=30,
                      what="shards balanced 10/11/11")
    owners = {owner for owner, _ in leases(table).values()}
    assert owners == {task_id(t) for t in tasks}

    # Fencing: every item was created by exactly one task, once (no double create, no competing change).
    runs: dict[str, list[tuple[float, float, str]]] = {}
    for task in tasks:
        for event in task.events():
            if event["event"] in ("Created", "Updated", "DriftCorrected") and "duration" in event:
                key = f"{event['kind']}/{event['name']}"
                runs.setdefault(key, []).append((event["epoch"] - event["duration"], event["epoch"], task_id(task)))
    assert len(runs) == SPECS
    assert all(len(spans) == 1 for spans in runs.values()), "an item was created or changed by two tasks"
    assert len(boto("sqs").list_queues(MaxResults=1000)["QueueUrls"]) == SPECS

    # SIGKILL: the killed task's shards are taken over within the lease time plus 5 s.
    victim, survivors = tasks[0], tasks[1:]
    victim_id = task_id(victim)
    victim_shards = {shard for shard, (owner, _) in leases(table).items() if owner == victim_id}
    victim.kill()
    killed = time.monotonic()
    survivor_ids = {task_id(t) for t in survivors}
    while not all(owner in survivor_ids for owner, _ in leases(table).values()):
        assert time.monotonic() - killed < LEASE + 5 + RENEW, "shards not taken over in time"
        time.sleep(0.25)
    takeover = time.monotonic() - killed
    assert takeover <= LEASE + 5
    # A new spec in one of the dead task's shards is created by a survivor.
    name = next(f"late{n}" for n in range(1000) if shard_of(f"Queue/late{n}", SHARDS) in victim_shards)
    (specs / "late.yaml").write_text(f"apiVersion: trimtab.io/v1alpha1\nkind: Queue\nmetadata: {{name: {name}}}\n"
                                     "spec: {}\n")
    survivors[0].wait_for(lambda: ready_count(table) == SPECS + 1, timeout=30, what="the new spec converges")

    # SIGTERM: the task releases its leases at once; the last task holds everything within seconds.
    leaving, staying = survivors
    assert leaving.terminate() == 0
    stopped = time.monotonic()
    staying_id = task_id(staying)
    while not all(owner == staying_id for owner, _ in leases(table).values()):
        assert time.monotonic() - stopped < RENEW + 4, "shards did not move promptly after SIGTERM"
        time.sleep(0.25)
    handover = time.monotonic() - stopped
    print(f"takeover after SIGKILL: {takeover:.1f}s (lease {LEASE:g}s); hand-over after SIGTERM: {handover:.1f}s")
    assert ready_count(table) == SPECS + 1


async def test_a_stale_lease_holder_cannot_overwrite_newer_status(moto: LocalEmulator, table: Any) -> None:
    settings = AwsSettings(region=REGION, endpoint_url=moto.url, static_credentials=EMULATOR_CREDENTIALS)
    async with AwsClients(settings, session=aioboto3.Session()) as aws:
        old, new = DynamoStore(aws, TABLE), DynamoStore(aws, TABLE)
        shard = shard_of("Queue/q", SHARDS)
        old_lease = Lease(shard, "old", 3, time.time() + 60)
        assert await old.write_lease(shard, "old", 3, old_lease.expires, None)
        old.fence_with(Holding(old_lease))
        status = ItemStatus("Queue/q", (), "gen", "rev-old", {}, "2026-11-22T00:00:00Z", 0.1,
                            "2026-11-22T00:00:00Z")
        await old.put_status(status)
        new_lease = Lease(shard, "new", 4, time.time() + 60)
        assert await new.write_lease(shard, "new", 4, new_lease.expires, old_lease)  # the shard moves
        new.fence_with(Holding(new_lease))
        await new.put_status(replace(status, revision="rev-new"))
        with pytest.raises(FencedWrite):  # still re-exported where the engine used to import it
            await old.put_status(replace(status, revision="rev-stale"))
        assert (await new.statuses())["Queue/q"].revision == "rev-new"


@dataclass
class Holding:
    """A lease holder that trusts the one lease it was given."""

    lease: Lease

    def lease_for(self, key: str) -> Lease | None:
        return self.lease if shard_of(key, SHARDS) == self.lease.shard else None
