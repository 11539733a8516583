"""The messages EventBridge puts on an SQS target for CloudTrail's "AWS API Call via CloudTrail": the
event itself as the body. moto emits no CloudTrail events, so tests make the out-of-band change with
boto3 and then send the envelope AWS would have delivered for it.

The shapes follow the recorded examples in AWS's documentation (the envelope:
https://docs.aws.amazon.com/eventbridge/latest/ref/events-structure.html; a CloudTrail record's
fields: https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html;
request parameters per service: the pages cited in controller/sources/cloudtrail.py).
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

ACCOUNT = "123456789012"
SOMEONE = f"arn:aws:sts::{ACCOUNT}:assumed-role/Admin/alice"  # a person at the console


def envelope(source: str, name: str, parameters: dict[str, Any], *, caller: str = SOMEONE,
             issuer: str | None = None, region: str = "us-east-1", read_only: bool = False,
             at: datetime | None = None) -> dict[str, Any]:
    """`source` as CloudTrail names it (sqs, s3, monitoring, application-autoscaling, sns)."""
    when = (at or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    role = issuer or "arn:aws:iam::{}:role/{}".format(ACCOUNT, caller.split("/")[1] if "/" in caller else "user")
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "AWS API Call via CloudTrail",
        "source": f"aws.{source.replace('monitoring', 'cloudwatch')}",
        "account": ACCOUNT,
        "time": when,
        "region": region,
        "resources": [],
        "detail": {
            "eventVersion": "1.09",
            "userIdentity": {
                "type": "AssumedRole",
                "principalId": "AROAEXAMPLE:session",
                "arn": caller,
                "accountId": ACCOUNT,
                "sessionContext": {"sessionIssuer": {"type": "Role", "arn": role, "accountId": ACCOUNT}},
            },
            "eventTime": when,
            "eventSource": f"{source}.amazonaws.com",
            "eventName": name,
            "awsRegion": region,
            "sourceIPAddress": "203.0.113.7",
            "userAgent": "console.amazonaws.com",
            "requestParameters": parameters,
            "responseElements": None,
            "requestID": str(uuid.uuid4()),
            "eventID": str(uuid.uuid4()),
            "readOnly": read_only,
            "eventType": "AwsApiCall",
            "managementEvent": True,
            "recipientAccountId": ACCOUNT,
            "eventCategory": "Management",
        },
    }


def set_queue_attributes(queue_url: str, attributes: dict[str, str], **options: Any) -> dict[str, Any]:
    return envelope("sqs", "SetQueueAttributes", {"queueUrl": queue_url, "attributes": attributes}, **options)


def delete_queue(queue_url: str, **options: Any) -> dict[str, Any]:
    return envelope("sqs", "DeleteQueue", {"queueUrl": queue_url}, **options)


def put_bucket_versioning(bucket: str, status: str, **options: Any) -> dict[str, Any]:
    return envelope("s3", "PutBucketVersioning", {
        "bucketName": bucket, "Host": f"{bucket}.s3.amazonaws.com", "versioning": "",
        "VersioningConfiguration": {"Status": status, "xmlns": "http://s3.amazonaws.com/doc/2006-03-01/"}},
        **options)


def put_metric_alarm(alarm: str, **options: Any) -> dict[str, Any]:
    return envelope("monitoring", "PutMetricAlarm", {"alarmName": alarm, "evaluationPeriods": 1}, **options)


def put_composite_alarm(alarm: str, **options: Any) -> dict[str, Any]:
    return envelope("monitoring", "PutCompositeAlarm", {"alarmName": alarm, "alarmRule": 'ALARM("orders-high")'},
                    **options)


def delete_alarms(*alarms: str, **options: Any) -> dict[str, Any]:
    return envelope("monitoring", "DeleteAlarms", {"alarmNames": list(alarms)}, **options)


def register_scalable_target(namespace: str, resource_id: str, dimension: str, **options: Any) -> dict[str, Any]:
    return envelope("application-autoscaling", "RegisterScalableTarget", {
        "serviceNamespace": namespace, "resourceId": resource_id, "scalableDimension": dimension,
        "minCapacity": 1, "maxCapacity": 10}, **options)


def put_scaling_policy(name: str, namespace: str, resource_id: str, dimension: str, **options: Any) -> dict[str, Any]:
    return envelope("application-autoscaling", "PutScalingPolicy", {
        "policyName": name, "serviceNamespace": namespace, "resourceId": resource_id, "scalableDimension": dimension,
        "policyType": "TargetTrackingScaling"}, **options)


def scheduled_action(event: str, name: str, namespace: str, resource_id: str, dimension: str,
                     **options: Any) -> dict[str, Any]:
    """PutScheduledAction or DeleteScheduledAction: both name the action and its target."""
    return envelope("application-autoscaling", event, {
        "scheduledActionName": name, "serviceNamespace": namespace, "resourceId": resource_id,
        "scalableDimension": dimension}, **options)


def deregister_scalable_target(namespace: str, resource_id: str, dimension: str, **options: Any) -> dict[str, Any]:
    return envelope("application-autoscaling", "DeregisterScalableTarget", {
        "serviceNamespace": namespace, "resourceId": resource_id, "scalableDimension": dimension}, **options)


# SNS's writes name the topic by name (CreateTopic) or by ARN:
# https://docs.aws.amazon.com/sns/latest/dg/sns-logging-using-cloudtrail.html
def create_topic(name: str, **options: Any) -> dict[str, Any]:
    return envelope("sns", "CreateTopic", {"name": name}, **options)


def set_topic_attributes(topic_arn: str, attribute: str, value: str = "x", **options: Any) -> dict[str, Any]:
    return envelope("sns", "SetTopicAttributes", {"topicArn": topic_arn, "attributeName": attribute,
                                                  "attributeValue": value}, **options)


def delete_topic(topic_arn: str, **options: Any) -> dict[str, Any]:
    return envelope("sns", "DeleteTopic", {"topicArn": topic_arn}, **options)


def tag_sns_resource(resource_arn: str, **options: Any) -> dict[str, Any]:
    return envelope("sns", "TagResource", {"resourceArn": resource_arn, "tags": [{"key": "k", "value": "v"}]},
                    **options)


def subscribe(topic_arn: str, protocol: str, endpoint: str, **options: Any) -> dict[str, Any]:
    return envelope("sns", "Subscribe", {"topicArn": topic_arn, "protocol": protocol, "endpoint": endpoint,
                                         "returnSubscriptionArn": True}, **options)


def on_subscription(event: str, subscription_arn: str, **options: Any) -> dict[str, Any]:
    """Unsubscribe or SetSubscriptionAttributes: they name the subscription's ARN only."""
    return envelope("sns", event, {"subscriptionArn": subscription_arn}, **options)


def body(event: dict[str, Any]) -> str:
    """The SQS message body EventBridge delivers: the event, as JSON."""
    return json.dumps(event)
