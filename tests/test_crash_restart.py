"""SIGKILL at random moments during a cold converge of 200 resources, 20 times, restarting each time.
Afterwards: AWS equals the desired state, nothing is duplicated, everything trimtab created carries
its ownership tags (the write-ahead record covers S3's untagged create), and nothing is a conflict."""

from __future__ import annotations

import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from controller.kinds.ownership import OWNER_TAG
from tests.conftest import REPO
from tests.controller_process import ControllerProcess

QUEUES, BUCKETS, ALARMS = 100, 40, 60
KILLS = 20


def write_mix(root: Path) -> None:
    root.mkdir(parents=True)
    queues = [f"apiVersion: trimtab.io/v1alpha1\nkind: Queue\nmetadata: {{name: crash-q{n:03d}}}\n"
              f"spec: {{visibilityTimeoutSeconds: {30 + n}}}\n" for n in range(QUEUES)]
    buckets = [f"apiVersion: trimtab.io/v1alpha1\nkind: Bucket\nmetadata: {{name: crash-bucket-{n:03d}}}\n"
               "spec: {versioning: true, deletionPolicy: Delete, tags: {team: core}}\n" for n in range(BUCKETS)]
    alarms = [f"apiVersion: trimtab.io/v1alpha1\nkind: Alarm\nmetadata: {{name: crash-alarm-{n:03d}}}\nspec:\n"
              f"  metric: {{namespace: AWS/SQS, metricName: ApproximateNumberOfMessagesVisible, statistic: Maximum,"
              f" period: 60, dimensions: {{QueueName: {{queueRef: crash-q{n:03d}}}}}}}\n"
              "  evaluationPeriods: 1\n  threshold: 10\n  comparisonOperator: GreaterThanThreshold\n"
              for n in range(ALARMS)]
    for name, documents in (("queues", queues), ("buckets", buckets), ("alarms", alarms)):
        (root / f"{name}.yaml").write_text("---\n".join(documents))


def test_sigkill_during_cold_converge_leaves_no_duplicates_orphans_or_conflicts(
    tmp_path: Path, cli_env: dict[str, str], boto: Any
) -> None:
    specs, state = tmp_path / "specs", tmp_path / "state"
    write_mix(specs)
    chance = random.Random(20261122)  # reproducible "random" moments
    for _ in range(KILLS):
        controller = ControllerProcess(specs, state, cli_env, "--resync-interval", "10m")
        controller.wait_for(lambda c=controller: any(e["event"] == "Started" for e in c.events()), what="started")
        time.sleep(chance.uniform(0.0, 1.5))
        controller.kill()

    final = ControllerProcess(specs, state, cli_env, "--resync-interval", "10m")
    try:
        final.wait_for(lambda: len(final.ready_keys()) == QUEUES + BUCKETS + ALARMS, timeout=180, what="converged")
        assert not [e for e in final.events() if e["event"] in ("Conflict", "Error")]
    finally:
        final.kill()

    # AWS holds exactly the desired resources: none twice, none missing, none extra.
    sqs, s3, cloudwatch = boto("sqs"), boto("s3"), boto("cloudwatch")
    queue_urls = sqs.list_queues(QueueNamePrefix="crash-", MaxResults=1000)["QueueUrls"]
    assert sorted(url.rsplit("/", 1)[-1] for url in queue_urls) == [f"crash-q{n:03d}" for n in range(QUEUES)]
    buckets = sorted(b["Name"] for b in s3.list_buckets()["Buckets"] if b["Name"].startswith("crash-"))
    assert buckets == [f"crash-bucket-{n:03d}" for n in range(BUCKETS)]
    alarms = cloudwatch.describe_alarms(AlarmNamePrefix="crash-", MaxRecords=100)["MetricAlarms"]
    assert sorted(a["AlarmName"] for a in alarms) == [f"crash-alarm-{n:03d}" for n in range(ALARMS)]

    # Everything trimtab created carries its ownership tag.
    for url in queue_urls:
        assert OWNER_TAG in sqs.list_queue_tags(QueueUrl=url).get("Tags", {}), url
    for bucket in buckets:
        tags = {t["Key"] for t in s3.get_bucket_tagging(Bucket=bucket)["TagSet"]}
        assert OWNER_TAG in tags, bucket
    for alarm in alarms:
        tags = {t["Key"] for t in cloudwatch.list_tags_for_resource(ResourceARN=alarm["AlarmArn"])["Tags"]}
        assert OWNER_TAG in tags, alarm["AlarmName"]

    # And the state equals the desired state: a plan finds nothing to do.
    plan = subprocess.run([sys.executable, "-m", "controller", "plan", "--state-dir", str(state), "--controller-id",
                           "trimtab-test", str(specs)],
                          capture_output=True, text=True, env=cli_env, cwd=REPO, check=False)
    assert plan.returncode == 0, plan.stdout + plan.stderr
