"""Bucket: an S3 general-purpose bucket with versioning, encryption, public access block,
lifecycle rules, a policy and tags."""

from __future__ import annotations

import ipaddress
import re
from typing import ClassVar, Literal, Self

from pydantic import Field, model_validator

from controller.api.envelope import DeletionPolicy, ManagedSpec, Resource
from controller.api.fields import FieldError, PolicyDocument, SpecModel, Tags

_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
REGION_PATTERN = r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]$"

StorageClass = Literal[
    "STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING", "GLACIER_IR", "GLACIER", "DEEP_ARCHIVE"
]
# AWS refuses transitions to the infrequent-access classes sooner than 30 days after creation.
_IA_CLASSES = {"STANDARD_IA", "ONEZONE_IA"}
_IA_MIN_DAYS = 30


def check_bucket_name(name: str) -> str | None:
    """The reason `name` is not a valid S3 bucket name, or None."""
    if not 3 <= len(name) <= 63:
        return f"a bucket name must be 3 to 63 characters (got {len(name)})"
    if not _BUCKET_RE.match(name):
        return "a bucket name is lowercase letters, digits, '.' and '-', starting and ending with a letter or digit"
    if ".." in name:
        return "a bucket name must not contain two adjacent periods"
    try:
        ipaddress.IPv4Address(name)
    except ValueError:
        pass
    else:
        return "a bucket name must not look like an IP address"
    for prefix in _RESERVED_PREFIXES:
        if name.startswith(prefix):
            return f"a bucket name must not start with the reserved prefix {prefix!r}"
    for suffix in _RESERVED_SUFFIXES:
        if name.endswith(suffix):
            return f"a bucket name must not end with the reserved suffix {suffix!r}"
    return None


class BucketEncryption(SpecModel):
    type: Literal["SSE-S3", "SSE-KMS"] = Field(description="SSE-S3 (AES256) or SSE-KMS.")
    kms_key_id: str | None = Field(
        default=None, description="SSE-KMS only: key id, ARN or alias; the AWS-managed aws/s3 key if omitted."
    )
    bucket_key: bool | None = Field(
        default=None, description="SSE-KMS only: use an S3 Bucket Key to cut KMS calls. Default true."
    )

    @model_validator(mode="after")
    def _kms_only(self) -> Self:
        if self.type == "SSE-S3" and self.kms_key_id is not None:
            raise FieldError("kmsKeyId", "kmsKeyId is only allowed with type SSE-KMS")
        if self.type == "SSE-S3" and self.bucket_key is not None:
            raise FieldError("bucketKey", "bucketKey is only allowed with type SSE-KMS")
        return self

    @property
    def bucket_key_enabled(self) -> bool:
        return self.type == "SSE-KMS" and self.bucket_key is not False


class PublicAccessBlock(SpecModel):
    block_public_acls: bool = Field(default=True, description="Reject requests that grant public ACLs.")
    ignore_public_acls: bool = Field(default=True, description="Ignore existing public ACLs.")
    block_public_policy: bool = Field(default=True, description="Reject bucket policies that grant public access.")
    restrict_public_buckets: bool = Field(
        default=True, description="Restrict access to a bucket with a public policy to AWS principals."
    )


