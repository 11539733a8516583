"""Subscription: an SNS subscription of an endpoint (email, HTTP/S, SQS, Lambda, ...) to a Topic."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import Field, WithJsonSchema, model_validator

from controller.api.aws_params import Hand, Param, ParamTable, TrimtabOnly
from controller.api.envelope import MANAGED_PARAMS, ManagedSpec, Resource
from controller.api.fields import FieldError, QueueRef, SpecModel, TopicRef
from controller.api.topic import DeliveryPolicy

SUBSCRIBE_URL = "https://docs.aws.amazon.com/sns/latest/api/API_Subscribe.html"
SET_ATTRIBUTES_URL = "https://docs.aws.amazon.com/sns/latest/api/API_SetSubscriptionAttributes.html"
SQS_SUBSCRIBE_URL = "https://docs.aws.amazon.com/sns/latest/dg/subscribe-sqs-queue-to-sns-topic.html"
# Subscribe's Protocol: "Supported protocols include" these (botocore's model types it as a string).
PROTOCOLS = ("http", "https", "email", "email-json", "sms", "sqs", "application", "lambda", "firehose")
# A filter policy: "a simple JSON object" whose keys are attribute names (or body properties), written as YAML.
FilterPolicy = Annotated[dict[str, Any], WithJsonSchema({
    "type": "object", "x-kubernetes-preserve-unknown-fields": True,
    "description": "An SNS filter policy (e.g. severity: [critical]) written as YAML."})]


class SubscriptionRedrivePolicy(SpecModel):
    dead_letter_queue_ref: QueueRef | None = Field(
        default=None, description="metadata.name of the Queue spec that keeps undeliverable messages; its policy "
                                  "lets the topic send, as for queueRef.")
    dead_letter_target_arn: str | None = Field(
        default=None, description="The ARN of an SQS queue (not managed here) that keeps undeliverable messages.")

    @model_validator(mode="after")
    def _one_target(self) -> Self:
        if (self.dead_letter_queue_ref is None) == (self.dead_letter_target_arn is None):
            raise FieldError("deadLetterQueueRef", "set exactly one of deadLetterQueueRef and deadLetterTargetArn")
        return self


class SubscriptionSpec(ManagedSpec):
    topic_ref: TopicRef = Field(description="metadata.name of the Topic spec subscribed to.")
    protocol: str = Field(description="How SNS delivers: " + ", ".join(PROTOCOLS) + ".")
    endpoint: str | None = Field(
        default=None, description="Where SNS delivers, as the protocol wants it: an email address, an http:// "
                                  "or https:// URL, a phone number, or the ARN of an SQS queue, Lambda function, "
                                  "Firehose stream or mobile app endpoint. Exactly one of endpoint and queueRef.")
    queue_ref: QueueRef | None = Field(
        default=None, description="protocol sqs: metadata.name of the Queue spec that receives, rendered as its "
                                  "ARN. That queue's policy then includes the statement that lets this topic "
                                  "send to it (Sid trimtab-sns-TOPIC, see the Queue's policy), for as long as "
                                  "this subscription is in the source.")
    filter_policy: FilterPolicy | None = Field(
        default=None, description="Deliver only the messages that match, as YAML (the JSON FilterPolicy); "
                                  "unmanaged when omitted.")
    filter_policy_scope: str | None = Field(
        default=None, description="What filterPolicy matches: MessageAttributes (SNS's default) or MessageBody.")
    raw_message_delivery: bool | None = Field(
        default=None, description="Deliver the message as published, without SNS's JSON envelope (SQS, HTTP/S "
                                  "and Firehose); unmanaged when omitted.")
    redrive_policy: SubscriptionRedrivePolicy | None = Field(
        default=None, description="The SQS dead-letter queue for messages SNS could not deliver; unmanaged when "
                                  "omitted.")
    delivery_policy: DeliveryPolicy | None = Field(
        default=None, description="http and https only: how SNS retries deliveries, as YAML (the JSON "
                                  "DeliveryPolicy); unmanaged when omitted.")
    subscription_role_arn: str | None = Field(
        default=None, description="firehose only, and required there: the IAM role SNS assumes to write to the "
                                  "stream.")


_SNS, _SUBSCRIBE = "sns", "Subscribe"


def _attribute(name: str, *hand: Hand, translated: str | None = None) -> Param:
    """A subscription attribute, as Subscribe's Attributes map holds it (the model types each as a string);
    SetSubscriptionAttributes takes the same names one at a time (AttributeName, AttributeValue)."""
    return Param(_SNS, _SUBSCRIBE, f"Attributes{{={name}}}", hand, translated)


SUBSCRIPTION_PARAMS: ParamTable = {
    **MANAGED_PARAMS,
    "topicRef": TrimtabOnly("a reference: rendered as Subscribe's TopicArn"),
    "protocol": Param(_SNS, _SUBSCRIBE, "Protocol", (Hand(SUBSCRIBE_URL, values=PROTOCOLS),)),
    "endpoint": Param(_SNS, _SUBSCRIBE, "Endpoint", (Hand(
        SUBSCRIBE_URL, rule="shaped by the protocol: http:// or https:// URLs, an email address, an ARN of "
                            "the protocol's service"),)),
    "queueRef": TrimtabOnly("a reference: rendered as Subscribe's Endpoint, the queue's ARN (protocol sqs)"),
    "filterPolicy": _attribute("FilterPolicy", translated="the document as JSON"),
    "filterPolicyScope": _attribute("FilterPolicyScope", Hand(
        SET_ATTRIBUTES_URL, values=("MessageAttributes", "MessageBody"), rule="with a filterPolicy")),
    "rawMessageDelivery": _attribute("RawMessageDelivery", Hand(
        "https://docs.aws.amazon.com/sns/latest/dg/sns-large-payload-raw-message-delivery.html",
        rule="SQS, HTTP/S and Firehose subscriptions only"), translated="'true' or 'false'"),
    "redrivePolicy": _attribute("RedrivePolicy", translated="a JSON RedrivePolicy"),
    "redrivePolicy.deadLetterQueueRef": TrimtabOnly("a reference: rendered as RedrivePolicy's deadLetterTargetArn"),
    "redrivePolicy.deadLetterTargetArn": _attribute("RedrivePolicy", Hand(
        "https://docs.aws.amazon.com/sns/latest/dg/sns-configure-dead-letter-queue.html",
        rule="an SQS queue's ARN"), translated="RedrivePolicy's deadLetterTargetArn"),
    "deliveryPolicy": _attribute("DeliveryPolicy", Hand(SET_ATTRIBUTES_URL, rule="http and https only"),
                                 translated="the document as JSON"),
    "subscriptionRoleArn": _attribute("SubscriptionRoleArn", Hand(
        SET_ATTRIBUTES_URL, rule="firehose only, and required there")),
}


class Subscription(Resource):
    KIND: ClassVar[str] = "Subscription"
    AWS_PARAMS: ClassVar[ParamTable] = SUBSCRIPTION_PARAMS
    SUMMARY: ClassVar[str] = ("An SNS subscription of an email address, HTTP/S URL, SQS queue, Lambda function "
                              "or other endpoint to a Topic, with filter, redrive and delivery policies; an SQS "
                              "subscription by queueRef writes the queue policy that lets the topic send.")
    EXTRA_COLUMNS: ClassVar[tuple[tuple[str, str, str], ...]] = (
        ("TOPIC", ".spec.topicRef", "string"),
        ("PROTOCOL", ".spec.protocol", "string"),
    )

    kind: Literal["Subscription"]
    spec: SubscriptionSpec

    def external_name(self) -> str:
        # SNS has one subscription per topic, protocol and endpoint (Subscribe answers the existing one).
        spec = self.spec
        endpoint = spec.endpoint if spec.queue_ref is None else f"{spec.queue_ref}"
        return f"{spec.topic_ref.name}|{spec.protocol}|{endpoint}"

    @model_validator(mode="after")
    def _endpoint(self) -> Self:
        spec = self.spec
        if (spec.endpoint is None) == (spec.queue_ref is None):
            raise FieldError("spec.endpoint", "set exactly one of endpoint and queueRef")
        if spec.queue_ref is not None and spec.protocol != "sqs":
            raise FieldError("spec.queueRef", f"queueRef is for protocol sqs, not {spec.protocol}")
        return self
