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

def _predictive_math(metric_name: str) -> dict[str, Any]:
    """A predictive scaling policy's customized metric writing every field of its metric math."""
    return {"metrics": [
        {"id": "raw", "metricStat": {"metric": {
            "namespace": "AWS/ECS", "metricName": metric_name,
            "dimensions": {"ServiceName": "web", "ClusterName": "main"}}, "stat": "Average", "unit": "Percent"},
         "returnData": False},
        {"id": "scaled", "expression": "raw / 100", "label": f"{metric_name} / 100", "returnData": True}]}


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
        "cors": [{"id": "site", "allowedMethods": ["GET", "HEAD"], "allowedOrigins": ["https://www.example.com"],
                  "allowedHeaders": ["*"], "exposeHeaders": ["ETag"], "maxAgeSeconds": 3000}],
        "website": {"indexDocument": "index.html", "errorDocument": "404.html", "routingRules": [
            {"condition": {"keyPrefixEquals": "docs/", "httpErrorCodeReturnedEquals": "404"},
             "redirect": {"hostName": "docs.example.com", "protocol": "https", "replaceKeyPrefixWith": "guide/",
                          "httpRedirectCode": "301"}},
            {"redirect": {"replaceKeyWith": "index.html"}}]},
        "transferAcceleration": True, "requestPayment": "BucketOwner",
        "intelligentTieringConfigurations": [
            {"id": "archive", "enabled": True, "prefix": "archive/", "tags": {"class": "cold"},
             "tierings": [{"days": 90, "accessTier": "ARCHIVE_ACCESS"},
                          {"days": 180, "accessTier": "DEEP_ARCHIVE_ACCESS"}]}],
        "policy": BUCKET_POLICY, "requireTls": True, "tags": {"team": "core"},
    }, {
        "ownershipControls": "ObjectWriter",
        "logging": {"targetBucketRef": "base-logs"},
        "website": {"redirectAllRequestsTo": {"hostName": "www.example.com", "protocol": "https"}},
    }, {
        "versioning": True,
        "notifications": {
            "queues": [{"id": "created", "queueRef": "base-events", "events": ["s3:ObjectCreated:*"],
                        "filter": {"prefix": "in/", "suffix": ".json"}}],
            "topics": [{"id": "removed", "topicRef": "base-alerts", "events": ["s3:ObjectRemoved:*"],
                        "filter": {"prefix": "in/", "suffix": ".json"}}],
            "lambdaFunctions": [{"id": "restored", "events": ["s3:ObjectRestore:*"],
                                 "lambdaFunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:base",
                                 "filter": {"prefix": "in/", "suffix": ".json"}}],
        },
        "objectLock": {"enabled": True, "defaultRetention": {"mode": "GOVERNANCE", "days": 30}},
        "replication": {"role": "arn:aws:iam::123456789012:role/base-replication", "rules": [
            {"id": "evidence", "enabled": True, "prefix": "in/", "tags": {"class": "evidence"},
             "deleteMarkerReplication": False,
             "destination": {"bucketRef": "base-replica", "storageClass": "STANDARD_IA",
                             "account": "123456789012"}}]},
    }, {
        "versioning": True,
        "objectLock": {"defaultRetention": {"mode": "COMPLIANCE", "years": 1}},
        "replication": {"role": "arn:aws:iam::123456789012:role/base-replication", "rules": [
            {"id": "all", "priority": 1, "deleteMarkerReplication": True,
             "destination": {"bucket": "arn:aws:s3:::base-replica"}}]},
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
                {"targetValue": 50, **{metric: _predictive_math(name) for metric, name in (
                    ("customizedScalingMetric", "CPUUtilization"), ("customizedLoadMetric", "CPUUtilization"),
                    ("customizedCapacityMetric", "RunningTaskCount"))}},
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
    }, {
        # Anomaly detection: the band (ad1) returns data beside m1, and is the threshold.
        "metrics": [
            {"id": "m1", "metricStat": {
                "metric": {"namespace": "AWS/ApplicationELB", "metricName": "TargetResponseTime",
                           "dimensions": {"LoadBalancer": "app/web/50dc6c495c0c9188"}},
                "stat": "p99", "period": 300}},
            {"id": "ad1", "expression": "ANOMALY_DETECTION_BAND(m1, 2)"},
        ],
        "thresholdMetricId": "ad1", "comparisonOperator": "GreaterThanUpperThreshold", "evaluationPeriods": 3,
        "evaluateLowSampleCountPercentile": "ignore",
    }, {
        # A Metrics Insights query, with its period on the query.
        "metrics": [{"id": "q1", "period": 300, "expression":
                     'SELECT MAX(CPUUtilization) FROM SCHEMA("AWS/ECS", ClusterName, ServiceName)'}],
        "evaluationPeriods": 1, "threshold": 90, "comparisonOperator": "GreaterThanThreshold",
    }],
    "CompositeAlarm": [{
        "alarmName": "base-composite", "description": "CPU and memory",
        "rule": {"anyOf": [
            {"alarmRef": "base-alarm", "state": "ALARM", "not": False},
            {"anyOf": [{"alarmRef": "base-alarm", "state": "OK", "not": True}]},
            {"allOf": [{"alarmRef": "base-alarm", "state": "INSUFFICIENT_DATA"}], "not": True},
        ]},
        "actionsEnabled": True, "alarmActions": [{"arn": SNS_ARN}, {"topicRef": "base-topic"}],
        "okActions": [{"arn": SNS_ARN}], "insufficientDataActions": [{"topicRef": "base-topic"}, {"arn": SNS_ARN}],
        "actionsSuppressor": {"alarmRef": "base-alarm", "waitPeriod": 120, "extensionPeriod": 60},
        "tags": {"team": "core"},
    }, {
        "rule": {"allOf": [
            {"alarmRef": "base-alarm", "state": "OK", "not": True},
            {"anyOf": [{"alarmRef": "base-alarm", "state": "ALARM", "not": False}]},
            {"allOf": [{"compositeAlarmRef": "base-child", "state": "ALARM", "not": False}]},
            {"compositeAlarmRef": "base-child", "state": "OK"},
        ]},
        "actionsSuppressor": {"alarm": "base-alarm", "waitPeriod": 60, "extensionPeriod": 60},
    }, {
        "alarmRule": 'ALARM("base-alarm") AND NOT OK("base-alarm")',
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
