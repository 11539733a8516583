"""What a revision keeps per spec is lean, and the slimming changes no answer: error positions, model
values and botocore's view of a service stay as they were."""

from __future__ import annotations

from typing import Any

import aioboto3
import pytest
from botocore.loaders import Loader
from pydantic import ValidationError

from controller.api.yamldoc import KeptDocument, load_documents
from controller.aws import AwsClients, AwsSettings
from controller.aws_models import LeanJSONFileLoader, endpoint_prefixes, lean_session, plain
from controller.emulator import EMULATOR_CREDENTIALS, LocalEmulator
from controller.kinds import registry  # noqa: F401  (registers the kinds' services, as every command does)
from controller.sources.desired import parse_files

SPEC = """\
apiVersion: trimtab.io/v1alpha1
kind: Queue
metadata: {name: first}
spec:
  queueName: first
  visibilityTimeoutSeconds: 31
---
apiVersion: trimtab.io/v1alpha1
kind: Alarm
metadata: {name: backlog}
spec:
  alarmName: backlog
  metric:
    namespace: AWS/SQS
    metricName: ApproximateNumberOfMessagesVisible
    statistic: Maximum
    dimensions:
      - {name: QueueName, queueRef: first}
  comparisonOperator: GreaterThanThreshold
  threshold: 100
  evaluationPeriods: 2
  periodSeconds: 60
"""


def test_a_kept_document_finds_every_position_the_parsed_one_did() -> None:
    documents, errors = load_documents(SPEC.encode(), "specs/app.yaml")
    assert not errors
    for document in documents:
        kept = document.kept()
        assert isinstance(kept, KeptDocument) and not hasattr(kept, "__dict__")
        for path, position in document.positions.items():
            assert kept.position_of(path) == position, path
        deeper = (*max(document.positions, key=len), "not", "written")
        assert kept.position_of(deeper) == document.position_of(deeper)
    assert documents[1].kept().position_of(("spec", "metric", "dimensions", 0, "queueRef")).line == 18


def test_a_kept_document_does_not_copy_the_file() -> None:
    content = SPEC.encode()
    documents, _ = load_documents(content, "specs/app.yaml")
    assert all(document.kept().source is content for document in documents)
    assert "visibilityTimeoutSeconds" not in repr(documents[0].kept())  # logs do not carry whole files


def test_kept_specs_share_fields_sets_and_keep_their_values() -> None:
    files = {f"unit-{n}.yaml": SPEC.replace("first", f"first-{n}").replace("backlog", f"backlog-{n}").encode()
             for n in range(3)}
    records = parse_files(files).graph.records
    queues = [records[f"Queue/first-{n}"].resource for n in range(3)]
    assert queues[0].__pydantic_fields_set__ is queues[2].__pydantic_fields_set__
    assert queues[0].spec.__pydantic_fields_set__ is queues[1].spec.__pydantic_fields_set__
    assert queues[0].metadata.__pydantic_fields_set__ is not queues[0].__pydantic_fields_set__
    assert [queue.spec.queue_name for queue in queues] == ["first-0", "first-1", "first-2"]
    dumped = queues[1].model_dump(by_alias=True, exclude_unset=True)
    assert dumped["spec"] == {"queueName": "first-1", "visibilityTimeoutSeconds": 31}
    with pytest.raises(ValidationError):  # frozen, which is what makes sharing the sets safe
        queues[0].spec.queue_name = "other"  # type: ignore[misc]


def test_plain_drops_only_documentation_text() -> None:
    model: dict[str, Any] = {
        "documentation": "<p>long text</p>",
        "shapes": {"Thing": {"type": "structure", "documentation": "about it",
                             "members": {"documentation": {"shape": "String"}}}},
        "list": [{"documentation": "x", "keep": 1}],
    }
    assert plain(model, drop_documentation=True) == {
        "shapes": {"Thing": {"type": "structure", "members": {"documentation": {"shape": "String"}}}},
        "list": [{"keep": 1}],
    }


def test_the_lean_loader_keeps_the_service_model_botocore_works_with() -> None:
    full = Loader().load_service_model("sqs", "service-2")
    lean = Loader(file_loader=LeanJSONFileLoader()).load_service_model("sqs", "service-2")
    assert type(lean) is dict and type(lean["shapes"]) is dict  # not OrderedDict
    assert lean["operations"].keys() == full["operations"].keys()
    assert lean["shapes"].keys() == full["shapes"].keys()
    assert lean["shapes"] == plain(full["shapes"], drop_documentation=True)
    assert lean["metadata"] == full["metadata"]
    assert "documentation" not in str(lean["operations"]["GetQueueAttributes"])
    s3 = Loader(file_loader=LeanJSONFileLoader()).load_service_model("s3", "service-2")
    endpoints = Loader(file_loader=LeanJSONFileLoader()).load_data("endpoints")
    full_endpoints = Loader().load_data("endpoints")
    assert "sqs" in endpoints["partitions"][0]["services"] and "ec2" not in endpoints["partitions"][0]["services"]
    for lean_partition, full_partition in zip(endpoints["partitions"], full_endpoints["partitions"], strict=True):
        services = lean_partition.pop("services")
        assert services == {prefix: entry for prefix, entry in full_partition.pop("services").items()
                            if prefix in endpoint_prefixes().values()}
        assert lean_partition == full_partition
    assert all("documentation" in param for param in s3["clientContextParams"].values())  # botocore indexes it


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1", "us-gov-west-1", "cn-north-1"])
async def test_lean_clients_resolve_endpoints_and_signing_as_botocore_does(region: str) -> None:
    """On real AWS, for every service trimtab opens: the same URL, signing name, region and version."""
    credentials = {"aws_access_key_id": "AKIDEXAMPLE", "aws_secret_access_key": "secret"}
    lean, full = lean_session(), aioboto3.Session()
    for service, prefix in endpoint_prefixes().items():
        async with lean.client(service, region_name=region, **credentials) as mine, \
                full.client(service, region_name=region, **credentials) as theirs:
            assert mine.meta.service_model.endpoint_prefix == prefix
            assert mine.meta.endpoint_url == theirs.meta.endpoint_url, service
            signer, reference = mine._request_signer, theirs._request_signer
            assert (signer.signing_name, signer.region_name, signer.signature_version) == (
                reference.signing_name, reference.region_name, reference.signature_version), service


async def test_a_service_without_kept_endpoints_is_refused(moto: LocalEmulator) -> None:
    settings = AwsSettings(region="us-east-1", endpoint_url=moto.url, static_credentials=EMULATOR_CREDENTIALS)
    async with AwsClients(settings) as aws:
        with pytest.raises(ValueError, match="not a registered service"):
            await aws.client("ec2")


async def test_a_lean_s3_client_calls_the_emulator(moto: LocalEmulator) -> None:
    """S3 reads clientContextParams' documentation when a client is built: a call end to end proves the
    lean data is complete enough for the richest service trimtab opens."""
    session = lean_session()
    async with session.client("s3", endpoint_url=moto.url, region_name="us-east-1",
                              aws_access_key_id=EMULATOR_CREDENTIALS[0],
                              aws_secret_access_key=EMULATOR_CREDENTIALS[1]) as s3:
        await s3.create_bucket(Bucket="lean-data")
        assert "lean-data" in [bucket["Name"] for bucket in (await s3.list_buckets())["Buckets"]]
