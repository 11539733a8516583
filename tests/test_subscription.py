"""SNS subscriptions: what a Subscription spec sends, checked against botocore's model of Subscribe and
SetSubscriptionAttributes, and a subscription that waits for its recipient's confirmation (which moto never
shows: it confirms every subscription at once, docs/aws-emulator.md). Create, drift, correct and delete are
in tests/test_lifecycle.py."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.validate import ParamValidator

from controller.aws_models import service_model
from controller.cli.output import summary
from controller.engine.reconciler import Action
from controller.engine.retire import retire
from controller.engine.runner import run_graph
from controller.engine.status import conditions_for
from controller.kinds.subscription import PENDING_ARN, SubscriptionClient, _attributes, _state_from_attributes
from controller.kinds.topic import _touched_by
from controller.store.base import Identity
from tests.helpers import CONTROLLER_ID, Harness

TOPIC_ARN = "arn:aws:sns:us-east-1:123456789012:alerts"
STATE = {"filterPolicy": {"severity": ["critical"]}, "filterPolicyScope": "MessageBody", "rawMessageDelivery": True,
         "redrivePolicy": {"deadLetterTargetArn": "arn:aws:sqs:us-east-1:123456789012:dlq"},
         "deliveryPolicy": {"healthyRetryPolicy": {"numRetries": 3}},
         "subscriptionRoleArn": "arn:aws:iam::123456789012:role/sns"}


def test_a_subscription_is_sent_as_botocore_models_subscribe_and_set_subscription_attributes() -> None:
    model = service_model("sns")
    attributes = _attributes(STATE)
    report = ParamValidator().validate({"TopicArn": TOPIC_ARN, "Protocol": "https", "Endpoint": "https://x.example",
                                        "Attributes": attributes, "ReturnSubscriptionArn": True},
                                       model.operation_model("Subscribe").input_shape)
    assert not report.has_errors(), report.generate_report()
    for name, value in attributes.items():  # an update sends one attribute per call
        report = ParamValidator().validate({"SubscriptionArn": f"{TOPIC_ARN}:1", "AttributeName": name,
                                            "AttributeValue": value},
                                           model.operation_model("SetSubscriptionAttributes").input_shape)
        assert not report.has_errors(), report.generate_report()
    assert _state_from_attributes(attributes, STATE) == STATE, "observe reads back what render sent"
    assert _state_from_attributes({}, {"filterPolicy": {}}) == {"filterPolicy": {}}, "{} removes a filter policy"


EMAIL = {"t.yaml": """
    apiVersion: trimtab.io/v1alpha1
    kind: Topic
    metadata: {name: alerts}
    spec: {}
    ---
    apiVersion: trimtab.io/v1alpha1
    kind: Subscription
    metadata: {name: alerts-mail}
    spec: {topicRef: alerts, protocol: email, endpoint: alerts@example.com, filterPolicy: {severity: [high]}}
    """}


async def test_an_unconfirmed_subscription_is_pending_not_an_error(harness: Harness, monkeypatch: Any) -> None:
    harness.write(EMAIL)
    assert not (await harness.apply()).failed

    async def pending(self: SubscriptionClient, identity: Identity) -> str:
        return PENDING_ARN  # what ListSubscriptionsByTopic shows until the recipient confirms

    monkeypatch.setattr(SubscriptionClient, "_find", pending)
    harness.recorder.clear()
    result = await harness.apply()
    outcome = result.outcomes["Subscription/alerts-mail"]
    assert outcome.action is Action.PENDING and not result.failed and result.in_sync  # a plan exits 0
    assert "confirm" in outcome.message and "1 pending confirmation" in summary(result, dry_run=False)
    ready, synced = conditions_for(outcome, None)
    assert (ready.status, ready.reason, synced.status, synced.reason) == ("False", "Pending", "True", "Pending")
    assert harness.recorder.mutating() == [], "nothing is set on a subscription SNS will not let us change"

    (entry,) = [entry for entry in await harness.store.inventory() if entry.kind == "Subscription"]
    await retire(entry, harness.reconciler.clients["Subscription"], harness.store, CONTROLLER_ID, delete=True)
    assert harness.recorder.mutating() == [], "an unconfirmed subscription cannot be unsubscribed: it expires"


@pytest.mark.parametrize(("event", "parameters"), [("Subscribe", {"topicArn": TOPIC_ARN}),
                                                   ("Unsubscribe", {"subscriptionArn": f"{TOPIC_ARN}:1"})])
def test_the_topic_mapper_leaves_subscription_events_alone(event: str, parameters: dict[str, Any]) -> None:
    assert list(_touched_by(event, parameters, "us-east-1")) == []


FEED = {"t.yaml": """
    apiVersion: trimtab.io/v1alpha1
    kind: Topic
    metadata: {name: alerts}
    spec: {}
    ---
    apiVersion: trimtab.io/v1alpha1
    kind: Queue
    metadata: {name: alerts-feed}
    spec:
      policy:
        Version: "2012-10-17"
        Statement:
          - {Sid: Workers, Effect: Allow, Principal: {AWS: "arn:aws:iam::123456789012:root"},
             Action: "sqs:ReceiveMessage", Resource: "${Self.Arn}"}
    """, "s.yaml": """
    apiVersion: trimtab.io/v1alpha1
    kind: Subscription
    metadata: {name: alerts-feed}
    spec: {topicRef: alerts, protocol: sqs, queueRef: alerts-feed}
    """}


def _queue_policy(boto: Any, url: str) -> Any:
    return json.loads(boto("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])["Attributes"]["Policy"])


async def test_an_sqs_subscription_puts_its_topics_statement_in_the_queues_policy(harness: Harness, boto: Any) -> None:
    state = harness.write(FEED)
    assert state.graph.generation("Queue/alerts-feed") != state.graph.records["Queue/alerts-feed"].generation
    planned = await harness.plan()
    created = {change.path: change.after for change in planned.outcomes["Queue/alerts-feed"].changes}
    # The plan shows the statement as the queue's own desired state, beside the spec's policy.
    assert [statement["Sid"] for statement in created["policy"]["Statement"]] == ["Workers"]
    (granted,) = created["grantedStatements"]
    assert granted["Sid"] == "trimtab-sns-alerts"
    assert granted["Principal"] == {"Service": "sns.amazonaws.com"} and granted["Action"] == "sqs:SendMessage"
    assert granted["Resource"] == "arn:aws:sqs:us-east-1:123456789012:alerts-feed"
    assert granted["Condition"] == {"ArnEquals": {"aws:SourceArn": "arn:aws:sns:us-east-1:123456789012:alerts"}}
    assert not (await harness.apply()).failed
    url = boto("sqs").get_queue_url(QueueName="alerts-feed")["QueueUrl"]
    policy = _queue_policy(boto, url)
    assert [statement["Sid"] for statement in policy["Statement"]] == ["Workers", "trimtab-sns-alerts"]

    (harness.specs / "s.yaml").unlink()  # the subscription leaves: its statement goes with it
    planned = await harness.plan()
    assert [change.path for change in planned.outcomes["Queue/alerts-feed"].changes] == ["grantedStatements"]
    assert not (await harness.apply()).failed
    policy = _queue_policy(boto, url)
    assert [statement["Sid"] for statement in policy["Statement"]] == ["Workers"]


async def test_a_queue_without_a_policy_of_its_own_loses_the_statement_with_its_last_subscription(
        harness: Harness, boto: Any) -> None:
    files = {**FEED, "t.yaml": FEED["t.yaml"].split("    spec:\n      policy:")[0] + "    spec: {}\n"}
    harness.write(files)
    assert not (await harness.apply()).failed
    url = boto("sqs").get_queue_url(QueueName="alerts-feed")["QueueUrl"]
    assert [statement["Sid"] for statement in _queue_policy(boto, url)["Statement"]] == ["trimtab-sns-alerts"]

    (harness.specs / "s.yaml").unlink()
    planned = await harness.plan()
    (change,) = planned.outcomes["Queue/alerts-feed"].changes
    assert change.path == "grantedStatements" and change.before[0]["Sid"] == "trimtab-sns-alerts"
    assert not (await harness.apply()).failed
    attributes = boto("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert "Policy" not in attributes
    assert (await harness.plan()).in_sync


HAND_WRITTEN = {"Sid": "S3Events", "Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"},
                "Action": "sqs:SendMessage", "Resource": "*"}


async def test_a_grant_joins_an_unmanaged_policy_and_leaves_its_hand_written_statements(
        harness: Harness, boto: Any) -> None:
    # The queue's spec leaves its policy unmanaged; someone let S3 send by hand. The subscription's
    # statement is added beside it, and taken away without it.
    files = {**FEED, "t.yaml": FEED["t.yaml"].split("    spec:\n      policy:")[0] + "    spec: {}\n"}
    subscription = files.pop("s.yaml")
    harness.write(files)
    assert not (await harness.apply()).failed
    sqs = boto("sqs")
    url = sqs.get_queue_url(QueueName="alerts-feed")["QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(
        {"Version": "2012-10-17", "Statement": [HAND_WRITTEN]})})
    harness.write({"s.yaml": subscription})
    assert not (await harness.apply()).failed
    assert [statement["Sid"] for statement in _queue_policy(boto, url)["Statement"]] == ["S3Events",
                                                                                         "trimtab-sns-alerts"]
    (harness.specs / "s.yaml").unlink()
    assert not (await harness.apply()).failed
    assert _queue_policy(boto, url)["Statement"] == [HAND_WRITTEN]


async def test_an_invalid_subscription_spec_keeps_its_statement_in_the_queue(harness: Harness, boto: Any) -> None:
    # The subscription still exists in AWS while its spec is broken: its topic must still be let in.
    harness.write(FEED)
    assert not (await harness.apply()).failed
    url = boto("sqs").get_queue_url(QueueName="alerts-feed")["QueueUrl"]
    broken = FEED["s.yaml"].replace("protocol: sqs", "protocol: carrier-pigeon")
    state = harness.write({"s.yaml": broken})
    assert state.graph.invalid_keys == {"Subscription/alerts-feed"} and state.graph.known_grants is None
    applied = await run_graph(state.graph, harness.reconciler, dry_run=False)  # what the valid specs say
    assert not applied.failed
    assert [statement["Sid"] for statement in _queue_policy(boto, url)["Statement"]] == ["Workers",
                                                                                         "trimtab-sns-alerts"]
    harness.write(FEED)  # mended: in sync again, nothing to change
    assert (await harness.plan()).in_sync
