"""SNS subscriptions: which endpoint each protocol takes, and which attributes apply to which protocols.

Sources: https://docs.aws.amazon.com/sns/latest/api/API_Subscribe.html (Endpoint: "Endpoints vary by
protocol"), https://docs.aws.amazon.com/sns/latest/api/API_SetSubscriptionAttributes.html (DeliveryPolicy
for HTTP/S; SubscriptionRoleArn "required for Firehose delivery stream subscriptions"),
https://docs.aws.amazon.com/sns/latest/dg/sns-large-payload-raw-message-delivery.html (raw delivery: Amazon
Data Firehose, Amazon SQS and HTTP/S endpoints). An ARN written with ${AWS::...} pseudo parameters is checked
as it becomes with stand-in values.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from controller.api import substitution
from controller.api.rules.base import Violation, rule
from controller.api.subscription import Subscription

_ARN = r"^arn:aws[a-z-]*:{service}:[a-z0-9-]+:\d{{12}}:{resource}$"
# What Subscribe's Endpoint is for each protocol (sms: "a phone number", which SNS itself checks).
ENDPOINTS: dict[str, tuple[str, re.Pattern[str]]] = {
    "http": ("a URL beginning with http://", re.compile(r"^http://\S+$")),
    "https": ("a URL beginning with https://", re.compile(r"^https://\S+$")),
    "email": ("an email address", re.compile(r"^[^@\s]+@[^@\s]+$")),
    "email-json": ("an email address", re.compile(r"^[^@\s]+@[^@\s]+$")),
    "sqs": ("an SQS queue's ARN (or queueRef)", re.compile(_ARN.format(service="sqs", resource=r"[\w.-]+"))),
    "lambda": ("a Lambda function's ARN", re.compile(_ARN.format(service="lambda", resource=r"function:\S+"))),
    "firehose": ("a Firehose delivery stream's ARN",
                 re.compile(_ARN.format(service="firehose", resource=r"deliverystream/\S+"))),
    "application": ("a mobile app endpoint's EndpointArn",
                    re.compile(_ARN.format(service="sns", resource=r"endpoint/\S+"))),
}
RAW_DELIVERY = ("sqs", "http", "https", "firehose")
SQS_ARN = ENDPOINTS["sqs"][1]


@rule(Subscription)
def endpoint_fits_the_protocol(subscription: Subscription) -> Iterator[Violation]:
    """Subscribe's Endpoint is what its protocol delivers to: an http:// or https:// URL, an email address,
    or the ARN of an SQS queue, Lambda function, Firehose stream or mobile app endpoint.
    https://docs.aws.amazon.com/sns/latest/api/API_Subscribe.html"""
    spec = subscription.spec
    wanted = ENDPOINTS.get(spec.protocol)
    if spec.endpoint is None or wanted is None:
        return
    endpoint = substitution.substitute(spec.endpoint, substitution.values(subscription, substitution.STAND_IN))
    if not wanted[1].match(endpoint):
        yield Violation(("spec", "endpoint"), f"a {spec.protocol} subscription's endpoint is {wanted[0]} "
                                              f"(got {spec.endpoint!r})")


@rule(Subscription)
def attributes_fit_the_protocol(subscription: Subscription) -> Iterator[Violation]:
    """Raw delivery is for SQS, HTTP/S and Firehose; a delivery policy for HTTP/S; a subscription role for
    Firehose, which requires one; a filter policy scope scopes a filter policy.
    https://docs.aws.amazon.com/sns/latest/api/API_SetSubscriptionAttributes.html"""
    spec = subscription.spec
    if spec.raw_message_delivery and spec.protocol not in RAW_DELIVERY:
        yield Violation(("spec", "rawMessageDelivery"),
                        f"raw message delivery is for {', '.join(RAW_DELIVERY)} subscriptions, not {spec.protocol}")
    if spec.delivery_policy is not None and spec.protocol not in ("http", "https"):
        yield Violation(("spec", "deliveryPolicy"), f"a delivery policy is for http and https, not {spec.protocol}")
    if (spec.subscription_role_arn is not None) != (spec.protocol == "firehose"):
        yield Violation(("spec", "subscriptionRoleArn"),
                        "a firehose subscription needs subscriptionRoleArn" if spec.protocol == "firehose"
                        else f"subscriptionRoleArn is for firehose subscriptions, not {spec.protocol}")
    if spec.filter_policy_scope is not None and spec.filter_policy is None:
        yield Violation(("spec", "filterPolicyScope"), "filterPolicyScope scopes a filterPolicy: set one")


@rule(Subscription)
def dead_letter_target_is_a_queue(subscription: Subscription) -> Iterator[Violation]:
    """A subscription's dead-letter queue is an SQS queue.
    https://docs.aws.amazon.com/sns/latest/dg/sns-configure-dead-letter-queue.html"""
    redrive = subscription.spec.redrive_policy
    if redrive is None or redrive.dead_letter_target_arn is None:
        return
    arn = substitution.substitute(redrive.dead_letter_target_arn,
                                  substitution.values(subscription, substitution.STAND_IN))
    if not SQS_ARN.match(arn):
        yield Violation(("spec", "redrivePolicy", "deadLetterTargetArn"),
                        f"a dead-letter target is an SQS queue's ARN (got {redrive.dead_letter_target_arn!r})")
