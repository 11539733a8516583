"""Where the integration tests send their AWS calls: moto (the default), another emulator, or real AWS.

`TRIMTAB_TEST_ENDPOINT` unset: the fixtures start moto and reset it before every test, as always.
`TRIMTAB_TEST_ENDPOINT=http://127.0.0.1:PORT`: an emulator that is already running (LocalStack, see
`make test-localstack`), reached with the emulator credentials. `TRIMTAB_TEST_ENDPOINT=aws`: real AWS
through the standard credential chain and AWS's own endpoints (a sandbox account only).

Neither of the last two can be reset, so every queue, bucket and alarm a test creates through the
fixtures' clients is recorded here and deleted when the test ends, passed or failed. The tests' names
are fixed (`jobs`, `acme-test-logs`), so two runs must never share an endpoint at once, and on real
AWS a bucket name someone else holds fails its test: see docs/aws-emulator.md.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from controller.aws import code_in
from controller.emulator import EMULATOR_CREDENTIALS

ENDPOINT_VARIABLE = "TRIMTAB_TEST_ENDPOINT"
REAL_AWS = "aws"
# AWS caps DeleteAlarms at 100 names and DeleteObjects at 1,000 keys per call.
_ALARMS_PER_DELETE = 100
_KEYS_PER_DELETE = 1000


@dataclass(frozen=True)
class Endpoint:
    """What the fixtures' clients are built with."""

    name: str
    url: str | None  # None: AWS's own endpoints (or AWS_ENDPOINT_URL, as botocore resolves it)
    credentials: tuple[str, str] | None  # None: the standard credential chain

    def client(self, service: str, region: str) -> Any:
        key, secret = self.credentials or (None, None)
        return boto3.client(service, region_name=region, endpoint_url=self.url,
                            aws_access_key_id=key, aws_secret_access_key=secret)


def moto_endpoint(url: str) -> Endpoint:
    return Endpoint("moto", url, EMULATOR_CREDENTIALS)


@cache
def configured_endpoint() -> Endpoint | None:
    """The external endpoint `TRIMTAB_TEST_ENDPOINT` names, or None for the moto the fixtures start."""
    value = os.environ.get(ENDPOINT_VARIABLE, "").strip()
    if not value:
        return None
    if value == REAL_AWS:
        return Endpoint("real AWS", None, None)
    if not value.startswith(("http://", "https://")):
        raise pytest.UsageError(f"{ENDPOINT_VARIABLE}={value!r}: expected an http(s) URL or {REAL_AWS!r}")
    return Endpoint(value, value.rstrip("/"), EMULATOR_CREDENTIALS)


# The reason of every test with a scalable target: only moto lets a test create the ECS service it
# scales, and LocalStack's Application Auto Scaling is a Pro feature (its free edition answers 501).
SEEDS_ECS = "a scalable target needs Application Auto Scaling (LocalStack Pro) and an ECS service the test seeds"


def moto_only_reason(external: Endpoint, why: str) -> str:
    return f"moto only ({ENDPOINT_VARIABLE} is {external.name}): {why}"


def skip_unless_moto(why: str) -> None:
    """Skip the calling test or fixture, saying why, when the tests run against an external endpoint."""
    external = configured_endpoint()
    if external is not None:
        pytest.skip(moto_only_reason(external, why))


# The calls that create what the kinds manage in the services an external endpoint serves, and the
# parameter naming what they create. Application Auto Scaling is not here: every test with a
# scalable target is moto-only, since only moto lets a test create the ECS service it scales.
_CREATES = {
    ("sqs", "CreateQueue"): "QueueName",
    ("s3", "CreateBucket"): "Bucket",
    ("cloudwatch", "PutMetricAlarm"): "AlarmName",
}
# Creates whose name is in the answer: an SNS topic's and subscription's ARN (what deleting them takes).
_ANSWERED_CREATES = {("sns", "CreateTopic"): "TopicArn", ("sns", "Subscribe"): "SubscriptionArn"}
_CONTEXT_KEY = "trimtab_test_creates"


