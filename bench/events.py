"""`python -m bench --events`: drift corrected on AWS's change events, at N resources, with a one-hour resync.

trimtab runs with `--events sqs://QUEUE --resync-interval 1h` on the benchmark's workload. For each
kind, out-of-band changes are made with boto3 (as a person at the console would), and for each the
envelope EventBridge would deliver is put on the events queue (moto emits no CloudTrail events:
tests/cloudtrail_envelopes.py builds them from AWS's recorded shapes). The latency is from the
change to the corrected value read back from AWS, polled every 5 ms: CloudTrail's own delivery
delay, which AWS puts at minutes at worst (docs/operations-ecs.md), comes on top in production.

Then the read rate. Over a quiet window the feed's own calls (its long polls) are counted; a full
resync, as the backstop would run it, is counted too. The steady rate with events on and a
30-minute resync is the feed's rate plus a resync's reads every 30 minutes; with polling alone
every 5 minutes it is a resync's reads every 5 minutes. Both come from the same run's counts.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from bench.controller import Controller, progress, wait_for
from bench.workload import ECS_CLUSTER, write_workload
from controller.aws import is_mutating
from controller.emulator import EMULATOR_CREDENTIALS, LocalEmulator
from tests import cloudtrail_envelopes as envelopes

EVENTS_QUEUE = "trimtab-bench-events"
PER_KIND = 4  # out-of-band changes per kind
QUIET_SECONDS = 60.0  # the window the feed's own calls are counted over
BACKSTOP_SECONDS, POLLING_SECONDS = 1800.0, 300.0
DIMENSION = "ecs:service:DesiredCount"


@dataclass(frozen=True)
class Change:
    """One out-of-band change: make it (returning the envelope AWS would deliver), and see it corrected."""

    kind: str
    make: Callable[[], dict[str, Any]]
    corrected: Callable[[], bool]


def _changes(aws: dict[str, Any], units: int) -> list[Change]:
    sqs, s3 = boto3.client("sqs", **aws), boto3.client("s3", **aws)
    cloudwatch, scaling = boto3.client("cloudwatch", **aws), boto3.client("application-autoscaling", **aws)
    changes: list[Change] = []
    for u in range(min(PER_KIND, units)):
        prefix = f"u{u:05d}"
        url = sqs.get_queue_url(QueueName=f"{prefix}-work-0")["QueueUrl"]

        def queue(url: str = url) -> dict[str, Any]:
            sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "7"})
            return envelopes.set_queue_attributes(url, {"VisibilityTimeout": "7"})

        def visibility(url: str = url) -> bool:
            return bool(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])[
                "Attributes"]["VisibilityTimeout"] == "30")

        changes.append(Change("Queue", queue, visibility))

        bucket = f"bench-{prefix}-b0"

        def suspend(bucket: str = bucket) -> dict[str, Any]:
            s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
            return envelopes.put_bucket_versioning(bucket, "Suspended")

        def enabled(bucket: str = bucket) -> bool:
            return bool(s3.get_bucket_versioning(Bucket=bucket).get("Status") == "Enabled")

        changes.append(Change("Bucket", suspend, enabled))

        alarm = f"{prefix}-work-0-backlog"

        def threshold(alarm: str = alarm) -> dict[str, Any]:
            found = cloudwatch.describe_alarms(AlarmNames=[alarm])["MetricAlarms"][0]
            cloudwatch.put_metric_alarm(**{key: found[key] for key in (
                "AlarmName", "Namespace", "MetricName", "Statistic", "Period", "EvaluationPeriods",
                "ComparisonOperator", "Dimensions")}, Threshold=999.0)
            return envelopes.put_metric_alarm(alarm)

        def restored_threshold(alarm: str = alarm) -> bool:
            return bool(cloudwatch.describe_alarms(AlarmNames=[alarm])["MetricAlarms"][0]["Threshold"] == 50.0)

        changes.append(Change("Alarm", threshold, restored_threshold))

        resource_id = f"service/{ECS_CLUSTER}/{prefix}-svc"

        def capacity(resource_id: str = resource_id) -> dict[str, Any]:
            scaling.register_scalable_target(ServiceNamespace="ecs", ResourceId=resource_id,
                                             ScalableDimension=DIMENSION, MaxCapacity=99)
            return envelopes.register_scalable_target("ecs", resource_id, DIMENSION)

        def restored(resource_id: str = resource_id) -> bool:
            return bool(scaling.describe_scalable_targets(ServiceNamespace="ecs", ResourceIds=[resource_id])[
                "ScalableTargets"][0]["MaxCapacity"] == 10)

        changes.append(Change("ScalableTarget", capacity, restored))

        policy = f"{prefix}-cpu"

        def target_value(policy: str = policy, resource_id: str = resource_id) -> dict[str, Any]:
            scaling.put_scaling_policy(
                PolicyName=policy, ServiceNamespace="ecs", ResourceId=resource_id, ScalableDimension=DIMENSION,
                PolicyType="TargetTrackingScaling", TargetTrackingScalingPolicyConfiguration={
                    "TargetValue": 10.0, "PredefinedMetricSpecification": {
                        "PredefinedMetricType": "ECSServiceAverageCPUUtilization"}})
            return envelopes.put_scaling_policy(policy, "ecs", resource_id, DIMENSION)

        def tracked(policy: str = policy, resource_id: str = resource_id) -> bool:
            found = [p for p in scaling.describe_scaling_policies(ServiceNamespace="ecs", ResourceId=resource_id)[
                "ScalingPolicies"] if p["PolicyName"] == policy]
            return bool(found) and found[0]["TargetTrackingScalingPolicyConfiguration"]["TargetValue"] == 60.0

        changes.append(Change("ScalingPolicy", target_value, tracked))
    return changes


def _reads(controller: Controller, since: Any) -> int:
    return sum(count for key, count in (controller.calls() - since).items() if not is_mutating(key[1]))


def run_events(resources: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as work, LocalEmulator() as emulator:
        root = Path(work)
        access, secret = EMULATOR_CREDENTIALS
        aws = {"endpoint_url": emulator.url, "region_name": "us-east-1", "aws_access_key_id": access,
               "aws_secret_access_key": secret}
        sqs = boto3.client("sqs", **aws)
        events_url = sqs.create_queue(QueueName=EVENTS_QUEUE)["QueueUrl"]
        write_workload(root / "specs", resources)
        total = len(list((root / "specs").glob("*.yaml"))) * 20
        controller = Controller(root / "specs", root / "state", emulator.url, dict(os.environ, AWS_REGION="us-east-1"),
                                resync_interval="1h", extra_args=("--events", f"sqs://{EVENTS_QUEUE}"))
        try:
            print(f"cold converge of {total} resources, events on ...", file=sys.stderr)
            wait_for(lambda: controller.ready() == total, 3600, "cold converge", poll=0.25)

            changes = _changes(aws, total // 20)
            print(f"{len(changes)} out-of-band changes, each with its event ...", file=sys.stderr)
            latencies: dict[str, list[float]] = {}
            before = controller.calls()
            for change in changes:
                started = time.perf_counter()
                sqs.send_message(QueueUrl=events_url, MessageBody=envelopes.body(change.make()))
                wait_for(change.corrected, 60, f"{change.kind} corrected on its event", poll=0.005)
                latencies.setdefault(change.kind, []).append(time.perf_counter() - started)
            per_event = _reads(controller, before) / len(changes)
            every = sorted(latency for kind in latencies.values() for latency in kind)
            progress("events", latencies_ms={kind: [round(v * 1000) for v in values]
                                             for kind, values in latencies.items()})

            print(f"the feed's own calls over {QUIET_SECONDS:.0f} quiet seconds ...", file=sys.stderr)
            before = controller.calls()
            time.sleep(QUIET_SECONDS)  # a window to count calls over, not a wait for an outcome
            quiet = controller.calls() - before
            feed_per_second = sum(quiet.values()) / QUIET_SECONDS

            print("one full resync, as the backstop runs it ...", file=sys.stderr)
            before, reconciled = controller.calls(), controller.reconciles()
            controller.resync()
            wait_for(lambda: controller.reconciles() - reconciled >= total, 3600, "resync", poll=0.25)
            resync_reads = _reads(controller, before)
        finally:
            controller.stop()
    return {
        "resources": total,
        "changes": len(every),
        "p50_ms": round(statistics.median(every) * 1000),
        "p95_ms": round(every[max(0, int(len(every) * 0.95) - 1)] * 1000),
        "max_ms": round(every[-1] * 1000),
        "p95_ms_by_kind": {kind: round(sorted(values)[max(0, int(len(values) * 0.95) - 1)] * 1000)
                           for kind, values in latencies.items()},
        "reads_per_event": round(per_event, 2),
        "quiet_calls": {f"{service}:{operation}": count for (service, operation), count in sorted(quiet.items())},
        "resync_reads": resync_reads,
        "reads_per_second_events_30min": round(feed_per_second + resync_reads / BACKSTOP_SECONDS, 3),
        "reads_per_second_polling_5min": round(resync_reads / POLLING_SECONDS, 3),
    }


def markdown(result: dict[str, Any], heading: str) -> str:
    r = result
    return "\n".join([
        f"\n### Events on, one-hour resync: N = {r['resources']} ({heading})\n",
        "`python -m bench --events`: out-of-band changes to every kind, each followed by the envelope "
        "EventBridge would deliver; latency from the change to the corrected value read back from AWS.\n",
        "| measure | result | goal |", "|---|---|---|",
        f"| changes (per kind: {PER_KIND}) | {r['changes']} | |",
        f"| correction latency p50 / p95 / max, ms | {r['p50_ms']} / {r['p95_ms']} / {r['max_ms']} | p95 < 2,000 |",
        f"| p95 by kind, ms | {r['p95_ms_by_kind']} | |",
        f"| reads per event-driven reconcile | {r['reads_per_event']} | |",
        f"| the feed's calls in {QUIET_SECONDS:.0f} quiet seconds | {r['quiet_calls']} | |",
        f"| reads of one full resync | {r['resync_reads']} | |",
        f"| steady reads per second, events on, 30-minute resync | {r['reads_per_second_events_30min']} | |",
        f"| steady reads per second, polling only, 5-minute resync | {r['reads_per_second_polling_5min']} | |",
        "",
    ])
