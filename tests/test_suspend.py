"""`trimtab suspend|resume KIND/NAME` through the API: kept in the store (restarts included, unfenced in
DynamoDB), shown by `get` and `trimtab_suspended_resources`, independent of the trimtab.io/suspend
annotation (either suspends). Absence of a change is proved by a completed pass (`resync --wait`), not
by a sleep."""

from __future__ import annotations

import time
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from controller.api.queue import Queue
from controller.aws import AwsClients
from controller.emulator import LocalEmulator
from controller.engine.suspensions import Suspensions
from controller.store.base import Lease, Suspension
from controller.store.dynamodb import DynamoStore
from controller.store.sqlite import SqliteStore
from tests.console_support import SCENARIO, TOKEN, cli, condition, dynamodb, row, start_converged, write_scenario
from tests.helpers import write_specs

TABLE = "trimtab-suspensions"


@pytest.fixture
def cli_env(cli_env: dict[str, str]) -> dict[str, str]:
    return {**cli_env, "TRIMTAB_API_TOKEN": TOKEN}


# ---- the record ----------------------------------------------------------------------------------------

def queue_resource(name: str, *, suspended: bool = False) -> Queue:
    annotations = {"trimtab.io/suspend": "true"} if suspended else {}
    return Queue.model_validate({"apiVersion": "trimtab.io/v1alpha1", "kind": "Queue",
                                 "metadata": {"name": name, "annotations": annotations}, "spec": {}})


async def test_either_the_annotation_or_the_command_suspends_and_each_says_so(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path)
    try:
        suspensions = Suspensions(store, clock=lambda: 1_800_000_000.0)
        plain, annotated = queue_resource("plain"), queue_resource("annotated", suspended=True)
        assert suspensions.why(plain) is None
        assert suspensions.why(annotated) == 'trimtab.io/suspend is "true"'
        await suspensions.suspend("Queue/plain", "incident 7")
        await suspensions.suspend("Queue/plain", "a later reason")  # the first record stands
        assert suspensions.why(plain) == "suspended with `trimtab suspend` at 2027-01-15T08:00:00Z: incident 7"
        await suspensions.suspend("Queue/annotated", "")
        assert suspensions.why(annotated) == ('trimtab.io/suspend is "true"; '
                                              "suspended with `trimtab suspend` at 2027-01-15T08:00:00Z")
        other_task = Suspensions(store)
        await other_task.load()
        assert await other_task.resume("Queue/annotated") and not await other_task.resume("Queue/annotated")
        assert suspensions.why(annotated) is not None and await suspensions.refresh() == {"Queue/annotated"}
        assert suspensions.why(annotated) == 'trimtab.io/suspend is "true"', "the annotation still suspends"
        assert await store.suspensions() == {"Queue/plain": Suspension(1_800_000_000.0, "incident 7")}
    finally:
        store.close()


class NoLease:
    def lease_for(self, key: str) -> Lease | None:
        return None


@pytest.fixture
async def aws(moto: LocalEmulator, boto: Any) -> AsyncIterator[AwsClients]:
    async with dynamodb(moto, boto, TABLE) as clients:
        yield clients


async def test_in_dynamodb_any_task_records_a_suspension(aws: AwsClients) -> None:
    store = DynamoStore(aws, TABLE)
    store.fence_with(NoLease())  # the task the request reached may hold no lease on the item
    await store.put_suspension("Queue/orders", Suspension(1.5, "incident"))
    assert await store.suspensions() == {"Queue/orders": Suspension(1.5, "incident")}
    await store.put_suspension("Queue/orders", None)
    assert await store.suspensions() == {}


# ---- against a running controller ----------------------------------------------------------------------

def _visibility(boto: Any) -> int:
    sqs = boto("sqs")
    url = sqs.get_queue_url(QueueName="orders")["QueueUrl"]
    return int(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])["Attributes"][
        "VisibilityTimeout"])


def _suspended_metric(url: str, kind: str) -> float:
    with urllib.request.urlopen(f"{url}/metrics", timeout=10) as response:
        text = response.read().decode()
    line = next(line for line in text.splitlines() if line.startswith(f'trimtab_suspended_resources{{kind="{kind}"}}'))
    return float(line.rsplit(" ", 1)[1])


def _resync_and_wait(controller: Any, key: str, env: dict[str, str]) -> str:
    """One completed reconcile of `key`; its result line."""
    time.sleep(1.1)  # status times have one-second resolution: the pass must be seen as newer
    result = cli("resync", key, "--url", controller.url, "--wait", "--timeout", "20", env=env)
    return next(line for line in result.stdout.splitlines() if line.startswith(f"{key}:"))


