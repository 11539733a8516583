"""Topic: an SNS topic, standard or FIFO."""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import Field, WithJsonSchema, model_validator

from controller.api.aws_params import Hand, Param, ParamTable, TrimtabOnly
from controller.api.envelope import MANAGED_PARAMS, ManagedSpec, Resource
from controller.api.fields import FieldError, PolicyDocument, SpecModel, Tags, tag_params
from controller.api.queue import check_kms_key

FIFO_SUFFIX = ".fifo"
# CreateTopic: "Topic names must be made up of only uppercase and lowercase ASCII letters, numbers,
# underscores, and hyphens, and must be between 1 and 256 characters long." A FIFO topic's name ends in
# .fifo (within the 256).
_TOPIC_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
MAX_NAME = 256


class TopicEncryption(SpecModel):
    kms_master_key_id: str = Field(
        description="SSE with this KMS key: a key id, key ARN, alias/NAME or alias ARN (alias/aws/sns is "
                    "SNS's AWS-managed key).")

    @model_validator(mode="after")
    def _key(self) -> Self:
        try:
            check_kms_key(self.kms_master_key_id)
        except ValueError as error:
            raise FieldError("kmsMasterKeyId", str(error)) from None
        return self


# SetTopicAttributes' DeliveryPolicy, "the policy that defines how Amazon SNS retries failed deliveries to
# HTTP/S endpoints", written as YAML; SNS validates its contents (keyed by protocol, e.g. http).
DeliveryPolicy = Annotated[dict[str, Any], WithJsonSchema({
    "type": "object", "x-kubernetes-preserve-unknown-fields": True,
    "description": "An SNS delivery policy (e.g. http: {defaultHealthyRetryPolicy: ...}) written as YAML."})]


class TopicSpec(ManagedSpec):
    topic_name: str | None = Field(
        default=None, description="The SNS topic name; defaults to metadata.name. FIFO names end in .fifo.")
    fifo: bool = Field(default=False, description="A FIFO topic. Fixed at creation.")
    content_based_deduplication: bool = Field(
        default=False, description="FIFO only: deduplicate by a SHA-256 of the body.")
    display_name: str | None = Field(
        default=None, description="The name SMS and email subscribers see as the sender; unmanaged when omitted.")
    encryption: TopicEncryption | None = Field(
        default=None, description="Server-side encryption with a KMS key; unmanaged when omitted.")
    policy: PolicyDocument | None = Field(
        default=None, description="The topic's access policy as YAML; unmanaged when omitted.")
    delivery_policy: DeliveryPolicy | None = Field(
        default=None, description="How SNS retries deliveries to HTTP/S endpoints, as YAML (the JSON DeliveryPolicy); "
                    "unmanaged when omitted.")
    tags: Tags = Field(default_factory=dict, description="Tags; the whole set is managed.")

    @model_validator(mode="after")
    def _fifo_rules(self) -> Self:
        if self.content_based_deduplication and not self.fifo:
            raise FieldError("contentBasedDeduplication", "contentBasedDeduplication needs fifo: true")
        return self


_SNS = "sns"
CREATE_TOPIC_URL = "https://docs.aws.amazon.com/sns/latest/api/API_CreateTopic.html"
SET_ATTRIBUTES_URL = "https://docs.aws.amazon.com/sns/latest/api/API_SetTopicAttributes.html"
# "Maximum number of tags per topic: 50": https://docs.aws.amazon.com/general/latest/gr/sns.html
QUOTAS_URL = "https://docs.aws.amazon.com/general/latest/gr/sns.html"


def _attribute(name: str, *hand: Hand, translated: str | None = None) -> Param:
    """An SNS attribute, as CreateTopic's Attributes map holds it (the model types each as a string);
    SetTopicAttributes takes the same names one at a time (AttributeName, AttributeValue)."""
    return Param(_SNS, "CreateTopic", f"Attributes{{={name}}}", hand, translated)


TOPIC_PARAMS: ParamTable = {
    **MANAGED_PARAMS,
    "topicName": Param(_SNS, "CreateTopic", "Name", (Hand(
        CREATE_TOPIC_URL, rule="1 to 256 letters, digits, '-' or '_'; a FIFO topic's name ends in .fifo"),)),
    "fifo": _attribute("FifoTopic", translated="true sets FifoTopic at creation"),
    "contentBasedDeduplication": _attribute("ContentBasedDeduplication", Hand(
        CREATE_TOPIC_URL, rule="FIFO topics only"), translated="'true' or 'false'"),
    "displayName": _attribute("DisplayName"),
    "encryption": TrimtabOnly("groups KmsMasterKeyId"),
    "encryption.kmsMasterKeyId": _attribute("KmsMasterKeyId", Hand(
        SET_ATTRIBUTES_URL, rule="a key id, key ARN, alias/NAME or alias ARN")),
    "policy": _attribute("Policy", translated="the document as JSON"),
    "deliveryPolicy": _attribute("DeliveryPolicy", translated="the document as JSON"),
    **tag_params("tags", _SNS, "TagResource", whole="Tags", keys="Tags[].Key", values="Tags[].Value",
                 count_source=QUOTAS_URL, lengths_from_model=True),
}


class Topic(Resource):
    KIND: ClassVar[str] = "Topic"
    AWS_PARAMS: ClassVar[ParamTable] = TOPIC_PARAMS
    SUMMARY: ClassVar[str] = ("An SNS topic, standard or FIFO, with display name, encryption, access and "
                              "delivery policies and tags; alarms notify it by reference.")
    EXTRA_COLUMNS: ClassVar[tuple[tuple[str, str, str], ...]] = (
        ("FIFO", ".spec.fifo", "boolean"),
        ("ARN", ".status.outputs.arn", "string"),
    )

    kind: Literal["Topic"]
    spec: TopicSpec

    def external_name(self) -> str:
        return self.spec.topic_name or self.metadata.name

    @model_validator(mode="after")
    def _name_rules(self) -> Self:
        name = self.external_name()
        field = "spec.topicName" if self.spec.topic_name else "metadata.name"
        base = name.removesuffix(FIFO_SUFFIX) if self.spec.fifo else name
        if self.spec.fifo and not name.endswith(FIFO_SUFFIX):
            raise FieldError(field, f"a FIFO topic's name must end in '.fifo' (got {name!r})")
        if not self.spec.fifo and name.endswith(FIFO_SUFFIX):
            raise FieldError(
                field, f"only a FIFO topic's name may end in '.fifo' (got {name!r}); set spec.fifo: true")
        if not _TOPIC_NAME_RE.match(base) or len(name) > MAX_NAME:
            raise FieldError(
                field,
                f"topic name {name!r} must be 1 to 256 characters of letters, digits, '-' and '_'"
                + (" including the '.fifo' suffix" if self.spec.fifo else ""))
        return self
