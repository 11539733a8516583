"""AWS's own change events, as EventBridge delivers CloudTrail's "AWS API Call via CloudTrail" to SQS:
what each one says was changed, in the terms of trimtab's inventory (a kind and identity fields).

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

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

DETAIL_TYPE = "AWS API Call via CloudTrail"


class MalformedEvent(ValueError):
    """Not an EventBridge envelope of a CloudTrail API call: the message goes to the DLQ in time."""


@dataclass(frozen=True)
class Touched:
    """A resource an event says was written: a kind, and the identity fields the event names (a
    subset of the inventory's identity: DeregisterScalableTarget touches the target and, by its
    namespace, resource id and dimension alone, every policy on it)."""

    kind: str
    fields: tuple[tuple[str, str], ...]

    def matches(self, kind: str, identity: Mapping[str, Any]) -> bool:
        return kind == self.kind and all(str(identity.get(name)) == value for name, value in self.fields)


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
    service = source.removesuffix(".amazonaws.com")
    parameters = detail.get("requestParameters")
    mapper = MAPPERS.get(service)
    touched = tuple(mapper(name, parameters if isinstance(parameters, dict) else {}, region)) if mapper else ()
    return ApiCall(service, name, region, when, str(identity.get("arn", "")), str(issuer.get("arn", "")),
                   bool(detail.get("readOnly", False)), touched)


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _get(message: Any, key: str) -> Any:
    return message.get(key) if isinstance(message, dict) else None


def _touch(kind: str, **fields: Any) -> Touched:
    return Touched(kind, tuple(sorted((name, str(value)) for name, value in fields.items())))


def _sqs(name: str, parameters: dict[str, Any], region: str) -> Iterator[Touched]:
    # CreateQueue names the queue; every other write names its URL, whose last segment is the name.
    queue = parameters.get("queueName") or str(parameters.get("queueUrl") or "").rstrip("/").rsplit("/", 1)[-1]
    if queue:
        yield _touch("Queue", name=queue, region=region)


def _s3(name: str, parameters: dict[str, Any], region: str) -> Iterator[Touched]:
    # Bucket-level writes only: object writes are data events, which the rule does not select.
    bucket = parameters.get("bucketName")
    if bucket:
        yield _touch("Bucket", name=bucket)


def _cloudwatch(name: str, parameters: dict[str, Any], region: str) -> Iterator[Touched]:
    names = parameters.get("alarmNames")  # DeleteAlarms, EnableAlarmActions, DisableAlarmActions: many
    if isinstance(names, list):
        yield from (_touch("Alarm", name=alarm, region=region) for alarm in names if isinstance(alarm, str))
    if isinstance(parameters.get("alarmName"), str):  # PutMetricAlarm, SetAlarmState
        yield _touch("Alarm", name=parameters["alarmName"], region=region)
    arn = str(parameters.get("resourceARN") or "")  # TagResource, UntagResource
    if ":alarm:" in arn:
        yield _touch("Alarm", name=arn.split(":alarm:", 1)[1], region=region)


def _application_autoscaling(name: str, parameters: dict[str, Any], region: str) -> Iterator[Touched]:
    target = {key: parameters.get(wire) for key, wire in
              (("namespace", "serviceNamespace"), ("resourceId", "resourceId"), ("dimension", "scalableDimension"))}
    if not all(isinstance(value, str) for value in target.values()):
        return  # TagResource names a target by its ARN, which holds an opaque id: the resync covers it
    if "policyName" in parameters:  # PutScalingPolicy, DeleteScalingPolicy
        yield _touch("ScalingPolicy", name=parameters["policyName"], **target)
    else:  # RegisterScalableTarget, DeregisterScalableTarget: the target, and its policies with it
        yield _touch("ScalableTarget", **target)
        yield _touch("ScalingPolicy", **target)


MAPPERS: dict[str, Callable[[str, dict[str, Any], str], Iterator[Touched]]] = {
    "sqs": _sqs,
    "s3": _s3,
    "monitoring": _cloudwatch,
    "application-autoscaling": _application_autoscaling,
}


def event_pattern() -> dict[str, Any]:
    """The EventBridge rule's pattern: CloudTrail's write events of the services trimtab's kinds use."""
    return {
        "detail-type": [DETAIL_TYPE],
        "detail": {
            "eventSource": sorted(f"{service}.amazonaws.com" for service in MAPPERS),
            "readOnly": [False],
        },
    }
