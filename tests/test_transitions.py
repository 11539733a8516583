"""The state transitions that broke trust, each as it was seen: a real `trimtab run` against moto.

Each test names the transition: a policy changed then the spec removed, a spec put back, resyncs by
hand, removed rows, an invalid spec, a rename of the AWS identity, a delete that keeps failing, and
two controllers on the same specs. Waits are for the event that shows the outcome, never a sleep
that hopes nothing happens.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from controller.engine.reconciler import Action
from controller.engine.retire import Retired, retire
from controller.engine.runner import OutputsResolver
from controller.kinds.base import Observation
from controller.store.base import InventoryEntry
from tests.controller_process import ControllerProcess
from tests.helpers import write_specs

SLOW = ("--resync-interval", "1h", "--prune-max-fraction", "1")  # no periodic resync hides a missed transition
TOKEN = "transitions-token"


@pytest.fixture
def cli_env(cli_env: dict[str, str]) -> dict[str, str]:
    """The controllers of these tests accept manual resyncs."""
    return {**cli_env, "TRIMTAB_API_TOKEN": TOKEN}


def queue(name: str, *, policy: str = "Delete", queue_name: str | None = None, visibility: int = 30,
          extra: str = "") -> str:
    aws_name = f"\n  queueName: {queue_name}" if queue_name else ""
    return f"""
apiVersion: trimtab.io/v1alpha1
kind: Queue
metadata:
  name: {name}
spec:
  deletionPolicy: {policy}
  visibilityTimeoutSeconds: {visibility}{aws_name}{extra}