class Expiration(SpecModel):
    days: int | None = Field(default=None, ge=1, description="Expire current versions this many days old.")
    expired_object_delete_marker: bool | None = Field(
        default=None, description="Remove delete markers that have no noncurrent versions left."
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        if (self.days is None) == (self.expired_object_delete_marker is None):
            raise ValueError("expiration needs exactly one of days or expiredObjectDeleteMarker")
        return self


class NoncurrentVersionExpiration(SpecModel):
    noncurrent_days: int = Field(ge=1, description="Days after a version becomes noncurrent.")
    newer_noncurrent_versions: int | None = Field(
        default=None, ge=1, le=100, description="Keep this many newer noncurrent versions."
    )


class Transition(SpecModel):
    days: int = Field(ge=0, description="Days after creation.")
    storage_class: StorageClass = Field(description="The storage class to move objects to.")

    @model_validator(mode="after")
    def _ia_minimum(self) -> Self:
        if self.storage_class in _IA_CLASSES and self.days < _IA_MIN_DAYS:
            raise FieldError("days", f"{self.storage_class} needs at least {_IA_MIN_DAYS} days (got {self.days})")
        return self


class NoncurrentVersionTransition(SpecModel):
    noncurrent_days: int = Field(ge=0, description="Days after a version becomes noncurrent.")
    storage_class: StorageClass = Field(description="The storage class to move versions to.")


class AbortIncompleteMultipartUpload(SpecModel):
    days_after_initiation: int = Field(ge=1, description="Abort uploads still incomplete after this many days.")


class LifecycleRule(SpecModel):
    id: str = Field(min_length=1, max_length=255, description="The rule's unique id.")
    enabled: bool = Field(default=True, description="Whether the rule is applied.")
    prefix: str | None = Field(default=None, max_length=1024, description="Filter: object key prefix.")
    tags: dict[str, str] | None = Field(default=None, description="Filter: objects carrying all these tags.")
    expiration: Expiration | None = None
    noncurrent_version_expiration: NoncurrentVersionExpiration | None = None
    transitions: list[Transition] | None = None
    noncurrent_version_transitions: list[NoncurrentVersionTransition] | None = None
    abort_incomplete_multipart_upload: AbortIncompleteMultipartUpload | None = None

    @model_validator(mode="after")
    def _has_action(self) -> Self:
        actions = (self.expiration, self.noncurrent_version_expiration, self.transitions,
                   self.noncurrent_version_transitions, self.abort_incomplete_multipart_upload)
        if all(action is None for action in actions):
            raise ValueError(
                f"lifecycle rule {self.id!r} needs an action: expiration, noncurrentVersionExpiration, "
                "transitions, noncurrentVersionTransitions or abortIncompleteMultipartUpload"
            )
        if self.abort_incomplete_multipart_upload is not None and self.tags:
            raise FieldError("tags", "abortIncompleteMultipartUpload cannot be combined with a tag filter")
        return self


class BucketSpec(ManagedSpec):
    deletion_policy: DeletionPolicy = Field(
        default="Retain",
        description="Buckets default to Retain: removing the spec leaves the bucket and its data in place.",
    )
    bucket_name: str | None = Field(default=None, description="The S3 bucket name; defaults to metadata.name.")
    region: str | None = Field(
        default=None, pattern=REGION_PATTERN, description="The bucket's region; the controller's region if omitted."
    )
    versioning: bool | None = Field(
        default=None, description="true: Enabled, false: Suspended; unmanaged when omitted."
    )
    encryption: BucketEncryption | None = Field(
        default=None, description="Default encryption; unmanaged when omitted."
    )
    public_access_block: PublicAccessBlock = Field(
        default_factory=PublicAccessBlock, description="Always managed; all four settings on by default."
    )
    lifecycle_rules: list[LifecycleRule] | None = Field(
        default=None, max_length=1000, description="Lifecycle rules; unmanaged (never read) when omitted."
    )
    policy: PolicyDocument | None = Field(default=None, description="The bucket policy as YAML.")
    require_tls: bool = Field(
        default=False, description="Add a statement denying any request made without TLS (aws:SecureTransport)."
    )
    tags: Tags = Field(default_factory=dict, description="Tags; the whole set is managed.")

    @model_validator(mode="after")
    def _unique_rule_ids(self) -> Self:
        seen: set[str] = set()
        for index, rule in enumerate(self.lifecycle_rules or ()):
            if rule.id in seen:
                raise FieldError(f"lifecycleRules[{index}].id", f"duplicate lifecycle rule id {rule.id!r}")
            seen.add(rule.id)
        return self


class Bucket(Resource):
    KIND: ClassVar[str] = "Bucket"
    SUMMARY: ClassVar[str] = (
        "An S3 bucket with versioning, default encryption, public access block, lifecycle, policy and tags."
    )
    EXTRA_COLUMNS: ClassVar[tuple[tuple[str, str, str], ...]] = (
        ("REGION", ".spec.region", "string"),
        ("DELETION", ".spec.deletionPolicy", "string"),
    )

    kind: Literal["Bucket"]
    spec: BucketSpec

    def external_name(self) -> str:
        return self.spec.bucket_name or self.metadata.name

    @model_validator(mode="after")
    def _name_rules(self) -> Self:
        problem = check_bucket_name(self.external_name())
        if problem:
            raise FieldError("spec.bucketName" if self.spec.bucket_name else "metadata.name", problem)
        return self
