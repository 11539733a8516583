"""The CloudTrail event feed (controller/sources/events.py) against moto's SQS: what it queues, what
it deletes, what it leaves for the dead-letter queue, and what it ignores."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from controller.cli.iam_policy import build_policy, granted_actions, iam_action
from controller.sources.cloudtrail import MalformedEvent, event_pattern, parse
from controller.sources.events import EventFeed, is_own, matching_keys, queue_name
from controller.store.base import InventoryEntry
from tests import cloudtrail_envelopes as events

QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/orders"
OWNED = [
    InventoryEntry("Queue/orders", "Queue", {"name": "orders", "region": "us-east-1"}, "Delete", 0.0),
    InventoryEntry("Bucket/assets", "Bucket", {"name": "acme-assets", "region": "us-east-1"}, "Retain", 0.0),
    InventoryEntry("Alarm/high", "Alarm", {"name": "orders-high", "region": "us-east-1"}, "Delete", 0.0),
    InventoryEntry("Alarm/low", "Alarm", {"name": "orders-low", "region": "us-east-1"}, "Delete", 0.0),
    InventoryEntry("CompositeAlarm/page", "CompositeAlarm", {"name": "orders-page", "region": "us-east-1"},
                   "Delete", 0.0),
    InventoryEntry("ScalableTarget/api", "ScalableTarget",
                   {"namespace": "ecs", "resourceId": "service/main/api", "dimension": "ecs:service:DesiredCount"},
                   "Delete", 0.0),
    InventoryEntry("ScalingPolicy/api-cpu", "ScalingPolicy",
                   {"name": "api-cpu", "namespace": "ecs", "resourceId": "service/main/api",
                    "dimension": "ecs:service:DesiredCount"}, "Delete", 0.0),
    InventoryEntry("ScheduledAction/api-business-hours", "ScheduledAction",
                   {"name": "api-business-hours", "namespace": "ecs", "resourceId": "service/main/api",
                    "dimension": "ecs:service:DesiredCount"}, "Delete", 0.0),
]
EVERYTHING_ON_API = {"ScalableTarget/api", "ScalingPolicy/api-cpu", "ScheduledAction/api-business-hours"}
TARGET = ("ecs", "service/main/api", "ecs:service:DesiredCount")


@pytest.mark.parametrize(("event", "keys"), [
    (events.set_queue_attributes(QUEUE_URL, {"VisibilityTimeout": "5"}), {"Queue/orders"}),
    (events.delete_queue(QUEUE_URL), {"Queue/orders"}),
    (events.put_bucket_versioning("acme-assets", "Suspended"), {"Bucket/assets"}),
    (events.put_metric_alarm("orders-high"), {"Alarm/high"}),
    (events.delete_alarms("orders-high", "orders-low", "someone-elses"), {"Alarm/high", "Alarm/low"}),
    (events.put_composite_alarm("orders-page"), {"CompositeAlarm/page"}),
    (events.put_composite_alarm("orders-high"), set()),  # a composite alarm's name is no metric alarm's spec
    (events.delete_alarms("orders-high", "orders-page"), {"Alarm/high", "CompositeAlarm/page"}),
    (events.register_scalable_target(*TARGET), EVERYTHING_ON_API),
    (events.deregister_scalable_target(*TARGET), EVERYTHING_ON_API),  # AWS deletes its policies and actions
    (events.put_scaling_policy("api-cpu", *TARGET), {"ScalingPolicy/api-cpu"}),
    (events.scheduled_action("PutScheduledAction", "api-business-hours", *TARGET),
     {"ScheduledAction/api-business-hours"}),
    (events.scheduled_action("DeleteScheduledAction", "api-business-hours", *TARGET),
     {"ScheduledAction/api-business-hours"}),
    (events.scheduled_action("PutScheduledAction", "hand-made", *TARGET), set()),
    (events.put_scaling_policy("hand-made", *TARGET), set()),
    (events.set_queue_attributes(QUEUE_URL, {}, region="eu-west-1"), set()),  # another region's "orders"
])
def test_an_event_names_the_specs_that_own_what_it_touched(event: dict[str, Any], keys: set[str]) -> None:
    assert matching_keys(parse(event).touched, OWNED) == keys


TOPIC_ARN = "arn:aws:sns:us-east-1:123456789012:oncall-pagerduty"
ON_TOPIC = [
    InventoryEntry("Topic/oncall", "Topic", {"name": "oncall-pagerduty", "region": "us-east-1"}, "Delete", 0.0),
    *(InventoryEntry(f"Subscription/{name}", "Subscription", {"topicArn": TOPIC_ARN, "protocol": protocol,
                     "endpoint": endpoint, "region": "us-east-1"}, "Delete", 0.0)
      for name, protocol, endpoint in (("mail", "email", "oncall@example.com"),
                                       ("feed", "sqs", "arn:aws:sqs:us-east-1:123456789012:feed"))),
]
SUBSCRIPTIONS = {"Subscription/mail", "Subscription/feed"}


@pytest.mark.parametrize(("event", "keys"), [
    # An event naming a subscription's ARN names its topic: each of the topic's subscriptions is looked at.
    (events.subscribe(TOPIC_ARN, "email", "someone@example.com"), SUBSCRIPTIONS),
    (events.on_subscription("Unsubscribe", f"{TOPIC_ARN}:0a1b2c3d-4e5f-6789-abcd-ef0123456789"), SUBSCRIPTIONS),
    (events.on_subscription("SetSubscriptionAttributes", f"{TOPIC_ARN}:0a1b2c3d"), SUBSCRIPTIONS),
    (events.on_subscription("Unsubscribe", "arn:aws:sns:us-east-1:123456789012:another-topic:0a1b"), set()),
    (events.set_topic_attributes(TOPIC_ARN, "DisplayName"), {"Topic/oncall"}),  # not the subscriptions
])
def test_a_subscription_event_names_the_subscriptions_of_its_topic(event: dict[str, Any], keys: set[str]) -> None:
    assert matching_keys(parse(event).touched, ON_TOPIC) == keys


@pytest.mark.parametrize("message", [
    {"detail-type": "Object Created", "detail": {}},
    {"detail-type": "AWS API Call via CloudTrail"},
    {"detail-type": "AWS API Call via CloudTrail", "detail": {"eventName": "X"}},
    {"detail-type": "AWS API Call via CloudTrail", "time": "yesterday",
     "detail": {"eventSource": "sqs.amazonaws.com", "eventName": "DeleteQueue"}},
    ["not", "an", "object"],
])
def test_what_is_not_a_cloudtrail_call_is_malformed(message: Any) -> None:
    with pytest.raises(MalformedEvent):
        parse(message)


def test_own_writes_are_known_by_session_and_by_role() -> None:
    own = "arn:aws:sts::123456789012:assumed-role/trimtab-task/0a1b2c"
    this_task = parse(events.delete_queue(QUEUE_URL, caller=own))
    other_task = parse(events.delete_queue(QUEUE_URL, caller="arn:aws:sts::123456789012:assumed-role/trimtab-task/9f8e",
                                           issuer="arn:aws:iam::123456789012:role/service/trimtab-task"))
    person = parse(events.delete_queue(QUEUE_URL))
    same_role_name_elsewhere = parse(events.delete_queue(
        QUEUE_URL, caller="arn:aws:sts::999999999999:assumed-role/trimtab-task/x",
        issuer="arn:aws:iam::999999999999:role/trimtab-task"))
    assert is_own(this_task, own) and is_own(other_task, own)
    assert not is_own(person, own) and not is_own(same_role_name_elsewhere, own)


def test_the_rule_pattern_selects_writes_of_every_watched_service() -> None:
    pattern = event_pattern()
    assert pattern["detail"]["readOnly"] == [False]
    assert set(pattern["detail"]["eventSource"]) == {
        "sqs.amazonaws.com", "s3.amazonaws.com", "monitoring.amazonaws.com", "application-autoscaling.amazonaws.com",
        "sns.amazonaws.com"}


@pytest.mark.parametrize("bad", ["orders", "sqs://", "sqs://a/b", "https://sqs.example/orders"])
def test_the_events_flag_says_its_form(bad: str) -> None:
    with pytest.raises(ValueError, match="sqs://QUEUE_NAME"):
        queue_name(bad)


async def _until(predicate: Callable[[], bool]) -> None:
    """Poll within a deadline (30 s) for what the feed's own loop does in the background."""
    for _ in range(600):
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("timed out")


