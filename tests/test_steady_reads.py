"""A steady-state pass reads little: queue URLs and bucket regions are remembered, tags come from the
Resource Groups Tagging API in batches. Whatever the shortcuts skip must still be caught: tag drift,
a queue or bucket deleted behind trimtab's back."""

from __future__ import annotations

from typing import Any

import pytest

from controller.engine.reconciler import Action
from controller.engine.runner import run_graph
from controller.sources.directory import load_directory
from tests.helpers import Harness

SPECS = {
    "all.yaml": """
        apiVersion: trimtab.io/v1alpha1
        kind: Queue
        metadata: {name: jobs}
        spec: {visibilityTimeoutSeconds: 60, tags: {team: core}}
        ---
        apiVersion: trimtab.io/v1alpha1
        kind: Queue
        metadata: {name: mail}
        spec: {tags: {team: core}}
        ---
        apiVersion: trimtab.io/v1alpha1
        kind: Bucket
        metadata: {name: acme-steady-data}
        spec: {versioning: true, tags: {team: core}}
        ---
        apiVersion: trimtab.io/v1alpha1
        kind: Alarm
        metadata: {name: jobs-backlog}
        spec:
          metric:
            namespace: AWS/SQS
            metricName: ApproximateNumberOfMessagesVisible
            dimensions: {QueueName: {queueRef: jobs}}
            statistic: Maximum
            period: 60
          evaluationPeriods: 3
          threshold: 100
          comparisonOperator: GreaterThanThreshold
          tags: {team: core}
        """,
}
PER_RESOURCE_TAG_READS = {"ListQueueTags", "GetBucketTagging", "ListTagsForResource"}


async def _pass(harness: Harness) -> dict[str, Action]:
    """One pass with the harness's current clients, as the controller's long-lived workers make it."""
    harness.recorder.clear()
    result = await run_graph(load_directory(harness.specs).graph, harness.reconciler, dry_run=False)
    return {key: outcome.action for key, outcome in result.outcomes.items()}


@pytest.mark.moto_only("moto's tagging API sees its own queues, buckets and alarms at once; LocalStack's sees none "
                       "of them, AWS's lags")
async def test_a_steady_pass_reads_tags_in_bulk_and_skips_lookups_it_has_made(harness: Harness) -> None:
    harness.write(SPECS)
    await harness.apply()
    assert set((await _pass(harness)).values()) == {Action.IN_SYNC}  # the first pass learns URLs and regions

    actions = await _pass(harness)

    assert set(actions.values()) == {Action.IN_SYNC}
    operations = harness.recorder.operations()
    assert "GetResources" in operations
    assert PER_RESOURCE_TAG_READS.isdisjoint(operations), operations
    assert "GetQueueUrl" not in operations and "HeadBucket" not in operations, operations
    assert harness.recorder.mutating() == []


async def test_tag_drift_is_still_found_and_corrected(harness: Harness, boto: Any) -> None:
    harness.write(SPECS)
    await harness.apply()
    await _pass(harness)
    sqs, s3, cloudwatch = boto("sqs"), boto("s3"), boto("cloudwatch")
    url = sqs.get_queue_url(QueueName="jobs")["QueueUrl"]
    sqs.tag_queue(QueueUrl=url, Tags={"team": "someone-else"})
    s3.put_bucket_tagging(Bucket="acme-steady-data", Tagging={"TagSet": [{"Key": "added", "Value": "by-hand"}]})
    alarm_arn = cloudwatch.describe_alarms(AlarmNames=["jobs-backlog"])["MetricAlarms"][0]["AlarmArn"]
    cloudwatch.untag_resource(ResourceARN=alarm_arn, TagKeys=["team"])

    actions = await _pass(harness)

    assert actions["Queue/jobs"] is Action.UPDATE
    assert actions["Bucket/acme-steady-data"] is Action.UPDATE
    assert actions["Alarm/jobs-backlog"] is Action.UPDATE
    assert actions["Queue/mail"] is Action.IN_SYNC
    # Disagreement with the index is confirmed by the service's own read before anything changes.
    assert set(harness.recorder.operations()) >= PER_RESOURCE_TAG_READS
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"]["team"] == "core"
    bucket_tags = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket="acme-steady-data")["TagSet"]}
    assert bucket_tags.get("team") == "core" and "added" not in bucket_tags
    alarm_tags = {t["Key"]: t["Value"] for t in cloudwatch.list_tags_for_resource(ResourceARN=alarm_arn)["Tags"]}
    assert alarm_tags.get("team") == "core"
    assert set((await _pass(harness)).values()) == {Action.IN_SYNC}


async def test_a_queue_or_bucket_deleted_behind_our_back_is_recreated_despite_remembered_lookups(
    harness: Harness, boto: Any
) -> None:
    harness.write(SPECS)
    await harness.apply()
    await _pass(harness)
    sqs, s3 = boto("sqs"), boto("s3")
    sqs.delete_queue(QueueUrl=sqs.get_queue_url(QueueName="mail")["QueueUrl"])
    s3.delete_bucket(Bucket="acme-steady-data")

    actions = await _pass(harness)

    assert actions["Queue/mail"] is Action.CREATE
    assert actions["Bucket/acme-steady-data"] is Action.CREATE
    assert sqs.get_queue_url(QueueName="mail")["QueueUrl"]
    assert s3.get_bucket_versioning(Bucket="acme-steady-data")["Status"] == "Enabled"
    assert set((await _pass(harness)).values()) == {Action.IN_SYNC}
