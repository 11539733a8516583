"""The fake layer's own promises (tests/fakes.py): the tables built on it are only as good as these."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from controller.aws import error_code
from controller.kinds.descriptor import ErrorVerdict
from controller.kinds.registry import BY_KIND
from tests.fakes import Call, FakeAws, FakeCloud


def _raises(cloud: FakeCloud, operation: str, kind: str = "Queue") -> str | None:
    """The error code `operation` fails with now, or None when it goes through."""
    try:
        cloud.record(Call(kind, operation, "jobs"))
    except ClientError as error:
        return error_code(error)
    return None


def test_a_failure_lasts_as_many_calls_as_asked_then_the_next_queued_one_takes_over() -> None:
    cloud = FakeCloud()
    cloud.fail("create", "ThrottlingException", times=2)
    cloud.fail("create", "AccessDenied")
    assert [_raises(cloud, "create") for _ in range(4)] == [
        "ThrottlingException", "ThrottlingException", "AccessDenied", None]
    assert [_raises(cloud, "update")] == [None]  # other operations are untouched


def test_always_means_until_cleared() -> None:
    cloud = FakeCloud()
    cloud.fail("delete", "InternalError", status=500, times=None)
    assert {_raises(cloud, "delete") for _ in range(20)} == {"InternalError"}
    cloud.clear_failures()
    assert _raises(cloud, "delete") is None


def test_a_failure_scoped_to_a_kind_spares_the_others() -> None:
    cloud = FakeCloud()
    cloud.fail("observe", "ThrottlingException", kind="Bucket", times=None)
    assert (_raises(cloud, "observe", "Queue"), _raises(cloud, "observe", "Bucket")) == (None, "ThrottlingException")


def test_injected_errors_classify_as_aws_would_have_them() -> None:
    """The engine decides retries from the code and the status: the fake's errors must carry both."""
    cloud = FakeCloud()
    cloud.fail("create", "InternalError", status=500)
    cloud.fail("create", "AccessDenied", status=403)
    cloud.fail("create", "AWS.SimpleQueueService.QueueDeletedRecently", query_code="QueueDeletedRecently")
    errors = []
    for _ in range(3):
        with pytest.raises(ClientError) as caught:
            cloud.record(Call("Queue", "create", "jobs"))
        errors.append(caught.value)
    assert [BY_KIND["Queue"].verdict(error) for error in errors] == [
        ErrorVerdict(retryable=True), ErrorVerdict(retryable=False), ErrorVerdict(retryable=True, retry_after=61.0)]


def test_hooks_run_once_before_the_call_even_when_it_then_fails() -> None:
    """A resource that came to exist before a failed create (S3's CreateBucket, then a crash) needs both."""
    cloud = FakeCloud()
    cloud.before("create", lambda: cloud.plant("Queue", "jobs", {}, owner=None))
    cloud.fail("create", "InternalError", status=500, kind="Queue")
    assert _raises(cloud, "create") == "InternalError"
    assert cloud.get("Queue", "jobs") is not None
    cloud.remove("Queue", "jobs")
    assert _raises(cloud, "create") is None and cloud.get("Queue", "jobs") is None  # the hook ran once


def test_every_call_is_recorded_failed_or_not() -> None:
    cloud = FakeCloud()
    cloud.fail("update", "ThrottlingException")
    for operation in ("observe", "update", "update", "read_tags"):
        _raises(cloud, operation)
    assert cloud.operations() == ["observe", "update", "update", "read_tags"]
    assert [str(call) for call in cloud.mutations()] == ["update Queue/jobs", "update Queue/jobs"]


async def test_the_fake_aws_never_opens_a_real_client() -> None:
    aws = FakeAws()
    assert (await aws.caller_identity()).account_id == "123456789012"
    with pytest.raises(AssertionError, match="no AWS calls"):
        await aws.client("sqs")
