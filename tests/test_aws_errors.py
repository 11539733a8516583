"""AWS error codes match in every form a service reports them, and QueueDeletedRecently says how long to wait.

SQS is "query compatible": botocore reports AWS's x-amzn-query-error code in full
(`AWS.SimpleQueueService.QueueDeletedRecently`) and the JSON name beside it as QueryErrorCode. moto never
returns QueueDeletedRecently (it has no cooldown), so these errors are built the way botocore builds them.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from controller.aws import classify_exception, code_in, error_code, is_retryable, short_code
from controller.emulator import LocalEmulator
from controller.kinds.descriptor import ErrorVerdict
from controller.kinds.queue import _MISSING_CODES
from controller.kinds.registry import BY_KIND

QUEUE = BY_KIND["Queue"]


def client_error(code: str, status: int = 400, query_code: str | None = None,
                 operation: str = "CreateQueue") -> ClientError:
    details: dict[str, Any] = {"Code": code, "Message": "from the test"}
    if query_code is not None:
        details["QueryErrorCode"] = query_code
    response: Any = {"Error": details, "ResponseMetadata": {"HTTPStatusCode": status}}
    return ClientError(response, operation)


# As AWS answers (header present: full Code, JSON name as QueryErrorCode), as the JSON body alone says,
# and as an emulator that sends only the full form says.
DELETED_RECENTLY = [
    client_error("AWS.SimpleQueueService.QueueDeletedRecently", query_code="QueueDeletedRecently"),
    client_error("QueueDeletedRecently"),
    client_error("AWS.SimpleQueueService.QueueDeletedRecently"),
]


def test_short_code_strips_the_sqs_prefix_and_shape_ids_and_leaves_the_rest() -> None:
    assert short_code("AWS.SimpleQueueService.QueueDeletedRecently") == "QueueDeletedRecently"
    assert short_code("AWS.SimpleQueueService.NonExistentQueue") == "NonExistentQueue"
    assert short_code("com.amazonaws.sqs#QueueDoesNotExist") == "QueueDoesNotExist"
    assert short_code("QueueDeletedRecently") == "QueueDeletedRecently"
    assert short_code("KMS.NotFoundException") == "KMS.NotFoundException"  # another service's name, kept
    assert short_code("NoSuchBucket") == "NoSuchBucket"


@pytest.mark.parametrize("error", DELETED_RECENTLY, ids=["aws", "short", "full-only"])
def test_queue_deleted_recently_waits_61_seconds_in_every_form(error: ClientError) -> None:
    # A 400, retried only because the Queue kind's descriptor says the wait ends.
    assert QUEUE.verdict(error) == ErrorVerdict(retryable=True, retry_after=61.0)
    assert not is_retryable(error) and BY_KIND["Bucket"].verdict(error) == ErrorVerdict(retryable=False)
    assert code_in(error, {"QueueDeletedRecently"})
    assert code_in(error, {"AWS.SimpleQueueService.QueueDeletedRecently"})


def test_other_errors_have_no_stated_wait() -> None:
    assert QUEUE.verdict(client_error("ThrottlingException")) == ErrorVerdict(retryable=True)
    assert QUEUE.verdict(client_error("AWS.SimpleQueueService.NonExistentQueue", query_code="QueueDoesNotExist")) \
        == ErrorVerdict(retryable=False)
    assert QUEUE.verdict(client_error("InternalError", status=500)) == ErrorVerdict(retryable=True)
    assert QUEUE.verdict(TimeoutError()) == ErrorVerdict(retryable=True)
    assert QUEUE.verdict(ValueError("QueueDeletedRecently")).retry_after is None  # a code, not a message, decides


@pytest.mark.parametrize("error", [
    client_error("AWS.SimpleQueueService.NonExistentQueue", query_code="QueueDoesNotExist"),
    client_error("AWS.SimpleQueueService.NonExistentQueue"),
    client_error("QueueDoesNotExist"),
    client_error("NonExistentQueue"),
], ids=["aws", "full-only", "json", "short-query"])
def test_a_missing_queue_is_recognised_in_every_form(error: ClientError) -> None:
    assert code_in(error, _MISSING_CODES)
    assert not is_retryable(error)


@pytest.mark.parametrize("code", [
    "AWS.SimpleQueueService.UnsupportedOperation", "UnsupportedOperation", "AccessDenied",
])
def test_a_terminal_code_is_terminal_in_either_form_even_on_a_5xx(code: str) -> None:
    # A terminal code wins over the status: a 500 with it would otherwise be retried.
    assert not is_retryable(client_error(code, status=500))


@pytest.mark.parametrize(("kind", "code"), [
    ("Queue", "KMS.AccessDeniedException"), ("Queue", "KmsAccessDenied"), ("Queue", "InvalidAttributeValue"),
    ("Bucket", "BucketNotEmpty"), ("Bucket", "IllegalLocationConstraintException"),
])
def test_a_kinds_own_terminal_code_is_terminal_for_that_kind(kind: str, code: str) -> None:
    assert BY_KIND[kind].verdict(client_error(code, status=500)) == ErrorVerdict(retryable=False)
    assert is_retryable(client_error(code, status=500))  # another service's 500 with that name is not its code


@pytest.mark.parametrize("code", [
    "AWS.SimpleQueueService.RequestThrottled", "RequestThrottled", "com.amazonaws.sqs#ThrottlingException",
    "ThrottlingException",
])
def test_a_throttle_is_a_throttle_in_either_form(code: str) -> None:
    error = client_error(code, operation="GetQueueUrl")
    assert is_retryable(error)
    assert classify_exception(error) == "throttled"


def test_error_code_keeps_the_form_botocore_reports() -> None:
    # Status and metrics show what AWS said; only comparisons normalise.
    error = client_error("AWS.SimpleQueueService.QueueDeletedRecently", query_code="QueueDeletedRecently")
    assert error_code(error) == "AWS.SimpleQueueService.QueueDeletedRecently"
    assert classify_exception(error) == "AWS.SimpleQueueService.QueueDeletedRecently"


def test_a_real_missing_queue_error_from_the_emulator_matches(moto: LocalEmulator, boto: Any) -> None:
    # moto answers in the form AWS does (full Code, JSON name as QueryErrorCode): both must match.
    with pytest.raises(ClientError) as missing:
        boto("sqs").get_queue_url(QueueName="absent")
    assert error_code(missing.value) == "AWS.SimpleQueueService.NonExistentQueue"
    assert code_in(missing.value, {"QueueDoesNotExist"}) and code_in(missing.value, {"NonExistentQueue"})
    assert QUEUE.verdict(missing.value) == ErrorVerdict(retryable=False)
