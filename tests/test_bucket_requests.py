"""The S3 requests a bucket's create sends are valid for botocore's model, and what S3 reports reads back
as what was rendered: lifecycle filters in every spelling AWS takes, ownership controls, access logging, CORS,
website hosting, transfer acceleration, request payment and intelligent tiering. moto drops size filters and
implements neither request payment nor intelligent tiering (docs/aws-emulator.md), so their wire shape is
checked here rather than against it."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from botocore.validate import ParamValidator

from controller.api.fields import Ref
from controller.api.substitution import Environment, substituted
from controller.aws import AwsClients, AwsSettings
from controller.aws_models import service_model
from controller.kinds.base import Desired, RefResolver
from controller.kinds.bucket import BucketClient
from controller.kinds.bucket_parts import intelligent_tiering, request_payment
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
    return dict(_checked(s3.calls))


def _checked(calls: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, dict[str, Any]]]:
    """(operation, arguments) of each call, checked against the operation's input shape in botocore's model."""
    model = service_model("s3")
    checked = []
    for method, arguments in calls:
        operation = model.operation_model("".join(part.title() for part in method.split("_")))
        report = ParamValidator().validate(arguments, operation.input_shape)
        assert not report.has_errors(), report.generate_report()
        checked.append((operation.name, arguments))
    return checked


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


async def test_cors_website_acceleration_and_request_payment_requests() -> None:
    state = _render("  cors:\n"
                    "    - {allowedMethods: [GET, HEAD], allowedOrigins: ['https://app.example.com'],"
                    " allowedHeaders: [], id: ''}\n"
                    "    - {id: uploads, allowedMethods: [PUT], allowedOrigins: ['*'], exposeHeaders: [ETag],"
                    " maxAgeSeconds: 0}\n"
                    "  website:\n"
                    "    indexDocument: index.html\n"
                    "    errorDocument: 404.html\n"
                    "    routingRules:\n"
                    "      - condition: {httpErrorCodeReturnedEquals: '404'}\n"
                    "        redirect: {hostName: www.example.com, protocol: https, replaceKeyWith: missing.html}\n"
                    "      - redirect: {replaceKeyPrefixWith: new/}\n"
                    "  transferAcceleration: false\n"
                    "  requestPayment: Requester\n")
    sent = await _sent(state)
    # An empty id or list is sent as none, which is how S3 reports it back.
    assert sent["PutBucketCors"]["CORSConfiguration"] == {"CORSRules": [
        {"AllowedMethods": ["GET", "HEAD"], "AllowedOrigins": ["https://app.example.com"]},
        {"ID": "uploads", "AllowedMethods": ["PUT"], "AllowedOrigins": ["*"], "ExposeHeaders": ["ETag"],
         "MaxAgeSeconds": 0}]}
    assert sent["PutBucketWebsite"]["WebsiteConfiguration"] == {
        "IndexDocument": {"Suffix": "index.html"}, "ErrorDocument": {"Key": "404.html"},
        "RoutingRules": [
            {"Condition": {"HttpErrorCodeReturnedEquals": "404"},
             "Redirect": {"HostName": "www.example.com", "Protocol": "https", "ReplaceKeyWith": "missing.html"}},
            {"Redirect": {"ReplaceKeyPrefixWith": "new/"}}]}
    assert sent["PutBucketAccelerateConfiguration"]["AccelerateConfiguration"] == {"Status": "Suspended"}
    assert sent["PutBucketRequestPayment"]["RequestPaymentConfiguration"] == {"Payer": "Requester"}


async def test_an_empty_cors_list_and_an_empty_website_delete_them() -> None:
    state = _render("  cors: []\n  website: {}\n")
    assert state["cors"] == [] and state["website"] == {}
    sent = await _sent(state)
    assert {"DeleteBucketCors", "DeleteBucketWebsite"} <= set(sent)
    assert not {"PutBucketCors", "PutBucketWebsite"} & set(sent)


class _AnsweringS3(_RecordingS3):
    """Records calls as _RecordingS3 does, and answers the operations given with the responses given."""

    def __init__(self, answers: dict[str, dict[str, Any]]) -> None:
        super().__init__()
        self.answers = answers

    def __getattr__(self, method: str) -> Any:
        async def call(**arguments: Any) -> dict[str, Any]:
            self.calls.append((method, arguments))
            return self.answers.get(method, {})
        return call


async def test_request_payment_reads_the_payer_and_the_default() -> None:
    requester = _AnsweringS3({"get_bucket_request_payment": {"Payer": "Requester"}})
    assert await request_payment.PART.read(requester, "src") == "Requester"
    # S3 always names a Payer; no Payer (moto's answer, which does not implement it) is the default.
    assert await request_payment.PART.read(_AnsweringS3({}), "src") == "BucketOwner"


TIERING_SPEC = ("  intelligentTieringConfigurations:\n"
                "    - id: media\n"
                "      prefix: media/\n"
                "      tags: {tier: cold}\n"
                "      tierings: [{days: 180, accessTier: DEEP_ARCHIVE_ACCESS},\n"
                "                 {days: 90, accessTier: ARCHIVE_ACCESS}]\n"
                "    - id: all\n"
                "      enabled: false\n"
                "      tierings: [{days: 365, accessTier: ARCHIVE_ACCESS}]\n"
                "    - {id: tagged, tags: {a: b}, tierings: [{days: 90, accessTier: ARCHIVE_ACCESS}]}\n")


async def test_intelligent_tiering_is_rendered_in_one_shape_and_the_whole_set_is_managed() -> None:
    state = _render(TIERING_SPEC)
    configs = state["intelligentTieringConfigurations"]
    assert [config["Id"] for config in configs] == ["all", "media", "tagged"]  # by id, as S3 lists them
    all_, media, tagged = configs
    assert all_ == {"Id": "all", "Status": "Disabled", "Tierings": [{"Days": 365, "AccessTier": "ARCHIVE_ACCESS"}]}
    assert media["Filter"] == {"And": {"Prefix": "media/", "Tags": [{"Key": "tier", "Value": "cold"}]}}
    assert [tiering["AccessTier"] for tiering in media["Tierings"]] == ["ARCHIVE_ACCESS", "DEEP_ARCHIVE_ACCESS"]
    assert tagged["Filter"] == {"Tag": {"Key": "a", "Value": "b"}}
    # S3 holds "all" in another spelling (an empty prefix inside And, which is no filter), "media" with a
    # different tier, and a configuration the spec does not name.
    held = [{**all_, "Filter": {"And": {"Prefix": ""}}, "Tierings": list(all_["Tierings"])},
            {**media, "Tierings": [{"Days": 200, "AccessTier": "DEEP_ARCHIVE_ACCESS"}]},
            {"Id": "by-hand", "Status": "Enabled", "Tierings": [{"Days": 90, "AccessTier": "ARCHIVE_ACCESS"}]}]
    s3 = _AnsweringS3({"list_bucket_intelligent_tiering_configurations": {
        "IsTruncated": False, "IntelligentTieringConfigurationList": held}})
    assert await intelligent_tiering.PART.read(s3, "src") == [all_, held[2], held[1]]
    s3.calls.clear()
    await BucketClient(AwsClients(AwsSettings()))._write(s3, "src", state, {"intelligentTieringConfigurations"})
    calls = _checked(s3.calls)
    assert [(operation, arguments.get("Id")) for operation, arguments in calls] == [
        ("ListBucketIntelligentTieringConfigurations", None),
        ("DeleteBucketIntelligentTieringConfiguration", "by-hand"),
        ("PutBucketIntelligentTieringConfiguration", "media"),
        ("PutBucketIntelligentTieringConfiguration", "tagged"),
    ]
    assert calls[2][1]["IntelligentTieringConfiguration"] == media


async def test_intelligent_tiering_reads_every_page() -> None:
    pages = iter([
        {"IsTruncated": True, "NextContinuationToken": "t1", "IntelligentTieringConfigurationList": [
            {"Id": "b", "Status": "Enabled", "Tierings": [{"Days": 90, "AccessTier": "ARCHIVE_ACCESS"}]}]},
        {"IsTruncated": False, "IntelligentTieringConfigurationList": [
            {"Id": "a", "Status": "Enabled", "Tierings": [{"Days": 90, "AccessTier": "ARCHIVE_ACCESS"}]}]},
    ])
    tokens = []

    class _Paged:
        async def list_bucket_intelligent_tiering_configurations(self, **arguments: Any) -> dict[str, Any]:
            tokens.append(arguments.get("ContinuationToken"))
            return next(pages)

    assert [config["Id"] for config in await intelligent_tiering.PART.read(_Paged(), "src")] == ["a", "b"]
    assert tokens == [None, "t1"]


def test_new_unmanaged_parts_are_not_rendered() -> None:
    state = _render("  versioning: true\n")
    assert not {"cors", "website", "transferAcceleration", "requestPayment",
                "intelligentTieringConfigurations"} & set(state)


class _DeniedCors(_RecordingS3):
    """A bucket this account owns, read by a role without s3:GetBucketCORS."""

    def __getattr__(self, method: str) -> Any:
        if method == "get_bucket_cors":
            async def denied(**arguments: Any) -> dict[str, Any]:
                raise ClientError({"Error": {"Code": "AccessDenied", "Message": "denied"}}, "GetBucketCors")
            return denied
        return super().__getattr__(method)


async def test_a_sub_resource_read_refused_is_an_error_not_someone_elses_bucket() -> None:
    # Only HeadBucket's 403 says the bucket is another account's; a part's 403 is a missing grant,
    # which must fail the reconcile rather than read as in sync.
    state = _render("  cors:\n    - {allowedMethods: [GET], allowedOrigins: ['*']}\n")
    client = BucketClient(AwsClients(AwsSettings()))
    resource = parse_files({"b.yaml": b"apiVersion: trimtab.io/v1alpha1\nkind: Bucket\nmetadata: {name: src}\n"
                                      b"spec:\n  cors:\n    - {allowedMethods: [GET], allowedOrigins: ['*']}\n"})
    desired = Desired(resource.graph.records["Bucket/src"].resource, {"name": "src", "region": "us-east-1"},
                      state, {})
    s3 = _DeniedCors()

    async def s3_client(service: str, region: str | None = None) -> Any:
        return s3

    client.aws.client = s3_client  # type: ignore[method-assign]
    with pytest.raises(ClientError):
        await client.observe(desired)  # type: ignore[arg-type]
