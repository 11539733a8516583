"""What the operator's console tests share (get, describe, events, suspend): the CLI as a subprocess, the
API with its token, a long-running `--watch` read line by line, and a small labelled scenario."""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aioboto3

from controller.aws import AwsClients, AwsSettings
from controller.emulator import EMULATOR_CREDENTIALS, LocalEmulator
from controller.store.dynamodb import table_definition
from tests.conftest import REGION, REPO
from tests.controller_process import ControllerProcess
from tests.helpers import write_specs

TOKEN = "console-token"


def backlog_alarm(name: str, queue: str, labels: str = "{}") -> str:
    """An alarm on a queue's backlog: it references the queue, so it waits for it."""
    return f"""
    apiVersion: trimtab.io/v1alpha1
    kind: Alarm
    metadata:
      name: {name}
      labels: {labels}
    spec:
      metric:
        namespace: AWS/SQS
        metricName: ApproximateNumberOfMessagesVisible
        statistic: Maximum
        period: 60
        dimensions: {{QueueName: {{queueRef: {queue}}}}}
      evaluationPeriods: 1
      threshold: 100
      comparisonOperator: GreaterThanThreshold
    """


# A queue and its dead-letter queue, an alarm on the queue: one chain of references, and labels.
SCENARIO = {"queues.yaml": """
    apiVersion: trimtab.io/v1alpha1
    kind: Queue
    metadata:
      name: orders-dlq
      labels: {team: orders, tier: dlq}
    spec: {}
    ---
    apiVersion: trimtab.io/v1alpha1
    kind: Queue
    metadata:
      name: orders
      labels: {team: orders}
    spec:
      visibilityTimeoutSeconds: 30
      deadLetterQueue: {queueRef: orders-dlq, maxReceiveCount: 5}
    """, "alarms.yaml": backlog_alarm("orders-backlog", "orders", "{team: payments}")}
SCENARIO_KEYS = {"Queue/orders-dlq", "Queue/orders", "Alarm/orders-backlog"}
# A scalable target added once the controller runs, so nothing creates its ECS service: AWS refuses it
# (ClusterNotFoundException, a terminal error), and the policy on it waits.
GHOST = {"ghost.yaml": """
    apiVersion: trimtab.io/v1alpha1
    kind: ScalableTarget
    metadata: {name: ghost}
    spec:
      ecsService: {cluster: nowhere, service: ghost}
      minCapacity: 1
      maxCapacity: 2
    ---
    apiVersion: trimtab.io/v1alpha1
    kind: ScalingPolicy
    metadata: {name: ghost-out}
    spec:
      targetRef: ghost
      stepScaling:
        adjustmentType: ChangeInCapacity
        steps: [{lowerBound: 0, adjustment: 1}]
    """}


def write_scenario(root: Path) -> Path:
    return write_specs(root, SCENARIO)


def start_converged(controllers: Any, specs: Path, *extra: str, keys: set[str] = SCENARIO_KEYS) -> ControllerProcess:
    """`trimtab run` on `specs` (slow resyncs: only what a test does moves a row; no prune held), once
    `keys` are Ready."""
    controller: ControllerProcess = controllers(specs, "--resync-interval", "1h", "--prune-max-fraction", "1", *extra)
    controller.wait_for(lambda: keys <= controller.ready_keys(), what="converged")
    return controller


@asynccontextmanager
async def dynamodb(moto: LocalEmulator, boto: Any, table: str) -> AsyncIterator[AwsClients]:
    """A new store table in moto, and clients to reach it."""
    boto("dynamodb").create_table(**table_definition(table))
    settings = AwsSettings(region=REGION, endpoint_url=moto.url, static_credentials=EMULATOR_CREDENTIALS)
    async with AwsClients(settings, session=aioboto3.Session()) as clients:
        yield clients


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "controller", *args], capture_output=True, text=True, env=env,
                          cwd=REPO, timeout=120, check=False)


def api(url: str, method: str, path: str, body: dict[str, Any] | None = None, token: str | None = TOKEN
        ) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(f"{url}{path}", data=json.dumps(body).encode() if body is not None else None,
                                     method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def row(controller: ControllerProcess, key: str) -> dict[str, Any]:
    """The row of `key` as `get -o json` prints it, from the store."""
    listed = cli("get", key, "-o", "json", "--state-dir", str(controller.state_dir))
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert len(rows) == 1
    return dict(rows[0])


def condition(document: dict[str, Any], kind: str) -> tuple[str, str, str]:
    found = next(c for c in document["conditions"] if c["type"] == kind)
    return found["status"], found["reason"], found["message"]


class Watch:
    """A `trimtab ... -w` subprocess whose stdout is read line by line as it comes."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "controller", *args], stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True, env=env, cwd=REPO)
        self.lines: list[str] = []
        self._arrived: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._arrived.put(line.rstrip("\n"))

    def wait_for(self, predicate: Callable[[str], bool], timeout: float = 30.0, what: str = "a line") -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._arrived.get(timeout=0.1)
            except queue.Empty:
                assert self.process.poll() is None, f"the watch exited: {self.process.stderr.read()}"  # type: ignore[union-attr]
                continue
            self.lines.append(line)
            if predicate(line):
                return line
        raise AssertionError(f"timed out waiting for {what}; printed so far:\n" + "\n".join(self.lines))

    def interrupt(self) -> int:
        """Ctrl-C, as a person ends a watch; returns the exit code."""
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout=10)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
