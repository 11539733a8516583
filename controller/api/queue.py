"""Queue: an SQS queue, standard or FIFO."""

from __future__ import annotations

import re
from typing import ClassVar, Literal, Self

from pydantic import Field, model_validator

from controller.api.aws_params import Hand, Param, ParamTable, TrimtabOnly
from controller.api.envelope import MANAGED_PARAMS, ManagedSpec, Resource
from controller.api.fields import FieldError, PolicyDocument, QueueRef, SpecModel, Tags, tag_params
from controller.api.substitution import PARTITION_PATTERN

_QUEUE_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
FIFO_SUFFIX = ".fifo"
# An alias, a key id (UUID or multi-Region mrk-), or a key/alias ARN (which may name its partition
# ${AWS::Partition}: controller/api/substitution.py).
_KMS_KEY_RE = re.compile(
    rf"^(alias/[A-Za-z0-9/_-]+|[0-9a-f-]{{36}}|mrk-[0-9a-f]{{32}}|arn:{PARTITION_PATTERN}:kms:[^\s]+)$")


def check_kms_key(value: str) -> str:
    if not _KMS_KEY_RE.match(value):
        raise ValueError(f"must be a KMS key id, key ARN, alias/NAME or alias ARN (got {value!r})")
    return value


class DeadLetterQueue(SpecModel):
    queue_ref: QueueRef = Field(description="metadata.name of the Queue spec that receives failed messages.")
    max_receive_count: int = Field(description="Receives before a message moves to the DLQ.")


class QueueEncryption(SpecModel):
    type: Literal["SSE-SQS", "SSE-KMS"] = Field(description="SSE-SQS (SQS-owned keys) or SSE-KMS.")
    kms_key_id: str | None = Field(default=None, description="KMS key id, ARN or alias; SSE-KMS only.")
    kms_data_key_reuse_period_seconds: int = Field(
        default=300, description="How long SQS reuses a data key; SSE-KMS only."
    )

    @model_validator(mode="after")
    def _one_scheme(self) -> Self:
        if self.type == "SSE-SQS" and self.kms_key_id is not None:
            raise FieldError(
                "kmsKeyId", "SSE-SQS and SSE-KMS are exclusive: kmsKeyId is only allowed with type SSE-KMS"
            )
        if self.type == "SSE-KMS":
            if self.kms_key_id is None:
                raise FieldError("kmsKeyId", "type SSE-KMS needs kmsKeyId (a key id, ARN or alias/NAME)")
            try:
                check_kms_key(self.kms_key_id)
            except ValueError as error:
                raise FieldError("kmsKeyId", str(error)) from None
        return self


# An SQS queue ARN, whose partition, region and account may be pseudo parameters.
_QUEUE_ARN_RE = re.compile(rf"^arn:{PARTITION_PATTERN}:sqs:([a-z0-9-]+|\$\{{AWS::Region\}}):"
                           rf"(\d{{12}}|\$\{{AWS::AccountId\}}):[A-Za-z0-9_.-]{{1,80}}$")
MAX_REDRIVE_SOURCES = 10


class RedriveAllowPolicy(SpecModel):
    """Which queues may use this queue as their dead-letter queue."""

    redrive_permission: str = Field(
        description="allowAll (AWS's default), denyAll, or byQueue: only the queues of sourceQueueArns.")
    source_queue_arns: list[str] | None = Field(
        default=None, description="byQueue only: the source queues' ARNs, at most 10 (this account's: "
                                  "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:NAME).")

    @model_validator(mode="after")
    def _sources_by_queue(self) -> Self:
        sources = self.source_queue_arns
        if self.redrive_permission == "byQueue":
            if not sources:
                raise FieldError("sourceQueueArns", "redrivePermission byQueue needs 1 to 10 sourceQueueArns")
            if len(sources) > MAX_REDRIVE_SOURCES:
                raise FieldError("sourceQueueArns", f"at most {MAX_REDRIVE_SOURCES} source queues (got {len(sources)})")
            for index, arn in enumerate(sources):
                if not _QUEUE_ARN_RE.match(arn):
                    raise FieldError(f"sourceQueueArns[{index}]", f"must be an SQS queue ARN (got {arn!r})")
        elif sources is not None:
            raise FieldError("sourceQueueArns", f"sourceQueueArns is only allowed with redrivePermission byQueue "
                                                f"(got {self.redrive_permission})")
        return self


