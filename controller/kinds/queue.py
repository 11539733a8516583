"""SQS queues."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

from botocore.exceptions import ClientError
from pydantic.alias_generators import to_snake

from controller.api import substitution
from controller.api.queue import Queue
from controller.api.rules.pairs import dlq_matches_queue_type
from controller.api.substitution import Environment
from controller.aws import AwsClients, code_in
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
from controller.kinds.descriptor import GRANTED_SID_PREFIX, IamGrant, KindDescriptor, Touched, touch
from controller.kinds.diff import ABSENT
from controller.kinds.tag_index import TagIndex
from controller.store.base import Identity

_MISSING_CODES = {"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"}
# Spec field -> SQS attribute, for plain integer attributes.
_INT_ATTRIBUTES = {
    "visibilityTimeoutSeconds": "VisibilityTimeout",
    "messageRetentionSeconds": "MessageRetentionPeriod",
    "delaySeconds": "DelaySeconds",
    "maximumMessageSize": "MaximumMessageSize",
    "receiveMessageWaitTimeSeconds": "ReceiveMessageWaitTimeSeconds",
}


class QueueClient(ResourceClient[Queue]):
    kind = "Queue"
    service = "sqs"

    def __init__(self, aws: AwsClients, tag_index: TagIndex | None = None) -> None:
        super().__init__(aws, tag_index)
        # Queue name -> URL. A URL is fixed by the name, so once known it is reused: a steady-state
        # observe is GetQueueAttributes alone (tags come from the tag index).
        self._urls: dict[str, str] = {}

    def identity(self, resource: Queue, refs: RefResolver) -> Identity:
        return {"name": resource.external_name(), "region": self.aws.region}

    def render(self, resource: Queue, refs: RefResolver, environment: Environment) -> dict[str, Any]:
        spec = resource.spec
        state: dict[str, Any] = {field: getattr(spec, to_snake(field)) for field in _INT_ATTRIBUTES}
        if spec.fifo:
            state["contentBasedDeduplication"] = spec.content_based_deduplication
        for key in ("deduplicationScope", "fifoThroughputLimit"):
            if (value := getattr(spec, to_snake(key))) is not None:
                state[key] = value
        if spec.redrive_allow_policy is not None:
            allow: dict[str, Any] = {"redrivePermission": spec.redrive_allow_policy.redrive_permission}
            if spec.redrive_allow_policy.source_queue_arns is not None:
                allow["sourceQueueArns"] = sorted(spec.redrive_allow_policy.source_queue_arns)
            state["redriveAllowPolicy"] = allow
        if spec.dead_letter_queue is not None:
            state["deadLetterQueue"] = {
                "arn": refs.output(spec.dead_letter_queue.queue_ref, "arn"),
                "maxReceiveCount": spec.dead_letter_queue.max_receive_count,
            }
        if spec.encryption is not None:
            encryption: dict[str, Any] = {"type": spec.encryption.type}
            if spec.encryption.type == "SSE-KMS":
                encryption["kmsKeyId"] = spec.encryption.kms_key_id
                encryption["kmsDataKeyReusePeriodSeconds"] = spec.encryption.kms_data_key_reuse_period_seconds
            state["encryption"] = encryption
        if spec.policy is not None:
            state["policy"] = spec.policy
        granted = refs.granted(resource.key)
        if granted is not None:  # None: not known in this revision, so left as they are
            known = substitution.values(resource, environment)
            state["grantedStatements"] = [json.loads(substitution.substitute(json.dumps(statement), known))
                                          for statement in granted]
        return state

    async def _url(self, name: str) -> str | None:
        sqs = await self.aws.client("sqs")
        try:
            response = await sqs.get_queue_url(QueueName=name)
        except ClientError as error:
            if code_in(error, _MISSING_CODES):
                return None
            raise
        url = self._urls[name] = str(response["QueueUrl"])
        return url

    async def observe(self, desired: Desired[Queue]) -> Observation:
        name = desired.identity["name"]
        url = self._urls.get(name) or await self._url(name)
        if url is None:
            return Observation(exists=False)
        sqs = await self.aws.client("sqs")

        async def own_tags() -> dict[str, str]:
            return dict((await sqs.list_queue_tags(QueueUrl=url)).get("Tags", {}))

        # Attributes and tags together: the ARN the tag index needs follows from the URL.
        try:
            response, tags = await asyncio.gather(
                sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"]),
                self.tag_index.tags(self._arn(sqs, url, name), self.aws.region, desired.tags, own_tags),
            )
        except ClientError as error:
            self._urls.pop(name, None)  # resolved afresh next time, whatever went wrong
            if code_in(error, _MISSING_CODES):
                return Observation(exists=False)
            raise
        attributes = response["Attributes"]
        observation = Observation(
            exists=True, state=_state_from_attributes(attributes), tags=tags, outputs=_outputs(url, attributes),
        )
        return compare(desired, observation)

    def _arn(self, sqs: Any, url: str, name: str) -> str:
        """A queue's ARN from its URL (.../ACCOUNT/NAME), without a call."""
        account = url.rstrip("/").split("/")[-2]
        return f"arn:{sqs.meta.partition}:sqs:{self.aws.region}:{account}:{name}"

    async def create(self, desired: Desired[Queue]) -> Outputs:
        sqs = await self.aws.client("sqs")
        attributes = _attributes(desired.state)
        policy = _merged_policy(desired.state.get("policy", ABSENT), desired.state.get("grantedStatements", []))
        if policy is not None:
            attributes["Policy"] = json.dumps(policy)
        if desired.resource.spec.fifo:
            attributes["FifoQueue"] = "true"
        response = await sqs.create_queue(
            QueueName=desired.identity["name"], Attributes=attributes, tags=desired.tags or {}
        )
        name = desired.identity["name"]
        url = self._urls[name] = response["QueueUrl"]
        return _outputs(url, {"QueueArn": self._arn(sqs, url, name)})  # saves a GetQueueAttributes

    async def update(self, desired: Desired[Queue], observation: Observation) -> Outputs:
        sqs = await self.aws.client("sqs")
        url = observation.outputs["url"]
        changed_fields = {change.path.split(".", 1)[0] for change in observation.diff}
        changed_state = {key: value for key, value in desired.state.items() if key in changed_fields}
        attributes = _attributes(changed_state)
        # The policy is the spec's statements (or, unmanaged, the live ones) and the granted ones (or, not
        # known in this revision, the live ones). moto gap: SetQueueAttributes without Policy drops the
        # queue's policy (AWS keeps it), so it is sent with every update; on AWS that is a no-op.
        policy = _merged_policy(desired.state.get("policy", observation.state.get("policy", ABSENT)),
                                desired.state.get("grantedStatements", observation.state.get("grantedStatements", [])))
        if policy is not None:
            attributes["Policy"] = json.dumps(policy)
        elif observation.state.get("policy", ABSENT) is not ABSENT or observation.state.get("grantedStatements"):
            attributes["Policy"] = ""  # no statement left: the queue has no policy
        if attributes:
            await sqs.set_queue_attributes(QueueUrl=url, Attributes=attributes)
        if desired.tags is not None and "tags" in changed_fields:
            stale, changed = tag_changes(observation.tags, desired.tags)
            if stale:
                await sqs.untag_queue(QueueUrl=url, TagKeys=stale)
            if changed:
                await sqs.tag_queue(QueueUrl=url, Tags=changed)
        return observation.outputs

    async def read_tags(self, identity: Identity) -> dict[str, str] | None:
        url = await self._url(identity["name"])
        if url is None:
            raise ResourceGone(identity["name"])
        sqs = await self.aws.client("sqs")
        try:
            return dict((await sqs.list_queue_tags(QueueUrl=url)).get("Tags", {}))
        except ClientError as error:
            if code_in(error, _MISSING_CODES):
                raise ResourceGone(identity["name"]) from error
            raise

    async def delete(self, identity: Identity) -> None:
        url = await self._url(identity["name"])
        self._urls.pop(identity["name"], None)
        if url is None:
            return
        sqs = await self.aws.client("sqs")
        try:
            await sqs.delete_queue(QueueUrl=url)
        except ClientError as error:
            if not code_in(error, _MISSING_CODES):
                raise



