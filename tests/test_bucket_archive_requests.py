"""Event notifications, Object Lock and replication: the requests are valid for botocore's model, and what
S3 reports (in its other spellings too) reads back as what was rendered. moto reports every replication
rule with an empty prefix filter and no delete marker replication (docs/aws-emulator.md), so filters and
delete marker replication are checked here rather than against it."""

from __future__ import annotations

from typing import Any

import pytest

from controller.api.fields import Ref
from controller.api.substitution import substituted
from controller.aws import AwsClients, AwsSettings
from controller.kinds.base import Desired, RefResolver, TerminalError
from controller.kinds.bucket import BucketClient
from controller.kinds.bucket_parts import notifications, object_lock, replication
from controller.kinds.registry import MODELS
from controller.sources.desired import parse_files
from tests.test_bucket_requests import ENVIRONMENT, _AnsweringS3, _RecordingS3, _sent

ARNS = {"Queue": "arn:aws:sqs:us-east-1:123456789012:{}", "Topic": "arn:aws:sns:us-east-1:123456789012:{}",
        "Bucket": "arn:aws:s3:::{}"}
COMPANIONS = "".join(f"---\napiVersion: trimtab.io/v1alpha1\nkind: {kind}\nmetadata: {{name: {name}}}\nspec: {spec}\n"
                     for kind, name, spec in (("Queue", "acme-events", "{}"), ("Topic", "acme-alerts", "{}"),
                                              ("Bucket", "acme-replica", "{versioning: true}")))


class _Refs(RefResolver):
    def output(self, ref: Ref, key: str) -> str:
        assert key == "arn", (ref, key)
        return ARNS[ref.kind].format(ref.name)


def _render(spec: str) -> dict[str, Any]:
    text = f"apiVersion: trimtab.io/v1alpha1\nkind: Bucket\nmetadata: {{name: src}}\nspec:\n{spec}{COMPANIONS}"
    state = parse_files({"b.yaml": text.encode()})
    assert not state.errors, [str(error) for error in state.errors]
    resource = substituted(state.graph.records["Bucket/src"].resource, ENVIRONMENT)
    assert isinstance(resource, MODELS["Bucket"])
    return BucketClient(AwsClients(AwsSettings())).render(resource, _Refs(), ENVIRONMENT)


NOTIFICATIONS = """\
  notifications:
    queues:
      - queueRef: acme-events
        events: ["s3:ObjectRemoved:*", "s3:ObjectCreated:*"]
        filter: {suffix: .json, prefix: in/}
      - {queueRef: acme-events, events: ["s3:ObjectRestore:*"]}
    topics: [{id: alerts, topicRef: acme-alerts, events: ["s3:Replication:*"]}]
    lambdaFunctions: [{lambdaFunctionArn: "arn:${AWS::Partition}:lambda:us-east-1:${AWS::AccountId}:function:f",
                       events: ["s3:ObjectCreated:Put"], filter: {prefix: up/}}]
"""