class QueueSpec(ManagedSpec):
    queue_name: str | None = Field(
        default=None, description="The SQS queue name; defaults to metadata.name. FIFO names end in .fifo."
    )
    fifo: bool = Field(default=False, description="A FIFO queue. Fixed at creation.")
    content_based_deduplication: bool = Field(
        default=False, description="FIFO only: deduplicate by a SHA-256 of the body."
    )
    deduplication_scope: str | None = Field(
        default=None, description="FIFO only: deduplicate per message group or per queue (AWS's default). "
                                  "High throughput is messageGroup with fifoThroughputLimit perMessageGroupId. "
                                  "Unmanaged when omitted.")
    fifo_throughput_limit: str | None = Field(
        default=None, description="FIFO only: the throughput quota applies per message group or per queue "
                                  "(AWS's default); perMessageGroupId needs deduplicationScope messageGroup. "
                                  "Unmanaged when omitted.")
    visibility_timeout_seconds: int = Field(default=30, description="Up to 12 hours.")
    message_retention_seconds: int = Field(default=345600, description="1 minute to 14 days; AWS default 4 days.")
    delay_seconds: int = Field(default=0, description="Up to 15 minutes.")
    maximum_message_size: int = Field(default=1048576, description="Bytes: 1 KiB to 1 MiB.")
    receive_message_wait_time_seconds: int = Field(default=0, description="Long polling: up to 20 seconds.")
    dead_letter_queue: DeadLetterQueue | None = Field(
        default=None, description="Redrive to another Queue spec; unmanaged when omitted."
    )
    redrive_allow_policy: RedriveAllowPolicy | None = Field(
        default=None, description="As a dead-letter queue: which source queues may redrive to it; unmanaged "
                                  "when omitted."
    )
    encryption: QueueEncryption | None = Field(
        default=None, description="Server-side encryption; unmanaged when omitted."
    )
    policy: PolicyDocument | None = Field(
        default=None, description="The queue's access policy as YAML; unmanaged when omitted. A Subscription "
                                  "with queueRef to this queue adds AWS's statement letting its topic send "
                                  "(Sid trimtab-sns-TOPIC: sns.amazonaws.com may sqs:SendMessage when aws:SourceArn "
                                  "is the topic), after this policy's statements, or after the live ones when the "
                                  "policy is unmanaged (likewise for a subscription's "
                                  "redrivePolicy.deadLetterQueueRef); a plan shows them as grantedStatements. "
                                  "They leave with the subscription's spec: a statement whose Sid starts with "
                                  "trimtab- is trimtab's, removed when nothing grants it. While the source has an "
                                  "invalid spec, granted statements are left as they are."
    )
    tags: Tags = Field(default_factory=dict, description="Tags; the whole set is managed.")

    @model_validator(mode="after")
    def _fifo_rules(self) -> Self:
        if self.content_based_deduplication and not self.fifo:
            raise FieldError("contentBasedDeduplication", "contentBasedDeduplication needs fifo: true")
        for name, value in (("deduplicationScope", self.deduplication_scope),
                            ("fifoThroughputLimit", self.fifo_throughput_limit)):
            if value is not None and not self.fifo:
                raise FieldError(name, f"{name} is a FIFO queue's attribute: it needs fifo: true")
        # SetQueueAttributes: "The perMessageGroupId value is allowed only when the value for
        # DeduplicationScope is messageGroup."
        if self.fifo_throughput_limit == "perMessageGroupId" and self.deduplication_scope != "messageGroup":
            raise FieldError("fifoThroughputLimit", "fifoThroughputLimit perMessageGroupId needs "
                                                    "deduplicationScope: messageGroup (AWS refuses it otherwise)")
        return self


_SQS = "sqs"
SET_ATTRIBUTES_URL = "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SetQueueAttributes.html"
CREATE_QUEUE_URL = "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_CreateQueue.html"
DLQ_URL = ("https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/"
           "sqs-configure-dead-letter-queue.html")
QUOTAS_URL = "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-queues.html"


def _attribute(name: str, operation: str = "SetQueueAttributes", *hand: Hand, translated: str | None = None) -> Param:
    """An SQS attribute: the model types every attribute as a string, so the ranges come from the
    SetQueueAttributes page."""
    return Param(_SQS, operation, f"Attributes{{={name}}}", hand, translated)


def _seconds(low: int, high: int) -> Hand:
    return Hand(SET_ATTRIBUTES_URL, minimum=low, maximum=high)


