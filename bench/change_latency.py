"""Change latency of `trimtab run`: from writing an edited spec file to the change being visible in AWS.

Run from the repository root:  .venv/bin/python bench/change_latency.py
It copies specs/ to a temporary directory, starts moto and the controller as in production (a
subprocess), waits for convergence, then edits the `orders` queue 20 times and reports p50/p95 and
the controller's RSS. The full benchmark harness (N = 1,000 / 10,000, the floor) is issue 7's.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import boto3

from controller.emulator import EMULATOR_CREDENTIALS, LocalEmulator

EDITS = 20


def main() -> None:
    repo = Path(__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory() as work, LocalEmulator() as emulator:
        specs = Path(work) / "specs"
        shutil.copytree(repo / "specs", specs)
        access, secret = EMULATOR_CREDENTIALS
        env = dict(os.environ, AWS_ENDPOINT_URL=emulator.url, AWS_ACCESS_KEY_ID=access,
                   AWS_SECRET_ACCESS_KEY=secret, AWS_REGION="us-east-1")
        options = {"endpoint_url": emulator.url, "region_name": "us-east-1",
                   "aws_access_key_id": access, "aws_secret_access_key": secret}
        ecs = boto3.client("ecs", **options)
        for cluster, service in (("main", "request-processor"), ("sla-portal", "api")):
            ecs.create_cluster(clusterName=cluster)
            ecs.create_service(cluster=cluster, serviceName=service, desiredCount=1)
        controller = subprocess.Popen(
            [sys.executable, "-m", "controller", "run", "--source", str(specs), "--state-dir", f"{work}/state"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=repo,
        )
        try:
            sqs = boto3.client("sqs", **options)
            while True:
                try:
                    url = sqs.get_queue_url(QueueName="orders")["QueueUrl"]
                    break
                except sqs.exceptions.QueueDoesNotExist:
                    time.sleep(0.05)
            time.sleep(3)  # let the rest converge
            path = specs / "request-processor" / "queues.yaml"
            original = path.read_text()
            latencies = []
            for edit in range(EDITS):
                value = str(100 + edit)
                edited = original.replace("visibilityTimeoutSeconds: 60 ", f"visibilityTimeoutSeconds: {value} ")
                path.write_text(edited)
                started = time.monotonic()
                while sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])[
                        "Attributes"]["VisibilityTimeout"] != value:
                    time.sleep(0.005)
                latencies.append(time.monotonic() - started)
            rss_kib = int(Path(f"/proc/{controller.pid}/status").read_text().split("VmRSS:")[1].split()[0])
        finally:
            controller.terminate()
            controller.wait()
    latencies.sort()
    p50, p95 = latencies[len(latencies) // 2], latencies[int(len(latencies) * 0.95) - 1]
    print(f"change latency over {EDITS} edits with 24 specs managed: p50 {p50 * 1000:.0f} ms, "
          f"p95 {p95 * 1000:.0f} ms; controller RSS {rss_kib / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
