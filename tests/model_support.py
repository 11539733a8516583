"""Support for the stateful model test (tests/test_model.py): the specs it writes, the controllers it
runs, a proxy that counts each controller's AWS calls, and readers of real AWS (moto) and store state.

Nothing here knows the engine's internals: it reads what an operator could read (the HTTP API,
/metrics, the SQLite inventory the README documents, and AWS itself).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import urllib.error
import urllib.request
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import boto3
import yaml
from botocore.exceptions import ClientError

from controller.emulator import EMULATOR_CREDENTIALS
from tests.controller_process import ControllerProcess
from tests.counting_proxy import CountingProxy

REGION = "us-east-1"
OWNER_TAG = "trimtab.io/owner"  # the ownership tags of the README's Concepts
RESOURCE_TAG = "trimtab.io/resource"
SUSPEND_ANNOTATION = "trimtab.io/suspend"
API_TOKEN = "model-test-token"
DATABASE = "trimtab.sqlite3"  # the README: "trimtab's inventory (SQLite in --state-dir)"
INVENTORY_TABLES = ("owned", "inventory")

# ---- the specs -----------------------------------------------------------------------------------------

# Defaults from docs/spec-reference.md: scalar settings left out are still managed at AWS's default.
QUEUE_DEFAULTS = {"MessageRetentionPeriod": "345600", "DelaySeconds": "0", "MaximumMessageSize": "1048576",
                  "ReceiveMessageWaitTimeSeconds": "0"}
ALARM_METRIC = {"namespace": "AWS/SQS", "metricName": "ApproximateNumberOfMessagesVisible",
                "statistic": "Maximum", "period": 60}
TYPO_FIELD = {"Queue": "visibilityTimeoutSecond", "Bucket": "versionning", "Alarm": "threshhold"}


@dataclass(frozen=True)
class Spec:
    """One spec file, as the model writes it. `aws_name` is the AWS identity (queueName, bucketName,
    or the alarm's name); `typo` adds a misspelt field, which makes the spec invalid."""

    kind: str
    name: str
    aws_name: str
    visibility: int = 30  # Queue
    versioning: bool = True  # Bucket
    threshold: int = 10  # Alarm
    queue_ref: str = ""  # Alarm: metadata.name of the Queue spec its dimension names
    tags: tuple[tuple[str, str], ...] = ()
    deletion: str | None = None  # None: the kind's default (Buckets Retain, the others Delete)
    management: str = "Full"
    suspended: bool = False
    adopt: bool = False
    typo: bool = False

    @property
    def key(self) -> str:
        return f"{self.kind}/{self.name}"

    @property
    def ident(self) -> tuple[str, str]:
        return (self.kind, self.aws_name)

    @property
    def deletion_policy(self) -> str:
        return self.deletion or ("Retain" if self.kind == "Bucket" else "Delete")

    def with_(self, **changes: Any) -> Spec:
        return replace(self, **changes)

    def document(self) -> dict[str, Any]:
        spec: dict[str, Any] = {}
        if self.kind == "Queue":
            if self.aws_name != self.name:
                spec["queueName"] = self.aws_name
            spec["visibilityTimeoutSeconds"] = self.visibility
        elif self.kind == "Bucket":
            if self.aws_name != self.name:
                spec["bucketName"] = self.aws_name
            spec["versioning"] = self.versioning
        else:
            spec["metric"] = {**ALARM_METRIC, "dimensions": {"QueueName": {"queueRef": self.queue_ref}}}
            spec.update(evaluationPeriods=1, threshold=self.threshold, comparisonOperator="GreaterThanThreshold")
        if self.tags:
            spec["tags"] = dict(self.tags)
        if self.deletion is not None:
            spec["deletionPolicy"] = self.deletion
        if self.management != "Full":
            spec["managementPolicy"] = self.management
        if self.adopt:
            spec["adopt"] = True
        if self.typo:
            spec[TYPO_FIELD[self.kind]] = 1
        metadata: dict[str, Any] = {"name": self.name}
        if self.suspended:
            metadata["annotations"] = {SUSPEND_ANNOTATION: "true"}
        return {"apiVersion": "trimtab.io/v1alpha1", "kind": self.kind, "metadata": metadata, "spec": spec}

    def text(self) -> str:
        return yaml.safe_dump(self.document(), sort_keys=False)

    def file_name(self) -> str:
        return f"{self.kind.lower()}-{self.name}.yaml"


def write_spec(spec_dir: Path, spec: Spec) -> None:
    """Atomically: a hidden temporary file (the source ignores dot-files), then a rename."""
    temporary = spec_dir / f".{spec.file_name()}.tmp"
    temporary.write_text(spec.text())
    os.replace(temporary, spec_dir / spec.file_name())


def remove_spec(spec_dir: Path, spec: Spec) -> None:
    (spec_dir / spec.file_name()).unlink()


# ---- the controllers ----------------------------------------------------------------------------------

def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def parse_metrics(text: str) -> dict[str, float]:
    """`name{labels}` -> value, for the plain samples of a Prometheus text page."""
    values: dict[str, float] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        series, _, value = line.rpartition(" ")
        with contextlib.suppress(ValueError):
            values[series] = float(value)
    return values


@dataclass
class Controller:
    """One `trimtab run` (restartable with the same state dir), reaching moto through its own proxy."""

    controller_id: str
    spec_dir: Path
    state_dir: Path
    env: dict[str, str]
    resync_interval: str
    proxy: CountingProxy
    process: ControllerProcess | None = None
    _url: str = ""
    logs: list[Path] = field(default_factory=list)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.process.poll() is None

    def start(self) -> None:
        env = {**self.env, "AWS_ENDPOINT_URL": self.proxy.url, "TRIMTAB_API_TOKEN": API_TOKEN}
        self.process = ControllerProcess(
            self.spec_dir, self.state_dir, env, "--controller-id", self.controller_id,
            "--resync-interval", self.resync_interval,
            # The mass-deletion guard is not what this model is about: with a handful of resources
            # every removal would be "more than 25% of those managed" and held.
            "--prune-max-count", "1000", "--prune-max-fraction", "1.0",
        )
        self.logs.append(self.process.log)
        self._url = self.process.url  # waits for the Listening event

    def kill9(self) -> None:
        assert self.process is not None
        self.process.process.send_signal(signal.SIGKILL)
        self.process.process.wait(30)
        self.process._log_handle.close()
        self.process = None

    def stop(self) -> None:
        """SIGTERM, as ECS stops a task; it must drain and exit 0."""
        assert self.process is not None
        code = self.process.terminate()
        self.process = None
        assert code == 0, f"{self.controller_id} exited {code} on SIGTERM"

    def sighup(self) -> None:
        assert self.process is not None
        self.process.process.send_signal(signal.SIGHUP)

    def exited(self) -> str | None:
        """Why the process is gone, with its log tail, if it died on its own."""
        if self.process is not None and self.process.process.poll() is not None:
            return f"{self.controller_id} exited with {self.process.process.returncode}:\n{self.log_tail()}"
        return None

    def log_tail(self, characters: int = 4000) -> str:
        return self.logs[-1].read_text()[-characters:] if self.logs else ""

    def resources(self) -> list[dict[str, Any]]:
        return list(_get_json(f"{self._url}/api/v1/resources"))

    def source(self) -> dict[str, Any]:
        return dict(_get_json(f"{self._url}/api/v1/source"))

    def metrics(self) -> dict[str, float]:
        with urllib.request.urlopen(f"{self._url}/metrics", timeout=10) as response:
            return parse_metrics(response.read().decode())

    def resync(self, items: list[str] | None) -> dict[str, Any]:
        body = json.dumps({} if items is None else {"items": items}).encode()
        request = urllib.request.Request(
            f"{self._url}/api/v1/resync", data=body, method="POST",
            headers={"Authorization": f"Bearer {API_TOKEN}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                assert response.status == 202, response.status
                return dict(json.loads(response.read()))
        except urllib.error.HTTPError as error:
            raise AssertionError(f"POST /api/v1/resync answered {error.code}: {error.read()!r}") from None

    def inventory_rows(self) -> list[tuple[str, tuple[str, str]]]:
        """The SQLite inventory: (spec key, (kind, AWS name)) per row, read while the controller runs. The
        table is `owned` (one row per AWS resource) since the store was keyed by identity; `inventory`
        (one row per spec) before."""
        path = self.state_dir / DATABASE
        if not path.exists():
            return []
        connection = sqlite3.connect(path, timeout=5)  # only reads; WAL lets the controller write meanwhile
        try:
            tables = {name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            table = next((name for name in INVENTORY_TABLES if name in tables), None)
            rows = [] if table is None else connection.execute(f"SELECT key, kind, identity FROM {table}").fetchall()
        finally:
            connection.close()
        return [(key, (kind, json.loads(identity)["name"])) for key, kind, identity in rows]


# ---- reading AWS ----------------------------------------------------------------------------------------

def boto_client(endpoint: str, service: str) -> Any:
    return boto3.client(service, region_name=REGION, endpoint_url=endpoint,
                        aws_access_key_id=EMULATOR_CREDENTIALS[0], aws_secret_access_key=EMULATOR_CREDENTIALS[1])


@dataclass(frozen=True)
class Observed:
    """One AWS resource as read now: `config` is everything the model compares (attributes, or the
    bucket's versioning and public access block, or the alarm's definition), `tags` its tags."""

    config: dict[str, Any]
    tags: dict[str, str]

    @property
    def owner(self) -> tuple[str | None, str | None]:
        return self.tags.get(OWNER_TAG), self.tags.get(RESOURCE_TAG)


_QUEUE_MISSING = {"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"}
_ALARM_VOLATILE = {"StateValue", "StateReason", "StateReasonData", "StateUpdatedTimestamp",
                   "StateTransitionedTimestamp", "EvaluationState"}


class AwsReader:
    def __init__(self, endpoint: str) -> None:
        self.sqs = boto_client(endpoint, "sqs")
        self.s3 = boto_client(endpoint, "s3")
        self.cloudwatch = boto_client(endpoint, "cloudwatch")

    def read(self, kind: str, name: str) -> Observed | None:
        return {"Queue": self.queue, "Bucket": self.bucket, "Alarm": self.alarm}[kind](name)

    def queue(self, name: str) -> Observed | None:
        try:
            url = self.sqs.get_queue_url(QueueName=name)["QueueUrl"]
            attributes = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
            tags = self.sqs.list_queue_tags(QueueUrl=url).get("Tags", {})
        except ClientError as error:
            if error.response["Error"]["Code"] in _QUEUE_MISSING:
                return None
            raise
        return Observed(dict(attributes), dict(tags))

    def bucket(self, name: str) -> Observed | None:
        try:
            self.s3.head_bucket(Bucket=name)
        except ClientError as error:
            if error.response["Error"]["Code"] in {"404", "NoSuchBucket", "NotFound"}:
                return None
            raise
        config: dict[str, Any] = {"Versioning": self.s3.get_bucket_versioning(Bucket=name).get("Status")}
        for label, read, answer in (
            ("PublicAccessBlock", self.s3.get_public_access_block, "PublicAccessBlockConfiguration"),
            ("Encryption", self.s3.get_bucket_encryption, "ServerSideEncryptionConfiguration"),
            ("Policy", self.s3.get_bucket_policy, "Policy"),
        ):
            try:
                config[label] = read(Bucket=name)[answer]
            except ClientError as error:
                config[label] = error.response["Error"]["Code"]  # NoSuch...: not configured
        try:
            tag_set = self.s3.get_bucket_tagging(Bucket=name)["TagSet"]
        except ClientError as error:
            if error.response["Error"]["Code"] != "NoSuchTagSet":
                raise
            tag_set = []
        return Observed(config, {tag["Key"]: tag["Value"] for tag in tag_set})

    def alarm(self, name: str) -> Observed | None:
        found = self.cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"]
        if not found:
            return None
        alarm = {key: value for key, value in found[0].items() if key not in _ALARM_VOLATILE}
        tags = self.cloudwatch.list_tags_for_resource(ResourceARN=alarm["AlarmArn"]).get("Tags", [])
        return Observed(json.loads(json.dumps(alarm, default=str)), {tag["Key"]: tag["Value"] for tag in tags})


def matches(spec: Spec, observed: Observed, controller_id: str, queue_aws_name: str | None) -> list[str]:
    """How `observed` differs from what `spec` asks of it when `controller_id` manages it ([] = matches)."""
    wrong: list[str] = []
    want_tags = {**dict(spec.tags), OWNER_TAG: controller_id, RESOURCE_TAG: spec.key}
    if observed.tags != want_tags:
        wrong.append(f"tags {observed.tags} (want {want_tags})")
    config = observed.config
    if spec.kind == "Queue":
        want = {"VisibilityTimeout": str(spec.visibility), **QUEUE_DEFAULTS}
        got = {key: config.get(key) for key in want}
        if got != want:
            wrong.append(f"attributes {got} (want {want})")
    elif spec.kind == "Bucket":
        want_versioning = "Enabled" if spec.versioning else "Suspended"
        if config.get("Versioning") != want_versioning:
            wrong.append(f"versioning {config.get('Versioning')} (want {want_versioning})")
        want_block = {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
                      "RestrictPublicBuckets": True}
        if config.get("PublicAccessBlock") != want_block:
            wrong.append(f"public access block {config.get('PublicAccessBlock')} (want all four on)")
    else:
        want_alarm = {
            "Namespace": ALARM_METRIC["namespace"], "MetricName": ALARM_METRIC["metricName"],
            "Statistic": ALARM_METRIC["statistic"], "Period": ALARM_METRIC["period"], "EvaluationPeriods": 1,
            "Threshold": float(spec.threshold), "ComparisonOperator": "GreaterThanThreshold",
            "Dimensions": [{"Name": "QueueName", "Value": queue_aws_name}],
        }
        got_alarm = {key: config.get(key) for key in want_alarm}
        if got_alarm != want_alarm:
            wrong.append(f"alarm {got_alarm} (want {want_alarm})")
    return wrong


def condition(row: dict[str, Any], kind: str) -> tuple[str, str]:
    """(status, reason) of a row's condition, ("", "") when it has none."""
    for found in row.get("conditions", []):
        if found.get("type") == kind:
            return str(found.get("status")), str(found.get("reason"))
    return "", ""