QUEUE_PARAMS: ParamTable = {
    **MANAGED_PARAMS,
    "queueName": Param(_SQS, "CreateQueue", "QueueName", (Hand(
        CREATE_QUEUE_URL, rule="1 to 80 letters, digits, '-' or '_'; a FIFO queue's name ends in .fifo"),)),
    "fifo": _attribute("FifoQueue", "CreateQueue", translated="true sets FifoQueue at creation"),
    "contentBasedDeduplication": _attribute("ContentBasedDeduplication", translated="'true' or 'false'"),
    "deduplicationScope": _attribute("DeduplicationScope", "SetQueueAttributes", Hand(
        SET_ATTRIBUTES_URL, values=("messageGroup", "queue"), rule="FIFO queues only")),
    "fifoThroughputLimit": _attribute("FifoThroughputLimit", "SetQueueAttributes", Hand(
        SET_ATTRIBUTES_URL, values=("perQueue", "perMessageGroupId"),
        rule="FIFO queues only; perMessageGroupId needs DeduplicationScope messageGroup")),
    "visibilityTimeoutSeconds": _attribute("VisibilityTimeout", "SetQueueAttributes", _seconds(0, 43200)),
    "messageRetentionSeconds": _attribute("MessageRetentionPeriod", "SetQueueAttributes", _seconds(60, 1209600)),
    "delaySeconds": _attribute("DelaySeconds", "SetQueueAttributes", _seconds(0, 900)),
    "maximumMessageSize": _attribute("MaximumMessageSize", "SetQueueAttributes", _seconds(1024, 1048576)),
    "receiveMessageWaitTimeSeconds": _attribute("ReceiveMessageWaitTimeSeconds", "SetQueueAttributes",
                                                _seconds(0, 20)),
    "deadLetterQueue": _attribute("RedrivePolicy", translated="a JSON RedrivePolicy"),
    "deadLetterQueue.queueRef": TrimtabOnly("a reference: rendered as RedrivePolicy's deadLetterTargetArn"),
    # "Maximum receives ... between 1 and 1,000" (the developer guide; the API page gives only the default).
    "deadLetterQueue.maxReceiveCount": _attribute("RedrivePolicy", "SetQueueAttributes",
                                                  Hand(DLQ_URL, minimum=1, maximum=1000),
                                                  translated="RedrivePolicy's maxReceiveCount"),
    "redriveAllowPolicy": _attribute("RedriveAllowPolicy", translated="a JSON RedriveAllowPolicy"),
    "redriveAllowPolicy.redrivePermission": _attribute("RedriveAllowPolicy", "SetQueueAttributes", Hand(
        SET_ATTRIBUTES_URL, values=("allowAll", "denyAll", "byQueue")),
        translated="RedriveAllowPolicy's redrivePermission"),
    "redriveAllowPolicy.sourceQueueArns": _attribute("RedriveAllowPolicy", "SetQueueAttributes", Hand(
        SET_ATTRIBUTES_URL, rule="1 to 10 queue ARNs, with redrivePermission byQueue only"),
        translated="RedriveAllowPolicy's sourceQueueArns"),
    "encryption": TrimtabOnly("groups SqsManagedSseEnabled, KmsMasterKeyId and KmsDataKeyReusePeriodSeconds"),
    "encryption.type": _attribute("SqsManagedSseEnabled", translated="SSE-SQS sets SqsManagedSseEnabled; "
                                  "SSE-KMS sets KmsMasterKeyId instead"),
    "encryption.kmsKeyId": _attribute("KmsMasterKeyId", "SetQueueAttributes", Hand(
        SET_ATTRIBUTES_URL, rule="a key id, key ARN, alias/NAME or alias ARN")),
    "encryption.kmsDataKeyReusePeriodSeconds": _attribute("KmsDataKeyReusePeriodSeconds", "SetQueueAttributes",
                                                          _seconds(60, 86400)),
    "policy": _attribute("Policy", translated="the document as JSON"),
    # "Adding more than 50 tags to a queue isn't recommended"; the quotas page: 50 tags per queue.
    **tag_params("tags", _SQS, "TagQueue", whole="Tags", keys="Tags{key}", values="Tags{value}",
                 count_source=QUOTAS_URL),
}


class Queue(Resource):
    KIND: ClassVar[str] = "Queue"
    AWS_PARAMS: ClassVar[ParamTable] = QUEUE_PARAMS
    SUMMARY: ClassVar[str] = ("An SQS queue, standard or FIFO (high throughput included), with redrive, "
                              "redrive allow policy, encryption, policy and tags.")
    EXTRA_COLUMNS: ClassVar[tuple[tuple[str, str, str], ...]] = (
        ("FIFO", ".spec.fifo", "boolean"),
        ("URL", ".status.outputs.url", "string"),
    )

    kind: Literal["Queue"]
    spec: QueueSpec

    def external_name(self) -> str:
        return self.spec.queue_name or self.metadata.name

    @model_validator(mode="after")
    def _name_rules(self) -> Self:
        name = self.external_name()
        field = "spec.queueName" if self.spec.queue_name else "metadata.name"
        base = name.removesuffix(FIFO_SUFFIX) if self.spec.fifo else name
        if self.spec.fifo and not name.endswith(FIFO_SUFFIX):
            raise FieldError(field, f"a FIFO queue's name must end in '.fifo' (got {name!r})")
        if not self.spec.fifo and name.endswith(FIFO_SUFFIX):
            raise FieldError(
                field, f"only a FIFO queue's name may end in '.fifo' (got {name!r}); set spec.fifo: true"
            )
        if not _QUEUE_NAME_RE.match(base) or len(name) > 80:
            raise FieldError(
                field,
                f"queue name {name!r} must be 1 to 80 characters of letters, digits, '-' and '_'"
                + (" plus the '.fifo' suffix" if self.spec.fifo else "")
            )
        return self
