"""Valid specs that between them write every field of every kind, for tests that change one field at a
time (tests/test_model_mapping.py) and as the skeletons of generated specs (tests/test_convergence.py)."""

from __future__ import annotations

import copy
from typing import Any

import yaml

from controller.api.envelope import Resource
from controller.api.errors import SpecError
from controller.api.validation import parse_document
from controller.api.yamldoc import load_documents

QUEUE_POLICY = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "sqs:SendMessage",
     "Resource": "arn:aws:sqs:us-east-1:123456789012:base-queue"}]}
BUCKET_POLICY = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "s3:GetObject",
     "Resource": "arn:aws:s3:::base-bucket/*"}]}
SNS_ARN = "arn:aws:sns:us-east-1:123456789012:alerts"
TOPIC_POLICY = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "cloudwatch.amazonaws.com"}, "Action": "sns:Publish",
     "Resource": "arn:aws:sns:us-east-1:123456789012:base-topic"}]}
DELIVERY_POLICY = {"http": {"defaultHealthyRetryPolicy": {
    "minDelayTarget": 20, "maxDelayTarget": 20, "numRetries": 3, "numMaxDelayRetries": 0,
    "numNoDelayRetries": 0, "numMinDelayRetries": 0, "backoffFunction": "linear"}}}

BASES: dict[str, list[dict[str, Any]]] = {
    "Queue": [{
        "queueName": "base-queue", "visibilityTimeoutSeconds": 60, "messageRetentionSeconds": 86400,
        "delaySeconds": 5, "maximumMessageSize": 2048, "receiveMessageWaitTimeSeconds": 10,
        "deadLetterQueue": {"queueRef": "base-dlq", "maxReceiveCount": 5},
        "encryption": {"type": "SSE-KMS", "kmsKeyId": "alias/aws/sqs", "kmsDataKeyReusePeriodSeconds": 300},
        "policy": QUEUE_POLICY, "tags": {"team": "core"},
        "redriveAllowPolicy": {"redrivePermission": "byQueue",
                               "sourceQueueArns": ["arn:aws:sqs:us-east-1:123456789012:base-source"]},
    }, {
        "queueName": "base-queue.fifo", "fifo": True, "contentBasedDeduplication": True,
        "deduplicationScope": "messageGroup", "fifoThroughputLimit": "perMessageGroupId",
        "deletionPolicy": "Retain", "managementPolicy": "Full", "adopt": False,
    }],
    "Bucket": [{
        "bucketName": "base-bucket", "region": "us-east-1", "versioning": True,
        "encryption": {"type": "SSE-KMS", "kmsKeyId": "alias/aws/s3", "bucketKey": True},
        "publicAccessBlock": {"blockPublicAcls": True, "ignorePublicAcls": True, "blockPublicPolicy": True,
                              "restrictPublicBuckets": True},
        "lifecycleRules": [
            {"id": "tiering", "enabled": True, "prefix": "logs/", "tags": {"class": "log"},
             "expiration": {"days": 365},
             "noncurrentVersionExpiration": {"noncurrentDays": 30, "newerNoncurrentVersions": 3},
             "transitions": [{"days": 0, "storageClass": "GLACIER"}],
             "noncurrentVersionTransitions": [{"noncurrentDays": 0, "storageClass": "GLACIER"}]},
            {"id": "uploads", "expiration": {"expiredObjectDeleteMarker": True},
             "abortIncompleteMultipartUpload": {"daysAfterInitiation": 7}},
            # One bound each: a rule with both must keep lessThan above greaterThan, which would stop
            # the bound tests from setting either alone to its extreme.
            {"id": "large", "prefix": "media/", "objectSizeGreaterThan": 1048576,
             "transitions": [{"days": 30, "storageClass": "STANDARD_IA"}]},
            {"id": "small", "objectSizeLessThan": 1024, "expiration": {"days": 90}},
        ],
        "ownershipControls": "BucketOwnerEnforced",
        "logging": {"targetBucket": "base-logs", "targetPrefix": "base-bucket/"},
        "policy": BUCKET_POLICY, "requireTls": True, "tags": {"team": "core"},
    }, {
        "ownershipControls": "ObjectWriter",
        "logging": {"targetBucketRef": "base-logs"},
    }],
    "ScalableTarget": [{
        "ecsService": {"cluster": "main", "service": "web"}, "minCapacity": 1, "maxCapacity": 4,
        "suspendedState": {"dynamicScalingInSuspended": False, "dynamicScalingOutSuspended": False,
                           "scheduledScalingSuspended": False},
        "roleARN": "arn:aws:iam::123456789012:role/aas-custom",
    }, {
        "serviceNamespace": "dynamodb", "resourceId": "table/orders",
        "scalableDimension": "dynamodb:table:ReadCapacityUnits", "minCapacity": 1, "maxCapacity": 4,
    }],
    "ScalingPolicy": [{
        "policyName": "base-policy", "targetRef": "base-target",
        "targetTracking": {"targetValue": 50, "predefinedMetric": {"type": "ALBRequestCountPerTarget",
                                                                   "resourceLabel": "app/a/1/targetgroup/t/2"},
                           "scaleInCooldown": 60, "scaleOutCooldown": 60, "disableScaleIn": False},
    }, {
        "targetRef": "base-target",
        "targetTracking": {"targetValue": 10, "customizedMetric": {
            "namespace": "AWS/SQS", "metricName": "ApproximateNumberOfMessagesVisible",
            "dimensions": {"QueueName": "orders"}, "statistic": "Average", "unit": "Count"}},
    }, {
        "targetRef": "base-target",
        "targetTracking": {"targetValue": 10, "customizedMetric": {"metrics": [
            {"id": "m1", "label": "visible", "returnData": False, "metricStat": {
                "metric": {"namespace": "AWS/SQS", "metricName": "ApproximateNumberOfMessagesVisible",
                           "dimensions": {"QueueName": "orders"}},
                "stat": "Sum", "unit": "Count"}},
            {"id": "e1", "expression": "m1 / 2", "returnData": True},
        ]}},
    }, {
        "targetRef": "base-target",
        "targetTracking": {"queueBacklogPerTask": {"queueRef": "orders", "target": 100}},
    }, {
        "targetRef": "base-target",
        "stepScaling": {"adjustmentType": "PercentChangeInCapacity", "cooldown": 60,
                        "metricAggregationType": "Maximum", "minAdjustmentMagnitude": 1,
                        "steps": [{"upperBound": 0, "adjustment": -10}, {"lowerBound": 0, "adjustment": 20}]},
    }, {
        "targetRef": "base-target",
        "predictiveScaling": {
            "metricSpecifications": [
                {"targetValue": 40, "predefinedMetricPair": {"type": "ALBRequestCount",
                                                             "resourceLabel": "app/a/1/targetgroup/t/2"}},
                {"targetValue": 1000,
                 "predefinedScalingMetric": {"type": "ALBRequestCountPerTarget",
                                             "resourceLabel": "app/a/1/targetgroup/t/2"},
                 "predefinedLoadMetric": {"type": "ALBTargetGroupRequestCount",
                                          "resourceLabel": "app/a/1/targetgroup/t/2"}},
            ],
            "mode": "ForecastAndScale", "schedulingBufferTime": 300,
            "maxCapacityBreachBehavior": "IncreaseMaxCapacity", "maxCapacityBuffer": 10,
        },
    }],
    "ScheduledAction": [{
        "scheduledActionName": "base-action", "targetRef": "base-target", "schedule": "cron(0 8 ? * MON-FRI *)",
        "timezone": "Europe/Berlin", "startTime": "2027-01-01T00:00:00Z", "endTime": "2027-12-31T00:00:00Z",
        "scalableTargetAction": {"minCapacity": 2, "maxCapacity": 8},
    }, {
        "targetRef": "base-target", "schedule": "rate(1 day)", "scalableTargetAction": {"minCapacity": 1},
    }],
    "Topic": [{
        "topicName": "base-topic", "displayName": "On call", "encryption": {"kmsMasterKeyId": "alias/aws/sns"},
        "policy": TOPIC_POLICY, "deliveryPolicy": DELIVERY_POLICY, "tags": {"team": "core"},
    }, {
        "topicName": "base-topic.fifo", "fifo": True, "contentBasedDeduplication": True,
    }],
    "Subscription": [{
        "topicRef": "base-topic", "protocol": "sqs", "queueRef": "base-queue", "rawMessageDelivery": True,
        "filterPolicy": {"severity": ["critical", "high"]}, "filterPolicyScope": "MessageBody",
        "redrivePolicy": {"deadLetterQueueRef": "base-dlq"},
    }, {
        "topicRef": "base-topic", "protocol": "https", "endpoint": "https://hooks.example.com/sns",
        "deliveryPolicy": DELIVERY_POLICY,
        "redrivePolicy": {"deadLetterTargetArn": "arn:aws:sqs:us-east-1:123456789012:base-dlq"},
    }, {
        "topicRef": "base-topic", "protocol": "firehose",
        "endpoint": "arn:aws:firehose:us-east-1:123456789012:deliverystream/base-stream",
        "subscriptionRoleArn": "arn:aws:iam::123456789012:role/sns-firehose",
    }],
    "Alarm": [{
        "alarmName": "base-alarm", "description": "CPU high",
        "metric": {"namespace": "AWS/ECS", "metricName": "CPUUtilization",
                   "dimensions": {"ClusterName": "main"}, "statistic": "Average", "period": 60, "unit": "Percent"},
        "evaluationPeriods": 3, "datapointsToAlarm": 2, "threshold": 80,
        "comparisonOperator": "GreaterThanThreshold", "treatMissingData": "notBreaching", "actionsEnabled": True,
        "alarmActions": [{"arn": SNS_ARN}, {"topicRef": "base-topic"}], "okActions": [{"arn": SNS_ARN}],
        "insufficientDataActions": [{"scalingPolicyRef": "base-policy"}, {"arn": SNS_ARN}], "tags": {"team": "core"},
    }, {
        "metric": {"namespace": "AWS/ECS", "metricName": "CPUUtilization", "extendedStatistic": "p99",
                   "period": 60},
        "evaluationPeriods": 1, "threshold": 1, "comparisonOperator": "GreaterThanThreshold",
    }, {
        "metrics": [
            {"id": "m1", "label": "sent", "returnData": False, "metricStat": {
                "metric": {"namespace": "AWS/SQS", "metricName": "NumberOfMessagesSent",
                           "dimensions": {"QueueName": "orders"}},
                "stat": "Sum", "period": 60, "unit": "Count"}},
            {"id": "e1", "expression": "m1 * 2", "returnData": True},
        ],
        "evaluationPeriods": 2, "threshold": 10, "comparisonOperator": "GreaterThanOrEqualToThreshold",
    }],
}


def document(kind: str, spec: dict[str, Any], name: str = "base") -> dict[str, Any]:
    return {"apiVersion": "trimtab.io/v1alpha1", "kind": kind, "metadata": {"name": name}, "spec": spec}


def parse(kind: str, spec: dict[str, Any], name: str = "base") -> tuple[Resource | None, list[SpecError]]:
    """parse_document on the YAML of one spec, as a file would hold it."""
    text = yaml.safe_dump(document(kind, spec, name), sort_keys=False, allow_unicode=True)
    (parsed,), errors = load_documents(text, "spec.yaml")
    assert not errors, errors
    return parse_document(parsed)


def bases(kind: str) -> list[dict[str, Any]]:
    return copy.deepcopy(BASES[kind])
