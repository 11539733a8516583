"""Two `trimtab run` tasks on one DynamoDB store (moto's): leases hold while the kinds' rate limiter is
tight, and a task frozen past its leases (SIGSTOP) that wakes up makes no AWS mutation and no store
write for the shards it lost, while every spec still converges.

The frozen task's AWS traffic runs through its own counting proxy (tests/counting_proxy.py), so the
test sees every call it sent after waking, and which item each mutation was for.
"""

from __future__ import annotations

import json
import re
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from controller.engine.sharding import shard_of
from controller.store.dynamodb import table_definition
from tests.controller_process import ControllerProcess
from tests.counting_proxy import CountingProxy
from tests.test_api import http
from tests.test_sharding import leases, ready_count, write_queues

TABLE = "trimtab-test"
SHARDS, LEASE, RENEW = 8, 6.0, 1.5


def flags(*extra: str) -> tuple[str, ...]:
    return ("--store", f"dynamodb://{TABLE}", "--shards", str(SHARDS), "--lease-duration", f"{LEASE:g}s",
            "--lease-renew-interval", f"{RENEW:g}s", "--resync-interval", "10m", "--workers", "8", *extra)


@pytest.fixture
def table(boto: Any) -> Any:
    dynamodb = boto("dynamodb")
    dynamodb.create_table(**table_definition(TABLE))
    return dynamodb


def lease_events(task: ControllerProcess, change: str) -> list[dict[str, Any]]:
    return [e for e in task.events() if e["event"] == "LeasesChanged" and e.get("message") == change]


def task_id(task: ControllerProcess) -> str:
    task.wait_for(lambda: bool(lease_events(task, "acquired")), what="the first lease")
    return str(lease_events(task, "acquired")[0]["task"])


def metric(task: ControllerProcess, name: str) -> float:
    """The sum of a metric's series on the task's /metrics."""
    text = http("GET", f"{task.url}/metrics")[1]
    return sum(float(value) for value in re.findall(rf"^{name}(?:{{[^}}]*}})? (\S+)$", text, re.MULTILINE))


def idle(task: ControllerProcess) -> bool:
    return metric(task, "workqueue_depth") == 0 and metric(task, "controller_runtime_active_workers") == 0


def test_leases_hold_while_the_kinds_rate_limit_is_tight(tmp_path: Path, table: Any, controllers: Any) -> None:
    """Seen by a tester: at --aws-max-rate 3, renewals queued behind status writes in the shared
    DynamoDB limiter and two tasks lost leases 63 times in 2.5 minutes."""
    specs = tmp_path / "specs"
    write_queues(specs, 30)
    tasks = [controllers(specs, *flags("--aws-max-rate", "3")) for _ in range(2)]
    ids = {task_id(task) for task in tasks}
    tasks[0].wait_for(lambda: {owner for owner, _ in leases(table).values()} == ids, what="both tasks hold shards")
    first = {shard: expires for shard, (_, expires) in leases(table).items()}
    # Three lease periods of renewals, while the 30 specs converge at 3 AWS calls per second per service.
    tasks[0].wait_for(lambda: all(expires >= first[shard] + 3 * LEASE for shard, (_, expires) in leases(table).items()),
                      timeout=90, what="three lease periods of renewals")
    tasks[0].wait_for(lambda: ready_count(table) == 30, timeout=120, what="30 specs Ready")
    for task in tasks:
        lost = lease_events(task, "lost")
        assert not lost, f"leases lost: {lost}"
        assert metric(task, 'trimtab_shard_lease_changes_total{change="lost"}') == 0


def queue_text(start: int, count: int, visibility: int) -> str:
    documents = []
    for n in range(start, start + count):
        dlq = "" if n == start else f"\n  deadLetterQueue: {{queueRef: q{start:03d}, maxReceiveCount: 5}}"
        documents.append(f"apiVersion: trimtab.io/v1alpha1\nkind: Queue\nmetadata: {{name: q{n:03d}}}\n"
                         f"spec:\n  visibilityTimeoutSeconds: {visibility}{dlq}\n")
    return "---\n".join(documents)


