"""The IAM policy of `trimtab iam-policy` is exactly what the code needs: every AWS operation made
while every kind is created, read, drift-corrected (attributes, tags, each bucket sub-resource) and
deleted, and the store's operations, is granted; and nothing is granted that no code path calls."""

from __future__ import annotations

import shutil
import time
from typing import Any

import pytest

from controller.cli.iam_policy import build_policy, granted_actions, iam_action
from controller.engine.prune import delete_rank
from controller.engine.retire import retire
from controller.kinds.bucket_parts import intelligent_tiering
from controller.kinds.registry import DESCRIPTORS, KINDS
from controller.store.base import InventoryEntry, ItemStatus, Lease
from controller.store.dynamodb import DynamoStore, table_definition
from tests.conftest import REPO
from tests.external_endpoint import SEEDS_ECS
from tests.helpers import CONTROLLER_ID, Harness

TABLE = "trimtab-iam"
# Called by AWS itself on the first scalable target of an ECS service, never by trimtab's code.
# iam:PassRole: IAM checks it inside RegisterScalableTarget (a roleARN) and PutBucketReplication; never called.
AWS_INITIATED = {"iam:CreateServiceLinkedRole", "iam:PassRole"}
# Operations AWS authorises for every caller: "No permissions are required to perform this operation"
# (https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html). The reconciler reads
# it once per process for the pseudo parameters' values (controller/api/substitution.py).
NO_PERMISSION_NEEDED = {"sts:GetCallerIdentity"}
# The tests' own set-up through the same session: ECS services for scalable targets to point at.
TEST_SETUP_SERVICES = {"ecs"}


# moto delivers server access logs, as AWS does, so the project buckets' log bucket holds objects by now;
# trimtab never deletes objects (a non-empty bucket is a TerminalError), so the test empties it first,
# once its policy is gone: moto enforces requireTls's deny on the tests' plain-HTTP object calls.
LOG_BUCKET = "acme-project-access-logs"


def _empty(boto: Any, bucket: str) -> None:
    s3 = boto("s3")
    s3.delete_bucket_policy(Bucket=bucket)
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            s3.delete_object(Bucket=bucket, Key=item["Key"])


