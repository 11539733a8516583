"""trimtab never changes what it does not own; adoption is explicit; a cut-short create is still ours."""

from __future__ import annotations

from typing import Any

import pytest

from controller.engine.reconciler import Action
from controller.kinds.ownership import OWNER_TAG, RESOURCE_TAG
from tests.external_endpoint import SEEDS_ECS
from tests.helpers import CONTROLLER_ID, Harness

QUEUE = """
apiVersion: trimtab.io/v1alpha1
kind: Queue
metadata: {{name: shared}}
spec:
  visibilityTimeoutSeconds: 300
  adopt: {adopt}
"""
BUCKET = """
apiVersion: trimtab.io/v1alpha1
kind: Bucket
metadata: {name: acme-foreign}
spec:
  versioning: true
"""


async def test_foreign_resources_are_conflicts_and_left_untouched(harness: Harness, boto: Any) -> None:
    sqs, s3 = boto("sqs"), boto("s3")
    url = sqs.create_queue(QueueName="shared", Attributes={"VisibilityTimeout": "30"})["QueueUrl"]
    s3.create_bucket(Bucket="acme-foreign")
    harness.write({"q.yaml": QUEUE.format(adopt="false"), "b.yaml": BUCKET})

    planned = await harness.plan()
    assert planned.outcomes["Queue/shared"].action is Action.CONFLICT
    assert "not created by trimtab" in planned.outcomes["Queue/shared"].message

    harness.recorder.clear()
    applied = await harness.apply()
    assert {o.action for o in applied.outcomes.values()} == {Action.CONFLICT}
    assert harness.recorder.mutating() == []
    assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])["Attributes"] == {
        "VisibilityTimeout": "30"
    }
    assert s3.get_bucket_versioning(Bucket="acme-foreign").get("Status") is None
    assert sqs.list_queue_tags(QueueUrl=url).get("Tags", {}) == {}


async def test_adopt_true_takes_over_and_marks_ownership(harness: Harness, boto: Any) -> None:
    sqs = boto("sqs")
    url = sqs.create_queue(QueueName="shared")["QueueUrl"]
    harness.write({"q.yaml": QUEUE.format(adopt="true")})
    result = await harness.apply()
    assert result.outcomes["Queue/shared"].action is Action.ADOPT and result.outcomes["Queue/shared"].applied
    tags = sqs.list_queue_tags(QueueUrl=url)["Tags"]
    assert tags[OWNER_TAG] == CONTROLLER_ID and tags[RESOURCE_TAG] == "Queue/shared"
    assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])["Attributes"][
        "VisibilityTimeout"
    ] == "300"
    assert (await harness.plan()).in_sync


async def test_another_controllers_resource_is_a_conflict(harness: Harness, boto: Any) -> None:
    boto("sqs").create_queue(QueueName="shared", tags={OWNER_TAG: "other-team", RESOURCE_TAG: "Queue/shared"})
    harness.write({"q.yaml": QUEUE.format(adopt="false")})
    outcome = (await harness.apply()).outcomes["Queue/shared"]
    assert outcome.action is Action.CONFLICT and "other-team" in outcome.message


@pytest.mark.moto_only(SEEDS_ECS)
async def test_untaggable_kinds_rest_on_the_inventory(harness: Harness, boto: Any) -> None:
    # Application Auto Scaling cannot be tagged in moto: a target registered by someone else
    # is a conflict, one trimtab registered is in sync.
    boto("ecs").create_cluster(clusterName="main")
    boto("ecs").create_service(cluster="main", serviceName="web", desiredCount=1)
    boto("application-autoscaling").register_scalable_target(
        ServiceNamespace="ecs", ResourceId="service/main/web", ScalableDimension="ecs:service:DesiredCount",
        MinCapacity=1, MaxCapacity=3,
    )
    harness.write({"t.yaml": """
        apiVersion: trimtab.io/v1alpha1
        kind: ScalableTarget
        metadata: {name: web}
        spec:
          ecsService: {cluster: main, service: web}
          minCapacity: 2
          maxCapacity: 4
        """})
    assert (await harness.apply()).outcomes["ScalableTarget/web"].action is Action.CONFLICT
    boto("application-autoscaling").deregister_scalable_target(
        ServiceNamespace="ecs", ResourceId="service/main/web", ScalableDimension="ecs:service:DesiredCount",
    )
    assert (await harness.apply()).outcomes["ScalableTarget/web"].action is Action.CREATE
    assert (await harness.plan()).in_sync


async def test_a_create_cut_short_before_tagging_is_still_ours(harness: Harness, boto: Any) -> None:
    # Simulate a crash between CreateBucket and PutBucketTagging: the write-ahead record exists,
    # the bucket exists, the tags do not.
    await harness.store.mark_create_pending(
        "Bucket/acme-foreign", "Bucket", {"name": "acme-foreign", "region": "us-east-1"}
    )
    boto("s3").create_bucket(Bucket="acme-foreign")
    harness.write({"b.yaml": BUCKET})
    outcome = (await harness.apply()).outcomes["Bucket/acme-foreign"]
    assert outcome.action is Action.UPDATE and outcome.applied
    tags = {t["Key"]: t["Value"] for t in boto("s3").get_bucket_tagging(Bucket="acme-foreign")["TagSet"]}
    assert tags[RESOURCE_TAG] == "Bucket/acme-foreign"
    assert (await harness.plan()).in_sync


async def test_delete_removes_only_by_identity_and_tolerates_absence(harness: Harness, boto: Any) -> None:
    harness.write({"q.yaml": QUEUE.format(adopt="false")})
    await harness.apply()
    client = harness.reconciler.clients["Queue"]
    await client.delete({"name": "shared", "region": "us-east-1"})
    assert boto("sqs").list_queues().get("QueueUrls", []) == []
    await client.delete({"name": "shared", "region": "us-east-1"})  # already gone: not an error