async def _feed(harness: Any, boto: Any) -> tuple[EventFeed, list[list[str]], str]:
    url = boto("sqs").create_queue(QueueName="trimtab-events")["QueueUrl"]
    queued: list[list[str]] = []

    async def inventory() -> list[InventoryEntry]:
        return OWNED

    async def enqueue(keys: list[str]) -> None:
        queued.append(keys)

    feed = EventFeed(harness.aws, "trimtab-events", inventory, enqueue, wait_seconds=0)
    return feed, queued, url


async def test_queued_then_deleted_and_a_burst_is_one_key(harness: Any, boto: Any) -> None:
    feed, queued, url = await _feed(harness, boto)
    sqs = boto("sqs")
    for _ in range(10):  # a burst for one queue: one key to reconcile (the work queue dedups it further)
        sqs.send_message(QueueUrl=url, MessageBody=events.body(events.set_queue_attributes(QUEUE_URL, {})))
    received = 0
    while received < 10:
        received += await feed.receive_once(url)
    assert {key for batch in queued for key in batch} == {"Queue/orders"}
    assert all(len(batch) == 1 for batch in queued)
    assert feed.status.outcomes["matched"] == 10
    assert int(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"][
        "ApproximateNumberOfMessages"]) == 0


async def test_malformed_messages_stay_for_the_dead_letter_queue(harness: Any, boto: Any) -> None:
    feed, queued, url = await _feed(harness, boto)
    sqs = boto("sqs")
    dlq = sqs.create_queue(QueueName="trimtab-events-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={
        "VisibilityTimeout": "0", "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2})})
    sqs.send_message(QueueUrl=url, MessageBody="{not json")
    sqs.send_message(QueueUrl=url, MessageBody=events.body(events.delete_queue(QUEUE_URL)))
    while feed.status.outcomes["matched"] < 1 or feed.status.outcomes["malformed"] < 2:
        await feed.receive_once(url)
    assert queued == [["Queue/orders"]]

    def moved() -> bool:
        return "Messages" in sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=0)

    while not moved():  # the third receive finds it over its count: SQS moves it to the DLQ
        await feed.receive_once(url)
    assert feed.status.outcomes["malformed"] >= 2


