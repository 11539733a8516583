"""Event notifications (PutBucketNotificationConfiguration) to Queue and Topic specs by reference, and to
Lambda functions by ARN.

The whole configuration is one value: a PUT replaces it, so destinations the spec does not list are removed.
Each configuration has an id (the spec's, or its list's name and position), which S3 keeps: without one S3
would invent a random id that never matches the spec. Lists are sorted by id and events by name, and S3
reports filter rule names capitalised (Prefix, Suffix) where the API takes lowercase: both sides are read in
one canonical shape.
"""

from __future__ import annotations

from typing import Any

from controller.api.bucket import Bucket, BucketNotifications
from controller.api.fields import Ref
from controller.kinds.base import RefResolver
from controller.kinds.bucket_parts import BucketPart

# spec list -> (the configuration list in S3's API, the destination's ARN member)
_LISTS = {
    "queues": ("QueueConfigurations", "QueueArn"),
    "topics": ("TopicConfigurations", "TopicArn"),
    "lambdaFunctions": ("LambdaFunctionConfigurations", "LambdaFunctionArn"),
}


def _configuration(configuration_id: str, arn_member: str, arn: str, events: list[str],
                   rules: dict[str, str]) -> dict[str, Any]:
    """One configuration in the canonical wire shape: sorted events, filter rules sorted by lowercase name."""
    aws: dict[str, Any] = {"Id": configuration_id, arn_member: arn, "Events": sorted(events)}
    if rules:
        aws["Filter"] = {"Key": {"FilterRules": [{"Name": name, "Value": rules[name]} for name in sorted(rules)]}}
    return aws


def _render(resource: Bucket, refs: RefResolver) -> dict[str, Any] | None:
    notifications: BucketNotifications | None = resource.spec.notifications
    if notifications is None:
        return None
    state: dict[str, Any] = {}
    for name, items in notifications.configurations().items():
        _, arn_member = _LISTS[name]
        rendered = []
        for configuration_id, item in items:
            given = item.filter
            rules = {} if given is None else {
                key: value for key, value in (("prefix", given.prefix), ("suffix", given.suffix)) if value is not None}
            target = item.target()
            arn = refs.output(target, "arn") if isinstance(target, Ref) else target
            rendered.append(_configuration(configuration_id, arn_member, arn, item.events, rules))
        state[name] = sorted(rendered, key=lambda configuration: configuration["Id"])
    return state


async def _read(s3: Any, name: str) -> Any:
    response = await s3.get_bucket_notification_configuration(Bucket=name)
    state: dict[str, Any] = {}
    for spec_name, (member, arn_member) in _LISTS.items():
        found = []
        for aws in response.get(member, []):
            rules = {rule["Name"].lower(): rule["Value"]
                     for rule in aws.get("Filter", {}).get("Key", {}).get("FilterRules", [])}
            found.append(_configuration(aws.get("Id", ""), arn_member, aws[arn_member], aws["Events"], rules))
        state[spec_name] = sorted(found, key=lambda configuration: configuration["Id"])
    return state  # an empty configuration when the bucket has none


async def _write(s3: Any, name: str, notifications: dict[str, list[dict[str, Any]]]) -> None:
    # S3 refuses the whole configuration unless every destination lets s3.amazonaws.com send to it
    # (moto does not check); the referenced queue or topic, with its policy, is reconciled first.
    configuration = {_LISTS[spec_name][0]: items for spec_name, items in notifications.items() if items}
    await s3.put_bucket_notification_configuration(Bucket=name, NotificationConfiguration=configuration)


PART = BucketPart("notifications", _render, _read, _write, ("s3:GetBucketNotification", "s3:PutBucketNotification"))