def _merged_policy(own: Any, granted: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The queue policy to send: its own statements and those other specs grant in it (an SQS
    subscription's: its topic may send); None when there is no statement at all."""
    if not granted:
        return own if isinstance(own, dict) else None  # as written (a lone Statement object stays one)
    document = dict(own) if isinstance(own, dict) else {"Version": "2012-10-17"}
    statements = document.get("Statement", []) if isinstance(own, dict) else []
    statements = [*(statements if isinstance(statements, list) else [statements]), *granted]
    return {**document, "Statement": statements} if statements else None


def _split_policy(policy: Any) -> tuple[Any, list[dict[str, Any]]]:
    """A live policy as (its own part, the statements granted by other specs: their Sid starts with
    GRANTED_SID_PREFIX, sorted by it as the graph sorts them); the own part ABSENT when nothing is left."""
    if not isinstance(policy, dict):
        return policy, []
    statements = policy.get("Statement", [])
    statements = statements if isinstance(statements, list) else [statements]
    granted = [statement for statement in statements if str(statement.get("Sid", "")).startswith(GRANTED_SID_PREFIX)]
    if not granted:
        return policy, []
    own = [statement for statement in statements if statement not in granted]
    return ({**policy, "Statement": own} if own else ABSENT), sorted(granted, key=lambda statement: statement["Sid"])


def _outputs(url: str, attributes: dict[str, str]) -> Outputs:
    arn = attributes["QueueArn"]
    return {"url": url, "arn": arn, "name": arn.rsplit(":", 1)[-1]}


def _attributes(state: dict[str, Any]) -> dict[str, str]:
    """Managed state -> SQS attributes to send."""
    attributes = {_INT_ATTRIBUTES[key]: str(value) for key, value in state.items() if key in _INT_ATTRIBUTES}
    if "contentBasedDeduplication" in state:
        attributes["ContentBasedDeduplication"] = str(state["contentBasedDeduplication"]).lower()
    if "deadLetterQueue" in state:
        dlq = state["deadLetterQueue"]
        attributes["RedrivePolicy"] = json.dumps(
            {"deadLetterTargetArn": dlq["arn"], "maxReceiveCount": dlq["maxReceiveCount"]}
        )
    for key in ("deduplicationScope", "fifoThroughputLimit"):
        if key in state:
            attributes[key[0].upper() + key[1:]] = state[key]
    if "redriveAllowPolicy" in state:
        attributes["RedriveAllowPolicy"] = json.dumps(state["redriveAllowPolicy"])
    if "encryption" in state:
        encryption = state["encryption"]
        if encryption["type"] == "SSE-SQS":
            attributes["SqsManagedSseEnabled"] = "true"
            attributes["KmsMasterKeyId"] = ""
        else:
            attributes["SqsManagedSseEnabled"] = "false"
            attributes["KmsMasterKeyId"] = encryption["kmsKeyId"]
            attributes["KmsDataKeyReusePeriodSeconds"] = str(encryption["kmsDataKeyReusePeriodSeconds"])
    return attributes


def _redrive_allow(document: str | None) -> Any:
    """RedriveAllowPolicy as render shapes it; AWS's default (allowAll) when the queue has none."""
    allow = json.loads(document) if document else {"redrivePermission": "allowAll"}
    if "sourceQueueArns" in allow:
        allow["sourceQueueArns"] = sorted(allow["sourceQueueArns"])
    return allow


def _state_from_attributes(attributes: dict[str, str]) -> dict[str, Any]:
    """SQS attributes -> the same shape `render` produces."""
    state: dict[str, Any] = {
        key: int(attributes[name]) for key, name in _INT_ATTRIBUTES.items() if name in attributes
    }
    if "ContentBasedDeduplication" in attributes:
        state["contentBasedDeduplication"] = attributes["ContentBasedDeduplication"] == "true"
    for key in ("deduplicationScope", "fifoThroughputLimit"):
        if attributes.get(key[0].upper() + key[1:]):
            state[key] = attributes[key[0].upper() + key[1:]]
    state["redriveAllowPolicy"] = _redrive_allow(attributes.get("RedriveAllowPolicy"))
    if attributes.get("RedrivePolicy"):
        redrive = json.loads(attributes["RedrivePolicy"])
        state["deadLetterQueue"] = {
            "arn": redrive.get("deadLetterTargetArn"),
            "maxReceiveCount": int(redrive.get("maxReceiveCount", 0)),
        }
    if attributes.get("KmsMasterKeyId"):
        state["encryption"] = {
            "type": "SSE-KMS",
            "kmsKeyId": attributes["KmsMasterKeyId"],
            "kmsDataKeyReusePeriodSeconds": int(attributes.get("KmsDataKeyReusePeriodSeconds", 300)),
        }
    elif attributes.get("SqsManagedSseEnabled") == "true":
        state["encryption"] = {"type": "SSE-SQS"}
    else:
        state["encryption"] = ABSENT
    state["policy"], state["grantedStatements"] = _split_policy(
        json.loads(attributes["Policy"]) if attributes.get("Policy") else ABSENT)
    return state


def _touched_by(event: str, parameters: dict[str, Any], region: str) -> Iterator[Touched]:
    # CreateQueue names the queue; every other write names its URL, whose last segment is the name.
    queue = parameters.get("queueName") or str(parameters.get("queueUrl") or "").rstrip("/").rsplit("/", 1)[-1]
    if queue:
        yield touch("Queue", name=queue, region=region)


DESCRIPTOR = KindDescriptor(
    model=Queue, client=QueueClient, delete_rank=4, events=_touched_by, outputs=("name", "arn", "url"),
    iam=IamGrant(
        actions=("sqs:CreateQueue", "sqs:DeleteQueue", "sqs:GetQueueAttributes", "sqs:GetQueueUrl",
                 "sqs:ListQueueTags", "sqs:SetQueueAttributes", "sqs:TagQueue", "sqs:UntagQueue"),
        resource="arn:aws:sqs:*:*:{prefix}*",
        owner_tagged_actions=("sqs:DeleteQueue",),
        unscoped_actions=("tag:GetResources",),  # tags read in bulk (tag_index.py)
    ),
    terminal_codes=frozenset({
        "InvalidAttributeName", "InvalidAttributeValue",
        # SQS names a KMS failure KmsNotFound in JSON and KMS.NotFoundException in its query form.
        "KMS.NotFoundException", "KmsNotFound", "KMS.AccessDeniedException", "KmsAccessDenied",
        "KMS.DisabledException", "KmsDisabled", "KMS.InvalidKeyUsageException", "KmsInvalidKeyUsage",
    }),
    # AWS: "You must wait 60 seconds after deleting a queue before you can create another queue with
    # the same name." The deletion came before the error, so 60 s from the error is enough; 1 s more is
    # for clock skew between AWS's count and ours. moto has no such cooldown; LocalStack and AWS do.
    retry_later={"QueueDeletedRecently": 61.0},
    pair_rules=(dlq_matches_queue_type,),
)
