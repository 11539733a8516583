"""Under an overloaded, flaky AWS (tests/fault_proxy.py: a per-service rate limit answered with
throttling, plus 500s, latency and connection resets: a third of all requests fail at first, fewer
as trimtab backs off),
everything converges, nothing is created twice, no update is lost, and the client-side limiter
visibly backs off."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from controller.aws import AwsSettings
from controller.aws_models import endpoint_prefix
from controller.emulator import LocalEmulator
from tests.controller_process import ControllerProcess
from tests.fault_proxy import FaultProxy, Faults
from tests.test_api import http

QUEUES, BUCKETS, ALARMS = 30, 10, 20


def write_specs(root: Path, visibility: int = 30, threshold: int = 10) -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "queues.yaml").write_text("---\n".join(
        f"apiVersion: trimtab.io/v1alpha1\nkind: Queue\nmetadata: {{name: fault-q{n:02d}}}\n"
        f"spec: {{visibilityTimeoutSeconds: {visibility}}}\n" for n in range(QUEUES)))
    (root / "buckets.yaml").write_text("---\n".join(
        f"apiVersion: trimtab.io/v1alpha1\nkind: Bucket\nmetadata: {{name: fault-bucket-{n:02d}}}\n"
        "spec: {versioning: true, deletionPolicy: Delete}\n" for n in range(BUCKETS)))
    (root / "alarms.yaml").write_text("---\n".join(
        f"apiVersion: trimtab.io/v1alpha1\nkind: Alarm\nmetadata: {{name: fault-alarm-{n:02d}}}\nspec:\n"
        "  metric: {namespace: AWS/SQS, metricName: ApproximateNumberOfMessagesVisible, statistic: Maximum, "
        f"period: 60, dimensions: {{QueueName: {{queueRef: fault-q{n:02d}}}}}}}\n"
        f"  evaluationPeriods: 1\n  threshold: {threshold}\n  comparisonOperator: GreaterThanThreshold\n"
        for n in range(ALARMS)))


def test_convergence_under_throttling_errors_and_resets(
    tmp_path: Path, moto: LocalEmulator, cli_env: dict[str, str], boto: Any
) -> None:
    specs = tmp_path / "specs"
    write_specs(specs)
    with FaultProxy(moto.url, Faults(rate_per_service=16.0, error_500=0.05, reset=0.04)) as proxy:
        env = {**cli_env, "AWS_ENDPOINT_URL": proxy.url}
        controller = ControllerProcess(specs, tmp_path / "state", env, "--resync-interval", "10m")
        try:
            started = time.time()
            total = QUEUES + BUCKETS + ALARMS
            controller.wait_for(lambda: len(controller.ready_keys()) == total, timeout=240, what="converged")
            converged = time.time()

            record = proxy.record
            failed = len(record.throttled) + len(record.errors) + len(record.resets)
            requests = record.requests
            share = failed / requests
            print(f"faults: {failed} of {requests} requests ({share:.0%}): {len(record.throttled)} throttled, "
                  f"{len(record.errors)} 500s, {len(record.resets)} resets; converged in {converged - started:.1f}s")
            assert 0.15 <= share <= 0.45, "the test must run under a real fault rate (aimed at 20-30%)"

            # The limiter backs off: every throttled service's rate is below its maximum at convergence.
            # (Not "throttles fall over time": a cold start's calls come in bursts per service, so the
            # share throttled follows the bursts; the limiter's halving and recovery are unit-tested
            # on a fake clock in tests/test_ratelimit.py.)
            metrics = http("GET", f"{controller.url}/metrics")[1]
            assert float(re.findall(r"^trimtab_aws_api_throttles_total\{[^}]*\} (\S+)$", metrics, re.M)[0]) > 0
            rates = {endpoint_prefix(service): float(rate) for service, rate in re.findall(
                r'^trimtab_aws_rate_limit_per_second\{service="([^"]+)"\} (\S+)$', metrics, re.M)}
            throttled = record.throttled_services()
            assert throttled and all(rates[service] < AwsSettings().max_calls_per_second for service in throttled), (
                throttled, rates)

            # No update is lost: edits made while faults continue all reach AWS.
            write_specs(specs, visibility=45, threshold=25)
            sqs, cloudwatch = boto("sqs"), boto("cloudwatch")

            def updated() -> bool:
                urls = [sqs.get_queue_url(QueueName=f"fault-q{n:02d}")["QueueUrl"] for n in range(QUEUES)]
                visibility = {sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])[
                    "Attributes"]["VisibilityTimeout"] for url in urls}
                alarms = cloudwatch.describe_alarms(AlarmNamePrefix="fault-", MaxRecords=100)["MetricAlarms"]
                return visibility == {"45"} and {a["Threshold"] for a in alarms} == {25.0}

            controller.wait_for(updated, timeout=180, what="every edit applied")
        finally:
            controller.kill()

    # Nothing twice, nothing missing (read from moto directly, not through the proxy).
    queues = sqs.list_queues(QueueNamePrefix="fault-", MaxResults=1000)["QueueUrls"]
    assert len(queues) == QUEUES
    assert len([b for b in boto("s3").list_buckets()["Buckets"] if b["Name"].startswith("fault-")]) == BUCKETS
    assert len(cloudwatch.describe_alarms(AlarmNamePrefix="fault-", MaxRecords=100)["MetricAlarms"]) == ALARMS
