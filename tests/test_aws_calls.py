"""Every AWS call is counted by service, operation and outcome; failures keep their error code."""

from __future__ import annotations

import aioboto3
import pytest
from botocore.exceptions import ClientError
from botocore.parsers import ResponseParserError

from controller.aws import AwsClients, AwsSettings, is_retryable
from controller.emulator import EMULATOR_CREDENTIALS, LocalEmulator
from controller.metrics import Metrics
from tests.conftest import REGION


def sample(metrics: Metrics, name: str, **labels: str) -> float:
    value = metrics.registry.get_sample_value(name, labels)
    return 0.0 if value is None else value


async def test_an_aws_error_response_is_counted_with_its_code_not_as_ok(moto: LocalEmulator) -> None:
    metrics = Metrics()
    settings = AwsSettings(region=REGION, endpoint_url=moto.url, static_credentials=EMULATOR_CREDENTIALS)
    async with AwsClients(settings, session=aioboto3.Session(), metrics=metrics) as aws:
        sqs = await aws.client("sqs")
        await sqs.create_queue(QueueName="present")
        with pytest.raises(ClientError) as missing:
            await sqs.get_queue_url(QueueName="absent")
    code = missing.value.response["Error"]["Code"]
    assert aws.stats.counts[("sqs", "CreateQueue", "ok")] == 1
    assert aws.stats.counts[("sqs", "GetQueueUrl", code)] == 1
    assert aws.stats.counts[("sqs", "GetQueueUrl", "ok")] == 0
    labels = {"service": "sqs", "operation": "GetQueueUrl"}
    assert sample(metrics, "trimtab_aws_api_calls_total", outcome=code, **labels) == 1
    assert sample(metrics, "trimtab_aws_api_errors_total", code=code, **labels) == 1
    assert sample(metrics, "trimtab_aws_api_errors_total", service="sqs", operation="CreateQueue", code="ok") == 0
    assert sample(metrics, "trimtab_aws_api_call_duration_seconds_count", **labels) == 1


def test_an_unparseable_answer_is_retried() -> None:
    # Seen at 10,000 resources: moto answered an HTML error page; botocore's parser error is not a
    # BotoCoreError, and without this the item waited for its next periodic resync.
    assert is_retryable(ResponseParserError("Unable to parse response, invalid XML received"))
