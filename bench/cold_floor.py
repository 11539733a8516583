"""The cold-converge floor: as many calls of each operation as trimtab's cold converge made, issued by
a bare aiobotocore loop on fresh names in the same moto server, in two waves (what creates a resource,
then what needs it to exist: bucket settings, the queue ARN read). What no controller can beat.

A create cannot be replayed on a resource that exists, so each call gets a name of its own
("floor-..."); scalable targets are registered again on the existing ECS services (an upsert, the
same work for the emulator) and policies are put on them under new names.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from itertools import count
from typing import Any

from bench.cpu import Processes, Usage
from bench.floor import replay

Params = Callable[[int], dict[str, Any]]
OWNER = {"trimtab.io/owner": "floor"}
DIMENSION = "ecs:service:DesiredCount"
# Operations that need the resource a first-wave call created.
SECOND_WAVE = {"GetQueueAttributes", "ListQueueTags", "PutBucketTagging", "PutBucketVersioning",
               "PutBucketEncryption", "PutBucketPolicy", "PutPublicAccessBlock", "GetBucketTagging",
               "GetBucketVersioning", "GetBucketEncryption", "GetBucketPolicy", "GetPublicAccessBlock",
               "GetResources"}
_BUCKET_READS = ("GetBucketTagging", "GetBucketVersioning", "GetBucketEncryption", "GetBucketPolicy",
                 "GetPublicAccessBlock")


def _policy(bucket: str) -> str:
    arn = f"arn:aws:s3:::{bucket}"
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
        "Resource": [arn, f"{arn}/*"], "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]})


def _alarm(i: int) -> dict[str, Any]:
    return {"AlarmName": f"floor-a{i}", "Namespace": "AWS/SQS", "MetricName": "ApproximateNumberOfMessagesVisible",
            "Statistic": "Maximum", "Period": 60, "EvaluationPeriods": 5, "Threshold": 100.0,
            "ComparisonOperator": "GreaterThanThreshold", "Dimensions": [{"Name": "QueueName", "Value": f"q{i}"}],
            "Tags": [{"Key": key, "Value": value} for key, value in OWNER.items()]}


def _parameters(queue_base: str, targets: list[str]) -> dict[tuple[str, str], Params]:
    """(service, operation) -> the parameters of its i-th call."""
    def target(i: int) -> str:
        return targets[i % len(targets)]

    def bucket(i: int) -> str:
        return f"floor-b{i}"

    return {
        ("sqs", "GetQueueUrl"): lambda i: {"QueueName": f"floor-q{i}"},
        ("sqs", "CreateQueue"): lambda i: {"QueueName": f"floor-q{i}", "Attributes": {"VisibilityTimeout": "30"},
                                           "tags": OWNER},
        ("sqs", "GetQueueAttributes"): lambda i: {"QueueUrl": f"{queue_base}/floor-q{i}",
                                                  "AttributeNames": ["QueueArn"]},
        ("sqs", "ListQueueTags"): lambda i: {"QueueUrl": f"{queue_base}/floor-q{i}"},
        **{("s3", operation): lambda i: {"Bucket": bucket(i)} for operation in _BUCKET_READS},
        ("resourcegroupstaggingapi", "GetResources"): lambda i: {
            "ResourceARNList": [f"arn:aws:s3:::{bucket(n)}" for n in range(i, i + 100)]},
        ("s3", "HeadBucket"): lambda i: {"Bucket": bucket(i)},
        ("s3", "CreateBucket"): lambda i: {"Bucket": bucket(i)},
        ("s3", "PutBucketTagging"): lambda i: {"Bucket": bucket(i), "Tagging": {"TagSet": [
            {"Key": key, "Value": value} for key, value in OWNER.items()]}},
        ("s3", "PutBucketVersioning"): lambda i: {"Bucket": bucket(i),
                                                  "VersioningConfiguration": {"Status": "Enabled"}},
        ("s3", "PutBucketEncryption"): lambda i: {"Bucket": bucket(i), "ServerSideEncryptionConfiguration": {
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}},
        ("s3", "PutBucketPolicy"): lambda i: {"Bucket": bucket(i), "Policy": _policy(bucket(i))},
        ("s3", "PutPublicAccessBlock"): lambda i: {"Bucket": bucket(i), "PublicAccessBlockConfiguration": {
            "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True}},
        ("cloudwatch", "PutMetricAlarm"): _alarm,
        ("cloudwatch", "DescribeAlarms"): lambda i: {"AlarmNames": [f"floor-a{n}" for n in range(i, i + 100)]},
        ("application-autoscaling", "RegisterScalableTarget"): lambda i: {
            "ServiceNamespace": "ecs", "ResourceId": target(i), "ScalableDimension": DIMENSION,
            "MinCapacity": 1, "MaxCapacity": 10},
        ("application-autoscaling", "DescribeScalableTargets"): lambda i: {
            "ServiceNamespace": "ecs", "ResourceIds": [target(n) for n in range(i, i + 50)]},
        ("application-autoscaling", "PutScalingPolicy"): lambda i: {
            "PolicyName": f"floor-p{i}", "ServiceNamespace": "ecs", "ResourceId": target(i),
            "ScalableDimension": DIMENSION, "PolicyType": "TargetTrackingScaling",
            "TargetTrackingScalingPolicyConfiguration": {"TargetValue": 60.0, "PredefinedMetricSpecification": {
                "PredefinedMetricType": "ECSServiceAverageCPUUtilization"}}},
        ("application-autoscaling", "DescribeScalingPolicies"): lambda i: {
            "ServiceNamespace": "ecs", "ResourceId": target(i)},
    }


def _calls(counts: dict[tuple[str, str], int], parameters: dict[tuple[str, str], Params],
           ) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for (service, operation), n in sorted(counts.items()):
        index = count()
        for _ in range(n):
            yield service, operation, parameters[(service, operation)](next(index))


def measure_cold_floor(
    counts: dict[tuple[str, str], int], options: dict[str, Any], queue_base: str, targets: list[str],
    concurrency: int, *, processes: Processes,
) -> tuple[Usage, list[str]]:
    """(time and CPU of both waves, operations it could not replay) at the given concurrency."""
    parameters = _parameters(queue_base, targets)
    known = {key: n for key, n in counts.items() if key in parameters}
    skipped = sorted(f"{s}:{o}" for (s, o) in counts if (s, o) not in parameters)
    first = {key: n for key, n in known.items() if key[1] not in SECOND_WAVE}
    second = {key: n for key, n in known.items() if key[1] in SECOND_WAVE}
    usage = Usage()
    for wave in (first, second):
        if wave:
            usage.add(replay(list(_calls(wave, parameters)), options, concurrency, processes))
    return usage, skipped