def test_a_suspension_holds_drift_survives_a_restart_and_resume_corrects_it(
    tmp_path: Path, controllers: Any, boto: Any, cli_env: dict[str, str]
) -> None:
    specs = write_scenario(tmp_path / "specs")
    controller = start_converged(controllers, specs)
    suspended = cli("suspend", "queue/orders", "--reason", "incident 7", "--url", controller.url, env=cli_env)
    assert (suspended.returncode, suspended.stdout) == (0, "Queue/orders suspended\n"), suspended.stderr
    controller.wait_for(lambda: condition(row(controller, "Queue/orders"), "Synced")[1] == "Suspended",
                        what="the row says so")
    status, _, message = condition(row(controller, "Queue/orders"), "Synced")
    assert status == "Unknown" and message.startswith("suspended with `trimtab suspend` at ")
    assert message.endswith(": incident 7")
    table = cli("get", "queue/orders", "--state-dir", str(controller.state_dir)).stdout
    assert table.splitlines()[1].split()[6] == "Suspended"
    assert _suspended_metric(controller.url, "Queue") == 1.0

    boto("sqs").set_queue_attributes(QueueUrl=boto("sqs").get_queue_url(QueueName="orders")["QueueUrl"],
                                     Attributes={"VisibilityTimeout": "99"})
    assert "Synced=Unknown Suspended" in _resync_and_wait(controller, "Queue/orders", cli_env)
    assert _visibility(boto) == 99, "a suspended queue's drift is left alone"

    assert controller.terminate() == 0
    again = controllers(specs, "--resync-interval", "1h")
    assert "Synced=Unknown Suspended" in _resync_and_wait(again, "Queue/orders", cli_env)
    assert _visibility(boto) == 99, "the suspension survived the restart"
    assert _suspended_metric(again.url, "Queue") == 1.0

    resumed = cli("resume", "Queue/orders", "--url", again.url, env=cli_env)
    assert (resumed.returncode, resumed.stdout) == (0, "Queue/orders resumed\n"), resumed.stderr
    again.wait_for(lambda: _visibility(boto) == 30, what="the drift corrected at once")
    again.wait_for(lambda: condition(row(again, "Queue/orders"), "Synced")[:2] == ("True", "Updated"),
                   what="the row back")
    assert _suspended_metric(again.url, "Queue") == 0.0


def test_resuming_leaves_the_annotations_suspension_in_force(
    tmp_path: Path, controllers: Any, cli_env: dict[str, str]
) -> None:
    annotated = SCENARIO["queues.yaml"].replace("labels: {team: orders, tier: dlq}",
                                                'labels: {team: orders, tier: dlq}\n      annotations: '
                                                '{trimtab.io/suspend: "true"}')
    specs = write_specs(tmp_path / "specs", {**SCENARIO, "queues.yaml": annotated})
    controller = start_converged(controllers, specs, keys=set())
    controller.wait_for(lambda: "Queue/orders-dlq" in controller.statuses(), what="a row for the dlq")
    assert cli("suspend", "queue/orders-dlq", "--url", controller.url, env=cli_env).returncode == 0
    resumed = cli("resume", "queue/orders-dlq", "queue/orders", "--url", controller.url, env=cli_env)
    assert resumed.returncode == 0
    assert resumed.stdout == "Queue/orders-dlq resumed\nQueue/orders was not suspended\n"
    assert resumed.stderr == 'Queue/orders-dlq is still suspended: trimtab.io/suspend is "true"\n'
    controller.wait_for(lambda: condition(row(controller, "Queue/orders-dlq"), "Synced") == (
        "Unknown", "Suspended", 'trimtab.io/suspend is "true"'), what="suspended by its annotation alone")
    waiting = condition(row(controller, "Queue/orders"), "Synced")[2]
    assert waiting == 'waiting for Queue/orders-dlq: Suspended: trimtab.io/suspend is "true"'


def test_suspend_needs_the_token_and_names_of_live_items(
    tmp_path: Path, controllers: Any, cli_env: dict[str, str]
) -> None:
    controller = start_converged(controllers, write_scenario(tmp_path / "specs"))
    anonymous = {key: value for key, value in cli_env.items() if key != "TRIMTAB_API_TOKEN"}
    for args, env, says in (
            (("suspend", "Queue/orders"), anonymous, "(401): missing or wrong bearer token"),
            (("resume", "Queue/orders"), anonymous, "(401): missing or wrong bearer token"),
            (("suspend", "Queue/nope"), cli_env, "(404): not in the live revision: Queue/nope"),
            (("suspend", "foo/orders"), cli_env, "(400): unknown kind 'foo'")):
        refused = cli(*args, "--url", controller.url, env=env)
        assert refused.returncode == 1 and says in refused.stderr, (args, refused.stderr)
    assert condition(row(controller, "Queue/orders"), "Synced")[:2] == ("True", "Created")
