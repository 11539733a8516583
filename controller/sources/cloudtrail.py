"""AWS's own change events, as EventBridge delivers CloudTrail's "AWS API Call via CloudTrail" to SQS:
what each one says was changed, in the terms of trimtab's inventory (a kind and identity fields).
Each kind declares how its service's events name its resources (KindDescriptor.events).

Every control-plane write to SQS, S3, CloudWatch and Application Auto Scaling is a CloudTrail
management event; an EventBridge rule with the pattern `event_pattern()` forwards them to a queue
within seconds, so drift is seen when it happens rather than at the next periodic resync.

Shapes follow AWS's documentation of each service's CloudTrail entries (request parameters in the
API's own names, camelCased):
https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-logging-using-cloudtrail.html
https://docs.aws.amazon.com/AmazonS3/latest/userguide/cloudtrail-logging-understanding-s3-entries.html
https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/logging_cw_api_calls.html
https://docs.aws.amazon.com/autoscaling/application/userguide/logging-cloudtrail.html
https://docs.aws.amazon.com/eventbridge/latest/ref/events-structure.html
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from controller.kinds.descriptor import Touched
from controller.kinds.registry import DESCRIPTORS

DETAIL_TYPE = "AWS API Call via CloudTrail"


class MalformedEvent(ValueError):
    """Not an EventBridge envelope of a CloudTrail API call: the message goes to the DLQ in time."""


@dataclass(frozen=True)
class ApiCall:
    """One CloudTrail API call, reduced to what reconciling needs."""

    service: str  # the eventSource's prefix: sqs, s3, monitoring, application-autoscaling
    name: str  # the API operation, e.g. SetQueueAttributes
    region: str
    time: datetime  # when AWS recorded it, for the lag metric
    caller_arn: str  # userIdentity.arn: who made the call
    issuer_arn: str  # userIdentity.sessionContext.sessionIssuer.arn: the role behind a session
    read_only: bool
    touched: tuple[Touched, ...]


def parse(message: Any) -> ApiCall:
    """An EventBridge envelope (the SQS message body, parsed) as an ApiCall; MalformedEvent otherwise."""
    if not isinstance(message, dict) or message.get("detail-type") != DETAIL_TYPE:
        raise MalformedEvent(f"not an {DETAIL_TYPE!r} event (detail-type {_get(message, 'detail-type')!r})")
    detail = message.get("detail")
    if not isinstance(detail, dict):
        raise MalformedEvent("the event has no detail object")
    source, name = detail.get("eventSource"), detail.get("eventName")
    if not isinstance(source, str) or not isinstance(name, str):
        raise MalformedEvent("the event's detail has no eventSource or eventName")
    try:
        when = datetime.fromisoformat(str(message.get("time") or detail.get("eventTime")).replace("Z", "+00:00"))
    except ValueError as error:
        raise MalformedEvent(f"the event's time is not ISO-8601: {error}") from None
    identity = _object(detail.get("userIdentity"))
    issuer = _object(_object(identity.get("sessionContext")).get("sessionIssuer"))
    region = str(detail.get("awsRegion") or message.get("region") or "")
    parameters = detail.get("requestParameters")
    parameters = parameters if isinstance(parameters, dict) else {}
    touched = tuple(touched for descriptor in DESCRIPTORS if descriptor.events is not None
                    and descriptor.event_source == source
                    for touched in descriptor.events(name, parameters, region))
    return ApiCall(source.removesuffix(".amazonaws.com"), name, region, when, str(identity.get("arn", "")),
                   str(issuer.get("arn", "")), bool(detail.get("readOnly", False)), touched)


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _get(message: Any, key: str) -> Any:
    return message.get(key) if isinstance(message, dict) else None


def event_pattern() -> dict[str, Any]:
    """The EventBridge rule's pattern: CloudTrail's write events of the services trimtab's kinds use."""
    return {
        "detail-type": [DETAIL_TYPE],
        "detail": {
            "eventSource": sorted({d.event_source for d in DESCRIPTORS if d.events is not None}),
            "readOnly": [False],
        },
    }