@dataclass
class CreatedResources:
    """The names of what a test created through clients it watches, deleted by `delete_all`.

    A name is recorded after AWS accepted its create call, read from the call's own parameters:
    no listing, so nothing that the test did not create (or re-create) is ever touched.
    """

    names: dict[str, set[str]] = field(default_factory=lambda: {service: set() for service, _ in _CREATES})
    arns: dict[str, set[str]] = field(default_factory=lambda: {operation: set() for _, operation in _ANSWERED_CREATES})

    def watch(self, events: Any) -> None:
        """Register on a botocore event emitter: a session's (aioboto3 or boto3) or one client's."""
        for (service, operation) in _CREATES:
            events.register(f"before-parameter-build.{service}.{operation}", self._note_request)
            events.register(f"after-call.{service}.{operation}", self._record_if_accepted)
        for (service, operation) in _ANSWERED_CREATES:
            events.register(f"after-call.{service}.{operation}", self._record_answer)

    def _record_answer(self, http_response: Any, parsed: dict[str, Any], event_name: str, **_: Any) -> None:
        _event, service, operation = event_name.split(".", 2)
        arn = parsed.get(_ANSWERED_CREATES[(service, operation)])
        if http_response.status_code < 300 and isinstance(arn, str) and arn.startswith("arn:"):
            self.arns[operation].add(arn)  # not "pending confirmation": SNS lets nobody delete that one

    def _note_request(self, params: dict[str, Any], context: dict[str, Any], event_name: str, **_: Any) -> None:
        _event, service, operation = event_name.split(".", 2)
        parameter = _CREATES[(service, operation)]
        if parameter in params:
            context[_CONTEXT_KEY] = (service, str(params[parameter]))

    def _record_if_accepted(self, http_response: Any, context: dict[str, Any], **_: Any) -> None:
        noted = context.get(_CONTEXT_KEY)
        if noted is not None and http_response.status_code < 300:
            service, name = noted
            self.names[service].add(name)

    def delete_all(self, client: Callable[[str], Any]) -> list[str]:
        """Delete every recorded resource that is still there; returns what could not be deleted."""
        failures: list[str] = []
        sqs, s3, cloudwatch = client("sqs"), client("s3"), client("cloudwatch")
        for name in sorted(self.names["sqs"]):
            with _tolerating_absence(failures, f"queue {name}", "QueueDoesNotExist", "NonExistentQueue"):
                _delete_queue(sqs, name)
        for name in sorted(self.names["s3"]):
            with _tolerating_absence(failures, f"bucket {name}", "NoSuchBucket"):
                _delete_bucket(s3, name)
        alarms = sorted(self.names["cloudwatch"])
        for start in range(0, len(alarms), _ALARMS_PER_DELETE):
            chunk = alarms[start:start + _ALARMS_PER_DELETE]
            with _tolerating_absence(failures, f"alarms {chunk[0]}..{chunk[-1]}", "ResourceNotFound"):
                cloudwatch.delete_alarms(AlarmNames=chunk)
        sns = client("sns")
        for arn in sorted(self.arns["Subscribe"]):  # before their topics
            with _tolerating_absence(failures, f"subscription {arn}", "NotFound"):
                sns.unsubscribe(SubscriptionArn=arn)
        for arn in sorted(self.arns["CreateTopic"]):
            with _tolerating_absence(failures, f"topic {arn}", "NotFound"):
                sns.delete_topic(TopicArn=arn)
        return failures


@contextlib.contextmanager
def _tolerating_absence(failures: list[str], what: str, *absent: str) -> Iterator[None]:
    """A resource already gone (the test deleted it) is fine; any other error is collected."""
    try:
        yield
    except ClientError as error:
        if not code_in(error, absent):
            failures.append(f"{what}: {error}")


def _delete_queue(sqs: Any, name: str) -> None:
    sqs.delete_queue(QueueUrl=sqs.get_queue_url(QueueName=name)["QueueUrl"])


def _delete_bucket(s3: Any, name: str) -> None:
    """Empty the bucket, every version and delete marker included, then delete it."""
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=name):
        keys = [{"Key": item["Key"], "VersionId": item["VersionId"]}
                for item in page.get("Versions", []) + page.get("DeleteMarkers", [])]
        for start in range(0, len(keys), _KEYS_PER_DELETE):
            s3.delete_objects(Bucket=name, Delete={"Objects": keys[start:start + _KEYS_PER_DELETE], "Quiet": True})
    s3.delete_bucket(Bucket=name)


@dataclass
class AwsUnderTest:
    """The endpoint one test reaches, and the ledger of what it creates there (None on moto: reset instead)."""

    endpoint: Endpoint
    created: CreatedResources | None

    def watch(self, events: Any) -> None:
        if self.created is not None:
            self.created.watch(events)


@contextlib.contextmanager
def cleaned_up(endpoint: Endpoint, region: str) -> Iterator[CreatedResources]:
    """Yield a ledger to watch clients with; on exit delete what it recorded, and fail on what remains."""
    created = CreatedResources()
    try:
        yield created
    finally:
        failures = created.delete_all(lambda service: endpoint.client(service, region))
        if failures:
            pytest.fail(f"cleanup on {endpoint.name} left resources behind: {failures}")
