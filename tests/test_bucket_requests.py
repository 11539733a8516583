"""The S3 requests a bucket's create sends are valid for botocore's model, and what S3 reports reads back
as what was rendered: lifecycle filters in every spelling AWS takes, ownership controls and access logging.
moto drops size filters (docs/aws-emulator.md), so their wire shape is checked here rather than against it."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.validate import ParamValidator

from controller.api.fields import Ref
from controller.api.substitution import Environment, substituted
from controller.aws import AwsClients, AwsSettings
from controller.aws_models import service_model
from controller.kinds.base import RefResolver
from controller.kinds.bucket import BucketClient
from controller.kinds.bucket_parts.filters import observed_filter
from controller.kinds.registry import MODELS
from controller.sources.desired import parse_files

ENVIRONMENT = Environment(account_id="123456789012", partition="aws", region="us-east-1")


class _Refs(RefResolver):
    def output(self, ref: Ref, key: str) -> str:
        assert (ref.kind, key) == ("Bucket", "name"), (ref, key)
        return f"{ref.name}-bucket"


class _RecordingS3:
    """Records each call as (operation, arguments); every call answers an empty response."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __getattr__(self, method: str) -> Any:
        async def call(**arguments: Any) -> dict[str, Any]:
            self.calls.append((method, arguments))
            return {}
        return call


LOG_BUCKET = b"apiVersion: trimtab.io/v1alpha1\nkind: Bucket\nmetadata: {name: logs}\nspec: {}\n"


def _render(spec: str) -> dict[str, Any]:
    state = parse_files({"b.yaml": f"apiVersion: trimtab.io/v1alpha1\nkind: Bucket\nmetadata: {{name: src}}\n"
                                   f"spec:\n{spec}".encode(), "logs.yaml": LOG_BUCKET})
    assert not state.errors, [str(error) for error in state.errors]
    resource = substituted(state.graph.records["Bucket/src"].resource, ENVIRONMENT)
    assert isinstance(resource, MODELS["Bucket"])
    return BucketClient(AwsClients(AwsSettings())).render(resource, _Refs(), ENVIRONMENT)


async def _sent(state: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The requests a create writes for `state`, each checked against its operation's input shape."""
    s3 = _RecordingS3()
    await BucketClient(AwsClients(AwsSettings()))._write(s3, "src", state, set(state))
    model = service_model("s3")
    sent = {}
    for method, arguments in s3.calls:
        operation = model.operation_model("".join(part.title() for part in method.split("_")))
        report = ParamValidator().validate(arguments, operation.input_shape)
        assert not report.has_errors(), report.generate_report()
        sent[operation.name] = arguments
    return sent


FILTERS = [
    ("", {"Prefix": ""}),
    ("prefix: logs/", {"Prefix": "logs/"}),
    ("tags: {a: b}", {"Tag": {"Key": "a", "Value": "b"}}),
    ("objectSizeGreaterThan: 1024", {"ObjectSizeGreaterThan": 1024}),
    ("objectSizeLessThan: 0", {"ObjectSizeLessThan": 0}),
    ("tags: {b: '2', a: '1'}", {"And": {"Tags": [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}]}}),
    ("objectSizeGreaterThan: 10, objectSizeLessThan: 20",
     {"And": {"ObjectSizeGreaterThan": 10, "ObjectSizeLessThan": 20}}),
    ("prefix: x/, tags: {a: b}, objectSizeGreaterThan: 10, objectSizeLessThan: 20",
     {"And": {"Prefix": "x/", "Tags": [{"Key": "a", "Value": "b"}], "ObjectSizeGreaterThan": 10,
              "ObjectSizeLessThan": 20}}),
]


@pytest.mark.parametrize(("conditions", "wire"), FILTERS, ids=[conditions or "none" for conditions, _ in FILTERS])
async def test_each_lifecycle_filter_is_sent_in_aws_shape_and_read_back(conditions: str, wire: dict[str, Any]) -> None:
    rule = "{id: r, " + (conditions + ", " if conditions else "") + "expiration: {days: 3}}"
    state = _render(f"  lifecycleRules: [{rule}]\n")
    sent = await _sent(state)
    (aws_rule,) = sent["PutBucketLifecycleConfiguration"]["LifecycleConfiguration"]["Rules"]
    assert aws_rule["Filter"] == wire
    assert observed_filter(wire) == wire


@pytest.mark.parametrize(("reported", "canonical"), [
    # One filter, other spellings S3 takes: what the console or another tool may have written.
    ({}, {"Prefix": ""}),
    ({"And": {"Prefix": "", "Tags": [{"Key": "a", "Value": "b"}]}}, {"Tag": {"Key": "a", "Value": "b"}}),
    ({"And": {"Tags": [{"Key": "a", "Value": "b"}]}}, {"Tag": {"Key": "a", "Value": "b"}}),
    ({"And": {"ObjectSizeLessThan": 5}}, {"ObjectSizeLessThan": 5}),
    ({"And": {"Tags": [{"Key": "z", "Value": "1"}, {"Key": "a", "Value": "2"}]}},
     {"And": {"Tags": [{"Key": "a", "Value": "2"}, {"Key": "z", "Value": "1"}]}}),
])
def test_other_spellings_of_one_filter_read_as_the_rendered_one(reported: dict[str, Any],
                                                                canonical: dict[str, Any]) -> None:
    assert observed_filter(reported) == canonical


def test_a_different_filter_still_reads_as_drift() -> None:
    assert observed_filter({"And": {"Prefix": "x/", "ObjectSizeGreaterThan": 9}}) != observed_filter(
        {"And": {"Prefix": "x/", "ObjectSizeGreaterThan": 10}})


async def test_ownership_and_logging_requests() -> None:
    state = _render("  ownershipControls: BucketOwnerEnforced\n"
                    "  logging: {targetBucketRef: logs, targetPrefix: src/}\n")
    assert state["ownershipControls"] == "BucketOwnerEnforced"
    assert state["logging"] == {"targetBucket": "logs-bucket", "targetPrefix": "src/"}
    sent = await _sent(state)
    assert sent["PutBucketOwnershipControls"]["OwnershipControls"] == {
        "Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    assert sent["PutBucketLogging"]["BucketLoggingStatus"] == {
        "LoggingEnabled": {"TargetBucket": "logs-bucket", "TargetPrefix": "src/"}}


def test_the_log_bucket_by_reference_is_a_dependency() -> None:
    state = parse_files({"b.yaml": b"apiVersion: trimtab.io/v1alpha1\nkind: Bucket\nmetadata: {name: src}\n"
                                   b"spec: {logging: {targetBucketRef: logs}}\n", "logs.yaml": LOG_BUCKET})
    assert not state.errors
    assert "Bucket/logs" in state.graph.dependencies["Bucket/src"]


def test_unmanaged_parts_are_not_rendered_so_never_read() -> None:
    state = _render("  versioning: true\n")
    assert "ownershipControls" not in state and "logging" not in state
