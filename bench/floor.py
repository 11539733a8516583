"""The floor: the same read calls trimtab's steady-state resync made, issued by a bare aiobotocore
loop against the same moto server, at its best concurrency. What no controller can beat."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Callable, Iterator
from typing import Any

import aioboto3
import boto3
from botocore.exceptions import ClientError
from botocore.parsers import ResponseParserError

from bench.cpu import Processes, Usage

Params = Callable[[], dict[str, Any]]


def _cycle(values: list[Any]) -> Iterator[Any]:
    return itertools.cycle(values or [None])


def _batches(values: list[str], size: int) -> list[list[str]]:
    return [values[i:i + size] for i in range(0, len(values), size)] or [[]]


def resource_parameters(options: dict[str, Any], targets: list[str]) -> dict[tuple[str, str], Params]:
    """(service, operation) -> a generator of real parameters, cycling over the resources that exist.

    `targets` are the scalable targets' resource ids, given rather than listed: moto repeats the same
    NextToken when DescribeScalableTargets has more than one page (a moto gap; docs/aws-emulator.md).
    """
    sqs, s3 = boto3.client("sqs", **options), boto3.client("s3", **options)
    cloudwatch, sns = boto3.client("cloudwatch", **options), boto3.client("sns", **options)
    urls = [url for page in sqs.get_paginator("list_queues").paginate() for url in page.get("QueueUrls", [])]
    buckets = [bucket["Name"] for bucket in s3.list_buckets()["Buckets"]]
    alarms = [alarm for page in cloudwatch.get_paginator("describe_alarms").paginate()
              for alarm in page["MetricAlarms"]]
    topics = [topic["TopicArn"] for page in sns.get_paginator("list_topics").paginate() for topic in page["Topics"]]
    subscriptions = [subscription["SubscriptionArn"]
                     for page in sns.get_paginator("list_subscriptions").paginate()
                     for subscription in page["Subscriptions"]]
    topic_cycle, subscription_cycle = _cycle(topics), _cycle(subscriptions)
    url_cycle, name_cycle = _cycle(urls), _cycle([url.rsplit("/", 1)[-1] for url in urls])
    bucket_cycle, arn_cycle = _cycle(buckets), _cycle([a["AlarmArn"] for a in alarms])
    alarm_batches = _cycle(_batches([a["AlarmName"] for a in alarms], 100))
    target_batches, target_cycle = _cycle(_batches(targets, 50)), _cycle(targets)
    # Queue ARNs from their URLs (.../ACCOUNT/NAME), as GetQueueAttributes would report them.
    queue_arns = [f"arn:aws:sqs:{options['region_name']}:{url.split('/')[-2]}:{url.rsplit('/', 1)[-1]}"
                  for url in urls]
    tagged = queue_arns + [f"arn:aws:s3:::{name}" for name in buckets] + [a["AlarmArn"] for a in alarms]
    tagged_batches = _cycle(_batches(tagged, 100))
    by_bucket = {op: (lambda: {"Bucket": next(bucket_cycle)}) for op in (
        "HeadBucket", "GetBucketVersioning", "GetBucketEncryption", "GetBucketTagging", "GetBucketPolicy",
        "GetPublicAccessBlock", "GetBucketLifecycleConfiguration", "GetBucketLocation",
        # the sub-resources of the full mix (bench/workload.py)
        "GetBucketOwnershipControls", "GetBucketLogging", "GetBucketCors", "GetBucketWebsite",
        "GetBucketAccelerateConfiguration", "GetBucketRequestPayment", "ListBucketIntelligentTieringConfigurations",
        "GetObjectLockConfiguration", "GetBucketReplication", "GetBucketNotificationConfiguration")}
    return {
        ("sqs", "GetQueueUrl"): lambda: {"QueueName": next(name_cycle)},
        ("sqs", "GetQueueAttributes"): lambda: {"QueueUrl": next(url_cycle), "AttributeNames": ["All"]},
        ("sqs", "ListQueueTags"): lambda: {"QueueUrl": next(url_cycle)},
        ("cloudwatch", "DescribeAlarms"): lambda: {"AlarmNames": next(alarm_batches)},
        ("cloudwatch", "ListTagsForResource"): lambda: {"ResourceARN": next(arn_cycle)},
        ("application-autoscaling", "DescribeScalableTargets"): lambda: {
            "ServiceNamespace": "ecs", "ResourceIds": next(target_batches)},
        ("application-autoscaling", "DescribeScalingPolicies"): lambda: {
            "ServiceNamespace": "ecs", "ResourceId": next(target_cycle)},
        ("application-autoscaling", "DescribeScheduledActions"): lambda: {
            "ServiceNamespace": "ecs", "ResourceId": next(target_cycle)},
        ("sns", "GetTopicAttributes"): lambda: {"TopicArn": next(topic_cycle)},
        ("sns", "ListTagsForResource"): lambda: {"ResourceArn": next(topic_cycle)},
        ("sns", "ListSubscriptionsByTopic"): lambda: {"TopicArn": next(topic_cycle)},
        ("sns", "GetSubscriptionAttributes"): lambda: {"SubscriptionArn": next(subscription_cycle)},
        ("resourcegroupstaggingapi", "GetResources"): lambda: {"ResourceARNList": next(tagged_batches)},
        **{("s3", op): params for op, params in by_bucket.items()},
    }


async def _replay(calls: list[tuple[str, str, dict[str, Any]]], options: dict[str, Any], concurrency: int,
                  processes: Processes) -> Usage:
    session = aioboto3.Session()
    async with contextlib.AsyncExitStack() as stack:
        clients = {service: await stack.enter_async_context(session.client(service, **options))
                   for service in sorted({service for service, _, _ in calls})}
        gate = asyncio.Semaphore(concurrency)

        async def one(service: str, operation: str, params: dict[str, Any]) -> None:
            method = getattr(clients[service], _snake(operation))
            # A 404 is a call too: trimtab's reads see the same answers. So is moto's occasional
            # HTML 500 page under load, which botocore cannot parse.
            async with gate:
                with contextlib.suppress(ClientError, ResponseParserError):
                    await method(**params)

        with processes.measure() as usage:  # from the first call: client set-up is not the floor's work
            await asyncio.gather(*(one(*call) for call in calls))
        return usage


def replay(calls: list[tuple[str, str, dict[str, Any]]], options: dict[str, Any], concurrency: int,
           processes: Processes | None = None) -> Usage:
    """Wall seconds to issue `calls` (service, operation, parameters) with at most `concurrency` in
    flight, and the CPU `processes` (by role: this process is the bare loop's "client") spent meanwhile."""
    return asyncio.run(_replay(calls, options, concurrency, processes or Processes()))


def _snake(operation: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() and i else c.lower() for i, c in enumerate(operation))


def measure_floor(
    counts: dict[tuple[str, str], int], options: dict[str, Any], targets: list[str], processes: Processes,
) -> tuple[Usage, int, list[str]]:
    """(the best full replay's time and CPU, its concurrency, operations it could not replay) for the
    given read counts."""
    parameters = resource_parameters(options, targets)
    calls = [(service, operation, parameters[(service, operation)]())
             for (service, operation), count in sorted(counts.items()) if (service, operation) in parameters
             for _ in range(count)]
    skipped = sorted(f"{s}:{o}" for (s, o) in counts if (s, o) not in parameters)
    # Rank the concurrencies on a tenth of the calls, then time all of them at the best two (a tenth
    # is a noisy judge) and keep the faster: the floor is the best a bare loop achieves.
    sample = calls[::10] or calls
    ranked = sorted((replay(sample, options, c).seconds, c) for c in (8, 32, 64))
    usage, concurrency = min(((replay(calls, options, c, processes), c) for _, c in ranked[:2]),
                             key=lambda timed: timed[0].seconds)
    return usage, concurrency, skipped