async def test_notifications_by_reference_with_default_ids() -> None:
    state = _render(NOTIFICATIONS)
    queue = "arn:aws:sqs:us-east-1:123456789012:acme-events"
    assert state["notifications"] == {
        "queues": [
            {"Id": "queues-0", "QueueArn": queue, "Events": ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"],
             "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "in/"},
                                                {"Name": "suffix", "Value": ".json"}]}}},
            {"Id": "queues-1", "QueueArn": queue, "Events": ["s3:ObjectRestore:*"]}],
        "topics": [{"Id": "alerts", "TopicArn": "arn:aws:sns:us-east-1:123456789012:acme-alerts",
                    "Events": ["s3:Replication:*"]}],
        "lambdaFunctions": [{"Id": "lambdaFunctions-0",
                             "LambdaFunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:f",
                             "Events": ["s3:ObjectCreated:Put"],
                             "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "up/"}]}}}],
    }
    sent = (await _sent({"notifications": state["notifications"]}))["PutBucketNotificationConfiguration"]
    assert set(sent["NotificationConfiguration"]) == {
        "QueueConfigurations", "TopicConfigurations", "LambdaFunctionConfigurations"}


async def test_notifications_as_s3_reports_them_read_as_rendered() -> None:
    """S3 reports filter rule names capitalised and lists in its own order: the same configuration."""
    state = _render(NOTIFICATIONS)["notifications"]
    reported = {
        "QueueConfigurations": [
            {**state["queues"][1]},
            {**state["queues"][0], "Events": ["s3:ObjectRemoved:*", "s3:ObjectCreated:*"],
             "Filter": {"Key": {"FilterRules": [{"Name": "Suffix", "Value": ".json"},
                                                {"Name": "Prefix", "Value": "in/"}]}}}],
        "TopicConfigurations": state["topics"],
        "LambdaFunctionConfigurations": state["lambdaFunctions"],
    }
    s3 = _AnsweringS3({"get_bucket_notification_configuration": reported})
    assert await notifications.PART.read(s3, "src") == state


async def test_no_notifications_is_an_empty_configuration() -> None:
    state = _render("  notifications: {}\n")["notifications"]
    assert await notifications.PART.read(_AnsweringS3({}), "src") == state
    sent = (await _sent({"notifications": state}))["PutBucketNotificationConfiguration"]
    assert sent["NotificationConfiguration"] == {}  # removes every configuration


async def test_object_lock_at_creation_and_its_retention() -> None:
    state = _render("  versioning: true\n  objectLock: {defaultRetention: {mode: COMPLIANCE, years: 7}}\n")
    assert state["objectLock"] == {"enabled": True, "defaultRetention": {"mode": "COMPLIANCE", "years": 7}}
    assert object_lock.PART.create_arguments is not None
    assert object_lock.PART.create_arguments(state["objectLock"]) == {"ObjectLockEnabledForBucket": True}
    sent = await _sent({"objectLock": state["objectLock"]})
    assert sent["PutObjectLockConfiguration"]["ObjectLockConfiguration"] == {
        "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Years": 7}}}
    reported = {"ObjectLockConfiguration": {"ObjectLockEnabled": "Enabled", "Rule": {
        "DefaultRetention": {"Mode": "COMPLIANCE", "Years": 7}}}}
    assert await object_lock.PART.read(_AnsweringS3({"get_object_lock_configuration": reported}), "src") == \
        state["objectLock"]


async def test_the_create_request_enables_object_lock() -> None:
    state = _render("  versioning: true\n  objectLock: {}\n")
    s3 = _AnsweringS3({})
    client = BucketClient(AwsClients(AwsSettings()))

    async def the_client(*_: Any) -> Any:
        return s3
    client.aws.client = the_client  # type: ignore[method-assign]
    resource = MODELS["Bucket"].model_validate({"apiVersion": "trimtab.io/v1alpha1", "kind": "Bucket",
                                                "metadata": {"name": "src"}, "spec": {}})
    await client.create(Desired(resource, {"name": "src", "region": "us-east-1"}, state, {}))
    (method, arguments), *_ = s3.calls
    assert method == "create_bucket" and arguments == {"Bucket": "src", "ObjectLockEnabledForBucket": True}


async def test_object_lock_is_never_turned_off() -> None:
    state = _render("  objectLock: {enabled: false}\n")["objectLock"]
    assert state == {"enabled": False}
    assert object_lock.PART.create_arguments is not None and object_lock.PART.create_arguments(state) == {}
    enabled = {"ObjectLockConfiguration": {"ObjectLockEnabled": "Enabled"}}
    locked = _AnsweringS3({"get_object_lock_configuration": enabled})
    with pytest.raises(TerminalError, match="can never turn off"):
        await object_lock.PART.write(locked, "src", state)
    assert [method for method, _ in locked.calls] == ["get_object_lock_configuration"]
    unlocked = _AnsweringS3({})  # a new bucket: nothing to write
    await object_lock.PART.write(unlocked, "src", state)
    assert [method for method, _ in unlocked.calls] == ["get_object_lock_configuration"]


REPLICATION = """\
  versioning: true
  replication:
    role: arn:${AWS::Partition}:iam::${AWS::AccountId}:role/replication
    rules:
      - id: tagged
        priority: 5
        prefix: audit/
        tags: {class: evidence}
        deleteMarkerReplication: false
        destination: {bucketRef: acme-replica, storageClass: GLACIER, account: "210987654321"}
      - id: rest
        destination: {bucket: "arn:aws:s3:::elsewhere"}
        deleteMarkerReplication: true
        enabled: false
"""