"""


def _queues(boto: Any) -> set[str]:
    return {url.rsplit("/", 1)[-1] for url in boto("sqs").list_queues().get("QueueUrls", [])}


def _events(controller: Any, event: str, name: str | None = None) -> list[dict[str, Any]]:
    return [e for e in controller.events() if e["event"] == event and (name is None or e.get("name") == name)]


def _api(controller: Any, path: str, body: dict[str, Any] | None = None) -> Any:
    request = urllib.request.Request(controller.url + path, method="POST" if body is not None else "GET",
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def _applied(controller: Any) -> bool:
    source = _api(controller, "/api/v1/source")
    return bool(source["revision"]) and source["appliedRevision"] == source["revision"]


def test_a_deletion_policy_changed_to_retain_keeps_the_queue_when_its_spec_is_removed(
    tmp_path: Path, controllers: Any, boto: Any
) -> None:
    specs = write_specs(tmp_path / "specs", {"keep.yaml": queue("keep"), "drop.yaml": queue("drop", policy="Retain"),
                                             "anchor.yaml": queue("anchor")})
    controller = controllers(specs, *SLOW)
    controller.wait_for(lambda: controller.ready_keys() == {"Queue/keep", "Queue/drop", "Queue/anchor"})
    # The policies flip with no change in AWS: the in-sync path must still tell the inventory.
    (specs / "keep.yaml").write_text(queue("keep", policy="Retain"))
    (specs / "drop.yaml").write_text(queue("drop", policy="Delete"))
    controller.wait_for(lambda: _applied(controller) and _policies(controller) == {
        "Queue/keep": "Retain", "Queue/drop": "Delete", "Queue/anchor": "Delete"}, what="policies recorded")
    (specs / "keep.yaml").unlink()
    (specs / "drop.yaml").unlink()
    controller.wait_for(lambda: _events(controller, "Deleted", "drop") and _events(controller, "Retained", "keep"),
                        what="one deleted, one retained")
    assert "keep" in _queues(boto) and "drop" not in _queues(boto)


def _policies(controller: Any) -> dict[str, str]:

    with sqlite3.connect(controller.state_dir / "trimtab.sqlite3") as db:
        return dict(db.execute("SELECT key, deletion_policy FROM owned"))


def test_a_spec_put_back_is_recreated_at_once(tmp_path: Path, controllers: Any, boto: Any) -> None:
    specs = write_specs(tmp_path / "specs", {"a.yaml": queue("a"), "b.yaml": queue("b")})
    controller = controllers(specs, *SLOW)
    controller.wait_for(lambda: controller.ready_keys() == {"Queue/a", "Queue/b"})
    text = (specs / "a.yaml").read_text()
    (specs / "a.yaml").unlink()
    controller.wait_for(lambda: "a" not in _queues(boto), what="pruned")
    assert "Queue/a" not in controller.statuses(), "a removed spec keeps no row"
    (specs / "a.yaml").write_text(text)  # put back, exactly as it was (a git revert)
    controller.wait_for(lambda: "a" in _queues(boto), timeout=10, what="re-created without waiting for a resync")
    controller.wait_for(lambda: _applied(controller) and controller.ready_keys() == {"Queue/a", "Queue/b"})


def test_manual_resyncs_do_not_multiply_steady_reads(tmp_path: Path, controllers: Any) -> None:
    specs = write_specs(tmp_path / "specs", {"a.yaml": queue("a"), "b.yaml": queue("b")})
    controller = controllers(specs, "--resync-interval", "2s")
    controller.wait_for(lambda: controller.ready_keys() == {"Queue/a", "Queue/b"})

    def sqs_reads_over(seconds: float) -> float:
        start = _sqs_reads(controller)
        began = time.monotonic()
        controller.wait_for(lambda: time.monotonic() - began >= seconds, timeout=seconds + 5, what="window")
        return _sqs_reads(controller) - start

    before = sqs_reads_over(8)
    for _ in range(10):
        _api(controller, "/api/v1/resync", {"items": ["Queue/a", "Queue/b"]})
        controller.process.send_signal(signal.SIGHUP)
    controller.wait_for(lambda: len(_events(controller, "ResyncRequested")) >= 20, what="resyncs taken")
    sqs_reads_over(4)  # the resyncs themselves settle
    after = sqs_reads_over(8)
    # One reconcile per item per interval either way; the resyncs must leave no extra timer chains.
    assert after <= before * 1.5 + 4, f"steady SQS reads per 8 s went from {before} to {after}"


def _sqs_reads(controller: Any) -> float:
    with urllib.request.urlopen(controller.url + "/metrics", timeout=10) as response:
        text = response.read().decode()
    total = 0.0
    for line in text.splitlines():
        if line.startswith('trimtab_aws_api_calls_total{') and 'service="sqs"' in line:
            operation = line.split('operation="', 1)[1].split('"', 1)[0]
            if operation.startswith(("Get", "List")):
                total += float(line.rsplit(" ", 1)[1])
    return total


def test_rows_of_removed_specs_go_away_whatever_their_state(tmp_path: Path, controllers: Any, boto: Any) -> None:
    boto("sqs").create_queue(QueueName="foreign")  # a conflict: not ours
    waits = queue("waits", extra="\n  deadLetterQueue: {queueRef: ghost, maxReceiveCount: 5}")
    specs = write_specs(tmp_path / "specs", {"foreign.yaml": queue("foreign"), "waits.yaml": waits,
                                             "ghost.yaml": queue("ghost", extra="\n  visibilityTimeoutSeconds2: 1"),
                                             "ok.yaml": queue("ok")})
    controller = controllers(specs, *SLOW)
    controller.wait_for(lambda: {"Queue/foreign", "Queue/waits", "Queue/ghost", "Queue/ok"} <= set(
        controller.statuses()), what="a row per spec, the invalid one included")
    rows = controller.statuses()
    assert rows["Queue/foreign"].condition("Ready").reason == "Conflict"
    assert rows["Queue/waits"].condition("Ready").reason == "DependencyNotReady"
    invalid = rows["Queue/ghost"].condition("Ready")
    assert (invalid.status, invalid.reason) == ("False", "InvalidSpec")
    assert "ghost.yaml:" in invalid.message and "visibilityTimeoutSeconds2" in invalid.message
    for name in ("foreign.yaml", "waits.yaml", "ghost.yaml"):
        (specs / name).unlink()
    controller.wait_for(lambda: set(controller.statuses()) == {"Queue/ok"}, what="only the live spec's row")
    with urllib.request.urlopen(controller.url + "/metrics", timeout=10) as response:
        metrics = response.read().decode()
    not_ready = [line for line in metrics.splitlines() if line.startswith("trimtab_resources{")
                 and 'status="False"' in line and not line.endswith(" 0.0")]
    assert not_ready == [], f"series of removed specs remain: {not_ready}"
    assert "foreign" in _queues(boto)


def test_an_invalid_spec_shows_invalid_not_green(tmp_path: Path, controllers: Any, cli_env: dict[str, str]) -> None:
    specs = write_specs(tmp_path / "specs", {"orders.yaml": queue("orders"), "other.yaml": queue("other")})
    controller = controllers(specs, *SLOW)
    controller.wait_for(lambda: controller.ready_keys() == {"Queue/orders", "Queue/other"})
    (specs / "orders.yaml").write_text(queue("orders").replace("visibilityTimeoutSeconds", "visibilityTimeoutSecond"))
    controller.wait_for(lambda: (row := controller.statuses().get("Queue/orders")) is not None
                        and row.condition("Ready").reason == "InvalidSpec", what="InvalidSpec row")
    row = controller.statuses()["Queue/orders"]
    assert row.condition("Ready").status == "False" and "orders.yaml:" in row.condition("Ready").message
    source = _api(controller, "/api/v1/source")
    assert source["invalidSpecs"] == 1 and source["phase"] == "invalid"
    api_row = _api(controller, "/api/v1/resources/Queue/orders")
    assert api_row["conditions"][0]["reason"] == "InvalidSpec"


def test_renaming_the_aws_identity_replaces_and_deletes_the_old_queue(
    tmp_path: Path, controllers: Any, boto: Any
) -> None:
    specs = write_specs(tmp_path / "specs", {"jobs.yaml": queue("jobs", queue_name="jobs-v1"),
                                             "kept.yaml": queue("kept", policy="Retain", queue_name="kept-v1")})
    controller = controllers(specs, *SLOW)
    controller.wait_for(lambda: controller.ready_keys() == {"Queue/jobs", "Queue/kept"})
    (specs / "jobs.yaml").write_text(queue("jobs", queue_name="jobs-v2"))
    (specs / "kept.yaml").write_text(queue("kept", policy="Retain", queue_name="kept-v2"))
    controller.wait_for(lambda: {"jobs-v2", "kept-v2"} <= _queues(boto) and "jobs-v1" not in _queues(boto),
                        what="replaced")
    assert "kept-v1" in _queues(boto), "Retain: the old queue stays"
    assert _events(controller, "Replaced", "jobs") and _events(controller, "Retained", "kept")
    assert sorted(_policies(controller)) == ["Queue/jobs", "Queue/kept"]
    owned = _owned_names(controller)
    assert owned == {"jobs-v2", "kept-v2"}, f"the inventory holds only the new identities: {owned}"


def _owned_names(controller: Any) -> set[str]:

    with sqlite3.connect(controller.state_dir / "trimtab.sqlite3") as db:
        return {json.loads(identity)["name"] for (identity,) in db.execute("SELECT identity FROM owned")}


def test_a_failing_prune_backs_off_and_shows_a_row(tmp_path: Path, controllers: Any, boto: Any) -> None:
    bucket = """