async def test_own_read_only_and_unmanaged_events_queue_nothing(harness: Any, boto: Any) -> None:
    feed, queued, url = await _feed(harness, boto)
    sqs = boto("sqs")
    own = (await harness.aws.caller_identity()).arn
    for event in (events.delete_queue(QUEUE_URL, caller=own), events.delete_queue(QUEUE_URL, read_only=True),
                  events.delete_queue("https://sqs.us-east-1.amazonaws.com/123456789012/not-ours")):
        sqs.send_message(QueueUrl=url, MessageBody=events.body(event))
    while sum(feed.status.outcomes.values()) < 3:
        await feed.receive_once(url)
    assert queued == []
    assert feed.status.outcomes == {"own": 1, "read-only": 1, "unmatched": 1}


async def test_a_missing_queue_degrades_and_recovers(harness: Any, boto: Any) -> None:
    queued: list[list[str]] = []

    async def inventory() -> list[InventoryEntry]:
        return OWNED

    async def enqueue(keys: list[str]) -> None:
        queued.append(keys)

    feed = EventFeed(harness.aws, "late-events", inventory, enqueue, wait_seconds=0)
    stopping = asyncio.Event()
    running = asyncio.create_task(feed.run(stopping))
    try:
        await _until(lambda: feed.status.degraded is not None)
        degraded = feed.status.degraded or ""
        assert "late-events" in degraded and "periodic resync" in degraded
        url = boto("sqs").create_queue(QueueName="late-events")["QueueUrl"]
        boto("sqs").send_message(QueueUrl=url, MessageBody=events.body(events.delete_queue(QUEUE_URL)))
        await _until(lambda: bool(queued))
        assert feed.status.degraded is None and queued == [["Queue/orders"]]
    finally:
        stopping.set()
        await running