def test_a_task_frozen_past_its_leases_changes_nothing_for_the_shards_it_lost(
    tmp_path: Path, table: Any, controllers: Any, cli_env: dict[str, str], boto: Any
) -> None:
    count = 40
    specs = tmp_path / "specs"
    specs.mkdir()
    for start in range(0, count, 10):
        (specs / f"queues-{start:03d}.yaml").write_text(queue_text(start, 10, 30))
    with CountingProxy(cli_env["AWS_ENDPOINT_URL"]) as proxy:
        # A low rate keeps the frozen task's work in flight: calls wait in its limiter when it stops.
        survivor = controllers(specs, *flags("--aws-max-rate", "4"))
        victim = ControllerProcess(specs, tmp_path / "victim-state", {**cli_env, "AWS_ENDPOINT_URL": proxy.url},
                                   *flags("--aws-max-rate", "4"))
        try:
            victim_id, survivor_id = task_id(victim), task_id(survivor)
            victim.wait_for(lambda: {owner for owner, _ in leases(table).values()} == {victim_id, survivor_id},
                            what="both tasks hold shards")
            victim.wait_for(lambda: sum(e["event"] == "Created" for e in victim.events()) >= 3, timeout=60,
                            what="the victim in the middle of its creates")

            victim.process.send_signal(signal.SIGSTOP)
            stopped = time.time()
            lost = {shard for shard, (owner, _) in leases(table).items() if owner == victim_id}
            assert lost
            survivor.wait_for(
                lambda: lost <= {shard for e in lease_events(survivor, "acquired") if e["epoch"] >= stopped
                                 for shard in e["shards"]},
                timeout=LEASE + 3 * RENEW + 10, what="the survivor takes the frozen task's shards")
            # A change while it is frozen: the stale task must not apply its old view, nor the new one.
            for start in range(0, count, 10):
                (specs / f"queues-{start:03d}.yaml").write_text(queue_text(start, 10, 45))
            survivor.wait_for(lambda: any(e["event"] == "SourceChanged" for e in survivor.events()),
                              what="the survivor sees the change")
            resumed = time.time()
            victim.process.send_signal(signal.SIGCONT)

            # It notices the loss, the shards rebalance, and everything converges to the new spec.
            victim.wait_for(lambda: any(e["epoch"] >= resumed for e in lease_events(victim, "lost")),
                            what="the woken task notices its loss")
            sqs = boto("sqs")

            def converged() -> bool:
                urls = sqs.list_queues(MaxResults=1000).get("QueueUrls", [])
                if len(urls) != count:
                    return False
                for url in urls:
                    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
                    name = url.rsplit("/", 1)[-1]
                    if attributes["VisibilityTimeout"] != "45":
                        return False
                    if int(name[1:]) % 10 and "RedrivePolicy" not in attributes:
                        return False
                return ready_count(table) == count

            survivor.wait_for(converged, timeout=180, what="every spec converges to its new spec")
            victim.wait_for(lambda: idle(victim) and idle(survivor), timeout=60, what="both tasks idle")

            # Every mutation the woken task sent, AWS or store, must be for a shard it held again by then.
            regained: dict[int, float] = {}
            for event in lease_events(victim, "acquired"):
                if event["epoch"] >= resumed:
                    for shard in event["shards"]:
                        regained.setdefault(shard, event["epoch"])
            violations = []
            for call in proxy.since(resumed):
                if not call.mutating or call.status >= 300:
                    continue  # reads, and writes refused (a cancelled transaction) change nothing
                for key in call.items():
                    shard = shard_of(key, SHARDS)
                    if shard in lost and not regained.get(shard, float("inf")) <= call.received:
                        violations.append((call.service, call.operation, key, round(call.received - resumed, 3)))
            assert not violations, f"the woken task changed items of shards it had lost: {violations}"
            refused = [e for e in victim.events() if e["event"] == "LeaseLost"]
            print(f"shards lost while frozen: {sorted(lost)}; regained: {sorted(regained)}; "
                  f"calls after waking: {len(proxy.since(resumed))}; refused by the fence: {len(refused)}")
            print(json.dumps(refused[:5]))
        finally:
            if victim.process.poll() is None:
                victim.process.send_signal(signal.SIGCONT)
                victim.kill()