def _drift_everything(boto: Any) -> None:
    sqs = boto("sqs")
    url = sqs.get_queue_url(QueueName="orders")["QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "7"})
    sqs.tag_queue(QueueUrl=url, Tags={"added-by-hand": "x"})
    s3 = boto("s3")
    bucket = "acme-project-atlas-data"
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": "added-by-hand", "Value": "x"}]})
    s3.delete_bucket_policy(Bucket=bucket)
    s3.delete_bucket_encryption(Bucket=bucket)
    s3.delete_bucket_lifecycle(Bucket=bucket)
    s3.delete_public_access_block(Bucket=bucket)
    s3.put_bucket_website(Bucket=bucket, WebsiteConfiguration={"IndexDocument": {"Suffix": "index.html"}})
    site = "acme-static-site"
    s3.delete_bucket_cors(Bucket=site)
    s3.delete_bucket_website(Bucket=site)
    s3.put_bucket_accelerate_configuration(Bucket=site, AccelerateConfiguration={"Status": "Suspended"})
    archive = "acme-audit-archive"  # its notifications, Object Lock retention and replication
    s3.put_bucket_notification_configuration(Bucket=archive, NotificationConfiguration={})
    s3.put_object_lock_configuration(Bucket=archive, ObjectLockConfiguration={"ObjectLockEnabled": "Enabled"})
    s3.delete_bucket_replication(Bucket=archive)
    cloudwatch = boto("cloudwatch")
    alarm = cloudwatch.describe_alarms(AlarmNames=["orders-queue-empty"])["MetricAlarms"][0]
    cloudwatch.tag_resource(ResourceARN=alarm["AlarmArn"], Tags=[{"Key": "added-by-hand", "Value": "x"}])
    (composite,) = cloudwatch.describe_alarms(AlarmNames=["request-processor-saturated"],
                                              AlarmTypes=["CompositeAlarm"])["CompositeAlarms"]
    cloudwatch.put_composite_alarm(AlarmName=composite["AlarmName"], AlarmRule="FALSE")
    cloudwatch.tag_resource(ResourceARN=composite["AlarmArn"], Tags=[{"Key": "added-by-hand", "Value": "x"}])
    sns = boto("sns")
    (topic,) = [t["TopicArn"] for t in sns.list_topics()["Topics"] if t["TopicArn"].endswith(":oncall-pagerduty")]
    sns.set_topic_attributes(TopicArn=topic, AttributeName="DisplayName", AttributeValue="by hand")
    sns.tag_resource(ResourceArn=topic, Tags=[{"Key": "added-by-hand", "Value": "x"}])
    sns.untag_resource(ResourceArn=topic, TagKeys=["team"])
    (feed,) = [s["SubscriptionArn"] for s in sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
               if s["Protocol"] == "sqs"]
    sns.set_subscription_attributes(SubscriptionArn=feed, AttributeName="FilterPolicy", AttributeValue="{}")
    autoscaling = boto("application-autoscaling")
    autoscaling.register_scalable_target(ServiceNamespace="ecs", ResourceId="service/main/request-processor",
                                         ScalableDimension="ecs:service:DesiredCount", MaxCapacity=99)
    policy = next(policy for policy in autoscaling.describe_scaling_policies(ServiceNamespace="ecs")["ScalingPolicies"]
                  if policy["PolicyType"] == "StepScaling")
    autoscaling.put_scaling_policy(
        **{key: policy[key] for key in ("PolicyName", "ServiceNamespace", "ResourceId", "ScalableDimension",
                                        "PolicyType")},
        StepScalingPolicyConfiguration={"AdjustmentType": "ChangeInCapacity", "StepAdjustments": [
            {"MetricIntervalLowerBound": 0, "ScalingAdjustment": 7}]},
    )


class _OneConfigurationHeld:
    """An S3 client holding one intelligent tiering configuration the spec does not name: moto implements
    none (docs/aws-emulator.md), so no example spec sets them (their next plan would never be in sync), and
    their calls are recorded here, their IAM actions checked with the rest."""

    def __init__(self) -> None:
        self.operations: list[str] = []

    def __getattr__(self, method: str) -> Any:
        async def call(**arguments: Any) -> dict[str, Any]:
            self.operations.append("".join(part.title() for part in method.split("_")))
            return {"IntelligentTieringConfigurationList": [
                {"Id": "by-hand", "Status": "Enabled", "Tierings": [{"Days": 90, "AccessTier": "ARCHIVE_ACCESS"}]}]}
        return call


async def _intelligent_tiering_operations() -> list[str]:
    s3 = _OneConfigurationHeld()
    desired = [{"Id": "archive", "Status": "Enabled", "Tierings": [{"Days": 90, "AccessTier": "ARCHIVE_ACCESS"}]}]
    await intelligent_tiering.PART.read(s3, "acme-bucket")
    await intelligent_tiering.PART.write(s3, "acme-bucket", desired)
    return s3.operations


async def _exercise_store(harness: Harness, boto: Any) -> None:
    boto("dynamodb").create_table(**table_definition(TABLE))
    store = DynamoStore(harness.aws, TABLE)
    await store.check()
    await store.put_status(ItemStatus("Queue/q", (), "g", "r", {}, "2026-11-22T00:00:00Z", 0.1,
                                      "2026-11-22T00:00:00Z"))
    await store.statuses()
    await store.statuses_of(["Queue/q"])
    await store.delete_status("Queue/q")
    await store.put_setting("s", "v")
    await store.get_setting("s")
    entry = InventoryEntry("Queue/q", "Queue", {"name": "q"}, "Delete", 0.0)
    await store.record_owned(entry)
    await store.inventory()
    await store.owned_by("Queue/q")
    await store.forget(entry)
    # Several tasks: every item write becomes a transaction with a ConditionCheck on its shard's lease.
    lease = Lease(0, "task", 1, time.time() + 3600)
    assert await store.write_lease(0, "task", 1, lease.expires, None)
    store.fence_with(OneLease(lease))
    await store.record_owned(entry)
    await store.forget(entry)


class OneLease:
    """A task holding one lease, which covers every key of the test."""

    def __init__(self, lease: Lease) -> None:
        self.lease = lease

    def lease_for(self, key: str) -> Lease | None:
        return self.lease


ADOPTED = """
apiVersion: trimtab.io/v1alpha1
kind: Queue
metadata: {name: made-by-hand}
spec: {adopt: true}
---
apiVersion: trimtab.io/v1alpha1
kind: Alarm
metadata: {name: made-by-hand}
spec:
  adopt: true
  metric: {namespace: AWS/SQS, metricName: ApproximateNumberOfMessagesVisible, statistic: Maximum, period: 60}
  evaluationPeriods: 1
  threshold: 10
  comparisonOperator: GreaterThanThreshold
"""


def _make_by_hand(boto: Any) -> None:
    """Resources made outside trimtab, which specs adopt: adoption tags them (TagQueue, TagResource)."""
    boto("sqs").create_queue(QueueName="made-by-hand")
    boto("cloudwatch").put_metric_alarm(
        AlarmName="made-by-hand", Namespace="AWS/SQS", MetricName="ApproximateNumberOfMessagesVisible",
        Statistic="Maximum", Period=60, EvaluationPeriods=1, Threshold=10, ComparisonOperator="GreaterThanThreshold")


@pytest.mark.moto_only(f"applies specs/ ({SEEDS_ECS}) and uses the store's DynamoDB table")
async def test_the_policy_grants_exactly_the_operations_the_code_makes(harness: Harness, boto: Any) -> None:
    shutil.copytree(REPO / "specs", harness.specs)
    (harness.specs / "adopted.yaml").write_text(ADOPTED)
    _make_by_hand(boto)
    created = await harness.apply()
    assert not created.failed
    _drift_everything(boto)
    corrected = await harness.apply()
    assert not corrected.failed and any(outcome.applied for outcome in corrected.outcomes.values())
    for entry in sorted(await harness.store.inventory(), key=delete_rank):
        if entry.identity.get("name") == LOG_BUCKET:
            _empty(boto, LOG_BUCKET)
        await retire(entry, harness.reconciler.clients[entry.kind], harness.store, CONTROLLER_ID, delete=True)
    await _exercise_store(harness, boto)

    used = {iam_action(service, operation) for service, operation in harness.recorder.calls
            if service not in TEST_SETUP_SERVICES}
    used |= {iam_action("s3", operation) for operation in await _intelligent_tiering_operations()}
    granted = granted_actions(build_policy(list(KINDS), store_table=TABLE))
    assert used - granted - NO_PERMISSION_NEEDED == set(), "operations the code makes that the policy does not grant"
    implied = {action for descriptor in DESCRIPTORS for action in descriptor.iam.implied_actions}
    assert granted - used - AWS_INITIATED - implied == set(), "actions the policy grants that no code path used"