apiVersion: trimtab.io/v1alpha1
kind: Bucket
metadata:
  name: acme-transitions-full
spec:
  deletionPolicy: Delete
"""
    specs = write_specs(tmp_path / "specs", {"bucket.yaml": bucket, "q.yaml": queue("q")})
    controller = controllers(specs, *SLOW)
    controller.wait_for(lambda: controller.ready_keys() == {"Bucket/acme-transitions-full", "Queue/q"})
    boto("s3").put_object(Bucket="acme-transitions-full", Key="data", Body=b"x")  # BucketNotEmpty from now on
    (specs / "bucket.yaml").unlink()
    controller.wait_for(lambda: _events(controller, "DeleteFailed"), what="the delete failed")
    began = time.monotonic()
    for index in range(20):  # the source reloads often: a new revision each time
        (specs / "q.yaml").write_text(queue("q", visibility=30 + index))
        controller.wait_for(lambda index=index: _events(controller, "SourceChanged")
                            and len(_events(controller, "SourceChanged")) >= index + 2, what="reloaded")
    elapsed = time.monotonic() - began
    failures = len(_events(controller, "DeleteFailed"))
    # Backoff 0.5 s doubling: at most log2(elapsed / 0.5) + 2 attempts, never one per reload.
    assert failures <= 3 + int(elapsed).bit_length(), f"{failures} delete attempts in {elapsed:.1f}s"
    row = controller.statuses()["Bucket/acme-transitions-full"].condition("Ready")
    assert row.reason == "DeleteFailed" and "not empty" in row.message, row


def test_two_controllers_never_both_own_a_resource(tmp_path: Path, controllers: Any, boto: Any,
                                                   cli_env: dict[str, str]) -> None:
    """Two deployments race to create the same 12 queues. SQS has no conditional create, and moto's
    CreateQueue re-tags a queue that exists (docs/aws-emulator.md), so the later creator's tags can land
    after the earlier creator read its own back: both may claim a queue until the earlier one's next
    observe, which reads the other's tags and yields. What must hold from then on: one claim per queue,
    the one its tags name, and no flip on later resyncs."""

    names = [f"race-{index}" for index in range(12)]
    specs = write_specs(tmp_path / "specs", {f"{name}.yaml": queue(name) for name in names})
    first = controllers(specs, "--resync-interval", "2s")
    (tmp_path / "other").mkdir()
    second = ControllerProcess(specs, tmp_path / "other" / "state", cli_env, "--resync-interval", "2s",
                               "--controller-id", "other-controller")
    sqs = boto("sqs")

    def owners() -> dict[str, str | None]:
        return {name: sqs.list_queue_tags(QueueUrl=sqs.get_queue_url(QueueName=name)["QueueUrl"]).get(
            "Tags", {}).get("trimtab.io/owner") for name in names}

    def one_claim_each_as_tagged() -> bool:
        if len(first.statuses()) != 12 or len(second.statuses()) != 12:
            return False
        ready_first, ready_second = first.ready_keys(), second.ready_keys()
        tagged = owners()
        claims = {name: [owner for owner, ready in (("trimtab-test", ready_first), ("other-controller", ready_second))
                         if f"Queue/{name}" in ready] for name in names}
        return all(claims[name] == [tagged[name]] for name in names)

    first.wait_for(one_claim_each_as_tagged, timeout=60, what="each queue claimed by exactly the owner its tags name")
    settled = owners()
    # Two more resyncs of each controller (every queue reconciled twice more) never flip the tags.
    done_first, done_second = first.reconciles(), second.reconciles()
    first.wait_for(lambda: first.reconciles() >= done_first + 24 and second.reconciles() >= done_second + 24,
                   what="two more resyncs of both")
    try:
        assert owners() == settled
        assert one_claim_each_as_tagged()
    finally:
        second.kill()


async def test_a_prune_never_deletes_what_the_tags_say_is_someone_elses(harness: Any, boto: Any) -> None:
    """The inventory says ours, but the queue's tags now name another controller: forget, never delete."""

    boto("sqs").create_queue(QueueName="theirs", tags={"trimtab.io/owner": "other", "trimtab.io/resource": "Queue/x"})
    entry = InventoryEntry("Queue/theirs", "Queue", {"name": "theirs", "region": "us-east-1"}, "Delete", 0.0)
    await harness.store.record_owned(entry)
    result, why = await retire(entry, harness.reconciler.clients["Queue"], harness.store, "trimtab-test", delete=True)
    assert result is Retired.NOT_OWNED and "other" in why
    assert "theirs" in _queues(boto) and await harness.store.inventory() == []


