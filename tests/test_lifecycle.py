"""Every kind, against moto over HTTP: create, in sync, out-of-band drift, plan shows exactly that
field, apply corrects it, and a second apply makes no mutating call (counted by botocore's hook)."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from controller.engine.prune import delete_rank
from controller.engine.reconciler import Action
from controller.engine.retire import Retired, retire
from controller.kinds.base import TerminalError
from tests.conftest import REPO
from tests.external_endpoint import SEEDS_ECS
from tests.helpers import CONTROLLER_ID, EXAMPLE_SPECS, Harness

TARGET = """
apiVersion: trimtab.io/v1alpha1
kind: ScalableTarget
metadata: {name: worker}
spec:
  ecsService: {cluster: main, service: worker}
  minCapacity: 1
  maxCapacity: 10
"""


def _drift_queue(boto: Any) -> None:
    sqs = boto("sqs")
    url = sqs.get_queue_url(QueueName="jobs")["QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "7"})


def _drift_fifo(boto: Any) -> None:
    """A console edit back to normal throughput."""
    sqs = boto("sqs")
    url = sqs.get_queue_url(QueueName="events-dlq.fifo")["QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"FifoThroughputLimit": "perQueue"})


def _drift_bucket(boto: Any) -> None:
    boto("s3").put_bucket_versioning(Bucket="acme-test-logs", VersioningConfiguration={"Status": "Suspended"})


def _drift_ownership(boto: Any) -> None:
    """Someone turns ACLs back on."""
    boto("s3").put_bucket_ownership_controls(Bucket="acme-test-site",
                                             OwnershipControls={"Rules": [{"ObjectOwnership": "ObjectWriter"}]})


def _drift_logging(boto: Any) -> None:
    boto("s3").put_bucket_logging(Bucket="acme-test-site", BucketLoggingStatus={
        "LoggingEnabled": {"TargetBucket": "acme-test-access-logs", "TargetPrefix": "elsewhere/"}})


# The log bucket lets S3's logging service write, as AWS requires and moto checks on PutBucketLogging.
LOG_BUCKET = """
apiVersion: trimtab.io/v1alpha1
kind: Bucket
metadata: {name: acme-test-access-logs}
spec:
  deletionPolicy: Delete
  ownershipControls: BucketOwnerEnforced
  policy:
    Version: "2012-10-17"
    Statement:
      - Sid: S3ServerAccessLogs
        Effect: Allow
        Principal: {Service: logging.s3.amazonaws.com}
        Action: s3:PutObject
        Resource: arn:aws:s3:::acme-test-access-logs/*
"""

SITE_BUCKET = """
apiVersion: trimtab.io/v1alpha1
kind: Bucket
metadata: {name: acme-test-site}
spec:
  deletionPolicy: Delete
  ownershipControls: BucketOwnerEnforced
  logging: {targetBucketRef: acme-test-access-logs, targetPrefix: site/}
  # An And filter of a prefix and one tag. (Size filters are not here: moto drops ObjectSizeGreaterThan and
  # ObjectSizeLessThan, docs/aws-emulator.md; tests/test_bucket_requests.py checks their wire shape.)
  lifecycleRules:
    - {id: scratch, prefix: tmp/, tags: {scratch: "true"}, expiration: {days: 1}}
"""


# CORS, website hosting and transfer acceleration, drifted one at a time. (Request payment and intelligent
# tiering are not here: moto implements neither, docs/aws-emulator.md; tests/test_bucket_requests.py checks
# their requests against botocore's model and reads S3's answers back.)
WEB_BUCKET = """
apiVersion: trimtab.io/v1alpha1
kind: Bucket
metadata: {name: acme-test-web}
spec:
  deletionPolicy: Delete
  website:
    indexDocument: index.html
    errorDocument: 404.html
    routingRules:
      - condition: {keyPrefixEquals: blog/}
        redirect: {replaceKeyPrefixWith: articles/, httpRedirectCode: "301"}
  cors:
    - {allowedMethods: [GET], allowedOrigins: ["https://app.example.com"]}
    - {id: uploads, allowedMethods: [PUT, POST], allowedOrigins: ["*"], allowedHeaders: ["*"],
       exposeHeaders: [ETag], maxAgeSeconds: 3000}
  transferAcceleration: true
"""

# A bucket that must have no website and no CORS rules: someone adds both, and they are deleted.
NO_WEB_BUCKET = """
apiVersion: trimtab.io/v1alpha1
kind: Bucket
metadata: {name: acme-test-private}
spec:
  deletionPolicy: Delete
  website: {}
  cors: []
"""


def _drift_cors(boto: Any) -> None:
    boto("s3").put_bucket_cors(Bucket="acme-test-web", CORSConfiguration={"CORSRules": [
        {"AllowedMethods": ["GET"], "AllowedOrigins": ["https://app.example.com"]},
        {"ID": "uploads", "AllowedMethods": ["PUT", "POST"], "AllowedOrigins": ["*"], "AllowedHeaders": ["*"],
         "ExposeHeaders": ["ETag"], "MaxAgeSeconds": 60}]})


def _drift_website(boto: Any) -> None:
    boto("s3").put_bucket_website(Bucket="acme-test-web", WebsiteConfiguration={
        "IndexDocument": {"Suffix": "home.html"}, "ErrorDocument": {"Key": "404.html"},
        "RoutingRules": [{"Condition": {"KeyPrefixEquals": "blog/"},
                          "Redirect": {"ReplaceKeyPrefixWith": "articles/", "HttpRedirectCode": "301"}}]})


def _drift_acceleration(boto: Any) -> None:
    boto("s3").put_bucket_accelerate_configuration(Bucket="acme-test-web",
                                                   AccelerateConfiguration={"Status": "Suspended"})


def _drift_publish_private(boto: Any) -> None:
    s3 = boto("s3")
    s3.put_bucket_website(Bucket="acme-test-private", WebsiteConfiguration={"IndexDocument": {"Suffix": "index.html"}})
    s3.put_bucket_cors(Bucket="acme-test-private", CORSConfiguration={"CORSRules": [
        {"AllowedMethods": ["GET"], "AllowedOrigins": ["*"]}]})
# A bucket with event notifications to a queue and a topic, Object Lock and replication to a replica. The
# queue's and topic's policies let S3 send, as AWS requires (moto does not check). moto reports every
# replication rule with an empty prefix filter and delete markers not replicated, whatever was written
# (docs/aws-emulator.md), so this rule has neither; tests/test_bucket_requests.py checks their wire shape.
ARCHIVE = {"events.yaml": """
    apiVersion: trimtab.io/v1alpha1
    kind: Queue
    metadata: {name: acme-test-archive-events}
    spec:
      policy:
        Version: "2012-10-17"
        Statement:
          - {Effect: Allow, Principal: {Service: s3.amazonaws.com}, Action: sqs:SendMessage, Resource: "${Self.Arn}"}
    ---
    apiVersion: trimtab.io/v1alpha1
    kind: Topic
    metadata: {name: acme-test-archive-alerts}
    spec:
      policy:
        Version: "2012-10-17"
        Statement:
          - {Effect: Allow, Principal: {Service: s3.amazonaws.com}, Action: sns:Publish, Resource: "${Self.Arn}"}
    """, "buckets.yaml": """
    apiVersion: trimtab.io/v1alpha1
    kind: Bucket
    metadata: {name: acme-test-archive-replica}
    spec: {deletionPolicy: Delete, versioning: true, objectLock: {}}
    ---
    apiVersion: trimtab.io/v1alpha1
    kind: Bucket
    metadata: {name: acme-test-archive}
    spec:
      deletionPolicy: Delete
      versioning: true
      notifications:
        queues:
          - {queueRef: acme-test-archive-events, events: ["s3:ObjectCreated:*"], filter: {prefix: audit/}}
        topics:
          - {id: removals, topicRef: acme-test-archive-alerts, events: ["s3:ObjectRemoved:*"]}
      objectLock:
        defaultRetention: {mode: GOVERNANCE, days: 30}
      replication:
        role: arn:aws:iam::${AWS::AccountId}:role/acme-test-replication
        rules:
          - id: everything
            destination: {bucketRef: acme-test-archive-replica, storageClass: STANDARD_IA}
    """}


def _drift_notifications(boto: Any) -> None:
    """Someone points the bucket's events at the topic only."""
    s3 = boto("s3")
    topics = s3.get_bucket_notification_configuration(Bucket="acme-test-archive")["TopicConfigurations"]
    s3.put_bucket_notification_configuration(Bucket="acme-test-archive",
                                             NotificationConfiguration={"TopicConfigurations": topics})


def _drift_object_lock(boto: Any) -> None:
    boto("s3").put_object_lock_configuration(Bucket="acme-test-archive", ObjectLockConfiguration={
        "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}}})


def _drift_replication(boto: Any) -> None:
    s3 = boto("s3")
    configuration = s3.get_bucket_replication(Bucket="acme-test-archive")["ReplicationConfiguration"]
    configuration["Rules"][0]["Status"] = "Disabled"
    s3.put_bucket_replication(Bucket="acme-test-archive", ReplicationConfiguration=configuration)


def _drift_target(boto: Any) -> None:
    boto("application-autoscaling").register_scalable_target(
        ServiceNamespace="ecs", ResourceId="service/main/worker",
        ScalableDimension="ecs:service:DesiredCount", MaxCapacity=50,
    )


def _drift_policy(boto: Any) -> None:
    boto("application-autoscaling").put_scaling_policy(
        PolicyName="worker-out", ServiceNamespace="ecs", ResourceId="service/main/worker",
        ScalableDimension="ecs:service:DesiredCount", PolicyType="StepScaling",
        StepScalingPolicyConfiguration={
            "AdjustmentType": "ChangeInCapacity", "MetricAggregationType": "Average", "Cooldown": 60,
            "StepAdjustments": [{"MetricIntervalLowerBound": 0.0, "ScalingAdjustment": 9}],
        },
    )


def _drift_scheduled_action(boto: Any) -> None:
    """A console edit of the capacity only: PutScheduledAction keeps the fields it is not given (moto
    drops StartTime then, which this spec does not set)."""
    boto("application-autoscaling").put_scheduled_action(
        ScheduledActionName="worker-business-hours", ServiceNamespace="ecs", ResourceId="service/main/worker",
        ScalableDimension="ecs:service:DesiredCount", Schedule="cron(0 8 ? * MON-FRI *)",
        ScalableTargetAction={"MinCapacity": 1, "MaxCapacity": 10},
    )


SCHEDULED_ACTION = """
    apiVersion: trimtab.io/v1alpha1
    kind: ScheduledAction
    metadata: {name: worker-business-hours}
    spec:
      targetRef: worker
      schedule: cron(0 8 ? * MON-FRI *)
      timezone: Europe/Berlin
      scalableTargetAction: {minCapacity: 3, maxCapacity: 10}
    """


def _drift_alarm(boto: Any) -> None:
    cloudwatch = boto("cloudwatch")
    alarm = cloudwatch.describe_alarms(AlarmNames=["cpu-high"])["MetricAlarms"][0]
    cloudwatch.put_metric_alarm(
        AlarmName="cpu-high", Namespace=alarm["Namespace"], MetricName=alarm["MetricName"],
        Dimensions=alarm["Dimensions"], Statistic=alarm["Statistic"], Period=alarm["Period"],
        EvaluationPeriods=alarm["EvaluationPeriods"], DatapointsToAlarm=alarm["DatapointsToAlarm"],
        Threshold=55.0, ComparisonOperator=alarm["ComparisonOperator"],
        TreatMissingData=alarm["TreatMissingData"], AlarmActions=alarm["AlarmActions"],
        ActionsEnabled=alarm["ActionsEnabled"],
    )


def _drift_topic(boto: Any) -> None:
    """A console edit of the sender name SMS and email subscribers see."""
    sns = boto("sns")
    (arn,) = [topic["TopicArn"] for topic in sns.list_topics()["Topics"] if topic["TopicArn"].endswith(":alerts")]
    sns.set_topic_attributes(TopicArn=arn, AttributeName="DisplayName", AttributeValue="Someone else")


def _drift_subscription(boto: Any) -> None:
    """A console edit of the filter policy: the queue now gets every message."""
    sns = boto("sns")
    (topic,) = [t["TopicArn"] for t in sns.list_topics()["Topics"] if t["TopicArn"].endswith(":alerts")]
    (arn,) = [s["SubscriptionArn"] for s in sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]]
    sns.set_subscription_attributes(SubscriptionArn=arn, AttributeName="FilterPolicy",
                                    AttributeValue='{"severity": ["low"]}')


SUBSCRIPTION = {"topic.yaml": """
    apiVersion: trimtab.io/v1alpha1
    kind: Topic
    metadata: {name: alerts}
    spec: {}
    """, "queue.yaml": """
    apiVersion: trimtab.io/v1alpha1
    kind: Queue
    metadata: {name: alerts-feed}
    spec: {}
    ---
    apiVersion: trimtab.io/v1alpha1
    kind: Queue
    metadata: {name: alerts-undelivered}
    spec: {}
    """, "subscription.yaml": """
    apiVersion: trimtab.io/v1alpha1
    kind: Subscription
    metadata: {name: alerts-feed}
    spec:
      topicRef: alerts
      protocol: sqs
      queueRef: alerts-feed
      rawMessageDelivery: true
      filterPolicyScope: MessageAttributes
      filterPolicy: {severity: [critical, high]}
      redrivePolicy: {deadLetterQueueRef: alerts-undelivered}
    """}
ECS_SEEDED = pytest.mark.moto_only(SEEDS_ECS)


def _drift_anomaly_alarm(boto: Any) -> None:
    """A console edit: the band alarm now fires on both sides of the band."""
    cloudwatch = boto("cloudwatch")
    alarm = cloudwatch.describe_alarms(AlarmNames=["latency-anomaly"])["MetricAlarms"][0]
    cloudwatch.put_metric_alarm(
        AlarmName="latency-anomaly", Metrics=alarm["Metrics"], ThresholdMetricId=alarm["ThresholdMetricId"],
        EvaluationPeriods=alarm["EvaluationPeriods"], DatapointsToAlarm=alarm["DatapointsToAlarm"],
        ComparisonOperator="LessThanLowerOrGreaterThanUpperThreshold", TreatMissingData=alarm["TreatMissingData"],
        EvaluateLowSampleCountPercentile=alarm["EvaluateLowSampleCountPercentile"],
        AlarmActions=alarm["AlarmActions"], ActionsEnabled=alarm["ActionsEnabled"],
    )


def _drift_insights_alarm(boto: Any) -> None:
    """The Metrics Insights query's period doubled out of band."""
    cloudwatch = boto("cloudwatch")
    alarm = cloudwatch.describe_alarms(AlarmNames=["busiest-task-cpu"])["MetricAlarms"][0]
    metrics = [{**query, "Period": 600} for query in alarm["Metrics"]]
    cloudwatch.put_metric_alarm(
        AlarmName="busiest-task-cpu", Metrics=metrics, Threshold=alarm["Threshold"],
        EvaluationPeriods=alarm["EvaluationPeriods"], DatapointsToAlarm=alarm["DatapointsToAlarm"],
        ComparisonOperator=alarm["ComparisonOperator"], TreatMissingData=alarm["TreatMissingData"],
    )


def _drift_composite_alarm(boto: Any) -> None:
    """A console edit of the rule: any one child alarm now pages."""
    cloudwatch = boto("cloudwatch")
    (alarm,) = cloudwatch.describe_alarms(AlarmNames=["service-degraded"], AlarmTypes=["CompositeAlarm"])[
        "CompositeAlarms"]
    cloudwatch.put_composite_alarm(
        AlarmName="service-degraded", AlarmRule='ALARM("cpu-high") OR ALARM("memory-high")',
        AlarmDescription=alarm["AlarmDescription"], AlarmActions=alarm["AlarmActions"],
        ActionsSuppressor=alarm["ActionsSuppressor"], ActionsSuppressorWaitPeriod=alarm["ActionsSuppressorWaitPeriod"],
        ActionsSuppressorExtensionPeriod=alarm["ActionsSuppressorExtensionPeriod"],
    )


CHILD_ALARMS = """
    apiVersion: trimtab.io/v1alpha1
    kind: Alarm
    metadata: {name: cpu-high}
    spec:
      metric: {namespace: AWS/ECS, metricName: CPUUtilization, statistic: Average, period: 60}
      evaluationPeriods: 3
      threshold: 80
      comparisonOperator: GreaterThanOrEqualToThreshold
    ---
    apiVersion: trimtab.io/v1alpha1
    kind: Alarm
    metadata: {name: memory-high}
    spec:
      metric: {namespace: AWS/ECS, metricName: MemoryUtilization, statistic: Average, period: 60}
      evaluationPeriods: 3
      threshold: 90
      comparisonOperator: GreaterThanOrEqualToThreshold
    ---
    apiVersion: trimtab.io/v1alpha1
    kind: Alarm
    metadata: {name: deploying}
    spec:
      metric: {namespace: Acme/Deploy, metricName: InProgress, statistic: Maximum, period: 60}
      evaluationPeriods: 1
      threshold: 0
      comparisonOperator: GreaterThanThreshold
    """
COMPOSITE_ALARM = """
    apiVersion: trimtab.io/v1alpha1
    kind: CompositeAlarm
    metadata: {name: service-degraded}
    spec:
      description: CPU and memory high at once
      rule:
        allOf:
          - alarmRef: cpu-high
          - anyOf:
              - {alarmRef: memory-high}
              - {alarmRef: memory-high, state: INSUFFICIENT_DATA}
          - {alarmRef: deploying, state: ALARM, not: true}
      actionsSuppressor: {alarmRef: deploying, waitPeriod: 300, extensionPeriod: 120}
      alarmActions:
        - arn: arn:aws:sns:us-east-1:123456789012:oncall
      tags: {team: core}
    """


@dataclass
class Case:
    key: str
    files: dict[str, str]
    drift: Callable[[Any], None]
    changed: set[str]


CASES = [
    Case("Queue/jobs", {"q.yaml": """
        apiVersion: trimtab.io/v1alpha1
        kind: Queue
        metadata: {name: jobs}
        spec:
          visibilityTimeoutSeconds: 120
          encryption: {type: SSE-SQS}
          tags: {team: core}
        """}, _drift_queue, {"visibilityTimeoutSeconds"}),
    # High-throughput FIFO: DeduplicationScope messageGroup with FifoThroughputLimit perMessageGroupId.
    # (redriveAllowPolicy is not here: moto drops RedriveAllowPolicy, docs/aws-emulator.md; its request
    # is checked against botocore's model in tests/test_queue_attributes.py.)
    Case("Queue/events-dlq.fifo", {"q.yaml": """
        apiVersion: trimtab.io/v1alpha1
        kind: Queue
        metadata: {name: events-dlq.fifo}
        spec:
          fifo: true
          deduplicationScope: messageGroup
          fifoThroughputLimit: perMessageGroupId
        """}, _drift_fifo, {"fifoThroughputLimit"}),
    Case("Bucket/acme-test-logs", {"b.yaml": """
        apiVersion: trimtab.io/v1alpha1
        kind: Bucket
        metadata: {name: acme-test-logs}
        spec:
          versioning: true
          encryption: {type: SSE-KMS, bucketKey: true}
          lifecycleRules:
            - id: expire
              prefix: tmp/
              expiration: {days: 7}
          requireTls: true
          tags: {team: core}
        """}, _drift_bucket, {"versioning"}),
    Case("Bucket/acme-test-site", {"logs.yaml": LOG_BUCKET, "site.yaml": SITE_BUCKET}, _drift_ownership,
         {"ownershipControls"}),
    Case("Bucket/acme-test-site", {"logs.yaml": LOG_BUCKET, "site.yaml": SITE_BUCKET}, _drift_logging,
         {"logging.targetPrefix"}),
    Case("Bucket/acme-test-web", {"web.yaml": WEB_BUCKET}, _drift_cors, {"cors"}),
    Case("Bucket/acme-test-web", {"web.yaml": WEB_BUCKET}, _drift_website, {"website.IndexDocument.Suffix"}),
    Case("Bucket/acme-test-web", {"web.yaml": WEB_BUCKET}, _drift_acceleration, {"transferAcceleration"}),
    Case("Bucket/acme-test-private", {"private.yaml": NO_WEB_BUCKET}, _drift_publish_private,
         {"website.IndexDocument", "cors"}),
    Case("Bucket/acme-test-archive", ARCHIVE, _drift_notifications, {"notifications.queues"}),
    Case("Bucket/acme-test-archive", ARCHIVE, _drift_object_lock, {"objectLock.defaultRetention.days"}),
    Case("Bucket/acme-test-archive", ARCHIVE, _drift_replication, {"replication.rules"}),
    pytest.param(Case("ScalableTarget/worker", {"t.yaml": TARGET}, _drift_target, {"maxCapacity"}), marks=ECS_SEEDED),
    pytest.param(Case("ScalingPolicy/worker-out", {"t.yaml": TARGET, "p.yaml": """
        apiVersion: trimtab.io/v1alpha1
        kind: ScalingPolicy
        metadata: {name: worker-out}
        spec:
          targetRef: worker
          stepScaling:
            adjustmentType: ChangeInCapacity
            cooldown: 60
            steps:
              - {lowerBound: 0, adjustment: 2}
        """}, _drift_policy, {"stepScaling.steps"}), marks=ECS_SEEDED),
    pytest.param(Case("ScheduledAction/worker-business-hours", {"t.yaml": TARGET, "s.yaml": SCHEDULED_ACTION},
                      _drift_scheduled_action, {"scalableTargetAction.minCapacity"}), marks=ECS_SEEDED),
    Case("Topic/alerts", {"t.yaml": """
        apiVersion: trimtab.io/v1alpha1
        kind: Topic
        metadata: {name: alerts}
        spec:
          displayName: Alerts
          encryption: {kmsMasterKeyId: alias/aws/sns}
          policy:
            Version: "2012-10-17"
            Statement:
              - Effect: Allow
                Principal: {Service: cloudwatch.amazonaws.com}
                Action: sns:Publish
                Resource: ${Self.Arn}
          deliveryPolicy:
            http:
              defaultHealthyRetryPolicy: {minDelayTarget: 20, maxDelayTarget: 20, numRetries: 3}
          tags: {team: core}
        """}, _drift_topic, {"displayName"}),
    Case("Subscription/alerts-feed", SUBSCRIPTION, _drift_subscription, {"filterPolicy.severity"}),
    Case("Alarm/cpu-high", {"a.yaml": """
        apiVersion: trimtab.io/v1alpha1
        kind: Alarm
        metadata: {name: cpu-high}
        spec:
          metric:
            namespace: AWS/ECS
            metricName: CPUUtilization
            dimensions: {ClusterName: main, ServiceName: worker}
            statistic: Average
            period: 60
          evaluationPeriods: 3
          threshold: 80
          comparisonOperator: GreaterThanOrEqualToThreshold
          alarmActions:
            - arn: arn:aws:sns:us-east-1:123456789012:oncall
          tags: {team: core}
        """}, _drift_alarm, {"threshold"}),
    Case("Alarm/latency-anomaly", {"a.yaml": """
        apiVersion: trimtab.io/v1alpha1
        kind: Alarm
        metadata: {name: latency-anomaly}
        spec:
          metrics:
            - id: m1
              metricStat:
                metric:
                  namespace: AWS/ApplicationELB
                  metricName: TargetResponseTime
                  dimensions: {LoadBalancer: app/web/50dc6c495c0c9188}
                stat: p99
                period: 60
            - id: ad1
              expression: ANOMALY_DETECTION_BAND(m1, 2)
          evaluationPeriods: 5
          thresholdMetricId: ad1
          comparisonOperator: GreaterThanUpperThreshold
          evaluateLowSampleCountPercentile: ignore
          alarmActions:
            - arn: arn:aws:sns:us-east-1:123456789012:oncall
        """}, _drift_anomaly_alarm, {"comparisonOperator"}),
    Case("Alarm/busiest-task-cpu", {"a.yaml": """
        apiVersion: trimtab.io/v1alpha1
        kind: Alarm
        metadata: {name: busiest-task-cpu}
        spec:
          metrics:
            - id: q1
              expression: SELECT MAX(CPUUtilization) FROM SCHEMA("AWS/ECS", ClusterName, ServiceName)
              period: 300
          evaluationPeriods: 3
          threshold: 90
          comparisonOperator: GreaterThanThreshold
        """}, _drift_insights_alarm, {"metrics"}),
    Case("CompositeAlarm/service-degraded", {"children.yaml": CHILD_ALARMS, "c.yaml": COMPOSITE_ALARM},
         _drift_composite_alarm, {"rule"}),
]


@pytest.mark.parametrize("case", CASES, ids=lambda case: f"{case.key.split('/')[0]}-{case.drift.__name__}")
async def test_create_drift_correct_idempotent(harness: Harness, boto: Any, case: Case) -> None:
    harness.write(case.files)

    created = await harness.apply()
    assert created.outcomes[case.key].action is Action.CREATE and created.outcomes[case.key].applied
    assert not created.failed

    harness.recorder.clear()
    in_sync = await harness.plan()
    assert in_sync.in_sync, {k: o.changes for k, o in in_sync.outcomes.items()}
    assert harness.recorder.mutating() == []

    case.drift(boto)

    planned = await harness.plan()
    outcome = planned.outcomes[case.key]
    assert outcome.action is Action.UPDATE and not outcome.applied
    assert {change.path for change in outcome.changes} == case.changed
    assert all(other.action is Action.IN_SYNC for key, other in planned.outcomes.items() if key != case.key)

    harness.recorder.clear()
    corrected = await harness.apply()
    assert corrected.outcomes[case.key].action is Action.UPDATE and corrected.outcomes[case.key].applied
    assert harness.recorder.mutating(), "the correction made no AWS change"

    harness.recorder.clear()
    again = await harness.apply()
    assert again.in_sync
    assert harness.recorder.mutating() == [], "a second apply must make zero mutating calls"


@ECS_SEEDED
async def test_a_removed_scheduled_action_is_deleted_before_its_target(harness: Harness, boto: Any) -> None:
    harness.write({"t.yaml": TARGET, "s.yaml": SCHEDULED_ACTION})
    assert not (await harness.apply()).failed
    entries = sorted(await harness.store.inventory(), key=delete_rank)
    assert [entry.kind for entry in entries] == ["ScheduledAction", "ScalableTarget"]
    action = entries[0]
    await retire(action, harness.reconciler.clients[action.kind], harness.store, CONTROLLER_ID, delete=True)
    left = boto("application-autoscaling").describe_scheduled_actions(ServiceNamespace="ecs")["ScheduledActions"]
    assert left == []
    assert [entry.kind for entry in await harness.store.inventory()] == ["ScalableTarget"]


async def test_a_composite_alarm_renders_its_rule_and_is_deleted_before_its_alarms(harness: Harness, boto: Any) -> None:
    harness.write({"children.yaml": CHILD_ALARMS, "c.yaml": COMPOSITE_ALARM})
    assert not (await harness.apply()).failed
    cloudwatch = boto("cloudwatch")
    (alarm,) = cloudwatch.describe_alarms(AlarmNames=["service-degraded"], AlarmTypes=["CompositeAlarm"])[
        "CompositeAlarms"]
    assert alarm["AlarmRule"] == ('ALARM("cpu-high") AND (ALARM("memory-high") OR INSUFFICIENT_DATA("memory-high")) '
                                  'AND NOT ALARM("deploying")')
    assert alarm["ActionsSuppressor"].endswith(":alarm:deploying")  # the reference, as an ARN
    entries = sorted(await harness.store.inventory(), key=delete_rank)
    assert [entry.kind for entry in entries] == ["CompositeAlarm", "Alarm", "Alarm", "Alarm"]
    composite = entries[0]
    await retire(composite, harness.reconciler.clients[composite.kind], harness.store, CONTROLLER_ID, delete=True)
    assert cloudwatch.describe_alarms(AlarmNames=["service-degraded"])["CompositeAlarms"] == []


async def test_a_removed_subscription_is_unsubscribed_before_its_topic_and_queues(harness: Harness,
                                                                                 boto: Any) -> None:
    harness.write(SUBSCRIPTION)
    assert not (await harness.apply()).failed
    entries = sorted(await harness.store.inventory(), key=delete_rank)
    assert entries[0].kind == "Subscription" and entries[-1].kind == "Topic"
    sqs = boto("sqs")
    for queue in ("alerts-feed", "alerts-undelivered"):  # the dead-letter queue too lets the topic send
        url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
        policy = json.loads(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])["Attributes"]["Policy"])
        assert [statement["Sid"] for statement in policy["Statement"]] == ["trimtab-sns-alerts"], queue
    sns = boto("sns")
    (topic,) = [t["TopicArn"] for t in sns.list_topics()["Topics"] if t["TopicArn"].endswith(":alerts")]
    assert await retire(entries[0], harness.reconciler.clients["Subscription"], harness.store, CONTROLLER_ID,
                        delete=True) == (Retired.DELETED, "")
    assert sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"] == []


async def test_observe_reads_only_what_the_spec_manages(harness: Harness) -> None:
    harness.write({"b.yaml": """
        apiVersion: trimtab.io/v1alpha1
        kind: Bucket
        metadata: {name: acme-plain}
        spec: {}
        """})
    await harness.apply()
    harness.recorder.clear()
    await harness.plan()
    operations = set(harness.recorder.operations())
    assert "GetPublicAccessBlock" in operations  # always managed
    unmanaged = {"GetBucketLifecycleConfiguration", "GetBucketPolicy", "GetBucketEncryption", "GetBucketVersioning",
                 "GetBucketOwnershipControls", "GetBucketLogging", "GetBucketCors", "GetBucketWebsite",
                 "GetBucketAccelerateConfiguration", "GetBucketRequestPayment",
                 "ListBucketIntelligentTieringConfigurations"}
    assert operations.isdisjoint(unmanaged), operations & unmanaged
    assert operations.isdisjoint({"GetBucketNotificationConfiguration", "GetObjectLockConfiguration",
                                  "GetBucketReplication"})


@pytest.mark.moto_only("moto writes an access log object at once for every request; S3 delivers them later, in batches")
async def test_deleting_a_logged_bucket_and_its_log_bucket(harness: Harness, boto: Any) -> None:
    """The logged bucket goes; its log bucket then holds the logs S3 (and moto) delivered, and trimtab never
    deletes objects: a TerminalError until someone empties it, then the delete succeeds."""
    harness.write({"logs.yaml": LOG_BUCKET, "site.yaml": SITE_BUCKET})
    assert not (await harness.apply()).failed
    entries = {entry.key: entry for entry in await harness.store.inventory()}
    site, logs = entries["Bucket/acme-test-site"], entries["Bucket/acme-test-access-logs"]
    client = harness.reconciler.clients["Bucket"]
    assert await retire(site, client, harness.store, CONTROLLER_ID, delete=True) == (Retired.DELETED, "")
    s3 = boto("s3")
    names = [bucket["Name"] for bucket in s3.list_buckets()["Buckets"]]
    assert "acme-test-site" not in names and "acme-test-access-logs" in names
    delivered = s3.list_objects_v2(Bucket="acme-test-access-logs").get("Contents", [])
    assert delivered, "moto delivered no access logs"
    with pytest.raises(TerminalError, match="not empty"):
        await retire(logs, client, harness.store, CONTROLLER_ID, delete=True)
    for item in delivered:
        s3.delete_object(Bucket="acme-test-access-logs", Key=item["Key"])
    assert await retire(logs, client, harness.store, CONTROLLER_ID, delete=True) == (Retired.DELETED, "")
    assert "acme-test-access-logs" not in [bucket["Name"] for bucket in s3.list_buckets()["Buckets"]]


async def test_replication_removed_and_object_lock_never_turned_off(harness: Harness, boto: Any) -> None:
    """`rules: []` deletes the replication and then reads in sync; `objectLock.enabled: false` on a bucket that
    has Object Lock is a TerminalError naming the way out, and no call tries to turn it off."""
    harness.write(ARCHIVE)
    assert not (await harness.apply()).failed
    archive = ARCHIVE["buckets.yaml"]
    without_replication = archive[:archive.index("      replication:")] + (
        "      replication: {role: 'arn:aws:iam::123456789012:role/r', rules: []}\n")
    harness.write({**ARCHIVE, "buckets.yaml": without_replication})
    removed = await harness.apply()
    assert removed.outcomes["Bucket/acme-test-archive"].applied and not removed.failed
    assert "DeleteBucketReplication" in harness.recorder.operations()
    assert (await harness.plan()).in_sync
    unlocked = without_replication.replace(
        "      objectLock:\n        defaultRetention: {mode: GOVERNANCE, days: 30}\n",
        "      objectLock: {enabled: false}\n")
    assert unlocked != without_replication
    harness.write({**ARCHIVE, "buckets.yaml": unlocked})
    harness.recorder.clear()
    refused = (await harness.apply()).outcomes["Bucket/acme-test-archive"]
    assert refused.action is Action.ERROR and refused.error_code == "Terminal" and not refused.retryable
    assert "can never turn off" in refused.message and "PutObjectLockConfiguration" not in harness.recorder.operations()
    lock = boto("s3").get_object_lock_configuration(Bucket="acme-test-archive")["ObjectLockConfiguration"]
    assert lock["ObjectLockEnabled"] == "Enabled"


async def test_alarms_are_observed_100_names_per_call(harness: Harness) -> None:
    alarm = """
        apiVersion: trimtab.io/v1alpha1
        kind: Alarm
        metadata: {{name: alarm-{index:03d}}}
        spec:
          metric: {{namespace: Test, metricName: M{index}, statistic: Sum, period: 60}}
          evaluationPeriods: 1
          threshold: 1
          comparisonOperator: GreaterThanThreshold
        """
    harness.write({f"a{index:03d}.yaml": alarm.format(index=index) for index in range(150)})
    await harness.apply()
    harness.recorder.clear()
    result = await harness.plan()
    assert result.in_sync and len(result.outcomes) == 150
    assert harness.recorder.operations().count("DescribeAlarms") == 2  # ceil(150 / 100)


async def test_observe_only_reports_drift_and_changes_nothing(harness: Harness, boto: Any) -> None:
    harness.write(CASES[0].files)
    await harness.apply()
    _drift_queue(boto)
    spec = textwrap.dedent(CASES[0].files["q.yaml"])
    harness.write({"q.yaml": spec.replace("spec:\n", "spec:\n  managementPolicy: ObserveOnly\n")})
    harness.recorder.clear()
    result = await harness.apply()
    outcome = result.outcomes["Queue/jobs"]
    assert outcome.action is Action.UPDATE and not outcome.applied
    assert [change.path for change in outcome.changes] == ["visibilityTimeoutSeconds"]
    assert harness.recorder.mutating() == []


@pytest.mark.moto_only(SEEDS_ECS)
async def test_the_full_scenario_applies_and_a_second_apply_changes_nothing(harness: Harness) -> None:
    harness.write({
        str(path.relative_to(REPO / "specs")): path.read_text() for path in (REPO / "specs").rglob("*.yaml")
    })
    first = await harness.apply()
    assert not first.failed and first.count(Action.CREATE, applied=True) == len(first.outcomes) == EXAMPLE_SPECS
    harness.recorder.clear()
    second = await harness.apply()
    assert second.in_sync
    assert harness.recorder.mutating() == []
