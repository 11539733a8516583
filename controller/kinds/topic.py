"""SNS topics."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

from botocore.exceptions import ClientError

from controller.api.substitution import Environment
from controller.api.topic import Topic
from controller.aws import code_in
from controller.kinds.base import (
    Desired,
    Observation,
    Outputs,
    RefResolver,
    ResourceClient,
    ResourceGone,
    compare,
    tag_changes,
)
from controller.kinds.descriptor import IamGrant, KindDescriptor, Touched, touch
from controller.kinds.diff import ABSENT
from controller.kinds.sns_attributes import attributes_to_send
from controller.store.base import Identity

# GetTopicAttributes answers NotFound for a topic that does not exist; the tag calls ResourceNotFound.
_MISSING_CODES = ("NotFound", "ResourceNotFound")
# Spec field -> SNS attribute, for the attributes sent as they are written.
_STRING_ATTRIBUTES = {"displayName": "DisplayName"}
_JSON_ATTRIBUTES = {"policy": "Policy", "deliveryPolicy": "DeliveryPolicy"}


class TopicClient(ResourceClient[Topic]):
    kind = "Topic"
    service = "sns"

    def identity(self, resource: Topic, refs: RefResolver) -> Identity:
        return {"name": resource.external_name(), "region": self.aws.region}

    def render(self, resource: Topic, refs: RefResolver, environment: Environment) -> dict[str, Any]:
        spec = resource.spec
        state: dict[str, Any] = {}
        if spec.fifo:
            state["contentBasedDeduplication"] = spec.content_based_deduplication
        if spec.display_name is not None:
            state["displayName"] = spec.display_name
        if spec.encryption is not None:
            state["encryption"] = {"kmsMasterKeyId": spec.encryption.kms_master_key_id}
        if spec.policy is not None:
            state["policy"] = spec.policy
        if spec.delivery_policy is not None:
            state["deliveryPolicy"] = spec.delivery_policy
        return state

    async def _arn(self, identity: Identity) -> str:
        """A topic's ARN from its name, without a call: SNS has no lookup by name, and the ARN is fixed by
        the partition, region, account and name."""
        caller = await self.aws.caller_identity()
        return f"arn:{caller.partition}:sns:{identity['region']}:{caller.account_id}:{identity['name']}"

    async def observe(self, desired: Desired[Topic]) -> Observation:
        arn = await self._arn(desired.identity)
        sns = await self.aws.client("sns")

        async def own_tags() -> dict[str, str]:
            return _tags((await sns.list_tags_for_resource(ResourceArn=arn)).get("Tags", []))

        try:
            response, tags = await asyncio.gather(
                sns.get_topic_attributes(TopicArn=arn),
                self.tag_index.tags(arn, self.aws.region, desired.tags, own_tags),
            )
        except ClientError as error:
            if code_in(error, _MISSING_CODES):
                return Observation(exists=False)
            raise
        attributes = response["Attributes"]
        observation = Observation(exists=True, state=_state_from_attributes(attributes), tags=tags,
                                  outputs=_outputs(attributes.get("TopicArn", arn)))
        return compare(desired, observation)

    async def create(self, desired: Desired[Topic]) -> Outputs:
        sns = await self.aws.client("sns")
        attributes = _attributes(desired.state)
        if desired.resource.spec.fifo:
            attributes["FifoTopic"] = "true"
        tags = [{"Key": key, "Value": value} for key, value in sorted((desired.tags or {}).items())]
        # CreateTopic is idempotent: on a name the account already has, it answers that topic's ARN (or
        # InvalidParameter when the tags differ). The engine reads the tags back to decide ownership.
        response = await sns.create_topic(Name=desired.identity["name"], Attributes=attributes, Tags=tags)
        return _outputs(str(response["TopicArn"]))

    async def update(self, desired: Desired[Topic], observation: Observation) -> Outputs:
        sns = await self.aws.client("sns")
        arn = observation.outputs["arn"]
        changed_fields = {change.path.split(".", 1)[0] for change in observation.diff}
        changed_state = {key: value for key, value in desired.state.items() if key in changed_fields}
        # SetTopicAttributes sets one attribute per call.
        for name, value in sorted(_attributes(changed_state).items()):
            await sns.set_topic_attributes(TopicArn=arn, AttributeName=name, AttributeValue=value)
        if desired.tags is not None and "tags" in changed_fields:
            stale, changed = tag_changes(observation.tags, desired.tags)
            if stale:
                await sns.untag_resource(ResourceArn=arn, TagKeys=stale)
            if changed:
                await sns.tag_resource(
                    ResourceArn=arn, Tags=[{"Key": key, "Value": value} for key, value in sorted(changed.items())])
        return observation.outputs

    async def read_tags(self, identity: Identity) -> dict[str, str] | None:
        sns = await self.aws.client("sns")
        try:
            return _tags((await sns.list_tags_for_resource(ResourceArn=await self._arn(identity))).get("Tags", []))
        except ClientError as error:
            if code_in(error, _MISSING_CODES):
                raise ResourceGone(identity["name"]) from error
            raise

    async def delete(self, identity: Identity) -> None:
        sns = await self.aws.client("sns")
        # DeleteTopic is idempotent: "deleting a topic that does not exist does not result in an error".
        await sns.delete_topic(TopicArn=await self._arn(identity))


def _tags(tags: list[dict[str, str]]) -> dict[str, str]:
    return {tag["Key"]: tag["Value"] for tag in tags}


def _outputs(arn: str) -> Outputs:
    return {"arn": arn, "name": arn.rsplit(":", 1)[-1]}


def _attributes(state: dict[str, Any]) -> dict[str, str]:
    """Managed state -> SNS attributes to send."""
    attributes = attributes_to_send(state, strings=_STRING_ATTRIBUTES, documents=_JSON_ATTRIBUTES,
                                    booleans={"contentBasedDeduplication": "ContentBasedDeduplication"})
    if "encryption" in state:
        attributes["KmsMasterKeyId"] = state["encryption"]["kmsMasterKeyId"]
    return attributes


def _state_from_attributes(attributes: dict[str, str]) -> dict[str, Any]:
    """SNS attributes -> the same shape `render` produces."""
    state: dict[str, Any] = {key: attributes.get(name, "") for key, name in _STRING_ATTRIBUTES.items()}
    for key, name in _JSON_ATTRIBUTES.items():
        state[key] = json.loads(attributes[name]) if attributes.get(name) else ABSENT
    if "ContentBasedDeduplication" in attributes:
        state["contentBasedDeduplication"] = attributes["ContentBasedDeduplication"] == "true"
    kms = attributes.get("KmsMasterKeyId")
    state["encryption"] = {"kmsMasterKeyId": kms} if kms else ABSENT
    return state


_EVENTS = ("CreateTopic", "SetTopicAttributes", "DeleteTopic", "TagResource", "UntagResource")


def _touched_by(event: str, parameters: dict[str, Any], region: str) -> Iterator[Touched]:
    # CreateTopic names the topic; SetTopicAttributes and DeleteTopic its ARN (topicArn), TagResource and
    # UntagResource theirs (resourceArn), whose last segment is the name.
    # https://docs.aws.amazon.com/sns/latest/dg/sns-logging-using-cloudtrail.html
    # Subscribe names a topicArn too: the Subscription's mapper's, not a write to the topic.
    if event not in _EVENTS:
        return
    if event == "CreateTopic":
        name = parameters.get("name")
    else:
        arn = str(parameters.get("topicArn") or parameters.get("resourceArn") or "")
        name = arn.rsplit(":", 1)[-1] if ":sns:" in arn else None
    if isinstance(name, str) and name:
        yield touch("Topic", name=name, region=region)


DESCRIPTOR = KindDescriptor(
    # Alarms refer to topics (alarmActions: [{topicRef: ...}]): a topic is deleted after them. Nothing a
    # topic refers to is ranked, so it goes last.
    model=Topic, client=TopicClient, delete_rank=6, events=_touched_by,
    iam=IamGrant(
        actions=("sns:CreateTopic", "sns:DeleteTopic", "sns:GetTopicAttributes", "sns:SetTopicAttributes",
                 "sns:ListTagsForResource", "sns:TagResource", "sns:UntagResource"),
        # SNS authorises these on the topic's ARN (arn:aws:sns:REGION:ACCOUNT:NAME).
        resource="arn:aws:sns:*:*:{prefix}*",
        unscoped_actions=("tag:GetResources",),  # tags read in bulk (tag_index.py)
    ),
)