async def test_a_create_that_lands_on_another_owners_bucket_is_a_conflict(harness: Any, boto: Any) -> None:
    """S3 CreateBucket in us-east-1 succeeds on a bucket that exists: its owner is read before tagging."""
    boto("s3").create_bucket(Bucket="acme-raced")
    theirs = [{"Key": "trimtab.io/owner", "Value": "other"},
              {"Key": "trimtab.io/resource", "Value": "Bucket/acme-raced"}]
    boto("s3").put_bucket_tagging(Bucket="acme-raced", Tagging={"TagSet": theirs})
    state = harness.write({"bucket.yaml": """
apiVersion: trimtab.io/v1alpha1
kind: Bucket
metadata:
  name: acme-raced
spec:
  deletionPolicy: Delete
"""})
    real = harness.reconciler.clients["Bucket"]

    class LooksAbsent(type(real)):  # type: ignore[misc, valid-type]
        """It did not exist when this controller looked; the other creator won the race since."""

        async def observe(self, desired: Any) -> Observation:
            return Observation(exists=False)

    harness.reconciler.clients["Bucket"] = LooksAbsent(harness.aws)
    record = state.graph.records["Bucket/acme-raced"]
    outcome = await harness.reconciler.reconcile(record.resource, OutputsResolver({}, False), dry_run=False)
    assert outcome.action is Action.CONFLICT and "other" in outcome.message, outcome
    assert await harness.store.inventory() == []
    assert boto("s3").get_bucket_tagging(Bucket="acme-raced")["TagSet"] == theirs


