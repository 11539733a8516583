"""SNS subscriptions.

SNS names a subscription by an ARN it assigns, so the identity is what the spec says: the topic's ARN, the
protocol and the endpoint (SNS keeps one subscription per three; Subscribe answers the existing one). It is
found by listing the topic's subscriptions, and its attributes read with GetSubscriptionAttributes.

Subscriptions cannot be tagged: ownership rests on the inventory (and the create-pending record written
before Subscribe), as for scheduled actions.

An email, email-json, http or https subscription (and an SQS or Lambda one across accounts) stays "pending
confirmation" until its recipient confirms it: ListSubscriptionsByTopic shows its ARN as
"PendingConfirmation", and until then it can neither be unsubscribed nor have its attributes set (SNS deletes
it after 48 hours unconfirmed: https://docs.aws.amazon.com/sns/latest/dg/sns-delete-subscription-topic.html).
Its row says Pending, not an error, and the resync looks again; the attributes Subscribe sent apply once it
is confirmed. Deleting a pending subscription's spec forgets it: there is nothing SNS lets trimtab delete.

Omitting an attribute leaves it unmanaged, as it is in SNS; an empty filterPolicy ({}) removes the filter
policy (https://docs.aws.amazon.com/sns/latest/dg/message-filtering-apply.html).

moto gaps: every subscription is confirmed at once (PendingConfirmation false, even for email), and
ReturnSubscriptionArn is ignored (moto always answers the ARN); the pending path is tested with a stub.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from controller.api.rules.pairs import subscription_fits_the_topic
from controller.api.subscription import Subscription
from controller.api.substitution import Environment
from controller.aws import code_in
from controller.kinds.base import Desired, Observation, Outputs, Pending, RefResolver, ResourceClient, compare
from controller.kinds.descriptor import GRANTED_SID_PREFIX, IamGrant, KindDescriptor, Touched, touch
from controller.kinds.sns_attributes import attributes_to_send
from controller.store.base import Identity

if TYPE_CHECKING:
    from controller.api.graph import SpecRecord

PENDING_ARN = "PendingConfirmation"  # what ListSubscriptionsByTopic shows for an unconfirmed subscription
_MISSING_CODES = ("NotFound",)
# Spec field -> SNS attribute.
_STRING_ATTRIBUTES = {"filterPolicyScope": "FilterPolicyScope", "subscriptionRoleArn": "SubscriptionRoleArn"}
_JSON_ATTRIBUTES = {"filterPolicy": "FilterPolicy", "deliveryPolicy": "DeliveryPolicy"}


class SubscriptionClient(ResourceClient[Subscription]):
    kind = "Subscription"
    service = "sns"
    tags_ownership = False

    def identity(self, resource: Subscription, refs: RefResolver) -> Identity:
        spec = resource.spec
        return {"topicArn": refs.output(spec.topic_ref, "arn"), "protocol": spec.protocol,
                "endpoint": _endpoint(resource, refs), "region": self.aws.region}

    def render(self, resource: Subscription, refs: RefResolver, environment: Environment) -> dict[str, Any]:
        spec = resource.spec
        # The protocol and endpoint find the subscription, so they always match: rendered so that a plan
        # says what is subscribed.
        state: dict[str, Any] = {"protocol": spec.protocol, "endpoint": _endpoint(resource, refs)}
        if spec.filter_policy is not None:
            state["filterPolicy"] = spec.filter_policy
        for key, value in (("filterPolicyScope", spec.filter_policy_scope),
                           ("rawMessageDelivery", spec.raw_message_delivery),
                           ("deliveryPolicy", spec.delivery_policy),
                           ("subscriptionRoleArn", spec.subscription_role_arn)):
            if value is not None:
                state[key] = value
        if spec.redrive_policy is not None:
            redrive = spec.redrive_policy
            arn = (refs.output(redrive.dead_letter_queue_ref, "arn") if redrive.dead_letter_queue_ref is not None
                   else redrive.dead_letter_target_arn)
            state["redrivePolicy"] = {"deadLetterTargetArn": arn}
        return state

    async def _find(self, identity: Identity) -> str | None:
        """The subscription's ARN (or PENDING_ARN), listing the topic's subscriptions; None: there is none,
        or no such topic."""
        if not identity["topicArn"].startswith("arn:"):
            return None  # a plan's placeholder for a topic yet to be created: nothing subscribes to it yet
        sns = await self.aws.client("sns")
        try:
            async for page in sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=identity["topicArn"]):
                for found in page.get("Subscriptions", []):
                    if (found.get("Protocol"), found.get("Endpoint")) == (identity["protocol"], identity["endpoint"]):
                        return str(found["SubscriptionArn"])
        except ClientError as error:
            if code_in(error, _MISSING_CODES):
                return None
            raise
        return None

    async def observe(self, desired: Desired[Subscription]) -> Observation:
        arn = await self._find(desired.identity)
        if arn is None:
            return Observation(exists=False)
        if arn == PENDING_ARN:
            raise Pending(f"waiting for {desired.identity['endpoint']} to confirm the subscription "
                          "(SNS deletes it after 48 hours unconfirmed)")
        sns = await self.aws.client("sns")
        try:
            attributes = (await sns.get_subscription_attributes(SubscriptionArn=arn))["Attributes"]
        except ClientError as error:
            if code_in(error, _MISSING_CODES):
                return Observation(exists=False)  # unsubscribed between the two calls
            raise
        state = _state_from_attributes(attributes, desired.state)
        return compare(desired, Observation(exists=True, state=state, outputs={"arn": arn}))

    async def create(self, desired: Desired[Subscription]) -> Outputs:
        sns = await self.aws.client("sns")
        identity = desired.identity
        # Subscribe is idempotent: for a topic, protocol and endpoint that have a subscription it answers that
        # one. ReturnSubscriptionArn: the ARN even while the subscription waits for its confirmation.
        response = await sns.subscribe(TopicArn=identity["topicArn"], Protocol=identity["protocol"],
                                       Endpoint=identity["endpoint"], Attributes=_attributes(desired.state),
                                       ReturnSubscriptionArn=True)
        return {"arn": str(response["SubscriptionArn"])}

    async def update(self, desired: Desired[Subscription], observation: Observation) -> Outputs:
        sns = await self.aws.client("sns")
        arn = observation.outputs["arn"]
        changed_fields = {change.path.split(".", 1)[0] for change in observation.diff}
        changed = _attributes({key: value for key, value in desired.state.items() if key in changed_fields})
        # One attribute per call; the scope first, since SNS checks a filter policy against its scope.
        for name in sorted(changed, key=lambda name: name != "FilterPolicyScope"):
            await sns.set_subscription_attributes(SubscriptionArn=arn, AttributeName=name, AttributeValue=changed[name])
        return observation.outputs

    async def delete(self, identity: Identity) -> None:
        arn = await self._find(identity)
        if arn is None or arn == PENDING_ARN:
            return  # gone already; or unconfirmed, which SNS does not let anyone unsubscribe (it expires)
        sns = await self.aws.client("sns")
        try:
            await sns.unsubscribe(SubscriptionArn=arn)
        except ClientError as error:
            if not code_in(error, _MISSING_CODES):
                raise


def _endpoint(resource: Subscription, refs: RefResolver) -> str:
    spec = resource.spec
    return refs.output(spec.queue_ref, "arn") if spec.queue_ref is not None else str(spec.endpoint)


def _attributes(state: dict[str, Any]) -> dict[str, str]:
    """Managed state -> SNS attributes to send (every value a string)."""
    return attributes_to_send(state, strings=_STRING_ATTRIBUTES,
                              documents={**_JSON_ATTRIBUTES, "redrivePolicy": "RedrivePolicy"},
                              booleans={"rawMessageDelivery": "RawMessageDelivery"})


def _state_from_attributes(attributes: dict[str, str], wanted: dict[str, Any]) -> dict[str, Any]:
    """SNS attributes -> the shape `render` produces, for the fields the spec manages."""
    named = {"protocol": "Protocol", "endpoint": "Endpoint", **_STRING_ATTRIBUTES}
    state: dict[str, Any] = {key: attributes.get(name) for key, name in named.items() if key in wanted}
    for key, name in _JSON_ATTRIBUTES.items():
        if key in wanted:  # absent (or removed with {}) reads as {}
            state[key] = json.loads(attributes[name]) if attributes.get(name) else {}
    if "rawMessageDelivery" in wanted:
        state["rawMessageDelivery"] = str(attributes.get("RawMessageDelivery", "false")).lower() == "true"
    if "redrivePolicy" in wanted:
        redrive = json.loads(attributes["RedrivePolicy"]) if attributes.get("RedrivePolicy") else {}
        state["redrivePolicy"] = {"deadLetterTargetArn": redrive.get("deadLetterTargetArn")}
    return state


def queue_grants(record: SpecRecord, records: dict[str, SpecRecord]) -> Iterator[tuple[str, dict[str, Any]]]:
    """An SQS subscription by queueRef lets its topic send to the queue: AWS's statement, in the queue's
    policy (https://docs.aws.amazon.com/sns/latest/dg/subscribe-sqs-queue-to-sns-topic.html), with one Sid per
    topic so it is recognisable in a plan. The topic's ARN is written from its name: the queue does not wait
    for the topic to exist."""
    resource = record.resource
    topic = records.get(str(resource.spec.topic_ref)) if isinstance(resource, Subscription) else None
    if not isinstance(resource, Subscription) or topic is None:
        return
    # The subscribed queue, and the dead-letter queue SNS moves undeliverable messages to: both must let the
    # topic send (https://docs.aws.amazon.com/sns/latest/dg/sns-configure-dead-letter-queue.html).
    redrive = resource.spec.redrive_policy
    receivers = {str(ref) for ref in (resource.spec.queue_ref, redrive and redrive.dead_letter_queue_ref) if ref}
    name = topic.resource.external_name()
    for receiver in sorted(receivers):
        yield receiver, {
            "Sid": f"{GRANTED_SID_PREFIX}sns-{name}", "Effect": "Allow",
            "Principal": {"Service": "sns.amazonaws.com"}, "Action": "sqs:SendMessage", "Resource": "${Self.Arn}",
            "Condition": {"ArnEquals": {"aws:SourceArn": f"arn:${{AWS::Partition}}:sns:${{AWS::Region}}:"
                                                         f"${{AWS::AccountId}}:{name}"}},
        }


_EVENTS = ("Subscribe", "Unsubscribe", "SetSubscriptionAttributes")


def _touched_by(event: str, parameters: dict[str, Any], region: str) -> Iterator[Touched]:
    # Subscribe names the topic, protocol and endpoint; Unsubscribe and SetSubscriptionAttributes only the
    # subscription's ARN, arn:...:sns:REGION:ACCOUNT:TOPIC:UUID, which names its topic: every subscription of
    # that topic is looked at again. The Topic mapper sees these events too, so this one matches on names.
    # https://docs.aws.amazon.com/sns/latest/dg/sns-logging-using-cloudtrail.html
    if event not in _EVENTS:
        return
    if event == "Subscribe":
        topic_arn = str(parameters.get("topicArn") or "")
    else:
        topic_arn = str(parameters.get("subscriptionArn") or "").rpartition(":")[0]
    if ":sns:" in topic_arn:
        yield touch("Subscription", topicArn=topic_arn, region=region)


DESCRIPTOR = KindDescriptor(
    # A subscription refers to a topic (rank 6) and may refer to queues (rank 3): it goes before both.
    model=Subscription, client=SubscriptionClient, delete_rank=-2, events=_touched_by, outputs=("arn",),
    grants=queue_grants, pair_rules=(subscription_fits_the_topic,),
    iam=IamGrant(
        # Subscribe and ListSubscriptionsByTopic are authorised on the topic's ARN; the calls that name a
        # subscription's ARN have no resource type, so "*" only.
        # https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsns.html
        actions=("sns:Subscribe", "sns:ListSubscriptionsByTopic"),
        resource="arn:aws:sns:*:*:{prefix}*",
        unscoped_actions=("sns:GetSubscriptionAttributes", "sns:SetSubscriptionAttributes", "sns:Unsubscribe"),
    ),
)