async def test_replication_rules_in_the_v2_shape() -> None:
    state = _render(REPLICATION)["replication"]
    assert state == {"role": "arn:aws:iam::123456789012:role/replication", "rules": [
        {"ID": "rest", "Priority": 1, "Status": "Disabled", "Filter": {"Prefix": ""},
         "Destination": {"Bucket": "arn:aws:s3:::elsewhere"}, "DeleteMarkerReplication": {"Status": "Enabled"}},
        {"ID": "tagged", "Priority": 5, "Status": "Enabled",
         "Filter": {"And": {"Prefix": "audit/", "Tags": [{"Key": "class", "Value": "evidence"}]}},
         "Destination": {"Bucket": "arn:aws:s3:::acme-replica", "Account": "210987654321", "StorageClass": "GLACIER"},
         "DeleteMarkerReplication": {"Status": "Disabled"}},
    ]}
    await _sent({"replication": state})
    reported = {"ReplicationConfiguration": {"Role": state["role"], "Rules": [
        {**rule, "Destination": {**rule["Destination"], "ReplicationTime": {"Status": "Disabled"}}}
        for rule in reversed(state["rules"])]}}
    assert await replication.PART.read(_AnsweringS3({"get_bucket_replication": reported}), "src") == state


async def test_a_v1_rule_reads_as_its_prefix_filter() -> None:
    reported = {"ReplicationConfiguration": {"Role": "r", "Rules": [
        {"ID": "old", "Prefix": "logs/", "Status": "Enabled", "Destination": {"Bucket": "arn:aws:s3:::x"}}]}}
    read = await replication.PART.read(_AnsweringS3({"get_bucket_replication": reported}), "src")
    assert read["rules"][0]["Filter"] == {"Prefix": "logs/"}


async def test_no_rules_deletes_the_replication() -> None:
    state = _render("  versioning: true\n  replication: {role: 'arn:aws:iam::123456789012:role/r', rules: []}\n")
    assert state["replication"] == {"rules": []}
    s3 = _RecordingS3()
    await replication.PART.write(s3, "src", state["replication"])
    assert s3.calls == [("delete_bucket_replication", {"Bucket": "src"})]


def test_references_make_dependencies() -> None:
    text = (f"apiVersion: trimtab.io/v1alpha1\nkind: Bucket\nmetadata: {{name: src}}\nspec:\n{NOTIFICATIONS}"
            f"{REPLICATION}{COMPANIONS}")
    state = parse_files({"b.yaml": text.encode()})
    assert not state.errors, [str(error) for error in state.errors]
    assert {"Queue/acme-events", "Topic/acme-alerts", "Bucket/acme-replica"} <= set(
        state.graph.dependencies["Bucket/src"])


@pytest.mark.parametrize(("first", "second", "overlap"), [
    ('["s3:ObjectCreated:*"]', '["s3:ObjectCreated:Put"]', True),  # a wildcard covers its types
    ('["s3:ObjectCreated:Put"]', '["s3:ObjectCreated:Copy"]', False),
    ('["s3:ObjectCreated:*"], filter: {prefix: logs/}', '["s3:ObjectCreated:*"], filter: {prefix: logs/2026/}', True),
    ('["s3:ObjectCreated:*"], filter: {prefix: logs/}', '["s3:ObjectCreated:*"], filter: {prefix: data/}', False),
    ('["s3:ObjectCreated:*"], filter: {suffix: .jpg}', '["s3:ObjectCreated:*"], filter: {suffix: .png}', False),
    ('["s3:ObjectCreated:*"], filter: {suffix: .jpg}', '["s3:ObjectCreated:*"]', True),  # no filter: every key
    ('["s3:ObjectRemoved:*"]', '["s3:ObjectCreated:*"]', False),
])
def test_overlapping_notifications_are_refused(first: str, second: str, overlap: bool) -> None:
    spec = (f"  notifications:\n    queues: [{{queueRef: acme-events, events: {first}}}]\n"
            f"    topics: [{{topicRef: acme-alerts, events: {second}}}]\n")
    text = f"apiVersion: trimtab.io/v1alpha1\nkind: Bucket\nmetadata: {{name: src}}\nspec:\n{spec}{COMPANIONS}"
    errors = [str(error) for error in parse_files({"b.yaml": text.encode()}).errors]
    if overlap:
        assert len(errors) == 1 and "spec.notifications.topics[0].events" in errors[0], errors
        assert "'topics-0' overlaps 'queues-0'" in errors[0]
    else:
        assert errors == []