async def test_tags_naming_another_owner_win_over_our_inventory(harness: Any, boto: Any) -> None:
    """A creator that raced us and won (moto: CreateQueue re-tags an existing queue): its tags say so,
    so our record goes, nothing is changed, and the row is a conflict."""
    harness.write({"raced.yaml": queue("raced")})
    assert not (await harness.apply()).failed
    url = boto("sqs").get_queue_url(QueueName="raced")["QueueUrl"]
    theirs = {"trimtab.io/owner": "other", "trimtab.io/resource": "Queue/raced"}
    boto("sqs").tag_queue(QueueUrl=url, Tags=theirs)
    boto("sqs").set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "99"})
    outcome = (await harness.apply()).outcomes["Queue/raced"]
    assert outcome.action is Action.CONFLICT and "other" in outcome.message
    assert await harness.store.inventory() == []
    assert boto("sqs").list_queue_tags(QueueUrl=url)["Tags"] == theirs
    assert boto("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])["Attributes"][
        "VisibilityTimeout"] == "99"


async def test_plan_shows_a_replacement_and_apply_retires_the_old_identity(harness: Any, boto: Any) -> None:

    harness.write({"jobs.yaml": queue("jobs", queue_name="jobs-v1")})
    assert not (await harness.apply()).failed
    harness.write({"jobs.yaml": queue("jobs", queue_name="jobs-v2")})
    planned = (await harness.plan()).outcomes["Queue/jobs"]
    assert planned.action is Action.REPLACE and "'jobs-v1' -> 'jobs-v2'" in planned.message
    assert "jobs-v1" in _queues(boto) and "jobs-v2" not in _queues(boto), "plan changes nothing"
    applied = (await harness.apply()).outcomes["Queue/jobs"]
    assert applied.action is Action.REPLACE and applied.ready and "Deleted" in applied.message
    assert _queues(boto) == {"jobs-v2"}
    assert [entry.identity["name"] for entry in await harness.store.inventory()] == ["jobs-v2"]