async def test_iam_policy_grants_every_call_the_feed_makes(harness: Any, boto: Any) -> None:
    feed, _, url = await _feed(harness, boto)
    boto("sqs").send_message(QueueUrl=url, MessageBody=events.body(events.delete_queue(QUEUE_URL)))
    harness.recorder.clear()
    stopping = asyncio.Event()
    running = asyncio.create_task(feed.run(stopping))
    try:
        await _until(lambda: feed.status.outcomes["matched"] == 1)
    finally:
        stopping.set()
        await running
    granted = granted_actions(build_policy([], events_queue="trimtab-events"))
    made = {iam_action(service, operation) for service, operation in harness.recorder.calls if service == "sqs"}
    assert {"sqs:ReceiveMessage", "sqs:DeleteMessage"} <= made <= granted, made - granted


def _metric(controller: Any, series: str) -> float:
    with urllib.request.urlopen(f"{controller.url}/metrics", timeout=10) as response:
        text = response.read().decode()
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(series))


def _get(controller: Any) -> str:
    """What `trimtab get` prints of the source (on stderr), from the controller's state dir."""
    return subprocess.run([sys.executable, "-m", "controller", "get", "--state-dir", str(controller.state_dir)],
                          capture_output=True, text=True, timeout=60, check=False).stderr


def test_run_with_events_corrects_drift_at_once_with_an_hour_resync(
    controllers: Any, boto: Any, tmp_path: Path
) -> None:
    """`trimtab run --events sqs://QUEUE` end to end: a console edit, the envelope EventBridge would
    deliver for it, and the drift corrected long before the one-hour resync; degraded while the events
    queue is missing, and reading again once it exists."""
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "orders.yaml").write_text("apiVersion: trimtab.io/v1alpha1\nkind: Queue\nmetadata: {name: orders}\n"
                                       "spec: {visibilityTimeoutSeconds: 60}\n")
    controller = controllers(specs, "--events", "sqs://trimtab-events", "--resync-interval", "1h")
    controller.wait_for(lambda: "Queue/orders" in controller.ready_keys(), what="the queue Ready")
    controller.wait_for(lambda: _metric(controller, "trimtab_events_degraded") == 1, what="degraded: no queue yet")
    ready = json.loads(urllib.request.urlopen(f"{controller.url}/readyz", timeout=10).read())
    assert ready["ready"] is True and "trimtab-events" in ready["degraded"]["events"]  # polling still works
    controller.wait_for(lambda: "DEGRADED events: events queue trimtab-events" in _get(controller),
                        what="`get` says the feed is degraded")

    sqs = boto("sqs")
    events_url = sqs.create_queue(QueueName="trimtab-events")["QueueUrl"]
    controller.wait_for(lambda: _metric(controller, "trimtab_events_degraded") == 0, timeout=90,
                        what="reading the events queue once it exists")
    assert "degraded" not in json.loads(urllib.request.urlopen(f"{controller.url}/readyz", timeout=10).read())
    controller.wait_for(lambda: "DEGRADED" not in _get(controller), what="`get` no longer says degraded")
    orders = sqs.get_queue_url(QueueName="orders")["QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=orders, Attributes={"VisibilityTimeout": "5"})  # the console edit
    sqs.send_message(QueueUrl=events_url, MessageBody=events.body(events.set_queue_attributes(
        orders, {"VisibilityTimeout": "5"})))
    controller.wait_for(lambda: sqs.get_queue_attributes(QueueUrl=orders, AttributeNames=["VisibilityTimeout"])[
        "Attributes"]["VisibilityTimeout"] == "60", timeout=30, what="the drift corrected on the event")
    assert _metric(controller, 'trimtab_events_total{outcome="matched"}') == 1
    assert _metric(controller, "trimtab_event_lag_seconds_count") == 1
    counts = ("ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible")
    controller.wait_for(lambda: all(value == "0" for value in sqs.get_queue_attributes(
        QueueUrl=events_url, AttributeNames=list(counts))["Attributes"].values()), what="the handled message deleted")
